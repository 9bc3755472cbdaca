"""The Attribution page's pieces: its settings in the sidebar, the channels × models table, the models chart,
the conversion paths, the path lengths and the downloads (docs/metrics.md#attribution).

Figures and tables are built by pure functions (tested without Streamlit);
every label from the data goes through :func:`dashboard.text.plot_label`.

The settings (lookback, half-life, which conversions) are kept in the URL by
hand, like the sidebar's worded widgets: a widget shown in words would write
its label into the URL, and a number field would write ``7.0`` for ``7``.
Their values are also kept in a key of the session that no widget owns, so
they survive a visit to another page (Streamlit forgets the state of a
widget that a run does not draw).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from insights_core import to_json
from insights_core.tables import attribution_table, credit_column, to_csv
from insights_core.vocabulary import ATTRIBUTION_MODELS, PATH_LENGTH_KEYS
from insights_core.wording import counted

from .. import attribution as page
from ..text import plot_label
from ..view import View
from .charts import AXIS_LABEL_LIMIT

KEPT = "_attribution_settings"
"""Session key holding the settings between pages."""

MODEL_COLOURS: Mapping[str, str] = {
    "first_touch": "#6366f1", "last_touch": "#10b981", "last_non_direct": "#14b8a6", "linear": "#0ea5e9",
    "position_based": "#8b5cf6", "time_decay": "#f59e0b", "data_driven": "#ef4444",
}
PATH_SEPARATOR = " > "
"""How a path is written: the channels in order, as docs/metrics.md#paths joins them."""


# --- the settings in the sidebar ------------------------------------------------------------


def settings_query(url_path: str) -> dict[str, str]:
    """The page's settings as URL keys (only those not at their default) for the share link and saved
    views; empty on another page. Read before the widgets are drawn: this session's, else the URL's."""
    if url_path != page.PAGE:
        return {}
    return _current().query()


def _current() -> page.Settings:
    state = st.session_state
    kept = state.get(KEPT, {})
    query = {key: state[key] if key in state else kept.get(key, st.query_params.get(key)) for key in page.KEYS}
    return page.settings_from(query)


def draw_settings() -> page.Settings:
    """Lookback, half-life and which conversions, in the sidebar under "Attribution"; kept in the URL."""
    state = st.session_state
    current = _current()
    for key, value in current.values().items():
        if key not in state:
            state[key] = value
    sidebar = st.sidebar
    sidebar.subheader("Attribution", help="How the credit for each conversion is shared (docs/metrics.md#attribution).")
    sidebar.radio(page.LABELS[page.CONVERSIONS], tuple(page.CONVERSION_LABELS),
                  format_func=page.CONVERSION_LABELS.__getitem__, key=page.CONVERSIONS,
                  help=page.HELP[page.CONVERSIONS], horizontal=True)
    lookback, half_life = sidebar.columns(2)
    lookback.number_input(page.LABELS[page.LOOKBACK_DAYS], min_value=page.LOOKBACK_MIN, max_value=page.LOOKBACK_MAX,
                          step=1, key=page.LOOKBACK_DAYS, help=page.HELP[page.LOOKBACK_DAYS])
    half_life.number_input(page.LABELS[page.HALF_LIFE_DAYS], min_value=page.HALF_LIFE_MIN,
                           max_value=page.HALF_LIFE_MAX, step=0.5, format="%g", key=page.HALF_LIFE_DAYS,
                           help=page.HELP[page.HALF_LIFE_DAYS])
    settings = page.settings_from({key: state.get(key) for key in page.KEYS})
    state[KEPT] = settings.values()
    query = settings.query()
    for key in page.KEYS:
        if key in query:
            if st.query_params.get(key) != query[key]:
                st.query_params[key] = query[key]
        elif key in st.query_params:
            del st.query_params[key]
    return settings


# --- channels × models ----------------------------------------------------------------------


def credits_frame(answer: Mapping[str, Any], measure: str) -> pd.DataFrame:
    """One row per channel (the answer's order), one column per model: the conversions or value credited.
    Numbers stay numbers (a data-driven credit that is null is empty), so a header click sorts them."""
    table = attribution_table(answer)
    frame = pd.DataFrame(list(table.rows), columns=table.names)
    columns = {credit_column(model, measure): page.MODEL_NAMES[model] for model in ATTRIBUTION_MODELS}
    shown = frame[["channel", *columns]].rename(columns={"channel": "Channel", **columns})
    for name in columns.values():
        shown[name] = pd.to_numeric(shown[name], errors="coerce").astype("float64")
    return shown


def credits_table(answer: Mapping[str, Any], measure: str, *, key: str) -> None:
    """The channels × models table of conversions (or value) credited, sortable, in a container keyed ``key``."""
    frame = credits_frame(answer, measure)
    unit = "conversions" if measure == "conversions" else "value"
    config: dict[str, Any] = {"Channel": st.column_config.TextColumn(
        "Channel", help="Medium and source of the visits (medium/source).", pinned=True, width=170)}
    for model in ATTRIBUTION_MODELS:
        name = page.MODEL_NAMES[model]
        config[name] = st.column_config.NumberColumn(
            name, help=f"{page.MODEL_SENTENCES[model]} Credited {unit}.", format="%.2f", width=92)
    st.container(key=key).dataframe(frame, hide_index=True, width="stretch", column_config=config)


