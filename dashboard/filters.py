"""The sidebar filters: one widget per SPEC 3 parameter, bound to the page URL.

Every widget's key is its SPEC 3 name and it is bound to the query string
(``bind="query-params"``), so a copied URL reopens the same view. Streamlit
silently drops a URL value a widget cannot take, and takes some values the
core would refuse; so on a session's first run, before any widget exists,
the raw query string is checked with :func:`dashboard.view.check_url` (every
value through :func:`insights_core.parse_params`). When something is wrong
the page is reopened at once on the corrected URL (``st.switch_page`` with
its query parameters) and a warning names each bad parameter: widgets, URL
and numbers then agree, and the corrected URL reopens the same view.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import streamlit as st

from insights_core import ParameterError, parse_params
from insights_core.catalog import FilterValues
from insights_core.params import TOUCH_SCOPES

from .navigation import require_frame
from .view import (
    EARLIEST_DAY,
    FILTERS,
    LATEST_DAY,
    PRESETS,
    STREAMLIT_PARAMETERS,
    Notice,
    View,
    check_url,
    default_start,
    default_window,
    matching_preset,
    preset_window,
    request,
    today_utc,
)

TOUCH_SCOPE_HELP = """Which sessions of a user count as matching (SPEC 3.3). Roles come from each \
user's whole timeline (all stored sessions, ordered by start time):

- **any**: every session (default)
- **first**: the user's first session
- **converting**: a session with at least one conversion
- **assist**: strictly after the first session and strictly before the first converting session \
(only users who converted have assists)
- **after**: strictly after the first converting session

