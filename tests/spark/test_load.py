"""Loading on Spark stores what the DuckDB load stores, and refuses what it refuses, in the same words.

docs/data.md#loading-rules, docs/data.md#source-and-medium, docs/scale.md#loading-on-spark.
The same files go through both loads (``insights_core.load`` into a DuckDB
store, ``insights_core.lake.load.load`` into a lake on the two-worker
cluster); every stored table must hold the same rows (user numbers aside:
each engine numbers new users in its own order) and every refusal must be
the same message. Each Spark load is tens of seconds of cluster time on a
shared 2-core machine, so the cases are few and each covers much.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import insights_core
from insights_core.engines.spark import SparkEngine
from insights_core.lake import Lake, copy_store, lake_tables
from insights_core.lake.load import load as spark_load
from insights_core.metrics import to_json
from test_compute_vs_reference import CONVERSION_TYPES, SESSION_TYPES, _arrow, datasets, parameter_sets

NUMBERING = {"user_key", "loaded_at"}
"""Columns that legitimately differ: new users' numbers (any order) and the moment of the load."""


def stored_rows(con, table: str) -> list[tuple]:
    columns = [name for name, _ in lake_tables()[table] if name not in NUMBERING]
    cur = insights_core.cursor(con)
    try:
        rows = cur.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
    finally:
        cur.close()
    return sorted(rows, key=repr)


def lake_rows(spark, lake: Lake, table: str) -> list[tuple]:
    from insights_core.engines.spark import read_table

    columns = [name for name, _ in lake_tables()[table] if name not in NUMBERING]
    frame = read_table(spark, lake.tables().tables[table]).select(*columns)
    return sorted((tuple(row) for row in frame.collect()), key=repr)


def assert_same_tables(con, spark, lake: Lake) -> None:
    for table in lake_tables():
        assert lake_rows(spark, lake, table) == stored_rows(con, table), table


def user_numbers_consistent(spark, lake: Lake) -> None:
    """Whatever the numbers, a user has one, and every table agrees on it."""
    [row] = SparkEngine(spark, lake.tables).rows(insights_core.Query("""
        SELECT (SELECT count(DISTINCT user_key) FROM users) AS keys, (SELECT count(*) FROM users) AS users,
               (SELECT count(*) FROM sessions s LEFT ANTI JOIN users u ON s.user_key = u.user_key) AS strays,
               (SELECT count(*) FROM sessions s JOIN users u ON s.user_key = u.user_key WHERE s.user_id <> u.user_id)
                   AS mismatched
    """))
    assert row["keys"] == row["users"] and row["strays"] == 0 and row["mismatched"] == 0


@pytest.fixture()
def store(tmp_path):
    con = insights_core.connect(tmp_path / "store.duckdb")
    yield con
    con.close()


@settings(max_examples=1, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), dataset=datasets())
def test_loads_store_what_duckdb_stores(spark, tmp_path_factory, data, dataset):
    """One load, then an appending one (conversions of stored sessions among them): every table the same,
    and the answers byte-identical (docs/data.md#appending-and-replacing)."""
    sessions, conversions = dataset
    split = data.draw(st.integers(1, len(sessions)), label="split")
    first_ids = {s["session_id"] for s in sessions[:split]}
    early = [c for c in conversions if c["session_id"] in first_ids and int(c["conversion_id"][1:]) % 2 == 0]
    late = [c for c in conversions if c not in early]
    batches = [(sessions[:split], early, True), (sessions[split:], late, False)]
    directory = tmp_path_factory.mktemp("spark-load")
    con = insights_core.connect(directory / "store.duckdb")
    lake = Lake(directory / "lake")
    try:
        for batch_sessions, batch_conversions, replace in batches:
            arrows = _arrow(batch_sessions, SESSION_TYPES), _arrow(batch_conversions, CONVERSION_TYPES)
            duck = insights_core.load(con, *arrows, replace=replace)
            spark_report = spark_load(spark, lake, *arrows, replace=replace)
            assert (spark_report.sessions_rows, spark_report.conversions_rows, spark_report.users_recomputed) == (
                duck.sessions_rows, duck.conversions_rows, duck.users_recomputed)
        assert_same_tables(con, spark, lake)
        user_numbers_consistent(spark, lake)
        engine = SparkEngine(spark, lake.tables)
        params = data.draw(parameter_sets(sessions, conversions), label="params")
        try:
            insights_core.parse_params(params)
        except insights_core.ParameterError:
            return
        assert to_json(insights_core.compute_insights(engine, params)) == to_json(
            insights_core.compute_insights(con, params))
    finally:
        con.close()


