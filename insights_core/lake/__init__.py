"""The lake: the store's tables as versioned Parquet at a path or object-store URI (docs/scale.md#the-lake).

Layout (``LAKE`` is a local path, ``file://…``, ``s3a://bucket/prefix``, ``gs://…``)::

    LAKE/_current.json                     the pointer: which version readers use (written last)
    LAKE/_lock                             local lakes: held by the one load that writes
    LAKE/versions/v00000007-1a2b3c4d/      one complete version of every table
        _manifest.json                     written when the tables are complete: rows per table, schema
        sessions/started_month=2025-07/part-….parquet
        conversions/converted_month=2025-07/part-….parquet
        users/  user_channels/  touchpoints/  channel_rules/  …   part-….parquet

A load writes a new version directory beside the others, writes its
manifest, then replaces the pointer (a temporary file renamed over
``_current.json``; on an object store one object written whole). Readers
read the pointer before each query, so they switch versions between
queries, never inside one. A load that fails or is killed never reaches
the pointer: readers stay on the previous version, and the next load
removes what it left. The previous :data:`KEPT_VERSIONS` versions stay for
queries that started on them.

The tables and their columns are the store's (``insights_core.store``),
minus what is not analytics data (the schema stamp, which the manifest
carries, and API keys, which live in the settings file). Files are read
and written by Spark (or by DuckDB, :func:`copy_store`); this module only
names them and moves the pointer, through PyArrow's file systems.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import duckdb

from ..engines.spark import ParquetTable, Tables
from ..storefile import lock_exclusively

LAKE_FORMAT = 1
"""The layout's own version, in the pointer and every manifest."""

POINTER = "_current.json"
MANIFEST = "_manifest.json"
LOCK = "_lock"
VERSIONS = "versions"

KEPT_VERSIONS = 3
"""Committed versions kept: the current one and the two before it, for queries still reading them."""

ABANDONED_AFTER_SECONDS = 24 * 3600
"""On an object store (no lock), an unpublished version this old is a dead load's and is removed."""

PARTITIONS: Mapping[str, tuple[str, str]] = {
    "sessions": ("started_month", "started_at"),
    "conversions": ("converted_month", "converted_at"),
}
"""Partitioned tables: (directory column ``YYYY-MM``, the timestamp whose month it is)."""

NOT_IN_LAKE = frozenset({"store_info", "api_keys"})
"""Store tables that are not analytics data: the schema stamp (in the manifest) and API keys (settings file)."""

_SPARK_TYPES = {
    "VARCHAR": "string", "INTEGER": "int", "BIGINT": "bigint", "BOOLEAN": "boolean",
    "TIMESTAMP": "timestamp_ntz", "DOUBLE": "double", "DATE": "date",
}
_VERSION_NAME = re.compile(r"^v(\d{8})-[0-9a-f]{8}$")


class LakeError(Exception):
    """A lake that cannot be used: no data yet, another layout or schema, an unreadable pointer."""


# --- the tables -----------------------------------------------------------------------------


@cache
def lake_tables() -> dict[str, tuple[tuple[str, str], ...]]:
    """Every lake table's columns (name, Spark SQL type) in the store's order: the store's schema, by construction."""
    from ..store.schema import TABLES

    con = duckdb.connect(":memory:")
    try:
        tables = {}
        for name, create in TABLES.items():
            if name in NOT_IN_LAKE:
                continue
            con.execute(create)
            columns = con.execute(f'DESCRIBE "{name}"').fetchall()
            tables[name] = tuple((column[0], _spark_type(column[1])) for column in columns)
        return tables
    finally:
        con.close()


def schema_version() -> str:
    """The store schema the lake's tables follow."""
    from ..store import SCHEMA_VERSION

    return str(SCHEMA_VERSION)


def _spark_type(duckdb_type: str) -> str:
    if duckdb_type.startswith("DECIMAL"):
        return duckdb_type.lower()
    return _SPARK_TYPES[duckdb_type]


