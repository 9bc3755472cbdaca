"""The metrics: SQL built from the parameters apart from running it, answers assembled in Python.

Each module builds its statements as pure functions of the parameters and a
:class:`~insights_core.engines.Dialect`, runs them on an
:class:`~insights_core.engines.Engine`, and assembles the answer
(docs/architecture.md#adding-a-metric). ``cohort`` holds the matching-session
condition every endpoint shares; ``response`` the one JSON serialisation.
"""

from __future__ import annotations

from .breakdown import breakdown_answer, breakdown_query, compute_breakdown
from .insights import compute_insights, insights_answer, insights_query
from .response import to_json
from .trend import compute_timeseries, timeseries_answer, timeseries_query, trend_periods

__all__ = [
    "breakdown_answer", "breakdown_query", "compute_breakdown", "compute_insights", "compute_timeseries",
    "insights_answer", "insights_query", "timeseries_answer", "timeseries_query", "to_json", "trend_periods",
]
