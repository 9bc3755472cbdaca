"""Insights page: the SPEC 4 summaries as metric cards, the timeline bins and the channels.

Every number is from the core's response for the sidebar's parameters; the
previous period (same length, just before, same filters) is a second call.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from dashboard import data
from dashboard.exports import ROLE_COLUMNS, channel_frame, percent_column
from dashboard.filters import current_view, use_window
from dashboard.formatting import Kind, change, format_day, format_value
from insights_core import NO_DATA_MESSAGE

# (response key, card label, how it is written, delta colour, meaning)
USER_CARDS = (
    ("total_users", "Users", "count", "normal", "People in the cohort: at least one matching session."),
    ("total_converted_users", "Converted users", "count", "normal", "Cohort users with at least one conversion."),
    ("conversion_rate", "Conversion rate", "percent", "normal", "Converted users ÷ users."),
    ("avg_sessions_per_user", "Sessions per user", "ratio", "off", "Sessions of the whole journeys ÷ users."),
    ("avg_sessions_per_converted_user", "Sessions / converter", "ratio", "off",
     "Journey sessions of converted users ÷ converted users: the effort it takes to convert."),
)
SESSION_CARDS = (
    ("total_sessions", "Matching sessions", "count", "normal", "Sessions in the window that match every filter."),
    ("total_converting_sessions", "Converting sessions", "count", "normal", "Matching sessions with a conversion."),
    ("total_drop_off_sessions", "Drop-off sessions", "count", "inverse",
     "Matching sessions that ended (have an exit time) without a conversion."),
    ("avg_session_duration_seconds", "Avg session duration", "duration", "off",
     "Mean of exit − start over matching sessions with an exit time."),
)
DURATION_CARDS = (
    ("avg_converting_session_duration", "Avg time to act", "duration", "inverse",
     "Mean time from the start of a converting session to its first conversion."),
    ("median_converting_session_duration", "Median time to act", "duration", "inverse",
     "Median time from the start of a converting session to its first conversion."),
    ("avg_drop_off_session_duration", "Avg drop-off duration", "duration", "off",
     "Mean length of sessions that left without converting."),
    ("median_drop_off_session_duration", "Median drop-off duration", "duration", "off",
     "Median length of sessions that left without converting."),
)
CONVERSION_CARDS = (
    ("avg_time_to_convert", "Avg time to convert", "duration", "inverse",
     "Mean time from a converted user's first session ever to their first conversion."),
    ("median_time_to_convert", "Median time to convert", "duration", "inverse",
     "Median time from a converted user's first session ever to their first conversion."),
)
ROLE_COLOURS = {"first": "#4f46e5", "assist": "#0ea5e9", "converting": "#10b981", "after": "#f59e0b"}
CHART_CONFIG = {"displayModeBar": False}
TOP_CHANNELS = 12


Card = tuple[str, str, Kind, str, str]


def metric_cards(cards: tuple[Card, ...], current: dict, previous: dict | None, columns=None) -> None:
    """One bordered ``st.metric`` per card (in a row of columns unless given), with its change
    against the previous period."""
    for column, (key, label, kind, colour, meaning) in zip(columns or st.columns(len(cards)), cards):
        moved = change(kind, current[key], None if previous is None else previous[key])
        column.metric(
            label, format_value(kind, current[key]), delta=moved.delta, delta_color=colour,
            delta_description=moved.description if moved.delta == 0 else None,
            help=f"`{key}` — {meaning}", border=True,
        )


def timeline_chart(bins: dict) -> go.Figure:
    """SPEC 4.3 bins: converted users per bin, labelled with count and percentage."""
    counts, percentages = bins["counts"], bins["percentages"]
    figure = go.Figure(
        go.Bar(
            x=list(counts), y=list(counts.values()), marker_color="#4f46e5",
            text=[f"{counts[label]:,} ({percentages[label]:.2f}%)" for label in counts],
            textposition="auto", hovertemplate="%{x}: %{y:,} converted users<extra></extra>",
        )
    )
    figure.update_layout(
        height=320, margin=dict(l=10, r=10, t=10, b=10),
        xaxis_title="time from first session to first conversion", yaxis_title="converted users",
    )
    return figure


def roles_chart(channels: list[dict]) -> go.Figure:
    """Per channel, the converted users it started, assisted, converted and followed (SPEC 4.4)."""
    names = [channel["channel"] for channel in channels][::-1]
    figure = go.Figure()
    for key, role in ROLE_COLUMNS.items():
        figure.add_trace(
            go.Bar(
                y=names, x=[channel[key] for channel in channels][::-1], name=role, orientation="h",
                marker_color=ROLE_COLOURS[role],
                hovertemplate="%{y}: %{x:,} converted users (" + role + ")<extra></extra>",
            )
        )
    figure.update_layout(
        barmode="group", height=120 + 56 * len(channels), margin=dict(l=10, r=10, t=30, b=10),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0), xaxis_title="converted users",
    )
    return figure


def channel_table(channels: list[dict]) -> None:
    """SPEC 4.4 as a sortable table: counts and percentages as numbers, influence as bars."""
    frame = channel_frame(channels)
    count = lambda label, help: st.column_config.NumberColumn(label, help=help, format="localized")  # noqa: E731
    share = lambda label, help: st.column_config.ProgressColumn(  # noqa: E731
        label, help=help, format="%.2f%%", min_value=0, max_value=100
    )
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={
            "channel": st.column_config.TextColumn("channel", help="medium/source", pinned=True),
            "total_sessions": count("sessions", "Sessions of the cohort's journeys on the channel."),
            "total_users": count("users", "Cohort users with a session on the channel."),
            "converting_users_first_touch": count("first touch", "Converted users whose first session is on it."),
            "converting_users_assisting_touch": count("assist", "Converted users with an assist session on it."),
            "converting_users_converting_touch": count("converting", "Converted users who converted in a session on it."),
            "converting_users_after_touch": count("after", "Converted users who came back on it after converting."),
            "attributed_to_conversion": count("attributed", "Converted users with a session on it at or before their first converting session."),
            percent_column("session_influence"): share("session influence", "Its share of the journeys' sessions."),
            percent_column("conversion_influence"): share("conversion influence", "Attributed ÷ converted users."),
            percent_column("conversion_rate"): st.column_config.NumberColumn(
                "conversion rate", help="Attributed ÷ its users.", format="%.2f%%"
            ),
        },
    )


view = current_view()
store_file = data.store()
path, version = data.cache_key(store_file)
document = data.insights(store_file, path, version, view.params)
previous_document = data.insights(store_file, path, version, view.previous)
span = data.session_span(store_file, path, version)

st.title("Insights")
previous = view.previous
filters = ", ".join(f"{name} = `{value}`" for name, value in view.share_request.items() if name not in ("start_date", "end_date"))
st.caption(
    f"**{format_day(view.start_day)} – {format_day(view.end_day)}** (UTC, {view.days:,} days)"
    f" · changes against {format_day(previous.start)} – {format_day(previous.end)}"
    + (f" · {filters}" if filters else " · no filters")
)

if span is None:
    st.info("Nothing is stored yet. Load your sessions and conversions, or create demo data, on the Data page.",
            icon=":material/database:")
    st.page_link("pages/data.py", label="Go to the Data page", icon=":material/arrow_forward:")
    st.stop()

first, last = span
if last < view.params.start or first > view.params.end:
    with st.container(border=True):
        st.markdown(
            f"**The stored data lies outside this window.** Sessions are stored from "
            f"{format_day(first)} to {format_day(last)}."
        )
        st.button(
            f"Use the data's range ({format_day(first)} – {format_day(last)})", on_click=use_window,
            args=(first.date(), last.date()), type="primary", icon=":material/date_range:",
        )

if "message" in document:
    with st.container(border=True):
        st.markdown(f"### :material/search_off: {NO_DATA_MESSAGE}")
        st.markdown(
            "No user has a session in this window that matches every filter. "
            "Widen the window, clear a filter, or set touch_scope to **any**."
        )
    st.stop()

metrics = document["overall_metrics"]
previous_metrics = previous_document.get("overall_metrics")
if previous_metrics is None:
    st.caption("The previous period has no matching users, so there are no changes to show.")

st.subheader("People", help="`user_summary`: the cohort and its whole journeys (SPEC 4.1).")
metric_cards(USER_CARDS, metrics["user_summary"], previous_metrics and previous_metrics["user_summary"])

st.subheader("Sessions", help="`session_summary`: the matching sessions only (SPEC 4.2).")
metric_cards(SESSION_CARDS, metrics["session_summary"], previous_metrics and previous_metrics["session_summary"])
metric_cards(DURATION_CARDS, metrics["session_summary"], previous_metrics and previous_metrics["session_summary"])

st.subheader("Conversion", help="`conversion_summary`: the cohort's converted users (SPEC 4.3).")
cards_column, chart_column = st.columns([1, 2])
conversion = metrics["conversion_summary"]
metric_cards(CONVERSION_CARDS, conversion, previous_metrics and previous_metrics["conversion_summary"],
             columns=[cards_column] * len(CONVERSION_CARDS))
with chart_column:
    st.markdown("**Time to convert** — converted users by time from first session to first conversion")
    st.plotly_chart(timeline_chart(conversion["conversion_timeline_bins"]), width="stretch", config=CHART_CONFIG)

channels = metrics["channels"]
st.subheader("Channels", help="`channels`: every medium/source the cohort's journeys touched (SPEC 4.4). "
                              "Click a column header to sort.")
channel_table(channels)
st.markdown("**Roles of each channel** — converted users who started (first), assisted, converted on, "
            "or came back through (after) each channel")
shown = channels if len(channels) <= TOP_CHANNELS or st.toggle(f"Show all {len(channels)} channels") else channels[:TOP_CHANNELS]
if len(shown) < len(channels):
    st.caption(f"The {TOP_CHANNELS} busiest of {len(channels)} channels.")
st.plotly_chart(roles_chart(shown), width="stretch", config=CHART_CONFIG)
