"""``compute_insights``: the cohort and the ``/insights`` metrics (docs/metrics.md#response).

Roles and per-user facts are precomputed at load time, so the answer is one
statement: filter the sessions (window, session filters, conversion filters,
touch_scope) into ``matching_sessions``, take their users as the ``cohort``,
and aggregate the cohort's precomputed ``users`` and ``user_channels`` rows
for the journey metrics. :func:`insights_query` builds that statement from the
parameters and a dialect without running it; :func:`compute_insights` runs it
on an engine and :func:`insights_answer` turns its one row into the answer,
rounding in exact arithmetic (:mod:`insights_core.rounding`).
"""

from __future__ import annotations

from typing import Any, Mapping

import duckdb

from ..engines import Engine, engine_for
from ..engines.base import Dialect, Query
from ..params import InsightsParams, parse_params
from ..rounding import mean_seconds, median_seconds, pct, percentage, ratio
from ..vocabulary import NO_DATA_MESSAGE, TIMELINE_BINS
from .cohort import matching_sessions_condition

MICROSECONDS_PER_SECOND = 1_000_000

CHANNEL_ROW_COLUMNS: tuple[str, ...] = (
    "channel", "total_sessions", "total_users", "first_touch", "assisting_touch", "converting_touch",
    "after_touch", "attributed",
)
"""The columns of ``channel_rows``, collected into one list of structs per answer."""


def compute_insights(
    source: Engine | duckdb.DuckDBPyConnection,
    params: Mapping[str, Any] | InsightsParams | None = None,
) -> dict[str, Any]:
    """The ``/insights`` answer for ``params`` (a request body), or the no-data message.

    ``source`` is an :class:`~insights_core.engines.Engine` or a connection
    from :func:`insights_core.connect` (each call then takes its own cursor,
    so it is safe from several threads). Raises
    :class:`insights_core.ParameterError` for a bad parameter.
    """
    engine = engine_for(source)
    resolved = params if isinstance(params, InsightsParams) else parse_params(params)
    [row] = engine.rows(insights_query(resolved, engine.dialect))
    return insights_answer(row)


def insights_query(params: InsightsParams, dialect: Dialect) -> Query:
    """The one statement behind the answer: a single row of summary sums and the channel rows."""
    matching = matching_sessions_condition(params, dialect)
    channel = dialect.struct({column: f"c.{column}" for column in CHANNEL_ROW_COLUMNS})
    channels = dialect.ordered_list(channel, ["c.total_sessions + c.total_users DESC", "c.channel"])
    tables = [
        dialect.common_table("matching_sessions", _MATCHING_SESSIONS.format(where=matching.sql), materialized=True),
        dialect.common_table("cohort", "SELECT DISTINCT user_key FROM matching_sessions", materialized=True),
        dialect.common_table("cohort_users", "SELECT * FROM users WHERE user_key IN (SELECT user_key FROM cohort)"),
        dialect.common_table("session_summary", _session_summary_sql(dialect)),
        dialect.common_table("user_summary", _user_summary_sql(dialect)),
        dialect.common_table("channel_rows", _CHANNEL_ROWS),
    ]
    sql = (
        "WITH " + ",\n".join(tables) + "\n"
        f"SELECT s.*, u.*, (SELECT {channels} FROM channel_rows c) AS channels\n"
        "FROM session_summary s, user_summary u"
    )
    return Query(sql, matching.params)


_MATCHING_SESSIONS = """\
    SELECT user_key, is_converting, exited_at IS NOT NULL AS has_exit, duration_us, conversion_delay_us
    FROM sessions
    WHERE {where}"""


def _session_summary_sql(dialect: Dialect) -> str:
    """docs/metrics.md#session-summary: sums, counts and exact medians over the matching sessions."""
    return f"""\
    SELECT count(*) AS total_sessions,
           count_if(is_converting) AS total_converting_sessions,
           count_if(NOT is_converting AND has_exit) AS total_drop_off_sessions,
           sum(duration_us) AS duration_total_us,
           count(duration_us) AS duration_count,
           sum(conversion_delay_us) FILTER (WHERE is_converting) AS converting_total_us,
           {dialect.exact_median('conversion_delay_us')} FILTER (WHERE is_converting) AS converting_median_us,
           sum(duration_us) FILTER (WHERE NOT is_converting AND has_exit) AS drop_off_total_us,
           {dialect.exact_median('duration_us')} FILTER (WHERE NOT is_converting AND has_exit) AS drop_off_median_us
    FROM matching_sessions"""


def _user_summary_sql(dialect: Dialect) -> str:
    """docs/metrics.md#user-summary and #conversion-summary, over the cohort's users."""
    return f"""\
    SELECT count(*) AS total_users,
           count_if(is_converted) AS total_converted_users,
           coalesce(sum(session_count), 0) AS journey_sessions,
           coalesce(sum(session_count) FILTER (WHERE is_converted), 0) AS converted_journey_sessions,
           sum(time_to_convert_us) FILTER (WHERE is_converted) AS time_to_convert_total_us,
           {dialect.exact_median('time_to_convert_us')} FILTER (WHERE is_converted) AS time_to_convert_median_us,
           {_timeline_bin_counts()}
    FROM cohort_users"""


