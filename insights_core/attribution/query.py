"""The one statement behind an attribution answer, built from the parameters and a dialect (docs/metrics.md#attribution).

It reads the stored ``touchpoints`` (one row per conversion and session of
its user up to the converting one, docs/metrics.md#touchpoints) and applies
what the request chooses at query time: the cohort, which conversions are
attributed, the lookback and the half-life. It returns one row of whole
numbers, exact decimals and text only, grouped by what decides each model's
credit, so the answer assembled from it (:mod:`insights_core.attribution.answer`)
is the same on every engine and whatever order the rows were summed in:

- ``touch_groups``: touchpoints counted per (channel, n, slot, last non-direct),
  with the sum of their conversions' values: the rule-based models' credits
  are these counts times exact fractions;
- ``decay_groups``: the time-decay shares of the touchpoints before the
  converting one, as integers of 1/10^15 (``weights.DECAY_SHARE_SCALE``),
  summed per (channel, converting channel);
- ``chain_steps``: the data-driven chain's steps between states over every path, counted;
- the number and value of the attributed conversions, their path lengths,
  and the candidates for the top conversion paths (each path written as
  ``<length>:<channel>`` pieces, which no channel text can make ambiguous).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ..engines.base import Dialect, Query
from ..metrics.cohort import matching_sessions_condition
from ..params import AttributionParams
from ..vocabulary import DIRECT_CHANNEL, PATH_LENGTH_KEYS
from .markov import CONVERSION, NULL, START
from .weights import DECAY_SHARE_SCALE, DECAY_WEIGHT_BITS, FIRST, LAST, MIDDLE, ONLY

MICROSECONDS_PER_DAY = 86_400 * 1_000_000

LENGTH_COLUMNS: dict[str, str] = {key: f"length_{index + 1}" for index, key in enumerate(PATH_LENGTH_KEYS)}
"""``path_lengths`` key -> the column counting its conversions ("5+" is ``length_5``: five or more)."""

TOUCH_GROUP_COLUMNS = ("channel", "n", "slot", "last_non_direct", "touchpoints", "value")
DECAY_GROUP_COLUMNS = ("channel", "converting_channel", "share_units", "value_units")
STEP_COLUMNS = ("origin", "target", "steps")
PATH_COLUMNS = ("path_key", "conversions", "value")


def bound_values(params: AttributionParams) -> dict[str, Any]:
    """The request's own values, bound to the statement: the lookback in microseconds, the half-life in
    microseconds (the double nearest its exact value), the direct channel, how many paths to return."""
    half_life = Fraction(repr(params.half_life_days)) * MICROSECONDS_PER_DAY
    return {
        "lookback_us": params.lookback_days * MICROSECONDS_PER_DAY,
        "half_life_us": float(half_life),
        "direct_channel": DIRECT_CHANNEL,
        "top_paths": params.top_paths,
    }


def attribution_query(params: AttributionParams, dialect: Dialect) -> Query:
    """The statement: one row with the cohort's size, the attributed conversions' totals and the groups."""
    matching = matching_sessions_condition(params.cohort, dialect)
    values = bound_values(params)
    p = {name: dialect.parameter(name) for name in values}
    tables = [
        dialect.common_table("cohort", f"SELECT DISTINCT user_key FROM sessions WHERE {matching.sql}", materialized=True),
        dialect.common_table("kept", _kept(params, p), materialized=True),
        dialect.common_table("conversion_facts", _CONVERSION_FACTS.format(**p), materialized=True),
        dialect.common_table("placed", _placed(p), materialized=True),
        dialect.common_table("touch_groups", _TOUCH_GROUPS),
        dialect.common_table("decay_groups", _decay_groups(dialect)),
        dialect.common_table("visits_without_conversion", _visits_without_conversion(dialect, p), materialized=True),
        dialect.common_table("journeys_without_conversion", _JOURNEYS_WITHOUT_CONVERSION),
        dialect.common_table("journey_steps", _JOURNEY_STEPS, materialized=True),
        dialect.common_table("chain_steps", _CHAIN_STEPS),
        dialect.common_table("summary", _summary()),
        dialect.common_table("paths", _paths(dialect)),
    ]

    def listed(table: str, columns: tuple[str, ...], order_by: list[str], where: str = "") -> str:
        element = dialect.struct({column: f"t.{column}" for column in columns})
        return f"(SELECT {dialect.ordered_list(element, order_by)} FROM {table} t{where})"

    outputs = [
        "(SELECT count(*) FROM cohort) AS cohort_users",
        "s.*",
        listed("touch_groups", TOUCH_GROUP_COLUMNS, ["t.channel", "t.n", "t.slot", "t.last_non_direct"])
        + " AS touch_groups",
        listed("decay_groups", DECAY_GROUP_COLUMNS, ["t.channel", "t.converting_channel"]) + " AS decay_groups",
        listed("chain_steps", STEP_COLUMNS, ["t.origin", "t.target"]) + " AS chain_steps",
        listed("paths", PATH_COLUMNS, ["t.conversions DESC", "t.value DESC", "t.path_key"],
               where=f" WHERE t.rank <= {p['top_paths']}") + " AS paths",
    ]
    sql = "WITH " + ",\n".join(tables) + "\nSELECT " + ",\n       ".join(outputs) + "\nFROM summary s"
    return Query(sql, {**matching.params, **values})


def _kept(params: AttributionParams, p: dict[str, str]) -> str:
    """The attributed conversions' touchpoints inside the lookback (docs/metrics.md#lookback): a session that
    started at most lookback_days x 86 400 s before the conversion, and the converting session always.
    ``first`` keeps each converted user's earliest conversion ever (docs/metrics.md#attributed-conversions)."""
    first = params.conversions == "first"
    which = "\n      AND is_user_first" if first else ""
    # A conversion is known by its user when each user has one (a whole number joins and groups faster).
    key = "user_key" if first else "conversion_id"
    return f"""\
    SELECT {key} AS conversion_key, timeline_position AS position, conversion_position, channel,
           us_before_conversion AS us_before, value
    FROM touchpoints
    WHERE user_key IN (SELECT user_key FROM cohort){which}
      AND (us_before_conversion <= {p['lookback_us']} OR timeline_position = conversion_position)"""


