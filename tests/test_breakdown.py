"""docs/metrics.md#breakdown: ``compute_breakdown`` agrees with ``tests/reference.py`` and with the documentation.

The property test loads random datasets (tests/segment_data.py) through the
real loader into a real DuckDB file and compares every dimension, limit,
window and filter with the reference model. The other tests pin the order
(sessions, then values by code point, the ``null`` row after the others of
its session count), the limit, the empty cohort, the documented worked
example, the CSV table and the engine seam.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import insights_core
from insights_core.engines import DUCKDB, DuckDBEngine
from insights_core.metrics.breakdown import breakdown_query
from insights_core.params import parse_breakdown_params
from insights_core.tables import breakdown_table, to_csv
from insights_core.vocabulary import BREAKDOWN_DIMENSIONS
from reference import reference_breakdown
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

LIMITS = [None, "", 1, 2, 3, 100, 1000]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One real DuckDB file, reloaded (``replace``) for every example."""
    con = insights_core.connect(tmp_path_factory.mktemp("breakdown") / "breakdown.duckdb")
    yield con
    con.close()


# --- the reference model, on random data ---------------------------------------------------------

@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=st.data(), dataset=datasets())
def test_compute_breakdown_matches_reference_model(store, data, dataset):
    """Every dimension (null values, values differing in case only, unicode), every limit, windows, filters and
    roles, one load or two appending loads (docs/metrics.md#breakdown)."""
    sessions, conversions = dataset
    load(store, sessions, conversions, data.draw(st.one_of(st.none(), st.integers(1, len(sessions))), label="split"))
    groups = stored_channel_groups(store)
    for _ in range(4):
        params = data.draw(cohort_parameters(sessions, conversions), label="params")
        params["dimension"] = data.draw(st.sampled_from(list(BREAKDOWN_DIMENSIONS)), label="dimension")
        limit = data.draw(st.sampled_from(LIMITS), label="limit")
        if limit is not None:
            params["limit"] = limit
        if data.draw(st.booleans(), label="by group"):
            params["channel_group"] = data.draw(st.sampled_from([*groups.values(), "Nope"]), label="channel_group")
        if not window_is_valid(parse_breakdown_params, params):
            continue
        expected = reference_breakdown(effective(sessions, groups), conversions, params)
        assert insights_core.compute_breakdown(store, params) == expected, params


def test_channel_group_breakdown_matches_reference_model(tmp_path):
    """docs/metrics.md#breakdown by `channel_group`, and the `channel_group` filter, on the groups the loader
    derived from real referrers and tags (docs/data.md#channel-groups)."""
    con = store_with(
        tmp_path,
        "session_id,user_id,started_at,referrer,landing_page\n"
        "s1,u1,2025-07-01T10:00:00Z,https://www.google.com/,https://acme.test/\n"
        "s2,u1,2025-07-02T10:00:00Z,,https://acme.test/?utm_source=newsletter&utm_medium=email\n"
        "s3,u2,2025-07-02T11:00:00Z,,https://acme.test/?gclid=1\n"
        "s4,u3,2025-07-03T11:00:00Z,,https://acme.test/\n"
        "s5,u4,2025-07-03T12:00:00Z,https://l.facebook.com/,https://acme.test/\n",
        "conversion_id,session_id,converted_at\nc1,s2,2025-07-02T10:05:00Z\nc2,s4,2025-07-03T11:01:00Z\n",
    )
    try:
        groups = stored_channel_groups(con)
        assert groups == {"s1": "Organic Search", "s2": "Email", "s3": "Paid Search", "s4": "Direct",
                          "s5": "Organic Social"}
        sessions = [dict(row, channel_group=groups[row["session_id"]]) for row in stored_sessions(con)]
        conversions = stored_conversions(con)
        for body in ({"dimension": "channel_group"},
                     {"dimension": "channel", "channel_group": "Organic Search"},
                     {"dimension": "channel_group", "channel_group": "Email", "limit": 1}):
            body = {"start_date": "2025-07-01", "end_date": "2025-07-31", **body}
            assert insights_core.compute_breakdown(con, body) == reference_breakdown(sessions, conversions, body)
        rows = insights_core.compute_breakdown(con, {"start_date": "2025-07-01", "end_date": "2025-07-31",
                                                     "dimension": "channel_group"})["breakdown"]["rows"]
        assert {row["value"] for row in rows} == set(groups.values())
    finally:
        con.close()


