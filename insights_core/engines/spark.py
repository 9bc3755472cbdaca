"""The Spark engine: the same queries on Apache Spark, over the Parquet tables of a lake (docs/architecture.md#engines).

:class:`SparkDialect` is Spark SQL's spelling of the pieces in which engines
differ; everything else in a metric's statement is the SQL the DuckDB engine
runs. :class:`SparkEngine` runs a :class:`~insights_core.engines.Query`
with named parameters (``spark.sql(sql, args=…)``, never values in the
text) against temporary views named like the store's tables, and returns
the plain Python values the DuckDB engine returns, so the shared assembly
gives the same bytes (docs/scale.md).

Where the views point: a *table source*, called before every query, names
the current version of the data and its tables (:mod:`insights_core.lake`
reads the lake's pointer file). Each version gets a Spark session of its
own, holding its views, so a query that started on one version finishes on
it while the next queries read the new one, like the DuckDB store's
snapshots.

``master`` is whatever Spark accepts: ``local[N]``, ``spark://host:port``
(a standalone cluster), ``yarn``, ``k8s://…``; ``sc://host:port`` is a
Spark Connect server, and then this process only holds a thin client.
PySpark is imported only here, so the rest of the package runs without it.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Sequence

from .base import Dialect, Query

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

Progress = Callable[[int, int], None]
"""Called with (tasks done, tasks known) while a query runs: what a progress bar needs."""


class SparkDialect(Dialect):
    """Spark SQL's spelling of the engine-specific pieces."""

    name = "spark"

    def parameter(self, name: str) -> str:
        return f":{name}"

    def exact_median(self, expression: str) -> str:
        # `percentile` is exact and interpolates like DuckDB's `median` (1,2,3,4 -> 2.5);
        # Spark's `median` and `percentile_approx` are approximations.
        return f"percentile({expression}, 0.5)"

    def ordered_list(self, element: str, order_by: Sequence[str]) -> str:
        """``collect_list`` keeps no order, so the keys travel with each element and the list is sorted after.

        The comparator spells out DuckDB's order: each key ascending or
        descending as written, NULL keys last unless ``NULLS FIRST`` is written,
        strings by their bytes (both engines' default collation).
        """
        keys = [_sort_key(text) for text in order_by]
        fields = ", ".join(f"'k{index}', {key.expression}" for index, key in enumerate(keys))
        collected = f"collect_list(named_struct({fields}, 'v', {element})) FILTER (WHERE ({element}) IS NOT NULL)"
        comparisons = " ".join(key.comparison(f"k{index}") for index, key in enumerate(keys))
        comparator = f"(_a, _b) -> CASE {comparisons} ELSE 0 END"
        return f"transform(array_sort({collected}, {comparator}), _e -> _e.v)"

    def struct(self, fields: Mapping[str, str]) -> str:
        return "named_struct(" + ", ".join(f"'{name}', {expression}" for name, expression in fields.items()) + ")"

    def common_table(self, name: str, body: str, *, materialized: bool = False) -> str:
        # Spark plans reuse itself (it reuses exchanges and subqueries); there is no hint to give.
        return f"{name} AS (\n{body}\n)"

    def scaled_quotient(self, numerator: str, scale: int, denominator: str) -> str:
        # DECIMAL(38, 0) holds the product (a weight < 2^41 times 10^15); `div` of decimals is a whole BIGINT.
        return f"(CAST({numerator} AS DECIMAL(38, 0)) * {int(scale)} div {denominator})"

    def microseconds_between(self, earlier: str, later: str) -> str:
        # timestampdiff reads the stored TIMESTAMP_NTZ values as they are (no session time zone involved).
        return f"timestampdiff(MICROSECOND, {earlier}, {later})"

    def ordered_concat(self, element: str, order_by: Sequence[str]) -> str:
        # The sorted collected elements joined; NULL elements are left out, as DuckDB's string_agg leaves them.
        return f"array_join({self.ordered_list(element, order_by)}, '')"


