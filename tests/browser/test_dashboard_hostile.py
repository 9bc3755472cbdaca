"""Hostile values in a real browser: a link built to trick (markup in the URL's values and names) and
a store holding markup (in a medium, a campaign, a source, an uploaded file's name) are shown as
text. No `<a>` or `<img>` points at the hostile host and the browser asks it for nothing."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import expect

from dashboard.text import WORD_JOINER
from insights_core import load
from insights_core.storefile import StoreFile

pytestmark = pytest.mark.browser

HOST = "evil.example"
MEDIUM_LINK = f'<a href="https://{HOST}/m">x</a>'
CAMPAIGN_LINK = f"[Session expired - log in](https://{HOST}/c)"
SOURCE_IMAGE = f"<img src=https://{HOST}/s.png><b>bold</b>"
FILE_NAME = f"[click](https:{HOST}) ![i](x.png).csv"
WINDOW = {"start_date": "2025-07-01", "end_date": "2025-07-31"}


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory) -> Path:
    """A store whose values and load log hold markup, loaded the ordinary way from files."""
    folder = tmp_path_factory.mktemp("hostile")
    sessions = folder / FILE_NAME
    write_csv(sessions, ["session_id", "user_id", "started_at", "exited_at", "landing_page", "referrer", "utm_source",
                         "utm_medium", "utm_campaign"], [
        ["h1", "u1", "2025-07-02T10:00:00Z", "2025-07-02T10:05:00Z", "https://acme.com/", "", SOURCE_IMAGE,
         MEDIUM_LINK, CAMPAIGN_LINK],
        ["h2", "u1", "2025-07-03T10:00:00Z", "2025-07-03T10:09:00Z", "https://acme.com/", "", SOURCE_IMAGE,
         MEDIUM_LINK, ""],
        ["h3", "u2", "2025-07-04T10:00:00Z", "2025-07-04T10:01:00Z", "https://acme.com/", "https://www.google.com/",
         "", "", ""],
    ])
    conversions = folder / "conversions.csv"
    write_csv(conversions, ["conversion_id", "session_id", "converted_at", "meta_type"],
              [["c1", "h2", "2025-07-03T10:04:00Z", CAMPAIGN_LINK]])
    store = folder / "hostile.duckdb"
    with StoreFile(store).edit() as con:
        load(con, sessions, conversions)
    return store


@pytest.fixture(scope="module")
def hostile_server(hostile_store, start_server):
    return start_server(hostile_store)


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="") as file:
        csv.writer(file).writerows([header, *rows])


def visible(locator) -> str:
    """The text a reader sees (the invisible word joiners that keep addresses from linking removed)."""
    return locator.inner_text().replace(WORD_JOINER, "")


def links_and_images_to_the_host(tab) -> list[str]:
    return tab.evaluate(f"""() => Array.from(document.querySelectorAll('a[href], img[src], image, [src], [href]'))
        .filter(e => (e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('xlink:href') || '').includes('{HOST}'))
        .map(e => e.outerHTML.slice(0, 300))""")


def asked_the_host(tab) -> list[str]:
    return [url for url in tab.requested if (urlsplit(url).hostname or "").endswith(HOST)]


def test_a_hostile_link_shows_its_values_as_text(page, server, settled):
    query = (
        f"touch_scope={quote(CAMPAIGN_LINK)}"
        f"&start_date={quote(f'![i](https://{HOST}/x.png)')}"
        f"&{quote(f'[name](https://{HOST}/n)')}=1"
        f"&campaign={quote(f'x` [click](https://{HOST}/k) `y')}"
    )
    page.goto(f"{server.url}/?{query}")
    settled(page)
    alerts = page.get_by_test_id("stAlert")
    expect(alerts).to_have_count(3)
    assert CAMPAIGN_LINK in visible(alerts.filter(has_text="Sessions counted"))
    assert f"![i](https://{HOST}/x.png)" in visible(alerts.filter(has_text="From"))
    assert f"[name](https://{HOST}/n)" in visible(alerts.filter(has_text="not a setting of this page"))
    # The campaign is a valid filter: the page names it as text and filters on it.
    assert f"Campaign = “x` [click](https://{HOST}/k) `y”" in visible(page.get_by_test_id("stMain"))
    expect(page.get_by_role("combobox", name="Campaign")).to_have_value(f"x` [click](https://{HOST}/k) `y")
    page.wait_for_timeout(500)
    assert links_and_images_to_the_host(page) == []
    assert asked_the_host(page) == []


def test_hostile_stored_values_show_as_text_in_charts_tables_lists_and_the_load_history(
    new_tab, hostile_server, settled, open_list
):
    tab = new_tab(viewport={"width": 1400, "height": 2600})
    tab.goto(hostile_server.view_url("", **WINDOW, medium=MEDIUM_LINK))
    settled(tab)
    channel = f"{MEDIUM_LINK}/{SOURCE_IMAGE}"
    roles = tab.get_by_role("figure", name=re.compile("^Bar chart of converted users by the role"))
    roles.locator(".ytick text").first.wait_for()
    ticks = roles.locator(".ytick text").all_text_contents()
    assert any(tick.startswith(channel[:27]) for tick in ticks), ticks  # the name itself, cut on the axis
    assert roles.locator("a, b, img, image").count() == 0
    expect(tab.locator(".st-key-channel_table td").filter(has_text=channel)).to_have_count(1)
    expect(tab.get_by_role("combobox", name="Medium")).to_have_value(MEDIUM_LINK)
    assert f"Medium = “{MEDIUM_LINK}”" in visible(tab.get_by_test_id("stMain"))
    options = open_list(tab, "Conversion type")
    expect(options.filter(has_text=CAMPAIGN_LINK)).to_have_count(1)
    tab.keyboard.press("Escape")

    tab.goto(hostile_server.view_url("data"))
    settled(tab)
    last_load = tab.get_by_test_id("stMarkdown").filter(has_text="Last load")
    assert FILE_NAME in visible(last_load)
    assert last_load.locator("a, img").count() == 0
    tab.wait_for_timeout(500)
    assert links_and_images_to_the_host(tab) == []
    assert asked_the_host(tab) == []
    assert not any(url.endswith("/x.png") for url in tab.requested)
