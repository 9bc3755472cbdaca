"""docs/metrics.md#trend: ``compute_timeseries`` agrees with ``tests/reference.py`` and with the documentation.

The property test loads random datasets (tests/segment_data.py: sessions
around a day, week, month and year boundary, first conversions in other
periods or outside the window) through the real loader into a real DuckDB
file and compares every interval, window and filter with the reference
model. The other tests pin what is easy to get wrong: the first period of a
window that starts mid-week or mid-month, an end exactly at a period's
first instant, the 3,700-bucket limit, the calendar's ends, the empty
cohort, the documented worked example and the CSV table.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any, Mapping

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import insights_core
from insights_core.engines import DUCKDB, DuckDBEngine
from insights_core.metrics.trend import timeseries_query, trend_periods
from insights_core.params import parse_timeseries_params
from insights_core.tables import to_csv, trend_table
from reference import reference_timeseries
from segment_data import (
    HOSTILE,
    MarkingDialect,
    code_blocks,
    cohort_parameters,
    datasets,
    docs_section,
    effective,
    load,
    store_with,
    stored_channel_groups,
    stored_conversions,
    stored_sessions,
    window_is_valid,
)

INTERVALS = [None, "", "day", "week", "month"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One real DuckDB file, reloaded (``replace``) for every example."""
    con = insights_core.connect(tmp_path_factory.mktemp("trend") / "trend.duckdb")
    yield con
    con.close()


# --- the reference model, on random data ---------------------------------------------------------

@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=st.data(), dataset=datasets())
def test_compute_timeseries_matches_reference_model(store, data, dataset):
    """Every interval, windows starting and ending anywhere (mid-week, mid-month, on midnight ± 1 µs, in other
    zones), every filter and role, one load or two appending loads (docs/metrics.md#trend)."""
    sessions, conversions = dataset
    load(store, sessions, conversions, data.draw(st.one_of(st.none(), st.integers(1, len(sessions))), label="split"))
    groups = stored_channel_groups(store)
    for _ in range(4):
        params = data.draw(cohort_parameters(sessions, conversions), label="params")
        interval = data.draw(st.sampled_from(INTERVALS), label="interval")
        if interval is not None:
            params["interval"] = interval
        if data.draw(st.booleans(), label="by group"):
            params["channel_group"] = data.draw(st.sampled_from([*groups.values(), "Nope"]), label="channel_group")
        if not window_is_valid(parse_timeseries_params, params):
            continue
        expected = reference_timeseries(effective(sessions, groups), conversions, params)
        assert insights_core.compute_timeseries(store, params) == expected, params


# --- periods -------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("interval", "start", "end", "starts"),
    [
        # A window starting on a Wednesday afternoon: its first bucket is that week's Monday.
        ("week", datetime(2025, 7, 2, 15), datetime(2025, 7, 15), ["2025-06-30", "2025-07-07", "2025-07-14"]),
        # Mid-month to mid-month: the first bucket is the 1st of the first month.
        ("month", datetime(2025, 1, 17), datetime(2025, 3, 2), ["2025-01-01", "2025-02-01", "2025-03-01"]),
        # The ISO week of New Year 2025 starts in 2024; months and days cross the year.
        ("week", datetime(2024, 12, 31, 12), datetime(2025, 1, 1, 12), ["2024-12-30"]),
        ("month", datetime(2024, 12, 31, 12), datetime(2025, 1, 1, 12), ["2024-12-01", "2025-01-01"]),
        ("day", datetime(2024, 12, 31, 23, 59), datetime(2025, 1, 1, 0, 0), ["2024-12-31", "2025-01-01"]),
        # An end exactly at a period's first instant gives that period a bucket (it holds one instant of the window).
        ("month", datetime(2025, 1, 1), datetime(2025, 2, 1), ["2025-01-01", "2025-02-01"]),
        ("week", datetime(2025, 7, 6, 23, 59, 59, 999999), datetime(2025, 7, 7), ["2025-06-30", "2025-07-07"]),
        # 2024 is a leap year: February has 29 days.
        ("day", datetime(2024, 2, 28), datetime(2024, 3, 1, 0, 0, 1), ["2024-02-28", "2024-02-29", "2024-03-01"]),
        # The calendar's ends: no period after December 9999 is ever needed; 1900-01-01 was a Monday.
        ("month", datetime(9999, 11, 5), datetime(9999, 12, 31, 23, 59, 59, 999999), ["9999-11-01", "9999-12-01"]),
        ("week", datetime(1900, 1, 1), datetime(1900, 1, 8), ["1900-01-01", "1900-01-08"]),
    ],
)
def test_periods_start_on_the_first_day_of_the_period_holding_each_end(interval, start, end, starts):
    """docs/metrics.md#trend: one bucket per period overlapping the window; `start` is the period's first day."""
    assert [day.isoformat() for day in trend_periods(interval, start, end)] == starts
    assert len(starts) == insights_core.params.bucket_count(interval, start, end)


