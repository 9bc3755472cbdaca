"""What a Spark load runs on the executors: the ingest code itself, one input file or batch at a time.

A Spark load must read, type and derive exactly as the DuckDB load does
(docs/data.md#loading-rules, docs/data.md#source-and-medium), so these
functions do not restate any rule: each Spark task opens a small in-memory
DuckDB and runs the ingest package's own SQL and Python on its share of the
rows (``read.typed_rows`` for typing, ``derive.with_url_facts`` for what
URLs hold, ``derive.derive_channels`` for source, medium, channel and
group). Spark decides where the tasks run and moves their Arrow batches;
the tasks never see more than their own rows.

Each function here returns the function ``DataFrame.mapInArrow`` calls;
everything it needs (the file descriptions, the user's rules) travels in
its closure, pickled to the executors, which must have this package
installed (docs/scale.md#running-on-a-cluster).
"""

from __future__ import annotations

import json
import tempfile
from functools import lru_cache
from typing import Callable, Iterator, Sequence

import duckdb
import pyarrow as pa

from ..ingest import derive, read
from ..ingest.read import Input, InputFile
from ..store.relations import Relation

BATCH_ROWS = 50_000
"""Rows per Arrow batch handed back to Spark."""

TASK_MEMORY = "384MB"
"""DuckDB's memory in one task (it spills beyond): a task shares its executor's machine with others."""

PROBLEM = "_problem"
"""Column carrying, on a row of its own, a file's unreadable rows (JSON of a ``Violation``)."""

ArrowTask = Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]


def task_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for one task: one thread (Spark gives the task one core), bounded memory, no network."""
    con = duckdb.connect(":memory:", config={
        "threads": 1,
        "memory_limit": TASK_MEMORY,
        "temp_directory": tempfile.gettempdir(),
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    })
    con.execute("SET TimeZone = 'UTC'")
    return con


def typed_sql(kind: str, found: Input, columns: Sequence[str]) -> read.TypedRows:
    """The DuckDB load's typed rows of ``found`` (and, for sessions, what their URLs hold)."""
    rows = read.typed_rows(found, columns)
    if kind == "sessions":
        return read.TypedRows(derive.with_url_facts(rows.sql), rows.parameters)
    return rows


def typed_schema(kind: str, columns: Sequence[str]) -> pa.Schema:
    """The Arrow schema of typed rows, as the ingest SQL makes them, plus ``_row`` and ``_problem``."""
    con = task_connection()
    try:
        sql = typed_sql(kind, Input.empty(kind), columns)
        result = con.sql(f"SELECT * FROM ({sql.sql}) LIMIT 0", params=list(sql.parameters)).to_arrow_table()
    finally:
        con.close()
    schema = result.schema
    index = schema.get_field_index("_file")
    schema = schema.set(index, pa.field("_file", pa.int32()))
    return schema.append(pa.field("_row", pa.int64())).append(pa.field(PROBLEM, pa.string()))


def read_files(kind: str, columns: Sequence[str], files: Sequence[InputFile], schema: pa.Schema) -> ArrowTask:
    """A task reading whole files: given batches of ``_file`` numbers (1-based into ``files``), yields their
    typed rows, numbered by their place in their file (data rows from 1), then any unreadable rows."""

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for number in batch.column("_file").to_pylist():
                yield from _read_file(kind, columns, files[number - 1], int(number), schema)

    return task


def _read_file(
    kind: str, columns: Sequence[str], file: InputFile, number: int, schema: pa.Schema
) -> Iterator[pa.RecordBatch]:
    con = task_connection()
    try:
        found = Input(kind, (file,))
        read.clear_rejects(con)
        sql = typed_sql(kind, found, columns)
        reader = con.sql(sql.sql, params=list(sql.parameters)).to_arrow_reader(BATCH_ROWS)
        first_row = 1
        for rows in reader:
            yield _conform(rows, schema, number, pa.array(range(first_row, first_row + rows.num_rows), pa.int64()))
            first_row += rows.num_rows
        for violation in read.unreadable_rows(con, found):
            yield _problem_row(schema, number, violation)
    except duckdb.Error as error:
        yield _problem_row(schema, number, read.Violation(
            file.label, f"cannot read {kind}", 0, detail=str(error).strip().splitlines()[0]
        ))
    finally:
        con.close()


