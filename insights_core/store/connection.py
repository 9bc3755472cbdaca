"""Opening a store file: recognise it, create it, or upgrade it (docs/architecture.md#the-store-file).

The file is attached to an in-memory DuckDB instance under the name
``store`` rather than opened directly: DuckDB caches open instances by path,
so a reader that reopens a file replaced on disk would otherwise be handed
the old one. Every instance is made without extension autoloading or
autoinstalling, so nothing is ever fetched from the network at run time.

Before anything is written, an existing file is opened read-only and
recognised: an Insights store of this schema version, an older one (upgraded
in place by a writable connection, docs/architecture.md#migrations), an
empty DuckDB file (a new store), or anything else, which is refused and left
byte-for-byte as it was.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import duckdb

from .schema import SCHEMA_VERSION, TABLES

CATALOG = "store"
"""The name the store file is attached under; every query runs with it selected."""

logger = logging.getLogger("insights.store")

ENGINE_CONFIG: dict[str, object] = {
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
}
"""Settings of every DuckDB instance the product opens: no extension is loaded or fetched on demand."""

_REMOTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+:/")  # also s3:/x: pathlib folds the double slash
_WORKING_COPY = re.compile(r"^\.(?P<name>.+)\.\d+\.[0-9a-f]{8}\.tmp$")


class StoreError(Exception):
    """A database file that cannot be opened as an Insights store."""


class SchemaOutdated(StoreError):
    """A read-only open of a store written with an older schema; a writable open upgrades it."""

    def __init__(self, path: Path, found: int) -> None:
        super().__init__(
            f"{path} holds schema {found}; it is upgraded to schema {SCHEMA_VERSION} the next time it is written"
        )
        self.found = found


def directory_error(path: Path) -> StoreError:
    """The one refusal of a directory where a store file was expected (a ``--db`` typo)."""
    return StoreError(f"{path} is a directory, not a database file; name a file, e.g. --db {path / 'insights.duckdb'}")


def is_remote(location: str) -> bool:
    """Whether ``location`` is a URL (``https://``, ``s3://``…) rather than a local path."""
    return bool(_REMOTE.match(location))


def shown_path(path: Path) -> Path:
    """The path a person knows a store by: the live file, not the private working copy a
    writer changes (``.insights.duckdb.123.0a1b2c3d.tmp/insights.duckdb``, see ``StoreFile.edit``)."""
    match = _WORKING_COPY.match(path.parent.name)
    if match and match["name"] == path.name:
        return path.parent.with_name(path.name)
    return path


def new_engine() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB instance with the product's settings: UTC, no extension autoloading."""
    con = duckdb.connect(":memory:", config=dict(ENGINE_CONFIG))
    con.execute("SET GLOBAL TimeZone = 'UTC'")
    return con


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the store at ``path``; a writable open creates a new store or upgrades an older one.

    The returned connection has the store attached as ``store`` and selected;
    use :func:`cursor` for a per-thread cursor on it. Raises
    :class:`StoreError` for a file that is not an Insights store (which is then
    left untouched) and :class:`SchemaOutdated` for a read-only open of an
    older store.
    """
    if is_remote(str(path)):
        raise StoreError(f"remote databases are not supported; use a local file: {path}")
    path = Path(path)
    shown = shown_path(path)
    if path.is_dir():
        raise directory_error(shown)
    exists = path.exists() and path.stat().st_size > 0
    if read_only and not path.exists():
        raise StoreError(f"no database at {shown}: create one with 'insights load' or 'insights demo'")
    con = new_engine()
    try:
        found = _recognise(con, path, shown) if exists else None
        if read_only:
            if found is None:
                raise StoreError(f"not an Insights database: {shown}")
            if found < SCHEMA_VERSION:
                raise SchemaOutdated(shown, found)
            return con
        if exists:
            con.execute("USE memory")
            con.execute(f"DETACH {CATALOG}")
        path.parent.mkdir(parents=True, exist_ok=True)
        _attach(con, path, shown, read_only=False)
        if found is None:
            _create(con)
        elif found < SCHEMA_VERSION:
            from .migrations import upgrade  # the migrations use the loader, which uses this module

            upgrade(con, found, shown)
            logger.warning("upgraded %s from schema %d to schema %d", shown, found, SCHEMA_VERSION)
    except BaseException:
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


def store_path(con: duckdb.DuckDBPyConnection) -> Path:
    """The file behind a connection from :func:`connect` (the working copy, for a writer)."""
    (path,) = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = ?", [CATALOG]
    ).fetchone()
    return Path(path)


def _attach(con: duckdb.DuckDBPyConnection, path: Path, shown: Path, read_only: bool) -> None:
    mode = " (READ_ONLY)" if read_only else ""
    try:
        con.execute(f"ATTACH ? AS {CATALOG}{mode}", [str(path)])
    except duckdb.Error as error:
        if "not a valid DuckDB database file" in str(error) or "database file" in str(error).lower():
            raise StoreError(f"not an Insights database: {shown}") from None
        raise StoreError(f"cannot open {shown}: {_first_line(error)}") from None
    con.execute(f"USE {CATALOG}")


def _recognise(con: duckdb.DuckDBPyConnection, path: Path, shown: Path) -> int | None:
    """The schema version of an existing file, opened read-only; ``None`` for an empty DuckDB file.

    Leaves the file attached read-only. Raises :class:`StoreError` for anything
    that is not an Insights store.
    """
    _attach(con, path, shown, read_only=True)
    tables = {
        name: tuple(columns)
        for name, columns in con.execute(
            "SELECT table_name, list(column_name ORDER BY column_index) FROM duckdb_columns()"
            " WHERE database_name = ? AND NOT internal GROUP BY table_name",
            [CATALOG],
        ).fetchall()
    }
    views = con.execute(
        "SELECT count(*) FROM duckdb_views() WHERE database_name = ? AND NOT internal", [CATALOG]
    ).fetchone()[0]
    if not tables and not views:
        return None
    foreign = StoreError(f"not an Insights database: {shown}")
    if "store_info" not in tables:
        raise foreign
    rows = con.execute("SELECT value FROM store_info WHERE key = 'schema_version'").fetchall()
    if len(rows) != 1 or not str(rows[0][0]).isdigit():
        raise foreign
    found = int(rows[0][0])
    if found > SCHEMA_VERSION:
        raise StoreError(
            f"{shown} was written by a newer Insights (schema {found}; this one reads schema {SCHEMA_VERSION}):"
            " upgrade insights to open it"
        )
    from .migrations import expected_tables

    expected = expected_tables(found)
    if expected is None:
        raise StoreError(
            f"{shown} holds schema {found}, which this Insights cannot upgrade; load your files into a new database"
        )
    if any(tables.get(name) != columns for name, columns in expected.items()):
        raise foreign
    return found


def _create(con: duckdb.DuckDBPyConnection) -> None:
    """The tables of a new store, stamped with the schema version, in one transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        for statement in TABLES.values():
            con.execute(statement)
        con.execute("INSERT INTO store_info VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]