@pytest.mark.parametrize("interval", ["day", "week", "month"])
def test_periods_are_consecutive_calendar_periods(interval):
    """Over six years: days one apart, weeks Mondays seven apart, months the 1st of each month in turn."""
    days = trend_periods(interval, datetime(2019, 12, 30, 5), datetime(2025, 3, 3, 7))
    for earlier, later in zip(days, days[1:]):
        if interval == "day":
            assert later - earlier == timedelta(days=1)
        elif interval == "week":
            assert later - earlier == timedelta(days=7) and later.weekday() == 0
        else:
            assert later.day == 1 and (later.year * 12 + later.month) - (earlier.year * 12 + earlier.month) == 1


@pytest.fixture(scope="module")
def boundary_store(tmp_path_factory):
    """Sessions on both sides of midnight, New Year and a Monday; u2 first converts weeks after the window."""
    con = store_with(
        tmp_path_factory.mktemp("boundaries"),
        "session_id,user_id,started_at\n"
        "a,u1,2024-12-29T23:59:59.999999Z\n"   # Sunday, the last instant of ISO week 2024-12-23
        "b,u1,2024-12-30T00:00:00Z\n"          # Monday: the ISO week holding New Year
        "c,u2,2024-12-31T23:59:59.999999Z\n"
        "d,u3,2025-01-01T00:00:00Z\n"
        "e,u3,2025-01-01T00:00:00.000001Z\n"
        "f,u4,2025-02-01T00:00:00Z\n",
        "conversion_id,session_id,converted_at\n"
        "x1,b,2024-12-30T00:00:00Z\n"          # u1 converts in its session's first instant
        "x2,c,2025-02-20T10:00:00Z\n"          # u2 converts weeks later
        "x3,e,2025-01-01T00:00:01Z\n"
        "x4,d,2025-01-01T00:00:02Z\n",         # a second conversion of u3: u3 is counted once
    )
    yield con
    con.close()


def _buckets(answer: Mapping[str, Any]) -> list[tuple]:
    return [(b["start"], b["sessions"], b["users"], b["converting_sessions"], b["converted_users"])
            for b in answer["timeseries"]["buckets"]]


WEEKS = [
    ("2024-12-23", 1, 1, 0, 0),   # a, on Sunday's last instant
    ("2024-12-30", 4, 3, 4, 2),   # b, c, d, e; u1 and u3 first convert this week, u2 after the window
    ("2025-01-06", 0, 0, 0, 0),
    ("2025-01-13", 0, 0, 0, 0),
    ("2025-01-20", 0, 0, 0, 0),
    ("2025-01-27", 1, 1, 0, 0),   # f, at the window's last instant (Saturday 2025-02-01 00:00)
]
MONTHS = [("2024-12-01", 3, 2, 2, 1), ("2025-01-01", 2, 1, 2, 1), ("2025-02-01", 1, 1, 0, 0)]
DAYS = {"2024-12-29": (1, 1, 0, 0), "2024-12-30": (1, 1, 1, 1), "2024-12-31": (1, 1, 1, 0),
        "2025-01-01": (2, 1, 2, 1), "2025-02-01": (1, 1, 0, 0)}


