"""Every name the product uses, defined once: input columns, parameters, roles, metric keys, models.

Loading, the metrics, the interfaces and the dashboard all import their names
from here, so a column, a filter or a response key is spelled in one place.
The meaning of each name is written down in ``docs/`` (the anchors cited
beside them); this module only says what the names are and how they map onto
stored columns.
"""

from __future__ import annotations

from typing import Mapping

# --- input files (docs/data.md#sessions, docs/data.md#conversions) --------------------------

UTM_COLUMNS: tuple[str, ...] = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
"""UTM columns of a sessions file; an absent or empty one is read from the landing page's query string."""

SESSION_COLUMNS: tuple[str, ...] = (
    "session_id", "user_id", "started_at", "exited_at", "landing_page", "referrer", *UTM_COLUMNS,
)
"""The columns of a sessions file, in the documented order; any other column is ignored."""

CONVERSION_COLUMNS: tuple[str, ...] = (
    "conversion_id", "session_id", "converted_at", "conversion_page", "meta_type", "meta_id", "value",
)
"""The columns of a conversions file, in the documented order; any other column is ignored."""

REQUIRED_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "sessions": ("session_id", "user_id", "started_at"),
    "conversions": ("conversion_id", "session_id", "converted_at"),
}
"""Columns a file must have, and values every row must have, by kind of input."""

TIMESTAMP_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "sessions": ("started_at", "exited_at"),
    "conversions": ("converted_at",),
}
"""Columns holding ISO 8601 timestamps, by kind of input."""

INPUT_COLUMNS: Mapping[str, tuple[str, ...]] = {"sessions": SESSION_COLUMNS, "conversions": CONVERSION_COLUMNS}
"""Every known column, by kind of input."""

EARLIEST_YEAR, LATEST_YEAR = 1900, 9999
"""Stored timestamps lie in these years, after conversion to UTC (docs/data.md#timestamps)."""

# --- source, medium, channel (docs/data.md#source-and-medium) ------------------------------

DIRECT_SOURCE = "(direct)"
NO_MEDIUM = "(none)"
DIRECT_CHANNEL = f"{NO_MEDIUM}/{DIRECT_SOURCE}"
"""The channel of a session without a referrer or UTM tags; ``direct`` in attribution."""

PAID_CLICK_IDS: tuple[str, ...] = ("gclid", "gbraid", "wbraid", "msclkid", "dclid")
"""Landing-page query parameters that make a session paid (``cpc``)."""

CHANNEL_GROUPS: tuple[str, ...] = (
    "Direct", "Paid Search", "Paid Social", "Paid Other", "Organic Search", "Organic Social", "Email",
    "AI Assistants", "Affiliates", "Display", "Referral", "Unassigned",
)
"""The channel groups a session can fall into (docs/data.md#channel-groups)."""

# --- parameters (docs/metrics.md#parameters) -------------------------------------------------

TOUCH_SCOPES: tuple[str, ...] = ("any", "first", "converting", "assist", "after")
"""Session roles a request can select (docs/metrics.md#roles); ``any``, the default, first."""

SESSION_FILTER_COLUMNS: Mapping[str, str] = {
    "source": "source",
    "medium": "medium",
    "campaign": "utm_campaign",
    "content": "utm_content",
    "term": "utm_term",
    "landing_page": "landing_page",
    "channel": "channel",
    "channel_group": "channel_group",
}
"""Session filter -> the stored session column it matches exactly (docs/metrics.md#session-filters)."""

SESSION_FILTERS: tuple[str, ...] = tuple(SESSION_FILTER_COLUMNS)
"""The session filters, in the documented order."""

CONVERSION_FILTERS: tuple[str, ...] = ("conversion_page", "meta_type", "meta_id")
"""Conversion filters, satisfied together by one conversion (docs/metrics.md#conversion-filters)."""

WINDOW_PARAMETERS: tuple[str, ...] = ("start_date", "end_date")

INSIGHTS_PARAMETERS: tuple[str, ...] = (*WINDOW_PARAMETERS, *CONVERSION_FILTERS, *SESSION_FILTERS, "touch_scope")
"""Every parameter of ``/insights``; the other endpoints take these and their own."""

ATTRIBUTION_PARAMETERS: tuple[str, ...] = ("lookback_days", "half_life_days", "conversions", "top_paths")
"""The parameters only ``/attribution`` takes (docs/metrics.md#attribution)."""

TIMESERIES_PARAMETERS: tuple[str, ...] = ("interval",)
"""The parameters only ``/timeseries`` takes (docs/metrics.md#trend)."""

BREAKDOWN_PARAMETERS: tuple[str, ...] = ("dimension", "limit")
"""The parameters only ``/breakdown`` takes (docs/metrics.md#breakdown)."""

