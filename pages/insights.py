"""Insights page: who came and converted, how their visits went, and which channels played which role.

Layout only: the numbers come from the core through ``dashboard.data``, the
pieces from ``dashboard.components``.
"""

from __future__ import annotations

import streamlit as st

from dashboard import data
from dashboard.components import cards, charts
from dashboard.components.header import comparison_label, view_header
from dashboard.components.tables import channel_table
from dashboard.filters import current_view, use_days
from dashboard.formatting import format_span
from dashboard.view import View
from insights_core import NO_DATA_MESSAGE
from insights_core.wording import counted

TOP_CHANNELS = 12  # channels the roles chart shows unless asked for all


def insights_page(view: View, store: data.Store) -> None:
    view_header("Insights", view)
    span = store.span()
    if span is None:
        st.info("Nothing is stored yet. Load your sessions and conversions, or create demo data, on the Data page.",
                icon=":material/database:")
        st.page_link("pages/data.py", label="Go to the Data page", icon=":material/arrow_forward:")
        return
    if span.outside:
        st.warning(f"{counted(span.outside, 'stored session')} started outside the years 1900–9999 and "
                   "cannot be shown; load those files again to have them checked (docs/data.md#timestamps).",
                   icon=":material/history:")
    if span.last < view.params.start or span.first > view.params.end:
        with st.container(border=True):
            st.markdown(f"**The stored data lies outside this window.** Sessions are stored from "
                        f"{format_span(span.first.date(), span.last.date())}.")
            st.button(f"Use the data's range ({format_span(span.first.date(), span.last.date())})",
                      on_click=use_days, args=(span.first.date(), span.last.date()), type="primary",
                      icon=":material/date_range:")

    document = store.insights(view.params)
    if "message" in document:
        with st.container(border=True):
            st.markdown(f"### :material/search_off: {NO_DATA_MESSAGE}")
            st.markdown("No one has a visit in this window that matches every filter. "
                        "Widen the window, clear a filter, or count **every session**.")
        return

    metrics = document["overall_metrics"]
    compared = view.comparison
    before = store.insights(compared).get("overall_metrics") if compared is not None else None
    versus = comparison_label(view) if compared is not None else None
    if compared is not None and before is None:
        st.caption("No one matches in the comparison period, so there are no changes to show.")
        versus = None

    def section(name: str):
        return before[name] if before else None

    st.subheader("People", help="The people with a matching visit, and all their visits (docs/metrics.md#user-summary).")
    cards.metric_cards(cards.PEOPLE, metrics["user_summary"], section("user_summary"), versus)

    st.subheader("Sessions", help="The matching visits only (docs/metrics.md#session-summary).")
    cards.metric_cards(cards.SESSIONS, metrics["session_summary"], section("session_summary"), versus)
    cards.metric_cards(cards.DURATIONS, metrics["session_summary"], section("session_summary"), versus)

    st.subheader("Conversion", help="The converted users among them (docs/metrics.md#conversion-summary).")
    cards_column, chart_column = st.columns([1, 2])
    conversion = metrics["conversion_summary"]
    cards.metric_cards(cards.CONVERSION, conversion, section("conversion_summary"), versus,
                       columns=[cards_column] * len(cards.CONVERSION))
    with chart_column:
        bins = conversion["conversion_timeline_bins"]
        charts.chart(
            charts.time_to_convert_figure(bins), title="Time to convert",
            description="converted users by the time from their first visit to their first conversion",
            alt=charts.time_to_convert_alt(bins), table=charts.time_to_convert_table(bins), key="time_to_convert",
        )

    channels = metrics["channels"]
    st.subheader("Channels", help="Every medium/source the people's journeys touched (docs/metrics.md#channels). "
                                  "Click a column header to sort.")
    st.caption(":material/route: **This table covers whole journeys**: every visit of the people in view, before "
               "and after the window, on any channel. The filters choose the people; they do not hide their other "
               "channels.")
    channel_table(document)
    shown = channels
    if len(channels) > TOP_CHANNELS and not st.toggle(f"Show all {len(channels)} channels in the chart",
                                                       key="roles_all_channels"):
        shown = channels[:TOP_CHANNELS]
    charts.chart(
        charts.roles_figure(shown), title="Roles of each channel",
        description=("converted users who started on, were assisted by, converted on, or came back through each "
                     "channel" + (f" (the {TOP_CHANNELS} busiest of {len(channels)})" if len(shown) < len(channels)
                                  else "")),
        alt=charts.roles_alt(shown), table=charts.roles_table(channels), key="roles",
    )


insights_page(current_view(), data.current())
