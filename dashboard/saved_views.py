"""Saved views: named URLs of the dashboard, kept in the settings file beside the store.

A saved view is a page and the query string of its URL (the window, the
filters, the page's own settings): exactly what the sidebar's share link
holds, so opening one is opening that link, and every saved view is a
shareable URL. They live in the ``saved_views`` section of
``<db>.settings.json`` (docs/architecture.md#settings-file), never in the
analytics store: saving one writes a few hundred bytes under the settings
file's lock and leaves the data alone, and they outlive a restart of the
server.

The section maps an id to ``{"name", "page", "query", "created_at",
"updated_at"}``, the query as the URL writes it (``start_date=2025-07-01&medium=cpc``). Names are plain text (shown as text, never as Markdown or
HTML), one line of at most :data:`NAME_LIMIT` characters, unique regardless
of case; there are at most :data:`VIEW_LIMIT` views. An entry that a hand
edit broke is skipped when reading and left as it is when writing others.

Pure Python, no Streamlit.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit

from insights_core.auth.settings import SettingsFile
from insights_core.timestamps import format_instant, utc_now
from insights_core.wording import quoted

SECTION = "saved_views"
"""The settings file's section holding the saved views."""

NAME_LIMIT = 80
"""Characters of a view's name."""
VIEW_LIMIT = 100
"""Saved views per store."""
QUERY_LIMIT = 4_000
"""Characters of a saved view's query string (a filter value can be long; a URL should stay usable)."""

PAGES: tuple[str, ...] = ("insights", "attribution", "export")
"""The pages a view can be saved on (those with the analysis sidebar), by ``url_path``."""
ROOT_PAGE = "insights"
"""The default page: Streamlit serves it at the dashboard's root address."""


class ViewError(ValueError):
    """A saved view cannot be saved, renamed or deleted as asked; the message says why, in words."""


@dataclass(frozen=True)
class SavedView:
    """One saved view: its id, its name, its page and its URL query."""

    id: str
    name: str
    page: str
    query: tuple[tuple[str, str], ...]
    created_at: str
    updated_at: str

    def query_string(self) -> str:
        return urlencode(self.query)

    def url(self, base: str) -> str:
        """The view's URL under ``base`` (the dashboard's address, e.g. ``http://host:8501``)."""
        address = f"{base.rstrip('/')}/{'' if self.page == ROOT_PAGE else self.page}"
        return f"{address}?{self.query_string()}" if self.query else address


def clean_name(name: str) -> str:
    """``name`` as stored: one line, spaces collapsed, no control characters; :class:`ViewError` when
    empty or longer than :data:`NAME_LIMIT`."""
    text = "".join(" " if unicodedata.category(character) in ("Cc", "Zl", "Zp") else character
                   for character in str(name) if unicodedata.category(character) not in ("Cf", "Cs", "Co"))
    text = " ".join(text.split())
    if not text:
        raise ViewError("a saved view needs a name")
    if len(text) > NAME_LIMIT:
        raise ViewError(f"the name is {len(text)} characters long; a saved view's name takes at most {NAME_LIMIT}")
    return text


def base_url(current_url: str, current_page: str) -> str:
    """The dashboard's address from the URL of the page being shown (``http://host:8501/attribution?x`` ->
    ``http://host:8501``), keeping a base path the server may be mounted under."""
    parts = urlsplit(current_url)
    path = parts.path.rstrip("/")
    if current_page and path.endswith("/" + current_page):
        path = path[: -len(current_page) - 1]
    return f"{parts.scheme}://{parts.netloc}{path}"