A session can hold several roles (a first session that converts is first and converting)."""

FILTER_HELP = {
    "source": "The session's effective source (SPEC 2): the referrer's registered domain, "
    "`(direct)`, or its utm_source.",
    "medium": "The session's effective medium (SPEC 2): `organic`, `cpc`, `referral`, `social`, "
    "`email`, `ai`, `(none)`, or its utm_medium.",
    "campaign": "The session's utm_campaign.",
    "content": "The session's utm_content.",
    "term": "The session's utm_term.",
    "landing_page": "The full URL of the session's first page.",
    "conversion_page": "The session must hold a conversion on this exact URL (SPEC 3.2).",
    "meta_type": "The session must hold a conversion of this type, e.g. `hubspot_form` (SPEC 3.2).",
    "meta_id": "The session must hold a conversion with this id, e.g. a form id (SPEC 3.2).",
}

_NOTICES = "_insights_filter_notices"
_STARTED = "_insights_filters_started"
_VIEW = "_insights_view"
_PRESET = "window_preset"


def current_view() -> View:
    """The view the sidebar resolved in this run (``app.py`` renders the filters first)."""
    require_frame()
    return st.session_state[_VIEW]


def render_filters(page: Any, values: dict[str, FilterValues], span: tuple[datetime, datetime] | None) -> View:
    """Draw the filters in the sidebar, explain bad URL values, and return the resolved view.

    ``page`` is the page being shown (from ``st.navigation``): a URL that
    needs correcting reopens it.
    """
    state = st.session_state
    today = today_utc()
    default_start_day, default_end_day = default_window(today)
    if _STARTED not in state:
        state[_STARTED] = True
        raw = {key: st.query_params.get_all(key) for key in st.query_params.keys()}
        notices, corrected = check_url(raw, today)
        state[_NOTICES] = notices
        given = {key: found[0] if len(found) == 1 else found for key, found in raw.items()
                 if key.lower() not in STREAMLIT_PARAMETERS}
        if corrected != given:
            st.switch_page(page, query_params=corrected)

    sidebar = st.sidebar
    share_slot = sidebar.container()
    sidebar.subheader("Window (UTC days)")
    start_day = sidebar.date_input(
        "start_date", value=default_start_day, min_value=EARLIEST_DAY, max_value=LATEST_DAY,
        key="start_date", bind="query-params", format="YYYY-MM-DD", on_change=_keep_window_ordered,
        help="First day of the window, from 00:00 UTC; sessions are selected by their start.",
    )
    end_day = sidebar.date_input(
        "end_date", value=default_end_day, min_value=EARLIEST_DAY, max_value=LATEST_DAY,
        key="end_date", bind="query-params", format="YYYY-MM-DD", on_change=_keep_window_ordered,
        help="Last day of the window, through 23:59:59.999999 UTC.",
    )
    start_day, end_day = start_day or default_start_day, end_day or default_end_day

    state[_PRESET] = matching_preset(start_day, end_day, today, span)
    sidebar.pills(
        "Quick window", PRESETS, key=_PRESET, on_change=_apply_preset, args=(span,),
        label_visibility="collapsed",
    )
    sidebar.segmented_control(
        "touch_scope", TOUCH_SCOPES, default="any", required=True, key="touch_scope",
        bind="query-params", help=TOUCH_SCOPE_HELP, width="stretch",
    )

    sidebar.subheader("Sessions")
    for name in FILTERS:
        if name == "conversion_page":
            sidebar.subheader("Conversions")
        _filter_selectbox(sidebar, name, values.get(name, FilterValues((), 0)))
    sidebar.button("Reset filters", on_click=_reset, icon=":material/restart_alt:", width="stretch")

    notices = state.pop(_NOTICES, [])
    body = request(start_day, end_day, {name: state.get(name) for name in FILTERS}, state.get("touch_scope") or "any")
    try:
        view = View.of(body)
    except ParameterError as error:  # cannot happen with the widgets above; never show a traceback
        notices.append(Notice("warning", f"**{error.field}**: {error.message}; showing the default view."))
        view = View.of(request(default_start_day, default_end_day, {}, "any"))
    state[_VIEW] = view

    for notice in notices:
        (st.warning if notice.level == "warning" else st.info)(notice.text, icon=":material/link:")
    _share_link(share_slot, view)
    return view


def use_window(start_day: date, end_day: date) -> None:
    """Widget callback: show the window ``start_day`` .. ``end_day``."""
    st.session_state["start_date"] = start_day
    st.session_state["end_date"] = end_day


def _keep_window_ordered() -> None:
    """Date callback: a start after the end falls back to its SPEC 3.1 default, 30 days before the end."""
    state = st.session_state
    start_day, end_day = state.get("start_date"), state.get("end_date")
    if start_day is None or end_day is None or start_day <= end_day:
        return
    try:
        parse_params({"start_date": start_day.isoformat(), "end_date": end_day.isoformat()})
    except ParameterError as error:
        state[_NOTICES] = [*state.get(_NOTICES, []), Notice(
            "warning", f"**{error.field}**: {error.message}; it falls back to its default, 30 days before "
                       f"end_date ({default_start(end_day).isoformat()}).")]
    state["start_date"] = default_start(end_day)


def _filter_selectbox(container: Any, name: str, stored: FilterValues) -> None:
    """A type-to-search list of the stored values of one filter; any exact value can be typed."""
    if stored.complete:
        extent = f"{stored.distinct:,} stored values."
    else:
        extent = (f"The {len(stored.values):,} most frequent of {stored.distinct:,} stored values; "
                  "type any other exact value and press Enter.")
    container.selectbox(
        name, stored.values, index=None, key=name, bind="query-params", accept_new_options=True,
        placeholder="any", help=f"{FILTER_HELP[name]} Exact, case-sensitive match. {extent}",
    )


def _apply_preset(span: tuple[datetime, datetime] | None) -> None:
    preset = st.session_state.get(_PRESET)
    window = preset_window(preset, today_utc(), span) if preset else None
    if window is not None:
        use_window(*window)


def _reset() -> None:
    use_window(*default_window(today_utc()))
    for name in FILTERS:
        st.session_state[name] = None
    st.session_state["touch_scope"] = "any"


def _share_link(container: Any, view: View) -> None:
    base_url = st.context.url or "http://localhost:8501/"
    container.caption(":material/link: **Share this view** — the link keeps its dates; copy it with the button "
                      "at its right:")
    container.code(view.share_url(base_url), language=None, wrap_lines=True)
