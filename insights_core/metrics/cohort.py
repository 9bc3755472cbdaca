"""The matching sessions of a request, as SQL every metric shares (docs/metrics.md#cohort).

A matching session is in the window, matches every given session filter and
every conversion filter, and holds the requested role. Each endpoint selects
``FROM sessions WHERE`` this condition; its users are the cohort. Column
names come from fixed allowlists in :mod:`insights_core.vocabulary`; every
value is a bound parameter.
"""

from __future__ import annotations

from typing import Any

from ..engines.base import Dialect, Query
from ..params import InsightsParams
from ..vocabulary import SESSION_FILTER_COLUMNS, TOUCH_SCOPE_FLAGS


def matching_sessions_condition(params: InsightsParams, dialect: Dialect) -> Query:
    """The ``WHERE`` condition on ``sessions`` that selects the matching sessions, with its bound values."""
    clauses = [f"started_at BETWEEN {dialect.parameter('start')} AND {dialect.parameter('end')}"]
    bound: dict[str, Any] = {"start": params.start, "end": params.end}
    for name, value in params.session_filters().items():  # docs/metrics.md#session-filters
        clauses.append(f"{SESSION_FILTER_COLUMNS[name]} = {dialect.parameter(name)}")
        bound[name] = value
    conversion_filters = params.conversion_filters()
    if conversion_filters:
        # docs/metrics.md#conversion-filters: one conversion of the session satisfies every given filter at once.
        matches = " AND ".join(f"{name} = {dialect.parameter(name)}" for name in conversion_filters)
        clauses.append(f"session_id IN (SELECT session_id FROM conversions WHERE {matches})")
        bound.update(conversion_filters)
    role = TOUCH_SCOPE_FLAGS[params.touch_scope]  # docs/metrics.md#roles
    if role is not None:
        clauses.append(role)
    return Query(" AND ".join(clauses), bound)
