"""What the dashboard is showing: the window, the filters, the comparison, and the page's URL.

Pure functions, no Streamlit, so every rule here is tested directly.

- **A date not given is the API's default** (docs/metrics.md#window). With
  no dates the window is exactly what an empty API body gets: the 30 days up
  to now, to the microsecond, with ``now`` pinned when the page opened so
  every rerun (and the cache) sees the same window. ``From`` alone runs to
  now; ``To`` alone starts 30 days before the end of that day.
- **Dates picked on the page are whole UTC days**: ``From`` 00:00:00 through
  ``To`` 23:59:59.999999, what the API makes of two ``YYYY-MM-DD`` dates.
- **Quick windows**: "Last N days" are N whole days ending yesterday (today
  is partial; it has its own "Today"), "This month" runs from the 1st to
  today, "Last month" is the previous calendar month.
- **Comparison**: the previous period (same length just before; for a
  calendar month, the month before; for a month so far, the same days of the
  month before), the same dates a year earlier, or none.

Every request goes through :func:`insights_core.parse_params`, the one place
parameters are validated.
"""

from __future__ import annotations

import calendar
import dataclasses
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal, Mapping, Sequence
from urllib.parse import urlencode, urlsplit

from insights_core import InsightsParams, ParameterError, parse_params
from insights_core.vocabulary import CONVERSION_FILTERS, INSIGHTS_PARAMETERS, SESSION_FILTERS, TOUCH_SCOPES
from insights_core.wording import counted, quoted

from .formatting import format_day, format_moment_span, format_span
from .text import markdown_text
from .words import COMPARISONS, TOUCH_SCOPE_LABELS, label

FILTERS: tuple[str, ...] = tuple(name for name in (*SESSION_FILTERS, *CONVERSION_FILTERS) if name in INSIGHTS_PARAMETERS)
"""The string filters, one list each in the sidebar (session filters first); a store offers those it has
columns for (``insights_core.catalog.available_filters``)."""

PARAMETER_NAMES: tuple[str, ...] = INSIGHTS_PARAMETERS
"""The API's parameters, in the documented order: the URL keys of a view."""

SESSION_FILTER_NAMES: tuple[str, ...] = tuple(name for name in FILTERS if name in SESSION_FILTERS)

COMPARE = "compare"
"""The dashboard's own URL key: what the changes are measured against (not an API parameter)."""

DEFAULT_COMPARISON = "previous"
VIEW_KEYS: tuple[str, ...] = (COMPARE,)
"""URL keys of the dashboard's own settings, after the API's parameters."""

URL_KEYS: tuple[str, ...] = (*PARAMETER_NAMES, *VIEW_KEYS)

Comparison = Literal["previous", "year", "none"]

PRESETS: tuple[str, ...] = (
    "Today", "Yesterday", "Last 7 days", "Last 30 days", "Last 90 days", "This month", "Last month", "All data",
)
"""Quick windows, in the order the sidebar offers them."""

_LAST_DAYS = {"Last 7 days": 7, "Last 30 days": 30, "Last 90 days": 90}

ONE_MICROSECOND = timedelta(microseconds=1)
ONE_DAY = timedelta(days=1)

EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2999, 12, 31)
"""The calendar the date widgets offer."""

STREAMLIT_PARAMETERS = frozenset({"embed", "embed_options"})
"""Query parameters Streamlit itself reads; left alone."""

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")

Span = tuple[datetime, datetime]
"""First and last stored session start (naive UTC)."""


def preset_days(preset: str, today: date, span: Span | None) -> tuple[date, date] | None:
    """The (From, To) days of a quick window; ``None`` for "All data" when nothing is stored."""
    if preset == "Today":
        return today, today
    if preset == "Yesterday":
        return today - ONE_DAY, today - ONE_DAY
    if preset in _LAST_DAYS:
        return today - timedelta(days=_LAST_DAYS[preset]), today - ONE_DAY
    if preset == "This month":
        return today.replace(day=1), today
    if preset == "Last month":
        last = today.replace(day=1) - ONE_DAY
        return last.replace(day=1), last
    if preset == "All data":
        return None if span is None else (span[0].date(), span[1].date())
    raise ValueError(f"unknown quick window {preset!r}")


