"""Export page: the exact answer as JSON, the channel table as CSV, and the same questions (the numbers, the
trend, the breakdown) asked elsewhere.

The JSON is ``insights_core.to_json`` of the core's answer for the explicit
parameters shown below, so it is byte-identical to ``insights query`` (and
the API) with that body. Layout only.
"""

from __future__ import annotations

import streamlit as st

from dashboard import data
from dashboard.components.downloads import channels_csv_download, json_download
from dashboard.components.header import view_header
from dashboard.exports import cli_command, curl_command, request_json
from dashboard.filters import current_view
from dashboard.view import View
from insights_core import ParameterError


def export_page(view: View, store: data.Store) -> None:
    document = store.insights(view.params)
    body = view.params.to_request()

    view_header("Export", view, comparison=False)
    st.caption("Everything here is for the settings in the sidebar, with the window written out in full, so it "
               "gives the same answer tomorrow.")

    st.subheader("Download")
    json_column, csv_column = st.columns(2)
    with json_column:
        json_download(document, view)
    with csv_column:
        channels_csv_download(document, view)

    st.subheader("The same numbers elsewhere")
    questions = {"The numbers": ("query", body)}
    try:
        questions["The trend"] = ("timeseries", view.trend_params().to_request())
    except ParameterError:  # too many periods at this interval: the Insights page says so
        pass
    questions["The breakdown"] = ("breakdown", view.breakdown_params().to_request())
    for tab, (command, question) in zip(st.tabs(list(questions)), questions.values()):
        with tab:
            _elsewhere(command, question, str(store.file.path))

    with st.expander("Preview of the JSON"):
        st.json(document, expanded=2)


def _elsewhere(command: str, body: dict[str, str], db_path: str) -> None:
    """One question as the API reads it, as an HTTP request and as a command."""
    st.markdown("**The question, as the API reads it** (the settings of this view, docs/metrics.md#parameters)")
    st.code(request_json(body), language="json", wrap_lines=True)
    st.markdown("**From the HTTP API**, with an API key from `insights apikey create` in `INSIGHTS_API_KEY` "
                "(docs/api.md#http-api)")
    st.code(curl_command(body, command=command), language="bash", wrap_lines=True)
    st.markdown("**From the command line** (docs/api.md#command-line)")
    st.code(cli_command(body, db_path, command), language="bash", wrap_lines=True)


export_page(current_view(), data.current())
