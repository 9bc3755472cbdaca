"""Tables whose numbers stay numbers, so clicking a header sorts them as numbers.

Columns are wide enough that a click on a header lands on its text (which
sorts) rather than its menu button, and few enough that the table fits a
laptop screen (1366 px and up, with the sidebar open) without scrolling sideways.
"""

from __future__ import annotations

from typing import Any, Mapping

import pandas as pd
import streamlit as st

from insights_core import tables
from insights_core.tables import percent_column

CHANNEL_COLUMNS: tuple[str, ...] = (
    "channel", "total_sessions", "total_users", "attributed_to_conversion",
    percent_column("conversion_rate"), percent_column("conversion_influence"), percent_column("session_influence"),
)
"""The channel table's columns; the four role counts are the roles chart and its table."""


def channel_table(answer: Mapping[str, Any], *, key: str = "channel_table") -> None:
    """The answer's channel table (``insights_core.tables.channel_table``, docs/metrics.md#channels),
    sortable, busiest first, in a container keyed ``key`` so a page or a test can find it."""
    table = tables.channel_table(answer)
    count = lambda label, help: st.column_config.NumberColumn(label, help=help, format="localized", width=100)  # noqa: E731
    share = lambda label, help, width: st.column_config.ProgressColumn(  # noqa: E731
        label, help=help, format="%.2f%%", min_value=0, max_value=100, width=width
    )
    st.container(key=key).dataframe(
        pd.DataFrame(list(table.rows), columns=table.names)[list(CHANNEL_COLUMNS)],
        hide_index=True,
        width="stretch",
        column_config={
            "channel": st.column_config.TextColumn(
                "Channel", help="Medium and source of the visits (medium/source).", pinned=True, width=190),
            "total_sessions": count("Sessions", "Visits on this channel by the people in view, over their whole journeys."),
            "total_users": count("Users", "People in view with a visit on this channel."),
            "attributed_to_conversion": count(
                "Converted", "Converted users who came through this channel at or before their first conversion."),
            percent_column("conversion_rate"): st.column_config.NumberColumn(
                "Conversion rate", help="Converted ÷ users of this channel.", format="%.2f%%", width=120),
            percent_column("conversion_influence"): share(
                "Conversion share", "Converted through this channel ÷ all converted users.", 130),
            percent_column("session_influence"): share(
                "Session share", "This channel's visits ÷ all visits of the journeys.", 120),
        },
    )
