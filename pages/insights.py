"""Insights page: who came and converted, how that went over time, how their visits went, which
channels played which role, and the matching visits broken down by a dimension.

Layout only: the numbers come from the core through ``dashboard.data``, the
pieces from ``dashboard.components``.
"""

from __future__ import annotations

import streamlit as st

from dashboard import data
from dashboard.components import cards, charts
from dashboard.components.downloads import breakdown_csv_download, trend_csv_download
from dashboard.components.header import comparison_label, view_header
from dashboard.components.tables import breakdown_table, channel_table, show_drill_notice
from dashboard.filters import current_view, use_days
from dashboard.formatting import format_span
from dashboard.text import markdown_text
from dashboard.view import DIMENSION, DIMENSIONS, INTERVAL, View
from dashboard.words import COMPARISONS, DIMENSION_HELP, INTERVAL_HELP, INTERVAL_LABELS, label
from insights_core import NO_DATA_MESSAGE, ParameterError
from insights_core.vocabulary import TREND_INTERVALS
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
    comparison_note = st.empty()
    st.subheader("People", help="The people with a matching visit, and all their visits (docs/metrics.md#user-summary).")
    people = st.empty()
    if compared is not None:
        # The numbers first: their changes need a second answer, the comparison's, and are drawn over them
        # when it comes, so a new question shows its numbers after one computation, not two.
        with people.container():
            cards.metric_cards(cards.PEOPLE, metrics["user_summary"], None, None)
    before = store.insights(compared).get("overall_metrics") if compared is not None else None
    versus = comparison_label(view) if compared is not None else None
    if compared is not None and before is None:
        comparison_note.caption("No one matches in the comparison period, so there are no changes to show.")
        versus = None

    def section(name: str):
        return before[name] if before else None

    with people.container():
        cards.metric_cards(cards.PEOPLE, metrics["user_summary"], section("user_summary"), versus)
    cards.let_the_numbers_paint()

    trend_section(view, store)

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
    filters = store.available_filters()
    channel_table(document, view, groups=store.channel_groups(), filters=filters)
    if "channel" in filters:
        st.caption(":material/ads_click: Select a row (the box at its left) to see only the people who came "
                   "through that channel.")
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

    breakdown_section(view, store)


def trend_section(view: View, store: data.Store) -> None:
    """The four counts per day, week or month, the comparison dashed, and the Trend CSV."""
    st.subheader("Trend", help="Matching visits, their users, converting visits and converted users per period "
                               "(docs/metrics.md#trend).")
    choice_column, download_column = st.columns([3, 1], vertical_alignment="bottom")
    choice_column.segmented_control(label(INTERVAL), TREND_INTERVALS, format_func=INTERVAL_LABELS.__getitem__,
                                    key=INTERVAL, required=True, help=INTERVAL_HELP)
    try:
        question = view.trend_params()
    except ParameterError as error:
        st.warning(f"{markdown_text(error.message)}.", icon=":material/timeline:")
        return
    answer = store.timeseries(question)
    buckets = answer["timeseries"]["buckets"]
    before, compared_with = None, None
    if view.comparison is not None:
        try:
            before = store.timeseries(view.trend_params(view.comparison))["timeseries"]["buckets"]
            compared_with = COMPARISONS[view.compare].lower()
        except ParameterError:
            before = None
    with download_column:
        trend_csv_download(answer, view)
    unit = INTERVAL_LABELS[view.interval].lower()
    charts.chart(
        charts.trend_figure(buckets, before, view.interval, compared_with), title="Trend",
        description=(f"per {unit}" + (f"; dashed: the {compared_with}, period by period" if compared_with else "")),
        alt=charts.trend_alt(buckets, view.interval, before is not None),
        table=charts.trend_table(buckets, before, compared_with), key="trend",
    )


def breakdown_section(view: View, store: data.Store) -> None:
    """The matching visits by one dimension, a row selectable as a filter, and the Breakdown CSV."""
    st.subheader("Breakdown", help="The matching visits grouped by one dimension (docs/metrics.md#breakdown).")
    choice_column, download_column = st.columns([3, 1], vertical_alignment="bottom")
    choice_column.selectbox(label(DIMENSION), DIMENSIONS, format_func=label, key=DIMENSION, help=DIMENSION_HELP)
    answer = store.breakdown(view.breakdown_params())
    with download_column:
        breakdown_csv_download(answer, view)
    show_drill_notice()
    rows = answer["breakdown"]["rows"]
    if not rows:
        st.caption("No matching visits to break down.")
        return
    breakdown_table(answer, view, filters=store.available_filters())
    shown = counted(len(rows), "row")
    st.caption(f"{shown}, most sessions first" + (" (the first 100)" if len(rows) >= 100 else "") +
               ". Unlike the channel table these are the matching visits only. Select a row to make it a filter.")


insights_page(current_view(), data.current())
