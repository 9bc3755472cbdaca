"""Insights: marketing-attribution insights over your own sessions and conversions.

The public Python interface (docs/api.md): open a store with :func:`connect`,
fill it with :func:`load` (docs/data.md#loading-rules), and ask
:func:`compute_insights` for the answer (docs/metrics.md#response),
:func:`compute_attribution` for the credit each channel deserves
(docs/metrics.md#attribution-response), :func:`compute_timeseries` for the
trend (docs/metrics.md#trend) or :func:`compute_breakdown` for a breakdown
(docs/metrics.md#breakdown) — with a store connection or any
:class:`~insights_core.engines.Engine`. Bad parameters raise
:class:`ParameterError` (one type, naming the parameter), bad files
:class:`LoadError`, a file that is not a usable store :class:`StoreError`.
:mod:`insights_core.tables` turns answers into typed
tables and spreadsheet-safe CSV.
"""

from __future__ import annotations

from .attribution import compute_attribution
from .engines import DuckDBEngine, Engine, Query, engine_for
from .ingest import LoadError, LoadReport, load
from .metrics import compute_breakdown, compute_insights, compute_timeseries, to_json
from .params import (
    AttributionParams,
    BreakdownParams,
    InsightsParams,
    ParameterError,
    TimeseriesParams,
    parameter_from_text,
    parse_attribution_params,
    parse_breakdown_params,
    parse_params,
    parse_timeseries_params,
)
from .store import SchemaOutdated, StoreError, connect, cursor
from .vocabulary import NO_DATA_MESSAGE

__all__ = [
    "NO_DATA_MESSAGE",
    "AttributionParams",
    "BreakdownParams",
    "DuckDBEngine",
    "Engine",
    "InsightsParams",
    "LoadError",
    "LoadReport",
    "ParameterError",
    "Query",
    "SchemaOutdated",
    "StoreError",
    "TimeseriesParams",
    "compute_attribution",
    "compute_breakdown",
    "compute_insights",
    "compute_timeseries",
    "connect",
    "cursor",
    "engine_for",
    "load",
    "parameter_from_text",
    "parse_attribution_params",
    "parse_breakdown_params",
    "parse_params",
    "parse_timeseries_params",
    "to_json",
]