class SavedViews:
    """The saved views of the store at ``store_path`` (in its settings file)."""

    def __init__(self, store_path: Path | str) -> None:
        self.settings = SettingsFile(Path(store_path))

    def all(self) -> list[SavedView]:
        """Every saved view, by name (ignoring case)."""
        return sorted(_views(self.settings.section(SECTION, {})), key=lambda view: (view.name.casefold(), view.id))

    def get(self, view_id: str) -> SavedView | None:
        return next((view for view in self.all() if view.id == view_id), None)

    def save(self, name: str, page: str, query: Mapping[str, str]) -> SavedView:
        """Save ``page`` with ``query`` under ``name``; :class:`ViewError` when it cannot be (nothing is written)."""
        name = clean_name(name)
        if page not in PAGES:
            raise ViewError(f"views of the {quoted(page)} page cannot be saved")
        pairs = tuple((str(key), str(value)) for key, value in query.items())
        if len(urlencode(pairs)) > QUERY_LIMIT:
            raise ViewError(f"this view's link is longer than {QUERY_LIMIT:,} characters; shorten a filter value")
        now = _now()
        view = SavedView(secrets.token_hex(6), name, page, pairs, now, now)

        def add(section: Any) -> dict[str, Any]:
            entries = _entries(section)
            views = _views(entries)
            _refuse_taken(views, name, None)
            if len(views) >= VIEW_LIMIT:
                raise ViewError(f"there are {VIEW_LIMIT} saved views already, the most this dashboard keeps; "
                                "delete one first")
            return {**entries, view.id: _entry(view)}

        self.settings.update(SECTION, add, {})
        return view

    def rename(self, view_id: str, name: str) -> SavedView:
        """Give the view ``view_id`` a new name; :class:`ViewError` when it is gone or the name is taken."""
        name = clean_name(name)
        renamed: list[SavedView] = []

        def change(section: Any) -> dict[str, Any]:
            entries = _entries(section)
            views = _views(entries)
            current = next((view for view in views if view.id == view_id), None)
            if current is None:
                raise ViewError("that saved view no longer exists (deleted meanwhile?)")
            _refuse_taken(views, name, view_id)
            updated = SavedView(current.id, name, current.page, current.query, current.created_at, _now())
            renamed.append(updated)
            return {**entries, view_id: _entry(updated)}

        self.settings.update(SECTION, change, {})
        return renamed[0]

    def delete(self, view_id: str) -> SavedView:
        """Delete the view ``view_id`` and return it; :class:`ViewError` when it is gone."""
        deleted: list[SavedView] = []

        def remove(section: Any) -> dict[str, Any]:
            entries = _entries(section)
            found = next((view for view in _views(entries) if view.id == view_id), None)
            if found is None:
                raise ViewError("that saved view no longer exists (deleted meanwhile?)")
            deleted.append(found)
            return {key: value for key, value in entries.items() if key != view_id}

        self.settings.update(SECTION, remove, {})
        return deleted[0]


def _entries(section: Any) -> dict[str, Any]:
    """The section as stored; a section that is not an object is refused rather than overwritten."""
    if not isinstance(section, dict):
        raise ViewError("the saved views in the settings file are damaged (not an object); fix or remove the "
                        f"{SECTION!r} section by hand")
    return section


def _views(section: Any) -> list[SavedView]:
    """The well-formed entries of the section as views (others are skipped)."""
    if not isinstance(section, dict):
        return []
    views = []
    for view_id, entry in section.items():
        view = _view(view_id, entry)
        if view is not None:
            views.append(view)
    return views


def _view(view_id: Any, entry: Any) -> SavedView | None:
    if not isinstance(view_id, str) or not isinstance(entry, dict):
        return None
    name, page, query = entry.get("name"), entry.get("page"), entry.get("query")
    if not isinstance(name, str) or page not in PAGES or not isinstance(query, str) or len(query) > QUERY_LIMIT:
        return None
    try:
        pairs = tuple(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))
    except ValueError:
        return None
    try:
        name = clean_name(name)
    except ViewError:
        return None
    return SavedView(view_id, name, page, pairs, str(entry.get("created_at", "")),
                     str(entry.get("updated_at", "")))


def _entry(view: SavedView) -> dict[str, Any]:
    return {"name": view.name, "page": view.page, "query": view.query_string(), "created_at": view.created_at,
            "updated_at": view.updated_at}


def _refuse_taken(views: list[SavedView], name: str, own_id: str | None) -> None:
    for other in views:
        if other.id != own_id and other.name.casefold() == name.casefold():
            raise ViewError(f"a saved view is already called {quoted(other.name)}; choose another name")


def _now() -> str:
    return format_instant(utc_now().replace(microsecond=0))
