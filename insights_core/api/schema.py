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
