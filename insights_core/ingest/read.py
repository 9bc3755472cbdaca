"""Reading input files into typed rows (docs/data.md#sessions, docs/data.md#conversions).

A load's input is a CSV or Parquet file, a glob of them, or an in-memory
Arrow table (demo data). :func:`locate` finds the files and checks what can
be checked before reading a row: that each file exists locally, has every
required column once, and (Parquet, Arrow) has columns of usable types.
:func:`typed_rows` is the SQL that reads them as typed columns in one pass,
with a flag per timestamp and value that was given but could not be read;
the loading rules (``rules``) then judge the rows. Rows a CSV parser cannot
split into the header's fields, and text that is not UTF-8, are collected by
DuckDB's reject tables and reported by :func:`unreadable_rows`.

Every message names the file as the user gave it. Column names from a file
only reach SQL when they match a documented column (ASCII letters and
underscores, any case); other columns are never named in SQL.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence, Union

import duckdb

from ..store.connection import is_remote
from ..vocabulary import EARLIEST_YEAR, INPUT_COLUMNS, LATEST_YEAR, REQUIRED_COLUMNS, TIMESTAMP_COLUMNS
from ..wording import counted, quoted
from .report import EXAMPLE_ROWS, LoadError, Violation

if TYPE_CHECKING:
    import pyarrow as pa

Source = Union[str, Path, "pa.Table"]
"""A file path, a glob, or an in-memory Arrow table (demo data)."""

ID_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "sessions": ("session_id", "user_id"),
    "conversions": ("conversion_id", "session_id"),
}
"""Columns holding ids, which must be text or whole numbers in typed files."""

VALUE_COLUMN = "value"
"""The optional amount of a conversion (docs/data.md#conversions)."""

MISSING_COLUMN = "missing required column"
MALFORMED_ROW = "malformed row"
NOT_UTF8 = "not UTF-8 text"

ISO_8601 = (
    r"[+-]?\d{4,}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
    r"(?:Z|[+-](?:0\d|1[0-3])(?::?[0-5]\d)?|[+-]14(?::?00)?)?"
)
"""The timestamp forms a text column may hold (docs/data.md#timestamps): ISO 8601 dates and
times, an optional ``Z`` or offset of at most 14 hours; anything else (``epoch``,
``2026/11/01``, zone names) is unparseable."""

_FORMATS = {".csv": "csv", ".tsv": "csv", ".gz": "csv", ".parquet": "parquet", ".pq": "parquet"}
_DELIMITERS = (",", ";", "\t", "|")
_REJECTS = "load_rejects"
_REJECT_SCANS = "load_reject_scans"
_CSV_READER = (
    "read_csv(?, header = true, auto_detect = false, delim = ?, quote = '\"', escape = '\"', columns = ?,"
    f" store_rejects = true, rejects_table = '{_REJECTS}', rejects_scan = '{_REJECT_SCANS}')"
)
_INTEGER_TYPES = frozenset({
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
    "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT",
})
_NUMBER_TYPES = _INTEGER_TYPES | {"FLOAT", "DOUBLE"}
_TEXT_TYPES = frozenset({"VARCHAR"})
_NESTED = re.compile(r"^(STRUCT|MAP|UNION)\(|\[\d*\]$")
_UNUSABLE = frozenset({"BLOB", "BIT", "UUID", "INTERVAL"})
_SQL_NAME = re.compile(r"^[A-Za-z_]+$")


@dataclass(frozen=True)
class Column:
    """A documented column as one file holds it."""

    name: str
    """The documented name (``session_id``)."""
    sql: str
    """How SQL reads it from the file's reader: a quoted identifier (documented letters only)."""
    data_type: str
    """Its DuckDB type (``VARCHAR`` for every CSV column)."""


@dataclass(frozen=True)
class InputFile:
    """One file (or Arrow table) of an input, inspected but not yet read."""

    label: str
    """The file as the user knows it, for messages and the load log."""
    reader: str
    """SQL table expression reading it, bound to ``parameters``."""
    parameters: tuple[object, ...]
    columns: Mapping[str, Column]
    ignored: tuple[str, ...]
    is_csv: bool = False


@dataclass(frozen=True)
class Input:
    """The located files of one kind of input (``sessions`` or ``conversions``)."""

    kind: str
    files: tuple[InputFile, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(found.label for found in self.files)

    @property
    def ignored(self) -> tuple[str, ...]:
        """Columns of any file that are not documented, each once."""
        return tuple(sorted({name for found in self.files for name in found.ignored}))

    @staticmethod
    def empty(kind: str) -> Input:
        """No input of this kind: reads as no rows."""
        return Input(kind, ())


@dataclass(frozen=True)
class TypedRows:
    """SQL reading an input as typed rows, with its bound parameters."""

    sql: str
    parameters: tuple[object, ...]


# --- locating -------------------------------------------------------------------------------

def locate(cur: duckdb.DuckDBPyConnection, kind: str, source: Source, views: list[str]) -> Input:
    """Find the files of one kind of input and check each before any row is read.

    An Arrow table is registered as a view (its name appended to ``views`` for
    the caller to unregister).
    """
    if _is_arrow_table(source):
        label = f"{kind} (in memory)"
        view = f"arrow_{kind}"
        cur.register(view, source)
        views.append(view)
        types = _describe(cur, f"SELECT * FROM {view}", [], label)
        return Input(kind, (_typed_file(kind, label, view, (), types),))

    pattern = str(source)
    if is_remote(pattern):
        raise LoadError(f"{pattern}: remote files are not supported; download the file first")
    if Path(pattern).is_dir():
        raise LoadError(f"{pattern}: is a directory; give a file or a glob such as {Path(pattern) / '*.csv'}")
    files = [row[0] for row in cur.execute("SELECT file FROM glob(?) ORDER BY file", [pattern]).fetchall()]
    files = [file for file in files if not Path(file).is_dir()]
    if not files:
        raise LoadError(f"{pattern}: no such file ({kind})")
    formats = {_format_of(file) for file in files}
    if len(formats) != 1:
        raise LoadError(f"{pattern}: mixes CSV and Parquet files; load them separately")
    located = [
        _csv_file(kind, file) if _format_of(file) == "csv" else _parquet_file(cur, kind, file) for file in files
    ]
    return Input(kind, tuple(located))


def _is_arrow_table(source: object) -> bool:
    """Whether ``source`` is a pyarrow Table (checked without importing pyarrow for file loads)."""
    return type(source).__module__.startswith("pyarrow") and hasattr(source, "schema")


def _format_of(file: str) -> str:
    """The reader for a file, by its extension."""
    suffix = Path(file).suffix.lower()
    if suffix not in _FORMATS:
        raise LoadError(f"{file}: unsupported file type {suffix or '(none)'}; use .csv or .parquet")
    return _FORMATS[suffix]


def _csv_file(kind: str, file: str) -> InputFile:
    """A CSV file: its header read here, its rows later by DuckDB under the header's names."""
    header, delimiter = _csv_header(kind, file)
    _refuse_duplicates(file, header)
    documented = {name: _documented(kind, name) for name in header}
    _require(kind, file, {documented_name for documented_name in documented.values() if documented_name})
    names = [documented[name] or f"_ignored_{index}" for index, name in enumerate(header)]
    columns = {name: Column(name, f'"{name}"', "VARCHAR") for name in names if not name.startswith("_ignored_")}
    ignored = tuple(name for name in header if documented[name] is None)
    return InputFile(
        file, _CSV_READER, (file, delimiter, {name: "VARCHAR" for name in names}), columns, ignored, is_csv=True
    )


def _csv_header(kind: str, file: str) -> tuple[list[str], str]:
    """The header's field names and the delimiter that separates them.

    The delimiter is a tab for ``.tsv`` files, otherwise the one of ``, ; tab |``
    the header line uses most (a comma when none).
    """
    opener = gzip.open if file.lower().endswith(".gz") else open
    try:
        with opener(file, "rb") as handle:
            line = handle.readline(1 << 20)
    except (OSError, EOFError) as error:
        raise LoadError(f"{file}: cannot read: {getattr(error, 'strerror', None) or error}") from None
    if not line.strip():
        raise LoadError(f"{file}: empty file; the first line must be the header (docs/data.md#{kind})")
    try:
        text = line.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError:
        raise LoadError(f"{file}: {NOT_UTF8} (the header line); save the file as UTF-8") from None
    if file.lower().endswith(".tsv"):
        delimiter = "\t"
    else:
        delimiter = max(_DELIMITERS, key=lambda candidate: (text.count(candidate), candidate == ","))
    return next(csv.reader(io.StringIO(text), delimiter=delimiter)), delimiter


def _parquet_file(cur: duckdb.DuckDBPyConnection, kind: str, file: str) -> InputFile:
    """A Parquet file: its columns and types from its schema."""
    _refuse_duplicates(file, _parquet_top_level_names(cur, file))
    types = _describe(cur, "SELECT * FROM read_parquet(?)", [file], file)
    return _typed_file(kind, file, "read_parquet(?)", (file,), types)


def _parquet_top_level_names(cur: duckdb.DuckDBPyConnection, file: str) -> list[str]:
    """The names of a Parquet file's columns as written (DuckDB renames repeated ones)."""
    try:
        elements = cur.execute("SELECT name, num_children FROM parquet_schema(?)", [file]).fetchall()
    except duckdb.Error as error:
        raise LoadError(f"{file}: cannot read: {_first_line(error)}") from None
    names: list[str] = []
    pending = [elements[0][1] or 0] if elements else []  # children still to visit, per open level
    for name, children in elements[1:]:
        if len(pending) == 1:
            names.append(name)
        pending[-1] -= 1
        if children:
            pending.append(children)
        while len(pending) > 1 and pending[-1] == 0:
            pending.pop()
    return names


def _typed_file(kind: str, label: str, reader: str, parameters: tuple, types: Mapping[str, str]) -> InputFile:
    """A Parquet file or Arrow table: documented columns matched by name, types checked."""
    _refuse_duplicates(label, list(types))
    columns: dict[str, Column] = {}
    ignored = []
    for original, data_type in types.items():
        name = _documented(kind, original)
        if name is None:
            ignored.append(original)
            continue
        _check_type(kind, label, name, data_type)
        columns[name] = Column(name, f'"{original}"', data_type)
    _require(kind, label, set(columns))
    return InputFile(label, reader, parameters, columns, tuple(ignored))


def _documented(kind: str, name: str) -> str | None:
    """The documented column a file's column name stands for (any case), or ``None``."""
    if not _SQL_NAME.match(name):
        return None
    lowered = name.lower()
    return lowered if lowered in INPUT_COLUMNS[kind] else None


def _refuse_duplicates(label: str, names: Sequence[str]) -> None:
    seen: set[str] = set()
    for name in names:
        key = name.strip().lower()
        if key and key in seen:
            raise LoadError(f"{label}: the column {quoted(name)} appears twice in the header; keep one")
        seen.add(key)


def _require(kind: str, label: str, present: set[str]) -> None:
    absent = [name for name in REQUIRED_COLUMNS[kind] if name not in present]
    if absent:
        violation = Violation(label, MISSING_COLUMN, 0, detail=f"no column {', '.join(absent)}")
        raise LoadError.of([violation])


def _check_type(kind: str, label: str, name: str, data_type: str) -> None:
    """Refuse a typed column that cannot hold what the documented column holds."""
    if name in ID_COLUMNS[kind]:
        usable = data_type in _TEXT_TYPES or data_type in _INTEGER_TYPES
        expected = "text or whole numbers"
    elif name == VALUE_COLUMN:
        usable = data_type in _TEXT_TYPES or data_type in _NUMBER_TYPES or data_type.startswith("DECIMAL")
        expected = "numbers or text"
    else:
        usable = not (_NESTED.search(data_type) or data_type in _UNUSABLE)
        expected = "text" if name not in TIMESTAMP_COLUMNS[kind] else "timestamps or text"
    if not usable:
        raise LoadError(f"{label}: wrong type for {name}: {data_type} (expected {expected})")


def _describe(cur: duckdb.DuckDBPyConnection, query: str, parameters: list[object], label: str) -> dict[str, str]:
    """Column names and types of a query over an input."""
    try:
        return {row[0]: row[1] for row in cur.execute(f"DESCRIBE {query}", parameters).fetchall()}
    except duckdb.Error as error:
        raise LoadError(f"{label}: cannot read: {_first_line(error)}") from None


def _first_line(error: Exception) -> str:
    """The first line of a DuckDB error, which is the part a user can act on."""
    return str(error).strip().splitlines()[0]


# --- reading ----------------------------------------------------------------------------------

def typed_rows(found: Input, columns: Sequence[str]) -> TypedRows:
    """SQL reading ``found`` as typed rows: ``_file`` (1-based index into ``found.labels``),
    then ``columns`` in order.

    Timestamp columns become UTC ``TIMESTAMP`` with a ``<name>_unparseable``
    flag (text given, not an ISO 8601 timestamp); ``value`` becomes
    ``DECIMAL(38, 6)`` with a ``value_unreadable`` flag (given, not a number).
    Rows keep file order when ``preserve_insertion_order`` is on, so ``rowid``
    locates a row in its file.
    """
    files = found.files or (InputFile("", "(SELECT 1 WHERE false)", (), {}, ()),)
    selects, parameters = [], []
    for index, file in enumerate(files, start=1):
        expressions = ", ".join(f"{sql} AS {name}" for name, sql in _columns_sql(found.kind, file, columns))
        selects.append(f"SELECT {index} AS _file, {expressions} FROM {file.reader}")
        parameters.extend(file.parameters)
    checked = [name for name in columns if name in TIMESTAMP_COLUMNS[found.kind] or name == VALUE_COLUMN]
    if not checked:
        return TypedRows(" UNION ALL ".join(selects), tuple(parameters))
    givens = ", ".join(f"{name}__given" for name in checked)
    flags = ", ".join(f"({name}__given AND {name} IS NULL) AS {name}_{_FLAG[name == VALUE_COLUMN]}" for name in checked)
    return TypedRows(f"SELECT * EXCLUDE ({givens}), {flags} FROM ({' UNION ALL '.join(selects)})", tuple(parameters))


_FLAG = {False: "unparseable", True: "unreadable"}


def _columns_sql(kind: str, file: InputFile, columns: Sequence[str]) -> list[tuple[str, str]]:
    """(name, SQL) of every column read from one file; timestamps and values add ``<name>__given``."""
    out: list[tuple[str, str]] = []
    for name in columns:
        column = file.columns.get(name)
        if name in TIMESTAMP_COLUMNS[kind]:
            out += list(zip((name, f"{name}__given"), _timestamp_sql(column)))
        elif name == VALUE_COLUMN:
            out += list(zip((name, f"{name}__given"), _value_sql(column)))
        else:
            out.append((name, _text_sql(column)))
    return out


def _text_sql(column: Column | None) -> str:
    """A column as text, NULL when absent or empty."""
    if column is None:
        return "NULL::VARCHAR"
    if column.data_type == "VARCHAR":
        return f"nullif({column.sql}, '')"
    return f"nullif(CAST({column.sql} AS VARCHAR), '')"


def _timestamp_sql(column: Column | None) -> tuple[str, str]:
    """A column as a naive UTC TIMESTAMP, and whether a value was given at all.

    Text must be ISO 8601 (:data:`ISO_8601`); it is then parsed as TIMESTAMPTZ
    (an offset is honoured, none means UTC) and its UTC instant taken with
    ``make_timestamp``, several times cheaper than an ICU time-zone cast.
    Typed Parquet/Arrow timestamps are taken as they are.
    """
    if column is None:
        return "NULL::TIMESTAMP", "false"
    if column.data_type == "TIMESTAMP WITH TIME ZONE":
        return f"make_timestamp(epoch_us({column.sql}))", f"{column.sql} IS NOT NULL"
    if column.data_type.startswith("TIMESTAMP") or column.data_type == "DATE":
        return f"CAST({column.sql} AS TIMESTAMP)", f"{column.sql} IS NOT NULL"
    text = f"trim(CAST({column.sql} AS VARCHAR))"
    value = (
        f"CASE WHEN regexp_full_match({text}, '{ISO_8601}')"
        f" THEN make_timestamp(epoch_us(try_cast({text} AS TIMESTAMPTZ))) END"
    )
    return value, f"coalesce({text}, '') <> ''"


def _value_sql(column: Column | None) -> tuple[str, str]:
    """A conversion value as DECIMAL(38, 6) (NULL when not a finite number), and whether one was given."""
    if column is None:
        return "NULL::DECIMAL(38, 6)", "false"
    if column.data_type == "VARCHAR":
        text = f"trim({column.sql})"
        return f"try_cast({text} AS DECIMAL(38, 6))", f"coalesce({text}, '') <> ''"
    return f"try_cast({column.sql} AS DECIMAL(38, 6))", f"{column.sql} IS NOT NULL"


def in_years_sql(column: str) -> str:
    """SQL: a timestamp lies in the stored years (docs/data.md#timestamps); NULL counts as in."""
    return f"coalesce(year({column}) BETWEEN {EARLIEST_YEAR} AND {LATEST_YEAR}, true)"


# --- rows that could not be read as rows ------------------------------------------------------

def clear_rejects(cur: duckdb.DuckDBPyConnection) -> None:
    """Forget rows an earlier read rejected (DuckDB appends to its reject tables)."""
    for table in (_REJECTS, _REJECT_SCANS):
        cur.execute(f"DROP TABLE IF EXISTS temp.main.{table}")


def unreadable_rows(cur: duckdb.DuckDBPyConnection, found: Input) -> list[Violation]:
    """Rows of CSV files that DuckDB could not split into the header's fields, or not decode.

    Row numbers count data rows from 1 (the header is line 1 of the file).
    """
    if not any(file.is_csv for file in found.files):
        return []
    exists = cur.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?", [_REJECTS]
    ).fetchone()[0]
    if not exists:
        return []
    rows = cur.execute(
        f"""
        SELECT s.file_path, r.line - 1 AS data_row, list(r.error_type ORDER BY r.column_idx)[1] AS error_type,
               any_value(r.csv_line) AS text
        FROM temp.main.{_REJECTS} r JOIN temp.main.{_REJECT_SCANS} s USING (scan_id, file_id)
        GROUP BY s.file_path, r.line
        ORDER BY s.file_path, r.line
        """
    ).fetchall()
    by_file = {file.label: file for file in found.files}
    problems: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for path, data_row, error_type, text in rows:
        file = by_file.get(path, InputFile(path, "", (), {}, ()))
        rule = NOT_UTF8 if error_type == "INVALID ENCODING" else MALFORMED_ROW
        detail = "save the file as UTF-8" if rule == NOT_UTF8 else _malformed_detail(file, error_type, text)
        problems.setdefault((file.label, rule), []).append((data_row, detail))
    violations = []
    for (label, rule), found_rows in problems.items():
        violations.append(Violation(
            label, rule, len(found_rows), tuple(row for row, _ in found_rows[:EXAMPLE_ROWS]), found_rows[0][1],
            unreadable=True,
        ))
    return violations


def _malformed_detail(file: InputFile, error_type: str, text: str | None) -> str:
    """What is wrong with a row DuckDB rejected, in the file's own terms."""
    header_fields = len(file.parameters[2]) if file.is_csv else 0
    if error_type in ("MISSING COLUMNS", "TOO MANY COLUMNS") and text is not None:
        delimiter = file.parameters[1] if file.is_csv else ","
        fields = len(next(csv.reader(io.StringIO(text.strip("\r\n")), delimiter=delimiter), []))
        return f"{counted(fields, 'field')}, header has {header_fields}"
    if error_type == "UNQUOTED VALUE":
        return "a quote that is not closed, or not doubled inside a quoted value"
    if error_type == "LINE SIZE OVER MAXIMUM":
        return "the row is longer than 2 MB"
    return error_type.lower()
