"""The metrics: SQL built from the parameters apart from running it, answers assembled in Python.

Each module builds its statements as pure functions of the parameters and a
:class:`~insights_core.engines.Dialect`, runs them on an
:class:`~insights_core.engines.Engine`, and assembles the answer
(docs/architecture.md#adding-a-metric). ``cohort`` holds the matching-session
condition every endpoint shares; ``response`` the one JSON serialisation.
"""

from __future__ import annotations

from .insights import compute_insights, insights_answer, insights_query
from .response import to_json

__all__ = ["compute_insights", "insights_answer", "insights_query", "to_json"]
