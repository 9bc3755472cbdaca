"""Saved views in a real browser: save the current view, see it listed, open it (its URL, in the same tab),
rename it, and find it again after the streamlit server is restarted; then delete it. Runs on its own
server over a small store of its own, so the other tests never see these views; on the Export page, the
lightest of the analysis pages (a view of the Attribution page keeps its settings: tests/test_saved_views.py)."""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from support import make_demo_db

pytestmark = pytest.mark.browser

DATA_END = datetime(2025, 7, 31, 18, 0, tzinfo=timezone.utc)
JULY = {"start_date": "2025-07-01", "end_date": "2025-07-31"}
NAME = "Organic <b>July</b> [x](https://evil.example)"


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


def saved_list(tab):
    return tab.get_by_role("navigation", name="Saved views")


def manage(tab):
    """Open the sidebar's "Rename, delete or share" expander (if closed) and return the sidebar."""
    sidebar = tab.get_by_test_id("stSidebar")
    toggle = sidebar.get_by_text("Rename, delete or share a saved view")
    rename = sidebar.get_by_role("button", name="Rename")
    if not rename.is_visible():
        toggle.click()
    expect(rename).to_be_visible()
    return sidebar


def first_visits(tab):
    return tab.get_by_role("radiogroup", name="Sessions counted").get_by_role("radio", name="First visits")


def stop(server) -> None:
    server.process.terminate()
    server.process.wait(timeout=20)


def test_save_open_rename_survive_a_restart_and_delete(new_tab, start_server, settled, tmp_path):
    store = make_demo_db(tmp_path / "insights.duckdb", 200, 3, DATA_END)
    first = start_server(store)
    tab = new_tab()
    saved_query = {**JULY, "medium": "organic", "touch_scope": "first"}
    tab.goto(first.view_url("export", **saved_query))
    first_load(tab, settled)

    # Save: the name is shown exactly as typed, as text.
    sidebar = tab.get_by_test_id("stSidebar")
    sidebar.get_by_role("textbox", name="Name this view").fill(NAME)
    sidebar.get_by_role("button", name="Save this view").click()
    settled(tab)
    link = saved_list(tab).get_by_role("link", name=NAME, exact=True)
    expect(link).to_be_visible()
    expect(saved_list(tab).locator("b")).to_have_count(0)
    assert query_of(link.get_attribute("href")) == saved_query
    assert urlsplit(link.get_attribute("href")).path == "/export"

    # Rename. Typing the new name and leaving the box reruns the page, which no longer shows the "Saved"
    # message: the expander must stay open under the pointer (it once moved up, was redrawn closed and
    # swallowed the click on Rename).
    sidebar = manage(tab)
    new_name = sidebar.get_by_role("textbox", name="New name")
    new_name.fill("Organic first visits, July")
    new_name.press("Tab")
    settled(tab)
    expect(sidebar.get_by_role("button", name="Rename")).to_be_visible()
    sidebar.get_by_role("button", name="Rename").click()
    settled(tab)
    expect(saved_list(tab).get_by_role("link", name="Organic first visits, July", exact=True)).to_be_visible()
    expect(saved_list(tab).get_by_role("link", name=NAME, exact=True)).to_have_count(0)

    # Restart the server: the view is still there, and opens from another view (its URL, in this tab).
    stop(first)
    second = start_server(store)
    tab.goto(second.view_url("export", medium="cpc"))
    first_load(tab, settled)
    renamed = saved_list(tab).get_by_role("link", name="Organic first visits, July", exact=True)
    expect(renamed).to_be_visible()
    renamed.click()
    tab.wait_for_url(lambda url: url.startswith(f"{second.url}/export") and query_of(url) == saved_query)
    settled(tab)
    expect(tab.get_by_role("combobox", name="Medium")).to_have_value("organic")
    expect(first_visits(tab)).to_be_checked()

    # Delete.
    sidebar = manage(tab)
    settled(tab)
    sidebar.get_by_role("button", name="Delete", exact=True).click()
    settled(tab)
    expect(saved_list(tab)).to_have_count(1)  # not yet: it asks once more
    sidebar.get_by_role("button", name="Delete it").click()
    settled(tab)
    expect(saved_list(tab)).to_have_count(0)
    expect(sidebar.get_by_text("None yet: name the view below to keep it.")).to_be_visible()
