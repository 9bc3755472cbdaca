"""Attribution: how much credit each channel deserves, by seven models side by side (docs/metrics.md#attribution).

:func:`compute_attribution` answers ``/attribution``: :mod:`.query` builds the
one statement from the parameters and a dialect, an engine runs it, and
:mod:`.answer` assembles the answer in shared Python from whole numbers and
exact decimals, so every engine gives the same bytes. The models are a
registry (:data:`MODELS`, :mod:`.models`); the rule-based ones take their
weights from :mod:`.weights`, the data-driven one solves a Markov chain
(:mod:`.markov`).
"""

from __future__ import annotations

from typing import Any, Mapping

import duckdb

from ..engines import Engine, engine_for
from ..params import AttributionParams, parse_attribution_params
from .answer import attribution_answer
from .models import MODELS, AttributionModel
from .query import attribution_query

__all__ = ["MODELS", "AttributionModel", "attribution_answer", "attribution_query", "compute_attribution"]


def compute_attribution(
    source: Engine | duckdb.DuckDBPyConnection,
    params: Mapping[str, Any] | AttributionParams | None = None,
) -> dict[str, Any]:
    """The ``/attribution`` answer for ``params`` (a request body), or the no-data message.

    ``source`` is an :class:`~insights_core.engines.Engine` or a connection
    from :func:`insights_core.connect`. Raises
    :class:`insights_core.ParameterError` for a bad parameter.
    """
    engine = engine_for(source)
    resolved = params if isinstance(params, AttributionParams) else parse_attribution_params(params)
    [row] = engine.rows(attribution_query(resolved, engine.dialect))
    return attribution_answer(row, resolved.top_paths)
