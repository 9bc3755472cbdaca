"""The sidebar of the analysis pages: window, comparison, filters and the share link, bound to the URL.

Every widget's key is its URL key (the API's parameter name, or ``compare``)
and it is bound to the query string (``bind="query-params"``), so a copied
URL reopens the same view; labels are a marketer's words (``dashboard.words``).

Streamlit silently drops a URL value a widget cannot take, and takes some
values the core would refuse; so on a session's first run, before any widget
exists, the raw query string is checked with :func:`dashboard.view.check_url`.
When something is wrong the page is reopened at once on the corrected URL
and a message names each bad value (escaped: a value never becomes a link).

The sidebar is drawn in two parts. :func:`open_view` (before the page) draws
the window, the roles, the comparison and the share link and resolves the
view; :func:`draw_filter_lists` (after the page) draws the filter lists,
whose values depend on the other filters, so the page's numbers are on
screen before those lists are worked out.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any

import streamlit as st

from insights_core import ParameterError
from insights_core.catalog import FilterChoices
from insights_core.timestamps import utc_now
from insights_core.vocabulary import TOUCH_SCOPES
from insights_core.wording import counted

from . import attribution
from .components.attribution import settings_query
from .components.notices import show_notices
from .data import Store
from .formatting import format_span
from .navigation import require_frame
from .text import markdown_text
from .view import (
    COMPARE,
    DEFAULT_COMPARISON,
    DEFAULT_DIMENSION,
    DEFAULT_INTERVAL,
    DIMENSION,
    INTERVAL,
    EARLIEST_DAY,
    FILTERS,
    LATEST_DAY,
    PRESETS,
    SESSION_FILTER_NAMES,
    STREAMLIT_PARAMETERS,
    Notice,
    Span,
    View,
    check_url,
    make_view,
    matching_preset,
    preset_days,
)
from .words import COMPARE_HELP, COMPARISONS, FILTER_MEANINGS, TOUCH_SCOPE_HELP, TOUCH_SCOPE_LABELS, label

_STARTED = "_insights_started"
_NOW = "_insights_now"
_NOTICES = "_insights_notices"
_VIEW = "_insights_view"
_LAST_WINDOW = "_insights_last_window"
_PRESET = "_insights_window_preset"

SIDEBAR_KEYS: tuple[str, ...] = ("start_date", "end_date", *FILTERS, "touch_scope", COMPARE)
"""Session-state keys of the sidebar's widgets (= their URL keys)."""

PAGE_KEYS: tuple[str, ...] = (INTERVAL, DIMENSION)
"""Session-state keys (= URL keys) of the view's settings whose widgets are on the Insights page itself
(the trend's interval, the breakdown's dimension): kept on every run, so other pages carry them too."""

BROWSER_HELPERS = """
<style>
/* A link's copy button: always visible, not only on hover (touch screens have no hover). */
[data-testid="stPopoverBody"] [data-testid="stCode"] > div:has([data-testid="stElementToolbarButton"]),
[data-testid="stSidebar"] [data-testid="stCode"] > div:has([data-testid="stElementToolbarButton"]) {
  opacity: 1 !important; visibility: visible !important;
}
</style>
<script>
/* A date typed into From/To applies on Enter. Streamlit's date field commits what was typed when its
   calendar closes (Escape, or a click elsewhere); Enter does what Escape does. */
if (!window.__insightsEnterCommitsDates) {
  window.__insightsEnterCommitsDates = true;
  document.addEventListener("keydown", (event) => {
    const field = event.target && event.target.closest && event.target.closest("[data-testid='stDateInputField']");
    if (event.key !== "Enter" || !field || !event.isTrusted) return;
    event.preventDefault();
    event.stopPropagation();
    event.target.dispatchEvent(new KeyboardEvent("keydown", {key: "Escape", code: "Escape", bubbles: true}));
  }, true);
}
</script>
"""


def current_view() -> View:
    """The view the sidebar resolved in this run (``app.py`` draws the sidebar first)."""
    require_frame()
    return st.session_state[_VIEW]


