"""Insights dashboard (SPEC 5.2): ``streamlit run app.py``.

The frame of every page: opens the store named by ``INSIGHTS_DB`` (creating
demo data there on first start), draws the SPEC 3 filters in the sidebar
(bound to the page URL), then runs the selected page from ``pages/``.
"""

from __future__ import annotations

import streamlit as st

from dashboard import data
from dashboard.filters import render_filters
from dashboard.navigation import app_pages, frame
from insights_core import StoreError

st.set_page_config(page_title="Insights", page_icon=":material/insights:", layout="wide")

store_file = data.store()
if not store_file.exists():
    with st.spinner(f"First start: creating demo data in {store_file.path} …"):
        data.ensure_demo_store(store_file)

page = st.navigation(app_pages())

try:
    path, version = data.cache_key(store_file)
    filter_values = data.filter_values(store_file, path, version)
    span = data.session_span(store_file, path, version)
except StoreError as error:
    st.error(f"The database cannot be opened: {error}", icon=":material/error:")
    st.stop()

render_filters(page, filter_values, span)
with frame():
    page.run()
