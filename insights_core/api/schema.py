"""The typed models that describe the HTTP API in its OpenAPI document (docs/api.md#openapi).

They document; they do not validate. Requests are validated by
``params.parse_params`` alone (the one place, shared with the CLI and the
dashboard), and responses are the core's document serialised by
``compute.to_json``. Tests check that every parameter (docs/metrics.md#parameters)
and every answer key (docs/metrics.md#response) appears here and that real responses conform to these models.
The examples are the public doc's (its first request without the trailing
comma that makes it invalid JSON).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from ..vocabulary import NO_DATA_MESSAGE

TIME_FRAME_EXAMPLE: dict[str, str] = {"start_date": "2025-07-15", "end_date": "2025-07-30"}
"""The public doc's "Filter by Time Frame" request."""

TOUCH_SCOPE_EXAMPLE: dict[str, str] = {
    "start_date": "2025-07-01",
    "end_date": "2025-07-31",
    "source": "google.com",
    "touch_scope": "converting",
}
"""The public doc's "Filter by Touch Scope" request."""

RESPONSE_EXAMPLE: dict[str, Any] = {
    "overall_metrics": {
        "user_summary": {
            "total_users": 1280,
            "total_converted_users": 420,
            "conversion_rate": "32.81%",
            "avg_sessions_per_user": 2.7,
            "avg_sessions_per_converted_user": 3.5,
        },
        "session_summary": {
            "total_sessions": 3470,
            "total_converting_sessions": 423,
            "total_drop_off_sessions": 1298,
            "avg_session_duration_seconds": 132.7,
            "avg_converting_session_duration": 142.3,
            "avg_drop_off_session_duration": 101.2,
            "median_converting_session_duration": 118,
            "median_drop_off_session_duration": 93,
        },
        "conversion_summary": {
            "avg_time_to_convert": 90231.3,
            "median_time_to_convert": 60800,
            "conversion_timeline_bins": {
                "counts": {"0-1 days": 142, "1-3 days": 102, "3-7 days": 115, "7+ days": 61},
                "percentages": {"0-1 days": 33.57, "1-3 days": 24.17, "3-7 days": 27.2, "7+ days": 14.44},
            },
        },
        "channels": [
            {
                "channel": "organic/google.com",
                "total_sessions": 1293,
                "total_users": 991,
                "converting_users_first_touch": 320,
                "converting_users_assisting_touch": 78,
                "converting_users_converting_touch": 102,
                "converting_users_after_touch": 27,
                "session_influence": "37.26%",
                "conversion_influence": "45.23%",
                "attributed_to_conversion": 190,
                "conversion_rate": "19.18%",
            }
        ],
    }
}
"""The public doc's example response."""

_DATE = (
    "`YYYY-MM-DD` (a whole day, UTC) or an ISO 8601 datetime such as `2025-07-01T23:59:59Z`"
    " (an offset is converted to UTC)."
)
_FILTER = "Exact, case-sensitive match. `null` or `\"\"` means not given."

DateOrDatetime = Annotated[
    str | None,
    WithJsonSchema({"anyOf": [
        {"type": "string", "format": "date"},
        {"type": "string", "format": "date-time"},
        {"type": "string", "maxLength": 0},
        {"type": "null"},
    ]}),
]
"""Window ends (docs/metrics.md#window): a date, a datetime, or not given (``null`` / ``""``)."""

