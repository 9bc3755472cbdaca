"""The dashboard's widget logic with Streamlit's AppTest: URL -> widgets, words on screen, bad values,
the window and the comparison, empty states, first start, and numbers checked against compute_insights.

What only a browser can show (the URL following the widgets, what the page renders, downloads,
dark mode) is in tests/browser.
"""

from __future__ import annotations

import json
import shlex
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from insights_core import (
    NO_DATA_MESSAGE,
    catalog,
    compute_breakdown,
    compute_insights,
    compute_timeseries,
    cursor,
    parse_params,
)
from insights_core.storefile import StoreFile
from support import make_demo_db

APP = Path(__file__).resolve().parents[1] / "app.py"
DATA_END = datetime(2025, 7, 31, 18, 0, tzinfo=timezone.utc)
JULY = {"start_date": "2025-07-01", "end_date": "2025-07-31"}
PRESET_KEY = "_insights_window_preset"


@pytest.fixture(scope="module")
def store_path(tmp_path_factory) -> Path:
    """1,500 demo users over the 90 days ending 31 Jul 2025 (fixed, so every number is stable)."""
    return make_demo_db(tmp_path_factory.mktemp("dashboard") / "insights.duckdb", 1_500, 11, DATA_END)


def open_app(path: Path, monkeypatch, **query: str | list[str]) -> AppTest:
    monkeypatch.setenv("INSIGHTS_DB", str(path))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params.update(query)
    return at.run()


@pytest.fixture
def app(store_path, monkeypatch):
    """An AppTest of app.py on the test store; call it with the URL's query parameters."""
    return lambda **query: open_app(store_path, monkeypatch, **query)


def core(store_path: Path, params) -> dict:
    with StoreFile(store_path).snapshot() as con:
        return compute_insights(con, params)


def card(at: AppTest, label: str):
    [metric] = [metric for metric in at.metric if metric.label == label]
    return metric


def users(document: dict) -> str:
    return f"{document['overall_metrics']['user_summary']['total_users']:,}"


def texts(at: AppTest) -> str:
    """Everything the page writes as Markdown, captions and alerts, with the widgets' labels and help."""
    parts = [block.value for block in (*at.markdown, *at.caption, *at.warning, *at.info, *at.error)]
    for widgets in (at.date_input, at.selectbox, at.radio, at.metric):
        parts += [str(widget.label) for widget in widgets] + [str(getattr(widget, "help", "") or "") for widget in widgets]
    return "\n".join(parts)


def test_url_parameters_set_every_widget_and_the_numbers(app, store_path):
    query = {**JULY, "source": "google.com", "touch_scope": "first", "compare": "none"}
    at = app(**query)
    assert not at.exception and not at.error
    assert [(w.label, w.value) for w in at.date_input] == [("From", date(2025, 7, 1)), ("To", date(2025, 7, 31))]
    assert at.radio(key="touch_scope").value == "first"
    assert at.selectbox(key="source").value == "google.com"
    assert at.selectbox(key="medium").value is None
    assert at.selectbox(key="compare").value == "none"
    assert not at.warning
    expected = core(store_path, {**JULY, "source": "google.com", "touch_scope": "first"})["overall_metrics"]
    assert card(at, "Users").value == users({"overall_metrics": expected})
    assert card(at, "Conversion rate").value == expected["user_summary"]["conversion_rate"]
    assert card(at, "Matching sessions").value == f"{expected['session_summary']['total_sessions']:,}"
    assert not card(at, "Users").delta  # no comparison asked for
    assert at.query_params == query


def test_labels_are_a_marketers_words_and_the_url_keys_are_the_parameters(app, store_path):
    at = app(**JULY)
    keys = {w.key for w in (*at.date_input, *at.selectbox, *at.radio)}
    with StoreFile(store_path).snapshot() as con:
        filters = set(catalog.available_filters(con))
    assert {"source", "medium", "campaign", "content", "term", "landing_page", "channel", "conversion_page",
            "meta_type", "meta_id"} <= filters  # (and channel_group, once the store has channel groups)
    assert keys == {"start_date", "end_date", "touch_scope", "compare", "dimension", *filters}
    labels = {w.label for w in (*at.date_input, *at.selectbox, *at.radio)}
    assert not labels & keys  # no parameter name is a label
    assert at.radio(key="touch_scope").options == ["Every session", "First visits", "Converting", "Assisting",
                                                   "After converting"]
    everything = texts(at)
    for code_word in ("SPEC", "touch_scope", "meta_type", "start_date", "23:59:59", "`"):
        assert code_word not in everything, code_word
    assert "google.com" in at.selectbox(key="source").options