# --- locations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Location:
    """Where a lake is: the URI Spark reads and writes, and the same place for PyArrow's file system."""

    uri: str
    """For Spark: ``file:///abs/path`` for a local lake, else the URI as given (``s3a://…``)."""
    filesystem: Any
    path: str
    """For the file system: an absolute local path, or ``bucket/prefix``."""

    @property
    def local(self) -> bool:
        return self.uri.startswith("file://")

    def child(self, *parts: str) -> Location:
        return Location("/".join([self.uri.rstrip("/"), *parts]), self.filesystem, "/".join([self.path.rstrip("/"), *parts]))


def locate(uri: str) -> Location:
    """A lake's location from a path, ``file://`` URI or object-store URI.

    ``s3a://`` and ``s3n://`` (Hadoop's names, which Spark uses) are S3 for
    PyArrow; ``gs://``, ``hdfs://`` and ``abfs://`` are passed on as they are.
    """
    from pyarrow import fs as pafs

    text = str(uri).strip()
    if not text:
        raise LakeError("no lake given: --lake takes a path or a URI such as s3a://bucket/insights")
    if "://" not in text or text.startswith("file://"):
        path = text[len("file://"):] if text.startswith("file://") else text
        absolute = os.path.abspath(os.path.expanduser(path))
        return Location("file://" + absolute, pafs.LocalFileSystem(), absolute)
    scheme, rest = text.split("://", 1)
    arrow_uri = f"s3://{rest}" if scheme in ("s3a", "s3n") else text
    try:
        filesystem, path = pafs.FileSystem.from_uri(arrow_uri)
    except Exception as error:  # noqa: BLE001 - PyArrow raises several types for unsupported schemes
        raise LakeError(f"cannot open the lake {text}: {error}") from None
    return Location(text.rstrip("/"), filesystem, path.rstrip("/"))


# --- versions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LakeVersion:
    """One published version: its directory name and manifest."""

    name: str
    number: int
    manifest: Mapping[str, Any]