# --- order, nulls, limit --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def campaigns(tmp_path_factory):
    """Campaigns whose order is easy to get wrong: ties broken by code point, lower case after upper case and
    accented letters after both, the null row (no campaign tag) among rows of its own session count."""
    rows = ["session_id,user_id,started_at,utm_campaign"]
    plan = [("b", 3), (None, 2), ("a", 2), ("Z", 2), ("é", 2), ("=sum", 1), ("A", 1)]
    number = 0
    for campaign, count in plan:
        for _ in range(count):
            number += 1
            rows.append(f"s{number},u{number % 4},2025-07-0{1 + number % 5}T10:00:00Z,{campaign or ''}")
    con = store_with(tmp_path_factory.mktemp("campaigns"), "\n".join(rows) + "\n",
                      "conversion_id,session_id,converted_at\nc1,s1,2025-07-02T10:00:00Z\n")
    yield con
    con.close()


JULY = {"start_date": "2025-07-01", "end_date": "2025-07-31"}


def _values(answer: Mapping[str, Any]) -> list:
    return [(row["value"], row["sessions"]) for row in answer["breakdown"]["rows"]]


def test_rows_by_sessions_then_value_by_code_point_with_null_after_its_equals(campaigns):
    answer = insights_core.compute_breakdown(campaigns, {**JULY, "dimension": "campaign"})
    assert _values(answer) == [("b", 3), ("Z", 2), ("a", 2), ("é", 2), (None, 2), ("=sum", 1), ("A", 1)]
    assert answer == reference_breakdown(stored_sessions(campaigns), stored_conversions(campaigns),
                                         {**JULY, "dimension": "campaign"})


@pytest.mark.parametrize("limit, count", [(1, 1), (4, 4), (5, 5), (7, 7), (1000, 7)])
def test_limit_keeps_the_first_rows_of_that_order(campaigns, limit, count):
    everything = insights_core.compute_breakdown(campaigns, {**JULY, "dimension": "campaign"})
    limited = insights_core.compute_breakdown(campaigns, {**JULY, "dimension": "campaign", "limit": limit})
    assert limited["breakdown"]["rows"] == everything["breakdown"]["rows"][:count]


def test_default_limit_is_100(tmp_path):
    rows = "\n".join(f"s{i},u{i},2025-07-01T10:00:00Z,c{i:03d}" for i in range(105))
    con = store_with(tmp_path, "session_id,user_id,started_at,utm_campaign\n" + rows + "\n")
    try:
        answer = insights_core.compute_breakdown(con, {**JULY, "dimension": "campaign"})
        assert [row["value"] for row in answer["breakdown"]["rows"]] == [f"c{i:03d}" for i in range(100)]
    finally:
        con.close()


def test_an_empty_cohort_is_no_rows(campaigns):
    for dimension in BREAKDOWN_DIMENSIONS:
        answer = insights_core.compute_breakdown(campaigns, {**JULY, "dimension": dimension, "source": "nope"})
        assert answer == {"breakdown": {"dimension": dimension, "rows": []}}


def test_dimension_is_required_and_checked(campaigns):
    for body in ({}, {"dimension": ""}, {"dimension": None}, {"dimension": "country"}, {"dimension": "Campaign"}):
        with pytest.raises(insights_core.ParameterError) as caught:
            insights_core.compute_breakdown(campaigns, body)
        assert caught.value.field == "dimension"
    with pytest.raises(insights_core.ParameterError) as caught:
        insights_core.compute_breakdown(campaigns, {"dimension": "campaign", "limit": 0})
    assert caught.value.field == "limit"


