"""The dashboard's pages, declared once for ``st.navigation``, and the guard that they run inside ``app.py``.

Streamlit runs a file from ``pages/`` directly (its legacy multipage mode)
until the first ``st.navigation`` call of the server process (AppTest even
starts every run that way). A page opened by its own URL as the very first
request would then run without the frame of ``app.py``: no store check, no
sidebar. Every page therefore calls :func:`require_frame` first; outside the
frame it registers these pages, which ends the legacy mode, and reruns, so
``app.py`` draws the frame and runs the page.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator, NoReturn

import streamlit as st

_frame = threading.local()

ANALYSIS_PAGES = frozenset({"insights", "export"})
"""Pages that show a view of the data and so have the sidebar (window, filters, comparison)."""


def app_pages() -> list[st.Page]:
    """Insights (default), Export, Data."""
    return [
        st.Page("pages/insights.py", title="Insights", icon=":material/insights:", url_path="insights", default=True),
        st.Page("pages/export.py", title="Export", icon=":material/download:", url_path="export"),
        st.Page("pages/data.py", title="Data", icon=":material/database:", url_path="data"),
    ]


def is_analysis(page: st.Page) -> bool:
    """Whether ``page`` shows a view of the data (and so the sidebar)."""
    return page.url_path in ANALYSIS_PAGES or (page.url_path == "" and "insights" in ANALYSIS_PAGES)


@contextmanager
def frame() -> Iterator[None]:
    """``app.py`` runs the selected page inside this block."""
    _frame.active = True
    try:
        yield
    finally:
        _frame.active = False


def require_frame() -> None:
    """First call of every page: outside ``app.py``, leave the legacy mode and rerun through it."""
    if not getattr(_frame, "active", False):
        run_through_app()


def run_through_app() -> NoReturn:
    """Leave Streamlit's legacy pages mode for good and rerun this page through ``app.py``."""
    st.navigation(app_pages(), position="hidden")
    st.rerun()
