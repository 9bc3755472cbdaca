"""docs/architecture.md#engines: the seam between the metrics and a SQL engine.

The metrics build :class:`Query` objects from the parameters and a dialect;
an engine runs them. These tests pin what the seam promises: DuckDB's spelling
of every engine-specific piece behaves as the dialect documents it, the shared
SQL uses no engine-specific spelling outside the dialect (so a Spark dialect
can take its place), user values only travel as bound parameters, and one
engine serves many threads.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

import duckdb
import pytest

import insights_core
from insights_core.engines import DUCKDB, Dialect, DuckDBEngine, Engine, Query, engine_for
from insights_core.metrics.insights import insights_query
from insights_core.params import parse_params
from support import make_demo_db

BODY = {"start_date": "2025-06-01", "end_date": "2025-08-10"}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    db = make_demo_db(tmp_path_factory.mktemp("engines") / "demo.duckdb", users=300, seed=4,
                      end=datetime(2025, 8, 10, tzinfo=timezone.utc))
    con = insights_core.connect(db, read_only=True)
    yield con
    con.close()


def scalar(engine: Engine, sql: str, **params: Any) -> Any:
    [row] = engine.rows(Query(sql, params))
    [value] = row.values()
    return value


# --- the DuckDB dialect does what the dialect promises -------------------------------------------

def test_exact_median_is_the_mean_of_the_two_middle_values(store):
    engine = DuckDBEngine(store)
    values = "(VALUES (1), (2), (3), (4)) t(x)"
    assert scalar(engine, f"SELECT {DUCKDB.exact_median('x')} FROM {values}") == 2.5
    # Microsecond durations of weeks stay exact: (604800000001 + 604800000002) / 2.
    big = "(VALUES (604800000001::BIGINT), (604800000002::BIGINT)) t(x)"
    assert scalar(engine, f"SELECT {DUCKDB.exact_median('x')} FROM {big}") == 604800000001.5
    # A single aggregate call, so a FILTER clause can follow it.
    assert scalar(engine, f"SELECT {DUCKDB.exact_median('x')} FILTER (WHERE x > 1) FROM {values}") == 3.0


def test_ordered_list_orders_drops_nulls_and_is_empty_over_no_rows(store):
    engine = DuckDBEngine(store)
    rows = "(VALUES (2, 'b'), (NULL, 'n'), (1, 'a'), (3, NULL)) t(x, y)"
    assert scalar(engine, f"SELECT {DUCKDB.ordered_list('x', ['x DESC'])} FROM {rows}") == [3, 2, 1]
    assert scalar(engine, f"SELECT {DUCKDB.ordered_list('y', ['x'])} FROM {rows}") == ["a", "b", "n"]
    assert scalar(engine, f"SELECT {DUCKDB.ordered_list('x', ['x'])} FROM {rows} WHERE false") == []


def test_struct_comes_back_as_a_dict_in_field_order(store):
    engine = DuckDBEngine(store)
    struct = DUCKDB.struct({"channel": "'organic/google.com'", "total_sessions": "3::INTEGER"})
    value = scalar(engine, f"SELECT {struct}")
    assert value == {"channel": "organic/google.com", "total_sessions": 3}
    assert list(value) == ["channel", "total_sessions"]
    listed = DUCKDB.ordered_list(DUCKDB.struct({"x": "x"}), ["x"])
    assert scalar(engine, f"SELECT {listed} FROM (VALUES (2), (1)) t(x)") == [{"x": 1}, {"x": 2}]


def test_parameters_bind_values_of_every_kind(store):
    engine = DuckDBEngine(store)
    moment = datetime(2025, 7, 1, 10, 0, 0, 500_000)
    [row] = engine.rows(Query(
        f"SELECT {DUCKDB.parameter('text')} AS text, {DUCKDB.parameter('moment')} AS moment,"
        f" {DUCKDB.parameter('number')} + 1 AS number",
        {"text": "x' OR '1'='1", "moment": moment, "number": 41},
    ))
    assert row == {"text": "x' OR '1'='1", "moment": moment, "number": 42}


def test_common_table_materialised_or_not_gives_the_same_rows(store):
    engine = DuckDBEngine(store)
    for materialized in (False, True):
        table = DUCKDB.common_table("numbers", "SELECT 1 AS n UNION ALL SELECT 2", materialized=materialized)
        assert engine.rows(Query(f"WITH {table} SELECT sum(n) AS total FROM numbers")) == [{"total": 3}]


def test_integer_sums_come_back_as_python_ints(store):
    """DuckDB sums INTEGER columns as HUGEINT; the engine hands back plain ints all the same."""
    value = scalar(DuckDBEngine(store), "SELECT sum(session_count) FROM users")
    assert type(value) is int and value > 300


# --- the shared SQL leaves every engine-specific piece to the dialect ----------------------------

class MarkedDialect(Dialect):
    """A dialect spelling every piece as a marker, to see what the shared SQL writes itself."""

    name = "marked"

    def parameter(self, name: str) -> str:
        return f"<param {name}>"

    def exact_median(self, expression: str) -> str:
        return f"<median {expression}>"

    def ordered_list(self, element: str, order_by: Sequence[str]) -> str:
        return f"<list {element} by {', '.join(order_by)}>"

    def struct(self, fields: Mapping[str, str]) -> str:
        return f"<struct {', '.join(fields)}>"

    def common_table(self, name: str, body: str, *, materialized: bool = False) -> str:
        return f"{name} AS <{'materialized' if materialized else 'table'}>({body})"

    def scaled_quotient(self, numerator: str, scale: int, denominator: str) -> str:
        return f"<quotient {numerator} x {scale} by {denominator}>"

    def microseconds_between(self, earlier: str, later: str) -> str:
        return f"<microseconds {earlier} to {later}>"

    def previous_value(self, expression: str, partition: str, order: str) -> str:
        return f"<previous {expression} in {partition} by {order}>"

    def ordered_concat(self, element: str, order_by: Sequence[str]) -> str:
        return f"<concat {element} by {', '.join(order_by)}>"


@pytest.mark.parametrize("body", [
    {},
    {"source": "google.com", "channel": "organic/google.com", "channel_group": "Organic Search",
     "meta_type": "custom", "conversion_page": "https://a.test/", "touch_scope": "assist"},
])
def test_the_insights_statement_uses_the_dialect_for_every_engine_specific_piece(body):
    """No DuckDB-only spelling (``$name``, ``median(``, ``list(``, ``{'``, ``MATERIALIZED``) is
    written outside the dialect: with a marking dialect none of them appears."""
    query = insights_query(parse_params(body), MarkedDialect())
    text = query.sql.lower()
    for duckdb_only in ("$", "median(", "list(", "{'", "materialized (", "struct_pack", "::"):
        assert duckdb_only not in text, duckdb_only
    for name in query.params:
        assert f"<param {name}>" in query.sql
    assert "<median " in query.sql and "<list <struct channel, " in query.sql


def test_user_values_travel_only_as_bound_parameters():
    """A hostile filter value never reaches the SQL text (docs: bind parameters, allowlisted columns)."""
    hostile = "x'); DROP TABLE sessions; --"
    body = {name: hostile for name in ("source", "medium", "campaign", "content", "term", "landing_page",
                                       "channel", "channel_group", "conversion_page", "meta_type", "meta_id")}
    query = insights_query(parse_params(body), DUCKDB)
    assert hostile not in query.sql
    assert sorted(value for value in query.params.values() if value == hostile) == [hostile] * len(body)


# --- engines and connections -------------------------------------------------------------------

class RecordingEngine:
    """A real DuckDB engine that also keeps the queries it was given."""

    def __init__(self, inner: DuckDBEngine) -> None:
        self.inner = inner
        self.dialect = inner.dialect
        self.queries: list[Query] = []

    def rows(self, query: Query) -> list[dict[str, Any]]:
        self.queries.append(query)
        return self.inner.rows(query)

    def interrupt(self) -> None:
        self.inner.interrupt()


def test_compute_insights_takes_a_connection_or_an_engine(store):
    """The same answer through a DuckDB connection, a DuckDB engine or any object with the seam's methods."""
    recording = RecordingEngine(DuckDBEngine(store))
    by_connection = insights_core.compute_insights(store, BODY)
    assert insights_core.compute_insights(DuckDBEngine(store), BODY) == by_connection
    assert insights_core.compute_insights(recording, BODY) == by_connection
    assert "overall_metrics" in by_connection
    [query] = recording.queries  # one statement per answer
    assert query == insights_query(parse_params(BODY), DUCKDB)


def test_engine_for():
    con = duckdb.connect()
    try:
        assert isinstance(engine_for(con), DuckDBEngine)
        engine = DuckDBEngine(con)
        assert engine_for(engine) is engine
        assert isinstance(engine, Engine)
    finally:
        con.close()
    with pytest.raises(TypeError, match="DuckDB connection"):
        engine_for("data/insights.duckdb")


def test_one_engine_serves_many_threads(store):
    """A cursor per query: eight threads at once get the answer one thread gets."""
    engine = DuckDBEngine(store)
    expected = insights_core.compute_insights(engine, BODY)
    bodies = [BODY, {**BODY, "touch_scope": "first"}] * 8
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda body: insights_core.compute_insights(engine, body), bodies))
    assert answers[::2] == [expected] * 8
    assert answers[1] != expected and all(answer == answers[1] for answer in answers[1::2])


def test_interrupt_cancels_a_running_query(store):
    """A time limit calls interrupt(): the running query raises instead of running on."""
    engine = DuckDBEngine(store)
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            engine.rows(Query("SELECT sum(a.range * b.range) AS s FROM range(1000000) a, range(1000000) b"))
        except BaseException as error:  # noqa: BLE001 - the test inspects it
            outcome.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 30
    while thread.is_alive() and time.monotonic() < deadline:
        engine.interrupt()  # again until it lands: the query may not have started at the first call
        thread.join(0.05)
    assert not thread.is_alive(), "the query was not interrupted"
    assert len(outcome) == 1 and isinstance(outcome[0], duckdb.InterruptException)
    assert engine.rows(Query("SELECT 1 AS one")) == [{"one": 1}]  # the engine still works