@pytest.mark.parametrize("interval", ["day", "week", "month"])
def test_sessions_and_first_conversions_fall_in_the_period_holding_their_instant(boundary_store, interval):
    """docs/metrics.md#trend over 2024-12-29 .. 2025-02-01T00:00:00Z: a microsecond decides the period;
    a converter counts once, in the period of their first conversion, and not when it lies after the window."""
    body = {"start_date": "2024-12-29", "end_date": "2025-02-01T00:00:00Z", "interval": interval}
    answer = insights_core.compute_timeseries(boundary_store, body)
    if interval == "week":
        assert _buckets(answer) == WEEKS
    elif interval == "month":
        assert _buckets(answer) == MONTHS
    else:
        buckets = _buckets(answer)
        assert len(buckets) == 35 and buckets[0][0] == "2024-12-29" and buckets[-1][0] == "2025-02-01"
        assert {start: counts for start, *counts in buckets if any(counts)} == {k: list(v) for k, v in DAYS.items()}
    assert answer == reference_timeseries(stored_sessions(boundary_store), stored_conversions(boundary_store), body)


# --- limits, defaults, the empty cohort -----------------------------------------------------------

def test_3700_buckets_are_answered_and_3701_are_a_parameter_error_naming_interval(boundary_store):
    """docs/metrics.md#trend: 2000-01-01 .. 2010-02-16 is 3,700 days; one more day is refused."""
    answer = insights_core.compute_timeseries(boundary_store, {"start_date": "2000-01-01", "end_date": "2010-02-16"})
    buckets = answer["timeseries"]["buckets"]
    assert len(buckets) == 3700 and buckets[0]["start"] == "2000-01-01" and buckets[-1]["start"] == "2010-02-16"
    assert sum(bucket["sessions"] for bucket in buckets) == 0
    with pytest.raises(insights_core.ParameterError) as caught:
        insights_core.compute_timeseries(boundary_store, {"start_date": "2000-01-01", "end_date": "2010-02-17"})
    assert caught.value.field == "interval" and "3,701 buckets" in caught.value.message
    # 300 years by month: 3,600 buckets, and u2's first conversion (2025-02-20) now lies in the window.
    by_month = insights_core.compute_timeseries(
        boundary_store, {"start_date": "1900-01-01", "end_date": "2199-12-31", "interval": "month"})
    assert len(by_month["timeseries"]["buckets"]) == 3600
    assert _buckets(by_month)[1499:1502] == [("2024-12-01", 3, 2, 2, 1), ("2025-01-01", 2, 1, 2, 1),
                                           ("2025-02-01", 1, 1, 0, 1)]


def test_default_window_is_31_daily_buckets_up_to_today(boundary_store):
    """docs/metrics.md#trend: the default window (30 days up to now) has 31 daily buckets, the first and
    last partly covered."""
    before = datetime.now(timezone.utc).date()
    buckets = insights_core.compute_timeseries(boundary_store, {})["timeseries"]["buckets"]
    after = datetime.now(timezone.utc).date()
    assert len(buckets) == 31
    assert buckets[-1]["start"] in {before.isoformat(), after.isoformat()}
    assert date.fromisoformat(buckets[0]["start"]) == date.fromisoformat(buckets[-1]["start"]) - timedelta(days=30)


@pytest.mark.parametrize("interval", ["day", "week", "month"])
def test_an_empty_cohort_is_every_bucket_with_zero_counts(boundary_store, interval):
    """docs/metrics.md#trend: no message; the chart keeps its axis."""
    body = {"start_date": "2024-12-29", "end_date": "2025-02-01T00:00:00Z", "interval": interval,
            "source": "no-such-source.example"}
    answer = insights_core.compute_timeseries(boundary_store, body)
    everyone = insights_core.compute_timeseries(boundary_store, {**body, "source": None})
    assert [bucket["start"] for bucket in answer["timeseries"]["buckets"]] == [
        bucket["start"] for bucket in everyone["timeseries"]["buckets"]]
    assert all(count == 0 for _, *counts in _buckets(answer) for count in counts)


def test_the_answer_has_the_documented_keys_in_order(boundary_store):
    answer = insights_core.compute_timeseries(boundary_store, {"start_date": "2024-12-30", "end_date": "2024-12-31"})
    assert list(answer) == ["timeseries"] and list(answer["timeseries"]) == ["interval", "buckets"]
    assert answer["timeseries"]["interval"] == "day"
    for bucket in answer["timeseries"]["buckets"]:
        assert list(bucket) == ["start", "sessions", "users", "converting_sessions", "converted_users"]
        assert all(type(bucket[key]) is int for key in list(bucket)[1:])