class Lake:
    """A lake at ``uri``: its current version for readers, new versions for the one writer."""

    def __init__(self, uri: str | os.PathLike[str]) -> None:
        self.location = locate(str(uri))
        self._manifests: dict[str, Mapping[str, Any]] = {}

    @property
    def uri(self) -> str:
        return self.location.uri

    def __repr__(self) -> str:
        return f"Lake({self.uri!r})"

    # -- reading

    def current(self) -> LakeVersion | None:
        """The version the pointer names, or None for a lake nobody has loaded yet."""
        text = _read_text(self.location.filesystem, self.location.child(POINTER).path)
        if text is None:
            return None
        try:
            pointer = json.loads(text)
            name = pointer["current"]
        except (ValueError, KeyError, TypeError):
            raise LakeError(f"{self.uri}/{POINTER} is not an Insights lake pointer") from None
        if pointer.get("insights_lake") != LAKE_FORMAT or not _VERSION_NAME.match(str(name)):
            raise LakeError(f"{self.uri} is a lake of another layout ({POINTER}: {text.strip()[:200]})")
        return LakeVersion(name, int(name[1:9]), self._manifest(name))

    def _manifest(self, name: str) -> Mapping[str, Any]:
        if name not in self._manifests:  # a published manifest never changes
            text = _read_text(self.location.filesystem, self.location.child(VERSIONS, name, MANIFEST).path)
            if text is None:
                raise LakeError(f"{self.uri}: version {name} has no manifest; the lake was changed by hand")
            self._manifests[name] = json.loads(text)
        return self._manifests[name]

    def tables(self) -> Tables:
        """The current version's tables, for :class:`~insights_core.engines.spark.SparkEngine`."""
        version = self.current()
        if version is None:
            raise LakeError(f"no data in the lake {self.uri} yet: load some with 'insights load --engine spark'")
        found = str(version.manifest.get("schema_version"))
        if found != schema_version():
            raise LakeError(
                f"{self.uri} holds tables of store schema {found}, this version of Insights reads schema"
                f" {schema_version()}; load your files into a new lake"
            )
        counts = version.manifest["tables"]
        directory = self.location.child(VERSIONS, version.name)
        return Tables(version.name, {
            name: ParquetTable(directory.child(name).uri, columns, int(counts[name]["rows"]))
            for name, columns in lake_tables().items()
        })

    # -- writing

    @contextmanager
    def writing(self, waiting: Callable[[], None] | None = None) -> Iterator[Draft]:
        """A new version to fill; published when the block ends without an error, removed otherwise.

        A local lake is locked for the block (a second writer waits, and
        ``waiting`` is called once); on an object store there is no lock, so
        run one load at a time (docs/scale.md#the-lake).
        """
        with self._locked(waiting):
            self.clean()
            current = self.current()
            number = (current.number if current else 0) + 1
            draft = Draft(self, f"v{number:08d}-{uuid.uuid4().hex[:8]}", number, current)
            try:
                yield draft
                if not draft.published:
                    draft.publish()
            except BaseException:
                self._remove(self.location.child(VERSIONS, draft.name).path)
                raise
            self.clean()

    @contextmanager
    def _locked(self, waiting: Callable[[], None] | None) -> Iterator[None]:
        if not self.location.local:
            yield
            return
        Path(self.location.path).mkdir(parents=True, exist_ok=True)
        lock_path = Path(self.location.path) / LOCK
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            lock_exclusively(descriptor, waiting)
            yield
        finally:
            os.close(descriptor)

    def clean(self) -> None:
        """Remove old versions (all but the :data:`KEPT_VERSIONS` newest published) and dead loads' drafts."""
        current = self.current()
        if current is None:
            newest = 0
        else:
            newest = current.number
        from pyarrow import fs as pafs

        directory = self.location.child(VERSIONS)
        try:
            entries = self.location.filesystem.get_file_info(pafs.FileSelector(directory.path, allow_not_found=True))
        except OSError:
            return
        for entry in entries:
            match = _VERSION_NAME.match(entry.base_name)
            if entry.type != pafs.FileType.Directory or not match:
                continue
            number = int(match.group(1))
            published = number <= newest and _read_text(
                self.location.filesystem, f"{entry.path}/{MANIFEST}"
            ) is not None
            if published and number > newest - KEPT_VERSIONS:
                continue
            running_elsewhere = number > newest and _age_seconds(entry) < ABANDONED_AFTER_SECONDS
            if not published and not self.location.local and running_elsewhere:
                continue  # perhaps another load's, still running: object stores have no lock
            self._remove(entry.path)

    def _remove(self, path: str) -> None:
        try:
            self.location.filesystem.delete_dir(path)
        except FileNotFoundError:
            pass

    def _publish(self, draft: Draft, manifest: Mapping[str, Any]) -> None:
        filesystem = self.location.filesystem
        directory = self.location.child(VERSIONS, draft.name)
        _write_text(filesystem, directory.child(MANIFEST).path, json.dumps(manifest, indent=2) + "\n")
        pointer = {"insights_lake": LAKE_FORMAT, "current": draft.name}
        target = self.location.child(POINTER).path
        temporary = self.location.child(f".{POINTER}.{uuid.uuid4().hex[:8]}.tmp").path
        _write_text(filesystem, temporary, json.dumps(pointer) + "\n")
        filesystem.move(temporary, target)  # a rename locally; one object written whole on a store
        if self.location.local:
            _fsync_directory(self.location.path)


@dataclass
class Draft:
    """A version being written: where each table goes; :meth:`publish` makes it the current one."""

    lake: Lake
    name: str
    number: int
    previous: LakeVersion | None
    published: bool = False

    def table_uri(self, table: str) -> str:
        """Where Spark writes ``table`` (a directory of Parquet files)."""
        return self.lake.location.child(VERSIONS, self.name, table).uri

    def table_path(self, table: str) -> str:
        """The same directory for the file system (local lakes: a path)."""
        return self.lake.location.child(VERSIONS, self.name, table).path

    def previous_tables(self) -> Tables | None:
        """The tables of the version this one follows (None for the first load)."""
        return self.lake.tables() if self.previous is not None else None

    def publish(self, rows: Mapping[str, int] | None = None, **facts: Any) -> None:
        """Write the manifest (rows per table, and ``facts``) and switch readers to this version."""
        manifest = {
            "insights_lake": LAKE_FORMAT,
            "schema_version": schema_version(),
            "version": self.number,
            "name": self.name,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "previous": self.previous.name if self.previous else None,
            "tables": {
                table: {"rows": int((rows or {}).get(table, 0)), **(
                    {"partitioned_by": PARTITIONS[table][0]} if table in PARTITIONS else {}
                )}
                for table in lake_tables()
            },
            **facts,
        }
        self.lake._publish(self, manifest)
        self.published = True


