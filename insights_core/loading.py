"""Loading sessions and conversions into a store (SPEC 1), in one transaction.

A load reads the files (CSV or Parquet, a file or a glob) into temporary
tables, checks every SPEC 1.3 rule and either stores everything or nothing.
It then derives source/medium/channel (SPEC 2) and recomputes the roles and
per-user facts (SPEC 3.3, 4) of every user the load touched, so queries only
filter and aggregate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence, Union

import duckdb
import pyarrow as pa

from . import channels
from .store import cursor

Source = Union[str, Path, pa.Table]
"""A file path, a glob, or an in-memory Arrow table (demo data)."""

Progress = Callable[[str, float], None]
"""Called with a stage description and the fraction of the load done."""

SESSION_COLUMNS: tuple[str, ...] = (
    "session_id", "user_id", "started_at", "exited_at", "landing_page", "referrer",
    "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term",
)
CONVERSION_COLUMNS: tuple[str, ...] = (
    "conversion_id", "session_id", "converted_at", "conversion_page", "meta_type", "meta_id",
)
REQUIRED = {
    "sessions": ("session_id", "user_id", "started_at"),
    "conversions": ("conversion_id", "session_id", "converted_at"),
}
TIMESTAMP_COLUMNS = {
    "sessions": ("started_at", "exited_at"),
    "conversions": ("converted_at",),
}
UTM_COLUMNS: tuple[str, ...] = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")

# SPEC 1.3 rule names, in the order the SPEC lists them.
MISSING_COLUMN = "missing required column"
MISSING_VALUE = "missing required value"
BAD_TIMESTAMP = "unparseable timestamp"
DUPLICATE_ID = "duplicate id"
EXIT_BEFORE_START = "exited_at before started_at"
CONVERSION_BEFORE_SESSION = "conversion before its session start"
UNKNOWN_SESSION = "conversion of an unknown session"

EXAMPLE_ROWS = 5


@dataclass(frozen=True)
class Violation:
    """One SPEC 1.3 rule broken in one file."""

    file: str
    rule: str
    count: int
    rows: tuple[int, ...] = ()
    detail: str = ""

    def __str__(self) -> str:
        if self.detail:
            return f'{self.file}: rule "{self.rule}": {self.detail}'
        noun = "row" if self.count == 1 else "rows"
        examples = ", ".join(str(row) for row in self.rows)
        return f'{self.file}: rule "{self.rule}": {self.count} bad {noun} ({noun} {examples})'


class LoadError(Exception):
    """A load that stored nothing; ``violations`` lists the SPEC 1.3 rules broken."""

    def __init__(self, message: str, violations: Sequence[Violation] = ()) -> None:
        super().__init__(message)
        self.violations = tuple(violations)


@dataclass(frozen=True)
class LoadReport:
    """What a successful load stored."""

    sessions_rows: int
    conversions_rows: int
    users_recomputed: int
    ignored_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        """Human-readable summary, one fact per line."""
        out = [
            f"stored {self.sessions_rows:,} sessions and {self.conversions_rows:,} conversions"
            f" ({self.users_recomputed:,} users recomputed) in {self.seconds:.1f} s"
        ]
        for kind, columns in self.ignored_columns.items():
            out.append(f"{kind}: ignored columns: {', '.join(columns)}")
        return out


@dataclass(frozen=True)
class _Input:
    """One kind of input, located and inspected but not yet read."""

    kind: str
    reader: str                       # SQL table expression, bound to ``parameters``
    parameters: list[object]
    columns: dict[str, tuple[str, str]]  # expected name -> (name in the file, DuckDB type)
    labels: tuple[str, ...]           # the files, for messages and the load log
    ignored: tuple[str, ...]


def load(
    con: duckdb.DuckDBPyConnection,
    sessions: Source | None = None,
    conversions: Source | None = None,
    *,
    replace: bool = False,
    channel_rules: Sequence[tuple[str, str]] | None = None,
    progress: Progress | None = None,
) -> LoadReport:
    """Store sessions and/or conversions, all or nothing (SPEC 1.3).

    ``replace`` drops the stored sessions and conversions first (in the same
    transaction). ``channel_rules`` (``host, medium`` rows) replace the user's
    stored known-host overrides, and every stored session is re-derived with
    them. Raises :class:`LoadError`; the store is then as it was.
    """
    if sessions is None and conversions is None and channel_rules is None:
        raise LoadError("nothing to load: give sessions and/or conversions")
    report = progress or (lambda stage, fraction: None)
    began = time.perf_counter()
    cur = cursor(con)
    registered: list[str] = []
    cur.execute("BEGIN TRANSACTION")
    try:
        inputs = {
            kind: _locate(cur, kind, source, registered)
            for kind, source in (("sessions", sessions), ("conversions", conversions))
            if source is not None
        }
        violations = _read_and_check(cur, inputs, replace, keep_file_order=False, report=report)
        if violations:
            # Row numbers need the rows in file order; reading that way is slower,
            # so it is only done to explain a failed load.
            report("locating the bad rows", 0.4)
            for table in ("incoming_sessions", "incoming_conversions"):
                cur.execute(f"DROP TABLE {table}")
            violations = _read_and_check(cur, inputs, replace, keep_file_order=True, report=lambda *_: None)
            raise LoadError(
                "nothing was stored: " + "; ".join(str(violation) for violation in violations),
                violations,
            )

        report("deriving channels", 0.45)
        if replace:
            for table in ("sessions", "conversions", "users", "user_channels"):
                cur.execute(f"DELETE FROM {table}")
        if channel_rules is not None:
            cur.execute("DELETE FROM channel_rules")
            if channel_rules:
                cur.executemany("INSERT INTO channel_rules VALUES (?, ?)", [list(rule) for rule in channel_rules])
        fresh = _collect_rebuild_sessions(cur, rebuild_all=channel_rules is not None)
        _derive_channels(cur, _known_hosts(cur))

        report("storing", 0.6)
        cur.execute(
            """
            INSERT INTO conversions
            SELECT c.conversion_id, c.session_id, s.user_id, c.converted_at,
                   c.conversion_page, c.meta_type, c.meta_id
            FROM incoming_conversions c JOIN rebuild_sessions s USING (session_id)
            """
        )
        report("recomputing user journeys", 0.7)
        users = _rebuild_journeys(cur, fresh)

        counts = cur.execute(
            "SELECT (SELECT count(*) FROM incoming_sessions), (SELECT count(*) FROM incoming_conversions)"
        ).fetchone()
        labels = {kind: ", ".join(found.labels) for kind, found in inputs.items()}
        cur.execute(
            "INSERT INTO loads VALUES (?, ?, ?, ?, ?, ?)",
            [
                datetime.now(timezone.utc).replace(tzinfo=None),
                labels.get("sessions"), labels.get("conversions"),
                counts[0], counts[1], replace,
            ],
        )
        report("committing", 0.95)
        _drop_temporaries(cur)
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    finally:
        for view in registered:
            cur.unregister(view)
        cur.close()
    report("done", 1.0)
    return LoadReport(
        sessions_rows=counts[0],
        conversions_rows=counts[1],
        users_recomputed=users,
        ignored_columns={kind: found.ignored for kind, found in inputs.items() if found.ignored},
        seconds=time.perf_counter() - began,
    )


# --- reading -----------------------------------------------------------------

def _read_and_check(
    cur: duckdb.DuckDBPyConnection,
    inputs: dict[str, _Input],
    replace: bool,
    *,
    keep_file_order: bool,
    report: Progress,
) -> list[Violation]:
    """Read the inputs into ``incoming_sessions``/``incoming_conversions`` and check SPEC 1.3.

    Without ``keep_file_order`` the rows are read in parallel in any order:
    which rules are broken, and how often, is right, but the example row
    numbers are not.
    """
    cur.execute(f"SET preserve_insertion_order = {'true' if keep_file_order else 'false'}")
    report("reading sessions", 0.0)
    _read_sessions(cur, inputs.get("sessions"))
    report("reading conversions", 0.2)
    _read_conversions(cur, inputs.get("conversions"))
    report("checking rows", 0.35)
    return _session_violations(cur, inputs.get("sessions"), replace) + _conversion_violations(
        cur, inputs.get("conversions"), replace
    )


_FORMATS = {".csv": "csv", ".tsv": "csv", ".gz": "csv", ".parquet": "parquet", ".pq": "parquet"}
_READERS = {
    "csv": "read_csv(?, all_varchar = true, header = true, union_by_name = true, filename = '_file')",
    "parquet": "read_parquet(?, union_by_name = true, filename = '_file')",
}
_EXPECTED = {"sessions": SESSION_COLUMNS, "conversions": CONVERSION_COLUMNS}


def _locate(cur: duckdb.DuckDBPyConnection, kind: str, source: Source, registered: list[str]) -> _Input:
    """Find the files of one kind of input and check they have the required columns."""
    if isinstance(source, pa.Table):
        label = f"{kind} (in memory)"
        view = f"arrow_{kind}"
        cur.register(view, source)
        registered.append(view)
        reader, parameters, labels = f"(SELECT *, ? AS _file FROM {view})", [label], (label,)
        columns_by_file = {label: _describe(cur, f"SELECT * FROM {view}", [], label)}
        all_columns = columns_by_file[label]
    else:
        pattern = str(source)
        files = [row[0] for row in cur.execute("SELECT file FROM glob(?) ORDER BY file", [pattern]).fetchall()]
        if not files:
            raise LoadError(f"{pattern}: no such file ({kind})")
        formats = {_format_of(file) for file in files}
        if len(formats) != 1:
            raise LoadError(f"{pattern}: mixes CSV and Parquet files; load them separately")
        file_format = formats.pop()
        reader, parameters, labels = _READERS[file_format], [files], tuple(files)
        single = _READERS[file_format].replace(", union_by_name = true, filename = '_file'", "")
        columns_by_file = {file: _describe(cur, f"SELECT * FROM {single}", [file], file) for file in files}
        all_columns = (
            columns_by_file[files[0]] if len(files) == 1
            else _describe(cur, f"SELECT * FROM {reader}", [files], pattern)
        )

    missing = [
        Violation(file, MISSING_COLUMN, 0, detail=f"no column {', '.join(absent)}")
        for file, present in columns_by_file.items()
        if (absent := [name for name in REQUIRED[kind] if name not in {c.lower() for c in present}])
    ]
    if missing:
        raise LoadError("nothing was stored: " + "; ".join(str(v) for v in missing), missing)
    expected = _EXPECTED[kind]
    columns = {name.lower(): (name, data_type) for name, data_type in all_columns.items() if name.lower() in expected}
    ignored = tuple(sorted(name for name in all_columns if name.lower() not in expected and name != "_file"))
    return _Input(kind, reader, parameters, columns, labels, ignored)


def _format_of(file: str) -> str:
    """The reader for a file, by its extension."""
    suffix = Path(file).suffix.lower()
    if suffix not in _FORMATS:
        raise LoadError(f"{file}: unsupported file type {suffix or '(none)'}; use .csv or .parquet")
    return _FORMATS[suffix]


def _describe(cur: duckdb.DuckDBPyConnection, query: str, parameters: list[object], label: str) -> dict[str, str]:
    """Column names and types of a query over input files."""
    try:
        return {row[0]: row[1] for row in cur.execute(f"DESCRIBE {query}", parameters).fetchall()}
    except duckdb.Error as error:
        raise LoadError(f"{label}: cannot read: {_first_line(error)}") from None


def _first_line(error: Exception) -> str:
    """The first line of a DuckDB error, which is the part a user can act on."""
    return str(error).strip().splitlines()[0]


def _text_sql(found: _Input, name: str) -> str:
    """SQL for an input column as text, NULL when absent or empty."""
    if name not in found.columns:
        return "NULL::VARCHAR"
    return f"nullif(CAST(\"{found.columns[name][0]}\" AS VARCHAR), '')"


def _timestamp_sql(found: _Input, name: str) -> str:
    """SQL for an input column as a naive UTC TIMESTAMP, NULL when absent or unparseable.

    Text is parsed as TIMESTAMPTZ (an offset is honoured; none means UTC, the
    session time zone) and its UTC instant taken with ``make_timestamp``,
    which is several times cheaper than an ICU time-zone cast. Typed
    Parquet/Arrow timestamps are taken as they are.
    """
    if name not in found.columns:
        return "NULL::TIMESTAMP"
    original, data_type = found.columns[name]
    if data_type == "TIMESTAMP WITH TIME ZONE":
        return f"make_timestamp(epoch_us(\"{original}\"))"
    if data_type.startswith("TIMESTAMP") or data_type == "DATE":
        return f"CAST(\"{original}\" AS TIMESTAMP)"
    return f"make_timestamp(epoch_us(try_cast(CAST(\"{original}\" AS VARCHAR) AS TIMESTAMPTZ)))"


def _read(
    cur: duckdb.DuckDBPyConnection,
    table: str,
    found: _Input,
    columns: tuple[str, ...],
    timestamps: tuple[str, ...],
    finish: Callable[[str], str] = lambda relation: f"SELECT * FROM {relation}",
) -> None:
    """Read and type one kind of input into ``table`` in a single pass.

    Each timestamp gets a ``<name>_unparseable`` flag (text given, not a
    timestamp) for the checks; rows keep file order, so ``rowid`` locates a
    row in its file. ``finish`` may add columns computed from the typed ones
    in the same pass.
    """
    typed = ", ".join(
        f"{_timestamp_sql(found, name)} AS {name}, {_text_sql(found, name)} AS {name}_text"
        if name in timestamps else f"{_text_sql(found, name)} AS {name}"
        for name in columns
    )
    texts = ", ".join(f"{name}_text" for name in timestamps)
    flags = ", ".join(
        f"({name} IS NULL AND trim(coalesce({name}_text, '')) <> '') AS {name}_unparseable" for name in timestamps
    )
    # _file becomes the file's 1-based index in found.labels: a small integer per row, not a path.
    typed_rows = f"(SELECT list_position(?, _file) AS _file, {typed} FROM {found.reader})"
    flagged_rows = f"(SELECT * EXCLUDE ({texts}), {flags} FROM {typed_rows})"
    try:
        cur.execute(f"CREATE TEMP TABLE {table} AS {finish(flagged_rows)}", [list(found.labels), *found.parameters])
    except duckdb.Error as error:
        raise LoadError(f"{', '.join(found.labels)}: cannot read {found.kind}: {_first_line(error)}") from None


def _read_sessions(cur: duckdb.DuckDBPyConnection, found: _Input | None) -> None:
    """``incoming_sessions`` from the sessions input (empty when there is none)."""
    if found is None:
        found = _Input("sessions", "(SELECT NULL::VARCHAR AS _file WHERE false)", [], {}, (), ())
    _read(cur, "incoming_sessions", found, SESSION_COLUMNS, TIMESTAMP_COLUMNS["sessions"], _with_url_facts)


def _read_conversions(cur: duckdb.DuckDBPyConnection, found: _Input | None) -> None:
    """``incoming_conversions`` from the conversions input (empty when there is none)."""
    if found is None:
        found = _Input("conversions", "(SELECT NULL::VARCHAR AS _file WHERE false)", [], {}, (), ())
    _read(cur, "incoming_conversions", found, CONVERSION_COLUMNS, TIMESTAMP_COLUMNS["conversions"])


# --- checking ----------------------------------------------------------------

def _missing(column: str) -> str:
    """SQL: a required value is absent or blank."""
    return f"({column} IS NULL OR trim({column}) = '')"


def _absent_timestamp(column: str) -> str:
    """SQL: a required timestamp was not given at all (as opposed to given but unparseable)."""
    return f"({column} IS NULL AND NOT {column}_unparseable)"


def _collect_violations(
    cur: duckdb.DuckDBPyConnection, found: _Input, table: str, flagged_sql: str, rules: Sequence[str]
) -> list[Violation]:
    """Summarise per file and rule a query yielding ``_file, _rowid`` and one boolean per rule.

    Row numbers are 1-based within each file: the table keeps file order, so a
    row's number is its rowid minus the first rowid of its file.
    """
    aggregates = ", ".join(
        f"count_if(rule_{i}), min(_rowid, {EXAMPLE_ROWS}) FILTER (WHERE rule_{i})" for i in range(len(rules))
    )
    rows = cur.execute(f"SELECT _file, {aggregates} FROM ({flagged_sql}) GROUP BY _file").fetchall()
    if not any(any(row[1 + 2 * i] for i in range(len(rules))) for row in rows):
        return []
    first_rowid = dict(cur.execute(f"SELECT _file, min(rowid) FROM {table} GROUP BY _file").fetchall())
    violations = []
    for i, rule in enumerate(rules):
        for row in sorted(rows, key=lambda row: row[0]):
            count, examples = row[1 + 2 * i], row[2 + 2 * i]
            if count:
                numbers = tuple(sorted(rowid - first_rowid[row[0]] + 1 for rowid in examples))
                violations.append(Violation(found.labels[row[0] - 1], rule, count, numbers))
    return violations


def _session_violations(cur: duckdb.DuckDBPyConnection, found: _Input | None, replace: bool) -> list[Violation]:
    """SPEC 1.3 rules for sessions: required values, timestamps, duplicate ids, exit order."""
    if found is None:
        return []
    stored = "" if replace else (
        "UNION ALL SELECT session_id FROM sessions WHERE session_id IN (SELECT session_id FROM incoming_sessions)"
    )
    flagged = f"""
        WITH seen AS (
            SELECT session_id FROM incoming_sessions {stored}
        ), duplicate_ids AS (
            SELECT session_id FROM seen WHERE session_id IS NOT NULL GROUP BY session_id HAVING count(*) > 1
        )
        SELECT _file, rowid AS _rowid,
               {_missing('session_id')} OR {_missing('user_id')} OR {_absent_timestamp('started_at')} AS rule_0,
               started_at_unparseable OR exited_at_unparseable AS rule_1,
               coalesce(session_id IN (SELECT session_id FROM duplicate_ids), false) AS rule_2,
               coalesce(exited_at < started_at, false) AS rule_3
        FROM incoming_sessions
    """
    return _collect_violations(
        cur, found, "incoming_sessions", flagged, (MISSING_VALUE, BAD_TIMESTAMP, DUPLICATE_ID, EXIT_BEFORE_START)
    )


def _conversion_violations(cur: duckdb.DuckDBPyConnection, found: _Input | None, replace: bool) -> list[Violation]:
    """SPEC 1.3 rules for conversions, including their sessions (loaded now or stored)."""
    if found is None:
        return []
    stored_ids = "" if replace else (
        "UNION ALL SELECT conversion_id FROM conversions"
        " WHERE conversion_id IN (SELECT conversion_id FROM incoming_conversions)"
    )
    stored_sessions = "" if replace else (
        "UNION ALL SELECT session_id, started_at FROM sessions"
        " WHERE session_id IN (SELECT session_id FROM incoming_conversions)"
    )
    flagged = f"""
        WITH seen AS (
            SELECT conversion_id FROM incoming_conversions {stored_ids}
        ), duplicate_ids AS (
            SELECT conversion_id FROM seen WHERE conversion_id IS NOT NULL GROUP BY conversion_id HAVING count(*) > 1
        ), known_sessions AS (
            SELECT session_id, min(started_at) AS started_at FROM (
                SELECT session_id, started_at FROM incoming_sessions {stored_sessions}
            ) GROUP BY session_id
        )
        SELECT c._file, c.rowid AS _rowid,
               {_missing('c.conversion_id')} OR {_missing('c.session_id')} OR {_absent_timestamp('c.converted_at')} AS rule_0,
               c.converted_at_unparseable AS rule_1,
               coalesce(c.conversion_id IN (SELECT conversion_id FROM duplicate_ids), false) AS rule_2,
               coalesce(c.converted_at < k.started_at, false) AS rule_3,
               c.session_id IS NOT NULL AND k.session_id IS NULL AS rule_4
        FROM incoming_conversions c LEFT JOIN known_sessions k ON c.session_id = k.session_id
    """
    return _collect_violations(
        cur, found, "incoming_conversions", flagged,
        (MISSING_VALUE, BAD_TIMESTAMP, DUPLICATE_ID, CONVERSION_BEFORE_SESSION, UNKNOWN_SESSION),
    )


# --- deriving and recomputing -------------------------------------------------

def _known_hosts(cur: duckdb.DuckDBPyConnection) -> channels.KnownHosts:
    """The shipped known-host table with the store's user overrides applied."""
    overrides = cur.execute("SELECT host, medium FROM channel_rules").fetchall()
    return channels.KnownHosts.shipped().with_overrides(overrides)