def matching_preset(start_day: date, end_day: date, today: date, span: Span | None) -> str | None:
    """The quick window that From..To is, if any (the first one in :data:`PRESETS` order)."""
    for preset in PRESETS:
        if preset_days(preset, today, span) == (start_day, end_day):
            return preset
    return None


def whole_days(start_day: date, end_day: date) -> tuple[datetime, datetime]:
    """From 00:00:00 through To 23:59:59.999999, as the API reads two dates."""
    return datetime.combine(start_day, time.min), datetime.combine(end_day, time.max)


@dataclass(frozen=True)
class Window:
    """The sessions' start times a view covers, and how it came about."""

    start: datetime
    end: datetime
    default: bool = False
    """The API's default window (no dates given): exact moments, not whole days."""
    preset: str | None = None
    """The quick window it equals, if any."""

    @property
    def start_day(self) -> date:
        return self.start.date()

    @property
    def end_day(self) -> date:
        return self.end.date()

    @property
    def days(self) -> int:
        """Calendar days touched, both ends included."""
        return (self.end_day - self.start_day).days + 1

    @property
    def whole_days(self) -> bool:
        """From midnight of its first day through the last microsecond of its last day."""
        return self.start.time() == time.min and self.end.time() == time.max

    def describe(self) -> str:
        """The window in words (Markdown): which dates, how many days, and where it comes from."""
        if self.default:
            return f"the last 30 days up to now, {format_moment_span(self.start, self.end)} (the API's default window)"
        if not self.whole_days:
            return format_moment_span(self.start, self.end)
        span = f"{format_span(self.start_day, self.end_day)} ({counted(self.days, 'day')}, UTC)"
        return f"{self.preset}: {span}" if self.preset else span


@dataclass(frozen=True)
class View:
    """One dashboard view: parameters, window, comparison, and what the page URL carries."""

    params: InsightsParams
    window: Window
    compare: Comparison = DEFAULT_COMPARISON
    query: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """The URL query of the view: API parameter names (dates as days) and the dashboard's own keys."""

    @property
    def filters(self) -> dict[str, str]:
        """The filters that are set (touch_scope included when it is not ``any``), by parameter name."""
        given = {name: getattr(self.params, name) for name in FILTERS if getattr(self.params, name, None) is not None}
        if self.params.touch_scope != "any":
            given["touch_scope"] = self.params.touch_scope
        return given

    @property
    def comparison(self) -> InsightsParams | None:
        """The parameters the changes are measured against; ``None`` for no comparison."""
        return comparison_params(self.params, self.compare)

    def describe_comparison(self) -> str:
        """What the changes are measured against, in words."""
        other = self.comparison
        if other is None:
            return "no comparison" if self.compare == "none" else "no comparison (no earlier dates to compare with)"
        what = {"previous": COMPARISONS["previous"].lower(), "year": COMPARISONS["year"].lower()}[self.compare]
        if not self.window.whole_days:
            return f"{format_moment_span(other.start, other.end)} ({what})"
        return f"{format_span(other.start.date(), other.end.date())} ({what})"

    def share_url(self, base_url: str) -> str:
        """``base_url`` with the view in its query string: reopening it shows the same numbers."""
        base = base_url.split("?")[0].split("#")[0]
        if urlsplit(base).path == "":
            base += "/"
        return f"{base}?{urlencode(dict(self.query))}" if self.query else base


