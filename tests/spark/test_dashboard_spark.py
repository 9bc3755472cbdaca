"""The dashboard on Spark (docs/scale.md#running-on-spark): ``INSIGHTS_ENGINE=spark`` with a lake and a Spark
Connect master, the real app.py under Streamlit's AppTest; the cards show the DuckDB engine's numbers, the
filter menus list the store's values, and Spark's progress reaches the page's progress bar."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from insights_core import compute_insights, parse_params
from insights_core.lake import Lake, copy_store
from insights_core.storefile import StoreFile
from support import make_demo_db

APP = Path(__file__).resolve().parents[2] / "app.py"
JULY = {"start_date": "2025-07-01", "end_date": "2025-07-31"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, Lake]:
    directory = tmp_path_factory.mktemp("spark-dashboard")
    db = make_demo_db(directory / "insights.duckdb", 300, 5, datetime(2025, 7, 31, 18, tzinfo=timezone.utc))
    lake = Lake(directory / "lake")
    with StoreFile(db).snapshot() as con:
        copy_store(con, lake)
    return db, lake


def test_the_insights_page_answers_from_spark_with_the_duckdb_numbers(demo, connect_url, monkeypatch):
    from dashboard import data

    db, lake = demo
    monkeypatch.setenv("INSIGHTS_DB", str(db))  # only where the settings live; the data come from the lake
    monkeypatch.setenv("INSIGHTS_ENGINE", "spark")
    monkeypatch.setenv("INSIGHTS_LAKE", lake.uri)
    monkeypatch.setenv("INSIGHTS_SPARK_MASTER", connect_url)
    shown: list[str] = []
    monkeypatch.setattr(data, "spark_progress_text", lambda done, total: shown.append(f"{done}/{total}") or "")
    at = AppTest.from_file(str(APP), default_timeout=240)
    at.query_params.update({**JULY, "compare": "none"})
    at.run()
    assert not at.exception and not at.error, [*at.exception, *at.error]
    with StoreFile(db).snapshot() as con:
        expected = compute_insights(con, parse_params(JULY))
    users = f"{expected['overall_metrics']['user_summary']['total_users']:,}"
    assert any(metric.value == users for metric in at.metric), [(m.label, m.value) for m in at.metric]
    assert shown, "no Spark progress reached the page"
    assert at.selectbox(key="source").options  # the filter menus, read from the lake's files


def test_the_http_api_answers_from_spark_with_the_duckdb_bytes(demo, spark):
    """``insights serve`` with INSIGHTS_ENGINE=spark: the same request path (docs/api.md#http-api), Spark's answer.

    Every endpoint takes the one path through the engine (``create_app``'s ``engine``); the insights endpoint is
    asked here, the cheapest on Spark. Each endpoint's own Spark answer is test_endpoints.py's."""
    from fastapi.testclient import TestClient

    from insights_core.api.app import create_app
    from insights_core.api.limits import Limits
    from insights_core.engines.spark import SparkEngine
    from insights_core.metrics import to_json

    db, lake = demo
    params = {**JULY, "channel_group": "Paid Search"}
    # A shared 2-core machine runs these statements in tens of seconds: a limit far above the default 30 s.
    app = create_app(db, require_auth=False, engine=SparkEngine(spark, lake.tables), limits=Limits(query_timeout=900))
    with TestClient(app) as client:
        response = client.post("/api/v1/insights", json=params)
        assert client.get("/health").json() == {"status": "ok"}
    with StoreFile(db).snapshot() as con:
        expected = to_json(compute_insights(con, parse_params(params)))
    assert (response.status_code, response.text) == (200, expected)
