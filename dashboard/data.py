"""The dashboard's access to the store: one shared file handle, cached answers, loads.

The store is the file named by ``INSIGHTS_DB`` (default
``data/insights.duckdb``), opened through :class:`insights_core.storefile.StoreFile`
so that a load in one browser session (a private copy renamed over the live
file) never disturbs another session reading it. Answers are cached with
``st.cache_data`` keyed on the file's version, so a new load is seen at once
and repeated views cost nothing. Writers (uploads, demo data) go through
:meth:`StoreFile.edit`, so a failed load publishes nothing.

With ``INSIGHTS_ENGINE=spark`` (and ``INSIGHTS_LAKE``, ``INSIGHTS_SPARK_MASTER``;
docs/scale.md#running-on-spark) the answers come from Spark over the lake's
current version instead, with a progress bar while Spark runs; the filter
menus and the data summary read the same version's Parquet files with
DuckDB (a local lake), and uploads load on Spark into a new version.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from dataclasses import dataclass
from dataclasses import replace as replace_field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Protocol

import streamlit as st

from insights_core import (
    AttributionParams,
    BreakdownParams,
    InsightsParams,
    LoadError,
    LoadReport,
    TimeseriesParams,
    catalog,
    compute_attribution,
    compute_breakdown,
    compute_insights,
    compute_timeseries,
    cursor,
    load,
)
from insights_core.engines.choice import EngineSettings, EngineSettingsError, from_environment
from insights_core.storefile import StoreFile

DEFAULT_DB = "data/insights.duckdb"
"""The store when ``INSIGHTS_DB`` is not set."""

FIRST_START_DEMO_USERS = 5_000
"""Users of the demo data created on first start (the CLI's default too)."""

UPLOAD_PREFIX = "insights-upload-"
_UPLOAD_DIRECTORY = re.compile(
    re.escape(tempfile.gettempdir().rstrip(os.sep) + os.sep) + re.escape(UPLOAD_PREFIX) + r"[^/\\]+[/\\](?:sessions|conversions)[/\\]"
)

Version = tuple[int, int, int] | str | None
Progress = Callable[[str, float], None]


class Upload(Protocol):
    """What the dashboard needs of a Streamlit ``UploadedFile``."""

    name: str

    def getvalue(self) -> bytes: ...


def database_path() -> Path:
    """The store file: ``INSIGHTS_DB`` or ``data/insights.duckdb`` (relative to the working directory)."""
    return Path(os.environ.get("INSIGHTS_DB") or DEFAULT_DB)


@st.cache_resource(show_spinner=False)
def _store_files(path: str) -> tuple[StoreFile, threading.Lock]:
    """One StoreFile (and its first-start lock) per path for the whole server process."""
    return StoreFile(Path(path)), threading.Lock()


def store() -> StoreFile:
    """The shared handle on the current store file."""
    return _store_files(str(database_path().resolve()))[0]


def ensure_demo_store(store_file: StoreFile) -> bool:
    """The embedded default: create demo data when the file does not exist yet.

    Returns whether demo data was created. Safe when several sessions (or
    processes) start at once: the file lock serialises writers and a store
    that already holds sessions is left alone. A Spark lake is never filled
    with demo data.
    """
    if store_file.exists() or engine_choice().spark:
        return False
    lock = _store_files(str(store_file.path.resolve()))[1]
    with lock:
        if store_file.exists():
            return False
        with store_file.edit() as con:
            if catalog.session_span(con) is not None:
                return False
            data = _demo().generate_demo(users=FIRST_START_DEMO_USERS, end=datetime.now(timezone.utc))
            load(con, data.sessions, data.conversions, replace=True)
    return True


# --- cached reads -------------------------------------------------------------
# One cached function per core function. ``_store_file`` is not hashed (leading
# underscore); ``path`` and ``version`` identify the data, so a load (a new
# version) or another INSIGHTS_DB misses. Pages never call these directly: they
# ask a :class:`Store` (``data.current()``), which supplies the version.


@st.cache_data(max_entries=512, show_spinner=False)
def _insights(_store_file: StoreFile, path: str, version: Version, params: InsightsParams) -> dict[str, Any]:
    with _store_file.snapshot() as con:
        return compute_insights(con, params)


@st.cache_data(max_entries=512, show_spinner=False)
def _timeseries(_store_file: StoreFile, path: str, version: Version, params: TimeseriesParams) -> dict[str, Any]:
    with _store_file.snapshot() as con:
        return compute_timeseries(con, params)


@st.cache_data(max_entries=512, show_spinner=False)
def _breakdown(_store_file: StoreFile, path: str, version: Version, params: BreakdownParams) -> dict[str, Any]:
    with _store_file.snapshot() as con:
        return compute_breakdown(con, params)


CHANNEL_GROUPS_SQL = "SELECT channel, min(channel_group) FROM sessions GROUP BY channel"
"""Each stored channel's group. The group is worked out from the session's source and medium
(docs/data.md#channel-groups), so a channel (medium/source) has one group; ``min`` only picks it."""


@st.cache_data(max_entries=16, show_spinner=False)
def _channel_groups(_store_file: StoreFile, path: str, version: Version) -> dict[str, str]:
    with _store_file.snapshot() as con:
        if "channel_group" not in catalog.available_filters(con):
            return {}
        cur = cursor(con)
        try:
            return dict(cur.execute(CHANNEL_GROUPS_SQL).fetchall())
        finally:
            cur.close()


@st.cache_data(max_entries=128, show_spinner=False)
def _attribution(_store_file: StoreFile, path: str, version: Version, params: AttributionParams) -> dict[str, Any]:
    with _store_file.snapshot() as con:
        return compute_attribution(con, params)


@st.cache_data(max_entries=16, show_spinner=False)
def _available_filters(_store_file: StoreFile, path: str, version: Version) -> tuple[str, ...]:
    with _store_file.snapshot() as con:
        return catalog.available_filters(con)


@st.cache_data(max_entries=16, show_spinner=False)
def _filter_values(_store_file: StoreFile, path: str, version: Version) -> dict[str, catalog.FilterValues]:
    with _store_file.snapshot() as con:
        return catalog.all_filter_values(con)


@st.cache_data(max_entries=256, show_spinner=False)
def _matching_values(_store_file: StoreFile, path: str, version: Version, params: InsightsParams) -> dict[str, dict[str, int]]:
    with _store_file.snapshot() as con:
        return catalog.matching_values(con, params)


@st.cache_data(max_entries=16, show_spinner=False)
def _session_span(_store_file: StoreFile, path: str, version: Version) -> catalog.SessionSpan | None:
    with _store_file.snapshot() as con:
        return catalog.session_span(con)


@st.cache_data(max_entries=16, show_spinner=False)
def _store_summary(_store_file: StoreFile, path: str, version: Version) -> catalog.StoreSummary:
    with _store_file.snapshot() as con:
        return catalog.store_summary(con)


@dataclass(frozen=True)
class Store:
    """The store as published when this run began: every answer of one run comes from this version.

    The one way pages read data. Each method is one cached core call; a new
    kind of answer (a trend, a breakdown, attribution) is one more cached
    function above and one more method here.
    """

    file: StoreFile
    path: str
    version: Version

    def insights(self, params: InsightsParams) -> dict[str, Any]:
        """The insights answer (docs/metrics.md#response), or the no-data message, for ``params``."""
        return _insights(self.file, self.path, self.version, params)

    def timeseries(self, params: TimeseriesParams) -> dict[str, Any]:
        """The trend answer (docs/metrics.md#trend) for ``params``."""
        return _timeseries(self.file, self.path, self.version, params)

    def breakdown(self, params: BreakdownParams) -> dict[str, Any]:
        """The breakdown answer (docs/metrics.md#breakdown) for ``params``."""
        return _breakdown(self.file, self.path, self.version, params)

    def channel_groups(self) -> dict[str, str]:
        """Each stored channel's channel group (docs/data.md#channel-groups); empty for a store without them."""
        return _channel_groups(self.file, self.path, self.version)

    def attribution(self, params: AttributionParams) -> dict[str, Any]:
        """The attribution answer (docs/metrics.md#attribution-response), or the no-data message."""
        return _attribution(self.file, self.path, self.version, params)

    def span(self) -> catalog.SessionSpan | None:
        """First and last stored session start; ``None`` when nothing is stored."""
        return _session_span(self.file, self.path, self.version)

    def available_filters(self) -> tuple[str, ...]:
        """The filters this store can answer (its columns)."""
        return _available_filters(self.file, self.path, self.version)

    def filter_values(self) -> dict[str, catalog.FilterValues]:
        """The stored values of every filter, most frequent first."""
        return _filter_values(self.file, self.path, self.version)

    def filter_choices(self, params: InsightsParams) -> dict[str, catalog.FilterChoices]:
        """Each filter's values, those that exist under the other filters of ``params`` first."""
        matching = _matching_values(self.file, self.path, self.version, params)
        return catalog.filter_choices(self.filter_values(), matching)

    def summary(self) -> catalog.StoreSummary:
        """Counts, channels and the load log."""
        return _store_summary(self.file, self.path, self.version)


def current() -> Store:
    """The store named by ``INSIGHTS_DB``, at the version on disk now (or the lake's current version on Spark)."""
    store_file = store()
    settings = engine_choice()
    if settings.spark:
        from insights_core.engines.spark import SparkUnavailable
        from insights_core.lake import LakeError

        try:
            lake = _spark(settings)[1]
            return SparkStore(store_file, lake.uri, lake.tables().version)
        except (LakeError, SparkUnavailable) as error:  # the user's to fix: a message, never a traceback
            st.error(str(error))
            st.stop()
    return Store(store_file, str(store_file.path), store_file.version())


# --- Spark (docs/scale.md#running-on-spark) ------------------------------------


def engine_choice() -> EngineSettings:
    """``INSIGHTS_ENGINE``, ``INSIGHTS_LAKE``, ``INSIGHTS_SPARK_MASTER`` as read now (default: DuckDB); a bad
    setting stops the page with its message."""
    try:
        return from_environment(os.environ)
    except EngineSettingsError as error:
        st.error(str(error))
        st.stop()
        raise  # st.stop() raises; this line is for type checkers


@st.cache_resource(show_spinner=False)
def _spark(settings: EngineSettings) -> tuple[Any, Any]:
    """One Spark engine and lake per setting for the whole server process."""
    from insights_core.engines.choice import spark_engine
    from insights_core.lake import Lake

    return spark_engine(settings, app_name="insights dashboard"), Lake(settings.lake or "")


@st.cache_resource(show_spinner=False)
def _spark_answers() -> tuple[dict[tuple[str, str, Any], dict[str, Any]], threading.Lock]:
    """Answers computed on Spark, by (lake, version, parameters): a new version misses, as with the store."""
    return {}, threading.Lock()


SPARK_ANSWERS_KEPT = 256


def spark_progress_text(done: int, total: int) -> str:
    """The progress bar's words while Spark runs a query."""
    return f"Computing on Spark: {done:,} of {total:,} tasks done"


@dataclass(frozen=True)
class SparkStore(Store):
    """The lake's version current when this run began, answered by Spark with a progress bar.

    Answers are cached by (lake, version, parameters) like the store's; the
    catalog (filters, span, summary) is DuckDB's over the version's Parquet files.
    """

    def insights(self, params: InsightsParams) -> dict[str, Any]:
        return self._answer(compute_insights, params)

    def timeseries(self, params: TimeseriesParams) -> dict[str, Any]:
        return self._answer(compute_timeseries, params)

    def breakdown(self, params: BreakdownParams) -> dict[str, Any]:
        return self._answer(compute_breakdown, params)

    def attribution(self, params: AttributionParams) -> dict[str, Any]:
        return self._answer(compute_attribution, params)

    def channel_groups(self) -> dict[str, str]:
        with _lake_connection(self.path) as con:
            if "channel_group" not in catalog.available_filters(con):
                return {}
            return dict(con.execute(CHANNEL_GROUPS_SQL).fetchall())

    def _answer(self, compute: Callable[[Any, Any], dict[str, Any]], params: Any) -> dict[str, Any]:
        """``compute(engine, params)`` on Spark with a progress bar, cached by (lake, version, parameters)."""
        answers, lock = _spark_answers()
        key = (self.path, str(self.version), params)
        with lock:
            if key in answers:
                return answers[key]
        engine = _spark(engine_choice())[0]
        placeholder = st.empty()
        update = _progress_bar(placeholder)
        try:
            with engine.reporting(update):
                answer = compute(engine, params)
        finally:
            placeholder.empty()
        with lock:
            if len(answers) >= SPARK_ANSWERS_KEPT:
                answers.pop(next(iter(answers)))
            answers[key] = answer
        return answer

    def span(self) -> catalog.SessionSpan | None:
        return _lake_catalog(self.path, str(self.version), "span")

    def available_filters(self) -> tuple[str, ...]:
        return _lake_catalog(self.path, str(self.version), "filters")

    def filter_values(self) -> dict[str, catalog.FilterValues]:
        return _lake_catalog(self.path, str(self.version), "values")

    def filter_choices(self, params: InsightsParams) -> dict[str, catalog.FilterChoices]:
        with _lake_connection(self.path) as con:
            matching = catalog.matching_values(con, params)
        return catalog.filter_choices(self.filter_values(), matching)

    def summary(self) -> catalog.StoreSummary:
        return _lake_catalog(self.path, str(self.version), "summary")


def _progress_bar(placeholder: Any) -> Callable[[int, int], None]:
    """A callback drawing Spark's (tasks done, tasks known) in ``placeholder``, from whichever thread Spark
    reports on (a poller thread gets this script run's context first)."""
    from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

    context = get_script_run_ctx()

    def update(done: int, total: int) -> None:
        if context is not None:
            add_script_run_ctx(threading.current_thread(), context)
        placeholder.progress(min(done / total, 1.0) if total else 0.0, text=spark_progress_text(done, total))

    return update


@st.cache_data(max_entries=64, show_spinner=False)
def _lake_catalog(lake_uri: str, version: str, what: str) -> Any:
    with _lake_connection(lake_uri) as con:
        if what == "span":
            return catalog.session_span(con)
        if what == "filters":
            return catalog.available_filters(con)
        if what == "values":
            return catalog.all_filter_values(con)
        return catalog.store_summary(con)


class _lake_connection:
    """An in-memory DuckDB whose tables are views over the lake's current Parquet files (a local lake)."""

    def __init__(self, lake_uri: str) -> None:
        self.lake_uri = lake_uri

    def __enter__(self) -> Any:
        from insights_core.lake import Lake, lake_duckdb

        self.con = lake_duckdb(Lake(self.lake_uri))
        return self.con

    def __exit__(self, *exc: object) -> None:
        self.con.close()


# --- writes -------------------------------------------------------------------


def load_uploads(
    store_file: StoreFile,
    sessions: Upload | None,
    conversions: Upload | None,
    *,
    replace: bool,
    progress: Progress,
    waiting: Callable[[], None] | None = None,
) -> LoadReport:
    """Store uploaded files (all or nothing, docs/data.md#loading-rules) and return the report.

    Each upload is written under its own name into a private temporary
    directory, so the loader's messages name the user's files; the directory
    is removed from them. Raises :class:`insights_core.LoadError` when nothing
    was stored.
    """
    settings = engine_choice()
    with tempfile.TemporaryDirectory(prefix=UPLOAD_PREFIX) as directory:
        paths = {}
        for kind, upload in (("sessions", sessions), ("conversions", conversions)):
            if upload is None:
                continue
            folder = Path(directory) / kind
            folder.mkdir()
            path = folder / (Path(upload.name).name or f"{kind}.csv")
            path.write_bytes(upload.getvalue())
            paths[kind] = path
        try:
            if settings.spark:
                return _spark_load(settings, paths.get("sessions"), paths.get("conversions"), replace, progress)
            with store_file.edit(waiting=waiting) as con:
                return load(
                    con, paths.get("sessions"), paths.get("conversions"), replace=replace, progress=progress
                )
        except LoadError as error:
            raise LoadError(
                uploaded_names(str(error)),
                [replace_field(violation, file=uploaded_names(violation.file)) for violation in error.violations],
            ) from None


def uploaded_names(text: str) -> str:
    """``/tmp/insights-upload-x1/sessions/visits.csv`` -> ``visits.csv`` wherever it occurs in ``text``.

    Loads from the dashboard record their files under a temporary directory;
    people know them by the name they uploaded.
    """
    return _UPLOAD_DIRECTORY.sub("", text)


def create_demo(store_file: StoreFile, users: int, seed: int, progress: Progress) -> LoadReport:
    """Replace the stored data with ``users`` demo users ending now."""
    progress("generating demo data", 0.0)
    data = _demo().generate_demo(users=users, seed=seed, end=datetime.now(timezone.utc))
    settings = engine_choice()
    if settings.spark:
        return _spark_load(settings, data.sessions, data.conversions, True, progress)
    with store_file.edit() as con:
        return load(con, data.sessions, data.conversions, replace=True, progress=progress)


def _spark_load(settings: EngineSettings, sessions: Any, conversions: Any, replace: bool, progress: Progress) -> LoadReport:
    """docs/scale.md#loading-on-spark: the same rules and report, a new version of the lake."""
    from insights_core.lake.load import load as spark_load

    engine, lake = _spark(settings)
    return spark_load(engine.session, lake, sessions, conversions, replace=replace, progress=progress)


def _demo():
    """The demo generator, imported when demo data is made: it costs half a second to import, which
    every first page view of a server would otherwise pay."""
    from insights_core import demo

    return demo
