"""The dashboard in a real browser (SPEC 5.2): URL -> numbers equal to compute_insights, widgets
-> URL, the JSON download byte-identical to `insights query`, and a bad upload refused."""

from __future__ import annotations

import hashlib
import re
import shlex
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from insights_core import compute_insights
from insights_core.storefile import StoreFile

pytestmark = pytest.mark.browser

JULY = {"start_date": "2025-07-01", "end_date": "2025-07-31"}
INSIGHTS_CLI = Path(sys.executable).with_name("insights")


def core(store: Path, params: dict) -> dict:
    with StoreFile(store).snapshot() as con:
        return compute_insights(con, params)


def card(tab, label: str):
    """The value of the metric card labelled ``label``."""
    label_match = tab.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    return tab.get_by_test_id("stMetric").filter(has=label_match).get_by_test_id("stMetricValue")


def query_of(url: str) -> dict[str, str]:
    return {key: values[-1] for key, values in parse_qs(urlsplit(url).query).items()}


def expect_core_numbers(tab, store: Path, params: dict) -> None:
    metrics = core(store, params)["overall_metrics"]
    users, sessions = metrics["user_summary"], metrics["session_summary"]
    expect(card(tab, "Users")).to_have_text(f"{users['total_users']:,}")
    expect(card(tab, "Converted users")).to_have_text(f"{users['total_converted_users']:,}")
    expect(card(tab, "Conversion rate")).to_have_text(users["conversion_rate"])
    expect(card(tab, "Sessions per user")).to_have_text(f"{users['avg_sessions_per_user']:.1f}")
    expect(card(tab, "Matching sessions")).to_have_text(f"{sessions['total_sessions']:,}")
    expect(card(tab, "Drop-off sessions")).to_have_text(f"{sessions['total_drop_off_sessions']:,}")


def test_a_url_opens_its_view_with_the_core_numbers(page, server, settled):
    query = {**JULY, "medium": "organic", "touch_scope": "first"}
    page.goto(server.view_url("", **query))
    settled(page)
    expect_core_numbers(page, server.store, query)
    expect(page.get_by_role("combobox", name="medium")).to_have_value("organic")
    expect(page.get_by_role("radiogroup", name="touch_scope").get_by_role("radio", name="first")).to_be_checked()
    assert query_of(page.url) == query
    share = page.get_by_test_id("stSidebar").get_by_test_id("stCode").first
    assert query_of(share.inner_text().replace("\n", "")) == query


def test_changing_widgets_moves_the_url_and_the_numbers(page, server, settled):
    page.goto(server.view_url("", **JULY))
    settled(page)
    page.get_by_role("radiogroup", name="touch_scope").get_by_role("radio", name="converting").click()
    settled(page)
    page.wait_for_url(lambda url: query_of(url) == {**JULY, "touch_scope": "converting"})

    source = page.get_by_role("combobox", name="source")
    source.click()
    source.fill("google.com")
    page.get_by_role("option", name="google.com", exact=True).click()
    settled(page)
    expected = {**JULY, "source": "google.com", "touch_scope": "converting"}
    page.wait_for_url(lambda url: query_of(url) == expected)
    expect_core_numbers(page, server.store, expected)


def test_bad_url_values_are_explained_and_replaced_by_defaults(page, server, settled):
    page.goto(server.view_url("", start_date="2025-07-20", end_date="2025-07-10", touch_scope="everyone"))
    settled(page)
    alerts = page.get_by_test_id("stAlert")
    expect(alerts.filter(has_text="touch_scope")).to_have_count(1)
    expect(alerts.filter(has_text="start_date")).to_have_count(1)
    corrected = {"start_date": "2025-06-10", "end_date": "2025-07-10"}
    page.wait_for_url(lambda url: query_of(url) == corrected)
    expect_core_numbers(page, server.store, corrected)


def test_json_download_is_byte_identical_to_the_cli(page, server, settled):
    query = {**JULY, "source": "google.com", "touch_scope": "assist"}
    page.goto(server.view_url("export", **query))
    settled(page)
    with page.expect_download() as download:
        page.get_by_test_id("stDownloadButton").filter(has_text="Insights JSON").get_by_role("button").click()
    downloaded = Path(download.value.path()).read_bytes()

    # Run the command line exactly as the page shows it.
    shown = page.get_by_test_id("stCode").filter(has_text="insights query").inner_text()
    words = shlex.split(shown.replace("\n", ""))
    assert words[:2] == ["insights", "query"] and Path(words[words.index("--db") + 1]) == server.store
    cli = subprocess.run([str(INSIGHTS_CLI), *words[1:]], capture_output=True, check=True)
    assert downloaded == cli.stdout
    assert b'"overall_metrics"' in downloaded


def test_a_bad_upload_is_refused_and_nothing_is_stored(page, server, settled, tmp_path):
    before = hashlib.sha256(server.store.read_bytes()).hexdigest()
    bad = tmp_path / "bad-sessions.csv"
    bad.write_text(
        "session_id,user_id,started_at\n"
        "n1,u1,2025-07-01T10:00:00Z\n"
        "n1,u2,2025-07-01T11:00:00Z\n"
        "n2,u3,not a time\n"
    )
    page.goto(server.view_url("data"))
    settled(page)
    stored = page.get_by_test_id("stMetric").filter(has_text="Sessions").get_by_test_id("stMetricValue")
    count_before = stored.inner_text()
    uploader = page.get_by_test_id("stFileUploader").filter(has_text="sessions file")
    uploader.locator("input[type='file']").set_input_files(str(bad))
    expect(uploader).to_contain_text("bad-sessions.csv")
    page.get_by_role("button", name="Load files").click()
    settled(page)
    error = page.get_by_test_id("stAlert").filter(has_text="Nothing was stored")
    expect(error).to_contain_text('bad-sessions.csv: rule "duplicate id": 2 bad rows (rows 1, 2)')
    expect(error).to_contain_text('bad-sessions.csv: rule "unparseable timestamp"')
    expect(stored).to_have_text(count_before)
    assert hashlib.sha256(server.store.read_bytes()).hexdigest() == before


def test_quick_windows_and_the_data_range_move_the_url(page, server, settled):
    page.goto(server.view_url("", **JULY))
    settled(page)
    page.get_by_role("radiogroup", name="Quick window").get_by_role("radio", name="Last 7 days").click()
    settled(page)
    today = datetime.now(timezone.utc).date()
    # end_date is today, its default, so the URL leaves it out (a bound widget at its default).
    page.wait_for_url(lambda url: query_of(url) == {"start_date": (today - timedelta(days=7)).isoformat()})
    # The test data ends on 31 Jul 2025: the page says so and offers the data's own range.
    page.get_by_role("button", name=re.compile(r"^Use the data's range")).click()
    settled(page)
    with StoreFile(server.store).snapshot() as con:
        first, last = con.execute("SELECT min(started_at)::DATE, max(started_at)::DATE FROM sessions").fetchone()
    everything = {"start_date": first.isoformat(), "end_date": last.isoformat()}
    page.wait_for_url(lambda url: query_of(url) == everything)
    expect_core_numbers(page, server.store, everything)