_ORDER = re.compile(r"^(?P<expression>.*?)(?:\s+(?P<direction>ASC|DESC))?(?:\s+NULLS\s+(?P<nulls>FIRST|LAST))?\s*$",
                    re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class _SortKey:
    expression: str
    descending: bool
    nulls_first: bool

    def comparison(self, field: str) -> str:
        """``WHEN`` clauses deciding two elements by this key, or none when they tie on it."""
        a, b = f"_a.{field}", f"_b.{field}"
        before, after = ("1", "-1") if self.descending else ("-1", "1")
        null_a = "-1" if self.nulls_first else "1"
        return (
            f"WHEN {a} IS NULL AND {b} IS NOT NULL THEN {null_a} "
            f"WHEN {a} IS NOT NULL AND {b} IS NULL THEN {-int(null_a)} "
            f"WHEN {a} < {b} THEN {before} WHEN {a} > {b} THEN {after}"
        )


def _sort_key(text: str) -> _SortKey:
    """One ``ORDER BY`` item as the metrics write it: ``expression [ASC|DESC] [NULLS FIRST|LAST]``."""
    match = _ORDER.match(text.strip())
    assert match is not None  # the pattern matches any text
    return _SortKey(
        match.group("expression").strip(),
        (match.group("direction") or "ASC").upper() == "DESC",
        (match.group("nulls") or "LAST").upper() == "FIRST",  # DuckDB's default: NULLS LAST either way
    )


SPARK = SparkDialect()
"""The one Spark dialect object; dialects hold no state."""


# --- sessions -------------------------------------------------------------------------------

_MASTER = re.compile(r"^(local(\[(\*|\d+)(,\s*\d+)?\])?|spark://\S+|sc://\S+|yarn|k8s://\S+|mesos://\S+)$")

SESSION_SETTINGS: Mapping[str, str] = {
    "spark.sql.session.timeZone": "UTC",  # stored timestamps are naive UTC; bound instants are UTC
}
"""Runtime settings every session of this engine gets, on a cluster or through Spark Connect."""

APPLICATION_DEFAULTS: Mapping[str, str] = {
    "spark.ui.showConsoleProgress": "false",  # progress bars would garble the command line's output
    "spark.sql.session.timeZone": "UTC",
}
"""Settings of an application this process starts (not of a Spark Connect server, which has its own)."""


class SparkUnavailable(RuntimeError):
    """PySpark is not installed, or the master URL is not one Spark accepts."""


def check_master(master: str) -> str:
    """``master`` if Spark accepts it (``local[N]``, ``spark://``, ``sc://``, ``yarn``, ``k8s://``)."""
    if not _MASTER.match(master or ""):
        raise SparkUnavailable(
            f"not a Spark master URL: {master!r}; give local[N], spark://HOST:PORT or a Spark Connect sc://HOST:PORT"
        )
    return master


def is_connect(master: str) -> bool:
    """Whether ``master`` is a Spark Connect server (``sc://``)."""
    return master.startswith("sc://")


def spark_session(master: str, *, app_name: str = "insights", settings: Mapping[str, str] | None = None) -> SparkSession:
    """A Spark session on ``master``: this process's own application, or a Spark Connect client for ``sc://``.

    Executors run this process's Python (``PYSPARK_PYTHON`` when set, else
    this interpreter), which must have this package installed: the load's
    derivation runs there. ``settings`` are extra Spark settings; the
    cluster's own ``spark-defaults.conf`` applies as usual.
    """
    check_master(master)
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable(
            "the Spark engine needs PySpark: pip install 'insights[spark]' (and Java 17 to run Spark)"
        ) from None
    if is_connect(master):
        # The Connect client's own builder: a thin client may live beside a classic session in one process.
        from pyspark.sql.connect.session import SparkSession as ConnectSession

        builder = ConnectSession.builder.remote(master)
    else:
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = SparkSession.builder.master(master).appName(app_name)
        for key, value in APPLICATION_DEFAULTS.items():
            builder = builder.config(key, value)
    for key, value in (settings or {}).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    _prepare(session)
    return session


def _prepare(session: SparkSession) -> SparkSession:
    for key, value in SESSION_SETTINGS.items():
        session.conf.set(key, value)
    return session


def _session_is_connect(session: SparkSession) -> bool:
    return type(session).__module__.startswith("pyspark.sql.connect")


# --- tables ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParquetTable:
    """One table of a version: where its Parquet files are and its columns (name, Spark SQL type), in order.

    ``rows`` is 0 for a table without files (read as an empty relation);
    ``None`` when unknown.
    """

    uri: str
    columns: tuple[tuple[str, str], ...]
    rows: int | None = None

    def schema(self) -> str:
        return ", ".join(f"`{name}` {data_type}" for name, data_type in self.columns)


@dataclass(frozen=True)
class Tables:
    """The tables of one version of the data, by name; ``version`` identifies it (a new one, new views)."""

    version: str
    tables: Mapping[str, ParquetTable]


TableSource = Callable[[], Tables]
"""What an engine calls before each query to learn the current version (e.g. :meth:`insights_core.lake.Lake.tables`)."""


def read_table(session: SparkSession, table: ParquetTable) -> DataFrame:
    """A table's rows with exactly its declared columns, in order (partition columns of the files left out)."""
    if table.rows == 0:
        return session.createDataFrame([], table.schema())
    frame = session.read.parquet(table.uri)
    return frame.selectExpr(*(f"CAST(`{name}` AS {data_type}) AS `{name}`" for name, data_type in table.columns))


# --- the engine -----------------------------------------------------------------------------


class QueryInterrupted(RuntimeError):
    """A query stopped by :meth:`SparkEngine.interrupt`."""


@dataclass
class _Version:
    """A version's session, its views registered, and how many queries use it."""

    name: str
    session: Any
    users: int = 0


@dataclass
class _Running:
    session: Any
    tag: str
    cancelled: threading.Event
    scope: object | None = None


class SparkEngine:
    """Runs queries on Spark over the tables a :data:`TableSource` names; safe to use from several threads."""

    dialect: Dialect = SPARK

    def __init__(self, session: SparkSession, source: TableSource, *, master: str | None = None) -> None:
        self._root = _prepare(session)
        self._source = source
        self._master = master
        self._lock = threading.Lock()
        self._current: _Version | None = None
        self._running: dict[str, _Running] = {}
        self._progress = threading.local()

    @property
    def session(self) -> SparkSession:
        """The session the engine was made with (loads and tests use it directly)."""
        return self._root

    # -- queries

    def ready(self) -> None:
        """Raise when the data cannot be read now (no version yet, another schema): a health check."""
        self._source()

    def rows(self, query: Query) -> list[dict[str, Any]]:
        """Every row of ``query`` on the current version, as plain Python values (see the module docstring)."""
        return self._rows(query, None)

    def scope(self) -> SparkScope:
        """An engine over the same sessions whose :meth:`~SparkScope.interrupt` stops only its own queries:
        one computation of the HTTP API, which its time limit may cancel while others run on."""
        return SparkScope(self)

    def _rows(self, query: Query, scope: object | None) -> list[dict[str, Any]]:
        version = self._acquire()
        running = _Running(version.session, f"insights-{uuid.uuid4().hex}", threading.Event(), scope)
        with self._lock:
            self._running[running.tag] = running
        try:
            return self._collect(running, query)
        except Exception as error:
            if running.cancelled.is_set():
                raise QueryInterrupted("the query was interrupted") from error
            raise
        finally:
            with self._lock:
                self._running.pop(running.tag, None)
            self._release(version)

    def _collect(self, running: _Running, query: Query) -> list[dict[str, Any]]:
        """Run ``query`` under the call's own tag: an operation tag through Spark Connect, a job group
        on an application of this process (its jobs are what :meth:`interrupt` cancels and progress counts)."""
        session = running.session
        connect = _session_is_connect(session)
        if connect:
            session.addTag(running.tag)
        else:
            session.sparkContext.setJobGroup(running.tag, "insights query", interruptOnCancel=True)
        try:
            if running.cancelled.is_set():
                raise QueryInterrupted("the query was interrupted before it started")
            frame = _naive_utc(session.sql(query.sql, args=bound_values(query.params)))
            callback = getattr(self._progress, "callback", None)
            with self._watching(session, running.tag, callback):
                rows = frame.collect()
        finally:
            if connect:
                session.removeTag(running.tag)
            else:
                session.sparkContext.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]
        return [plain(row) for row in rows]

    def interrupt(self, scope: object | None = None) -> None:
        """Cancel every query this engine runs now (or only ``scope``'s); each raises :class:`QueryInterrupted`.

        Spark may not have started a query's jobs yet when this is called, so
        the query is interrupted again until it has ended.
        """
        with self._lock:
            running = [each for each in self._running.values() if scope is None or each.scope is scope]
        for each in running:
            each.cancelled.set()
            threading.Thread(target=self._keep_interrupting, args=(each,), daemon=True).start()

    def _keep_interrupting(self, running: _Running) -> None:
        while True:
            with self._lock:
                if running.tag not in self._running:
                    return
            try:
                if _session_is_connect(running.session):
                    running.session.interruptTag(running.tag)
                else:
                    running.session.sparkContext.cancelJobGroup(running.tag)
            except Exception:  # noqa: BLE001 - the session may be closing; the loop ends with the query
                pass
            time.sleep(0.25)

    # -- progress

    @contextmanager
    def reporting(self, callback: Progress) -> Iterator[None]:
        """Call ``callback(done, total)`` (tasks) while this thread's queries run: a dashboard's progress bar.

        On an application of this process Spark's status tracker is polled
        (twice a second) for the query's job group, and the last call says
        every task is done; through Spark Connect the server's progress
        messages are passed on as they arrive.
        """
        previous = getattr(self._progress, "callback", None)
        self._progress.callback = callback
        try:
            yield
        finally:
            self._progress.callback = previous

    @contextmanager
    def _watching(self, session: Any, group: str, callback: Progress | None) -> Iterator[None]:
        if callback is None or _session_is_connect(session):
            yield  # through Spark Connect, the session's handler passes the server's progress on
            return
        tracker = _ProgressTracker(session.sparkContext, group, callback)
        poller = threading.Thread(target=tracker.poll, daemon=True)
        poller.start()
        try:
            yield
        finally:
            tracker.stop.set()
            poller.join()
        tracker.finish()

    # -- versions

    def _acquire(self) -> _Version:
        """The current version's session (a new one with its views when the data changed), counted as in use."""
        tables = self._source()
        with self._lock:
            if self._current is None or self._current.name != tables.version:
                self._current = _Version(tables.version, self._register(tables))
            self._current.users += 1
            return self._current

    def _release(self, version: _Version) -> None:
        with self._lock:
            version.users -= 1

    def _register(self, tables: Tables) -> Any:
        """A new session with a temporary view per table of ``tables``."""
        session = self._new_session()
        if _session_is_connect(session):
            session.registerProgressHandler(_ConnectProgress(self._progress))
        for name, table in tables.tables.items():
            read_table(session, table).createOrReplaceTempView(name)
        return session

    def _new_session(self) -> Any:
        if _session_is_connect(self._root):
            from pyspark.sql.connect.session import SparkSession as ConnectSession

            if self._master is None:
                raise SparkUnavailable("a Spark Connect engine needs its sc:// URL to open sessions")
            return _prepare(ConnectSession.builder.remote(self._master).create())
        return _prepare(self._root.newSession())


