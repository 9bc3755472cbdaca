"""The DuckDB engine: queries against an Insights store file (docs/architecture.md#engines).

:class:`DuckDBEngine` wraps a connection from :func:`insights_core.connect`
and runs every query on a cursor of its own, so one engine serves many
threads (API requests, dashboard sessions) at once, as the store's connection
always has. DuckDB returns Python values already (``HUGEINT`` sums as
``int``, structs as ``dict``, lists as ``list``), so rows need no conversion.
"""

from __future__ import annotations

import threading
from typing import Any, Mapping, Sequence

import duckdb

from ..store import cursor
from .base import Dialect, Query


class DuckDBDialect(Dialect):
    """DuckDB's spelling of the engine-specific pieces."""

    name = "duckdb"

    def parameter(self, name: str) -> str:
        return f"${name}"

    def exact_median(self, expression: str) -> str:
        # DuckDB's median of integers is the exact mean of the two middle values for an even count.
        return f"median({expression})"

    def ordered_list(self, element: str, order_by: Sequence[str]) -> str:
        return f"coalesce(list({element} ORDER BY {', '.join(order_by)}) FILTER (WHERE {element} IS NOT NULL), [])"

    def struct(self, fields: Mapping[str, str]) -> str:
        return "{" + ", ".join(f"'{name}': {expression}" for name, expression in fields.items()) + "}"

    def common_table(self, name: str, body: str, *, materialized: bool = False) -> str:
        return f"{name} AS {'MATERIALIZED ' if materialized else ''}(\n{body}\n)"

    def scaled_quotient(self, numerator: str, scale: int, denominator: str) -> str:
        return f"(CAST({numerator} AS HUGEINT) * {int(scale)} // {denominator})"

    def microseconds_between(self, earlier: str, later: str) -> str:
        return f"date_diff('microsecond', {earlier}, {later})"

    def ordered_concat(self, element: str, order_by: Sequence[str]) -> str:
        return f"string_agg({element}, '' ORDER BY {', '.join(order_by)})"


DUCKDB = DuckDBDialect()
"""The one DuckDB dialect object; dialects hold no state."""


class DuckDBEngine:
    """Runs queries on a store connection, a cursor per query."""

    dialect: Dialect = DUCKDB

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self._running: set[duckdb.DuckDBPyConnection] = set()
        self._lock = threading.Lock()

    def rows(self, query: Query) -> list[dict[str, Any]]:
        """Every row of ``query``, fetched in full before the cursor closes."""
        cur = cursor(self._con)
        with self._lock:
            self._running.add(cur)
        try:
            result = cur.execute(query.sql, dict(query.params))
            names = [column[0] for column in result.description]
            return [dict(zip(names, row)) for row in result.fetchall()]
        finally:
            with self._lock:
                self._running.discard(cur)
            cur.close()

    def interrupt(self) -> None:
        """Interrupt every query running on this engine's cursors; each raises ``duckdb.InterruptException``."""
        with self._lock:
            running = list(self._running)
        for cur in running:
            cur.interrupt()
