"""The DuckDB store: its tables, opening it, and upgrading older ones (docs/architecture.md#the-store-file).

``schema`` holds the tables of the current version, ``connection`` opens a
file (creating, recognising or upgrading it), ``migrations`` the numbered
upgrades from older versions (docs/architecture.md#migrations), and
``relations`` the temporary relations a load hands from step to step.
"""

from __future__ import annotations

from .connection import CATALOG, SchemaOutdated, StoreError, connect, cursor, new_engine, shown_path, store_path
from .schema import SCHEMA_VERSION

__all__ = [
    "CATALOG",
    "SCHEMA_VERSION",
    "SchemaOutdated",
    "StoreError",
    "connect",
    "cursor",
    "new_engine",
    "shown_path",
    "store_path",
]