def _with_url_facts(relation: str) -> str:
    """SQL adding to session rows what SPEC 1.1 and 2 read from URLs, in one pass.

    UTM values missing from their columns come from the landing page's query
    string; ``landing_base`` (the landing page without its query, which
    holds its host) and ``paid_click_id`` feed the channel derivation. Only
    rows whose query string names a UTM parameter pay for extracting it.
    """
    raw = ", ".join(
        f"CASE WHEN {name} IS NULL AND contains(query_string, '&{name}=')"
        f" THEN {channels.query_raw_value_sql('query_string', name)} END AS {name}_raw"
        for name in UTM_COLUMNS
    )
    decoded = ", ".join(f"coalesce({name}, {channels.decoded_sql(name + '_raw')}) AS {name}" for name in UTM_COLUMNS)
    raws = ", ".join(f"{name}_raw" for name in UTM_COLUMNS)
    return f"""
        SELECT * EXCLUDE ({raws}) REPLACE ({decoded})
        FROM (
            SELECT * EXCLUDE (query_string), {raw},
                   {channels.before_sql('landing_page', '?')} AS landing_base,
                   {channels.paid_click_id_sql('query_string')} AS paid_click_id
            FROM (SELECT *, {channels.query_string_sql('landing_page')} AS query_string FROM {relation})
        )
    """


