"""SQL engines behind one seam: :class:`Query`, :class:`Dialect`, :class:`Engine` (docs/architecture.md#engines).

The metrics accept either an :class:`Engine` or, as they always have, a DuckDB
connection from :func:`insights_core.connect`; :func:`engine_for` turns
whichever they are given into an engine.
"""

from __future__ import annotations

from typing import Any

from duckdb import DuckDBPyConnection  # not `import duckdb`: the submodule .duckdb takes that name here

from .base import Dialect, Engine, Query
from .duckdb import DUCKDB, DuckDBDialect, DuckDBEngine

__all__ = ["DUCKDB", "Dialect", "DuckDBDialect", "DuckDBEngine", "Engine", "Query", "engine_for"]


def engine_for(source: Engine | DuckDBPyConnection | Any) -> Engine:
    """``source`` as an engine: an engine as it is, a DuckDB store connection wrapped in :class:`DuckDBEngine`."""
    if isinstance(source, DuckDBPyConnection):
        return DuckDBEngine(source)
    if isinstance(source, Engine):
        return source
    raise TypeError(f"expected a DuckDB connection from insights_core.connect() or an Engine, got {type(source).__name__}")
