"""Download buttons. File names carry the window and every filter (docs/api.md#csv-output for the CSV)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import streamlit as st

from insights_core import to_json

from ..exports import channel_csv, file_stem
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


def channels_csv_download(channels: Sequence[Mapping[str, Any]], view: View) -> None:
    """The channel table as CSV, one row per channel, percentages as numbers."""
    st.download_button(
        "Channels CSV", channel_csv(channels), file_name=f"{export_stem(view)}_channels.csv", mime="text/csv",
        icon=":material/table:", on_click="ignore", disabled=not channels, key="download_csv",
        help="One row per channel, every column of the answer; percentages as numbers in the *_pct columns.",
    )