def open_view(page: Any, store: Store) -> View:
    """Check the URL (first run), draw the window, roles, comparison and share link; return the view.

    ``page`` is the page being shown (from ``st.navigation``): a URL that
    needs correcting reopens it.
    """
    state = st.session_state
    if _STARTED not in state:
        state[_STARTED] = True
        state[_NOW] = utc_now()
        raw = {key: st.query_params.get_all(key) for key in st.query_params.keys()}
        # A page's own settings (the Attribution page's lookback, …) are checked by that page's rules.
        shared, page_notices, page_kept = attribution.split_url(page.url_path, raw)
        notices, corrected = check_url(shared, state[_NOW].date(), store.available_filters())
        notices, corrected = [*notices, *page_notices], {**corrected, **page_kept}
        state[_NOTICES] = notices
        given = {key: found[0] if len(found) == 1 else found for key, found in raw.items()
                 if key.lower() not in STREAMLIT_PARAMETERS}
        if corrected != given:
            st.switch_page(page, query_params=corrected)
        for key, default in _SYNCED.items():
            state[key] = corrected.get(key, default)

    for key in PAGE_KEYS:  # their widgets are drawn later (or on another page): keep their values meanwhile
        state[key] = state.get(key, _SYNCED[key])

    now: datetime = state[_NOW]
    stored = store.span()
    span: Span | None = (stored.first, stored.last) if stored else None

    sidebar = st.sidebar
    share_slot = sidebar.container()
    sidebar.html(BROWSER_HELPERS, unsafe_allow_javascript=True)
    sidebar.subheader("Window", help="Sessions are counted by the day (UTC) they started.")
    # Empty is "not given", as in the API: the line under the dates says which window that makes.
    start_day = sidebar.date_input(
        label("start_date"), value=None, min_value=EARLIEST_DAY, max_value=LATEST_DAY,
        key="start_date", bind="query-params", format="YYYY-MM-DD",
        help="First day of the window, from 00:00 UTC. Empty: 30 days before To (the API's default). "
             "Type a date and press Enter, or pick one.",
    )
    end_day = sidebar.date_input(
        label("end_date"), value=None, min_value=EARLIEST_DAY, max_value=LATEST_DAY,
        key="end_date", bind="query-params", format="YYYY-MM-DD",
        help="Last day of the window, through the end of the day (UTC). Empty: up to now (the API's default). "
             "Type a date and press Enter, or pick one.",
    )
    window_slot = sidebar.container()

    today = now.date()
    state[_PRESET] = None if start_day is None or end_day is None else matching_preset(start_day, end_day, today, span)
    sidebar.pills(
        "Quick window", PRESETS, key=_PRESET, on_change=_apply_preset, args=(span,),
        label_visibility="collapsed", help=_presets_help(today, span),
    )
    # Shown in words, so not bound (a bound widget writes its label into the URL): kept in the URL below.
    sidebar.radio(
        label("touch_scope"), TOUCH_SCOPES, format_func=TOUCH_SCOPE_LABELS.__getitem__, key="touch_scope",
        help=TOUCH_SCOPE_HELP,
    )
    sidebar.selectbox(
        label(COMPARE), tuple(COMPARISONS), format_func=COMPARISONS.__getitem__, key=COMPARE, help=COMPARE_HELP,
    )
    _sync_url()

    notices = list(state.pop(_NOTICES, []))
    filters = {name: _given(name) for name in store.available_filters()}
    window = (start_day, end_day)
    if start_day is not None and end_day is not None and start_day > end_day:
        window_slot.error(
            f"**{label('end_date')} ({_day(end_day)}) is before {label('start_date')} ({_day(start_day)}).** "
            "Change one of them; until then the page shows the window before.",
            icon=":material/event_busy:",
        )
        window = state.get(_LAST_WINDOW, (None, None))
    try:
        view = make_view(*window, filters, state.get("touch_scope"), state.get(COMPARE),
                         now=now, span=span, interval=state.get(INTERVAL), dimension=state.get(DIMENSION))
    except ParameterError as error:  # a filter the core refuses: say so, show the default view
        notices.append(Notice("warning", f"**{markdown_text(label(error.field or ''))}**: "
                                         f"{markdown_text(error.message)}; showing the default view."))
        view = make_view(None, None, {}, None, state.get(COMPARE), now=now, span=span,
                         interval=state.get(INTERVAL), dimension=state.get(DIMENSION))
    state[_LAST_WINDOW] = window
    view = dataclasses.replace(view, query={**view.query, **settings_query(page.url_path)})
    window_slot.caption(f"Showing {view.window.describe()}.")
    state[_VIEW] = view

    show_notices(notices)
    _share_link(share_slot, view)
    return view


def draw_filter_lists(store: Store, view: View) -> None:
    """The filter lists (values that exist under the other filters first) and the reset button."""
    sidebar = st.sidebar
    choices = store.filter_choices(view.params)
    available = store.available_filters()
    sidebar.subheader("Visits", help="Only visits with these values count (exact match, case-sensitive).")
    first_conversion_filter = next((name for name in available if name not in SESSION_FILTER_NAMES), None)
    for name in available:
        if name == first_conversion_filter:
            sidebar.subheader("Conversions", help="Only visits with a conversion that has all of these values count.")
        _filter_list(sidebar, name, choices.get(name, FilterChoices({}, (), 0, "session")))
    sidebar.button("Reset the view", on_click=_reset, icon=":material/restart_alt:", width="stretch",
                   help="Back to the default window, every filter cleared, compared with the previous period.")