_REBUILD_COLUMNS = (
    "session_id, user_id, started_at, exited_at, landing_page, referrer, "
    + ", ".join(UTM_COLUMNS)
)


def _collect_rebuild_sessions(cur: duckdb.DuckDBPyConnection, rebuild_all: bool) -> bool:
    """``rebuild_sessions``: every session (stored or incoming) of a user this load changes.

    Their roles and facts are recomputed from scratch; ``rebuild_all`` (new
    channel rules) takes every stored user. Into an empty store that is just
    the incoming sessions, which are then not copied again, and the result is
    ``True`` ("fresh": nothing stored to replace); otherwise the users are
    listed in ``affected_users``. ``rebuild_key`` (a row id) joins the rows
    back cheaper than their string session ids.
    """
    incoming = f"SELECT {_REBUILD_COLUMNS}, landing_base, paid_click_id FROM incoming_sessions"
    if cur.execute("SELECT count(*) FROM sessions").fetchone()[0] == 0:
        cur.execute(f"CREATE TEMP VIEW rebuild_sessions AS SELECT rowid AS rebuild_key, {incoming[7:]}")
        return True
    stored_filter = "" if rebuild_all else (
        "WHERE user_id IN (SELECT user_id FROM incoming_sessions"
        " UNION SELECT user_id FROM sessions WHERE session_id IN (SELECT session_id FROM incoming_conversions))"
    )
    stored = _with_url_facts(f"(SELECT {_REBUILD_COLUMNS} FROM sessions {stored_filter})")
    cur.execute(f"CREATE TEMP TABLE rebuild_rows AS {stored} UNION ALL {incoming}")
    cur.execute("CREATE TEMP VIEW rebuild_sessions AS SELECT rowid AS rebuild_key, * FROM rebuild_rows")
    cur.execute("CREATE TEMP TABLE affected_users AS SELECT DISTINCT user_id FROM rebuild_sessions")
    return False


