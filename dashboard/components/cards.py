"""Metric cards: one number of the answer each, with its change against the comparison.

The card groups below follow the answer's sections (docs/metrics.md#user-summary,
#session-summary, #conversion-summary); each card says in its tooltip what
the number counts, in a marketer's words.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal, Mapping, Sequence

import streamlit as st

from ..formatting import Kind, change, format_value

DeltaColour = Literal["normal", "inverse", "off"]


@dataclass(frozen=True)
class Card:
    """One metric card: the answer's key, its label, how it is written, how its change is coloured, its meaning."""

    key: str
    label: str
    kind: Kind
    colour: DeltaColour
    meaning: str


PEOPLE = (
    Card("total_users", "Users", "count", "normal", "People with at least one visit in the window that matches every filter."),
    Card("total_converted_users", "Converted users", "count", "normal", "Those people who have converted (at any time)."),
    Card("conversion_rate", "Conversion rate", "percent", "normal", "Converted users ÷ users."),
    Card("avg_sessions_per_user", "Sessions per user", "ratio", "off",
         "All visits of these people, before and after the window too, ÷ users."),
    Card("avg_sessions_per_converted_user", "Sessions / converter", "ratio", "off",
         "All visits of the converted users ÷ converted users: the effort it takes to convert."),
)
SESSIONS = (
    Card("total_sessions", "Matching sessions", "count", "normal", "Visits in the window that match every filter."),
    Card("total_converting_sessions", "Converting sessions", "count", "normal", "Matching visits with a conversion."),
    Card("total_drop_off_sessions", "Drop-off sessions", "count", "inverse",
         "Matching visits that ended (have an exit time) without a conversion."),
    Card("avg_session_duration_seconds", "Avg session duration", "duration", "off",
         "Average length of the matching visits that have an exit time."),
)
DURATIONS = (
    Card("avg_converting_session_duration", "Avg time to act", "duration", "inverse",
         "Average time from the start of a converting visit to its first conversion."),
    Card("median_converting_session_duration", "Median time to act", "duration", "inverse",
         "Median time from the start of a converting visit to its first conversion."),
    Card("avg_drop_off_session_duration", "Avg drop-off duration", "duration", "off",
         "Average length of visits that left without converting."),
    Card("median_drop_off_session_duration", "Median drop-off duration", "duration", "off",
         "Median length of visits that left without converting."),
)
CONVERSION = (
    Card("avg_time_to_convert", "Avg time to convert", "duration", "inverse",
         "Average time from a converted user's very first visit to their first conversion."),
    Card("median_time_to_convert", "Median time to convert", "duration", "inverse",
         "Median time from a converted user's very first visit to their first conversion."),
)


def metric_cards(
    cards: Sequence[Card],
    current: Mapping[str, Any],
    previous: Mapping[str, Any] | None,
    compared_with: str | None,
    columns: Sequence[Any] | None = None,
) -> None:
    """One bordered ``st.metric`` per card, in a row of columns unless given.

    ``previous`` is the same section of the comparison's answer (``None``:
    nothing to compare); ``compared_with`` is ``None`` for no comparison at
    all (no change is shown), else the comparison in words for the tooltip.
    """
    for column, card in zip(columns or st.columns(len(cards)), cards):
        value = current.get(card.key)
        delta, description = None, None
        if compared_with is not None:
            moved = change(card.kind, value, None if previous is None else previous.get(card.key))
            delta = moved.delta
            description = moved.description if moved.delta == 0 else None
        column.metric(
            card.label, format_value(card.kind, value), delta=delta, delta_color=card.colour,
            delta_description=description,
            help=card.meaning if compared_with is None else f"{card.meaning} The change is {compared_with}.",
            border=True,
        )


PAINT_PAUSE_SECONDS = 0.1
"""How long :func:`let_the_numbers_paint` waits: enough for the browser here to draw a row of cards."""


def let_the_numbers_paint() -> None:
    """Pause briefly after the first cards, before the page's charts and tables are drawn.

    Streamlit sends each element as the script draws it, and the browser draws what has arrived together:
    when the charts come right behind the cards, it first loads and runs the charts' code (plotly's is
    megabytes) and only then shows the numbers. A tenth of a second between the two lets the numbers show
    first; at 1M sessions on 2 cores bench_dashboard measured numbers shown after a filter change at
    0.36-0.44 s with the pause against 0.73-0.88 s without, and the first paint 5.2 s against 7.0 s, the
    whole page finishing as late either way.
    """
    time.sleep(PAINT_PAUSE_SECONDS)
