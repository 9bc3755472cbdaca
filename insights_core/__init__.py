"""Insights: marketing-attribution insights over your own sessions and conversions.

The public Python interface (SPEC 5): open a store with :func:`connect`, fill
it with :func:`load`, and ask :func:`compute_insights` for the SPEC 4.5
document. Bad parameters raise :class:`ParameterError`, bad files
:class:`LoadError`.
"""

from __future__ import annotations

from .compute import NO_DATA_MESSAGE, compute_insights, to_json
from .loading import LoadError, LoadReport, load
from .params import InsightsParams, ParameterError, parse_params
from .store import StoreError, connect, cursor

__all__ = [
    "NO_DATA_MESSAGE",
    "InsightsParams",
    "LoadError",
    "LoadReport",
    "ParameterError",
    "StoreError",
    "compute_insights",
    "connect",
    "cursor",
    "load",
    "parse_params",
    "to_json",
]
