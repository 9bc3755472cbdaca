"""Moving what older stores kept inside the analytics data into the settings file.

Stores of schema 2 held API keys in an ``api_keys`` table. Keys now live in
the settings file beside the store (docs/architecture.md#settings-file), so
``apikey create`` and ``revoke`` never rewrite the store. The migration that
upgrades such a store (docs/architecture.md#migrations) calls
:func:`move_api_keys` before a later one drops the table.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from .keys import add_entries
from .settings import SettingsFile


def move_api_keys(con: duckdb.DuckDBPyConnection, store_path: str | Path) -> int:
    """Copy the rows of the store's ``api_keys`` table into the settings file beside ``store_path``.

    ``con`` is a connection to the store (or its working copy) with the
    store selected; ``store_path`` is the live store's path, which names the
    settings file. Keys already in the settings file are left as they are
    (a revocation recorded in either place stands), so running it twice
    changes nothing. A store without the table is fine. Returns the number
    of keys added. The table itself is left alone.
    """
    has_table = con.execute(
        "SELECT count(*) FROM duckdb_tables()"
        " WHERE database_name = current_database() AND schema_name = current_schema() AND table_name = 'api_keys'"
    ).fetchone()[0]
    if not has_table:
        return 0
    rows = con.execute(
        "SELECT name, key_hash, created_at, revoked_at FROM api_keys ORDER BY created_at, name"
    ).fetchall()
    entries = [{"name": name, "key_hash": key_hash, "created_at": created_at, "revoked_at": revoked_at}
               for name, key_hash, created_at, revoked_at in rows]
    return add_entries(SettingsFile(Path(store_path)), entries)
