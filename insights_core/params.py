"""Request parameters of every endpoint, parsed and validated in one place.

Every interface (Python, command line, HTTP API, dashboard) hands the raw
parameters of a request to the parse function of its endpoint and gets back
a frozen parameter object, or one :class:`ParameterError` naming the
offending parameter, so a value means the same thing wherever it is typed
(docs/metrics.md#parameters, docs/api.md#errors).

How values arrive. A request body is JSON: text parameters are JSON strings,
numeric ones (``lookback_days``, ``half_life_days``, ``top_paths``,
``limit``) are JSON numbers, and a number written as a string (``"90"``) is
refused like a string written as a number, because a typed body is what an
API client sends. An integer parameter takes a JSON number without a
fractional part (``90``, and ``90.0`` as JSON Schema's ``integer`` allows).
Booleans are never numbers. Command-line flags and URL query strings carry
only text; those interfaces turn each value into its JSON type with
:func:`parameter_from_text` (``--lookback-days 90``), which accepts plain
decimal digits (and a fraction for ``half_life_days``) and names the
parameter when the text is not such a number.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Any, Mapping

from .timestamps import format_instant, naive_utc, utc_now
from . import vocabulary
from .wording import QUOTE_LIMIT, counted, plural, quoted

DEFAULT_WINDOW = timedelta(days=30)
"""The window is 30 days long unless both ends are given (docs/metrics.md#window)."""

_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_DIGITS = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_LONGEST_NUMBER_TEXT = 40
"""Text longer than this is not converted to a number: no parameter's range needs that many digits."""


class ParameterError(ValueError):
    """A bad request parameter; ``field`` names it (``None`` for the body as a whole).

    The command line answers it with exit status 2, the HTTP API with a 400
    whose ``field`` is this one, the dashboard with a message under the widget.
    """

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field if field is None or len(field) <= QUOTE_LIMIT else field[:QUOTE_LIMIT] + "…"
        self.message = message


# --- the parameter objects ------------------------------------------------------------------


@dataclass(frozen=True)
class InsightsParams:
    """The parameters of ``/insights``, which every other endpoint shares: they select the cohort.

    The window is resolved to naive UTC datetimes; filters hold ``None`` when
    not given, so the object can key a cache and be compared for equality.
    """

    start: datetime
    end: datetime
    conversion_page: str | None = None
    meta_type: str | None = None
    meta_id: str | None = None
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    content: str | None = None
    term: str | None = None
    landing_page: str | None = None
    channel: str | None = None
    channel_group: str | None = None
    touch_scope: str = "any"

    def session_filters(self) -> dict[str, str]:
        """The session filters that were given, by parameter name (docs/metrics.md#session-filters)."""
        return {name: value for name in vocabulary.SESSION_FILTERS if (value := getattr(self, name)) is not None}

    def conversion_filters(self) -> dict[str, str]:
        """The conversion filters that were given, by parameter name (docs/metrics.md#conversion-filters)."""
        return {name: value for name in vocabulary.CONVERSION_FILTERS if (value := getattr(self, name)) is not None}

    def to_request(self) -> dict[str, str]:
        """The parameters as an explicit request body (dates as ISO 8601 UTC), in the documented order.

        Feeding this back to :func:`parse_params` gives an equal object, so it is
        what the dashboard shows as the equivalent API call.
        """
        body: dict[str, str] = {"start_date": format_instant(self.start), "end_date": format_instant(self.end)}
        for name in (*vocabulary.CONVERSION_FILTERS, *vocabulary.SESSION_FILTERS):
            if getattr(self, name) is not None:
                body[name] = getattr(self, name)
        if self.touch_scope != "any":
            body["touch_scope"] = self.touch_scope
        return body


@dataclass(frozen=True)
class AttributionParams:
    """The parameters of ``/attribution`` (docs/metrics.md#attribution)."""

    cohort: InsightsParams
    lookback_days: int = 90
    half_life_days: float = 7.0
    conversions: str = "first"
    top_paths: int = 10

    def to_request(self) -> dict[str, Any]:
        """An explicit request body that :func:`parse_attribution_params` reads back to an equal object."""
        return {**self.cohort.to_request(), **_own_values(self)}


@dataclass(frozen=True)
class TimeseriesParams:
    """The parameters of ``/timeseries`` (docs/metrics.md#trend)."""

    cohort: InsightsParams
    interval: str = "day"

    def to_request(self) -> dict[str, Any]:
        """An explicit request body that :func:`parse_timeseries_params` reads back to an equal object."""
        return {**self.cohort.to_request(), **_own_values(self)}


@dataclass(frozen=True)
class BreakdownParams:
    """The parameters of ``/breakdown`` (docs/metrics.md#breakdown); ``dimension`` is required."""

    cohort: InsightsParams
    dimension: str
    limit: int = 100

    def to_request(self) -> dict[str, Any]:
        """An explicit request body that :func:`parse_breakdown_params` reads back to an equal object."""
        return {**self.cohort.to_request(), **_own_values(self)}


def _own_values(params: AttributionParams | TimeseriesParams | BreakdownParams) -> dict[str, Any]:
    """An endpoint's own parameters, every one written out (defaults too), in the documented order."""
    return {field.name: getattr(params, field.name) for field in fields(params) if field.name != "cohort"}


# --- numeric parameters ---------------------------------------------------------------------


@dataclass(frozen=True)
class NumberRange:
    """The values a numeric parameter takes: ``low`` (or above it, when exclusive) to ``high``."""

    low: int
    high: int
    default: int | float
    integer: bool
    low_exclusive: bool = False

    def describe(self) -> str:
        """How the range reads in a message: ``a whole number from 1 to 365``."""
        if self.integer:
            return f"a whole number from {self.low:,} to {self.high:,}"
        return f"a number greater than {self.low:,} and at most {self.high:,}"

    def holds(self, value: int | float) -> bool:
        above = value > self.low if self.low_exclusive else value >= self.low
        return above and value <= self.high


NUMBER_RANGES: Mapping[str, NumberRange] = {
    "lookback_days": NumberRange(1, 365, 90, integer=True),
    "half_life_days": NumberRange(0, 365, 7.0, integer=False, low_exclusive=True),
    "top_paths": NumberRange(1, 1000, 10, integer=True),
    "limit": NumberRange(1, 1000, 100, integer=True),
}
"""Every numeric parameter: its range and default (docs/metrics.md#attribution, #breakdown)."""


# --- parsing ------------------------------------------------------------------------------


def parse_params(raw: Mapping[str, Any] | None, now: datetime | None = None) -> InsightsParams:
    """Validate an ``/insights`` request body and resolve the window (docs/metrics.md#window).

    ``now`` (aware or naive UTC) is the reference for the default window; it is a
    parameter so callers and tests can pin it.
    """
    return _cohort(_checked_body("insights", raw), now)


def parse_attribution_params(raw: Mapping[str, Any] | None, now: datetime | None = None) -> AttributionParams:
    """Validate an ``/attribution`` request body (docs/metrics.md#attribution)."""
    body = _checked_body("attribution", raw)
    cohort = _cohort(body, now)
    return AttributionParams(
        cohort=cohort,
        lookback_days=_number("lookback_days", body.get("lookback_days")),
        half_life_days=float(_number("half_life_days", body.get("half_life_days"))),
        conversions=_choice("conversions", body.get("conversions"), vocabulary.ATTRIBUTED_CONVERSIONS) or "first",
        top_paths=_number("top_paths", body.get("top_paths")),
    )


def parse_timeseries_params(raw: Mapping[str, Any] | None, now: datetime | None = None) -> TimeseriesParams:
    """Validate a ``/timeseries`` request body; too many buckets for the window is a bad ``interval``."""
    body = _checked_body("timeseries", raw)
    cohort = _cohort(body, now)
    interval = _choice("interval", body.get("interval"), vocabulary.TREND_INTERVALS) or "day"
    buckets = bucket_count(interval, cohort.start, cohort.end)
    if buckets > vocabulary.MAX_TREND_BUCKETS:
        raise ParameterError(
            "interval",
            f"interval {interval} gives {counted(buckets, 'bucket')} for this window, more than"
            f" {vocabulary.MAX_TREND_BUCKETS:,}; choose a longer interval or a shorter window",
        )
    return TimeseriesParams(cohort=cohort, interval=interval)


def parse_breakdown_params(raw: Mapping[str, Any] | None, now: datetime | None = None) -> BreakdownParams:
    """Validate a ``/breakdown`` request body; ``dimension`` is required (docs/metrics.md#breakdown)."""
    body = _checked_body("breakdown", raw)
    cohort = _cohort(body, now)
    dimension = _choice("dimension", body.get("dimension"), tuple(vocabulary.BREAKDOWN_DIMENSIONS))
    if dimension is None:
        choices = ", ".join(vocabulary.BREAKDOWN_DIMENSIONS)
        raise ParameterError("dimension", f"dimension is required: one of {choices}")
    return BreakdownParams(cohort=cohort, dimension=dimension, limit=_number("limit", body.get("limit")))


def parameter_from_text(name: str, text: str) -> Any:
    """A parameter typed as text (a command-line flag, a URL query string) as its JSON value.

    Numeric parameters become numbers: ``"90"`` is ``90``, ``"7.5"`` is ``7.5``
    (only ``half_life_days`` takes a fraction); text that is not plain decimal
    digits is a :class:`ParameterError` naming the parameter. Every other
    parameter is text already and is returned as it is; ``""`` stays ``""``,
    which means "not given".
    """
    number_range = NUMBER_RANGES.get(name)
    if number_range is None or text == "":
        return text
    pattern = _DIGITS if number_range.integer else _DECIMAL
    if not pattern.fullmatch(text) or len(text) > _LONGEST_NUMBER_TEXT:
        raise ParameterError(name, f"{name} must be {number_range.describe()}, got {quoted(text)}")
    return int(text) if number_range.integer else float(text)


def bucket_count(interval: str, start: datetime, end: datetime) -> int:
    """How many UTC calendar periods of ``interval`` overlap the window (docs/metrics.md#trend).

    Days are whole UTC days, weeks ISO weeks from Monday, months calendar months.
    """
    first, last = start.date(), end.date()
    if interval == "day":
        return (last - first).days + 1
    if interval == "week":
        return (last - timedelta(days=last.weekday()) - (first - timedelta(days=first.weekday()))).days // 7 + 1
    if interval == "month":
        return (last.year - first.year) * 12 + last.month - first.month + 1
    raise ValueError(f"not an interval: {interval!r}")


def _checked_body(endpoint: str, raw: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The body as a mapping whose keys all belong to ``endpoint``; else the error naming the others."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ParameterError(None, "the request body must be a JSON object of parameters")
    allowed = vocabulary.ENDPOINT_PARAMETERS[endpoint]
    unknown = sorted(str(key) for key in raw if key not in allowed)
    if unknown:
        names = ", ".join(_key_for_message(key) for key in unknown)
        elsewhere = [
            f"{key} is a parameter of /{other}"
            for key in unknown
            for other, accepted in vocabulary.ENDPOINT_PARAMETERS.items()
            if other != endpoint and key in accepted and key not in vocabulary.INSIGHTS_PARAMETERS
        ]
        hint = f"; {'; '.join(elsewhere)}" if elsewhere else ""
        raise ParameterError(
            unknown[0],
            f"unknown {plural(len(unknown), 'parameter')} for /{endpoint}: {names}{hint}"
            f" (allowed: {', '.join(allowed)})",
        )
    return raw


def _key_for_message(key: str) -> str:
    """An unknown key as a message names it: as sent, or quoted and cut when it is very long."""
    return key if len(key) <= QUOTE_LIMIT and key.isprintable() else quoted(key)


def _cohort(body: Mapping[str, Any], now: datetime | None) -> InsightsParams:
    """The shared parameters of a checked body (docs/metrics.md#parameters)."""
    values = {name: _given_string(name, body.get(name)) for name in vocabulary.INSIGHTS_PARAMETERS}

    touch_scope = values["touch_scope"] or "any"
    _choice("touch_scope", touch_scope, vocabulary.TOUCH_SCOPES)

    end = _parse_instant("end_date", values["end_date"], end_of_day=True)
    if end is None:
        end = naive_utc(now) if now is not None else utc_now()
    start = _parse_instant("start_date", values["start_date"], end_of_day=False)
    if start is None:
        if end - datetime.min < DEFAULT_WINDOW:
            raise ParameterError("end_date", "end_date is too early to end a 30-day window; give start_date too")
        start = end - DEFAULT_WINDOW
    if start > end:
        raise ParameterError(
            "start_date",
            f"start_date ({format_instant(start)}) is after end_date ({format_instant(end)})",
        )

    filters = {name: values[name] for name in (*vocabulary.CONVERSION_FILTERS, *vocabulary.SESSION_FILTERS)}
    return InsightsParams(start=start, end=end, touch_scope=touch_scope, **filters)


def _given_string(name: str, value: Any) -> str | None:
    """A text parameter: a JSON string; ``null`` and ``""`` mean not given."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ParameterError(name, f"{name} must be a string, got {_json_type(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ParameterError(name, f"{name} must be valid Unicode text (it holds a lone surrogate)") from None
    return value if value != "" else None


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str | None:
    """One of ``choices``, or ``None`` when not given."""
    text = _given_string(name, value)
    if text is not None and text not in choices:
        raise ParameterError(name, f"{name} must be one of {', '.join(choices)}, got {quoted(text)}")
    return text


def _number(name: str, value: Any) -> Any:
    """A numeric parameter within its range (its default when not given)."""
    number_range = NUMBER_RANGES[name]
    if value is None or value == "":
        return number_range.default
    wanted = number_range.describe()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(name, f"{name} must be {wanted}, got {_json_type(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ParameterError(name, f"{name} must be {wanted}, got {value!r}")
    if not number_range.holds(value):
        raise ParameterError(name, f"{name} must be {wanted}, got {_number_for_message(value)}")
    if number_range.integer:
        if isinstance(value, float) and not value.is_integer():
            raise ParameterError(name, f"{name} must be {wanted}, got {value!r}")
        return int(value)
    return value


def _number_for_message(value: int | float) -> str:
    """A number as a message repeats it: at most about 200 digits, however many were sent."""
    if isinstance(value, int) and value.bit_length() > 3 * QUOTE_LIMIT:  # more than ~180 digits
        return f"a number of more than {QUOTE_LIMIT * 9 // 10} digits"
    return repr(value)


def _json_type(value: Any) -> str:
    """The JSON name of a Python value's type, for error messages."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _parse_instant(name: str, text: str | None, *, end_of_day: bool) -> datetime | None:
    """``YYYY-MM-DD`` (a whole UTC day) or an ISO 8601 datetime (an offset is converted to UTC)."""
    if text is None:
        return None
    stripped = text.strip()
    try:
        if _DATE_ONLY.fullmatch(stripped):
            day = date.fromisoformat(stripped)
            return datetime.combine(day, time.max if end_of_day else time.min)
        if "T" not in stripped and " " not in stripped:
            raise ValueError("not a date or a datetime")
        return naive_utc(datetime.fromisoformat(stripped))
    except OverflowError:
        raise ParameterError(name, f"{name} is outside the supported range of dates, got {quoted(text)}") from None
    except ValueError:
        raise ParameterError(
            name,
            f"{name} must be a date (YYYY-MM-DD) or an ISO 8601 datetime"
            f" (e.g. 2025-07-01T23:59:59Z), got {quoted(text)}",
        ) from None
