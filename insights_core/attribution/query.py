"""The one statement behind an attribution answer, built from the parameters and a dialect (docs/metrics.md#attribution).

It reads the stored ``touchpoints`` (one row per conversion and session of
its user up to the converting one, docs/metrics.md#touchpoints) and applies
what the request chooses at query time: the cohort, which conversions are
attributed, the lookback and the half-life. It returns one row of whole
numbers and exact decimals only, grouped by what decides each model's credit,
so the answer assembled from it (:mod:`insights_core.attribution.answer`) is
the same on every engine and whatever order the rows were summed in:

- ``touch_groups``: touchpoints counted per (channel, n, slot, last non-direct),
  with the sum of their conversions' values: the rule-based models' credits
  are these counts times exact fractions;
- ``decay_groups``: the time-decay shares of the touchpoints before the
  converting one, as integers of 1/10^15 (``weights.DECAY_SHARE_SCALE``),
  summed per (channel, converting channel);
- ``transitions``: step counts of the data-driven chain over every path;
- the number and value of the attributed conversions, their path lengths,
  and the top conversion paths.
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
PATH_SEPARATOR = " > "
"""Paths with equal counts and values are ordered by their channels joined with this (docs/metrics.md#paths)."""

LENGTH_COLUMNS: dict[str, str] = {key: f"length_{index + 1}" for index, key in enumerate(PATH_LENGTH_KEYS)}
"""``path_lengths`` key -> the column counting its conversions."""

TOUCH_GROUP_COLUMNS = ("channel", "n", "slot", "last_non_direct", "touchpoints", "value")
DECAY_GROUP_COLUMNS = ("channel", "converting_channel", "share_units", "value_units")
TRANSITION_COLUMNS = ("from_state", "to_state", "steps")
PATH_COLUMNS = ("path", "conversions", "value")


def bound_values(params: AttributionParams) -> dict[str, Any]:
    """The request's own values, bound to the statement: the lookback in microseconds, the half-life in
    microseconds as the double nearest its exact value, the direct channel and how many paths to return."""
    half_life = Fraction(repr(params.half_life_days)) * MICROSECONDS_PER_DAY
    return {
        "lookback_us": params.lookback_days * MICROSECONDS_PER_DAY,
        "half_life_us": float(half_life),
        "direct_channel": DIRECT_CHANNEL,
        "top_paths": params.top_paths,
        "path_separator": PATH_SEPARATOR,
    }


def attribution_query(params: AttributionParams, dialect: Dialect) -> Query:
    """The statement: one row with the cohort's size, the attributed conversions' totals and the groups."""
    matching = matching_sessions_condition(params.cohort, dialect)
    values = bound_values(params)
    p = {name: dialect.parameter(name) for name in values}
    which = "\n          AND is_user_first" if params.conversions == "first" else ""
    tables = [
        dialect.common_table("cohort", f"SELECT DISTINCT user_key FROM sessions WHERE {matching.sql}", materialized=True),
        dialect.common_table("kept", _KEPT.format(which=which, **p), materialized=True),
        dialect.common_table("placed", _PLACED.format(**p), materialized=True),
        dialect.common_table("touch_groups", _TOUCH_GROUPS),
        dialect.common_table("decayed", _decayed(dialect, p)),
        dialect.common_table("decay_groups", _DECAY_GROUPS),
        dialect.common_table("journeys_without_conversion", _journeys_without_conversion(dialect, p)),
        dialect.common_table("transitions", _TRANSITIONS),
        dialect.common_table("per_conversion", _per_conversion(dialect), materialized=True),
        dialect.common_table("summary", _summary()),
        dialect.common_table("paths", _PATHS.format(joined=dialect.joined_list("path", p["path_separator"]))),
        dialect.common_table("ranked_paths", _RANKED_PATHS),
    ]

    def listed(table: str, columns: tuple[str, ...], order_by: list[str], where: str = "") -> str:
        element = dialect.struct({column: f"t.{column}" for column in columns})
        return f"(SELECT {dialect.ordered_list(element, order_by)} FROM {table} t{where})"

    sql = (
        "WITH " + ",\n".join(tables) + "\n"
        "SELECT (SELECT count(*) FROM cohort) AS cohort_users,\n"
        "       s.*,\n"
        f"       {listed('touch_groups', TOUCH_GROUP_COLUMNS, ['t.channel', 't.n', 't.slot', 't.last_non_direct'])}"
        " AS touch_groups,\n"
        f"       {listed('decay_groups', DECAY_GROUP_COLUMNS, ['t.channel', 't.converting_channel'])} AS decay_groups,\n"
        f"       {listed('transitions', TRANSITION_COLUMNS, ['t.from_state', 't.to_state'])} AS transitions,\n"
        f"       {listed('ranked_paths', PATH_COLUMNS, ['t.rank'], where=' WHERE t.rank <= ' + p['top_paths'])}"
        " AS paths\n"
        "FROM summary s"
    )
    return Query(sql, {**matching.params, **values})


# The attributed conversions' touchpoints inside the lookback (docs/metrics.md#lookback): a session that
# started at most lookback_days x 86 400 s before the conversion, and the converting session always.
_KEPT = """\
    SELECT conversion_id, timeline_position AS position, conversion_position, channel,
           us_before_conversion AS us_before, value
    FROM touchpoints
    WHERE user_key IN (SELECT user_key FROM cohort){which}
      AND (us_before_conversion <= {lookback_us} OR timeline_position = conversion_position)"""

# Each touchpoint with what its conversion's other touchpoints decide: n, the first kept position, the
# last position that is not direct, the converting session's channel and age, the previous channel.
_PLACED = """\
    SELECT conversion_id, position, conversion_position, channel, us_before, value,
           count(*) OVER (PARTITION BY conversion_id) AS n,
           min(position) OVER (PARTITION BY conversion_id) AS first_position,
           max(CASE WHEN channel <> {direct_channel} THEN position END)
               OVER (PARTITION BY conversion_id) AS non_direct_position,
           max(CASE WHEN position = conversion_position THEN channel END)
               OVER (PARTITION BY conversion_id) AS converting_channel,
           max(CASE WHEN position = conversion_position THEN us_before END)
               OVER (PARTITION BY conversion_id) AS converting_us_before,
           lag(channel) OVER (PARTITION BY conversion_id ORDER BY position) AS previous_channel
    FROM kept"""

_TOUCH_GROUPS = f"""\
    SELECT channel, n, slot, last_non_direct, count(*) AS touchpoints, sum(value) AS value
    FROM (
        SELECT channel, n, value,
               CASE WHEN n = 1 THEN '{ONLY}'
                    WHEN position = first_position THEN '{FIRST}'
                    WHEN position = conversion_position THEN '{LAST}'
                    ELSE '{MIDDLE}' END AS slot,
               position = coalesce(non_direct_position, conversion_position) AS last_non_direct
        FROM placed
    ) t
    GROUP BY channel, n, slot, last_non_direct"""


def _decayed(dialect: Dialect, p: dict[str, str]) -> str:
    """docs/metrics.md#time_decay in fixed point: every weight divided by the converting session's,
    2^(-(age - converting session's age) / half-life) <= 1, kept as floor(x * 2^40); each touchpoint before
    the converting one gets floor(weight * 10^15 / the conversion's sum of weights)."""
    weight = (
        f"CAST(floor(power(CAST(2 AS DOUBLE), CAST(converting_us_before - us_before AS DOUBLE) / {p['half_life_us']})"
        f" * {2 ** DECAY_WEIGHT_BITS}) AS BIGINT)"
    )
    share = dialect.integer_quotient(f"CAST(weight AS DECIMAL(38, 0)) * {DECAY_SHARE_SCALE}", "weights")
    return f"""\
    SELECT channel, converting_channel, value, CAST({share} AS DECIMAL(38, 0)) AS share_units
    FROM (
        SELECT channel, converting_channel, value, position, conversion_position, weight,
               sum(weight) OVER (PARTITION BY conversion_id) AS weights
        FROM (SELECT *, {weight} AS weight FROM placed) t
    ) t
    WHERE position < conversion_position"""


_DECAY_GROUPS = """\
    SELECT channel, converting_channel, sum(share_units) AS share_units, sum(share_units * value) AS value_units
    FROM decayed
    GROUP BY channel, converting_channel"""


def _journeys_without_conversion(dialect: Dialect, p: dict[str, str]) -> str:
    """docs/metrics.md#data-driven: the sessions of cohort users who never converted that started at most
    lookback_days before their last session, with the channel before each and whether it is the last."""
    age = dialect.microseconds_between("s.started_at", "u.last_session_started_at")
    return f"""\
    SELECT s.channel, s.timeline_position = u.session_count AS is_last,
           lag(s.channel) OVER (PARTITION BY s.user_key ORDER BY s.timeline_position) AS previous_channel
    FROM sessions s JOIN users u ON u.user_key = s.user_key
    WHERE u.user_key IN (SELECT user_key FROM cohort) AND NOT u.is_converted
      AND {age} <= {p['lookback_us']}"""


_TRANSITIONS = f"""\
    SELECT coalesce(previous_channel, '{START}') AS from_state, channel AS to_state, count(*) AS steps
    FROM placed GROUP BY coalesce(previous_channel, '{START}'), channel
    UNION ALL
    SELECT channel, '{CONVERSION}', count(*) FROM placed WHERE position = conversion_position GROUP BY channel
    UNION ALL
    SELECT coalesce(previous_channel, '{START}'), channel, count(*)
    FROM journeys_without_conversion GROUP BY coalesce(previous_channel, '{START}'), channel
    UNION ALL
    SELECT channel, '{NULL}', count(*) FROM journeys_without_conversion WHERE is_last GROUP BY channel"""


def _per_conversion(dialect: Dialect) -> str:
    """One row per attributed conversion: n, value and its path with consecutive repeats collapsed."""
    collapsed = "CASE WHEN previous_channel IS NULL OR previous_channel <> channel THEN channel END"
    return f"""\
    SELECT conversion_id, max(n) AS n, max(value) AS value, {dialect.ordered_list(collapsed, ['position'])} AS path
    FROM placed
    GROUP BY conversion_id"""


def _summary() -> str:
    """The number and value of the attributed conversions and their path lengths (docs/metrics.md#path_lengths)."""
    lengths = [f"count_if(n = {index + 1}) AS {column}" for index, column in enumerate(list(LENGTH_COLUMNS.values())[:-1])]
    lengths.append(f"count_if(n >= {len(LENGTH_COLUMNS)}) AS {list(LENGTH_COLUMNS.values())[-1]}")
    return f"""\
    SELECT count(*) AS conversions, sum(value) AS value,
           {', '.join(lengths)}
    FROM per_conversion"""


_PATHS = """\
    SELECT path, count(*) AS conversions, coalesce(sum(value), 0) AS value, {joined} AS joined
    FROM per_conversion
    GROUP BY path"""

# docs/metrics.md#paths: conversions desc, value desc, the joined path ascending (and the list itself,
# should two paths join to the same text).
_RANKED_PATHS = """\
    SELECT path, conversions, value,
           row_number() OVER (ORDER BY conversions DESC, value DESC, joined, path) AS rank
    FROM paths"""
