"""Attribution page: how much credit each channel deserves, by seven models side by side (docs/metrics.md#attribution).

Layout only: the answer comes from the core (``compute_attribution``) through
``dashboard.data``, the pieces from ``dashboard.components.attribution``.
"""

from __future__ import annotations

import json
import shlex

import streamlit as st

from dashboard import data
from dashboard.components import attribution as parts
from dashboard.components.charts import chart
from dashboard.components.header import view_header
from dashboard.filters import current_view
from dashboard.text import markdown_text
from dashboard.view import View
from insights_core import NO_DATA_MESSAGE, ParameterError
from insights_core.wording import counted

TOP_CHANNELS = 10  # channels the models chart shows unless asked for all


def attribution_page(view: View, store: data.Store) -> None:
    settings = parts.draw_settings()
    view_header("Attribution", view, comparison=False)
    st.caption(settings.describe())
    if store.span() is None:
        st.info("Nothing is stored yet. Load your sessions and conversions, or create demo data, on the Data page.",
                icon=":material/database:")
        st.page_link("pages/data.py", label="Go to the Data page", icon=":material/arrow_forward:")
        return
    try:
        params = settings.params(view)
    except ParameterError as error:  # the sidebar checked every value; say so rather than fail if one slips by
        st.warning(f"**These settings cannot be used:** {markdown_text(error.message)}.", icon=":material/tune:")
        return
    answer = store.attribution(params)
    if "message" in answer:
        with st.container(border=True):
            st.markdown(f"### :material/search_off: {NO_DATA_MESSAGE}")
            st.markdown("No one has a visit in this window that matches every filter. "
                        "Widen the window or clear a filter.")
        return

    attribution = answer["attribution"]
    with_value = attribution["value"] != 0
    conversions = counted(attribution["conversions"], "conversion")
    st.markdown(f"**{conversions} credited**" + (f", worth {attribution['value']:,.2f} in all." if with_value else ".")
                + " Each model shares one unit of credit per conversion among the visits that led to it.")
    with st.expander("How each model shares the credit", expanded=True):
        st.markdown(parts.sentences())

    parts.downloads(answer, view, settings)
    if not attribution["channels"]:
        st.info("No one in view converted, so there is no credit to share. Widen the window or clear a filter.",
                icon=":material/info:")
        return

    st.subheader("Credit by channel", help="Every channel of the journeys; a channel seen only on journeys that did "
                                          "not convert earns credit from the data-driven model alone. "
                                          "Click a column header to sort.")
    parts.credits_table(answer, "conversions", key="attribution_conversions")
    if with_value:
        st.markdown("**Value credited**: each conversion's value, shared the same way.")
        parts.credits_table(answer, "value", key="attribution_value")

    channels = attribution["channels"]
    shown = TOP_CHANNELS
    if len(channels) > TOP_CHANNELS and st.toggle(f"Show all {len(channels)} channels in the chart",
                                                  key="attribution_all_channels"):
        shown = len(channels)
    top = parts.top_channels(answer, shown)
    chart(
        parts.models_figure(top), title="Models compared",
        description="conversions credited to each channel by each model"
                    + (f" (the {shown} channels with the most linear credit of {len(channels)})"
                       if shown < len(channels) else ""),
        alt=parts.models_alt(answer, min(shown, len(channels))), table=parts.credits_frame(answer, "conversions"),
        key="attribution_models",
    )

    paths_column, lengths_column = st.columns([3, 2])
    with paths_column:
        st.subheader("Top conversion paths", help="The channels of each conversion's visits in order, repeats in a "
                                                  "row counted once (docs/metrics.md#paths).")
        st.dataframe(parts.paths_frame(answer, with_value), hide_index=True, width="stretch",
                     column_config={"Value": st.column_config.NumberColumn("Value", format="%.2f")})
    with lengths_column:
        st.subheader("Path length")
        chart(
            parts.path_lengths_figure(answer), title="Visits per conversion",
            description="conversions by the number of visits that led to them",
            alt=parts.path_lengths_alt(answer), table=parts.path_lengths_frame(answer), key="attribution_lengths",
        )

    # A popover is drawn only when opened: its code element's highlighter would otherwise start with the page.
    with st.popover("The same question from the command line", icon=":material/terminal:"):
        st.code(f"insights attribution --db {shlex.quote(str(store.file.path))} "
                f"--params {shlex.quote(json.dumps(params.to_request(), ensure_ascii=False))}",
                language="bash", wrap_lines=True)


attribution_page(current_view(), data.current())
