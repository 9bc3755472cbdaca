"""A page's title and, under it, the view it shows in words: window, comparison, filters."""

from __future__ import annotations

import streamlit as st

from ..text import markdown_text
from ..view import View
from ..words import COMPARISONS, TOUCH_SCOPE_LABELS, label


def view_header(title: str, view: View, *, comparison: bool = True) -> None:
    """``st.title`` and a caption: the window, what changes are measured against, the filters."""
    st.title(title)
    parts = [f"**Window:** {view.window.describe()}"]
    if comparison:
        parts.append(f"**Compared with:** {view.describe_comparison()}")
    parts.append(f"**Filters:** {describe_filters(view)}")
    st.caption(" · ".join(parts))


def describe_filters(view: View) -> str:
    """The filters that are set, as Markdown (values escaped); "none" when there are none."""
    given = view.filters
    if not given:
        return "none"
    words = []
    for name, value in given.items():
        shown = TOUCH_SCOPE_LABELS.get(value, value) if name == "touch_scope" else value
        words.append(f"{label(name)} = “{markdown_text(shown, limit=120)}”")
    return ", ".join(words)


def comparison_label(view: View) -> str:
    """Short words for a card's change: "vs previous period"."""
    return f"vs {COMPARISONS[view.compare].lower()}"
