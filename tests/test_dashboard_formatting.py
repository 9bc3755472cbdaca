"""The dashboard's number formatting and changes against the comparison (pure functions)."""

from __future__ import annotations

import pytest

from dashboard.formatting import (
    MISSING,
    Change,
    change,
    format_count,
    format_day,
    format_duration,
    format_moment_span,
    format_span,
    format_value,
)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0, "0.0s"),
        (4.2, "4.2s"),
        (42.0, "42s"),
        (59.6, "1m 00s"),
        (132.0, "2m 12s"),
        (3_599.4, "59m 59s"),
        (3_600.0, "1h 00m"),
        (11_100.0, "3h 05m"),
        (120_960.0, "1.4 d"),
        (None, MISSING),
    ],
)
def test_durations_read_as_people_say_them(seconds, text):
    assert format_duration(seconds) == text


def test_counts_have_thousands_separators():
    assert format_count(1_234_567) == "1,234,567"
    assert format_count(None) == MISSING


def test_values_are_written_by_kind():
    assert format_value("count", 12_000) == "12,000"
    assert format_value("ratio", 2.9) == "2.9"
    assert format_value("percent", "24.08%") == "24.08%"
    assert format_value("duration", 193.0) == "3m 13s"
    assert format_value("ratio", None) == MISSING


def test_count_changes_show_the_difference_and_its_share():
    assert change("count", 1_794, 2_055) == Change("-261 (-12.7%)", "vs previous period")
    assert change("count", 120, 0) == Change("+120", "vs previous period")


def test_rate_changes_are_in_percentage_points():
    assert change("percent", "24.08%", "23.89%") == Change("+0.19 pp", "vs previous period")


def test_duration_changes_are_durations():
    assert change("duration", 193.0, 200.4).delta == "-7.4s"
    assert change("duration", 3_600.0, 3_000.0).delta == "+10m 00s"


def test_no_change_is_zero_and_missing_values_compare_to_nothing():
    assert change("count", 5, 5) == Change(0, "no change")
    assert change("ratio", 2.0, 2.0) == Change(0, "no change")
    assert change("duration", None, 3.0).delta is None
    assert change("count", 3, None).delta is None


def test_days_are_written_day_month_year():
    from datetime import date, datetime

    assert format_day(date(2025, 7, 1)) == "1 Jul 2025"


def test_spans_say_each_month_and_year_once():
    from datetime import date, datetime

    assert format_span(date(2026, 11, 21), date(2026, 11, 27)) == "21–27 Nov 2026"
    assert format_span(date(2026, 10, 29), date(2026, 11, 28)) == "29 Oct – 28 Nov 2026"
    assert format_span(date(2025, 12, 1), date(2026, 1, 3)) == "1 Dec 2025 – 3 Jan 2026"
    assert format_span(date(2026, 11, 28), date(2026, 11, 28)) == "28 Nov 2026"
    assert format_moment_span(datetime(2026, 10, 29, 12, 36), datetime(2026, 11, 28, 12, 36, 5)) == (
        "29 Oct 12:36 – 28 Nov 2026 12:36 UTC")
    assert format_moment_span(datetime(2025, 12, 20, 8, 0), datetime(2026, 1, 19, 8, 0)) == (
        "20 Dec 2025 08:00 – 19 Jan 2026 08:00 UTC")