def test_bad_url_values_are_explained_in_words_and_fall_back_to_their_defaults(app):
    at = app(touch_scope="bogus", start_date="2025-02-30", utm="x", medium=["cpc", "organic"])
    warnings = " ".join(w.value for w in at.warning)
    for words in ("**Sessions counted**", "**From**", "\\'utm\\'", "**Medium**"):
        assert words in warnings
    assert at.radio(key="touch_scope").value == "any"
    assert at.selectbox(key="medium").value is None
    assert at.date_input(key="start_date").value is None
    assert at.query_params == {}
    assert "the API's default window" in at.caption[0].value


def test_a_link_with_from_after_to_shows_the_30_days_up_to_to_and_says_so(app, store_path):
    at = app(start_date="2025-07-20", end_date="2025-07-10")
    assert "is after its **To** date" in at.warning[0].value
    assert at.date_input(key="start_date").value is None
    assert at.query_params == {"end_date": "2025-07-10"}
    assert card(at, "Users").value == users(core(store_path, {"end_date": "2025-07-10"}))


def test_a_moment_in_the_url_selects_its_utc_day(app):
    at = app(start_date="2025-07-02T01:30:00+02:00", end_date="2025-07-31")
    assert "whole days (UTC)" in at.info[0].value
    assert at.date_input(key="start_date").value == date(2025, 7, 1)
    assert at.query_params["start_date"] == "2025-07-01"


def test_to_before_from_is_said_next_to_the_dates_and_nothing_moves(app, store_path):
    at = app(**JULY)
    at = at.date_input(key="end_date").set_value(date(2025, 6, 20)).run()
    # What was typed stays; the error sits in the sidebar under the dates; the numbers stay July's.
    assert at.date_input(key="start_date").value == date(2025, 7, 1)
    assert at.date_input(key="end_date").value == date(2025, 6, 20)
    [error] = at.sidebar.error
    assert "To (20 Jun 2025) is before From (1 Jul 2025)" in error.value
    assert card(at, "Users").value == users(core(store_path, JULY))
    # Fixing it applies at once.
    at = at.date_input(key="start_date").set_value(date(2025, 6, 1)).run()
    assert not at.sidebar.error
    assert card(at, "Users").value == users(core(store_path, {"start_date": "2025-06-01", "end_date": "2025-06-20"}))


def test_an_empty_cohort_shows_the_no_data_message(app):
    at = app(**JULY, source="no-such-source.example")
    assert not at.metric
    assert any(NO_DATA_MESSAGE in block.value for block in at.markdown)


def test_a_window_outside_the_data_offers_the_data_range(app, store_path):
    at = app()  # the default window: the 30 days up to now, long after the test data
    assert any("outside this window" in block.value for block in at.markdown)
    [use_range] = [button for button in at.button if button.label.startswith("Use the data's range")]
    at = use_range.click().run()
    start, end = at.date_input(key="start_date").value, at.date_input(key="end_date").value
    assert end == date(2025, 7, 31) and start <= date(2025, 5, 3)
    expected = core(store_path, {"start_date": start.isoformat(), "end_date": end.isoformat()})
    assert card(at, "Users").value == users(expected)


def test_a_calendar_month_is_compared_with_the_month_before(app, store_path):
    at = app(**JULY, medium="organic")
    now = core(store_path, {**JULY, "medium": "organic"})["overall_metrics"]["user_summary"]
    before = core(store_path, {"start_date": "2025-06-01", "end_date": "2025-06-30", "medium": "organic"})
    before = before["overall_metrics"]["user_summary"]
    change = now["total_users"] - before["total_users"]
    expected = f"{change:+,} ({change / before['total_users']:+.1%})" if change else "0"  # "0": no change
    assert card(at, "Users").delta == expected
    points = round(float(now["conversion_rate"].rstrip("%")) - float(before["conversion_rate"].rstrip("%")), 2)
    assert card(at, "Conversion rate").delta == (f"{points:+.2f} pp" if points else "0")
    assert "1–30 Jun 2025 (previous period)" in at.caption[0].value


