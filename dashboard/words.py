"""The dashboard's words: what each parameter is called on screen, and what it means.

The URL keeps the parameter names of the API (``start_date``,
``touch_scope``, ``meta_type``, …) so a link and an API request read the
same; people see the labels below. Meanings are written for a marketer;
the precise definitions live in ``docs/metrics.md`` (cited where a reader
may want them).
"""

from __future__ import annotations

from typing import Mapping

PARAMETER_LABELS: Mapping[str, str] = {
    "start_date": "From",
    "end_date": "To",
    "source": "Source",
    "medium": "Medium",
    "campaign": "Campaign",
    "content": "Ad content",
    "term": "Keyword",
    "landing_page": "Landing page",
    "channel": "Channel",
    "channel_group": "Channel group",
    "conversion_page": "Conversion page",
    "meta_type": "Conversion type",
    "meta_id": "Form or event",
    "touch_scope": "Sessions counted",
    "compare": "Compare with",
}
"""Parameter (URL key) -> its label on screen."""

FILTER_MEANINGS: Mapping[str, str] = {
    "source": "Where the visit came from: the referring site (google.com), (direct), or the utm_source tag.",
    "medium": "How the visit came: organic search, cpc (paid), referral, social, email, ai, (none), "
              "or the utm_medium tag.",
    "campaign": "The utm_campaign tag of the visit.",
    "content": "The utm_content tag of the visit (which ad or link).",
    "term": "The utm_term tag of the visit (the paid keyword).",
    "landing_page": "The full address of the first page of the visit.",
    "channel": "Medium and source together, as in the channel table (organic/google.com).",
    "channel_group": "The kind of channel (Organic Search, Paid Social, Email, …).",
    "conversion_page": "Only visits with a conversion on exactly this page address.",
    "meta_type": "Only visits with a conversion of this type (a HubSpot form, a custom event, …).",
    "meta_id": "Only visits with a conversion of this form or event id.",
}
"""Filter -> what it selects, for its tooltip."""

TOUCH_SCOPE_LABELS: Mapping[str, str] = {
    "any": "Every session",
    "first": "First visits",
    "converting": "Converting",
    "assist": "Assisting",
    "after": "After converting",
}
"""Role (URL value) -> its label on screen."""

TOUCH_SCOPE_HELP = """Which of a person's visits count. Roles come from each person's whole history \
of visits, in order (docs/metrics.md#roles):

- **Every session**: all visits
- **First visits**: a person's very first visit
- **Converting**: visits with a conversion
- **Assisting**: visits after the first one and before the first converting one \
(only people who converted have them)
- **After converting**: visits after the first converting one

A visit can hold several roles: a first visit that converts is both a first visit and converting."""

COMPARISONS: Mapping[str, str] = {
    "previous": "Previous period",
    "year": "Same period last year",
    "none": "No comparison",
}
"""Comparison (URL value of ``compare``) -> its label on screen."""

COMPARE_HELP = """What the changes on the cards are measured against, with the same filters:

- **Previous period**: the same number of days just before (for a calendar month, the month before)
- **Same period last year**: the same dates one year earlier
- **No comparison**: no changes shown"""


def label(name: str) -> str:
    """The on-screen label of a parameter (its URL key when it has none)."""
    return PARAMETER_LABELS.get(name, name)
