"""Loading files into a lake on Spark: the DuckDB load's rules, messages and derivation, on a cluster.

docs/data.md#loading-rules and docs/scale.md#loading-on-spark. A load
writes a new version of the lake and publishes it only when every step
succeeded; a failed or killed load leaves readers on the previous version.
The steps are the DuckDB load's (``insights_core.ingest.load``):

1. **Locate** the files on the driver with the ingest code (``read.locate``):
   every header, required column and Parquet type is checked before a row
   is read.
2. **Read** on the executors, one task per file (``tasks.read_files``):
   each task types its file's rows with the ingest SQL, numbers them by
   their place in the file, and reports rows it cannot read. The typed rows
   are staged as Parquet inside the new version.
3. **Check** every loading rule (``rules.SESSION_RULES``,
   ``rules.CONVERSION_RULES``: the same ``Rule(name, predicate_sql)``
   objects) in Spark SQL against this load's rows and the stored ones; a
   failed load names the file, the rule, the count and the first five rows.
4. **Derive** source, medium, channel and group once per distinct
   combination, on the executors (``tasks.derive_combinations``, the ingest
   code's ``derive_channels``), with the user's rules shipped to them.
5. **Journeys**: the users the load touches are rebuilt from all of their
   sessions and conversions with window functions (positions, roles,
   per-user and per-channel facts, touchpoints); every other user's rows
   are carried over from the previous version unchanged.
6. **Write and publish** every table of the new version, then the manifest,
   then the pointer (``insights_core.lake``).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Sequence

import pyarrow as pa

from .. import journeys
from ..channel_groups import ChannelGroupRule
from ..ingest import derive, read, rules
from ..ingest.read import Input, Source
from ..ingest.report import EXAMPLE_ROWS, LoadError, LoadReport, Violation
from ..vocabulary import CONVERSION_COLUMNS, SESSION_COLUMNS
from . import PARTITIONS, Draft, Lake, lake_tables, tasks

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

Progress = Callable[[str, float], None]
"""Called with a stage description and the fraction of the load done (as the DuckDB load does)."""

USER_TABLES = journeys.USER_TABLES
"""Tables with rows per user: rebuilt for the users a load touches, carried over for the others."""

STAGING = "_staging"
"""Where a load keeps intermediate rows, inside its own version directory; removed before publishing."""

_ARROW_TYPES = {
    pa.string(): "string", pa.large_string(): "string", pa.bool_(): "boolean", pa.int32(): "int",
    pa.int64(): "bigint", pa.timestamp("us"): "timestamp_ntz", pa.float64(): "double",
}


def load(
    spark: SparkSession,
    lake: Lake,
    sessions: Source | None = None,
    conversions: Source | None = None,
    *,
    replace: bool = False,
    channel_rules: Sequence[tuple[str, str]] | None = None,
    channel_group_rules: Sequence[ChannelGroupRule] | None = None,
    progress: Progress | None = None,
    waiting: Callable[[], None] | None = None,
) -> LoadReport:
    """Store sessions and/or conversions in a new version of ``lake``, all or nothing.

    The arguments mean what they mean for :func:`insights_core.load`.
    Raises :class:`~insights_core.LoadError` with the DuckDB load's messages;
    readers then stay on the previous version.
    """
    if sessions is None and conversions is None and channel_rules is None and channel_group_rules is None:
        raise LoadError("nothing to load: give sessions and/or conversions")
    report = progress or (lambda stage, fraction: None)
    began = time.perf_counter()
    located = _locate(sessions, conversions)
    with lake.writing(waiting) as draft:
        run = _SparkLoad(spark, draft, located, replace, channel_rules, channel_group_rules, report)
        facts, rows = run.run()
        report("committing", 0.95)
        run.drop_staging()
        draft.publish(rows, loaded_by="spark")
    report("done", 1.0)
    return LoadReport(**facts, seconds=time.perf_counter() - began)


@dataclass(frozen=True)
class _Located:
    """The inputs found and checked on the driver, and in-memory tables to ship as they are."""

    inputs: dict[str, Input]
    tables: dict[str, pa.Table]


def _locate(sessions: Source | None, conversions: Source | None) -> _Located:
    con = tasks.task_connection()
    views: list[str] = []
    try:
        inputs, tables = {}, {}
        for kind, source in (("sessions", sessions), ("conversions", conversions)):
            if source is None:
                inputs[kind] = Input.empty(kind)
                continue
            inputs[kind] = read.locate(con, kind, source, views)
            if read._is_arrow_table(source):
                tables[kind] = source
        return _Located(inputs, tables)
    finally:
        con.close()


class _SparkLoad:
    """One load's steps, its temporary views and its staged rows."""

    def __init__(
        self,
        spark: SparkSession,
        draft: Draft,
        located: _Located,
        replace: bool,
        channel_rules: Sequence[tuple[str, str]] | None,
        channel_group_rules: Sequence[ChannelGroupRule] | None,
        report: Progress,
    ) -> None:
        self.spark = spark
        self.draft = draft
        self.located = located
        self.replace = replace
        self.channel_rules = channel_rules
        self.channel_group_rules = channel_group_rules
        self.report = report
        self.prefix = f"insights_load_{uuid.uuid4().hex[:8]}"
        self.views: dict[str, str] = {}

    # -- helpers

    def view(self, name: str, frame: DataFrame) -> str:
        """Register ``frame`` as this load's temporary view ``name``; returns the view's full name."""
        full = f"{self.prefix}_{name}"
        frame.createOrReplaceTempView(full)
        self.views[name] = full
        return full

    def sql(self, text: str) -> DataFrame:
        """``text`` with each ``{name}`` replaced by this load's view of that name (names, never values)."""
        return self.spark.sql(text.format_map(self.views))

    def staged(self, name: str, frame: DataFrame, schema: str | None = None) -> DataFrame:
        """Write ``frame`` as Parquet inside the draft and read it back: computed once, read many times."""
        uri = f"{self.draft.table_uri(STAGING)}/{name}"
        frame.write.mode("overwrite").parquet(uri)
        reader = self.spark.read
        if schema is not None:
            reader = reader.schema(schema)
        result = reader.parquet(uri)
        self.view(name, result)
        return result

    def drop_staging(self) -> None:
        for view in self.views.values():
            self.spark.catalog.dropTempView(view)
        filesystem = self.draft.lake.location.filesystem
        try:
            filesystem.delete_dir(self.draft.table_path(STAGING))
        except FileNotFoundError:
            pass

    # -- the steps

    def run(self) -> tuple[dict[str, Any], dict[str, int]]:
        inputs = self.located.inputs
        previous = self.draft.previous_tables()
        self._register_previous(previous)
        self.report("reading sessions", 0.0)
        self._read("sessions", SESSION_COLUMNS)
        self.report("reading conversions", 0.2)
        self._read("conversions", CONVERSION_COLUMNS)
        self._refuse_unreadable()
        self.report("checking rows", 0.35)
        self._check()

        self.report("storing", 0.45)
        rederive = self.channel_rules is not None or self.channel_group_rules is not None
        channel_rules, group_rules = self._rules()
        self._number_users(rederive)
        self.report("deriving channels", 0.5)
        rederived = self._journey_sessions(channel_rules, group_rules, rederive)
        self.report("recomputing user journeys", 0.6)
        recomputed = self._rebuild()
        self.report("writing the new version", 0.75)
        counts = self.incoming_rows
        rows = self._write(counts["sessions"], counts["conversions"])
        facts = {
            "sessions_rows": counts["sessions"],
            "conversions_rows": counts["conversions"],
            "users_recomputed": recomputed,
            "ignored_columns": {kind: found.ignored for kind, found in inputs.items() if found.ignored},
            "files_loaded": any(found.files for found in inputs.values()),
            "channel_rules": len(self.channel_rules) if self.channel_rules is not None else None,
            "channel_group_rules": len(self.channel_group_rules) if self.channel_group_rules is not None else None,
            "sessions_rederived": rederived,
        }
        return facts, rows

    def _register_previous(self, previous: Any) -> None:
        """The previous version's tables as ``stored_<table>`` (empty ones for a first load)."""
        from ..engines.spark import ParquetTable, read_table

        for table, columns in lake_tables().items():
            source = previous.tables[table] if previous is not None else ParquetTable("", columns, 0)
            self.view(f"stored_{table}", read_table(self.spark, source))

    def _read(self, kind: str, columns: Sequence[str]) -> None:
        """This load's rows of ``kind``, typed on the executors and staged (``incoming_<kind>``)."""
        found = self.located.inputs[kind]
        schema = tasks.typed_schema(kind, columns)
        spark_schema = ", ".join(f"`{field.name}` {_spark_type(field.type)}" for field in schema)
        if not found.files:
            frame = self.spark.createDataFrame([], spark_schema)
        elif kind in self.located.tables:
            table = self.located.tables[kind]
            numbered = table.append_column("__row", pa.array(range(1, table.num_rows + 1), pa.int64()))
            task = tasks.read_batches(kind, columns, found.files[0], schema)
            frame = self.spark.createDataFrame(numbered).mapInArrow(task, spark_schema)
        else:
            count = len(found.files)
            numbers = self.spark.range(1, count + 1, 1, count).selectExpr("CAST(id AS INT) AS _file")
            frame = numbers.mapInArrow(tasks.read_files(kind, columns, found.files, schema), spark_schema)
        self.staged(f"read_{kind}", frame, spark_schema)
        self.view(f"incoming_{kind}", self.sql(f"SELECT * FROM {{read_{kind}}} WHERE {tasks.PROBLEM} IS NULL"))

    def _refuse_unreadable(self) -> None:
        """Rows the CSV reader could not split or decode fail the load first, as they do on DuckDB."""
        problems = self.sql(f"""
            SELECT kind, _file, _row, {tasks.PROBLEM} AS problem FROM (
                SELECT 1 AS kind, _file, _row, {tasks.PROBLEM} FROM {{read_sessions}} WHERE {tasks.PROBLEM} IS NOT NULL
                UNION ALL
                SELECT 2 AS kind, _file, _row, {tasks.PROBLEM} FROM {{read_conversions}} WHERE {tasks.PROBLEM} IS NOT NULL
            ) ORDER BY kind, _file, _row
        """).collect()
        found: list[Violation] = []
        for problem in problems:
            kind = "sessions" if problem["kind"] == 1 else "conversions"
            violation = tasks.violation_of(problem["problem"])
            if violation.rule.startswith("cannot read"):
                labels = ", ".join(self.located.inputs[kind].labels)
                raise LoadError(f"{labels}: cannot read {kind}: {violation.detail}")
            found.append(violation)
        if found:
            raise LoadError.of(found)

    def _check(self) -> None:
        """Every loading rule, counted in one pass per input; the failed ones explained (docs/data.md#loading-rules)."""
        stored_sessions = "stored_sessions" if not self.replace else None
        stored_conversions = "stored_conversions" if not self.replace else None
        self.view("checked_sessions", self.sql(_CHECKED_SESSIONS.format(
            stored=_stored_ids("{stored_sessions}", "session_id", "{incoming_sessions}", stored_sessions),
        )))
        self.view("checked_conversions", self.sql(_CHECKED_CONVERSIONS.format(
            stored=_stored_ids("{stored_conversions}", "conversion_id", "{incoming_conversions}", stored_conversions),
            stored_starts=(
                "UNION ALL SELECT session_id, started_at FROM {stored_sessions}"
                " WHERE session_id IN (SELECT session_id FROM {incoming_conversions})" if stored_sessions else ""
            ),
        )))
        rule_sets = {"sessions": rules.SESSION_RULES, "conversions": rules.CONVERSION_RULES}
        # One pass over each input counts every rule (and the rows), as rules.broken_rules does.
        passes = [
            f"(SELECT count(*) AS `{kind}`, "
            + ", ".join(f"count_if({rule.predicate_sql}) AS `{kind}: {_alias(rule.name)}`" for rule in rule_set)
            + f" FROM {{checked_{kind}}}) {kind}"
            for kind, rule_set in rule_sets.items()
        ]
        row = self.sql(f"SELECT * FROM {' CROSS JOIN '.join(passes)}").collect()[0]
        self.incoming_rows = {kind: int(row[kind]) for kind in rule_sets}
        violations: list[Violation] = []
        for kind, rule_set in rule_sets.items():
            for rule in rule_set:
                if row[f"{kind}: {rule.name}"]:
                    violations.extend(self._violations(kind, f"checked_{kind}", rule))
        if violations:
            raise LoadError.of(violations)

    def _violations(self, kind: str, checked: str, rule: rules.Rule) -> list[Violation]:
        """Per file: how many rows break ``rule`` and the first five of them (data rows from 1)."""
        labels = self.located.inputs[kind].labels
        totals = self.sql(
            f"SELECT _file, count(*) AS bad FROM {{{checked}}} WHERE {rule.predicate_sql} GROUP BY _file ORDER BY _file",
        ).collect()
        examples = self.sql(f"""
            SELECT _file, _row FROM (
                SELECT _file, _row, row_number() OVER (PARTITION BY _file ORDER BY _row) AS place
                FROM {{{checked}}} WHERE {rule.predicate_sql}
            ) WHERE place <= {EXAMPLE_ROWS}
        """).collect()
        first: dict[int, list[int]] = {}
        for row in examples:
            first.setdefault(row["_file"], []).append(int(row["_row"]))
        return [
            Violation(labels[row["_file"] - 1], rule.name, int(row["bad"]), tuple(sorted(first[row["_file"]])))
            for row in totals
        ]

    def _rules(self) -> tuple[list[tuple[str, str]], list[tuple[str, ...]]]:
        """The user's rules of the new version: the ones given now, else the stored ones (as ``derive`` reads them)."""
        if self.channel_rules is not None:
            channel_rules = [tuple(rule) for rule in self.channel_rules]
        else:
            channel_rules = [(row["host"], row["medium"]) for row in self.sql(
                "SELECT host, medium FROM {stored_channel_rules}").collect()]
        if self.channel_group_rules is not None:
            group_rules = [rule.as_row() for rule in self.channel_group_rules]
        else:
            group_rules = [tuple(row) for row in self.sql(
                "SELECT channel_group, source, source_kind, source_pattern, medium, medium_pattern, note"
                " FROM {stored_channel_group_rules} ORDER BY position").collect()]
        self.new_rules = (channel_rules, group_rules)
        return channel_rules, group_rules

    def _number_users(self, rederive: bool) -> None:
        """The users whose journeys change, with their ``user_key``: stored ones keep theirs, new ones follow
        the highest in use. Every stored user is touched when the rules changed (their sessions are derived again)."""
        carried = "" if self.replace else (
            "UNION SELECT user_id FROM {stored_sessions}" if rederive else
            "UNION SELECT user_id FROM {stored_sessions}"
            " WHERE session_id IN (SELECT session_id FROM {incoming_conversions})"
        )
        stored_users = "(SELECT * FROM {stored_users} WHERE false)" if self.replace else "{stored_users}"
        users = self.staged("journey_users", self.sql(f"""
            SELECT a.user_id,
                   CAST(coalesce(u.user_key, (SELECT coalesce(max(user_key), 0) FROM {stored_users})
                        + row_number() OVER (PARTITION BY u.user_key IS NULL ORDER BY a.user_id)) AS INT) AS user_key
            FROM (SELECT DISTINCT user_id FROM (SELECT user_id FROM {{incoming_sessions}} {carried})) a
            LEFT JOIN {stored_users} u ON u.user_id = a.user_id
        """))
        self.journey_users = users.count()  # from the staged files' footers

    def _derived(self, name: str, rows: str, landing: str, channel_rules: list, group_rules: list) -> str:
        """Each distinct combination of ``rows`` (a view) with what it derives to, computed on the executors."""
        key = "landing_base" if landing == "incoming" else "landing_domain"
        combinations = self.sql(
            f"SELECT DISTINCT referrer, paid_click_id, utm_source, utm_medium, {key} FROM {{{rows}}}"
        )
        task = tasks.derive_combinations(landing, channel_rules, group_rules)
        return self.view(name, combinations.mapInArrow(task, tasks.DERIVED_SCHEMA))

    def _journey_sessions(self, channel_rules: list, group_rules: list, rederive: bool) -> int:
        """Every session of the touched users, new and stored, with source, medium, channel and group."""
        self._derived("incoming_derived", "incoming_sessions", "incoming", channel_rules, group_rules)
        kept = [column for column in journeys.JOURNEY_SESSION_COLUMNS if column not in derive.DERIVED_COLUMNS]
        new = ", ".join([f"i.{column}" for column in kept] + [f"d.{column}" for column in derive.DERIVED_COLUMNS])
        stored_columns = ", ".join([*kept, *derive.DERIVED_COLUMNS])  # UNION ALL matches by position
        stored = "" if self.replace else (
            f"SELECT {stored_columns} FROM {{stored_sessions}}"
            " WHERE user_id IN (SELECT user_id FROM {journey_users})"
        )
        rederived = 0
        if stored and rederive:
            self.view("stored_journey", self.sql(stored))
            self._derived("stored_derived", "stored_journey", "stored", channel_rules, group_rules)
            again = ", ".join([f"s.{column}" for column in kept] + [f"d.{column}" for column in derive.DERIVED_COLUMNS])
            stored = f"SELECT {again} FROM {{stored_journey}} s JOIN {{stored_derived}} d ON {_joined('s', 'landing_domain')}"
            rederived = self.sql("SELECT count(*) AS n FROM {stored_journey}").collect()[0]["n"]
        union = f"UNION ALL {stored}" if stored else ""
        self.view("journey_sessions", self.sql(f"""
            SELECT {new} FROM {{incoming_sessions}} i JOIN {{incoming_derived}} d ON {_joined('i', 'landing_base')}
            {union}
        """))
        conversion_columns = ", ".join(journeys.JOURNEY_CONVERSION_COLUMNS)
        stored_conversions = "" if self.replace else (
            f"UNION ALL SELECT {conversion_columns} FROM {{stored_conversions}}"
            " WHERE user_id IN (SELECT user_id FROM {journey_users})"
        )
        self.view("journey_conversions", self.sql(
            f"SELECT {conversion_columns} FROM {{incoming_conversions}} {stored_conversions}",
        ))
        return int(rederived)

    def _rebuild(self) -> int:
        """The touched users' rows of every per-user table (docs/metrics.md#roles, docs/metrics.md#touchpoints)."""
        tables = lake_tables()
        self.staged("new_sessions", self.sql(_SESSIONS.format(
            columns=", ".join(f"r.{name}" for name, _ in tables["sessions"]),
        )))
        self.staged("new_conversions", self.sql(_CONVERSIONS.format(
            columns=", ".join(
                f"c.{name}" if name in journeys.JOURNEY_CONVERSION_COLUMNS else f"s.{name}" if name in ("user_id", "user_key")
                else "row_number() OVER (PARTITION BY s.user_key ORDER BY c.converted_at, c.conversion_id) = 1"
                f" AS {name}"
                for name, _ in tables["conversions"]
            ),
        )))
        self.staged("new_users", self.sql(_USERS))
        self.view("new_user_channels", self.sql(_USER_CHANNELS))
        self.view("new_touchpoints", self.sql(_TOUCHPOINTS))
        return self.journey_users

    def _write(self, sessions_rows: int, conversions_rows: int) -> dict[str, int]:
        """Every table of the new version; returns its rows per table."""
        tables = lake_tables()
        channel_rules, group_rules = self.new_rules
        for table, columns in tables.items():
            names = ", ".join(f"`{name}`" for name, _ in columns)
            if table in USER_TABLES:
                carried = "" if self.replace else (
                    f"SELECT {names} FROM {{stored_{table}}} t LEFT ANTI JOIN {{journey_users}} j"
                    " ON t.user_key = j.user_key UNION ALL "
                )
                frame = self.sql(f"{carried}SELECT {names} FROM {{new_{table}}}")
            elif table == "channel_rules":
                frame = self.spark.createDataFrame(list(channel_rules), _schema(columns))
            elif table == "channel_group_rules":
                frame = self.spark.createDataFrame(
                    [(position, *rule) for position, rule in enumerate(group_rules, start=1)]
                    if self.channel_group_rules is not None else
                    [tuple(row) for row in self.sql("SELECT * FROM {stored_channel_group_rules}").collect()],
                    _schema(columns),
                )
            elif table == "loads":
                frame = self._loads(sessions_rows, conversions_rows, columns)
            else:
                frame = self.sql(f"SELECT {names} FROM {{stored_{table}}}")
            self._write_table(table, frame)
        return self._written_rows()

    def _loads(self, sessions_rows: int, conversions_rows: int, columns: Sequence[tuple[str, str]]) -> DataFrame:
        labels = {kind: ", ".join(found.labels) or None for kind, found in self.located.inputs.items()}
        row = (datetime.now(timezone.utc).replace(tzinfo=None), labels["sessions"], labels["conversions"],
               int(sessions_rows), int(conversions_rows), self.replace)
        names = ", ".join(f"`{name}`" for name, _ in columns)
        new = self.spark.createDataFrame([row], _schema(columns))
        return self.sql(f"SELECT {names} FROM {{stored_loads}}").unionByName(new)

    def _write_table(self, table: str, frame: DataFrame) -> None:
        uri = self.draft.table_uri(table)
        if table in PARTITIONS:
            partition, timestamp = PARTITIONS[table]
            frame = frame.selectExpr("*", f"date_format({timestamp}, 'yyyy-MM') AS {partition}")
            frame.repartition(partition).write.partitionBy(partition).mode("overwrite").parquet(uri)
        else:
            frame.coalesce(1).write.mode("overwrite").parquet(uri)

    def _written_rows(self) -> dict[str, int]:
        """Rows per written table, for the manifest: one query over the new files (their footers)."""
        counts = []
        for table, columns in lake_tables().items():
            self.view(f"written_{table}", self.spark.read.schema(_schema(columns)).parquet(self.draft.table_uri(table)))
            counts.append(f"(SELECT count(*) AS `{table}` FROM {{written_{table}}})")
        row = self.sql(f"SELECT * FROM {' CROSS JOIN '.join(counts)}").collect()[0]
        return {table: int(row[table]) for table in lake_tables()}


