"""What a store holds, for interfaces that describe the data rather than measure it.

The dashboard needs facts that are not metrics: the exact stored values each
filter can match (for its type-to-search list, those that exist under the
other filters first), the span of the stored sessions (to notice a window
that misses the data), and a summary of the store (row counts, channels, the
load log). They live here, next to the data, so interfaces only render.

Every function takes a connection from :func:`insights_core.connect`, uses
its own cursor and binds every value; column names come from the shared
vocabulary, never from user text. Nothing read here may crash a page: a
store written by an older release can hold timestamps outside the years
Python (and the product) supports, and text where a number is expected, so
every value is checked on its way out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

import duckdb

from . import cursor
from .vocabulary import (
    CONVERSION_FILTERS,
    EARLIEST_YEAR,
    INSIGHTS_PARAMETERS,
    LATEST_YEAR,
    SESSION_FILTER_COLUMNS,
    TOUCH_SCOPE_FLAGS,
)

FILTER_COLUMNS: Mapping[str, tuple[str, str]] = {
    **{name: ("sessions", column) for name, column in SESSION_FILTER_COLUMNS.items() if name in INSIGHTS_PARAMETERS},
    **{name: ("conversions", name) for name in CONVERSION_FILTERS if name in INSIGHTS_PARAMETERS},
}
"""Filter parameter -> (table, column) it is matched against (docs/metrics.md#session-filters,
docs/metrics.md#conversion-filters), sessions' filters first."""

DEFAULT_VALUE_LIMIT = 1_000
"""How many values :func:`filter_values` returns per filter unless told otherwise."""

_MANY_VALUES = frozenset({"landing_page"})
"""Session filters with too many values to group together with the others (each gets its own query)."""

_SUPPORTED = (
    f"started_at BETWEEN TIMESTAMP '{EARLIEST_YEAR:04d}-01-01 00:00:00' "
    f"AND TIMESTAMP '{LATEST_YEAR:04d}-12-31 23:59:59.999999'"
)
"""Sessions whose start lies in the supported years (docs/data.md#timestamps)."""


@dataclass(frozen=True)
class FilterValues:
    """The stored values of one filter, most frequent first."""

    values: tuple[str, ...]
    distinct: int
    """How many distinct values are stored; more than ``len(values)`` when cut at the limit."""

    @property
    def complete(self) -> bool:
        return self.distinct == len(self.values)


@dataclass(frozen=True)
class FilterChoices:
    """The values to offer for one filter: those that exist under the other filters first.

    ``matching`` maps each value found among the sessions (or conversions)
    that match the window, the role and every *other* filter to how many
    of them hold it, most frequent first; ``others`` are the remaining stored
    values, most frequent first.
    """

    matching: Mapping[str, int]
    others: tuple[str, ...]
    distinct: int
    """How many distinct values are stored in all."""
    unit: str
    """What ``matching`` counts: ``"session"`` or ``"conversion"``."""

    @property
    def values(self) -> tuple[str, ...]:
        return (*self.matching, *self.others)

    @property
    def complete(self) -> bool:
        return len(self.values) >= self.distinct


@dataclass(frozen=True)
class SessionSpan:
    """The first and last stored session start (naive UTC) within the supported years."""

    first: datetime
    last: datetime
    outside: int = 0
    """Stored sessions whose start is outside the supported years (only an old store holds any)."""


@dataclass(frozen=True)
class StoredLoad:
    """One row of the load log."""

    loaded_at: datetime | None
    """``None`` when the stored time cannot be read."""
    sessions_files: str | None
    conversions_files: str | None
    sessions_rows: int
    conversions_rows: int
    replaced: bool


@dataclass(frozen=True)
class StoreSummary:
    """What a store holds: counts, the span of session starts, channels, and the load log."""

    sessions: int
    conversions: int
    users: int
    converted_users: int
    first_session_at: datetime | None
    last_session_at: datetime | None
    channels: tuple[tuple[str, int], ...]
    """(channel, stored sessions), busiest first."""
    loads: tuple[StoredLoad, ...]
    """Most recent first."""
    outside_sessions: int = 0
    """Sessions whose start is outside the supported years; they are never in a window."""

    @property
    def last_load(self) -> StoredLoad | None:
        return self.loads[0] if self.loads else None


def available_filters(con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """The filters this store can answer, in :data:`FILTER_COLUMNS` order: those whose column it has
    (a store written before channel groups has no ``channel_group`` until it is upgraded)."""
    cur = cursor(con)
    try:
        present = set(cur.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_catalog = current_database()"
        ).fetchall())
    finally:
        cur.close()
    return tuple(name for name, place in FILTER_COLUMNS.items() if place in present)


def filter_values(
    con: duckdb.DuckDBPyConnection, name: str, limit: int = DEFAULT_VALUE_LIMIT
) -> FilterValues:
    """The exact stored values a filter can match, most frequent first (ties by value).

    ``name`` is a filter parameter (``source``, ``meta_type``, …); session
    filters count sessions, conversion filters count conversions. At most
    ``limit`` values are returned; ``distinct`` says how many there are.
    """
    table, column = _filter_column(name)
    cur = cursor(con)
    try:
        rows = cur.execute(
            f"""
            WITH stored_values AS (
                SELECT {column} AS value, count(*) AS uses
                FROM {table}
                WHERE {column} IS NOT NULL AND {column} <> ''
                GROUP BY {column}
            )
            SELECT value, (SELECT count(*) FROM stored_values) AS distinct_values
            FROM stored_values
            ORDER BY uses DESC, value
            LIMIT $limit
            """,
            {"limit": limit},
        ).fetchall()
    finally:
        cur.close()
    if not rows:
        return FilterValues((), 0)
    return FilterValues(tuple(_text(row[0]) for row in rows), _count(rows[0][1]))


def all_filter_values(
    con: duckdb.DuckDBPyConnection, limit: int = DEFAULT_VALUE_LIMIT
) -> dict[str, FilterValues]:
    """:func:`filter_values` for every filter the store can answer, by parameter name, in order."""
    return {name: filter_values(con, name, limit) for name in available_filters(con)}


def matching_values(
    con: duckdb.DuckDBPyConnection, params: Any, limit: int = DEFAULT_VALUE_LIMIT
) -> dict[str, dict[str, int]]:
    """For every filter, the values held by what matches ``params`` *apart from that filter*.

    ``params`` is an :class:`insights_core.InsightsParams`. A session filter
    counts the sessions in the window, holding the role, that match every
    other filter (docs/metrics.md#session-filters); a conversion filter counts
    the conversions of those sessions that satisfy the other conversion
    filters (docs/metrics.md#conversion-filters). Most frequent first (ties by
    value), at most ``limit`` values each.

    Every filter that is not given shares one condition (all the given
    filters), so with k filters given there are k + 1 conditions; each reads
    the sessions twice (landing pages apart, every other filter together in
    ``GROUPING SETS``) and the conversions once.
    """
    names = available_filters(con)
    given = {name: getattr(params, name, None) for name in names}
    given = {name: value for name, value in given.items() if value is not None}
    bound: dict[str, Any] = {"start": params.start, "end": params.end, "limit": limit}
    bound.update({f"v_{name}": value for name, value in given.items()})
    role = TOUCH_SCOPE_FLAGS.get(params.touch_scope)

    lists_by_condition: dict[tuple[str, ...], list[str]] = {}
    for name in names:
        condition = tuple(other for other in given if other != name)
        lists_by_condition.setdefault(condition, []).append(name)

    found: dict[str, dict[str, int]] = {name: {} for name in names}
    cur = cursor(con)
    try:
        for condition, names in lists_by_condition.items():
            sessions_where, conversions_where = _matching_conditions(condition, role)
            used = {key: bound[key] for key in ("start", "end", "limit")}
            used.update({f"v_{name}": bound[f"v_{name}"] for name in condition})
            session_names = [name for name in names if FILTER_COLUMNS[name][0] == "sessions"]
            few = [name for name in session_names if name not in _MANY_VALUES]
            if few:
                where = " AND ".join(sessions_where + conversions_where)
                found.update(_grouped_values(cur, "sessions s", "s", few, where, used))
            for name in (name for name in session_names if name in _MANY_VALUES):
                column = FILTER_COLUMNS[name][1]
                where = " AND ".join(sessions_where + conversions_where
                                     + [f"s.{column} IS NOT NULL", f"s.{column} <> ''"])
                rows = cur.execute(
                    f"SELECT s.{column}, count(*) AS uses FROM sessions s WHERE {where} "
                    f"GROUP BY s.{column} ORDER BY uses DESC, s.{column} LIMIT $limit",
                    used,
                ).fetchall()
                found[name] = {_text(value): _count(uses) for value, uses in rows}
            conversion_names = [name for name in names if FILTER_COLUMNS[name][0] == "conversions"]
            if conversion_names:
                conversion_clauses = [f"c.{FILTER_COLUMNS[name][1]} = $v_{name}" for name in condition
                                      if FILTER_COLUMNS[name][0] == "conversions"]
                # A conversion is never before its session's start, so none before the window counts.
                where = " AND ".join(["c.converted_at >= $start", *conversion_clauses, *sessions_where])
                found.update(_grouped_values(
                    cur, "conversions c JOIN sessions s ON s.session_id = c.session_id", "c", conversion_names, where, used))
    finally:
        cur.close()
    return found


def _matching_conditions(condition: tuple[str, ...], role: str | None) -> tuple[list[str], list[str]]:
    """WHERE clauses on ``sessions s`` for the window, the role and the filters named in ``condition``.

    The second list holds the conversion filters as one ``IN`` clause on the session.
    """
    session_clauses = ["s.started_at BETWEEN $start AND $end"]
    if role is not None:
        session_clauses.append(f"s.{role}")
    matches = []
    for name in condition:
        table, column = FILTER_COLUMNS[name]
        if table == "sessions":
            session_clauses.append(f"s.{column} = $v_{name}")
        else:
            matches.append(f"c.{column} = $v_{name}")
    conversion_clauses = []
    if matches:
        conversion_clauses.append(
            "s.session_id IN (SELECT c.session_id FROM conversions c WHERE " + " AND ".join(matches) + ")"
        )
    return session_clauses, conversion_clauses


def _grouped_values(
    cur: duckdb.DuckDBPyConnection,
    relation: str,
    alias: str,
    names: list[str],
    where: str,
    bound: Mapping[str, Any],
) -> dict[str, dict[str, int]]:
    """Several filters' values and counts in one pass over ``relation`` (``GROUPING SETS``), most
    frequent first, at most ``bound["limit"]`` each."""
    columns = [f"{alias}.{FILTER_COLUMNS[name][1]}" for name in names]
    rows = cur.execute(
        f"SELECT {', '.join(columns)}, {', '.join(f'grouping({column})' for column in columns)}, count(*) "
        f"FROM {relation} WHERE {where} GROUP BY GROUPING SETS ({', '.join(f'({column})' for column in columns)})",
        {key: value for key, value in bound.items() if key != "limit"},
    ).fetchall()
    per_filter: dict[str, list[tuple[str, int]]] = {name: [] for name in names}
    width = len(names)
    for row in rows:
        for index, name in enumerate(names):
            value = row[index]
            if row[width + index] == 0 and value is not None and value != "":
                per_filter[name].append((_text(value), _count(row[-1])))
    limit = int(bound["limit"])
    found = {}
    for name, values in per_filter.items():
        values.sort(key=lambda item: (-item[1], item[0]))
        found[name] = dict(values[:limit])
    return found


def filter_choices(
    stored: Mapping[str, FilterValues], matching: Mapping[str, Mapping[str, int]]
) -> dict[str, FilterChoices]:
    """Each filter's values to offer: :func:`matching_values` first, then the other stored values."""
    choices = {}
    for name, values in stored.items():
        found = dict(matching.get(name, {}))
        others = tuple(value for value in values.values if value not in found)
        unit = "session" if FILTER_COLUMNS[name][0] == "sessions" else "conversion"
        choices[name] = FilterChoices(found, others, max(values.distinct, len(found)), unit)
    return choices


def session_span(con: duckdb.DuckDBPyConnection) -> SessionSpan | None:
    """The earliest and latest stored ``started_at`` in the supported years; ``None`` when there is none."""
    cur = cursor(con)
    try:
        first, last = cur.execute("SELECT min(started_at), max(started_at) FROM sessions").fetchone()
        if first is None or (_moment(first) is not None and _moment(last) is not None):
            outside = 0  # every start is in the supported years: no need to read them all
        else:
            first, last, outside = cur.execute(
                f"""
                SELECT min(started_at) FILTER (WHERE {_SUPPORTED}),
                       max(started_at) FILTER (WHERE {_SUPPORTED}),
                       count(*) FILTER (WHERE NOT ({_SUPPORTED}))
                FROM sessions
                """
            ).fetchone()
    finally:
        cur.close()
    first, last = _moment(first), _moment(last)
    if first is None or last is None:
        return None
    return SessionSpan(first, last, _count(outside))


def store_summary(con: duckdb.DuckDBPyConnection, load_limit: int = 20) -> StoreSummary:
    """Row counts, the span of session starts, sessions per channel and the latest loads."""
    cur = cursor(con)
    try:
        sessions, conversions, users, converted = cur.execute(
            """
            SELECT (SELECT count(*) FROM sessions),
                   (SELECT count(*) FROM conversions),
                   (SELECT count(*) FROM users),
                   (SELECT count(*) FROM users WHERE is_converted)
            """
        ).fetchone()
        channels = cur.execute(
            "SELECT channel, count(*) AS stored FROM sessions GROUP BY channel ORDER BY stored DESC, channel"
        ).fetchall()
        loads = cur.execute(
            """
            SELECT loaded_at, sessions_files, conversions_files, sessions_rows, conversions_rows, replaced
            FROM loads
            ORDER BY loaded_at DESC
            LIMIT $limit
            """,
            {"limit": load_limit},
        ).fetchall()
    finally:
        cur.close()
    span = session_span(con)
    return StoreSummary(
        sessions=_count(sessions),
        conversions=_count(conversions),
        users=_count(users),
        converted_users=_count(converted),
        first_session_at=span.first if span else None,
        last_session_at=span.last if span else None,
        channels=tuple((_text(channel), _count(count)) for channel, count in channels),
        loads=tuple(
            StoredLoad(_moment(loaded_at), _optional_text(sessions_files), _optional_text(conversions_files),
                       _count(s_rows), _count(c_rows), bool(replaced))
            for loaded_at, sessions_files, conversions_files, s_rows, c_rows, replaced in loads
        ),
        outside_sessions=span.outside if span else _outside_sessions(con),
    )


def _outside_sessions(con: duckdb.DuckDBPyConnection) -> int:
    """Sessions whose start is outside the supported years (for a store that holds no other)."""
    cur = cursor(con)
    try:
        return _count(cur.execute(f"SELECT count(*) FILTER (WHERE NOT ({_SUPPORTED})) FROM sessions").fetchone()[0])
    finally:
        cur.close()


def _filter_column(name: str) -> tuple[str, str]:
    if name not in FILTER_COLUMNS:
        raise ValueError(f"not a filter parameter: {name!r} (filters: {', '.join(FILTER_COLUMNS)})")
    return FILTER_COLUMNS[name]


def _moment(value: object) -> datetime | None:
    """A stored timestamp as a datetime; ``None`` for one Python cannot hold (DuckDB hands those over as text)."""
    if isinstance(value, datetime) and EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        return value
    return None


def _count(value: object) -> int:
    """A stored count as an int; anything unreadable counts as 0."""
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return 0


def _text(value: object) -> str:
    return value if isinstance(value, str) else str(value)


def _optional_text(value: object) -> str | None:
    return None if value is None else _text(value)
