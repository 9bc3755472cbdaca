"""Saved views: storage in the settings file beside the store (never the store), names and limits, and the
sidebar's save / list / rename / delete with AppTest. Opening one (a link, a fresh page load) and surviving a
server restart are in tests/browser/test_saved_views_browser.py."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.components.saved_views import links_html
from dashboard.text import markdown_text
from dashboard.saved_views import NAME_LIMIT, QUERY_LIMIT, SECTION, VIEW_LIMIT, SavedViews, ViewError, base_url, clean_name
from insights_core.auth.settings import SettingsError, SettingsFile
from support import make_demo_db

APP = Path(__file__).resolve().parents[1] / "app.py"
DATA_END = datetime(2025, 7, 31, 18, 0, tzinfo=timezone.utc)
JULY = {"start_date": "2025-07-01", "end_date": "2025-07-31"}


@pytest.fixture
def views(tmp_path) -> SavedViews:
    return SavedViews(tmp_path / "insights.duckdb")


# --- storage ---------------------------------------------------------------------------------


def test_a_saved_view_is_its_page_and_query_in_the_settings_file(views, tmp_path):
    saved = views.save("Organic, July", "attribution", {**JULY, "medium": "organic", "lookback_days": "7"})
    document = json.loads((tmp_path / "insights.duckdb.settings.json").read_text())
    entry = document["sections"][SECTION][saved.id]
    assert entry["name"] == "Organic, July" and entry["page"] == "attribution"
    assert entry["query"] == "start_date=2025-07-01&end_date=2025-07-31&medium=organic&lookback_days=7"
    assert oct(os.stat(tmp_path / "insights.duckdb.settings.json").st_mode & 0o777) == "0o600"
    assert not (tmp_path / "insights.duckdb").exists()  # the store is never written
    url = saved.url("http://127.0.0.1:8501")
    assert urlsplit(url).path == "/attribution"
    assert dict(parse_qsl(urlsplit(url).query)) == {**JULY, "medium": "organic", "lookback_days": "7"}
    assert [view.name for view in SavedViews(tmp_path / "insights.duckdb").all()] == ["Organic, July"]


def test_values_with_url_characters_come_back_exactly(views):
    query = {"campaign": "a&b=c d/é?#%", "source": "x+y"}
    saved = views.save("odd", "insights", query)
    assert dict(views.get(saved.id).query) == query
    assert dict(parse_qsl(urlsplit(saved.url("http://h")).query)) == query


def test_list_is_by_name_rename_keeps_the_link_delete_removes(views):
    b = views.save("beta", "insights", {"medium": "cpc"})
    a = views.save("Alpha", "export", {})
    assert [view.name for view in views.all()] == ["Alpha", "beta"]
    renamed = views.rename(b.id, "  Zulu\n  paid ")
    assert renamed.name == "Zulu paid" and renamed.query == b.query and renamed.page == "insights"
    assert [view.name for view in views.all()] == ["Alpha", "Zulu paid"]
    assert views.delete(a.id).name == "Alpha"
    assert [view.name for view in views.all()] == ["Zulu paid"]
    with pytest.raises(ViewError, match="no longer exists"):
        views.delete(a.id)
    with pytest.raises(ViewError, match="no longer exists"):
        views.rename(a.id, "x")


def test_names_are_one_line_unique_regardless_of_case_and_limited(views):
    assert clean_name(" a\tb\r\nc\u202e ") == "a b c"
    views.save("Paid search", "insights", {})
    with pytest.raises(ViewError, match="already called 'Paid search'"):
        views.save("paid SEARCH", "insights", {})
    for empty in ("", "   ", "\n\u200b"):
        with pytest.raises(ViewError, match="needs a name"):
            views.save(empty, "insights", {})
    with pytest.raises(ViewError, match=f"at most {NAME_LIMIT}"):
        views.save("x" * (NAME_LIMIT + 1), "insights", {})
    assert views.save("x" * NAME_LIMIT, "insights", {}).name == "x" * NAME_LIMIT
    with pytest.raises(ViewError, match="cannot be saved"):
        views.save("data", "data", {})
    with pytest.raises(ViewError, match="longer than"):
        views.save("long", "insights", {"campaign": "c" * QUERY_LIMIT})
    assert len(views.all()) == 2  # nothing refused was written


def test_at_most_the_limit_of_views(tmp_path):
    views = SavedViews(tmp_path / "s.duckdb")
    SettingsFile(tmp_path / "s.duckdb").update(SECTION, lambda _: {
        f"id{number}": {"name": f"v{number}", "page": "insights", "query": "", "created_at": "", "updated_at": ""}
        for number in range(VIEW_LIMIT)})
    assert len(views.all()) == VIEW_LIMIT
    before = (tmp_path / "s.duckdb.settings.json").read_bytes()
    with pytest.raises(ViewError, match="delete one first"):
        views.save("one more", "insights", {})
    assert (tmp_path / "s.duckdb.settings.json").read_bytes() == before


def test_other_sections_are_kept_and_broken_entries_skipped_not_lost(tmp_path):
    settings = SettingsFile(tmp_path / "s.duckdb")
    settings.update("api_keys", lambda _: [{"name": "reporting", "key_hash": "h"}])
    settings.update(SECTION, lambda _: {"broken": {"name": 3}, "bad-page": {"name": "x", "page": "data", "query": ""},
                                        "bad-query": {"name": "y", "page": "insights", "query": ["a"]}})
    views = SavedViews(tmp_path / "s.duckdb")
    assert views.all() == []
    views.save("fine", "insights", {"medium": "cpc"})
    sections = settings.sections()
    assert sections["api_keys"] == [{"name": "reporting", "key_hash": "h"}]
    assert {"broken", "bad-page", "bad-query"} < set(sections[SECTION])
    assert [view.name for view in views.all()] == ["fine"]


def test_a_damaged_section_or_file_is_refused_not_overwritten(tmp_path):
    settings = SettingsFile(tmp_path / "s.duckdb")
    settings.update(SECTION, lambda _: ["not", "an", "object"])
    views = SavedViews(tmp_path / "s.duckdb")
    assert views.all() == []
    with pytest.raises(ViewError, match="damaged"):
        views.save("x", "insights", {})
    assert settings.section(SECTION) == ["not", "an", "object"]
    (tmp_path / "s.duckdb.settings.json").write_text("{not json")
    with pytest.raises(SettingsError, match="not a valid settings file"):
        views.all()


def test_base_url_keeps_a_mount_path():
    assert base_url("http://h:8501/attribution?x=1", "attribution") == "http://h:8501"
    assert base_url("https://h/tools/insights/export", "export") == "https://h/tools/insights"
    assert base_url("http://h:8501/", "") == "http://h:8501"


def test_the_list_shows_names_as_text_never_markup():
    class View:
        def __init__(self, name):
            self.name, self.page, self.query = name, "insights", (("source", '"><script>x</script>'),)

        def url(self, base):
            return f"{base}/insights?source=%22%3E%3Cscript%3Ex%3C%2Fscript%3E"

    shown = links_html([View('<img src=x onerror=alert(1)> [x](https://evil.example) **b**')], "http://h", {})
    assert "<img" not in shown and "<script" not in shown
    assert "&lt;img src=x onerror=alert(1)&gt; [x](https://evil.example) **b**" in shown


# --- the sidebar (AppTest) -------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory) -> Path:
    return make_demo_db(tmp_path_factory.mktemp("saved-views") / "insights.duckdb", 300, 5, DATA_END)


@pytest.fixture
def store(demo_store, tmp_path) -> Path:
    """A copy of the demo store, so each test starts without saved views."""
    path = tmp_path / "insights.duckdb"
    shutil.copyfile(demo_store, path)
    return path


def open_page(store: Path, monkeypatch, page: str, **query: str) -> AppTest:
    monkeypatch.setenv("INSIGHTS_DB", str(store))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params.update(query)
    at.switch_page(page)
    return at.run()


def button(at: AppTest, label: str):
    [found] = [candidate for candidate in at.button if candidate.label == label]
    return found


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_save_rename_delete_from_the_sidebar_never_write_the_store(store, monkeypatch):
    before = digest(store)
    at = open_page(store, monkeypatch, "pages/attribution.py", **JULY, medium="organic", lookback_days="7")
    assert not at.exception
    assert "None yet" in at.sidebar.caption[0].value
    name = "Organic [July](https://evil.example)"
    at.text_input(key="saved_view_name").input(name)
    at = button(at, "Save this view").click().run()
    assert not at.exception and not at.error
    assert at.success[0].value == f"Saved “{markdown_text(name)}”."  # shown as text, no link
    [saved] = SavedViews(store).all()
    assert saved.page == "attribution"
    assert dict(saved.query) == {**JULY, "medium": "organic", "lookback_days": "7"}
    # Listed as a link to its URL; its link shown as text to copy.
    [links] = [block for block in at.get("html") if "insights-saved-views" in block.proto.body]
    assert "/attribution?start_date=2025-07-01&amp;end_date=2025-07-31&amp;medium=organic&amp;lookback_days=7" in links.proto.body
    assert any(code.value.endswith("/attribution?" + saved.query_string()) for code in at.code)

    at.text_input(key="saved_view_name").input("organic [july](https://evil.example)")
    at = button(at, "Save this view").click().run()
    assert "already called" in at.error[0].value
    assert len(SavedViews(store).all()) == 1

    at.text_input(key="saved_view_new_name").input("Organic, 7-day lookback")
    at = button(at, "Rename").click().run()
    assert at.success[0].value.startswith("Renamed to")
    assert [view.name for view in SavedViews(store).all()] == ["Organic, 7-day lookback"]
    assert at.selectbox(key="saved_view_chosen").options == ["Organic, 7-day lookback"]

    # Delete asks once more; "Keep it" keeps it.
    at = button(at, "Delete").click().run()
    assert markdown_text("Organic, 7-day lookback") in at.warning[0].value and len(SavedViews(store).all()) == 1
    at = button(at, "Keep it").click().run()
    assert not at.warning and len(SavedViews(store).all()) == 1
    at = button(at, "Delete").click().run()
    at = button(at, "Delete it").click().run()
    assert at.success[0].value == f"Deleted “{markdown_text('Organic, 7-day lookback')}”."
    assert SavedViews(store).all() == []
    assert digest(store) == before


def test_a_view_of_the_insights_page_is_saved_with_its_page_and_filters(store, monkeypatch):
    at = open_page(store, monkeypatch, "pages/insights.py", **JULY, touch_scope="first", compare="none")
    at.text_input(key="saved_view_name").input("First visits")
    at = button(at, "Save this view").click().run()
    [saved] = SavedViews(store).all()
    assert saved.page == "insights"
    assert dict(saved.query) == {**JULY, "touch_scope": "first", "compare": "none"}
    assert saved.url("http://h:8501") == "http://h:8501/?" + saved.query_string()  # the default page's address
    [links] = [block for block in at.get("html") if "insights-saved-views" in block.proto.body]
    assert "· Insights</span>" in links.proto.body


def test_a_damaged_settings_file_is_a_message_and_the_page_still_shows(store, monkeypatch):
    Path(f"{store}.settings.json").write_text("{damaged")
    at = open_page(store, monkeypatch, "pages/attribution.py", **JULY)
    assert not at.exception
    assert any("The saved views cannot be read" in error.value for error in at.error)
    assert [b.label for b in at.get("download_button")] == ["Attribution CSV", "Attribution JSON"]


def test_an_unexpected_error_in_the_saved_views_leaves_the_page_shown(store, monkeypatch):
    def broken(self):
        raise RuntimeError("boom")

    monkeypatch.setattr(SavedViews, "all", broken)
    at = open_page(store, monkeypatch, "pages/attribution.py", **JULY)
    assert not at.exception
    assert any("The saved views could not be shown" in error.value and "error id" in error.value for error in at.error)
    assert [b.label for b in at.get("download_button")] == ["Attribution CSV", "Attribution JSON"]