# --- the Spark SQL of each step ------------------------------------------------------------------

_CHECKED_SESSIONS = """
    WITH seen AS (
        SELECT session_id FROM {{incoming_sessions}}
        {stored}
    ), duplicate_ids AS (
        SELECT session_id FROM seen WHERE session_id IS NOT NULL GROUP BY session_id HAVING count(*) > 1
    )
    SELECT i.*, d.session_id IS NOT NULL AS _duplicate_id
    FROM {{incoming_sessions}} i LEFT JOIN duplicate_ids d ON i.session_id = d.session_id
"""
"""The incoming sessions with what ``rules.SESSION_RULES`` read (as ``rules.checked_sessions`` makes them)."""

_CHECKED_CONVERSIONS = """
    WITH seen AS (
        SELECT conversion_id FROM {{incoming_conversions}}
        {stored}
    ), duplicate_ids AS (
        SELECT conversion_id FROM seen WHERE conversion_id IS NOT NULL GROUP BY conversion_id HAVING count(*) > 1
    ), known_sessions AS (
        SELECT session_id, min(started_at) AS started_at FROM (
            SELECT session_id, started_at FROM {{incoming_sessions}}
            {stored_starts}
        ) GROUP BY session_id
    )
    SELECT c.*, d.conversion_id IS NOT NULL AS _duplicate_id,
           k.session_id IS NOT NULL AS _known_session, k.started_at AS _session_started_at
    FROM {{incoming_conversions}} c
    LEFT JOIN duplicate_ids d ON c.conversion_id = d.conversion_id
    LEFT JOIN known_sessions k ON c.session_id = k.session_id
"""
"""The incoming conversions with what ``rules.CONVERSION_RULES`` read (as ``rules.checked_conversions`` makes them)."""