# What a conversion's touchpoints decide together: n, the first kept position, the last position that is
# not direct, the converting session's channel and age (its converted_at - started_at), the value.
_CONVERSION_FACTS = """\
    SELECT conversion_key, count(*) AS n, min(position) AS first_position,
           max(CASE WHEN channel <> {direct_channel} THEN position END) AS non_direct_position,
           max(CASE WHEN position = conversion_position THEN channel END) AS converting_channel,
           max(CASE WHEN position = conversion_position THEN us_before END) AS converting_us_before,
           max(value) AS value
    FROM kept
    GROUP BY conversion_key"""


def _placed(p: dict[str, str]) -> str:
    """Each touchpoint with its place, the channel of the touchpoint before it (the kept touchpoints of a
    conversion are consecutive timeline positions) and its time-decay weight.

    docs/metrics.md#time_decay in fixed point: every weight is divided by the converting session's,
    2^(-(age - converting session's age) / half-life) <= 1, so nothing underflows however short the
    half-life, and kept as the whole number floor(x * 2^40)."""
    weight = (
        f"CAST(floor(power(CAST(2 AS DOUBLE), CAST(f.converting_us_before - k.us_before AS DOUBLE)"
        f" / {p['half_life_us']}) * {2 ** DECAY_WEIGHT_BITS}) AS BIGINT)"
    )
    return f"""\
    SELECT k.conversion_key, k.position, k.conversion_position, k.channel, k.value, f.n, f.converting_channel,
           CASE WHEN f.n = 1 THEN '{ONLY}'
                WHEN k.position = f.first_position THEN '{FIRST}'
                WHEN k.position = k.conversion_position THEN '{LAST}'
                ELSE '{MIDDLE}' END AS slot,
           k.position = coalesce(f.non_direct_position, k.conversion_position) AS last_non_direct,
           previous.channel AS previous_channel,
           {weight} AS weight
    FROM kept k
    JOIN conversion_facts f ON f.conversion_key = k.conversion_key
    LEFT JOIN kept previous ON previous.conversion_key = k.conversion_key AND previous.position = k.position - 1"""


_TOUCH_GROUPS = """\
    SELECT channel, n, slot, last_non_direct, count(*) AS touchpoints, sum(value) AS value
    FROM placed
    GROUP BY channel, n, slot, last_non_direct"""


def _decay_groups(dialect: Dialect) -> str:
    """Each touchpoint before the converting one gets floor(weight * 10^15 / the conversion's sum of weights),
    summed with and without its conversion's value per (channel, converting channel)."""
    share = dialect.scaled_quotient("d.weight", DECAY_SHARE_SCALE, "w.weights")
    return f"""\
    SELECT channel, converting_channel, sum(share_units) AS share_units, sum(share_units * value) AS value_units
    FROM (
        SELECT d.channel, d.converting_channel, d.value, CAST({share} AS DECIMAL(38, 0)) AS share_units
        FROM placed d
        JOIN (SELECT conversion_key, sum(weight) AS weights FROM placed WHERE n > 1 GROUP BY conversion_key) w
          ON w.conversion_key = d.conversion_key
        WHERE d.position < d.conversion_position
    ) t
    GROUP BY channel, converting_channel"""


