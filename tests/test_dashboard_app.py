"""The dashboard's widget logic with Streamlit's AppTest (SPEC 5.2): URL -> widgets, bad values,
empty states, first start, and previous-period changes checked against compute_insights."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from insights_core import NO_DATA_MESSAGE, compute_insights
from insights_core.storefile import StoreFile
from support import make_demo_db

APP = Path(__file__).resolve().parents[1] / "app.py"
DATA_END = datetime(2025, 7, 31, 18, 0, tzinfo=timezone.utc)
JULY = {"start_date": "2025-07-01", "end_date": "2025-07-31"}


@pytest.fixture(scope="module")
def store_path(tmp_path_factory) -> Path:
    """1,500 demo users over the 90 days ending 31 Jul 2025 (fixed, so every number is stable)."""
    return make_demo_db(tmp_path_factory.mktemp("dashboard") / "insights.duckdb", 1_500, 11, DATA_END)


@pytest.fixture
def app(store_path, monkeypatch):
    """An AppTest of app.py on the test store; call it with the URL's query parameters."""
    monkeypatch.setenv("INSIGHTS_DB", str(store_path))

    def open_app(**query: str | list[str]) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=60)
        at.query_params.update(query)
        return at.run()

    return open_app


def core(store_path: Path, params: dict) -> dict:
    with StoreFile(store_path).snapshot() as con:
        return compute_insights(con, params)


def card(at: AppTest, label: str):
    [metric] = [metric for metric in at.metric if metric.label == label]
    return metric


def test_url_parameters_set_every_widget_and_the_numbers(app, store_path):
    query = {**JULY, "source": "google.com", "touch_scope": "first"}
    at = app(**query)
    assert not at.exception
    assert [(w.label, w.value) for w in at.date_input] == [
        ("start_date", date(2025, 7, 1)), ("end_date", date(2025, 7, 31))]
    assert at.segmented_control(key="touch_scope").value == "first"
    assert at.selectbox(key="source").value == "google.com"
    assert at.selectbox(key="medium").value is None
    assert not at.warning
    expected = core(store_path, query)["overall_metrics"]
    assert card(at, "Users").value == f"{expected['user_summary']['total_users']:,}"
    assert card(at, "Conversion rate").value == expected["user_summary"]["conversion_rate"]
    assert card(at, "Matching sessions").value == f"{expected['session_summary']['total_sessions']:,}"
    assert at.query_params == query


def test_every_filter_is_a_widget_named_like_its_parameter(app):
    at = app(**JULY)
    names = {w.label for w in at.date_input} | {w.label for w in at.selectbox} | {w.label for w in at.segmented_control}
    assert names == {"start_date", "end_date", "conversion_page", "meta_type", "meta_id", "source", "medium",
                     "campaign", "content", "term", "landing_page", "touch_scope"}
    assert "google.com" in at.selectbox(key="source").options


def test_bad_url_values_warn_by_name_and_fall_back_to_their_defaults(app):
    at = app(touch_scope="bogus", start_date="2025-02-30", utm="x", medium=["cpc", "organic"])
    warnings = " ".join(w.value for w in at.warning)
    for name in ("touch_scope", "start_date", "utm", "medium"):
        assert f"**{name}**" in warnings
    today = datetime.now(timezone.utc).date()
    assert at.date_input(key="start_date").value == today - timedelta(days=30)
    assert at.segmented_control(key="touch_scope").value == "any"
    assert at.selectbox(key="medium").value is None
    assert at.query_params == {}


def test_start_after_end_falls_back_to_30_days_before_the_end(app, store_path):
    at = app(start_date="2025-07-20", end_date="2025-07-10")
    assert "**start_date**" in at.warning[0].value
    assert at.date_input(key="start_date").value == date(2025, 6, 10)
    assert at.query_params == {"start_date": "2025-06-10", "end_date": "2025-07-10"}
    expected = core(store_path, {"start_date": "2025-06-10", "end_date": "2025-07-10"})
    assert card(at, "Users").value == f"{expected['overall_metrics']['user_summary']['total_users']:,}"


def test_a_datetime_in_the_url_selects_its_utc_day(app):
    at = app(start_date="2025-07-02T01:30:00+02:00", end_date="2025-07-31")
    assert "whole UTC days" in at.info[0].value
    assert at.date_input(key="start_date").value == date(2025, 7, 1)
    assert at.query_params["start_date"] == "2025-07-01"


