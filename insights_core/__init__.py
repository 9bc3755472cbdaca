"""Insights: marketing-attribution insights over your own sessions and conversions.

The public Python interface (docs/api.md#command-line): open a store with
:func:`connect`, fill it with :func:`load` (docs/data.md#loading-rules), and
ask :func:`compute_insights` for the answer (docs/metrics.md#response). Bad
parameters raise :class:`ParameterError`, bad files :class:`LoadError`, a
file that is not a usable store :class:`StoreError`.
"""

from __future__ import annotations

from .compute import NO_DATA_MESSAGE, compute_insights, to_json
from .ingest import LoadError, LoadReport, load
from .params import InsightsParams, ParameterError, parse_params
from .store import SchemaOutdated, StoreError, connect, cursor

__all__ = [
    "NO_DATA_MESSAGE",
    "InsightsParams",
    "LoadError",
    "LoadReport",
    "ParameterError",
    "SchemaOutdated",
    "StoreError",
    "compute_insights",
    "connect",
    "cursor",
    "load",
    "parse_params",
    "to_json",
]
