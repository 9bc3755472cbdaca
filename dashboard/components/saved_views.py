"""Saved views in the sidebar: the list (a click opens one), saving the current view under a name, renaming
and deleting (asked once more); each view's shareable URL one click away. Storage: :mod:`dashboard.saved_views`.

Each saved view is listed as a plain link to its URL: opening one is
opening that link (in the same tab), so the page starts afresh with the
view's query string, which the sidebar checks as it checks any link (a value
that no longer works is named and replaced by its default), and the link can
be copied and shared like any other. (Streamlit lets a widget bound to the
URL be changed only through the session's state, so re-opening a URL inside
a running session would mean re-implementing the sidebar's reading of it.)
``app.py`` calls :func:`reserve` before the sidebar is drawn, so the list sits
at its top, then :func:`draw` once the view is known.

Names are shown as text: HTML-escaped in the list of links, Markdown-escaped
where Streamlit reads Markdown (messages), as they are where it reads neither
(list options, code).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import streamlit as st

from insights_core.auth.settings import SettingsError

from .. import data
from ..navigation import app_pages
from ..saved_views import NAME_LIMIT, ROOT_PAGE, VIEW_LIMIT, SavedView, SavedViews, ViewError, base_url
from ..text import markdown_text
from ..view import View

_MESSAGE = "_saved_view_message"
NAME_KEY = "saved_view_name"
RENAME_KEY = "saved_view_new_name"
CHOSEN_KEY = "saved_view_chosen"
CONFIRM_KEY = "_saved_view_delete_asked"

DEFAULT_PAGE = ROOT_PAGE


def reserve() -> Any:
    """The sidebar's place for the saved views: its top."""
    return st.sidebar.container()


def draw(slot: Any, page: Any, view: View) -> None:
    """The saved views of this store in ``slot``: open, save the current view, rename, delete."""
    store_path = data.store().path
    views = SavedViews(store_path)
    current_page = page.url_path or DEFAULT_PAGE
    with slot:
        st.subheader("Saved views", help="Named links to views of the data, kept beside the store (in its settings "
                                         "file) for everyone who opens this dashboard. A click opens one.")
        # The message has a slot of its own, drawn on every run: an element that came and went would move
        # everything below it, and the expander (moved) would be redrawn closed under the user's pointer.
        message_slot = st.empty()
        message = st.session_state.pop(_MESSAGE, None)
        if message is not None:
            level, text = message
            (message_slot.success if level == "success" else message_slot.error)(text, icon=":material/bookmark:")
        try:
            saved = views.all()
        except SettingsError as error:
            st.error(f"**The saved views cannot be read.** {markdown_text(error)}", icon=":material/error:")
            return
        if not saved:
            st.caption("None yet: name the view below to keep it.")
        titles = _page_titles()
        base = base_url(st.context.url or "http://localhost:8501/", _current_url_path())
        if saved:
            st.html(links_html(saved, base, titles))
        with st.form("save_view", clear_on_submit=True, border=False, enter_to_submit=True):
            st.text_input("Name this view", max_chars=NAME_LIMIT, key=NAME_KEY, placeholder="e.g. Organic, July",
                          help=f"Saves this page with its window, filters and settings: its link, as the share "
                               f"link shows it. Up to {NAME_LIMIT} characters; at most {VIEW_LIMIT} saved views.")
            st.form_submit_button("Save this view", icon=":material/bookmark_add:", on_click=_save,
                                  args=(store_path, current_page, dict(view.query)))
        if saved:
            _manage(store_path, saved, titles, base)


def links_html(saved: list[SavedView], base: str, titles: dict[str, str]) -> str:
    """The saved views as a list of links (names and addresses HTML-escaped: text, never markup)."""
    items = "".join(
        f'<li><a href="{html.escape(saved_view.url(base))}" title="{html.escape(saved_view.name)}">'
        f"{html.escape(saved_view.name)}</a> <span>· {html.escape(titles.get(saved_view.page, saved_view.page))}"
        "</span></li>"
        for saved_view in saved
    )
    return (f"<style>{_LIST_STYLE}</style>"
            f'<nav class="insights-saved-views" aria-label="Saved views"><ul>{items}</ul></nav>')