SESSIONS = """\
session_id,user_id,started_at,exited_at,landing_page,referrer,utm_source
s1,u1,2025-07-01T10:00:00Z,2025-07-01T10:05:00Z,https://www.acme.test/?gclid=x,https://www.google.co.uk/search,
s2,u1,2025-07-02 09:00:00+02:00,,https://acme.test/pricing?utm_medium=email&utm_source=News+Letter,,
s3,u2,2025-07-03T11:00:00,2025-07-03T11:00:30,https://acme.test/blog,https://l.facebook.com/x,
s4,u3,2025-07-04T12:00:00Z,,https://acme.test/,https://chatgpt.com/,
s5,u3,2025-07-05T12:00:00Z,,https://acme.test/?msclkid=1,,Partner%20Site
"""
CONVERSIONS = """\
conversion_id,session_id,converted_at,conversion_page,meta_type,meta_id,value
c1,s2,2025-07-02T08:00:00Z,https://acme.test/demo,hubspot_form,f1,12.50
c2,s4,2025-07-04T12:01:00Z,,custom,trial,
c3,s4,2025-07-04T12:02:00Z,,custom,trial,0.000001
"""


def test_csv_files_and_rules_files_load_as_on_duckdb(spark, store, tmp_path):
    """CSV files (offsets, referrers, click ids, URL-encoded UTM values), then new channel rules that re-derive
    every stored session: the same tables, the same report."""
    (tmp_path / "sessions.csv").write_text(SESSIONS)
    (tmp_path / "conversions.csv").write_text(CONVERSIONS)
    lake = Lake(tmp_path / "lake")
    files = str(tmp_path / "sessions.csv"), str(tmp_path / "conversions.csv")
    duck = insights_core.load(store, *files)
    mine = spark_load(spark, lake, *files)
    assert mine.lines()[1:] == duck.lines()[1:] and (mine.sessions_rows, mine.conversions_rows) == (5, 3)
    rules = [("acme.test", "referral"), ("chatgpt.com", "social")]
    duck = insights_core.load(store, channel_rules=rules)
    mine = spark_load(spark, lake, channel_rules=rules)
    assert mine.sessions_rederived == duck.sessions_rederived == 5
    assert_same_tables(store, spark, lake)


def _refusal(action) -> str:
    with pytest.raises(insights_core.LoadError) as raised:
        action()
    return str(raised.value)


def test_refused_loads_say_what_duckdb_says_and_change_nothing(spark, store, tmp_path):
    """docs/data.md#loading-rules: the file, the rule, the count, the first five rows, for several files and
    rules at once, against stored ids too; a malformed CSV row first. Readers stay on the version they had."""
    (tmp_path / "sessions.csv").write_text(SESSIONS)
    (tmp_path / "conversions.csv").write_text(CONVERSIONS)
    lake = Lake(tmp_path / "lake")
    insights_core.load(store, tmp_path / "sessions.csv", tmp_path / "conversions.csv")
    before = copy_store(store, lake)  # the stored rows; Spark's load of them is the test above's

    bad = tmp_path / "bad"
    (bad / "sessions").mkdir(parents=True)
    rows = ["session_id,user_id,started_at,exited_at"]
    rows += [f"n{i},u9,2025-08-01T10:00:00Z," for i in range(3)]
    rows += ["s1,u9,2025-08-01T10:00:00Z,", "n9,u9,2025-08-01T10:00:00Z,2025-07-01T00:00:00Z", "n8,,2025/08/01,"]
    rows += [f"m{i},u9,not a time," for i in range(7)]
    (bad / "sessions" / "a.csv").write_text("\n".join(rows) + "\n")
    (bad / "sessions" / "b.csv").write_text("session_id,user_id,started_at\nn0,u8,2025-08-02T00:00:00Z\nx1,u8,1899-12-31T23:00:00Z\n")
    (bad / "conversions.csv").write_text(
        "conversion_id,session_id,converted_at,value\n"
        "c1,s1,2025-07-01T10:01:00Z,1\nk2,nope,2025-08-01T00:00:00Z,-1\nk3,s3,2025-07-01T00:00:00Z,abc\n"
    )
    sessions_glob, conversions_file = str(bad / "sessions" / "*.csv"), str(bad / "conversions.csv")
    expected = _refusal(lambda: insights_core.load(store, sessions_glob, conversions_file))
    assert _refusal(lambda: spark_load(spark, lake, sessions_glob, conversions_file)) == expected
    # n0 is in a.csv and b.csv, s1 is stored already: rows 1 and 4 of a.csv, row 1 of b.csv.
    assert 'a.csv: rule "duplicate id": 2 bad rows (rows 1, 4)' in expected
    assert 'b.csv: rule "duplicate id": 1 bad row (row 1)' in expected

    (bad / "malformed.csv").write_text('session_id,user_id,started_at\nq1,u1,2025-07-01T00:00:00Z\nq2,"u2\nq3,u3\n')
    expected = _refusal(lambda: insights_core.load(store, str(bad / "malformed.csv")))
    assert _refusal(lambda: spark_load(spark, lake, str(bad / "malformed.csv"))) == expected
    assert lake.current() == before
    assert sorted(p.name for p in (Path(lake.location.path) / "versions").iterdir()) == [before.name]