def _visits_without_conversion(dialect: Dialect, p: dict[str, str]) -> str:
    """docs/metrics.md#data-driven: the sessions of cohort users who never converted that started at most
    lookback_days before their last session, each with its place in the timeline and whether it is the last.
    They are a run of consecutive timeline positions ending at the last session."""
    age = dialect.microseconds_between("s.started_at", "u.last_session_started_at")
    return f"""\
    SELECT s.user_key, s.timeline_position AS position, s.channel, s.timeline_position = u.session_count AS is_last
    FROM (
        SELECT user_key, session_count, last_session_started_at FROM users
        WHERE NOT is_converted AND user_key IN (SELECT user_key FROM cohort)
    ) u
    JOIN sessions s ON s.user_key = u.user_key
    WHERE {age} <= {p['lookback_us']}"""


# The same visits with the channel of the visit before (NULL for the first kept one). The visit before is the
# previous timeline position if it was kept, found by a join rather than a window ordered over every visit (a
# sort of all of them, the statement's costliest step); a first session has none, so only later ones look.
_JOURNEYS_WITHOUT_CONVERSION = """\
    SELECT CAST(NULL AS STRING) AS previous_channel, channel, is_last FROM visits_without_conversion WHERE position = 1
    UNION ALL
    SELECT previous.channel, v.channel, v.is_last
    FROM visits_without_conversion v
    LEFT JOIN (SELECT user_key, position, channel FROM visits_without_conversion WHERE NOT is_last) previous
      ON previous.user_key = v.user_key AND previous.position = v.position - 1
    WHERE v.position > 1"""


# docs/metrics.md#data-driven: every step of every path, counted by (channel before, channel, whether the path
# ends there, whether it converts); a missing channel before is (start), an end goes to (conversion) or (null).
_JOURNEY_STEPS = f"""\
    SELECT previous_channel, channel, ends, converts, count(*) AS steps
    FROM (
        SELECT previous_channel, channel, slot IN ('{ONLY}', '{LAST}') AS ends, true AS converts FROM placed
        UNION ALL
        SELECT previous_channel, channel, is_last, false FROM journeys_without_conversion
    ) t
    GROUP BY previous_channel, channel, ends, converts"""


# The chain's steps (docs/metrics.md#data-driven) from the counted journey steps: into each channel from the
# one before or (start), and out of each path's last channel into its end. A few thousand rows rather than
# every (channel before, channel, end) combination, so the answer reads and converts far fewer.
_CHAIN_STEPS = f"""\
    SELECT coalesce(previous_channel, '{START}') AS origin, channel AS target, sum(steps) AS steps
    FROM journey_steps
    GROUP BY coalesce(previous_channel, '{START}'), channel
    UNION ALL
    SELECT channel, CASE WHEN converts THEN '{CONVERSION}' ELSE '{NULL}' END, sum(steps)
    FROM journey_steps
    WHERE ends
    GROUP BY channel, converts"""


def _summary() -> str:
    """The number and value of the attributed conversions and their path lengths (docs/metrics.md#path_lengths)."""
    columns = list(LENGTH_COLUMNS.values())
    lengths = [f"count_if(n = {length}) AS {column}" for length, column in enumerate(columns[:-1], start=1)]
    lengths.append(f"count_if(n >= {len(columns)}) AS {columns[-1]}")
    return f"""\
    SELECT count(*) AS conversions, sum(value) AS value,
           {', '.join(lengths)}
    FROM conversion_facts"""


def _paths(dialect: Dialect) -> str:
    """docs/metrics.md#paths: each conversion's channels with consecutive repeats collapsed, grouped; the
    ones ranked within ``top_paths`` by (conversions desc, value desc) are the candidates, whose ties the
    answer breaks by the joined path."""
    piece = "CAST(length(channel) AS STRING) || ':' || channel"  # STRING: both engines' text type (Spark's VARCHAR needs a length)
    return f"""\
    SELECT path_key, conversions, value,
           rank() OVER (ORDER BY conversions DESC, value DESC) AS rank
    FROM (
        SELECT path_key, count(*) AS conversions, coalesce(sum(value), 0) AS value
        FROM (
            SELECT {piece} AS path_key, value FROM placed WHERE n = 1
            UNION ALL
            SELECT {dialect.ordered_concat(piece, ['position'])} AS path_key, max(value) AS value
            FROM placed
            WHERE n > 1 AND (previous_channel IS NULL OR previous_channel <> channel)
            GROUP BY conversion_key
        ) t
        GROUP BY path_key
    ) t"""


def path_from_key(key: str) -> list[str]:
    """A path's channels from its ``<length>:<channel>`` pieces (lengths in code points)."""
    channels, at = [], 0
    while at < len(key):
        colon = key.index(":", at)
        length = int(key[at:colon])
        channels.append(key[colon + 1:colon + 1 + length])
        at = colon + 1 + length
    return channels
