"""Insights dashboard: ``streamlit run app.py`` (store in ``$INSIGHTS_DB``).

The frame of every page: opens the store named by ``INSIGHTS_DB`` (creating
demo data there on first start); on the analysis pages draws the sidebar
(window, roles, comparison, share link), runs the page, then draws the
filter lists, so the numbers are on screen first. Every part runs guarded:
an unexpected error is a message on the page, never a traceback.
"""

from __future__ import annotations

import streamlit as st

from dashboard import data
from dashboard.components.notices import guarded
from dashboard.filters import draw_filter_lists, keep_sidebar_state, open_view
from dashboard.navigation import app_pages, frame, is_analysis
from dashboard.text import markdown_text

st.set_page_config(page_title="Insights", page_icon=":material/insights:", layout="wide")

page = st.navigation(app_pages())
with guarded("The database"):
    store_file = data.store()
    if not store_file.exists():
        with st.spinner(f"First start: creating demo data in {markdown_text(store_file.path)} …"):
            data.ensure_demo_store(store_file)
    store = data.current()
    if is_analysis(page):
        with guarded("The window and filters"):
            view = open_view(page, store)
            with frame(), guarded("This page"):
                page.run()
            draw_filter_lists(store, view)
    else:
        keep_sidebar_state()
        with frame(), guarded("This page"):
            page.run()