def test_the_comparison_can_be_last_year_or_nothing(app, store_path):
    at = app(start_date="2025-07-10", end_date="2025-07-16")
    before = core(store_path, {"start_date": "2025-07-03", "end_date": "2025-07-09"})  # 7 days just before
    change = int(users(core(store_path, {"start_date": "2025-07-10", "end_date": "2025-07-16"})).replace(",", "")) - int(
        users(before).replace(",", ""))
    assert card(at, "Users").delta.startswith(f"{change:+,}")
    at = at.selectbox(key="compare").set_value("year").run()
    assert "10–16 Jul 2024 (same period last year)" in at.caption[0].value
    assert any("no changes to show" in caption.value for caption in at.caption)  # no data in 2024
    at = at.selectbox(key="compare").set_value("none").run()
    assert not card(at, "Users").delta
    assert at.query_params["compare"] == "none"


def test_a_widget_change_moves_the_numbers(app, store_path):
    # (The URL following the widgets is the browser's job: see tests/browser.)
    at = app(**JULY)
    at = at.selectbox(key="source").set_value("google.com").run()
    at = at.radio(key="touch_scope").set_value("converting").run()
    assert card(at, "Users").value == users(core(store_path, {**JULY, "source": "google.com",
                                                               "touch_scope": "converting"}))


def test_reset_goes_back_to_the_default_view(app):
    at = app(**JULY, medium="organic", touch_scope="first", compare="year")
    [reset] = [button for button in at.button if button.label == "Reset the view"]
    at = reset.click().run()
    assert at.selectbox(key="medium").value is None
    assert at.radio(key="touch_scope").value == "any"
    assert at.selectbox(key="compare").value == "previous"
    assert "the API's default window" in at.caption[0].value
    assert at.query_params == {}


def test_filter_lists_offer_the_values_under_the_other_filters_first(app, store_path):
    at = app(**JULY, medium="organic")
    with StoreFile(store_path).snapshot() as con:
        organic_sources = [row[0] for row in cursor(con).execute(
            "SELECT source, count(*) AS n FROM sessions WHERE medium = 'organic' AND started_at BETWEEN "
            "'2025-07-01' AND '2025-07-31 23:59:59.999999' GROUP BY source ORDER BY n DESC, source").fetchall()]
    options = at.selectbox(key="source").options
    assert options[: len(organic_sources)] == organic_sources
    assert set(options[len(organic_sources):]).isdisjoint(organic_sources) and len(options) > len(organic_sources)


def test_quick_windows_are_whole_days_ending_yesterday(app):
    at = app(**JULY)
    today = at.session_state["_insights_now"].date()
    at = at.pills(key=PRESET_KEY).set_value("Last 7 days").run()
    assert at.date_input(key="start_date").value == today - timedelta(days=7)
    assert at.date_input(key="end_date").value == today - timedelta(days=1)
    assert "Last 7 days:" in at.sidebar.caption[-1].value or any("Last 7 days:" in c.value for c in at.caption)
    at = at.pills(key=PRESET_KEY).set_value("Today").run()
    assert at.date_input(key="start_date").value == at.date_input(key="end_date").value == today


def test_the_default_view_is_the_apis_default_answer_at_that_moment(tmp_path, monkeypatch):
    path = make_demo_db(tmp_path / "recent.duckdb", 400, 3, datetime.now(timezone.utc))
    at = open_app(path, monkeypatch)
    now = at.session_state["_insights_now"]
    expected = core(path, parse_params({}, now=now))
    assert card(at, "Users").value == users(expected)
    assert "the last 30 days up to now" in at.caption[0].value and "the API's default window" in at.caption[0].value
    assert at.query_params == {}
    assert at.date_input(key="start_date").value is None and at.date_input(key="end_date").value is None
    # Another run (a filter change and back) keeps the same window: the moment is pinned.
    at = at.radio(key="touch_scope").set_value("first").run()
    at = at.radio(key="touch_scope").set_value("any").run()
    assert card(at, "Users").value == users(expected)


