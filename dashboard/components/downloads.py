"""Download buttons. File names carry the window and every filter (docs/api.md#csv-output for the CSV)."""

from __future__ import annotations

from typing import Any, Mapping

import streamlit as st

from insights_core import to_json
from insights_core.tables import channel_table, to_csv

from ..exports import file_stem
from ..view import View


def export_stem(view: View) -> str:
    """The file name (without extension) of this view's downloads."""
    return file_stem(view.params.to_request(), view.filters)


def json_download(document: Mapping[str, Any], view: View) -> None:
    """The exact answer as JSON: the bytes ``insights query`` prints for the same parameters."""
    st.download_button(
        "Insights JSON", to_json(document), file_name=f"{export_stem(view)}.json", mime="application/json",
        icon=":material/data_object:", on_click="ignore", type="primary", key="download_json",
        help="The whole answer, exactly as the command line and the API give it for these settings.",
    )


def channels_csv_download(document: Mapping[str, Any], view: View) -> None:
    """The answer's channel table as CSV: the bytes ``insights query --format csv`` prints (spreadsheet-safe)."""
    table = channel_table(document)
    st.download_button(
        "Channels CSV", to_csv(table), file_name=f"{export_stem(view)}_channels.csv", mime="text/csv",
        icon=":material/table:", on_click="ignore", disabled=not table.rows, key="download_csv",
        help="One row per channel, every column of the answer; percentages as numbers in the *_pct columns.",
    )