def _stored_ids(stored: str, column: str, incoming: str, table: str | None) -> str:
    if table is None:
        return ""
    return f"UNION ALL SELECT {column} FROM {stored} WHERE {column} IN (SELECT {column} FROM {incoming})"


_SESSIONS = """
    WITH session_conversions AS (
        SELECT session_id, min(converted_at) AS first_converted_at FROM {{journey_conversions}} GROUP BY session_id
    ), ordered AS (
        SELECT s.*, u.user_key, sc.first_converted_at,
               row_number() OVER (PARTITION BY u.user_key ORDER BY s.started_at, s.session_id) AS place,
               count(sc.first_converted_at) OVER (
                   PARTITION BY u.user_key ORDER BY s.started_at, s.session_id
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS converting_before,
               count(sc.first_converted_at) OVER (PARTITION BY u.user_key) AS converting_in_journey
        FROM {{journey_sessions}} s
        JOIN {{journey_users}} u ON u.user_id = s.user_id
        LEFT JOIN session_conversions sc ON sc.session_id = s.session_id
    ), r AS (
        -- docs/metrics.md#roles: assist strictly between the first session and the first converting one,
        -- after strictly after it; attributed (docs/metrics.md#channels) at or before it.
        SELECT *, CAST(place AS INT) AS timeline_position,
               place = 1 AS is_first,
               first_converted_at IS NOT NULL AS is_converting,
               converting_in_journey > 0 AND converting_before = 0
                   AND place > 1 AND first_converted_at IS NULL AS is_assist,
               converting_before > 0 AS is_after,
               converting_in_journey > 0 AND converting_before = 0 AS is_attributed,
               timestampdiff(MICROSECOND, started_at, exited_at) AS duration_us,
               timestampdiff(MICROSECOND, started_at, first_converted_at) AS conversion_delay_us
        FROM ordered
    )
    SELECT {columns} FROM r
"""
"""The touched users' sessions with their place in the timeline and their roles (``journeys._timeline``)."""

