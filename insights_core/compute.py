"""``compute_insights``: the SPEC 3.4 cohort and the SPEC 4 metrics, in one SQL statement.

Roles and per-user facts were precomputed at load time (see ``loading``), so
a query is: filter the sessions (window, session filters, conversion filters,
touch_scope) into ``matching_sessions``, take their users as the ``cohort``,
and aggregate the cohort's precomputed ``users`` and ``user_channels`` rows
for the journey metrics. The WHERE clause is assembled from a fixed
allowlist of columns; every value is a bound parameter.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

import duckdb

from .params import InsightsParams, parse_params
from .rounding import mean_seconds, median_seconds, pct, percentage, ratio
from .store import cursor

NO_DATA_MESSAGE = "No page data found for the given parameters."

SESSION_FILTER_COLUMNS: Mapping[str, str] = {
    "source": "source",
    "medium": "medium",
    "campaign": "utm_campaign",
    "content": "utm_content",
    "term": "utm_term",
    "landing_page": "landing_page",
}
"""SPEC 3 session filter -> stored column (exact, case-sensitive match)."""

TOUCH_SCOPE_COLUMNS: Mapping[str, str | None] = {
    "any": None,
    "first": "is_first",
    "converting": "is_converting",
    "assist": "is_assist",
    "after": "is_after",
}
"""SPEC 3.3 role -> precomputed session flag."""

TIMELINE_BINS: tuple[tuple[str, int | None], ...] = (
    ("0-1 days", 86_400),
    ("1-3 days", 259_200),
    ("3-7 days", 604_800),
    ("7+ days", None),
)
"""SPEC 4.3 bins: label and exclusive upper bound in seconds."""

def _bins_sql() -> str:
    """SQL counting converted users per SPEC 4.3 bin, as ``bin_0`` … ``bin_3``."""
    lower = 0
    columns = []
    for index, (_, upper) in enumerate(TIMELINE_BINS):
        upper_clause = f" AND time_to_convert_us < {upper * 1_000_000}" if upper is not None else ""
        columns.append(
            f"count_if(is_converted AND time_to_convert_us >= {lower * 1_000_000}{upper_clause}) AS bin_{index}"
        )
        lower = upper or 0
    return ",\n           ".join(columns)


_BINS_SQL = _bins_sql()

_METRICS_SQL = """
WITH matching_sessions AS MATERIALIZED (
    SELECT user_key, is_converting, exited_at IS NOT NULL AS has_exit, duration_us, conversion_delay_us
    FROM sessions
    WHERE {where}
), cohort AS MATERIALIZED (
    SELECT DISTINCT user_key FROM matching_sessions
), cohort_users AS (
    SELECT * FROM users WHERE user_key IN (SELECT user_key FROM cohort)
), session_summary AS (
    SELECT count(*) AS total_sessions,
           count_if(is_converting) AS total_converting_sessions,
           count_if(NOT is_converting AND has_exit) AS total_drop_off_sessions,
           sum(duration_us) AS duration_total_us,
           count(duration_us) AS duration_count,
           sum(conversion_delay_us) FILTER (WHERE is_converting) AS converting_total_us,
           median(conversion_delay_us) FILTER (WHERE is_converting) AS converting_median_us,
           sum(duration_us) FILTER (WHERE NOT is_converting AND has_exit) AS drop_off_total_us,
           median(duration_us) FILTER (WHERE NOT is_converting AND has_exit) AS drop_off_median_us
    FROM matching_sessions
), user_summary AS (
    SELECT count(*) AS total_users,
           count_if(is_converted) AS total_converted_users,
           coalesce(sum(session_count), 0) AS journey_sessions,
           coalesce(sum(session_count) FILTER (WHERE is_converted), 0) AS converted_journey_sessions,
           sum(time_to_convert_us) FILTER (WHERE is_converted) AS time_to_convert_total_us,
           median(time_to_convert_us) FILTER (WHERE is_converted) AS time_to_convert_median_us,
           {bins}
    FROM cohort_users
), channel_rows AS (
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
    GROUP BY channel
)
SELECT s.*, u.*,
       (SELECT list(c ORDER BY c.total_sessions + c.total_users DESC, c.channel) FROM channel_rows c) AS channels
