"""``compute_timeseries``: the matching sessions and first conversions per calendar period (docs/metrics.md#trend).

The periods themselves are made here in Python (:func:`trend_periods`): one
per UTC day, ISO week (from Monday) or calendar month that overlaps the
window, empty ones included, so a chart keeps its axis whatever the data.
The SQL only counts, per period that holds something: sessions, users and
converting sessions of the matching sessions, and converted users by the
period of their first conversion. :func:`timeseries_query` builds that
statement from the parameters and a dialect without running it;
:func:`timeseries_answer` lays the counts onto the periods.

Periods in SQL are ``date_trunc('day' | 'week' | 'month', timestamp)``,
which DuckDB and Spark SQL both spell and mean the same way: the period's
first instant, ``week`` truncating to Monday. Spark truncates a ``TIMESTAMP``
in the session time zone, which an engine for it sets to UTC (as it must for
the window's bounds to mean UTC too); a ``TIMESTAMP_NTZ`` column needs no
setting. The unit comes from :data:`~insights_core.vocabulary.TREND_INTERVALS`,
never from the request's text.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Mapping, Sequence

import duckdb

from ..engines import Engine, engine_for
from ..engines.base import Dialect, Query
from ..params import TimeseriesParams, parse_timeseries_params
from ..vocabulary import TREND_COUNT_KEYS, TREND_INTERVALS
from .cohort import matching_sessions_condition


def compute_timeseries(
    source: Engine | duckdb.DuckDBPyConnection,
    params: Mapping[str, Any] | TimeseriesParams | None = None,
) -> dict[str, Any]:
    """The ``/timeseries`` answer for ``params`` (a request body): one bucket per period of the window.

    ``source`` is an :class:`~insights_core.engines.Engine` or a connection
    from :func:`insights_core.connect`. An empty cohort is an answer with
    every count 0, not the no-data message. Raises
    :class:`insights_core.ParameterError` for a bad parameter (more than
    3,700 buckets is a bad ``interval``).
    """
    engine = engine_for(source)
    resolved = params if isinstance(params, TimeseriesParams) else parse_timeseries_params(params)
    rows = engine.rows(timeseries_query(resolved, engine.dialect))
    periods = trend_periods(resolved.interval, resolved.cohort.start, resolved.cohort.end)
    return timeseries_answer(resolved.interval, periods, rows)


def trend_periods(interval: str, start: datetime, end: datetime) -> list[date]:
    """The first day of every period of ``interval`` that overlaps ``[start, end]``, oldest first.

    A period is ``[its first day 00:00, the next period's first day 00:00)``
    UTC, so it overlaps the window when the window holds one instant of it:
    the first period is the one holding ``start``, even when the window
    starts later in it (docs/metrics.md#trend).
    """
    first, last = period_start(interval, start.date()), period_start(interval, end.date())
    periods = [first]
    while periods[-1] < last:
        periods.append(_next_period(interval, periods[-1]))
    return periods


def period_start(interval: str, day: date) -> date:
    """The first day of the period of ``interval`` holding ``day``: itself, its week's Monday, its month's 1st."""
    if interval == "day":
        return day
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    raise ValueError(f"not an interval: {interval!r}")


def _next_period(interval: str, first_day: date) -> date:
    """The first day of the period after the one starting on ``first_day``."""
    if interval == "day":
        return first_day + timedelta(days=1)
    if interval == "week":
        return first_day + timedelta(days=7)
    if first_day.month == 12:
        return date(first_day.year + 1, 1, 1)
    return date(first_day.year, first_day.month + 1, 1)


def timeseries_query(params: TimeseriesParams, dialect: Dialect) -> Query:
    """Counts per period that holds a matching session or a cohort user's first conversion.

    One row per such period: ``period_start`` (a timestamp, the period's first
    instant) and the four counts of docs/metrics.md#trend, oldest first.
    """
    if params.interval not in TREND_INTERVALS:  # the unit is written into the SQL: allowlisted only
        raise ValueError(f"not an interval: {params.interval!r}")
    matching = matching_sessions_condition(params.cohort, dialect)
    unit = params.interval
    start, end = dialect.parameter("start"), dialect.parameter("end")
    tables = [
        dialect.common_table("matching_sessions", _MATCHING_SESSIONS.format(where=matching.sql), materialized=True),
        dialect.common_table("cohort", "SELECT DISTINCT user_key FROM matching_sessions", materialized=True),
        dialect.common_table("session_periods", _SESSION_PERIODS.format(unit=unit)),
        dialect.common_table("conversion_periods", _CONVERSION_PERIODS.format(unit=unit, start=start, end=end)),
    ]
    sql = (
        "WITH " + ",\n".join(tables) + "\n"
        "SELECT period_start,\n"
        "       sum(sessions) AS sessions,\n"
        "       sum(users) AS users,\n"
        "       sum(converting_sessions) AS converting_sessions,\n"
        "       sum(converted_users) AS converted_users\n"
        "FROM (SELECT * FROM session_periods UNION ALL SELECT * FROM conversion_periods) counted\n"
        "GROUP BY period_start\n"
        "ORDER BY period_start"
    )
    return Query(sql, matching.params)


_MATCHING_SESSIONS = """\
    SELECT user_key, started_at, is_converting
    FROM sessions
    WHERE {where}"""

# docs/metrics.md#trend: sessions of S that started in the period (S lies in the window already).
_SESSION_PERIODS = """\
    SELECT date_trunc('{unit}', started_at) AS period_start,
           count(*) AS sessions,
           count(DISTINCT user_key) AS users,
           count_if(is_converting) AS converting_sessions,
           0 AS converted_users
    FROM matching_sessions
    GROUP BY date_trunc('{unit}', started_at)"""

# docs/metrics.md#trend: users of C, counted in the period of their first conversion ever, when that lies
# in the window (both ends included, as for started_at).
_CONVERSION_PERIODS = """\
    SELECT date_trunc('{unit}', first_conversion_at) AS period_start,
           0 AS sessions,
           0 AS users,
           0 AS converting_sessions,
           count(*) AS converted_users
    FROM users
    WHERE is_converted
      AND first_conversion_at BETWEEN {start} AND {end}
      AND user_key IN (SELECT user_key FROM cohort)
    GROUP BY date_trunc('{unit}', first_conversion_at)"""


def timeseries_answer(interval: str, periods: Sequence[date], rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The answer: every period in order with its counts from ``rows``, zeros where no row holds it."""
    counted = {_day(row["period_start"]): row for row in rows}
    outside = sorted(set(counted) - set(periods))
    if outside:  # the window bounds both, so this is a bug, never the data's fault
        raise RuntimeError(f"counts for periods outside the window: {', '.join(map(str, outside))}")
    buckets = []
    for period in periods:
        row = counted.get(period)
        buckets.append({
            "start": period.isoformat(),
            **{key: int(row[key]) if row is not None else 0 for key in TREND_COUNT_KEYS},
        })
    return {"timeseries": {"interval": interval, "buckets": buckets}}


def _day(value: datetime | date) -> date:
    """A period's first instant as the engine returns it (a timestamp, or a date) as its first day."""
    return value.date() if isinstance(value, datetime) else value
