"""The Spark engine answers byte for byte what the DuckDB engine answers (docs/architecture.md#engines).

The same rows reach both engines: hypothesis datasets are loaded into a
DuckDB store by the real loader, and the store's tables are copied into a
lake (``copy_store``), which Spark reads on the two-worker cluster. Every
parameter combination drawn must give the same ``to_json`` bytes. The
examples are few (each costs several Spark jobs on a shared 2-core machine)
and are not shrunk; a failure prints the dataset and parameters.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import insights_core
from insights_core.engines import Query
from insights_core.engines.spark import QueryInterrupted, SparkEngine
from insights_core.lake import Lake, copy_store
from insights_core.metrics import to_json
from spark_support import example_dataset
from test_compute_vs_reference import _load, datasets, parameter_sets

SPARK_EXAMPLES = settings(
    max_examples=2, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
"""A few examples, never shrunk: each one loads a lake and runs several Spark jobs."""


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    con = insights_core.connect(tmp_path_factory.mktemp("spark-engine") / "store.duckdb")
    yield con
    con.close()


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Lake:
    return Lake(tmp_path_factory.mktemp("spark-engine") / "lake")


@pytest.fixture(scope="module")
def engine(spark, lake) -> SparkEngine:
    return SparkEngine(spark, lake.tables)


def _valid(params: dict) -> bool:
    try:
        insights_core.parse_params(params)
    except insights_core.ParameterError as error:
        assert error.field == "start_date"  # only a reversed window can be invalid here
        return False
    return True


@SPARK_EXAMPLES
@given(data=st.data(), dataset=datasets())
def test_insights_are_byte_identical_on_the_cluster(store, lake, engine, data, dataset):
    """docs/metrics.md#response on random data, one load or two appending ones, through spark://."""
    sessions, conversions = dataset
    split = data.draw(st.one_of(st.none(), st.integers(1, len(sessions))), label="split")
    _load(store, sessions, conversions, split)
    copy_store(store, lake)
    for _ in range(3):
        params = data.draw(parameter_sets(sessions, conversions), label="params")
        if _valid(params):
            expected = to_json(insights_core.compute_insights(store, params))
            assert to_json(insights_core.compute_insights(engine, params)) == expected, params


def test_no_matching_user_is_the_documented_message(store, lake, engine):
    """docs/metrics.md#cohort: an empty cohort answers the message on Spark too (empty aggregates, empty lists)."""
    sessions, conversions = example_dataset()
    _load(store, sessions, conversions, None)
    copy_store(store, lake)
    params = {"start_date": "1999-01-01", "end_date": "1999-01-02"}
    answer = insights_core.compute_insights(engine, params)
    assert answer == {"message": insights_core.NO_DATA_MESSAGE}


def test_a_reader_switches_to_a_new_version_between_queries(store, lake, engine):
    """docs/scale.md#the-lake: each query reads the version current when it starts."""
    sessions, conversions = example_dataset()
    _load(store, sessions, conversions, None)
    copy_store(store, lake)
    count = Query("SELECT count(*) AS n FROM sessions")
    assert engine.rows(count) == [{"n": len(sessions)}]
    _load(store, sessions[:1], [c for c in conversions if c["session_id"] == sessions[0]["session_id"]], None)
    copy_store(store, lake)
    assert engine.rows(count) == [{"n": 1}]


def test_values_come_back_as_plain_python(engine, store, lake):
    """docs/architecture.md#engines: ints (not Decimals) for integer results, dicts for structs, lists, naive UTC."""
    sessions, conversions = example_dataset()
    _load(store, sessions, conversions, None)
    copy_store(store, lake)
    [row] = engine.rows(Query(
        "SELECT count(*) AS n, sum(timeline_position) AS total, max(started_at) AS latest,"
        " named_struct('a', 1, 'b', 'x') AS pair, array(1, 2) AS numbers,"
        " CAST(:instant AS TIMESTAMP) AS instant, percentile(duration_us, 0.5) AS median FROM sessions",
        {"instant": datetime(2025, 7, 1, 12, 30)},
    ))
    assert type(row["n"]) is int and type(row["total"]) is int
    assert row["latest"] == max(s["started_at"] for s in sessions) and row["latest"].tzinfo is None
    assert row["pair"] == {"a": 1, "b": "x"} and row["numbers"] == [1, 2]
    assert str(row["instant"]) == "2025-07-01 12:30:00"
    assert row["median"] is None or type(row["median"]) is float


def test_interrupt_stops_a_running_query(engine, store, lake):
    """The API's time limit calls interrupt(): the running query raises instead of running on.

    It is interrupted once Spark reports its first tasks (the query is running on the executors), not after
    a fixed pause, which a loaded machine may not have spent starting it."""
    copy_store(store, lake)
    outcome: list[BaseException | None] = []
    running = threading.Event()

    def run() -> None:
        try:
            with engine.reporting(lambda done, total: running.set()):
                engine.rows(Query("SELECT count(*) AS n FROM range(100000000000) a WHERE a.id % 7 = 3"))
            outcome.append(None)
        except BaseException as error:  # noqa: BLE001 - recorded for the assertion
            outcome.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    assert running.wait(timeout=300), "the query never reported running tasks"
    began = time.monotonic()
    engine.interrupt()
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert isinstance(outcome[0], QueryInterrupted)
    assert time.monotonic() - began < 120


def test_progress_is_reported_while_a_query_runs(engine, store, lake):
    """The dashboard's progress hook: (tasks done, tasks known) while the query runs, ending complete."""
    copy_store(store, lake)
    seen: list[tuple[int, int]] = []
    with engine.reporting(lambda done, total: seen.append((done, total))):
        engine.rows(Query("SELECT count(*) AS n FROM range(0, 20000000, 1, 8) WHERE id % 3 = 0"))
    assert seen, "no progress reported"
    assert all(0 <= done <= total for done, total in seen)
    assert seen[-1][0] == seen[-1][1]


@settings(max_examples=1, deadline=None, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), dataset=datasets())
def test_insights_through_spark_connect(store, lake, connect_url, data, dataset):
    """The same bytes through a Spark Connect server (sc://), whose own application runs on the cluster."""
    from insights_core.engines.spark import spark_session

    sessions, conversions = dataset
    _load(store, sessions, conversions, None)
    copy_store(store, lake)
    engine = SparkEngine(spark_session(connect_url), lake.tables, master=connect_url)
    for _ in range(2):
        params = data.draw(parameter_sets(sessions, conversions), label="params")
        if _valid(params):
            expected = to_json(insights_core.compute_insights(store, params))
            assert to_json(insights_core.compute_insights(engine, params)) == expected, params
