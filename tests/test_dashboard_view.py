"""The dashboard's view: whole-day windows, presets, previous period, and URL checking (SPEC 3, 5.2)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from dashboard.view import (
    PRESETS,
    View,
    check_url,
    default_window,
    matching_preset,
    preset_window,
    previous_period,
    request,
)
from insights_core import parse_params

TODAY = date(2025, 7, 31)


def test_default_window_is_spec_3_1_widened_to_whole_days():
    start, end = default_window(TODAY)
    assert (start, end) == (date(2025, 7, 1), TODAY)
    spec_default = parse_params({}, now=datetime(2025, 7, 31, 15, 0))
    resolved = parse_params(request(start, end, {}, "any"))
    assert resolved.start <= spec_default.start and resolved.end >= spec_default.end


def test_presets():
    span = (datetime(2025, 5, 2, 10), datetime(2025, 7, 30, 9))
    assert preset_window("Last 7 days", TODAY, span) == (date(2025, 7, 24), TODAY)
    assert preset_window("Last 90 days", TODAY, span) == (date(2025, 5, 2), TODAY)
    assert preset_window("This month", TODAY, span) == (date(2025, 7, 1), TODAY)
    assert preset_window("All data", TODAY, span) == (date(2025, 5, 2), date(2025, 7, 30))
    assert preset_window("All data", TODAY, None) is None
    assert matching_preset(date(2025, 7, 1), TODAY, TODAY, span) == "Last 30 days"
    assert matching_preset(date(2025, 7, 2), TODAY, TODAY, span) is None
    assert len(PRESETS) == 5


def test_request_uses_spec_names_and_leaves_defaults_out():
    body = request(date(2025, 7, 1), TODAY, {"source": "google.com", "medium": None, "term": ""}, "any")
    assert body == {"start_date": "2025-07-01", "end_date": "2025-07-31", "source": "google.com"}
    body = request(date(2025, 7, 1), TODAY, {"meta_id": "x"}, "assist")
    assert list(body) == ["start_date", "end_date", "meta_id", "touch_scope"]


def test_previous_period_has_the_same_length_and_ends_just_before():
    params = parse_params({"start_date": "2025-07-01", "end_date": "2025-07-31", "source": "x"})
    previous = previous_period(params)
    assert previous == parse_params({"start_date": "2025-05-31", "end_date": "2025-06-30", "source": "x"})
    assert previous.end + timedelta(microseconds=1) == params.start


def test_share_url_reopens_the_same_parameters():
    view = View.of(request(date(2025, 7, 1), TODAY, {"landing_page": "https://a.com/?x=1&y=2"}, "first"))
    url = view.share_url("http://localhost:8501/insights")
    parts = urlsplit(url)
    assert parts.path == "/insights"
    reopened = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert parse_params(reopened) == view.params
    assert view.share_url("http://127.0.0.1:8501").startswith("http://127.0.0.1:8501/?start_date=")


def test_good_urls_pass_unchanged():
    raw = {"start_date": ["2025-07-01"], "end_date": ["2025-07-31"], "source": ["google.com"], "touch_scope": ["first"]}
    notices, corrected = check_url(raw, TODAY)
    assert notices == []
    assert corrected == {key: values[0] for key, values in raw.items()}


def test_bad_values_are_named_and_dropped():
    raw = {"touch_scope": ["bogus"], "start_date": ["2025-02-30"], "foo": ["1"], "source": ["a", "b"], "embed": ["true"]}
    notices, corrected = check_url(raw, TODAY)
    assert corrected == {}
    texts = " ".join(notice.text for notice in notices)
    for name in ("touch_scope", "start_date", "foo", "source"):
        assert f"**{name}**" in texts
    assert all(notice.level == "warning" for notice in notices)


def test_start_after_end_falls_back_to_30_days_before_the_end():
    notices, corrected = check_url({"start_date": ["2025-07-20"], "end_date": ["2025-07-10"]}, TODAY)
    assert corrected == {"start_date": "2025-06-10", "end_date": "2025-07-10"}
    assert "**start_date**" in notices[0].text


def test_end_alone_starts_the_window_30_days_before_it():
    notices, corrected = check_url({"end_date": ["2025-06-30"]}, TODAY)
    assert notices == []
    assert corrected == {"start_date": "2025-05-31", "end_date": "2025-06-30"}


def test_datetimes_become_their_utc_day():
    notices, corrected = check_url({"start_date": ["2025-07-02T01:30:00+02:00"]}, TODAY)
    assert corrected == {"start_date": "2025-07-01"}
    assert notices[0].level == "info"


def test_wrong_date_spelling_is_refused_like_the_api_refuses_it():
    notices, corrected = check_url({"end_date": ["2025/07/01"]}, TODAY)
    assert corrected == {}
    assert "**end_date**" in notices[0].text