_CONVERSIONS = """
    SELECT {columns}
    FROM {{journey_conversions}} c JOIN {{new_sessions}} s ON s.session_id = c.session_id
"""
"""Their conversions with their user; a user's first is the earliest, ties by the smallest id."""

_USERS = """
    SELECT u.user_id, s.user_key,
           CAST(count(*) AS INT) AS session_count,
           bool_or(s.is_converting) AS is_converted,
           min(s.started_at) AS first_session_started_at,
           min(s.first_converted_at) AS first_conversion_at,
           timestampdiff(MICROSECOND, min(s.started_at), min(s.first_converted_at)) AS time_to_convert_us,
           max(s.started_at) AS last_session_started_at
    FROM {new_sessions} s JOIN {journey_users} u ON u.user_key = s.user_key
    GROUP BY s.user_key, u.user_id
"""
"""One row per touched user (docs/metrics.md#user-summary, docs/metrics.md#conversion-summary)."""

_USER_CHANNELS = """
    SELECT s.user_key, s.channel, CAST(count(*) AS INT) AS sessions, first(u.is_converted) AS is_converted,
           bool_or(s.is_first) AS first_touch, bool_or(s.is_assist) AS assist_touch,
           bool_or(s.is_converting) AS converting_touch, bool_or(s.is_after) AS after_touch,
           bool_or(s.is_attributed) AS attributed
    FROM {new_sessions} s JOIN {new_users} u ON u.user_key = s.user_key
    GROUP BY s.user_key, s.channel
"""
"""One row per (touched user, channel) with the roles the channel held (docs/metrics.md#channels)."""