def test_converted_users_count_in_every_row_where_they_have_a_matching_session(campaigns):
    """u1 converted (in s1, campaign b); every row with a session of u1 counts u1 as converted."""
    rows = insights_core.compute_breakdown(campaigns, {**JULY, "dimension": "campaign"})["breakdown"]["rows"]
    sessions = stored_sessions(campaigns)
    for row in rows:
        users = {s["user_id"] for s in sessions if s["campaign"] == row["value"]}
        assert row["users"] == len(users)
        assert row["converted_users"] == (1 if "u1" in users else 0)
    assert list(rows[0]) == ["value", "sessions", "users", "converting_sessions", "converted_users", "conversion_rate"]
    assert rows[0]["conversion_rate"] == "33.33%"  # u1 of u1, u2, u3


# --- the documentation's worked example ---------------------------------------------------------------

def test_the_documented_breakdown_is_the_worked_example_by_channel(tmp_path):
    """docs/metrics.md#breakdown shows the worked example, July, no filter, by channel: the answer is exactly that."""
    sessions, conversions = code_blocks(docs_section("Cohort"), "csv")
    con = store_with(tmp_path, sessions, conversions)
    try:
        [documented] = code_blocks(docs_section("Breakdown"), "json")
        answer = insights_core.compute_breakdown(con, {**JULY, "dimension": "channel"})
        assert answer == json.loads(documented)
    finally:
        con.close()


# --- the table and its CSV ----------------------------------------------------------------------------

def test_breakdown_table_names_the_dimension_keeps_numbers_and_guards_formulas(campaigns):
    answer = insights_core.compute_breakdown(campaigns, {**JULY, "dimension": "campaign", "limit": 7})
    table = breakdown_table(answer)
    assert table.names == ["campaign", "sessions", "users", "converting_sessions", "converted_users",
                           "conversion_rate_pct"]
    assert to_csv(table) == (
        "campaign,sessions,users,converting_sessions,converted_users,conversion_rate_pct\n"
        "b,3,3,1,1,33.33\n"
        "Z,2,2,0,1,50.00\n"
        "a,2,2,0,0,0.00\n"
        "é,2,2,0,0,0.00\n"
        ",2,2,0,1,50.00\n"
        "'=sum,1,1,0,0,0.00\n"
        "A,1,1,0,1,100.00\n"
    )


def test_an_empty_breakdown_table_is_its_header(campaigns):
    answer = insights_core.compute_breakdown(campaigns, {**JULY, "dimension": "landing_page", "source": "nope"})
    assert to_csv(breakdown_table(answer)) == (
        "landing_page,sessions,users,converting_sessions,converted_users,conversion_rate_pct\n")


# --- the engine seam ----------------------------------------------------------------------------------

@pytest.mark.parametrize("dimension", list(BREAKDOWN_DIMENSIONS))
def test_the_statement_leaves_engine_specific_pieces_to_the_dialect_and_binds_every_value(dimension):
    """docs/architecture.md#engines: no DuckDB-only spelling outside the dialect; user values (and the limit)
    only bound; the grouped column is the dimension's stored column from the allowlist."""
    body = {name: HOSTILE for name in ("source", "medium", "campaign", "content", "term", "landing_page",
                                       "channel", "channel_group", "conversion_page", "meta_type", "meta_id")}
    params = parse_breakdown_params({**body, "dimension": dimension, "limit": 7, "touch_scope": "after"})
    query = breakdown_query(params, MarkingDialect())
    for duckdb_only in ("$", "median(", "list(", "{'", "materialized (", "::"):
        assert duckdb_only not in query.sql.lower(), duckdb_only
    assert f"{BREAKDOWN_DIMENSIONS[dimension]} AS dimension_value" in query.sql
    assert "LIMIT CAST(<param limit> AS INT)" in query.sql and query.params["limit"] == 7
    for name in query.params:
        assert f"<param {name}>" in query.sql
    duckdb_query = breakdown_query(params, DUCKDB)
    assert HOSTILE not in duckdb_query.sql and " 7" not in duckdb_query.sql


def test_a_connection_and_an_engine_give_the_same_answer(campaigns):
    body = {**JULY, "dimension": "campaign", "limit": 3}
    assert insights_core.compute_breakdown(DuckDBEngine(campaigns), body) == \
        insights_core.compute_breakdown(campaigns, parse_breakdown_params(body)) == \
        insights_core.compute_breakdown(campaigns, body)