class SparkScope:
    """Queries of one computation on a :class:`SparkEngine`: an engine of its own for the metrics, whose
    interrupt cancels these queries only, and every later one (the computation is over)."""

    dialect: Dialect = SPARK

    def __init__(self, engine: SparkEngine) -> None:
        self._engine = engine
        self._interrupted = False

    def rows(self, query: Query) -> list[dict[str, Any]]:
        if self._interrupted:
            raise QueryInterrupted("the computation was interrupted")
        return self._engine._rows(query, self)

    def interrupt(self) -> None:
        self._interrupted = True
        self._engine.interrupt(self)


# --- values ---------------------------------------------------------------------------------


def bound_values(params: Mapping[str, Any]) -> dict[str, Any]:
    """Bound values as Spark takes them: a naive datetime (UTC by convention) made explicitly UTC.

    PySpark turns a naive datetime into an instant in the *process's* time
    zone; an aware one is unambiguous wherever the driver runs.
    """
    return {
        name: value.replace(tzinfo=timezone.utc) if isinstance(value, datetime) and value.tzinfo is None else value
        for name, value in params.items()
    }


def _naive_utc(frame: DataFrame) -> DataFrame:
    """``frame`` with instant (``TIMESTAMP``) columns as naive UTC ``TIMESTAMP_NTZ``, which Python reads unshifted."""
    from pyspark.sql.types import TimestampType

    instants = {field.name for field in frame.schema.fields if isinstance(field.dataType, TimestampType)}
    if not instants:
        return frame
    return frame.selectExpr(*(
        f"CAST(`{name}` AS TIMESTAMP_NTZ) AS `{name}`" if name in instants else f"`{name}`" for name in frame.columns
    ))