_TOUCHPOINTS = """
    WITH converting AS (
        SELECT c.conversion_id, c.user_key, c.converted_at, c.is_user_first, c.value,
               s.timeline_position AS conversion_position
        FROM {new_conversions} c JOIN {new_sessions} s ON s.session_id = c.session_id
    )
    SELECT c.conversion_id, c.user_key, s.session_id, s.timeline_position, c.conversion_position,
           s.started_at, s.channel,
           timestampdiff(MICROSECOND, s.started_at, c.converted_at) AS us_before_conversion,
           c.is_user_first, c.value
    FROM converting c
    JOIN {new_sessions} s ON s.user_key = c.user_key AND s.timeline_position <= c.conversion_position
"""
"""The touched users' touchpoints: each conversion with every session up to its own (docs/metrics.md#touchpoints)."""


def _joined(rows: str, landing_column: str) -> str:
    """Session rows (alias ``rows``) to their combination (alias ``d``), NULLs matching NULLs."""
    pairs = [(column, f"key_{column}") for column in ("referrer", "paid_click_id", "utm_source", "utm_medium")]
    pairs.append((landing_column, "key_landing"))
    return " AND ".join(f"{rows}.{column} <=> d.{key}" for column, key in pairs)


def _alias(name: str) -> str:
    if "`" in name:
        raise ValueError(f"a rule name is used as a column alias and cannot hold a backtick: {name}")
    return name


def _schema(columns: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"`{name}` {data_type}" for name, data_type in columns)


def _spark_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_decimal(arrow_type):
        return f"decimal({arrow_type.precision},{arrow_type.scale})"
    if pa.types.is_timestamp(arrow_type):
        return "timestamp_ntz"
    return _ARROW_TYPES[arrow_type]