def test_filters_and_roles_narrow_the_counts(boundary_store):
    """A filter keeps only the matching sessions; converted users are the matching users' first conversions."""
    body = {"start_date": "2024-12-29", "end_date": "2025-02-01T00:00:00Z", "interval": "month"}
    converting = insights_core.compute_timeseries(boundary_store, {**body, "touch_scope": "converting"})
    # u1's converting session b (December); u2's c converts after the window; u3's d and e (January).
    assert _buckets(converting) == [("2024-12-01", 2, 2, 2, 1), ("2025-01-01", 2, 1, 2, 1), ("2025-02-01", 0, 0, 0, 0)]
    first = insights_core.compute_timeseries(boundary_store, {**body, "touch_scope": "first"})
    # First sessions: u1's a and u2's c (converting) in December, u3's d (converting) in January, u4's f.
    assert _buckets(first) == [("2024-12-01", 2, 2, 1, 1), ("2025-01-01", 1, 1, 1, 1), ("2025-02-01", 1, 1, 0, 0)]


# --- the documentation's worked example ---------------------------------------------------------------

@pytest.fixture(scope="module")
def worked_example(tmp_path_factory):
    """docs/metrics.md#cohort's worked example, loaded from the very CSV text the page shows."""
    sessions, conversions = code_blocks(docs_section("Cohort"), "csv")
    con = store_with(tmp_path_factory.mktemp("worked"), sessions, conversions)
    yield con
    con.close()


def test_the_documented_trend_is_the_worked_example_by_week(worked_example):
    """docs/metrics.md#trend shows the worked example, July, by week: the answer is exactly that."""
    [documented] = code_blocks(docs_section("Trend"), "json")
    answer = insights_core.compute_timeseries(
        worked_example, {"start_date": "2025-07-01", "end_date": "2025-07-31", "interval": "week"})
    assert answer == json.loads(documented)


# --- the table and its CSV ----------------------------------------------------------------------------

def test_trend_table_is_one_row_per_bucket_with_numbers_as_numbers(boundary_store):
    answer = insights_core.compute_timeseries(
        boundary_store, {"start_date": "2024-12-29", "end_date": "2025-02-01T00:00:00Z", "interval": "month"})
    table = trend_table(answer)
    assert table.names == ["start", "sessions", "users", "converting_sessions", "converted_users"]
    assert table.rows == tuple(_buckets(answer))
    assert to_csv(table) == (
        "start,sessions,users,converting_sessions,converted_users\n"
        "2024-12-01,3,2,2,1\n"
        "2025-01-01,2,1,2,1\n"
        "2025-02-01,1,1,0,0\n"
    )


# --- the engine seam ----------------------------------------------------------------------------------

@pytest.mark.parametrize("interval", ["day", "week", "month"])
def test_the_statement_leaves_engine_specific_pieces_to_the_dialect_and_binds_every_value(interval):
    """docs/architecture.md#engines: no DuckDB-only spelling outside the dialect; user values only bound."""
    body = {name: HOSTILE for name in ("source", "medium", "campaign", "content", "term", "landing_page",
                                       "channel", "channel_group", "conversion_page", "meta_type", "meta_id")}
    params = parse_timeseries_params({**body, "interval": interval, "touch_scope": "assist"})
    query = timeseries_query(params, MarkingDialect())
    for duckdb_only in ("$", "median(", "list(", "{'", "materialized (", "::"):
        assert duckdb_only not in query.sql.lower(), duckdb_only
    assert f"date_trunc('{interval}', started_at)" in query.sql
    for name in query.params:
        assert f"<param {name}>" in query.sql
    duckdb_query = timeseries_query(params, DUCKDB)
    assert HOSTILE not in duckdb_query.sql
    assert sorted(v for v in duckdb_query.params.values() if v == HOSTILE) == [HOSTILE] * len(body)


def test_a_connection_and_an_engine_give_the_same_answer(boundary_store):
    body = {"start_date": "2024-12-29", "end_date": "2025-02-01T00:00:00Z", "interval": "week"}
    assert insights_core.compute_timeseries(DuckDBEngine(boundary_store), body) == \
        insights_core.compute_timeseries(boundary_store, parse_timeseries_params(body)) == \
        insights_core.compute_timeseries(boundary_store, body)
