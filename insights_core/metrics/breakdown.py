"""``compute_breakdown``: the matching sessions grouped by one dimension (docs/metrics.md#breakdown).

One statement groups the matching sessions by the stored column of the
dimension (an allowlist, :data:`~insights_core.vocabulary.BREAKDOWN_DIMENSIONS`),
counts each group, orders the groups and keeps the first ``limit`` (a bound
value); :func:`breakdown_answer` adds the conversion rate, computed in exact
arithmetic like every percentage (docs/metrics.md#rounding).

The order is written once for both engines: sessions descending, then the
value ascending with ``NULLS LAST`` (DuckDB and Spark SQL both compare
strings by their UTF-8 bytes, which is code-point order), and the groups are
distinct values, so the order is total and the first ``limit`` rows are the
same on every engine.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import duckdb

from ..engines import Engine, engine_for
from ..engines.base import Dialect, Query
from ..params import BreakdownParams, parse_breakdown_params
from ..rounding import pct
from ..vocabulary import BREAKDOWN_COUNT_KEYS, BREAKDOWN_DIMENSIONS
from .cohort import matching_sessions_condition


def compute_breakdown(
    source: Engine | duckdb.DuckDBPyConnection,
    params: Mapping[str, Any] | BreakdownParams | None = None,
) -> dict[str, Any]:
    """The ``/breakdown`` answer for ``params`` (a request body; ``dimension`` is required).

    ``source`` is an :class:`~insights_core.engines.Engine` or a connection
    from :func:`insights_core.connect`. An empty cohort is an answer with no
    rows, not the no-data message. Raises :class:`insights_core.ParameterError`
    for a bad parameter.
    """
    engine = engine_for(source)
    resolved = params if isinstance(params, BreakdownParams) else parse_breakdown_params(params)
    rows = engine.rows(breakdown_query(resolved, engine.dialect))
    return breakdown_answer(resolved.dimension, rows)


def breakdown_query(params: BreakdownParams, dialect: Dialect) -> Query:
    """The first ``limit`` groups of the matching sessions by the dimension's value, in the answer's order."""
    column = BREAKDOWN_DIMENSIONS[params.dimension]  # a KeyError for anything not allowlisted
    matching = matching_sessions_condition(params.cohort, dialect)
    if "limit" in matching.params:
        raise ValueError("the cohort condition already binds a value named 'limit'")
    tables = [
        dialect.common_table(
            "matching_sessions", _MATCHING_SESSIONS.format(column=column, where=matching.sql), materialized=True,
        ),
    ]
    sql = "WITH " + ",\n".join(tables) + "\n" + _GROUPS.format(limit=dialect.parameter("limit"))
    return Query(sql, {**matching.params, "limit": params.limit})


_MATCHING_SESSIONS = """\
    SELECT user_key, is_converting, {column} AS dimension_value
    FROM sessions
    WHERE {where}"""

# docs/metrics.md#breakdown: a converted user counts in every row where they have a matching session.
_GROUPS = """\
SELECT m.dimension_value,
       count(*) AS sessions,
       count(DISTINCT m.user_key) AS users,
       count_if(m.is_converting) AS converting_sessions,
       count(DISTINCT CASE WHEN u.is_converted THEN m.user_key END) AS converted_users
FROM matching_sessions m
JOIN users u ON u.user_key = m.user_key
GROUP BY m.dimension_value
ORDER BY sessions DESC, m.dimension_value ASC NULLS LAST
LIMIT CAST({limit} AS INT)"""


def breakdown_answer(dimension: str, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The answer from the statement's rows, in their order; ``rows`` is ``[]`` for an empty cohort."""
    return {"breakdown": {"dimension": dimension, "rows": [_row(row) for row in rows]}}


def _row(row: Mapping[str, Any]) -> dict[str, Any]:
    """docs/metrics.md#breakdown: one value of the dimension (``None`` for sessions without one)."""
    counts = {key: int(row[key]) for key in BREAKDOWN_COUNT_KEYS}
    return {
        "value": row["dimension_value"],
        **counts,
        "conversion_rate": pct(counts["converted_users"], counts["users"]),
    }