def _timeline_bin_counts() -> str:
    """Converted users per time-to-convert bin, as ``bin_0`` … (docs/metrics.md#conversion-summary)."""
    lower = 0
    columns = []
    for index, (_, upper) in enumerate(TIMELINE_BINS):
        below = f" AND time_to_convert_us < {upper * MICROSECONDS_PER_SECOND}" if upper is not None else ""
        columns.append(
            f"count_if(is_converted AND time_to_convert_us >= {lower * MICROSECONDS_PER_SECOND}{below})"
            f" AS bin_{index}"
        )
        lower = upper or 0
    return ",\n           ".join(columns)


_CHANNEL_ROWS = """\
    SELECT channel,
           sum(sessions) AS total_sessions,
           count(*) AS total_users,
           count_if(first_touch AND is_converted) AS first_touch,
           count_if(assist_touch) AS assisting_touch,
           count_if(converting_touch) AS converting_touch,
           count_if(after_touch) AS after_touch,
           count_if(attributed) AS attributed
    FROM user_channels
    WHERE user_key IN (SELECT user_key FROM cohort)
    GROUP BY channel"""


def insights_answer(row: Mapping[str, Any]) -> dict[str, Any]:
    """The answer from the statement's one row: the no-data message for an empty cohort."""
    if row["total_users"] == 0:
        return {"message": NO_DATA_MESSAGE}
    return {
        "overall_metrics": {
            "user_summary": _user_summary(row),
            "session_summary": _session_summary(row),
            "conversion_summary": _conversion_summary(row),
            "channels": [
                _channel(channel, int(row["journey_sessions"]), int(row["total_converted_users"]))
                for channel in row["channels"]
            ],
        }
    }


def _user_summary(row: Mapping[str, Any]) -> dict[str, Any]:
    """docs/metrics.md#user-summary."""
    users, converted = int(row["total_users"]), int(row["total_converted_users"])
    return {
        "total_users": users,
        "total_converted_users": converted,
        "conversion_rate": pct(converted, users),
        "avg_sessions_per_user": ratio(int(row["journey_sessions"]), users),
        "avg_sessions_per_converted_user": ratio(int(row["converted_journey_sessions"]), converted),
    }


def _session_summary(row: Mapping[str, Any]) -> dict[str, Any]:
    """docs/metrics.md#session-summary, over the matching sessions only."""
    converting, drop_off = int(row["total_converting_sessions"]), int(row["total_drop_off_sessions"])
    return {
        "total_sessions": int(row["total_sessions"]),
        "total_converting_sessions": converting,
        "total_drop_off_sessions": drop_off,
        "avg_session_duration_seconds": mean_seconds(row["duration_total_us"], int(row["duration_count"])),
        "avg_converting_session_duration": mean_seconds(row["converting_total_us"], converting),
        "avg_drop_off_session_duration": mean_seconds(row["drop_off_total_us"], drop_off),
        "median_converting_session_duration": median_seconds(row["converting_median_us"]),
        "median_drop_off_session_duration": median_seconds(row["drop_off_median_us"]),
    }


def _conversion_summary(row: Mapping[str, Any]) -> dict[str, Any]:
    """docs/metrics.md#conversion-summary, over the converted users of the cohort."""
    converted = int(row["total_converted_users"])
    counts = {label: int(row[f"bin_{index}"]) for index, (label, _) in enumerate(TIMELINE_BINS)}
    return {
        "avg_time_to_convert": mean_seconds(row["time_to_convert_total_us"], converted),
        "median_time_to_convert": median_seconds(row["time_to_convert_median_us"]),
        "conversion_timeline_bins": {
            "counts": counts,
            "percentages": {label: percentage(count, converted) for label, count in counts.items()},
        },
    }


def _channel(channel: Mapping[str, Any], journey_sessions: int, converted_users: int) -> dict[str, Any]:
    """docs/metrics.md#channels: one channel of the journey set."""
    total_sessions, total_users, attributed = (
        int(channel["total_sessions"]), int(channel["total_users"]), int(channel["attributed"])
    )
    return {
        "channel": channel["channel"],
        "total_sessions": total_sessions,
        "total_users": total_users,
        "converting_users_first_touch": int(channel["first_touch"]),
        "converting_users_assisting_touch": int(channel["assisting_touch"]),
        "converting_users_converting_touch": int(channel["converting_touch"]),
        "converting_users_after_touch": int(channel["after_touch"]),
        "session_influence": pct(total_sessions, journey_sessions),
        "conversion_influence": pct(attributed, converted_users),
        "attributed_to_conversion": attributed,
        "conversion_rate": pct(attributed, total_users),
    }