def models_figure(answer: Mapping[str, Any], measure: str = "conversions") -> go.Figure:
    """Grouped horizontal bars: per channel (busiest first, on top), one bar per model in the legend's order."""
    channels = answer["attribution"]["channels"]
    names = [plot_label(channel["channel"]) for channel in channels][::-1]
    short = [plot_label(channel["channel"], limit=AXIS_LABEL_LIMIT) for channel in channels][::-1]
    figure = go.Figure()
    # Plotly draws a group's bars bottom-up in trace order: adding the models last-first puts the first
    # model on top within each channel, and the reversed legend lists them first-first.
    for model in reversed(ATTRIBUTION_MODELS):
        figure.add_trace(go.Bar(
            y=names, x=[channel[measure][model] for channel in channels][::-1], name=page.MODEL_NAMES[model],
            orientation="h", marker_color=MODEL_COLOURS[model],
            hovertemplate="%{y}<br>" + page.MODEL_NAMES[model] + ": %{x:,.2f}<extra></extra>",
        ))
    figure.update_layout(
        barmode="group", height=120 + 90 * max(len(channels), 1), margin=dict(l=10, r=10, t=10, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0, traceorder="reversed", title_text=""),
        xaxis=dict(title="conversions credited" if measure == "conversions" else "value credited"),
        yaxis=dict(tickmode="array", tickvals=names, ticktext=short, automargin=True),
    )
    return figure


def models_alt(answer: Mapping[str, Any], shown: int) -> str:
    """The models chart for a screen reader: what it shows (its numbers are in its table)."""
    return (f"Bar chart of the conversions each of the seven attribution models credits to each channel, for "
            f"{counted(shown, 'channel')}, most linear credit first. The same numbers are in the table below the chart.")


def top_channels(answer: Mapping[str, Any], count: int | None) -> dict[str, Any]:
    """The answer with only its first ``count`` channels (all when ``None``), for the chart."""
    attribution = answer["attribution"]
    channels = attribution["channels"] if count is None else attribution["channels"][:count]
    return {"attribution": {**attribution, "channels": channels}}


# --- paths ----------------------------------------------------------------------------------


def paths_frame(answer: Mapping[str, Any], with_value: bool) -> pd.DataFrame:
    """The top conversion paths: the path written with ``>``, its number of channels, conversions (and value)."""
    rows = [(PATH_SEPARATOR.join(path["path"]), len(path["path"]), int(path["conversions"]), float(path["value"]))
            for path in answer["attribution"]["paths"]]
    frame = pd.DataFrame(rows, columns=["Path", "Channels", "Conversions", "Value"])
    return frame if with_value else frame.drop(columns=["Value"])


def path_lengths_frame(answer: Mapping[str, Any]) -> pd.DataFrame:
    """Attributed conversions by their number of visits (1, 2, 3, 4, 5 or more)."""
    lengths = answer["attribution"]["path_lengths"]
    return pd.DataFrame([(key, int(lengths[key])) for key in PATH_LENGTH_KEYS], columns=["visits", "conversions"])


def path_lengths_figure(answer: Mapping[str, Any]) -> go.Figure:
    """Conversions by their number of visits, each bar labelled with its count, labels level above the bars."""
    frame = path_lengths_frame(answer)
    top = max([*frame["conversions"], 1])
    figure = go.Figure(go.Bar(
        x=[f"{key} visit" + ("" if key == "1" else "s") for key in frame["visits"]], y=frame["conversions"],
        marker_color=MODEL_COLOURS["linear"], text=[f"{count:,}" for count in frame["conversions"]],
        textposition="outside", textangle=0, cliponaxis=False,
        hovertemplate="%{x}: %{y:,} conversions<extra></extra>",
    ))
    figure.update_layout(
        height=300, margin=dict(l=10, r=10, t=24, b=10), xaxis_title="visits that led to the conversion",
        yaxis_title="conversions", yaxis=dict(range=[0, top * 1.2], rangemode="tozero"),
    )
    return figure


def path_lengths_alt(answer: Mapping[str, Any]) -> str:
    frame = path_lengths_frame(answer)
    parts = [f"{key} visit{'' if key == '1' else 's'}: {count:,}" for key, count in frame.itertuples(index=False)]
    return "Bar chart of attributed conversions by the number of visits that led to them. " + "; ".join(parts) + "."


# --- downloads ------------------------------------------------------------------------------


def downloads(answer: Mapping[str, Any], view: View, settings: page.Settings) -> None:
    """**Attribution CSV** (the bytes of ``insights attribution --format csv``) and **Attribution JSON**
    (the bytes of ``insights attribution``) for the same parameters."""
    stem = page.download_stem(view, settings)
    table = attribution_table(answer)
    csv_column, json_column = st.columns(2)
    csv_column.download_button(
        "Attribution CSV", to_csv(table), file_name=f"{stem}.csv", mime="text/csv", icon=":material/table:",
        on_click="ignore", key="download_attribution_csv", width="stretch",
        help="One row per channel: a column per model for conversions, then one per model for value "
             "(docs/api.md#csv-output).",
    )
    json_column.download_button(
        "Attribution JSON", to_json(answer), file_name=f"{stem}.json", mime="application/json",
        icon=":material/data_object:", on_click="ignore", key="download_attribution_json", width="stretch",
        help="The whole answer, exactly as the command line and the API give it for these settings.",
    )


def sentences(models: Sequence[str] = ATTRIBUTION_MODELS) -> str:
    """One line per model: its name and how it splits the credit (Markdown, our own words)."""
    return "\n".join(f"- **{page.MODEL_NAMES[model]}**: {page.MODEL_SENTENCES[model]}" for model in models)
