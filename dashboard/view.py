"""What the dashboard is showing: the window in whole UTC days, the filters, and derived periods.

Pure functions, no Streamlit. The dashboard's date widgets pick whole UTC
days, so a window is ``start_date`` 00:00:00 through ``end_date``
23:59:59.999999, exactly what SPEC 3.1 makes of two ``YYYY-MM-DD`` dates.
The default is SPEC 3.1's (the 30 days before now) widened to whole days:
``today - 30 days`` through today. Every request goes through
:func:`insights_core.parse_params`, the one place parameters are validated.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Literal, Mapping, Sequence
from urllib.parse import urlencode, urlsplit

from insights_core import InsightsParams, ParameterError, parse_params
from insights_core.params import CONVERSION_FILTERS, DEFAULT_WINDOW, PARAMETER_NAMES, SESSION_FILTERS

FILTERS: tuple[str, ...] = (*SESSION_FILTERS, *CONVERSION_FILTERS)
"""The SPEC 3 string filters, one selectbox each."""

PRESETS: tuple[str, ...] = ("Last 7 days", "Last 30 days", "Last 90 days", "This month", "All data")
"""Quick windows; "Last N days" is SPEC 3.1's ``end - N days`` on whole days, ending today."""

_PRESET_DAYS = {"Last 7 days": 7, "Last 30 days": 30, "Last 90 days": 90}

ONE_MICROSECOND = timedelta(microseconds=1)

EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2999, 12, 31)
"""The calendar the date widgets offer."""

STREAMLIT_PARAMETERS = frozenset({"embed", "embed_options"})
"""Query parameters Streamlit itself reads; left alone."""

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def today_utc() -> date:
    """The current day in UTC, the time zone of every stored timestamp."""
    return datetime.now(timezone.utc).date()


def default_window(today: date) -> tuple[date, date]:
    """SPEC 3.1's default window (the 30 days before now) on whole days: today - 30 days .. today."""
    return today - DEFAULT_WINDOW, today


def default_start(end_day: date) -> date:
    """SPEC 3.1: without a start_date the window starts 30 days before end_date."""
    return end_day - DEFAULT_WINDOW


def preset_window(preset: str, today: date, span: tuple[datetime, datetime] | None) -> tuple[date, date] | None:
    """The (start_date, end_date) of a quick window; ``None`` for "All data" on an empty store."""
    if preset in _PRESET_DAYS:
        return today - timedelta(days=_PRESET_DAYS[preset]), today
    if preset == "This month":
        return today.replace(day=1), today
    if preset == "All data":
        return None if span is None else (span[0].date(), span[1].date())
    raise ValueError(f"unknown preset {preset!r}")


def matching_preset(
    start_day: date, end_day: date, today: date, span: tuple[datetime, datetime] | None
) -> str | None:
    """The quick window that (start_date, end_date) is, if any (the first one, in :data:`PRESETS` order)."""
    for preset in PRESETS:
        if preset_window(preset, today, span) == (start_day, end_day):
            return preset
    return None


def request(start_day: date, end_day: date, filters: Mapping[str, str | None], touch_scope: str) -> dict[str, str]:
    """The SPEC 3 request body of a dashboard view, dates as ``YYYY-MM-DD``; defaults left out."""
    body = {"start_date": start_day.isoformat(), "end_date": end_day.isoformat()}
    for name in FILTERS:
        value = filters.get(name)
        if value not in (None, ""):
            body[name] = value
    if touch_scope and touch_scope != "any":
        body["touch_scope"] = touch_scope
    return {name: body[name] for name in PARAMETER_NAMES if name in body}


