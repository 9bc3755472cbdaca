"""The dashboard's view: the default window, quick windows, comparisons, and URL checking
(docs/metrics.md#window, docs/metrics.md#parameters). Pure functions, no Streamlit."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from dashboard.view import (
    PRESETS,
    check_url,
    comparison_params,
    make_view,
    matching_preset,
    preset_days,
    previous_period,
)
from dashboard.text import markdown_text
from insights_core import ParameterError, parse_params
from insights_core.wording import quoted

NOW = datetime(2025, 7, 31, 15, 20, 5, 123456)
TODAY = NOW.date()
SPAN = (datetime(2025, 5, 2, 10), datetime(2025, 7, 30, 9))


def days(preset: str, today: date = TODAY) -> tuple[date, date] | None:
    return preset_days(preset, today, SPAN)


def test_no_dates_is_exactly_the_api_default_at_that_moment():
    view = make_view(None, None, {"source": "google.com"}, "first", None, now=NOW)
    assert view.params == parse_params({"source": "google.com", "touch_scope": "first"}, now=NOW)
    assert view.window.default and view.window.preset is None
    assert "the API's default window" in view.window.describe()
    # The share link carries no dates, like the empty API body it stands for.
    assert view.query == {"source": "google.com", "touch_scope": "first"}


def test_a_date_not_given_takes_the_apis_default():
    from_only = make_view(date(2025, 7, 1), None, {}, None, None, now=NOW)
    assert from_only.params == parse_params({"start_date": "2025-07-01"}, now=NOW)  # up to now
    assert from_only.query == {"start_date": "2025-07-01"}
    assert from_only.window.describe() == "1 Jul 00:00 – 31 Jul 2025 15:20 UTC"
    to_only = make_view(None, date(2025, 6, 30), {}, None, None, now=NOW)
    assert to_only.params == parse_params({"end_date": "2025-06-30"}, now=NOW)  # the 30 days before its end
    assert to_only.query == {"end_date": "2025-06-30"}


def test_last_n_days_are_n_whole_days_ending_yesterday_and_today_is_its_own():
    for preset, length in (("Last 7 days", 7), ("Last 30 days", 30), ("Last 90 days", 90)):
        first, last = days(preset)
        assert last == TODAY - timedelta(days=1)
        assert (last - first).days + 1 == length
    assert days("Today") == (TODAY, TODAY)
    assert days("Yesterday") == (date(2025, 7, 30), date(2025, 7, 30))
    assert days("This month") == (date(2025, 7, 1), TODAY)
    assert days("Last month") == (date(2025, 6, 1), date(2025, 6, 30))
    assert days("Last month", date(2025, 1, 15)) == (date(2024, 12, 1), date(2024, 12, 31))
    assert days("All data") == (date(2025, 5, 2), date(2025, 7, 30))
    assert preset_days("All data", TODAY, None) is None
    assert len(PRESETS) == 8


def test_a_window_says_its_span_and_the_quick_window_it_is():
    view = make_view(date(2025, 7, 24), date(2025, 7, 30), {}, None, None, now=NOW, span=SPAN)
    assert view.window.preset == "Last 7 days"
    assert view.window.describe() == "Last 7 days: 24–30 Jul 2025 (7 days, UTC)"
    assert matching_preset(date(2025, 7, 2), TODAY, TODAY, SPAN) is None
    one_day = make_view(TODAY, TODAY, {}, None, None, now=NOW, span=SPAN)
    assert one_day.window.describe() == "Today: 31 Jul 2025 (1 day, UTC)"


def test_picked_days_are_whole_days_and_the_url_says_them():
    view = make_view(date(2025, 7, 1), date(2025, 7, 31), {"medium": "cpc", "term": ""}, "any", "year", now=NOW)
    assert view.params == parse_params({"start_date": "2025-07-01", "end_date": "2025-07-31", "medium": "cpc"})
    assert view.query == {"start_date": "2025-07-01", "end_date": "2025-07-31", "medium": "cpc", "compare": "year"}
    assert view.filters == {"medium": "cpc"}


def test_end_before_start_is_refused_not_moved():
    with pytest.raises(ParameterError) as refused:
        make_view(date(2025, 7, 20), date(2025, 7, 10), {}, None, None, now=NOW)
    assert refused.value.field == "start_date"
    assert "From (20 Jul 2025) is after To (10 Jul 2025)" in refused.value.message


def whole(first: str, last: str) -> tuple[datetime, datetime]:
    params = parse_params({"start_date": first, "end_date": last})
    return params.start, params.end


def compared(first: str, last: str, compare: str) -> tuple[datetime, datetime] | None:
    params = comparison_params(parse_params({"start_date": first, "end_date": last, "source": "x"}), compare)
    if params is None:
        return None
    assert params.source == "x"  # same filters
    return params.start, params.end


def test_previous_period_of_a_plain_window_has_the_same_length_and_ends_just_before():
    assert compared("2025-07-10", "2025-07-16", "previous") == whole("2025-07-03", "2025-07-09")
    params = parse_params({"start_date": "2025-07-10", "end_date": "2025-07-16"})
    assert previous_period(params).end + timedelta(microseconds=1) == params.start


def test_a_calendar_month_is_compared_with_the_month_before():
    assert compared("2025-11-01", "2025-11-30", "previous") == whole("2025-10-01", "2025-10-31")
    assert compared("2025-03-01", "2025-03-31", "previous") == whole("2025-02-01", "2025-02-28")
    assert compared("2025-01-01", "2025-03-31", "previous") == whole("2024-10-01", "2024-12-31")
    # A month so far ("This month") against the same days of the month before.
    assert compared("2025-11-01", "2025-11-28", "previous") == whole("2025-10-01", "2025-10-28")
    assert compared("2025-03-01", "2025-03-30", "previous") == whole("2025-02-01", "2025-02-28")


def test_same_period_last_year_and_no_comparison():
    assert compared("2025-07-01", "2025-07-31", "year") == whole("2024-07-01", "2024-07-31")
    assert compared("2024-02-29", "2024-02-29", "year") == whole("2023-02-28", "2023-02-28")
    assert compared("2025-07-01", "2025-07-31", "none") is None
    assert compared("0001-01-01", "0001-01-31", "year") is None  # nothing a year before year 1


def test_the_default_window_is_compared_with_the_30_days_before_it():
    view = make_view(None, None, {}, None, "previous", now=NOW)
    assert view.comparison.end + timedelta(microseconds=1) == view.params.start
    assert view.comparison.end - view.comparison.start == view.params.end - view.params.start


def test_share_url_reopens_the_same_view():
    view = make_view(date(2025, 7, 1), TODAY, {"landing_page": "https://a.com/?x=1&y=2"}, "first", "none", now=NOW)
    url = view.share_url("http://localhost:8501/insights?start_date=2020-01-01#top")
    parts = urlsplit(url)
    assert parts.path == "/insights"
    reopened = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert reopened.pop("compare") == "none"
    assert parse_params(reopened) == view.params
    assert make_view(None, None, {}, None, None, now=NOW).share_url("http://127.0.0.1:8501") == "http://127.0.0.1:8501/"


def test_good_urls_pass_unchanged():
    raw = {"start_date": ["2025-07-01"], "end_date": ["2025-07-31"], "source": ["google.com"],
           "touch_scope": ["first"], "compare": ["year"]}
    notices, corrected = check_url(raw, TODAY)
    assert notices == []
    assert corrected == {key: values[0] for key, values in raw.items()}


def test_bad_values_are_named_in_words_and_dropped():
    raw = {"touch_scope": ["bogus"], "start_date": ["2025-02-30"], "foo": ["1"], "source": ["a", "b"],
           "compare": ["decade"], "embed": ["true"]}
    notices, corrected = check_url(raw, TODAY)
    assert corrected == {}
    texts = " ".join(notice.text for notice in notices)
    for words in ("**Sessions counted** (touch\\_scope)", "**From** (start\\_date)", "\\'foo\\'", "**Source** (source)",
                  "**Compare with** (compare)"):
        assert words in texts
    assert all(notice.level == "warning" for notice in notices)
    assert "SPEC" not in texts and "23:59:59" not in texts


@pytest.mark.parametrize("value", [
    "[Session expired - log in](https://evil.example/login)",
    "![i](https://evil.example/x.png)",
    "x` [click](https://evil.example) `y",
    "<a href='https://evil.example'>x</a>",
])
def test_hostile_values_in_messages_are_escaped(value):
    notices, _ = check_url({"touch_scope": [value], value: ["1"]}, TODAY)
    assert len(notices) == 2
    for notice in notices:
        assert markdown_text(quoted(value)) in notice.text  # every markup character backslash-escaped


def test_from_after_to_in_a_link_is_left_out_and_said():
    notices, corrected = check_url({"start_date": ["2025-07-20"], "end_date": ["2025-07-10"]}, TODAY)
    assert corrected == {"end_date": "2025-07-10"}
    assert "From** date (20 Jul 2025) is after its **To** date (10 Jul 2025)" in notices[0].text


def test_to_alone_passes_as_the_api_takes_it():
    notices, corrected = check_url({"end_date": ["2025-06-30"]}, TODAY)
    assert (notices, corrected) == ([], {"end_date": "2025-06-30"})


def test_datetimes_become_their_utc_day():
    notices, corrected = check_url({"start_date": ["2025-07-02T01:30:00+02:00"]}, TODAY)
    assert corrected == {"start_date": "2025-07-01"}
    assert notices[0].level == "info" and "1 Jul 2025" in notices[0].text


def test_wrong_date_spelling_is_refused_like_the_api_refuses_it():
    notices, corrected = check_url({"end_date": ["2025/07/01"]}, TODAY)
    assert corrected == {}
    assert "is not a date" in notices[0].text
