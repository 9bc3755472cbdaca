"""What a store holds, for interfaces that describe the data rather than measure it.

The dashboard needs facts that are not SPEC 4 metrics: the exact stored
values each SPEC 3 filter can match (for its type-to-search list), the span
of the stored sessions (to notice a window that misses the data), and a
summary of the store (row counts, channels, the load log). They live here,
next to the schema, so interfaces only render. Every function takes a
connection from :func:`insights_core.connect`, uses its own cursor and binds
every value; column names come from fixed allowlists, never from user text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Mapping

import duckdb

from .compute import SESSION_FILTER_COLUMNS
from .params import CONVERSION_FILTERS, SESSION_FILTERS
from .store import cursor

FILTER_COLUMNS: Mapping[str, tuple[str, str]] = {
    **{name: ("sessions", column) for name, column in SESSION_FILTER_COLUMNS.items()},
    **{name: ("conversions", name) for name in CONVERSION_FILTERS},
}
"""SPEC 3 filter parameter -> (table, column) it is matched against."""

DEFAULT_VALUE_LIMIT = 1_000
"""How many values :func:`filter_values` returns per filter unless told otherwise."""


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
class StoredLoad:
    """One row of the load log."""

    loaded_at: datetime
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

    @property
    def last_load(self) -> StoredLoad | None:
        return self.loads[0] if self.loads else None


def filter_values(
    con: duckdb.DuckDBPyConnection, name: str, limit: int = DEFAULT_VALUE_LIMIT
) -> FilterValues:
    """The exact stored values a SPEC 3 filter can match, most frequent first (ties by value).

    ``name`` is a filter parameter (``source``, ``meta_type``, …); session
    filters count sessions, conversion filters count conversions. At most
    ``limit`` values are returned; ``distinct`` says how many there are.
    """
    if name not in FILTER_COLUMNS:
        raise ValueError(f"not a filter parameter: {name!r} (filters: {', '.join(FILTER_COLUMNS)})")
    table, column = FILTER_COLUMNS[name]
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
        if not rows:
            return FilterValues((), 0)
        return FilterValues(tuple(row[0] for row in rows), int(rows[0][1]))
    finally:
        cur.close()


def all_filter_values(
    con: duckdb.DuckDBPyConnection, limit: int = DEFAULT_VALUE_LIMIT
) -> dict[str, FilterValues]:
    """:func:`filter_values` for every SPEC 3 filter, by parameter name, in SPEC order."""
    return {name: filter_values(con, name, limit) for name in (*SESSION_FILTERS, *CONVERSION_FILTERS)}


def session_span(con: duckdb.DuckDBPyConnection) -> tuple[datetime, datetime] | None:
    """The earliest and latest stored ``started_at`` (naive UTC), or ``None`` for an empty store."""
    cur = cursor(con)
    try:
        first, last = cur.execute("SELECT min(started_at), max(started_at) FROM sessions").fetchone()
    finally:
        cur.close()
    if first is None:
        return None
    return first, last


def store_summary(con: duckdb.DuckDBPyConnection, load_limit: int = 20) -> StoreSummary:
    """Row counts, the span of session starts, sessions per channel and the latest loads."""
    cur = cursor(con)
    try:
        sessions, conversions, users, converted, first, last = cur.execute(
            """
            SELECT (SELECT count(*) FROM sessions),
                   (SELECT count(*) FROM conversions),
                   (SELECT count(*) FROM users),
                   (SELECT count(*) FROM users WHERE is_converted),
                   (SELECT min(started_at) FROM sessions),
                   (SELECT max(started_at) FROM sessions)
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
    return StoreSummary(
        sessions=int(sessions),
        conversions=int(conversions),
        users=int(users),
        converted_users=int(converted),
        first_session_at=first,
        last_session_at=last,
        channels=tuple((channel, int(count)) for channel, count in channels),
        loads=tuple(
            StoredLoad(loaded_at, sessions_files, conversions_files, int(s_rows), int(c_rows), bool(replaced))
            for loaded_at, sessions_files, conversions_files, s_rows, c_rows, replaced in loads
        ),
    )