def test_dates_in_a_link_are_kept_even_when_they_are_the_default_windows_days(app):
    today = datetime.now(timezone.utc).date()
    query = {"start_date": (today - timedelta(days=30)).isoformat(), "end_date": today.isoformat()}
    at = app(**query)
    assert at.query_params == query
    assert "31 days, UTC" in at.caption[0].value and "default window" not in at.caption[0].value


def test_first_start_creates_a_demo_database(tmp_path, monkeypatch):
    path = tmp_path / "fresh" / "insights.duckdb"
    at = open_app(path, monkeypatch)
    assert not at.exception
    assert path.exists()
    assert int(card(at, "Users").value.replace(",", "")) > 0


def test_export_page_shows_the_same_question_for_the_api_and_the_cli(app, store_path):
    at = app(**JULY, source="google.com")
    at.switch_page("pages/export.py").run()
    assert not at.exception
    explicit = '{"start_date": "2025-07-01T00:00:00Z", "end_date": "2025-07-31T23:59:59.999999Z", "source": "google.com"}'
    commands = [block.value for block in at.code]
    assert any(block.startswith("curl ") and "/api/v1/insights" in block and explicit in block for block in commands)
    assert f"insights query --db {store_path} --params '{explicit}'" in commands
    assert [button.label for button in at.get("download_button")] == ["Insights JSON", "Channels CSV"]
    assert "SPEC" not in texts(at)
    # The trend and the breakdown of the same view, at its interval and dimension (docs/api.md#command-line).
    for command, endpoint, setting in (("timeseries", "timeseries", {"interval": "day"}),
                                       ("breakdown", "breakdown", {"dimension": "channel_group"})):
        shown = [shlex.split(block) for block in commands if block.startswith(f"insights {command} ")]
        assert len(shown) == 1 and shown[0][2:4] == ["--db", str(store_path)]
        question = json.loads(shown[0][shown[0].index("--params") + 1])
        assert question == {**json.loads(explicit), **setting} | ({"limit": 100} if command == "breakdown" else {})
        assert any(block.startswith("curl ") and f"/api/v1/{endpoint}" in block for block in commands)


def test_data_page_has_no_analysis_sidebar_and_keeps_the_view_for_the_way_back(app, store_path):
    at = app(**JULY, medium="organic")
    at.switch_page("pages/data.py").run()
    assert not at.exception
    assert not at.date_input and not at.radio and not at.selectbox  # no window, roles or filters here
    with StoreFile(store_path).snapshot() as con:
        sessions, conversions = cursor(con).execute(
            "SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM conversions)").fetchone()
    assert card(at, "Sessions").value == f"{sessions:,}"
    assert card(at, "Conversions").value == f"{conversions:,}"
    assert any("Last load" in block.value and "generated demo data" in block.value for block in at.markdown)
    at.switch_page("pages/insights.py").run()
    assert at.selectbox(key="medium").value == "organic"
    assert at.date_input(key="end_date").value == date(2025, 7, 31)


def answer(store_path: Path, compute, params: dict) -> dict:
    with StoreFile(store_path).snapshot() as con:
        return compute(con, params)


