"""How the dashboard writes the numbers of an answer (docs/metrics.md#response) for people.

Pure functions, no Streamlit: durations as ``42s`` / ``2m 12s`` / ``3h 05m`` /
``1.4 d``, counts with thousands separators, the response's percentage
strings as they are, and the change of a metric against the previous period.
The values themselves are never recomputed here: they come from the response.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from math import floor
from typing import Literal

from insights_core.tables import percent_number

MISSING = "—"
"""Shown for a metric that is ``null`` (an average over nothing)."""

Kind = Literal["count", "ratio", "percent", "duration"]
"""How a metric is written: a count, an average of counts, a ``"NN.NN%"`` string, seconds."""

_MINUTE = 60
_HOUR = 3_600
_DAY = 86_400


def format_count(value: int | None) -> str:
    """``12345`` -> ``12,345``."""
    return MISSING if value is None else f"{value:,}"


def format_ratio(value: float | None) -> str:
    """An average of counts (already rounded to 1 decimal by the core) -> ``2.9``."""
    return MISSING if value is None else f"{value:,.1f}"


def format_duration(seconds: float | None) -> str:
    """Seconds -> ``4.2s``, ``42s``, ``2m 12s``, ``3h 05m`` or ``1.4 d``."""
    if seconds is None:
        return MISSING
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = floor(seconds + 0.5)
    if whole < _MINUTE:
        return f"{whole}s"
    if whole < _HOUR:
        minutes, rest = divmod(whole, _MINUTE)
        return f"{minutes}m {rest:02d}s"
    if whole < _DAY:
        hours, rest = divmod(whole, _HOUR)
        return f"{hours}h {rest // _MINUTE:02d}m"
    return f"{seconds / _DAY:,.1f} d"


def format_value(kind: Kind, value: int | float | str | None) -> str:
    """A metric of the response, written for a metric card."""
    if value is None:
        return MISSING
    if kind == "count":
        return format_count(int(value))
    if kind == "ratio":
        return format_ratio(float(value))
    if kind == "percent":
        return str(value)
    return format_duration(float(value))


@dataclass(frozen=True)
class Change:
    """A metric's change against the previous period, ready for ``st.metric``.

    ``delta`` is the text (its leading ``-`` makes the arrow point down), the
    number ``0`` for no change, or ``None`` when there is nothing to compare;
    ``description`` says which.
    """

    delta: str | int | None
    description: str


def change(kind: Kind, current: int | float | str | None, previous: int | float | str | None) -> Change:
    """How ``current`` differs from ``previous``: counts with their relative change,
    rates in percentage points, averages in their own unit."""
    if current is None or previous is None:
        return Change(None, "no previous value to compare")
    if kind == "percent":
        difference = round(percent_number(str(current)) - percent_number(str(previous)), 2)
        text = f"{difference:+.2f} pp"
    elif kind == "count":
        difference = int(current) - int(previous)
        text = f"{difference:+,}"
        if int(previous) > 0:
            text += f" ({difference / int(previous):+.1%})"
    elif kind == "ratio":
        difference = round(float(current) - float(previous), 1)
        text = f"{difference:+,.1f}"
    else:
        difference = round(float(current) - float(previous), 1)
        text = ("-" if difference < 0 else "+") + format_duration(abs(difference))
    if difference == 0:
        return Change(0, "no change")
    return Change(text, "vs previous period")


def format_day(day: date | datetime) -> str:
    """``2025-07-01`` -> ``1 Jul 2025``."""
    return f"{day.day} {day:%b %Y}"


def format_moment(moment: datetime) -> str:
    """A naive UTC timestamp -> ``1 Jul 2025 10:04 UTC``."""
    return f"{format_day(moment)} {moment:%H:%M} UTC"


def format_moment_span(first: datetime, last: datetime) -> str:
    """Two naive UTC moments, the year said once when it is the same: ``29 Oct 12:36 – 28 Nov 2026 12:36 UTC``."""
    if first.year == last.year:
        return f"{first.day} {first:%b %H:%M} – {format_day(last)} {last:%H:%M} UTC"
    return f"{format_day(first)} {first:%H:%M} – {format_day(last)} {last:%H:%M} UTC"


def format_span(first: date, last: date) -> str:
    """Two days as a span, saying each month and year once: ``21–27 Nov 2026``,
    ``29 Oct – 28 Nov 2026``, ``1 Dec 2025 – 3 Jan 2026``; one day alone: ``28 Nov 2026``."""
    if first == last:
        return format_day(first)
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}–{format_day(last)}"
    if first.year == last.year:
        return f"{first.day} {first:%b} – {format_day(last)}"
    return f"{format_day(first)} – {format_day(last)}"