def test_an_empty_cohort_shows_the_spec_message(app):
    at = app(**JULY, source="no-such-source.example")
    assert not at.metric
    assert any(NO_DATA_MESSAGE in block.value for block in at.markdown)


def test_a_window_outside_the_data_offers_the_data_range(app, store_path):
    at = app()  # default window: the last 30 days, long after the test data
    assert any("outside this window" in block.value for block in at.markdown)
    [use_range] = [button for button in at.button if button.label.startswith("Use the data's range")]
    at = use_range.click().run()
    start, end = at.date_input(key="start_date").value, at.date_input(key="end_date").value
    assert end == date(2025, 7, 31) and start <= date(2025, 5, 3)
    assert at.query_params["end_date"] == "2025-07-31"
    expected = core(store_path, {"start_date": start.isoformat(), "end_date": end.isoformat()})
    assert card(at, "Users").value == f"{expected['overall_metrics']['user_summary']['total_users']:,}"


def test_changes_are_against_the_previous_period_of_the_same_length(app, store_path):
    at = app(**JULY, medium="organic")
    # July has 31 days, so the previous period is 31 May .. 30 June, same filters.
    now = core(store_path, {**JULY, "medium": "organic"})["overall_metrics"]["user_summary"]
    before = core(store_path, {"start_date": "2025-05-31", "end_date": "2025-06-30", "medium": "organic"})
    before = before["overall_metrics"]["user_summary"]
    users = now["total_users"] - before["total_users"]
    expected = f"{users:+,} ({users / before['total_users']:+.1%})" if users else "0"  # "0": no change
    assert card(at, "Users").delta == expected
    points = float(now["conversion_rate"].rstrip("%")) - float(before["conversion_rate"].rstrip("%"))
    assert card(at, "Conversion rate").delta == f"{points:+.2f} pp"
    sessions = now["avg_sessions_per_user"] - before["avg_sessions_per_user"]
    assert card(at, "Sessions per user").delta == f"{sessions:+.1f}"


def test_a_widget_change_moves_the_numbers(app, store_path):
    # (The URL following the widgets is the browser's job: see tests/browser.)
    at = app(**JULY)
    at = at.selectbox(key="source").set_value("google.com").run()
    at = at.segmented_control(key="touch_scope").set_value("converting").run()
    expected = core(store_path, {**JULY, "source": "google.com", "touch_scope": "converting"})
    assert card(at, "Users").value == f"{expected['overall_metrics']['user_summary']['total_users']:,}"


def test_presets_set_the_window(app):
    at = app(**JULY)
    at = at.pills(key="window_preset").set_value("Last 7 days").run()
    today = datetime.now(timezone.utc).date()
    assert at.date_input(key="start_date").value == today - timedelta(days=7)
    assert at.date_input(key="end_date").value == today


def test_first_start_creates_a_demo_database(tmp_path, monkeypatch):
    path = tmp_path / "fresh" / "insights.duckdb"
    monkeypatch.setenv("INSIGHTS_DB", str(path))
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    assert not at.exception
    assert path.exists()
    assert int(card(at, "Users").value.replace(",", "")) > 0


def test_export_page_shows_the_same_query_for_the_api_and_the_cli(app, store_path):
    at = app(**JULY, source="google.com")
    at.switch_page("pages/export.py").run()
    assert not at.exception
    explicit = '{"start_date": "2025-07-01T00:00:00Z", "end_date": "2025-07-31T23:59:59.999999Z", "source": "google.com"}'
    commands = [block.value for block in at.code]
    assert any(block.startswith("curl ") and "/api/v1/insights" in block and explicit in block for block in commands)
    assert f"insights query --db {store_path} --params '{explicit}'" in commands
    assert [button.label for button in at.get("download_button")] == ["Insights JSON", "Channels CSV"]


def test_data_page_shows_what_is_stored(app, store_path):
    at = app(**JULY)
    at.switch_page("pages/data.py").run()
    assert not at.exception
    with StoreFile(store_path).snapshot() as con:
        sessions, conversions = con.execute("SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM conversions)").fetchone()
    assert card(at, "Sessions").value == f"{sessions:,}"
    assert card(at, "Conversions").value == f"{conversions:,}"
    assert any("Last load" in block.value and "generated demo data" in block.value for block in at.markdown)
