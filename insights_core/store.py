"""The DuckDB store: schema, opening a database file, and cursors.

A store is one DuckDB file holding the loaded sessions and conversions
(SPEC 1) together with everything a query never changes, precomputed at load
time: effective source/medium/channel (SPEC 2), each session's place in its
user's timeline and its roles (SPEC 3.3), per-user facts and per-user-channel
facts (SPEC 4). Queries are then filters and aggregates.

The file is attached to an in-memory DuckDB instance under the name
``store`` rather than opened directly: DuckDB caches open instances by path,
so a reader that reopens a file replaced on disk would otherwise be handed
the old one.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

SCHEMA_VERSION = "2"
CATALOG = "store"

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS store_info (
    key VARCHAR NOT NULL,
    value VARCHAR NOT NULL
);

-- SPEC 1.1 as loaded, plus what SPEC 2 and 3.3 derive from it.
CREATE TABLE IF NOT EXISTS sessions (
    session_id VARCHAR NOT NULL,
    user_id VARCHAR NOT NULL,
    user_key INTEGER NOT NULL,              -- the user's number in this store (see users)
    started_at TIMESTAMP NOT NULL,          -- UTC
    exited_at TIMESTAMP,                    -- UTC
    landing_page VARCHAR,
    referrer VARCHAR,
    utm_source VARCHAR,                     -- effective: the column, else the landing page query string
    utm_medium VARCHAR,
    utm_campaign VARCHAR,
    utm_content VARCHAR,
    utm_term VARCHAR,
    source VARCHAR NOT NULL,                -- SPEC 2, after UTM overrides
    medium VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,               -- medium || '/' || source
    timeline_position INTEGER NOT NULL,     -- 1-based, by (started_at, session_id) within the user
    is_first BOOLEAN NOT NULL,
    is_converting BOOLEAN NOT NULL,
    is_assist BOOLEAN NOT NULL,
    is_after BOOLEAN NOT NULL,
    is_attributed BOOLEAN NOT NULL,         -- at or before the user's first converting session
    first_converted_at TIMESTAMP,           -- earliest conversion in this session
    duration_us BIGINT,                     -- exited_at - started_at
    conversion_delay_us BIGINT              -- first_converted_at - started_at
);

-- SPEC 1.2 as loaded; user_id is the session's user, denormalised.
CREATE TABLE IF NOT EXISTS conversions (
    conversion_id VARCHAR NOT NULL,
    session_id VARCHAR NOT NULL,
    user_id VARCHAR NOT NULL,
    converted_at TIMESTAMP NOT NULL,
    conversion_page VARCHAR,
    meta_type VARCHAR,
    meta_id VARCHAR
);

-- One row per user: the SPEC 4.1 and 4.3 facts. user_key numbers the users so that
-- a query's cohort is a set of integers, cheaper to collect and join than the ids.
CREATE TABLE IF NOT EXISTS users (
    user_id VARCHAR NOT NULL,
    user_key INTEGER NOT NULL,
    session_count INTEGER NOT NULL,
    is_converted BOOLEAN NOT NULL,
    first_session_started_at TIMESTAMP NOT NULL,
    first_conversion_at TIMESTAMP,
    time_to_convert_us BIGINT               -- first_conversion_at - first_session_started_at
);

-- One row per (user, channel) the user touched: the SPEC 4.4 facts.
CREATE TABLE IF NOT EXISTS user_channels (
    user_key INTEGER NOT NULL,
    channel VARCHAR NOT NULL,
    sessions INTEGER NOT NULL,
    is_converted BOOLEAN NOT NULL,
    first_touch BOOLEAN NOT NULL,
    assist_touch BOOLEAN NOT NULL,
    converting_touch BOOLEAN NOT NULL,
    after_touch BOOLEAN NOT NULL,
    attributed BOOLEAN NOT NULL
);

-- The user's own known-host rows (SPEC 2.3), applied on every load.
CREATE TABLE IF NOT EXISTS channel_rules (
    host VARCHAR NOT NULL,
    medium VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS loads (
    loaded_at TIMESTAMP NOT NULL,
    sessions_files VARCHAR,
    conversions_files VARCHAR,
    sessions_rows BIGINT NOT NULL,
    conversions_rows BIGINT NOT NULL,
    replaced BOOLEAN NOT NULL
);

CREATE TABLE IF NOT EXISTS api_keys (
    name VARCHAR NOT NULL,
    key_hash VARCHAR NOT NULL,              -- sha256 hex of the key; the key itself is never stored
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
"""


class StoreError(Exception):
    """A database file that cannot be opened as an Insights store."""


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (and, when new and writable, create) the store at ``path`` (SPEC 5).

    The returned connection has the store attached as ``store`` and selected;
    use :func:`cursor` for a per-thread cursor on it.
    """
    path = Path(path)
    if read_only and not path.exists():
        raise StoreError(
            f"no database at {path}: create one with 'insights load' or 'insights demo'"
        )
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET GLOBAL TimeZone = 'UTC'")
        mode = " (READ_ONLY)" if read_only else ""
        con.execute(f"ATTACH ? AS {CATALOG}{mode}", [str(path)])
        con.execute(f"USE {CATALOG}")
        if not read_only:
            _create_schema(con)
        _check_schema(con, path)
    except duckdb.Error as error:
        con.close()
        raise StoreError(f"cannot open {path} as an Insights database: {error}") from None
    except StoreError:
        con.close()
        raise
    return con


def cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A new cursor on a connection from :func:`connect`, with the store selected.

    DuckDB connections are not thread-safe; every thread (request, Streamlit
    session, download callback) takes its own cursor.
    """
    cur = con.cursor()
    cur.execute(f"USE {CATALOG}")
    return cur


def _create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create missing tables and stamp the schema version on a new store."""
    con.execute(SCHEMA_SQL)
    if not con.execute("SELECT 1 FROM store_info WHERE key = 'schema_version'").fetchall():
        con.execute("INSERT INTO store_info VALUES ('schema_version', ?)", [SCHEMA_VERSION])


def _check_schema(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Refuse a file written by another schema version instead of misreading it."""
    try:
        rows = con.execute("SELECT value FROM store_info WHERE key = 'schema_version'").fetchall()
    except duckdb.CatalogException:
        rows = []
    if rows != [(SCHEMA_VERSION,)]:
        found = rows[0][0] if rows else "none"
        raise StoreError(
            f"{path} is not an Insights database of schema version {SCHEMA_VERSION} (found {found});"
            " load your files into a new database"
        )
