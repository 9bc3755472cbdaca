"""The SPEC 3 request parameters: parsed and validated in one place.

Every interface (Python, command line, HTTP API, dashboard) hands the raw
parameters to :func:`parse_params` and gets back an :class:`InsightsParams`
or a :class:`ParameterError` naming the offending parameter, so a value means
the same thing wherever it is typed.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Mapping

TOUCH_SCOPES: tuple[str, ...] = ("any", "first", "converting", "assist", "after")
"""SPEC 3.3 roles, ``any`` first because it is the default."""

SESSION_FILTERS: tuple[str, ...] = (
    "source", "medium", "campaign", "content", "term", "landing_page",
)
"""SPEC 3 session filters, matched exactly against the stored session."""

CONVERSION_FILTERS: tuple[str, ...] = ("conversion_page", "meta_type", "meta_id")
"""SPEC 3.2 conversion filters, satisfied together by one conversion."""

PARAMETER_NAMES: tuple[str, ...] = (
    "start_date", "end_date", *CONVERSION_FILTERS, *SESSION_FILTERS, "touch_scope",
)
"""Every SPEC 3 parameter, in the order the public doc lists them."""

DEFAULT_WINDOW = timedelta(days=30)
"""SPEC 3.1: the window is 30 days long unless both ends are given."""

_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


class ParameterError(ValueError):
    """A bad SPEC 3 parameter; ``field`` names it (``None`` for the body as a whole)."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class InsightsParams:
    """Validated parameters; the window is resolved to naive UTC datetimes.

    Filters hold ``None`` when not given, so the object can key a cache and be
    compared for equality.
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
    touch_scope: str = "any"

    def session_filters(self) -> dict[str, str]:
        """The session filters that were given, by SPEC 3 name."""
        return {name: getattr(self, name) for name in SESSION_FILTERS if getattr(self, name) is not None}

    def conversion_filters(self) -> dict[str, str]:
        """The conversion filters that were given, by SPEC 3 name."""
        return {name: getattr(self, name) for name in CONVERSION_FILTERS if getattr(self, name) is not None}

    def to_request(self) -> dict[str, str]:
        """The parameters as an explicit SPEC 3 request body (dates as ISO 8601 UTC).

        Feeding this back to :func:`parse_params` gives an equal object, so it is
        what the dashboard shows as the equivalent API call.
        """
        body: dict[str, str] = {
            "start_date": format_instant(self.start),
            "end_date": format_instant(self.end),
        }
        for name, value in asdict(self).items():
            if name not in ("start", "end", "touch_scope") and value is not None:
                body[name] = value
        if self.touch_scope != "any":
            body["touch_scope"] = self.touch_scope
        return body


def format_instant(moment: datetime) -> str:
    """A naive UTC datetime as ISO 8601 with ``Z``, keeping microseconds only when set."""
    spec = "microseconds" if moment.microsecond else "seconds"
    return moment.isoformat(timespec=spec) + "Z"


def parse_params(raw: Mapping[str, Any] | None, now: datetime | None = None) -> InsightsParams:
    """Validate a SPEC 3 request body and resolve the window (SPEC 3.1).

    ``now`` (aware or naive UTC) is the reference for the default window; it is a
    parameter so callers and tests can pin it.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ParameterError(None, "the request body must be a JSON object of parameters")
    unknown = sorted(str(key) for key in raw if key not in PARAMETER_NAMES)
    if unknown:
        raise ParameterError(
            unknown[0],
            f"unknown parameter{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}"
            f" (allowed: {', '.join(PARAMETER_NAMES)})",
        )
    values = {name: _given_string(name, raw.get(name)) for name in PARAMETER_NAMES}

    touch_scope = values["touch_scope"] or "any"
    if touch_scope not in TOUCH_SCOPES:
        raise ParameterError(
            "touch_scope", f"touch_scope must be one of {', '.join(TOUCH_SCOPES)}, got {touch_scope!r}"
        )

    end = _parse_instant("end_date", values["end_date"], end_of_day=True)
    if end is None:
        end = _naive_utc(now or datetime.now(timezone.utc))
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

    filters = {name: values[name] for name in (*CONVERSION_FILTERS, *SESSION_FILTERS)}
    return InsightsParams(start=start, end=end, touch_scope=touch_scope, **filters)


def _given_string(name: str, value: Any) -> str | None:
    """SPEC 3: every parameter is a string; ``null`` and ``""`` mean not given."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ParameterError(name, f"{name} must be a string, got {_json_type(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ParameterError(name, f"{name} must be valid Unicode text (it holds a lone surrogate)") from None
    return value if value != "" else None


def _json_type(value: Any) -> str:
    """The JSON name of a Python value's type, for error messages."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _parse_instant(name: str, text: str | None, *, end_of_day: bool) -> datetime | None:
    """SPEC 3.1: ``YYYY-MM-DD`` (whole day, UTC) or an ISO 8601 datetime (offset → UTC)."""
    if text is None:
        return None
    stripped = text.strip()
    try:
        if _DATE_ONLY.fullmatch(stripped):
            day = date.fromisoformat(stripped)
            return datetime.combine(day, time.max if end_of_day else time.min)
        if "T" not in stripped and " " not in stripped:
            raise ValueError("not a date or a datetime")
        return _naive_utc(datetime.fromisoformat(stripped))
    except OverflowError:
        raise ParameterError(name, f"{name} is outside the supported range of dates, got {text!r}") from None
    except ValueError:
        raise ParameterError(
            name,
            f"{name} must be a date (YYYY-MM-DD) or an ISO 8601 datetime"
            f" (e.g. 2025-07-01T23:59:59Z), got {text!r}",
        ) from None


def _naive_utc(moment: datetime) -> datetime:
    """An aware datetime converted to naive UTC; a naive one is already UTC (SPEC 3.1)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(timezone.utc).replace(tzinfo=None)