def test_the_trend_and_breakdown_follow_the_url_and_match_the_core(app, store_path):
    at = app(**JULY, interval="week", dimension="campaign")
    assert not at.exception and not at.error and not at.warning
    assert at.selectbox(key="dimension").value == "campaign"
    assert at.session_state["interval"] == "week"
    trend = answer(store_path, compute_timeseries, {**JULY, "interval": "week"})["timeseries"]["buckets"]
    [trend_frame] = [frame.value for frame in at.dataframe if "period from" in frame.value.columns]
    assert list(trend_frame["period from"]) == [bucket["start"] for bucket in trend]
    assert list(trend_frame["sessions"]) == [bucket["sessions"] for bucket in trend]
    assert list(trend_frame["converted users"]) == [bucket["converted_users"] for bucket in trend]
    # Compared with June (the month before), period by period, dashed in the chart.
    june = answer(store_path, compute_timeseries, {"start_date": "2025-06-01", "end_date": "2025-06-30",
                                                    "interval": "week"})["timeseries"]["buckets"]
    assert list(trend_frame["previous period: period from"].dropna()) == [bucket["start"] for bucket in june][:len(trend)]
    rows = answer(store_path, compute_breakdown, {**JULY, "dimension": "campaign"})["breakdown"]["rows"]
    [breakdown] = [frame.value for frame in at.dataframe if "campaign" in frame.value.columns]
    assert [None if pd.isna(value) else value for value in breakdown["campaign"]] == [row["value"] for row in rows]
    assert list(breakdown["users"]) == [row["users"] for row in rows]
    assert [button.label for button in at.get("download_button")] == ["Trend CSV", "Breakdown CSV"]


def test_choosing_the_dimension_moves_the_url_and_the_table(app, store_path):
    at = app(**JULY)
    assert at.selectbox(key="dimension").value == "channel_group" and "dimension" not in at.query_params
    at = at.selectbox(key="dimension").set_value("landing_page").run()
    assert at.query_params["dimension"] == "landing_page"
    assert any("landing_page" in frame.value.columns for frame in at.dataframe)
    at = at.selectbox(key="dimension").set_value("channel_group").run()
    assert "dimension" not in at.query_params


def test_the_channel_table_shows_each_channels_group_and_says_it_covers_whole_journeys(app, store_path):
    at = app(**JULY, medium="organic")
    [channels] = [frame.value for frame in at.dataframe if "channel_group" in frame.value.columns
                  and "total_users" in frame.value.columns]
    with StoreFile(store_path).snapshot() as con:
        groups = dict(cursor(con).execute("SELECT DISTINCT channel, channel_group FROM sessions").fetchall())
    assert all(groups[channel] == group for channel, group in zip(channels["channel"], channels["channel_group"]))
    assert set(channels["channel"]) - {channel for channel in groups if channel.startswith("organic/")}  # not narrowed
    assert any("This table covers whole journeys" in caption.value for caption in at.caption)


@pytest.fixture
def old_store(tmp_path) -> Path:
    """A store as an older release could leave it: starts and a load time outside 1900-9999."""
    path = make_demo_db(tmp_path / "old.duckdb", 200, 5, DATA_END)
    with StoreFile(path).edit() as con:
        cur = cursor(con)
        cur.execute("UPDATE sessions SET started_at = TIMESTAMP '10000-01-01' WHERE timeline_position = 2")
        cur.execute("UPDATE loads SET loaded_at = TIMESTAMP '-0001-01-01'")
    return path


@pytest.mark.parametrize("page", ["pages/insights.py", "pages/export.py", "pages/data.py"])
def test_impossible_stored_timestamps_give_a_message_never_an_exception(old_store, monkeypatch, page):
    at = open_app(old_store, monkeypatch, **JULY)
    at.switch_page(page).run()
    assert not at.exception
    assert not at.error
    if page != "pages/export.py":
        assert any("outside the years 1900–9999" in warning.value for warning in at.warning)


def test_an_unexpected_error_is_a_message_with_an_id(app, monkeypatch):
    def broken(con, params):
        raise RuntimeError("boom")

    monkeypatch.setattr("dashboard.data.compute_insights", broken)
    at = app(**JULY, campaign="a value no other test asks for")
    assert not at.exception
    [error] = at.error
    assert "This page could not be shown" in error.value and "RuntimeError" in error.value and "boom" not in error.value
    assert at.date_input  # the sidebar still works


def test_a_file_that_is_not_an_insights_store_is_a_message(tmp_path, monkeypatch):
    import duckdb

    foreign = tmp_path / "foreign.duckdb"
    duckdb.connect(str(foreign)).execute("CREATE TABLE sessions (x INTEGER)").close()
    at = open_app(foreign, monkeypatch)
    assert not at.exception
    assert any("database cannot be opened" in error.value for error in at.error)