Percent = Annotated[str, Field(pattern=r"^\d+\.\d{2}%$", examples=["32.81%"])]
Count = Annotated[int, Field(ge=0)]
Seconds = Annotated[float | None, Field(description="Seconds, rounded half up to 1 decimal; `null` over nothing.")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InsightsRequest(_Strict):
    """The parameters (docs/metrics.md#parameters). All optional; unknown keys are a 400 error naming them."""

    model_config = ConfigDict(
        extra="forbid",
        title="InsightsRequest",
        json_schema_extra={"examples": [TIME_FRAME_EXAMPLE, TOUCH_SCOPE_EXAMPLE]},
    )

    start_date: DateOrDatetime = Field(
        None, description=f"Window start, inclusive, on session start. {_DATE} Default: 30 days before end_date.",
        examples=["2025-07-01", "2025-07-01T23:59:59Z"],
    )
    end_date: DateOrDatetime = Field(
        None, description=f"Window end, inclusive (a date means through 23:59:59.999999 UTC). {_DATE} Default: now.",
        examples=["2025-07-31", "2025-07-31T23:59:59Z"],
    )
    conversion_page: str | None = Field(
        None, description=f"A matching session holds a conversion on exactly this URL (docs/metrics.md#conversion-filters). {_FILTER}"
    )
    meta_type: str | None = Field(
        None, description=f"Conversion type, e.g. `hubspot_form`, `custom`, `html_form` (docs/metrics.md#conversion-filters). {_FILTER}",
        examples=["hubspot_form"],
    )
    meta_id: str | None = Field(
        None, description=f"Conversion id, e.g. a HubSpot form id or custom event id (docs/metrics.md#conversion-filters). {_FILTER}"
    )
    source: str | None = Field(
        None, description=f"Effective source: the referrer's registered domain, or utm_source (docs/data.md#source-and-medium). {_FILTER}",
        examples=["google.com"],
    )
    medium: str | None = Field(
        None, description=f"Effective medium, e.g. `cpc`, `organic`, or utm_medium (docs/data.md#source-and-medium). {_FILTER}",
        examples=["organic"],
    )
    campaign: str | None = Field(None, description=f"UTM campaign. {_FILTER}")
    content: str | None = Field(None, description=f"UTM content. {_FILTER}")
    term: str | None = Field(None, description=f"UTM term. {_FILTER}")
    landing_page: str | None = Field(
        None, description=f"Landing page URL. {_FILTER}", examples=["https://example.com/pricing"]
    )
    touch_scope: Literal["any", "first", "converting", "assist", "after", ""] | None = Field(
        None,
        description=(
            "Session role (docs/metrics.md#roles): `any` (default), `first` (the user's first session), `converting`"
            " (a session with a conversion), `assist` (between the first and the first converting session),"
            " `after` (after the first converting session)."
        ),
    )


class UserSummary(_Strict):
    """docs/metrics.md#user-summary: over the cohort and their whole journeys."""

    total_users: Count
    total_converted_users: Count
    conversion_rate: Percent
    avg_sessions_per_user: float | None
    avg_sessions_per_converted_user: float | None


class SessionSummary(_Strict):
    """docs/metrics.md#session-summary: over the matching sessions only."""

    total_sessions: Count
    total_converting_sessions: Count
    total_drop_off_sessions: Count
    avg_session_duration_seconds: Seconds
    avg_converting_session_duration: Seconds
    avg_drop_off_session_duration: Seconds
    median_converting_session_duration: Seconds
    median_drop_off_session_duration: Seconds


class TimelineCounts(_Strict):
    """Converted users per time-to-convert bin (docs/metrics.md#conversion-summary)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    within_1_day: Count = Field(alias="0-1 days")
    within_3_days: Count = Field(alias="1-3 days")
    within_7_days: Count = Field(alias="3-7 days")
    over_7_days: Count = Field(alias="7+ days")


class TimelinePercentages(_Strict):
    """100 × count / converted users per bin, a number rounded to 2 decimals (docs/metrics.md#conversion-summary)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    within_1_day: float = Field(alias="0-1 days")
    within_3_days: float = Field(alias="1-3 days")
    within_7_days: float = Field(alias="3-7 days")
    over_7_days: float = Field(alias="7+ days")


class ConversionTimelineBins(_Strict):
    counts: TimelineCounts
    percentages: TimelinePercentages


class ConversionSummary(_Strict):
    """docs/metrics.md#conversion-summary: over the converted users of the cohort."""

    avg_time_to_convert: Seconds
    median_time_to_convert: Seconds
    conversion_timeline_bins: ConversionTimelineBins


class Channel(_Strict):
    """docs/metrics.md#channels: one `medium/source` of the cohort's journeys."""

    channel: str = Field(examples=["organic/google.com"])
    total_sessions: Count
    total_users: Count
    converting_users_first_touch: Count
    converting_users_assisting_touch: Count
    converting_users_converting_touch: Count
    converting_users_after_touch: Count
    session_influence: Percent
    conversion_influence: Percent
    attributed_to_conversion: Count
    conversion_rate: Percent


class OverallMetrics(_Strict):
    user_summary: UserSummary
    session_summary: SessionSummary
    conversion_summary: ConversionSummary
    channels: list[Channel] = Field(description="By total_sessions + total_users descending, then channel ascending.")


class InsightsResponse(_Strict):
    """The answer (docs/metrics.md#response)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [RESPONSE_EXAMPLE]})

    overall_metrics: OverallMetrics


class NoDataResponse(_Strict):
    """No user matched (docs/metrics.md#cohort); status 200, not an error."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"message": NO_DATA_MESSAGE}]})

    message: Literal["No page data found for the given parameters."]


ERROR_CODES: dict[str, str] = {
    "invalid_parameter": "400: a parameter is unknown, repeated or has a bad value; `field` names it.",
    "malformed_json": "400: the body is not JSON (the message says where), or holds a number of over 4,300 digits.",
    "invalid_body": "400: the body is JSON but not an object of parameters.",
    "bad_request": "400: the HTTP request itself cannot be read.",
    "unauthorized": "401: no API key, or a wrong or revoked one (in any of the auth headers sent).",
    "not_found": "404: no such endpoint (a trailing slash included).",
    "method_not_allowed": "405: the endpoint exists but takes another method (the `Allow` header says which).",
    "request_timeout": "408: the request body did not arrive in time.",
    "payload_too_large": "413: the body is over 64 KiB.",
    "internal_error": "500: a failure on the server; details only in the server log, under the id given.",
    "unavailable": "503: the database cannot be opened (from `/health`).",
    "busy": "503: every computation slot is taken and the queue is full; retry after `Retry-After` seconds.",
    "query_timeout": "503: the computation ran past the server's time limit and was cancelled.",
}
"""Every error code and when it is given (docs/api.md#errors)."""


class ErrorDetail(_Strict):
    code: str = Field(
        description="One of: " + "; ".join(f"`{code}` ({when})" for code, when in ERROR_CODES.items()),
        examples=["invalid_parameter"],
    )
    message: str = Field(examples=["touch_scope must be one of any, first, converting, assist, after, got 'last'"])
    field: str | None = Field(description="The parameter at fault, `null` when the error is not about one.",
                              examples=["touch_scope"])


class HealthResponse(_Strict):
    """``/health``: the server runs and can open the database."""

    status: Literal["ok"]


class ErrorResponse(_Strict):
    """Every error (docs/api.md#errors)."""

    error: ErrorDetail


def error_example(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


# --- /attribution (docs/metrics.md#attribution) --------------------------------------------------

ATTRIBUTION_REQUEST_EXAMPLE: dict[str, Any] = {"start_date": "2025-07-01", "end_date": "2025-07-31"}
"""The worked example's request (docs/metrics.md#attribution-response)."""

ATTRIBUTION_OPTIONS_EXAMPLE: dict[str, Any] = {
    "start_date": "2025-07-01", "end_date": "2025-07-31", "channel": "organic/google.com",
    "conversions": "all", "lookback_days": 30, "half_life_days": 3.5, "top_paths": 5,
}
"""Every conversion of the people who came through Google search in July, a 30-day lookback."""


def _credits(values: tuple[float, ...]) -> dict[str, float]:
    models = ("first_touch", "last_touch", "last_non_direct", "linear", "position_based", "time_decay", "data_driven")
    return dict(zip(models, values))


ATTRIBUTION_RESPONSE_EXAMPLE: dict[str, Any] = {"attribution": {
    "conversions": 2,
    "value": 120.0,
    "channels": [
        {"channel": "organic/google.com",
         "conversions": _credits((1.0, 1.0, 1.0, 1.0, 1.0, 1.27, 1.0)),
         "value": _credits((0.0, 120.0, 120.0, 60.0, 60.0, 98.73, 60.0))},
        {"channel": "cpc/google.com",
         "conversions": _credits((1.0, 0.0, 0.0, 0.5, 0.5, 0.18, 0.5)),
         "value": _credits((120.0, 0.0, 0.0, 60.0, 60.0, 21.27, 30.0))},
        {"channel": "email/newsletter",
         "conversions": _credits((0.0, 1.0, 1.0, 0.5, 0.5, 0.55, 0.5)),
         "value": _credits((0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 30.0))},
        {"channel": "social/facebook.com",
         "conversions": _credits((0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)),
         "value": _credits((0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0))},
    ],
    "paths": [
        {"path": ["cpc/google.com", "organic/google.com"], "conversions": 1, "value": 120.0},
        {"path": ["organic/google.com", "email/newsletter"], "conversions": 1, "value": 0.0},
    ],
    "path_lengths": {"1": 0, "2": 2, "3": 0, "4": 0, "5+": 0},
}}
"""The worked example's answer (docs/metrics.md#attribution-response)."""


class AttributionRequest(InsightsRequest):
    """The cohort's parameters (docs/metrics.md#parameters) and attribution's own (docs/metrics.md#attribution).
    All optional; unknown keys are a 400 error naming them."""

    model_config = ConfigDict(
        extra="forbid",
        title="AttributionRequest",
        json_schema_extra={"examples": [ATTRIBUTION_REQUEST_EXAMPLE, ATTRIBUTION_OPTIONS_EXAMPLE]},
    )

    channel: str | None = Field(
        None, description=f"Channel, `medium/source` (docs/data.md#channel). {_FILTER}", examples=["organic/google.com"]
    )
    channel_group: str | None = Field(
        None, description=f"Channel group (docs/data.md#channel-groups). {_FILTER}", examples=["Organic Search"]
    )
    lookback_days: int | None = Field(
        None, ge=1, le=365,
        description="A session counts as a touchpoint of a conversion only if it started at most this many days"
                    " (x 86,400 s) before it; the converting session always counts (docs/metrics.md#lookback)."
                    " Default 90.",
    )
    half_life_days: float | None = Field(
        None, gt=0, le=365,
        description="time_decay's half-life in days: a visit this long before the conversion counts half as much"
                    " (docs/metrics.md#time_decay). Default 7.",
    )
    conversions: Literal["first", "all", ""] | None = Field(
        None,
        description="`first` (default): each converted person's earliest conversion; `all`: every conversion"
                    " (docs/metrics.md#attributed-conversions).",
    )
    top_paths: int | None = Field(
        None, ge=1, le=1000, description="How many conversion paths to return (docs/metrics.md#paths). Default 10.",
    )


Credit = Annotated[float, Field(ge=0, description="Rounded half up to 2 decimals after summing.")]


class ModelCredits(_Strict):
    """One number per model, in the documented order (docs/metrics.md#attribution-models)."""

    first_touch: Credit
    last_touch: Credit
    last_non_direct: Credit
    linear: Credit
    position_based: Credit
    time_decay: Credit
    data_driven: Credit | None = Field(description="`null` when the chain converts nothing (docs/metrics.md#data-driven).")


class AttributionChannel(_Strict):
    """A channel of the data-driven chain with its credit under every model."""

    channel: str = Field(examples=["organic/google.com"])
    conversions: ModelCredits
    value: ModelCredits


class ConversionPath(_Strict):
    """Conversions that took the same route (consecutive repeats collapsed), docs/metrics.md#paths."""

    path: list[str] = Field(examples=[["cpc/google.com", "organic/google.com"]])
    conversions: Count
    value: float = Field(ge=0)


class PathLengths(_Strict):
    """Attributed conversions by their number of touchpoints (docs/metrics.md#path_lengths)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    one: Count = Field(alias="1")
    two: Count = Field(alias="2")
    three: Count = Field(alias="3")
    four: Count = Field(alias="4")
    five_or_more: Count = Field(alias="5+")


class Attribution(_Strict):
    conversions: Count = Field(description="N, the attributed conversions.")
    value: float = Field(ge=0, description="V, their total value (absent values count 0).")
    channels: list[AttributionChannel] = Field(
        description="By unrounded linear conversion credit descending, then channel ascending.")
    paths: list[ConversionPath] = Field(
        description="By conversions descending, value descending, then the path joined with ' > ' ascending.")
    path_lengths: PathLengths


class AttributionResponse(_Strict):
    """The answer (docs/metrics.md#attribution-response)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [ATTRIBUTION_RESPONSE_EXAMPLE]})

    attribution: Attribution
# --- /timeseries and /breakdown (docs/metrics.md#trend, docs/metrics.md#breakdown) ----------------------

TIMESERIES_REQUEST_EXAMPLE: dict[str, str] = {"start_date": "2025-07-01", "end_date": "2025-07-31", "interval": "week"}
"""July by week: five buckets, the first starting Monday 2025-06-30."""

BREAKDOWN_REQUEST_EXAMPLE: dict[str, Any] = {
    "start_date": "2025-07-01", "end_date": "2025-07-31", "dimension": "campaign", "limit": 20,
}
"""July's 20 campaigns with the most matching sessions."""

TIMESERIES_EXAMPLE: dict[str, Any] = {
    "timeseries": {
        "interval": "week",
        "buckets": [
            {"start": "2025-06-30", "sessions": 4, "users": 3, "converting_sessions": 2, "converted_users": 2},
            {"start": "2025-07-07", "sessions": 1, "users": 1, "converting_sessions": 0, "converted_users": 0},
            {"start": "2025-07-14", "sessions": 0, "users": 0, "converting_sessions": 0, "converted_users": 0},
            {"start": "2025-07-21", "sessions": 0, "users": 0, "converting_sessions": 0, "converted_users": 0},
            {"start": "2025-07-28", "sessions": 0, "users": 0, "converting_sessions": 0, "converted_users": 0},
        ],
    }
}
"""docs/metrics.md#trend's worked example: July by week."""

BREAKDOWN_EXAMPLE: dict[str, Any] = {
    "breakdown": {
        "dimension": "campaign",
        "rows": [
            {"value": "summer-sale", "sessions": 410, "users": 380, "converting_sessions": 31,
             "converted_users": 29, "conversion_rate": "7.63%"},
            {"value": "spring-launch", "sessions": 212, "users": 190, "converting_sessions": 8,
             "converted_users": 11, "conversion_rate": "5.79%"},
        ],
    }
}
"""A breakdown by campaign. (The sessions without a campaign tag would form a row whose ``value`` is
``null``; FastAPI drops ``null`` values from the examples it writes into the OpenAPI document, so the
example shows none.)"""

Interval = Literal["day", "week", "month"]
Dimension = Literal["channel", "channel_group", "source", "medium", "campaign", "content", "term", "landing_page"]


class TimeseriesRequest(InsightsRequest):
    """The parameters of every endpoint, plus `interval` (docs/metrics.md#trend). Unknown keys are a 400 error."""

    model_config = ConfigDict(
        extra="forbid", title="TimeseriesRequest", json_schema_extra={"examples": [TIMESERIES_REQUEST_EXAMPLE]},
    )

    interval: Literal["day", "week", "month", ""] | None = Field(
        None,
        description=(
            "The buckets' period, in UTC: `day` (default), `week` (ISO weeks, from Monday) or `month`. More than"
            " 3,700 buckets for the window is a 400 naming `interval`."
        ),
    )


class BreakdownRequest(InsightsRequest):
    """The parameters of every endpoint, plus `dimension` (required) and `limit` (docs/metrics.md#breakdown)."""

    model_config = ConfigDict(
        extra="forbid", title="BreakdownRequest", json_schema_extra={"examples": [BREAKDOWN_REQUEST_EXAMPLE]},
    )

    dimension: Dimension = Field(
        description="What the rows are grouped by: the matching sessions' channel, channel group, source, medium,"
                    " UTM campaign, content or term, or landing page.",
    )
    limit: Annotated[int, Field(ge=1, le=1000)] | Literal[""] | None = Field(
        None, description="How many rows to return, a whole number from 1 to 1,000 (a JSON number; `null` or `\"\"`"
                          " means not given). Default: 100.",
    )


class TrendBucket(_Strict):
    """One period (docs/metrics.md#trend), over the matching sessions that started in it."""

    start: str = Field(description="The period's first day, `YYYY-MM-DD` (UTC), also when the window starts later.",
                       examples=["2025-06-30"], json_schema_extra={"format": "date"})
    sessions: Count
    users: Count
    converting_sessions: Count
    converted_users: Count = Field(
        description="Users of the cohort whose first conversion ever lies in this period and in the window.")


class Timeseries(_Strict):
    interval: Interval
    buckets: list[TrendBucket] = Field(
        description="One per period that overlaps the window, oldest first, empty ones included (zero counts).")


class TimeseriesResponse(_Strict):
    """The trend (docs/metrics.md#trend); an empty cohort gives every bucket with zero counts, not a message."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [TIMESERIES_EXAMPLE]})

    timeseries: Timeseries


class BreakdownRow(_Strict):
    """One value of the dimension (docs/metrics.md#breakdown), over the matching sessions with that value."""

    value: str | None = Field(description="The value; `null` for the sessions that have none.",
                              examples=["summer-sale"])
    sessions: Count
    users: Count
    converting_sessions: Count
    converted_users: Count = Field(
        description="Users of the cohort who converted (at any time) and have a matching session with this value.")
    conversion_rate: Percent = Field(description="converted_users / users.")


class Breakdown(_Strict):
    dimension: Dimension
    rows: list[BreakdownRow] = Field(
        description="By sessions descending, then value ascending (code points), the `null` row after the others"
                    " of its session count; the first `limit`. `[]` when no user matches.")


class BreakdownResponse(_Strict):
    """A breakdown (docs/metrics.md#breakdown)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [BREAKDOWN_EXAMPLE]})

    breakdown: Breakdown