ENDPOINT_PARAMETERS: Mapping[str, tuple[str, ...]] = {
    "insights": INSIGHTS_PARAMETERS,
    "attribution": (*INSIGHTS_PARAMETERS, *ATTRIBUTION_PARAMETERS),
    "timeseries": (*INSIGHTS_PARAMETERS, *TIMESERIES_PARAMETERS),
    "breakdown": (*INSIGHTS_PARAMETERS, *BREAKDOWN_PARAMETERS),
}
"""Endpoint -> every parameter it accepts, in the documented order; any other key is unknown there."""

OUTPUT_FORMATS: tuple[str, ...] = ("json", "csv")
"""What the query commands print: the answer as JSON (the default) or its table as CSV (docs/api.md#csv-output)."""

TOUCH_SCOPE_FLAGS: Mapping[str, str | None] = {
    "any": None,
    "first": "is_first",
    "converting": "is_converting",
    "assist": "is_assist",
    "after": "is_after",
}
"""Role -> the precomputed boolean session column that holds it (``any``: every session)."""

# --- the /insights answer (docs/metrics.md#response) ----------------------------------------

NO_DATA_MESSAGE = "No page data found for the given parameters."
"""The whole answer when no user matches (docs/metrics.md#cohort)."""

TIMELINE_BINS: tuple[tuple[str, int | None], ...] = (
    ("0-1 days", 86_400),
    ("1-3 days", 259_200),
    ("3-7 days", 604_800),
    ("7+ days", None),
)
"""Time-to-convert bins: label and exclusive upper bound in seconds (docs/metrics.md#conversion-summary)."""

CHANNEL_COUNT_KEYS: tuple[str, ...] = (
    "total_sessions",
    "total_users",
    "converting_users_first_touch",
    "converting_users_assisting_touch",
    "converting_users_converting_touch",
    "converting_users_after_touch",
    "attributed_to_conversion",
)
"""The counts of a channel row, in the answer's order (docs/metrics.md#channels)."""

CHANNEL_PERCENT_KEYS: tuple[str, ...] = ("session_influence", "conversion_influence", "conversion_rate")
"""The percentages of a channel row (``"32.81%"`` strings in the answer)."""

ROLE_KEYS: Mapping[str, str] = {
    "converting_users_first_touch": "first",
    "converting_users_assisting_touch": "assist",
    "converting_users_converting_touch": "converting",
    "converting_users_after_touch": "after",
}
"""The four touch counts of a channel row and the role each counts."""

# --- attribution (docs/metrics.md#attribution) -----------------------------------------------

ATTRIBUTION_MODELS: tuple[str, ...] = (
    "first_touch", "last_touch", "last_non_direct", "linear", "position_based", "time_decay", "data_driven",
)
"""The attribution models, in the answer's order (docs/metrics.md#attribution-models)."""

ATTRIBUTION_MEASURES: tuple[str, ...] = ("conversions", "value")
"""What each model credits a channel with, in the answer's order: conversions and their value."""

ATTRIBUTED_CONVERSIONS: tuple[str, ...] = ("first", "all")
"""Which conversions are attributed: each converted user's first, or every conversion."""

PATH_LENGTH_KEYS: tuple[str, ...] = ("1", "2", "3", "4", "5+")
"""Buckets of touchpoints per attributed conversion (docs/metrics.md#paths)."""

# --- trend and breakdown (docs/metrics.md#trend, docs/metrics.md#breakdown) -----------------

TREND_INTERVALS: tuple[str, ...] = ("day", "week", "month")
"""Bucket sizes of a trend, ``day`` (the default) first; UTC calendar periods, weeks from Monday."""

MAX_TREND_BUCKETS = 3_700
"""More buckets than this is a bad ``interval`` for the window."""

TREND_COUNT_KEYS: tuple[str, ...] = ("sessions", "users", "converting_sessions", "converted_users")
"""The counts of a trend bucket, in the answer's order after its ``start`` (docs/metrics.md#trend)."""

BREAKDOWN_COUNT_KEYS: tuple[str, ...] = ("sessions", "users", "converting_sessions", "converted_users")
"""The counts of a breakdown row, in the answer's order after its ``value`` (docs/metrics.md#breakdown)."""

BREAKDOWN_PERCENT_KEYS: tuple[str, ...] = ("conversion_rate",)
"""The percentages of a breakdown row (``"7.63%"`` strings in the answer), after its counts."""

BREAKDOWN_DIMENSIONS: Mapping[str, str] = {
    "channel": "channel",
    "channel_group": "channel_group",
    "source": "source",
    "medium": "medium",
    "campaign": "utm_campaign",
    "content": "utm_content",
    "term": "utm_term",
    "landing_page": "landing_page",
}
"""Breakdown dimension -> the stored session column it groups by."""
