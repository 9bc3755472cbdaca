"""Download buttons. File names carry the window and every filter (docs/api.md#csv-output for the CSV)."""

from __future__ import annotations

from typing import Any, Mapping

import streamlit as st

from insights_core import to_json
from insights_core.tables import breakdown_table, channel_table, to_csv, trend_table

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


def trend_csv_download(answer: Mapping[str, Any], view: View) -> None:
    """The trend as CSV: the bytes ``insights timeseries --format csv`` prints for the same parameters."""
    st.download_button(
        "Trend CSV", to_csv(trend_table(answer)), file_name=f"{export_stem(view)}_trend-{view.interval}.csv",
        mime="text/csv", icon=":material/table:", on_click="ignore", key="download_trend_csv",
        help="One row per period: its first day and the four counts (docs/api.md#csv-output).",
    )


def breakdown_csv_download(answer: Mapping[str, Any], view: View) -> None:
    """The breakdown as CSV: the bytes ``insights breakdown --format csv`` prints for the same parameters."""
    table = breakdown_table(answer)
    st.download_button(
        "Breakdown CSV", to_csv(table), file_name=f"{export_stem(view)}_breakdown-{view.dimension}.csv",
        mime="text/csv", icon=":material/table:", on_click="ignore", key="download_breakdown_csv",
        help="One row per value, the counts and the conversion rate as a number (docs/api.md#csv-output).",
    )