def use_days(start_day: date, end_day: date) -> None:
    """Widget callback: show the whole days ``start_day`` .. ``end_day``."""
    st.session_state["start_date"], st.session_state["end_date"] = start_day, end_day


def keep_sidebar_state() -> None:
    """On a page without the sidebar, keep its widget values for the way back (Streamlit forgets
    a widget's value after a run that does not draw it, unless the value is set by hand)."""
    state = st.session_state
    for key in (*SIDEBAR_KEYS, *PAGE_KEYS):
        if key in state:
            state[key] = state[key]


_SYNCED = {"touch_scope": "any", COMPARE: DEFAULT_COMPARISON, INTERVAL: DEFAULT_INTERVAL, DIMENSION: DEFAULT_DIMENSION}
"""Widgets shown in words, kept in the URL by hand with their API value; their defaults stay out of it."""


def _sync_url() -> None:
    state = st.session_state
    for key, default in _SYNCED.items():
        value = state.get(key, default)
        if value == default:
            if key in st.query_params:
                del st.query_params[key]
        elif st.query_params.get(key) != value:
            st.query_params[key] = value


def _given(name: str) -> str | None:
    """A filter's value before its list is drawn: this session's, else the (checked) URL's."""
    state = st.session_state
    if name in state:
        return state[name]
    return st.query_params.get(name)


def _filter_list(container: Any, name: str, choices: FilterChoices) -> None:
    """A type-to-search list, values that exist under the other filters first; any exact value can be
    typed and applied with Enter. Options are the raw values (the URL carries what the list shows)."""
    current = _given(name)
    options = list(choices.values)
    if current is not None and current not in choices.matching and current not in choices.others:
        options.insert(0, current)
    first = len(choices.matching)
    order = (f"The first {counted(first, 'value')} of the list have {choices.unit}s in this window under the "
             f"other filters (most first); the rest exist only outside them." if choices.others else
             f"Every value listed has {choices.unit}s in this window under the other filters (most first).")
    extent = ("" if choices.complete else
              f" The list holds the {len(choices.values):,} most frequent of {counted(choices.distinct, 'stored value')}; "
              "type any other exact value and press Enter.")
    container.selectbox(
        label(name), options, index=None, key=name, bind="query-params", accept_new_options=True,
        placeholder="Any",
        help=f"{FILTER_MEANINGS.get(name, '')} Exact, case-sensitive match.\n\n{order}{extent}",
    )


def _apply_preset(span: Span | None) -> None:
    state = st.session_state
    preset = state.get(_PRESET)
    days = preset_days(preset, state[_NOW].date(), span) if preset else None
    if days is not None:
        state["start_date"], state["end_date"] = days


def _presets_help(today: date, span: Span | None) -> str:
    lines = ["Quick windows (UTC days). \"Last N days\" are N whole days ending yesterday; today so far is "
             "\"Today\".", ""]
    for preset in PRESETS:
        days = preset_days(preset, today, span)
        if days is not None:
            length = (days[1] - days[0]).days + 1
            lines.append(f"- **{preset}**: {format_span(*days)} ({counted(length, 'day')})")
    return "\n".join(lines)


def _reset() -> None:
    state = st.session_state
    state[_NOW] = utc_now()
    state["start_date"], state["end_date"] = None, None
    for name in FILTERS:
        state[name] = None
    for key, default in _SYNCED.items():
        state[key] = default
    state[_LAST_WINDOW] = (None, None)


SHARE_LABEL = "Share this view"


def _share_link(container: Any, view: View) -> None:
    """The view's link, with a copy button, behind a "Share this view" button.

    In a popover, not on the sidebar itself: the code element that carries the
    copy button brings a syntax highlighter whose start-up costs the browser a
    second or more of work, and a popover's content is drawn only when opened,
    so a page's numbers show without waiting for it.
    """
    base_url = st.context.url or "http://localhost:8501/"
    reopens = ("the last 30 days up to the moment it is opened" if view.window.default
               else "these dates")
    with container.popover(SHARE_LABEL, icon=":material/link:", width="stretch"):
        st.caption(f"The link reopens {reopens} with these filters. Copy it with the button at its right.")
        st.code(view.share_url(base_url), language=None, wrap_lines=True)


def _day(day: date) -> str:
    return format_span(day, day)