def _derive_channels(cur: duckdb.DuckDBPyConnection, known_hosts: channels.KnownHosts) -> None:
    """SPEC 2 for ``rebuild_sessions``: ``derived_channels``, the derived source and medium
    of each distinct (referrer, landing page without query, paid click id).

    URLs are parsed and the rules run once per combination; the roles query
    joins them back to the sessions.
    """
    keys = cur.execute(
        f"""
        SELECT referrer, landing_base, paid_click_id,
               {channels.host_sql('referrer')}, {channels.host_sql('landing_base')}
        FROM (SELECT DISTINCT referrer, landing_base, paid_click_id FROM rebuild_sessions)
        """
    ).fetchall()
    derived = [
        channels.derive_source_medium(referrer_host, landing_host, paid_click_id, known_hosts)
        for _, _, paid_click_id, referrer_host, landing_host in keys
    ]
    columns = {
        "referrer": [key[0] for key in keys],
        "landing_base": [key[1] for key in keys],
        "paid_click_id": [key[2] for key in keys],
        "derived_source": [source for source, _ in derived],
        "derived_medium": [medium for _, medium in derived],
    }
    # Lists bound as parameters and unnested side by side: no pandas/Arrow round trip.
    unnested = ", ".join(f"unnest(?::VARCHAR[]) AS {name}" for name in columns)
    cur.execute(f"CREATE TEMP TABLE derived_channels AS SELECT {unnested}", list(columns.values()))