@dataclass(frozen=True)
class View:
    """One dashboard view: its parameters, the same-length period before it, and its shareable body."""

    params: InsightsParams
    share_request: dict[str, str]
    """The view as a SPEC 3 body with whole-day dates: what the share link carries."""

    @classmethod
    def of(cls, share_request: Mapping[str, str]) -> View:
        return cls(parse_params(share_request), dict(share_request))

    @property
    def start_day(self) -> date:
        return self.params.start.date()

    @property
    def end_day(self) -> date:
        return self.params.end.date()

    @property
    def days(self) -> int:
        """Length of the window in whole days (both ends included)."""
        return (self.end_day - self.start_day).days + 1

    @property
    def previous(self) -> InsightsParams:
        """The same filters over the period of the same length just before the window."""
        return previous_period(self.params)

    def share_url(self, base_url: str) -> str:
        """``base_url`` with the view in its query string: reopening it shows the same numbers."""
        base = base_url.split("?")[0]
        if urlsplit(base).path == "":
            base += "/"
        return f"{base}?{urlencode(self.share_request)}"


def previous_period(params: InsightsParams) -> InsightsParams:
    """``params`` moved back by the window's own length: it ends 1 µs before the window starts."""
    length = params.end - params.start + ONE_MICROSECOND
    return dataclasses.replace(params, start=params.start - length, end=params.start - ONE_MICROSECOND)


@dataclass(frozen=True)
class Notice:
    """A message about the URL or the filters, shown above the page."""

    level: Literal["warning", "info"]
    text: str


def check_url(raw: Mapping[str, Sequence[str]], today: date) -> tuple[list[Notice], dict[str, str]]:
    """Validate a page's raw query string; return what was wrong and the corrected parameters.

    Each value goes through :func:`insights_core.parse_params`. A bad value
    (unknown parameter, repeated, invalid, outside the calendar) is dropped
    with a warning naming it, so its default applies; a datetime becomes its
    UTC day (the dashboard picks whole days). Then the window follows
    SPEC 3.1: without a start_date it starts 30 days before end_date, and a
    start after the end falls back to that default.
    """
    notices: list[Notice] = []
    kept: dict[str, str] = {}
    for key, values in raw.items():
        if key.lower() in STREAMLIT_PARAMETERS:
            continue
        if key not in PARAMETER_NAMES:
            notices.append(Notice("warning", f"The URL parameter **{key}** is not an Insights parameter and was "
                                             f"ignored (parameters: {', '.join(PARAMETER_NAMES)})."))
            continue
        if len(values) > 1:
            notices.append(Notice("warning", f"**{key}** is given {len(values)} times in the URL; it takes one "
                                             "value, so it falls back to its default."))
            continue
        value = values[0] if values else ""
        if value == "":
            continue
        try:
            resolved = _validate(key, value)
        except ParameterError as error:
            notices.append(Notice("warning", f"**{error.field or key}**: {error.message}; it falls back to its "
                                             "default."))
            continue
        if key in ("start_date", "end_date"):
            day = resolved.start.date() if key == "start_date" else resolved.end.date()
            if not EARLIEST_DAY <= day <= LATEST_DAY:
                notices.append(Notice("warning", f"**{key}**: {value!r} is outside the dashboard's calendar "
                                                 f"({EARLIEST_DAY} to {LATEST_DAY}); it falls back to its default."))
                continue
            if not _DAY.fullmatch(value.strip()):
                notices.append(Notice("info", f"**{key}** {value!r}: the dashboard selects whole UTC days, so it "
                                              f"shows {day.isoformat()}."))
            value = day.isoformat()
        kept[key] = value

    end_day = date.fromisoformat(kept["end_date"]) if "end_date" in kept else default_window(today)[1]
    if "end_date" in kept and "start_date" not in kept:
        kept["start_date"] = default_start(end_day).isoformat()
    if "start_date" in kept and date.fromisoformat(kept["start_date"]) > end_day:
        try:
            parse_params({"start_date": kept["start_date"], "end_date": end_day.isoformat()})
        except ParameterError as error:
            notices.append(Notice("warning", f"**{error.field}**: {error.message}; it falls back to its default, "
                                             f"30 days before end_date ({default_start(end_day).isoformat()})."))
        kept["start_date"] = default_start(end_day).isoformat()
    return notices, {name: kept[name] for name in PARAMETER_NAMES if name in kept}


def _validate(key: str, value: str) -> InsightsParams:
    """One raw value through parse_params (a start_date alone, against the latest possible end)."""
    if key == "start_date":
        return parse_params({"start_date": value, "end_date": "9999-12-31"})
    return parse_params({key: value})