# --- a DuckDB store into a lake ---------------------------------------------------------------


def copy_store(con: duckdb.DuckDBPyConnection, lake: Lake) -> LakeVersion:
    """Write a store's tables as a new version of a local lake, with DuckDB (no Spark needed).

    How an existing store moves to Spark, and how tests give Spark and
    DuckDB the very same rows. ``con`` is a connection from
    :func:`insights_core.connect`.
    """
    if not lake.location.local:
        raise LakeError(f"copying a store into {lake.uri} needs a local lake; copy the directory up afterwards")
    with lake.writing() as draft:
        rows: dict[str, int] = {}
        for table, columns in lake_tables().items():
            names = ", ".join(f'"{name}"' for name, _ in columns)
            (rows[table],) = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()
            target = draft.table_path(table)
            os.makedirs(target, exist_ok=True)
            if table in PARTITIONS and rows[table]:
                column, timestamp = PARTITIONS[table]
                con.execute(
                    f"COPY (SELECT {names}, strftime({timestamp}, '%Y-%m') AS {column} FROM \"{table}\")"
                    f" TO '{_sql_text(target)}' (FORMAT parquet, PARTITION_BY ({column}), OVERWRITE_OR_IGNORE)"
                )
            elif rows[table]:
                con.execute(
                    f"COPY (SELECT {names} FROM \"{table}\") TO '{_sql_text(target + '/part-0.parquet')}'"
                    " (FORMAT parquet)"
                )
        draft.publish(rows, written_by="copy_store")
    version = lake.current()
    assert version is not None
    return version


def lake_duckdb(lake: Lake) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB whose tables (in the catalog ``store``, as :func:`insights_core.connect` names it) are
    views over the current version's Parquet files: how the dashboard's filter menus and data summary
    (``insights_core.catalog``) read a local lake without Spark.
    """
    from ..store.connection import CATALOG, new_engine
    from ..store.schema import TABLES

    if not lake.location.local:
        raise LakeError(f"{lake.uri}: the dashboard reads filter values from a local lake only; copy it to a path")
    tables = lake.tables()
    con = new_engine()
    try:
        con.execute(f"ATTACH ':memory:' AS {CATALOG}")
        con.execute(f"USE {CATALOG}")
        for name, table in tables.tables.items():
            names = ", ".join(f'"{column}"' for column, _ in table.columns)
            if table.rows:
                files = _sql_text(table.uri[len("file://"):] + "/**/*.parquet")
                con.execute(
                    f'CREATE VIEW "{name}" AS SELECT {names}'
                    f" FROM read_parquet('{files}', hive_partitioning = false, union_by_name = true)"
                )
            else:
                con.execute(TABLES[name])
        return con
    except BaseException:
        con.close()
        raise


def _sql_text(text: str) -> str:
    return text.replace("'", "''")


# --- small file-system helpers -----------------------------------------------------------------


def _read_text(filesystem: Any, path: str) -> str | None:
    try:
        with filesystem.open_input_stream(path) as stream:
            return stream.read().decode("utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        if "not found" in str(error).lower() or "no such file" in str(error).lower():
            return None
        raise


def _write_text(filesystem: Any, path: str, text: str) -> None:
    """Write a small file whole; a local one is flushed to disk before it is renamed into place."""
    from pyarrow import fs as pafs

    filesystem.create_dir(path.rsplit("/", 1)[0], recursive=True)
    if isinstance(filesystem, pafs.LocalFileSystem):
        with open(path, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        return
    with filesystem.open_output_stream(path) as stream:
        stream.write(text.encode("utf-8"))


def _fsync_directory(path: str) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _age_seconds(entry: Any) -> float:
    modified = entry.mtime
    if modified is None:
        return 0.0  # object stores keep no time for a "directory": count it as young
    return time.time() - modified.timestamp()