def _rebuild_journeys(cur: duckdb.DuckDBPyConnection, fresh: bool) -> int:
    """Replace the sessions, users and user_channels rows of every affected user (SPEC 2.4, 3.3, 4).

    Roles come from a window over a narrow, all-numeric table (sorting the
    wide rows would cost more), which the insert then joins back by row key
    beside the small table of derived channels. users and user_channels are
    aggregated from the roles and the stored rows. Returns the number of
    users recomputed.
    """
    affected = "" if fresh else "WHERE user_id IN (SELECT user_id FROM affected_users)"
    _number_journey_users(cur, fresh)
    if not fresh:
        for table in ("sessions", "users"):
            cur.execute(f"DELETE FROM {table} {affected}")
        cur.execute("DELETE FROM user_channels WHERE user_key IN (SELECT user_key FROM journey_users)")
    cur.execute(
        f"""
        CREATE TEMP TABLE session_roles AS
        WITH session_conversions AS (
            SELECT session_id, min(converted_at) AS first_converted_at
            FROM conversions
            {affected}
            GROUP BY session_id
        ), timeline AS (
            SELECT r.rebuild_key, j.user_key, r.started_at, sc.first_converted_at,
                   row_number() OVER journey AS timeline_position,
                   count(sc.first_converted_at) OVER (journey ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                       AS converting_before,
                   count(sc.first_converted_at) OVER (journey ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                       AS converting_in_journey
            FROM rebuild_sessions r
            JOIN journey_users j ON j.user_id = r.user_id
            LEFT JOIN session_conversions sc ON sc.session_id = r.session_id
            WINDOW journey AS (PARTITION BY j.user_key ORDER BY r.started_at, r.session_id)
        )
        -- SPEC 3.3: assist lies strictly between the first session and the first converting
        -- session, after lies strictly after it, attributed (SPEC 4.4) at or before it.
        SELECT rebuild_key, user_key, started_at, first_converted_at, timeline_position,
               timeline_position = 1 AS is_first,
               first_converted_at IS NOT NULL AS is_converting,
               converting_in_journey > 0 AND converting_before = 0
                   AND timeline_position > 1 AND first_converted_at IS NULL AS is_assist,
               converting_before > 0 AS is_after,
               converting_in_journey > 0 AND converting_before = 0 AS is_attributed,
               converting_in_journey > 0 AS user_converted
        FROM timeline
        """
    )
    cur.execute(
        """
        INSERT INTO sessions
        SELECT r.session_id, r.user_id, o.user_key, r.started_at, r.exited_at, r.landing_page, r.referrer,
               r.utm_source, r.utm_medium, r.utm_campaign, r.utm_content, r.utm_term,
               coalesce(r.utm_source, d.derived_source) AS source,   -- SPEC 2.4: UTM overrides
               coalesce(r.utm_medium, d.derived_medium) AS medium,
               coalesce(r.utm_medium, d.derived_medium) || '/' || coalesce(r.utm_source, d.derived_source) AS channel,
               o.timeline_position, o.is_first, o.is_converting, o.is_assist, o.is_after, o.is_attributed,
               o.first_converted_at,
               date_diff('microsecond', r.started_at, r.exited_at) AS duration_us,
               date_diff('microsecond', r.started_at, o.first_converted_at) AS conversion_delay_us
        FROM rebuild_sessions r
        JOIN session_roles o USING (rebuild_key)
        JOIN derived_channels d
          ON r.referrer IS NOT DISTINCT FROM d.referrer
         AND r.landing_base IS NOT DISTINCT FROM d.landing_base
         AND r.paid_click_id IS NOT DISTINCT FROM d.paid_click_id
        """
    )
    users = cur.execute(
        """
        INSERT INTO users
        SELECT j.user_id, o.user_key,
               count(*) AS session_count,
               any_value(o.user_converted) AS is_converted,
               min(o.started_at) AS first_session_started_at,
               min(o.first_converted_at) AS first_conversion_at,
               date_diff('microsecond', min(o.started_at), min(o.first_converted_at)) AS time_to_convert_us
        FROM session_roles o JOIN journey_users j USING (user_key)
        GROUP BY o.user_key, j.user_id
        """
    ).fetchone()[0]
    journey = "" if fresh else "WHERE s.user_key IN (SELECT user_key FROM journey_users)"
    cur.execute(
        f"""
        INSERT INTO user_channels
        SELECT s.user_key, s.channel, count(*) AS sessions, any_value(u.is_converted),
               bool_or(s.is_first), bool_or(s.is_assist), bool_or(s.is_converting),
               bool_or(s.is_after), bool_or(s.is_attributed)
        FROM sessions s JOIN users u USING (user_key)
        {journey}
        GROUP BY s.user_key, s.channel
        """
    )
    return users


def _number_journey_users(cur: duckdb.DuckDBPyConnection, fresh: bool) -> None:
    """``journey_users``: every user being rebuilt with their ``user_key``.

    Stored users keep their number; new users are numbered after the
    highest one in use.
    """
    if fresh:
        cur.execute(
            "CREATE TEMP TABLE journey_users AS"
            " SELECT user_id, (row_number() OVER ())::INTEGER AS user_key"
            " FROM (SELECT DISTINCT user_id FROM rebuild_sessions)"
        )
        return
    cur.execute(
        """
        CREATE TEMP TABLE journey_users AS
        SELECT a.user_id,
               coalesce(u.user_key, (SELECT coalesce(max(user_key), 0) FROM users)
                        + row_number() OVER (PARTITION BY u.user_key IS NULL))::INTEGER AS user_key
        FROM affected_users a LEFT JOIN users u USING (user_id)
        """
    )


def _drop_temporaries(cur: duckdb.DuckDBPyConnection) -> None:
    """Free the load's temporary tables before commit (they are per cursor anyway)."""
    for (name,) in cur.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary"
    ).fetchall():
        cur.execute(f'DROP TABLE temp.main."{name}"')