def read_batches(kind: str, columns: Sequence[str], file: InputFile, schema: pa.Schema) -> ArrowTask:
    """A task typing rows that arrive as Arrow batches (an in-memory table): each batch is registered under
    the name the file description reads (``file.reader``), typed, and numbered by its ``__row`` column."""

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        con = task_connection()
        try:
            sql = typed_sql(kind, Input(kind, (file,)), columns)
            for batch in batches:
                con.register(file.reader, pa.Table.from_batches([batch]))
                typed = con.sql(sql.sql, params=list(sql.parameters)).to_arrow_table().combine_chunks()
                con.unregister(file.reader)
                if typed.num_rows:  # one row out per row in, in the same order (one thread)
                    yield _conform(typed.to_batches()[0], schema, 1, batch.column("__row"))
        finally:
            con.close()

    return task


def _conform(rows: pa.RecordBatch, schema: pa.Schema, number: int, numbers: pa.Array) -> pa.RecordBatch:
    """Typed rows in exactly ``schema``'s columns and types, with their file number and row numbers."""
    arrays = []
    for field in schema:
        if field.name == "_file":
            arrays.append(pa.array([number] * rows.num_rows, pa.int32()))
        elif field.name == "_row":
            arrays.append(numbers.cast(pa.int64()))
        elif field.name == PROBLEM:
            arrays.append(pa.nulls(rows.num_rows, pa.string()))
        else:
            arrays.append(rows.column(field.name).cast(field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _problem_row(schema: pa.Schema, number: int, violation: read.Violation) -> pa.RecordBatch:
    """One row saying that a file has unreadable rows (or cannot be read), for the driver to report."""
    payload = json.dumps({
        "file": violation.file, "rule": violation.rule, "count": violation.count, "rows": list(violation.rows),
        "detail": violation.detail, "unreadable": violation.unreadable,
    })
    arrays = []
    for field in schema:
        if field.name == "_file":
            arrays.append(pa.array([number], pa.int32()))
        elif field.name == "_row":
            arrays.append(pa.array([violation.rows[0] if violation.rows else 0], pa.int64()))
        elif field.name == PROBLEM:
            arrays.append(pa.array([payload], pa.string()))
        else:
            arrays.append(pa.nulls(1, field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def violation_of(payload: str) -> read.Violation:
    """The :class:`~insights_core.ingest.report.Violation` a problem row carries."""
    fields = json.loads(payload)
    return read.Violation(
        fields["file"], fields["rule"], fields["count"], tuple(fields["rows"]), fields["detail"], fields["unreadable"]
    )


# --- derivation ---------------------------------------------------------------------------------


def derive_combinations(
    landing: str, channel_rules: Sequence[tuple[str, str]], group_rules: Sequence[tuple[str, ...]]
) -> ArrowTask:
    """A task deriving distinct combinations (docs/data.md#source-and-medium, docs/data.md#channel-groups).

    Each batch holds distinct (``referrer``, ``paid_click_id``,
    ``utm_source``, ``utm_medium``, landing key) rows; the ingest code's
    ``derive_channels`` gives each its landing domain, source, medium, channel
    and group, with the shipped known hosts and group rules (read from the
    package on the executor) under the user's rules shipped here.
    ``landing`` is ``"incoming"`` (the key is the landing page without its
    query) or ``"stored"`` (the key is the stored landing domain).
    """
    landing_key = derive.INCOMING_LANDING if landing == "incoming" else derive.STORED_LANDING
    channel_rules = tuple(tuple(rule) for rule in channel_rules)
    group_rules = tuple(tuple(rule) for rule in group_rules)

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        derivation = _derivation(channel_rules, group_rules)
        con = task_connection()
        try:
            for batch in batches:
                con.register("combinations", pa.Table.from_batches([batch]))
                relation = derive.derive_channels(con, Relation("combinations"), landing_key, derivation, "derived")
                table = con.sql(f"SELECT * FROM {relation}").to_arrow_table()
                con.unregister("combinations")
                for rows in table.to_batches(BATCH_ROWS):
                    yield rows.cast(_string_schema(rows.schema))
        finally:
            con.close()

    return task


@lru_cache(maxsize=8)
def _derivation(channel_rules: tuple, group_rules: tuple) -> derive.Derivation:
    """The shipped tables under the user's rules, built once per executor process and rule set."""
    return derive.Derivation.of(channel_rules, group_rules)


def _string_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(field.name, pa.string()) for field in schema])


DERIVED_SCHEMA = ", ".join(
    f"{name} string" for name in (
        "key_referrer", "key_paid_click_id", "key_utm_source", "key_utm_medium", "key_landing",
        *derive.DERIVED_COLUMNS,
    )
)
"""The Spark schema of what :func:`derive_combinations` yields (``derive_channels``' columns)."""
