"""The public doc's two example requests, against demo data that covers July 2025.

Each answer is checked against the plain-Python reference model (on the
sessions' stored source/medium) and against what the example promises.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

import insights_core
from insights_core.demo import generate_demo
from reference import reference_insights

# The doc's bodies, minus the trailing comma of the first (invalid JSON as printed).
TIME_FRAME = {"start_date": "2025-07-15", "end_date": "2025-07-30"}
TOUCH_SCOPE = {"start_date": "2025-07-01", "end_date": "2025-07-31", "source": "google.com", "touch_scope": "converting"}


@pytest.fixture(scope="module")
def july(tmp_path_factory):
    con = insights_core.connect(tmp_path_factory.mktemp("doc") / "july.duckdb")
    data = generate_demo(users=1500, seed=11, end=datetime(2025, 8, 10, tzinfo=timezone.utc))
    insights_core.load(con, data.sessions, data.conversions)
    yield con
    con.close()


def stored_dataset(con) -> tuple[list[dict], list[dict]]:
    """The store's sessions with their effective attributes, and its conversions, as the reference takes them."""
    cur = insights_core.cursor(con)
    sessions = [
        dict(zip(("session_id", "user_id", "started_at", "exited_at", "landing_page",
                  "source", "medium", "campaign", "content", "term"), row))
        for row in cur.execute(
            "SELECT session_id, user_id, started_at, exited_at, landing_page, source, medium,"
            " utm_campaign, utm_content, utm_term FROM sessions"
        ).fetchall()
    ]
    conversions = [
        dict(zip(("conversion_id", "session_id", "converted_at", "conversion_page", "meta_type", "meta_id"), row))
        for row in cur.execute(
            "SELECT conversion_id, session_id, converted_at, conversion_page, meta_type, meta_id FROM conversions"
        ).fetchall()
    ]
    return sessions, conversions


@pytest.mark.parametrize("body", [TIME_FRAME, TOUCH_SCOPE], ids=["time-frame", "touch-scope"])
def test_example_matches_reference(july, body):
    """docs/metrics.md#response: the examples' answers equal the reference model's on realistic data."""
    result = insights_core.compute_insights(july, body)
    assert "overall_metrics" in result
    assert result == reference_insights(*stored_dataset(july), body)


def test_time_frame_example_counts_users_with_a_session_in_the_window(july):
    """'Returns aggregated metrics from users who had at least one session' in the window (docs/metrics.md#cohort)."""
    cur = insights_core.cursor(july)
    expected_users = cur.execute(
        "SELECT count(DISTINCT user_id) FROM sessions"
        " WHERE started_at >= TIMESTAMP '2025-07-15' AND started_at < TIMESTAMP '2025-07-31'"
    ).fetchone()[0]
    summary = insights_core.compute_insights(july, TIME_FRAME)["overall_metrics"]["user_summary"]
    assert summary["total_users"] == expected_users > 0


def test_touch_scope_example_cohort_converted_from_google(july):
    """'Users who came from Google and converted in the same session': every cohort user converted."""
    metrics = insights_core.compute_insights(july, TOUCH_SCOPE)["overall_metrics"]
    users = metrics["user_summary"]
    assert users["total_users"] == users["total_converted_users"] > 0
    assert users["conversion_rate"] == "100.00%"
    assert metrics["session_summary"]["total_sessions"] == metrics["session_summary"]["total_converting_sessions"]