def plain(value: Any) -> Any:
    """A Spark row or value as the plain Python the DuckDB engine returns: dicts for rows and structs, lists."""
    from pyspark.sql import Row

    if isinstance(value, Row):
        return {name: plain(item) for name, item in zip(value.__fields__, value)}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


# --- progress -------------------------------------------------------------------------------


class _ProgressTracker:
    """Polls Spark's status tracker for one job group's tasks and passes (done, total) on."""

    def __init__(self, context: Any, group: str, callback: Progress) -> None:
        self.context, self.group, self.callback = context, group, callback
        self.stop = threading.Event()
        self.total = 0

    def poll(self) -> None:
        while not self.stop.wait(0.5):
            try:
                self.once()
            except Exception:  # noqa: BLE001 - progress is advisory; the query's own errors surface elsewhere
                pass

    def once(self) -> None:
        tracker = self.context.statusTracker()
        done = total = 0
        for job_id in tracker.getJobIdsForGroup(self.group):
            job = tracker.getJobInfo(job_id)
            for stage_id in job.stageIds if job is not None else ():
                stage = tracker.getStageInfo(stage_id)
                if stage is not None:
                    done += stage.numCompletedTasks
                    total += stage.numTasks
        if total:
            self.total = max(self.total, total)
            self.callback(min(done, self.total), self.total)

    def finish(self) -> None:
        """The query has returned: every task it needed is done. A query quicker than the first poll is
        looked up once now, so its progress is reported too."""
        if not self.total:
            try:
                self.once()
            except Exception:  # noqa: BLE001 - progress is advisory
                pass
        if self.total:
            self.callback(self.total, self.total)


class _ConnectProgress:
    """A Spark Connect session's progress handler: passes (tasks done, tasks known) to the callback
    of the thread running the query (the client calls handlers on that thread)."""

    def __init__(self, callbacks: threading.local) -> None:
        self._callbacks = callbacks

    def __call__(self, stages: Any, inflight_tasks: int, operation_id: str | None, done: bool) -> None:
        callback = getattr(self._callbacks, "callback", None)
        stages = list(stages or ())
        total = sum(stage.num_tasks for stage in stages)
        if callback is not None and total:
            callback(sum(stage.num_completed_tasks for stage in stages), total)