_LIST_STYLE = """
.insights-saved-views ul { list-style: none; margin: 0; padding: 0; }
.insights-saved-views li { margin: 0 0 0.35rem 0; line-height: 1.3; overflow-wrap: anywhere; }
.insights-saved-views a { font-weight: 600; text-decoration: none; }
.insights-saved-views a:hover, .insights-saved-views a:focus { text-decoration: underline; }
.insights-saved-views span { opacity: 0.7; font-size: 0.85em; }
"""


def _manage(store_path: Path, saved: list[SavedView], titles: dict[str, str], base: str) -> None:
    with st.expander("Rename, delete or share a saved view"):
        names = {saved_view.id: saved_view.name for saved_view in saved}
        if st.session_state.get(CHOSEN_KEY) not in names:
            st.session_state.pop(CHOSEN_KEY, None)
        chosen = st.selectbox("Saved view", list(names), format_func=names.__getitem__, key=CHOSEN_KEY)
        saved_view = next(candidate for candidate in saved if candidate.id == chosen)
        # In a popover, drawn only when opened: the copy button's code element is costly to start (see
        # dashboard.filters._share_link).
        with st.popover("Its link", icon=":material/link:"):
            st.caption(f"{titles.get(saved_view.page, saved_view.page)} page:")
            st.code(saved_view.url(base), language=None, wrap_lines=True)
        st.text_input("New name", max_chars=NAME_LIMIT, key=RENAME_KEY)
        rename, delete = st.columns(2)
        rename.button("Rename", icon=":material/edit:", on_click=_rename, args=(store_path, chosen),
                      width="stretch", key="saved_view_rename")
        delete.button("Delete", icon=":material/delete:", on_click=_ask_to_delete, args=(chosen,),
                      width="stretch", key="saved_view_delete")
        if st.session_state.get(CONFIRM_KEY) == chosen:  # a deletion cannot be undone: asked once more
            st.warning(f"Delete “{markdown_text(saved_view.name)}” for everyone who opens this dashboard? "
                       "The data is not touched.", icon=":material/delete:")
            confirm, keep = st.columns(2)
            confirm.button("Delete it", type="primary", on_click=_delete, args=(store_path, chosen),
                           width="stretch", key="saved_view_delete_confirmed")
            keep.button("Keep it", on_click=_keep, width="stretch", key="saved_view_keep")


def _page_titles() -> dict[str, str]:
    return {page.url_path or DEFAULT_PAGE: page.title for page in app_pages()}


def _current_url_path() -> str:
    """The path of the page in the browser's address ("" for the default page)."""
    url = st.context.url or ""
    for page in app_pages():
        if url.split("?")[0].rstrip("/").endswith("/" + page.url_path):
            return page.url_path
    return ""


# --- callbacks (they run before the next run; their message shows in it) --------------------


def _save(store_path: Path, page: str, query: dict[str, str]) -> None:
    state = st.session_state
    try:
        saved_view = SavedViews(store_path).save(state.get(NAME_KEY) or "", page, query)
    except (ViewError, SettingsError) as error:
        state[_MESSAGE] = ("error", f"**Not saved:** {markdown_text(error)}.")
        return
    state[_MESSAGE] = ("success", f"Saved “{markdown_text(saved_view.name)}”.")


def _rename(store_path: Path, view_id: str) -> None:
    state = st.session_state
    try:
        saved_view = SavedViews(store_path).rename(view_id, state.get(RENAME_KEY) or "")
    except (ViewError, SettingsError) as error:
        state[_MESSAGE] = ("error", f"**Not renamed:** {markdown_text(error)}.")
        return
    state[RENAME_KEY] = ""
    state[_MESSAGE] = ("success", f"Renamed to “{markdown_text(saved_view.name)}”.")


def _ask_to_delete(view_id: str) -> None:
    st.session_state[CONFIRM_KEY] = view_id


def _keep() -> None:
    st.session_state.pop(CONFIRM_KEY, None)


def _delete(store_path: Path, view_id: str) -> None:
    state = st.session_state
    state.pop(CONFIRM_KEY, None)
    try:
        saved_view = SavedViews(store_path).delete(view_id)
    except (ViewError, SettingsError) as error:
        state[_MESSAGE] = ("error", f"**Not deleted:** {markdown_text(error)}.")
        return
    state[_MESSAGE] = ("success", f"Deleted “{markdown_text(saved_view.name)}”.")
