"""Where ``compute_insights`` lived before the metrics moved to :mod:`insights_core.metrics`.

Kept so that modules still importing from here (the API, its schema, the
catalog) work unchanged until they import from the new homes:
:mod:`insights_core.metrics` and :mod:`insights_core.vocabulary`.
"""

from __future__ import annotations

from .metrics.insights import compute_insights
from .metrics.response import to_json
from .vocabulary import NO_DATA_MESSAGE, SESSION_FILTER_COLUMNS

__all__ = ["NO_DATA_MESSAGE", "SESSION_FILTER_COLUMNS", "compute_insights", "to_json"]