def make_view(
    start_day: date | None,
    end_day: date | None,
    filters: Mapping[str, str | None],
    touch_scope: str | None,
    compare: str | None,
    *,
    now: datetime,
    span: Span | None = None,
) -> View:
    """The view of the sidebar's state. Raises :class:`ParameterError` for a bad filter.

    ``start_day``/``end_day`` are ``None`` when not given, and then take the
    API's default: both ``None`` is the 30 days up to ``now``; From alone
    runs to ``now``; To alone starts 30 days before the end of To. From after
    To is a :class:`ParameterError` on ``start_date`` (the sidebar explains it).
    """
    body: dict[str, str] = {name: value for name in FILTERS if (value := filters.get(name)) not in (None, "")}
    if touch_scope and touch_scope != "any":
        body["touch_scope"] = touch_scope
    comparison: Comparison = compare if compare in COMPARISONS else DEFAULT_COMPARISON  # type: ignore[assignment]
    if start_day is not None and end_day is not None and start_day > end_day:
        raise ParameterError("start_date", f"{label('start_date')} ({format_day(start_day)}) is after "
                                           f"{label('end_date')} ({format_day(end_day)})")
    query: dict[str, str] = {}
    if start_day is not None:
        query["start_date"] = start_day.isoformat()
    if end_day is not None:
        query["end_date"] = end_day.isoformat()
    params = parse_params({**query, **body}, now=now)
    preset = None if start_day is None or end_day is None else matching_preset(start_day, end_day, now.date(), span)
    window = Window(params.start, params.end, default=not query, preset=preset)
    query.update({name: body[name] for name in PARAMETER_NAMES if name in body})
    if comparison != DEFAULT_COMPARISON:
        query[COMPARE] = comparison
    return View(params, window, comparison, query)


# --- comparisons --------------------------------------------------------------------------


def comparison_params(params: InsightsParams, compare: str) -> InsightsParams | None:
    """The same filters over the period the changes are measured against; ``None`` for none
    (or when that period would start before the first year a date can hold)."""
    try:
        if compare == "none":
            return None
        if compare == "year":
            return dataclasses.replace(params, start=_year_earlier(params.start), end=_year_earlier(params.end))
        months = _calendar_months(params.start, params.end)
        if months is not None:
            start, end = months
            return dataclasses.replace(params, start=start, end=end)
        return previous_period(params)
    except (OverflowError, ValueError):
        return None


def previous_period(params: InsightsParams) -> InsightsParams:
    """``params`` moved back by the window's own length: it ends 1 µs before the window starts."""
    length = params.end - params.start + ONE_MICROSECOND
    return dataclasses.replace(params, start=params.start - length, end=params.start - ONE_MICROSECOND)


