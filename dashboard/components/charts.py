"""Charts: each with a title, an accessible name, and its data as a table one click away.

Figures are built by pure functions (tested without Streamlit). Every label
that comes from the data goes through :func:`dashboard.text.plot_label`, so
a channel named ``<a href=…>`` shows those characters and links nowhere.
Bars read in the legend's order, labels stay horizontal, and long names are
shortened on the axis (in full on hover), so a phone shows them too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

import streamlit as st

from insights_core.vocabulary import ROLE_KEYS, TREND_COUNT_KEYS
from insights_core.wording import counted

from ..text import plot_label
from ..words import TREND_NAMES

if TYPE_CHECKING:  # imported where used: a first page view shows its numbers before pandas has loaded
    import pandas as pd
    import plotly.graph_objects as go


CHART_CONFIG = {"displayModeBar": False, "responsive": True}
ROLE_COLOURS = {"first": "#6366f1", "assist": "#0ea5e9", "converting": "#10b981", "after": "#f59e0b"}
ROLE_NAMES = {"first": "first visit", "assist": "assisting", "converting": "converting", "after": "after converting"}
"""Roles as the chart's legend names them (the answer's four touch counts, docs/metrics.md#channels)."""
AXIS_LABEL_LIMIT = 28
"""Characters of a channel name on the axis; the full name is in the hover text and the table."""


def chart(
    figure: go.Figure,
    *,
    title: str,
    description: str,
    alt: str,
    table: pd.DataFrame,
    column_config: Mapping[str, Any] | None = None,
    key: str,
) -> None:
    """A chart under its title, with an accessible name, and its data as a table behind a button below it.

    ``title`` and ``description`` are our own words (Markdown); ``alt`` is
    plain text for screen readers. The table is in a popover, which is drawn
    only when opened (an expander's content is drawn with the page, closed or
    not), so a page of charts shows its numbers without drawing their tables.
    """
    st.markdown(f"**{title}** — {description}")
    st.plotly_chart(figure, width="stretch", config=CHART_CONFIG, alt=alt, key=key)
    with st.popover(f"{title} as a table", icon=":material/table:"):
        st.dataframe(table, hide_index=True, width="stretch", column_config=column_config)


# --- time to convert (docs/metrics.md#conversion-summary) ----------------------------------


def time_to_convert_table(bins: Mapping[str, Any]) -> pd.DataFrame:
    """The bins as rows: time from first visit to first conversion, converted users, share."""
    import pandas as pd
    counts, percentages = bins["counts"], bins["percentages"]
    return pd.DataFrame(
        [(name, int(counts[name]), float(percentages[name])) for name in counts],
        columns=["time to convert", "converted users", "share (%)"],
    )


def time_to_convert_figure(bins: Mapping[str, Any]) -> go.Figure:
    """Converted users per bin, each bar labelled with its count and share, labels horizontal above the bars."""
    import plotly.graph_objects as go
    table = time_to_convert_table(bins)
    top = max([*table["converted users"], 1])
    figure = go.Figure(
        go.Bar(
            x=[plot_label(name) for name in table["time to convert"]], y=table["converted users"],
            marker_color=ROLE_COLOURS["first"],
            text=[f"{count:,} ({share:.2f}%)" for count, share in zip(table["converted users"], table["share (%)"])],
            textposition="outside", textangle=0, cliponaxis=False,
            hovertemplate="%{x}: %{y:,} converted users<extra></extra>",
        )
    )
    figure.update_layout(
        height=320, margin=dict(l=10, r=10, t=24, b=10),
        xaxis_title="time from first visit to first conversion", yaxis_title="converted users",
        yaxis=dict(range=[0, top * 1.2], rangemode="tozero"), uniformtext=dict(minsize=10, mode="show"),
    )
    return figure


def time_to_convert_alt(bins: Mapping[str, Any]) -> str:
    """The chart for a screen reader: what it shows and its numbers."""
    table = time_to_convert_table(bins)
    parts = [f"{name}: {count:,} ({share:.2f}%)" for name, count, share in table.itertuples(index=False)]
    return "Bar chart of converted users by time from first visit to first conversion. " + "; ".join(parts) + "."


# --- roles of each channel (docs/metrics.md#channels) --------------------------------------


