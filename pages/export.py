"""Export page: the exact SPEC 4.5 JSON, the channel table as CSV, and the same query elsewhere.

The JSON is ``insights_core.to_json`` of the core's response for the explicit
parameters shown below, so it is byte-identical to ``insights query`` (and
the API) with that body.
"""

from __future__ import annotations

import streamlit as st

from dashboard import data
from dashboard.exports import channel_csv, cli_command, curl_command, file_stem, request_json
from dashboard.filters import current_view
from insights_core import to_json

view = current_view()
store_file = data.store()
path, version = data.cache_key(store_file)
document = data.insights(store_file, path, version, view.params)
body = view.params.to_request()
stem = file_stem(body)

st.title("Export")
st.caption("Everything here is for the parameters of the sidebar, with the window written out "
           "explicitly so it gives the same answer tomorrow.")

st.subheader("Download")
json_column, csv_column = st.columns(2)
with json_column:
    st.download_button(
        "Insights JSON", to_json(document), file_name=f"{stem}.json", mime="application/json",
        icon=":material/data_object:", on_click="ignore", type="primary", key="download_json",
        help="The exact response of SPEC 4.5, as `insights query` and `POST /api/v1/insights` print it.",
    )
with csv_column:
    channels = document.get("overall_metrics", {}).get("channels", [])
    st.download_button(
        "Channels CSV", channel_csv(channels), file_name=f"{stem}_channels.csv", mime="text/csv",
        icon=":material/table:", on_click="ignore", disabled=not channels, key="download_csv",
        help="One row per channel; percentages as numbers in the `*_pct` columns.",
    )

st.subheader("Same query elsewhere")
st.markdown("**Request body** (SPEC 3 parameters)")
st.code(request_json(body), language="json", wrap_lines=True)
st.markdown("**HTTP API** — with an API key from `insights apikey create` in `INSIGHTS_API_KEY`")
st.code(curl_command(body), language="bash", wrap_lines=True)
st.markdown("**Command line**")
st.code(cli_command(body, str(store_file.path)), language="bash", wrap_lines=True)

with st.expander("Preview of the JSON"):
    st.json(document, expanded=2)
