"""The Attribution page in a real browser: it renders, its CSV and JSON downloads are the bytes of
`insights attribution` for the same URL, and a URL setting (and the lookback field) changes the numbers."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from insights_core.cli import main

pytestmark = pytest.mark.browser

JULY = {"start_date": "2025-07-01", "end_date": "2025-07-31"}
INSIGHTS_CLI = Path(sys.executable).with_name("insights")


FIRST_LOAD_MS = 180_000
"""A server's first page loads every piece of the page's code into the browser; on a busy two-core machine
that alone can take longer than the fixtures' 60 s, so a first load gets longer (nothing else does)."""


def first_load(tab, settled) -> None:
    """Until the page's content is drawn (its download buttons are there, no skeleton is left), then settled."""
    expect(tab.get_by_test_id("stDownloadButton").first).to_be_visible(timeout=FIRST_LOAD_MS)
    expect(tab.get_by_test_id("stSkeleton")).to_have_count(0, timeout=FIRST_LOAD_MS)
    settled(tab)


def query_of(url: str) -> dict[str, str]:
    return {key: values[-1] for key, values in parse_qs(urlsplit(url).query).items()}


def cli(store: Path, *flags: str) -> bytes:
    """What ``insights attribution`` prints, run as a command."""
    return subprocess.run([str(INSIGHTS_CLI), "attribution", "--db", str(store), *flags],
                          capture_output=True, check=True).stdout


def cli_in_process(store: Path, *flags: str) -> bytes:
    """The same through the CLI's ``main`` in this process (a command costs seconds to start on a busy machine)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["attribution", "--db", str(store), *flags]) == 0
    return printed.getvalue().encode("utf-8")


def download(tab, label: str) -> tuple[bytes, str]:
    with tab.expect_download() as started:
        tab.get_by_test_id("stDownloadButton").filter(has_text=label).get_by_role("button").click()
    return Path(started.value.path()).read_bytes(), started.value.suggested_filename


def test_the_page_renders_its_downloads_are_the_clis_bytes_and_the_lookback_moves_them(page, server, settled):
    query = {**JULY, "medium": "organic", "lookback_days": "1", "conversions": "all"}
    page.goto(server.view_url("attribution", **query))
    first_load(page, settled)
    main = page.get_by_test_id("stMainBlockContainer")
    expect(main.get_by_role("heading", name="Attribution", exact=True)).to_be_visible()
    expect(main.get_by_text("All the credit goes to the channel that brought the person in first.")).to_be_visible()
    expect(main.get_by_text("Models compared", exact=True)).to_be_visible()
    expect(main.get_by_role("figure", name="Bar chart of the conversions each of the seven attribution models",
                            exact=False)).to_have_count(1)
    expect(page.get_by_test_id("stAlert")).to_have_count(0)
    flags = ["--start-date", "2025-07-01", "--end-date", "2025-07-31", "--medium", "organic", "--conversions", "all"]

    short, name = download(page, "Attribution CSV")
    assert short == cli(server.store, *flags, "--lookback-days", "1", "--format", "csv")  # the command itself
    assert short.startswith(b"channel,first_touch_conversions,")
    assert name == "insights_2025-07-01_2025-07-31_medium-organic_attribution_lookback_days-1_conversions-all.csv"
    answer, _ = download(page, "Attribution JSON")
    assert answer == cli_in_process(server.store, *flags, "--lookback-days", "1")

    # The lookback's field: the URL follows (the default leaves it) and so do the numbers.
    field = page.get_by_role("spinbutton", name="Lookback (days)")
    expect(field).to_have_value("1")
    field.fill("90")
    field.press("Enter")
    settled(page)
    page.wait_for_url(lambda url: "lookback_days" not in query_of(url) and query_of(url)["conversions"] == "all")
    default, name = download(page, "Attribution CSV")
    assert name == "insights_2025-07-01_2025-07-31_medium-organic_attribution_conversions-all.csv"
    assert default == cli_in_process(server.store, *flags, "--format", "csv")
    assert default != short
