"""Every endpoint answers on Spark what it answers on DuckDB, byte for byte (docs/architecture.md#engines).

Attribution (docs/metrics.md#attribution), the trend (docs/metrics.md#trend)
and breakdowns (docs/metrics.md#breakdown) on hypothesis datasets, and all
four endpoints on the demo data (docs/scale.md#testing-on-a-cluster). The
rows are the same on both sides: the DuckDB store's tables are copied into
a lake (``copy_store``) that Spark reads on the two-worker cluster. The
examples are few and never shrunk: each is several Spark jobs on a shared
2-core machine.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import insights_core
from insights_core.attribution import compute_attribution
from insights_core.engines.spark import SparkEngine
from insights_core.lake import Lake, copy_store
from insights_core.metrics import compute_breakdown, compute_insights, compute_timeseries, to_json
from insights_core.params import parse_attribution_params, parse_breakdown_params, parse_timeseries_params
from insights_core.vocabulary import BREAKDOWN_DIMENSIONS
from segment_data import cohort_parameters, window_is_valid
from segment_data import datasets as segment_datasets
from segment_data import load as segment_load
from test_attribution import datasets as attribution_datasets
from test_attribution import load as attribution_load
from test_attribution import parameter_sets as attribution_parameters

FEW = settings(
    max_examples=2, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
"""Two examples, never shrunk: each one copies a lake and runs several Spark jobs."""


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    con = insights_core.connect(tmp_path_factory.mktemp("spark-endpoints") / "store.duckdb")
    yield con
    con.close()


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Lake:
    return Lake(tmp_path_factory.mktemp("spark-endpoints") / "lake")


@pytest.fixture(scope="module")
def engine(spark, lake) -> SparkEngine:
    return SparkEngine(spark, lake.tables)


def same_bytes(compute, store, engine, params) -> None:
    expected = to_json(compute(store, params))
    assert to_json(compute(engine, params)) == expected, params


@FEW
@given(data=st.data(), dataset=attribution_datasets())
def test_attribution_is_byte_identical_on_the_cluster(store, lake, engine, data, dataset):
    """docs/metrics.md#attribution-response: every model, lookbacks, half-lives down to a microsecond-ish,
    first or all conversions, filters; exact decimals and the time-decay fixed point on both engines."""
    sessions, conversions = dataset
    attribution_load(store, sessions, conversions)
    copy_store(store, lake)
    for _ in range(2):
        params = data.draw(attribution_parameters(sessions), label="params")
        if window_is_valid(parse_attribution_params, params):
            same_bytes(compute_attribution, store, engine, params)


@FEW
@given(data=st.data(), dataset=segment_datasets())
def test_trend_and_breakdown_are_byte_identical_on_the_cluster(store, lake, engine, data, dataset):
    """docs/metrics.md#trend by day, week and month, docs/metrics.md#breakdown by every dimension (NULL values,
    values differing in case, unicode) and limits; windows anywhere, filters, roles, appending loads."""
    sessions, conversions = dataset
    split = data.draw(st.one_of(st.none(), st.integers(1, len(sessions))), label="split")
    segment_load(store, sessions, conversions, split)
    copy_store(store, lake)
    for _ in range(2):
        params = data.draw(cohort_parameters(sessions, conversions), label="params")
        trend = {**params, "interval": data.draw(st.sampled_from(["day", "week", "month"]), label="interval")}
        if window_is_valid(parse_timeseries_params, trend):
            same_bytes(compute_timeseries, store, engine, trend)
        breakdown = {
            **params,
            "dimension": data.draw(st.sampled_from(list(BREAKDOWN_DIMENSIONS)), label="dimension"),
            "limit": data.draw(st.sampled_from([1, 2, 100]), label="limit"),
        }
        if window_is_valid(parse_breakdown_params, breakdown):
            same_bytes(compute_breakdown, store, engine, breakdown)


DEMO_END = datetime(2025, 9, 30, 12, tzinfo=timezone.utc)


def test_every_endpoint_on_the_demo_data(store, lake, engine):
    """The demo's realistic traffic (every channel group, click ids, values, long journeys): insights, attribution,
    the trend by week and a breakdown (every dimension was checked once by hand on 400 demo users; the
    hypothesis test above draws them all)."""
    from insights_core import demo

    data = demo.generate_demo(users=150, seed=11, end=DEMO_END)
    insights_core.load(store, data.sessions, data.conversions, replace=True)
    copy_store(store, lake)
    window = {"start_date": "2025-07-01", "end_date": "2025-09-30"}
    same_bytes(compute_insights, store, engine, {**window, "channel_group": "Paid Search", "touch_scope": "assist"})
    same_bytes(compute_attribution, store, engine, {**window, "conversions": "all", "lookback_days": 7,
                                                   "half_life_days": 0.5, "top_paths": 3})
    same_bytes(compute_timeseries, store, engine, {**window, "interval": "week"})
    same_bytes(compute_breakdown, store, engine, {**window, "dimension": "landing_page", "limit": 5})