def roles_table(channels: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Per channel, converted users by the role the channel played for them (numbers stay numbers)."""
    import pandas as pd
    return pd.DataFrame(
        [(str(channel["channel"]), *(int(channel[key]) for key in ROLE_KEYS)) for channel in channels],
        columns=["channel", *(ROLE_NAMES[role] for role in ROLE_KEYS.values())],
    )


def roles_figure(channels: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Grouped horizontal bars, busiest channel on top; within a channel the bars run top to bottom
    in the legend's order (first visit, assisting, converting, after converting)."""
    import plotly.graph_objects as go
    names = [plot_label(channel["channel"]) for channel in channels][::-1]
    short = [plot_label(channel["channel"], limit=AXIS_LABEL_LIMIT) for channel in channels][::-1]
    figure = go.Figure()
    # Plotly stacks a group's bars bottom-up in trace order; adding the roles last-first puts
    # "first visit" on top, and the reversed legend lists them first-first, left to right.
    for key, role in reversed(list(ROLE_KEYS.items())):
        figure.add_trace(
            go.Bar(
                y=names, x=[int(channel[key]) for channel in channels][::-1], name=ROLE_NAMES[role],
                orientation="h", marker_color=ROLE_COLOURS[role],
                hovertemplate="%{y}<br>%{x:,} converted users: " + ROLE_NAMES[role] + "<extra></extra>",
            )
        )
    figure.update_layout(
        barmode="group", height=110 + 56 * max(len(channels), 1), margin=dict(l=10, r=10, t=10, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0, traceorder="reversed", title_text=""),
        xaxis=dict(title="converted users"),
        yaxis=dict(tickmode="array", tickvals=names, ticktext=short, automargin=True),
    )
    return figure


def roles_alt(channels: Sequence[Mapping[str, Any]]) -> str:
    """The chart for a screen reader: what it shows, for how many channels (the numbers are in its table)."""
    return (f"Bar chart of converted users by the role each channel played for them (first visit, assisting, "
            f"converting, after converting), for {counted(len(channels), 'channel')}, busiest first. "
            "The same numbers are in the table below the chart.")



# --- trend (docs/metrics.md#trend) ---------------------------------------------------------

TREND_COLOURS = {"sessions": "#6366f1", "users": "#0ea5e9", "converting_sessions": "#10b981",
                 "converted_users": "#f59e0b"}
PERIOD_NAMES = {"day": "day", "week": "week (from Monday)", "month": "month"}


def trend_table(current: Sequence[Mapping[str, Any]], previous: Sequence[Mapping[str, Any]] | None,
                compared_with: str | None = None) -> pd.DataFrame:
    """One row per period: its first day and the four counts; with a comparison, the comparison's
    period at the same place (its first day and counts) beside it. Numbers stay numbers."""
    import pandas as pd
    frame = pd.DataFrame({"period from": [bucket["start"] for bucket in current]})
    for key in TREND_COUNT_KEYS:
        frame[TREND_NAMES[key].lower()] = [int(bucket[key]) for bucket in current]
    if previous is not None:
        what = compared_with or "comparison"
        paired = list(previous[: len(current)]) + [None] * max(len(current) - len(previous), 0)
        frame[f"{what}: period from"] = [bucket["start"] if bucket else None for bucket in paired]
        for key in TREND_COUNT_KEYS:
            frame[f"{what}: {TREND_NAMES[key].lower()}"] = pd.array(
                [int(bucket[key]) if bucket else None for bucket in paired], dtype="Int64")
    return frame


def trend_figure(current: Sequence[Mapping[str, Any]], previous: Sequence[Mapping[str, Any]] | None,
                 interval: str, compared_with: str | None = None) -> go.Figure:
    """A line per count over the periods; the comparison's periods, laid over the same places, dashed
    in the same colour. A legend click hides a count with its comparison (one legend group each)."""
    import plotly.graph_objects as go
    starts = [bucket["start"] for bucket in current]
    figure = go.Figure()
    for key in TREND_COUNT_KEYS:
        name, colour = TREND_NAMES[key], TREND_COLOURS[key]
        figure.add_trace(go.Scatter(
            x=starts, y=[int(bucket[key]) for bucket in current], name=name, legendgroup=key,
            mode="lines+markers" if len(starts) <= 40 else "lines", line=dict(color=colour, width=2.5),
            hovertemplate=f"{name}: %{{y:,}}<extra></extra>",
        ))
    if previous is not None:
        what = compared_with or "comparison"
        paired = previous[: len(current)]
        for key in TREND_COUNT_KEYS:
            name, colour = TREND_NAMES[key], TREND_COLOURS[key]
            figure.add_trace(go.Scatter(
                x=starts[: len(paired)], y=[int(bucket[key]) for bucket in paired],
                customdata=[bucket["start"] for bucket in paired], name=f"{name}, {what}", legendgroup=key,
                mode="lines", line=dict(color=colour, width=1.5, dash="dash"), opacity=0.75,
                hovertemplate=f"{name}, {plot_label(what)} (from %{{customdata}}): %{{y:,}}<extra></extra>",
            ))
    figure.update_layout(
        height=360, margin=dict(l=10, r=10, t=10, b=10), hovermode="x unified",
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0, title_text=""),
        xaxis=dict(title=f"period ({PERIOD_NAMES.get(interval, interval)}, UTC)", type="date"),
        yaxis=dict(title="count", rangemode="tozero"),
    )
    return figure


def trend_alt(current: Sequence[Mapping[str, Any]], interval: str, compared: bool) -> str:
    """The trend for a screen reader: what it shows, over which periods, and the totals."""
    if not current:
        return "Line chart of the trend: no periods."
    totals = ", ".join(f"{sum(int(bucket[key]) for bucket in current):,} {TREND_NAMES[key].lower()}"
                       for key in TREND_COUNT_KEYS)
    return (f"Line chart of sessions, users, converting sessions and converted users per "
            f"{PERIOD_NAMES.get(interval, interval)}, {counted(len(current), 'period')} from {current[0]['start']} "
            f"to {current[-1]['start']}" + (", with the comparison dashed" if compared else "") +
            f". In all: {totals}. The numbers are in the table below the chart.")