def _calendar_months(start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
    """For whole calendar months, the same number of months before; for a month so far (the 1st to a
    day of the same month), the same days of the month before. ``None`` for any other window."""
    if start.time() != time.min or end.time() != time.max or start.day != 1:
        return None
    first_day, last_day = start.date(), end.date()
    if _is_month_end(last_day):
        months = (last_day.year - first_day.year) * 12 + last_day.month - first_day.month + 1
        before_start = _add_months(first_day, -months)
        before_end = first_day - ONE_DAY
        return whole_days(before_start, before_end)
    if (first_day.year, first_day.month) == (last_day.year, last_day.month):
        before_start = _add_months(first_day, -1)
        days_in_month = calendar.monthrange(before_start.year, before_start.month)[1]
        before_end = before_start.replace(day=min(last_day.day, days_in_month))
        return whole_days(before_start, before_end)
    return None


def _is_month_end(day: date) -> bool:
    return (day + ONE_DAY).day == 1


def _add_months(first_of_month: date, months: int) -> date:
    index = first_of_month.year * 12 + first_of_month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _year_earlier(moment: datetime) -> datetime:
    """The same date and time a year earlier (29 February becomes the 28th)."""
    try:
        return moment.replace(year=moment.year - 1)
    except ValueError:
        return moment.replace(year=moment.year - 1, day=28)


# --- the URL a page is opened with ---------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """A message about the URL or the filters, shown above the page (Markdown, values escaped)."""

    level: Literal["warning", "info"]
    text: str


def check_url(
    raw: Mapping[str, Sequence[str]], today: date, filters: Sequence[str] = FILTERS
) -> tuple[list[Notice], dict[str, str]]:
    """Validate a page's raw query string; return what was wrong and the corrected query.

    Each value goes through :func:`insights_core.parse_params` (``compare``
    through its list of choices). A bad value (unknown key, repeated,
    invalid, outside the calendar) is dropped with a warning naming it, so
    its default applies; a moment becomes its UTC day (the page picks whole
    days). A From date after the To date is left out (so the window is the
    30 days up to To, the API's default), said in a notice.
    ``filters`` are the filters the store can answer; another is unknown.
    """
    notices: list[Notice] = []
    kept: dict[str, str] = {}
    known = tuple(key for key in URL_KEYS if key in filters or key not in FILTERS)
    for key, values in raw.items():
        if key.lower() in STREAMLIT_PARAMETERS:
            continue
        if key not in known:
            notices.append(Notice("warning", f"The link holds {_value(key)}, which is not a setting of this page; "
                                             "it was left out."))
            continue
        if len(values) > 1:
            notices.append(Notice("warning", f"The link gives **{label(key)}** ({_key(key)}) {len(values)} times; "
                                             f"it takes one value, so it shows {_default_of(key)}."))
            continue
        value = values[0] if values else ""
        if value == "":
            continue
        problem = _problem(key, value)
        if problem is not None:
            notices.append(Notice("warning", f"The link's **{label(key)}** ({_key(key)}) {_value(value)} "
                                             f"{problem}, so it shows {_default_of(key)}."))
            continue
        if key in ("start_date", "end_date"):
            resolved = _validate(key, value)
            day = resolved.start.date() if key == "start_date" else resolved.end.date()
            if not _DAY.fullmatch(value.strip()):
                notices.append(Notice("info", f"The link's **{label(key)}** ({_key(key)}) {_value(value)} is a "
                                              f"moment; the page picks whole days (UTC), so it shows "
                                              f"{format_day(day)}."))
            value = day.isoformat()
        kept[key] = value

    if "start_date" in kept and "end_date" in kept and kept["start_date"] > kept["end_date"]:
        given, end_day = date.fromisoformat(kept.pop("start_date")), date.fromisoformat(kept["end_date"])
        notices.append(Notice("warning", f"The link's **{label('start_date')}** date ({format_day(given)}) is "
                                         f"after its **{label('end_date')}** date ({format_day(end_day)}), so it is "
                                         f"left out: the window is the 30 days up to the end of {format_day(end_day)}."))
    return notices, {name: kept[name] for name in URL_KEYS if name in kept}


def _problem(key: str, value: str) -> str | None:
    """Why a URL value cannot be used, in words; ``None`` when it can."""
    if key == COMPARE:
        return None if value in COMPARISONS else f"is not one of the choices ({', '.join(COMPARISONS)})"
    if key == "touch_scope" and value not in TOUCH_SCOPES:
        return f"is not one of the choices ({', '.join(TOUCH_SCOPES)})"
    try:
        resolved = _validate(key, value)
    except ParameterError:
        if key in ("start_date", "end_date"):
            return "is not a date (the page reads YYYY-MM-DD)"
        return "cannot be used"
    if key in ("start_date", "end_date"):
        day = resolved.start.date() if key == "start_date" else resolved.end.date()
        if not EARLIEST_DAY <= day <= LATEST_DAY:
            return f"is outside the calendar the page offers ({EARLIEST_DAY.year}–{LATEST_DAY.year})"
    return None


def _validate(key: str, value: str) -> InsightsParams:
    """One raw value through parse_params (a From date alone, against the latest possible To)."""
    if key == "start_date":
        return parse_params({"start_date": value, "end_date": "9999-12-31"})
    return parse_params({key: value})


def _default_of(key: str) -> str:
    """What a setting falls back to, in words."""
    if key in ("start_date", "end_date"):
        return "the default window"
    if key == "touch_scope":
        return f"“{TOUCH_SCOPE_LABELS['any']}”"
    if key == COMPARE:
        return f"“{COMPARISONS[DEFAULT_COMPARISON]}”"
    return "every value"


def _key(key: str) -> str:
    """A URL key as text (``touch_scope``), escaped."""
    return markdown_text(key)


def _value(value: str) -> str:
    """A user's value quoted for a message, cut to a readable length and escaped."""
    return markdown_text(quoted(value))
