"""Tables whose numbers stay numbers, so clicking a header sorts them as numbers; a click on a row's
box makes its value a filter (drill-down).

Columns are wide enough that a click on a header lands on its text (which
sorts) rather than its menu button, and few enough that the table fits a
laptop screen (1366 px and up, with the sidebar open) without scrolling sideways.

Drill-down: a row selected in the channel table sets the ``channel`` filter,
one in a breakdown the filter of its dimension (``campaign``, ``channel_group``,
…), in the sidebar and so in the URL. The table's widget key carries the view,
so the next view starts with nothing selected.
"""

from __future__ import annotations

import hashlib
from functools import partial
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import streamlit as st

from insights_core import tables
from insights_core.tables import percent_column

from ..text import markdown_text
from ..view import View
from ..words import TREND_MEANINGS, TREND_NAMES, label

if TYPE_CHECKING:  # imported where used: a first page view shows its numbers before pandas has loaded
    import pandas as pd

CHANNEL_COLUMNS: tuple[str, ...] = (
    "channel", "channel_group", "total_sessions", "total_users", "attributed_to_conversion",
    percent_column("conversion_rate"), percent_column("conversion_influence"), percent_column("session_influence"),
)
"""The channel table's columns; the four role counts are the roles chart and its table."""

DRILL_NOTICE = "_insights_drill_notice"
"""Session-state key of the message a drill-down leaves for the next run (a row that cannot be a filter)."""


def channel_table(answer: Mapping[str, Any], view: View | None = None, *, groups: Mapping[str, str] | None = None,
                  filters: Sequence[str] = (), key: str = "channel_table") -> None:
    """The answer's channel table (``insights_core.tables.channel_table``, docs/metrics.md#channels),
    sortable, busiest first, with each channel's group (docs/data.md#channel-groups) when the store
    has them, in a container keyed ``key`` so a page or a test can find it. Selecting a row sets the
    ``channel`` filter when ``channel`` is among ``filters`` (the filters the store can answer) and a
    ``view`` is given."""
    import pandas as pd
    table = tables.channel_table(answer)
    frame = pd.DataFrame(list(table.rows), columns=table.names)
    frame.insert(1, "channel_group", [(groups or {}).get(channel) for channel in frame["channel"]])
    columns = [column for column in CHANNEL_COLUMNS if groups or column != "channel_group"]
    count = lambda label, help: st.column_config.NumberColumn(label, help=help, format="localized", width=80)  # noqa: E731
    share = lambda label, help, width: st.column_config.ProgressColumn(  # noqa: E731
        label, help=help, format="%.2f%%", min_value=0, max_value=100, width=width
    )
    config = {
        "channel": st.column_config.TextColumn(
            "Channel", help="Medium and source of the visits (medium/source).", pinned=True, width=170),
        "channel_group": st.column_config.TextColumn(
            "Channel group", help="The kind of channel (docs/data.md#channel-groups).", width=115),
        "total_sessions": count("Sessions", "Visits on this channel by the people in view, over their whole journeys."),
        "total_users": count("Users", "People in view with a visit on this channel."),
        "attributed_to_conversion": count(
            "Converted", "Converted users who came through this channel at or before their first conversion."),
        percent_column("conversion_rate"): st.column_config.NumberColumn(
            "Conversion rate", help="Converted ÷ users of this channel.", format="%.2f%%", width=110),
        percent_column("conversion_influence"): share(
            "Conversion share", "Converted through this channel ÷ all converted users.", 115),
        percent_column("session_influence"): share(
            "Session share", "This channel's visits ÷ all visits of the journeys.", 105),
    }
    _selectable(st.container(key=key), frame[columns], config, "channel", "channel", view, filters)


def breakdown_table(answer: Mapping[str, Any], view: View, *, filters: Sequence[str] = (),
                    key: str = "breakdown_table") -> None:
    """A breakdown answer (``insights_core.tables.breakdown_table``, docs/metrics.md#breakdown) in the
    answer's order, sortable; selecting a row sets the filter of its dimension when the store can
    answer it. Sessions without a value (no campaign tag, say) are the row with an empty first cell."""
    import pandas as pd
    table = tables.breakdown_table(answer)
    dimension = answer["breakdown"]["dimension"]
    frame = pd.DataFrame(list(table.rows), columns=table.names)
    count = lambda key: st.column_config.NumberColumn(  # noqa: E731
        TREND_NAMES[key], help=TREND_MEANINGS[key].replace("in the period", "with this value"),
        format="localized", width=120)
    config = {
        dimension: st.column_config.TextColumn(label(dimension), help="An empty cell: visits without a value.",
                                               pinned=True, width=250),
        **{name: count(name) for name in ("sessions", "users", "converting_sessions", "converted_users")},
        percent_column("conversion_rate"): st.column_config.NumberColumn(
            "Conversion rate", help="Converted users ÷ users of this row.", format="%.2f%%", width=110),
    }
    _selectable(st.container(key=key), frame, config, dimension, dimension, view, filters)


def show_drill_notice() -> None:
    """The message a drill-down left for this run, if any (a row that cannot be a filter)."""
    slot = st.empty()  # drawn on every run, so the notice coming and going moves nothing below it
    notice = st.session_state.pop(DRILL_NOTICE, None)
    if notice:
        slot.info(notice, icon=":material/filter_alt_off:")


def _selectable(container: Any, frame: pd.DataFrame, config: Mapping[str, Any], column: str, filter_name: str,
                view: View | None, filters: Sequence[str]) -> None:
    """``frame`` in ``container``; when ``filter_name`` is a filter of the store, one row can be selected
    and its ``column`` value becomes that filter."""
    if view is None or filter_name not in filters:
        container.dataframe(frame, hide_index=True, width="stretch", column_config=config)
        return
    widget_key = f"select_{filter_name}_{_view_digest(view)}"
    container.dataframe(
        frame, hide_index=True, width="stretch", column_config=config, key=widget_key,
        on_select=partial(_drill_down, widget_key, filter_name, list(frame[column])), selection_mode="single-row",
    )


def _drill_down(widget_key: str, filter_name: str, values: list[Any]) -> None:
    """Widget callback: the selected row's value becomes the filter ``filter_name`` (sidebar and URL)."""
    state = st.session_state
    rows = state[widget_key]["selection"]["rows"]
    if not rows:
        return
    value = values[rows[0]]
    if value is None or value == "":
        state[DRILL_NOTICE] = (f"Visits without a value cannot be chosen as a **{markdown_text(label(filter_name))}** "
                               "filter (a filter matches an exact value).")
        return
    state[filter_name] = str(value)


def _view_digest(view: View) -> str:
    """A short fingerprint of the view, for widget keys that start fresh in every view."""
    text = "&".join(f"{name}={value}" for name, value in sorted(view.query.items()))
    return hashlib.sha256(f"{text}|{view.params.start}|{view.params.end}".encode()).hexdigest()[:12]