FROM session_summary s, user_summary u
"""


def compute_insights(
    con: duckdb.DuckDBPyConnection, params: Mapping[str, Any] | InsightsParams | None = None
) -> dict[str, Any]:
    """The SPEC 4.5 document for ``params`` (a SPEC 3 request body), or the SPEC 3.4 message.

    ``con`` is a connection from :func:`insights_core.connect`; this takes its
    own cursor, so it is safe to call from several threads. Raises
    :class:`insights_core.ParameterError` for a bad parameter.
    """
    resolved = params if isinstance(params, InsightsParams) else parse_params(params)
    where, bound = _matching_sessions_filter(resolved)
    cur = cursor(con)
    try:
        result = cur.execute(_METRICS_SQL.format(where=where, bins=_BINS_SQL), bound)
        names = [column[0] for column in result.description]
        row = dict(zip(names, result.fetchone()))
    finally:
        cur.close()
    if row["total_users"] == 0:
        return {"message": NO_DATA_MESSAGE}
    return {
        "overall_metrics": {
            "user_summary": _user_summary(row),
            "session_summary": _session_summary(row),
            "conversion_summary": _conversion_summary(row),
            "channels": [_channel(channel, row["journey_sessions"], row["total_converted_users"])
                         for channel in row["channels"]],
        }
    }


def _matching_sessions_filter(params: InsightsParams) -> tuple[str, dict[str, Any]]:
    """SPEC 3.4: the WHERE clause of ``matching_sessions`` and its bound values."""
    clauses = ["started_at BETWEEN $start AND $end"]
    bound: dict[str, Any] = {"start": params.start, "end": params.end}
    for name, value in params.session_filters().items():
        clauses.append(f"{SESSION_FILTER_COLUMNS[name]} = ${name}")
        bound[name] = value
    conversion_filters = params.conversion_filters()
    if conversion_filters:
        # SPEC 3.2: one conversion of the session satisfies every given filter at once.
        matches = " AND ".join(f"{name} = ${name}" for name in conversion_filters)
        clauses.append(f"session_id IN (SELECT session_id FROM conversions WHERE {matches})")
        bound.update(conversion_filters)
    role = TOUCH_SCOPE_COLUMNS[params.touch_scope]
    if role is not None:
        clauses.append(role)
    return " AND ".join(clauses), bound


def _user_summary(row: Mapping[str, Any]) -> dict[str, Any]:
    """SPEC 4.1."""
    users, converted = row["total_users"], row["total_converted_users"]
    return {
        "total_users": users,
        "total_converted_users": converted,
        "conversion_rate": pct(converted, users),
        "avg_sessions_per_user": ratio(int(row["journey_sessions"]), users),
        "avg_sessions_per_converted_user": ratio(int(row["converted_journey_sessions"]), converted),
    }


def _session_summary(row: Mapping[str, Any]) -> dict[str, Any]:
    """SPEC 4.2, over the matching sessions only."""
    return {
        "total_sessions": row["total_sessions"],
        "total_converting_sessions": row["total_converting_sessions"],
        "total_drop_off_sessions": row["total_drop_off_sessions"],
        "avg_session_duration_seconds": mean_seconds(row["duration_total_us"], row["duration_count"]),
        "avg_converting_session_duration": mean_seconds(
            row["converting_total_us"], row["total_converting_sessions"]
        ),
        "avg_drop_off_session_duration": mean_seconds(row["drop_off_total_us"], row["total_drop_off_sessions"]),
        "median_converting_session_duration": median_seconds(row["converting_median_us"]),
        "median_drop_off_session_duration": median_seconds(row["drop_off_median_us"]),
    }


def _conversion_summary(row: Mapping[str, Any]) -> dict[str, Any]:
    """SPEC 4.3, over the converted users of the cohort."""
    converted = row["total_converted_users"]
    counts = {label: row[f"bin_{index}"] for index, (label, _) in enumerate(TIMELINE_BINS)}
    return {
        "avg_time_to_convert": mean_seconds(row["time_to_convert_total_us"], converted),
        "median_time_to_convert": median_seconds(row["time_to_convert_median_us"]),
        "conversion_timeline_bins": {
            "counts": counts,
            "percentages": {label: percentage(count, converted) for label, count in counts.items()},
        },
    }


def _channel(channel: Mapping[str, Any], journey_sessions: int, converted_users: int) -> dict[str, Any]:
    """SPEC 4.4, one channel of the journey set."""
    total_sessions = int(channel["total_sessions"])
    return {
        "channel": channel["channel"],
        "total_sessions": total_sessions,
        "total_users": channel["total_users"],
        "converting_users_first_touch": channel["first_touch"],
        "converting_users_assisting_touch": channel["assisting_touch"],
        "converting_users_converting_touch": channel["converting_touch"],
        "converting_users_after_touch": channel["after_touch"],
        "session_influence": pct(total_sessions, int(journey_sessions)),
        "conversion_influence": pct(channel["attributed"], converted_users),
        "attributed_to_conversion": channel["attributed"],
        "conversion_rate": pct(channel["attributed"], channel["total_users"]),
    }


def to_json(document: Mapping[str, Any]) -> str:
    """The one serialisation of a response, shared by the CLI, the API and the dashboard export.

    Key order is the SPEC 4.5 order; non-ASCII is kept as UTF-8; a final
    newline makes it a well-formed text file.
    """
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
