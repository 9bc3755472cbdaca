"""The Spark engine next to DuckDB in the same run: load, ``compute_insights``, ``compute_attribution``.

docs/scale.md#figures. A Spark standalone master and two workers are started
on loopback (the test suite's cluster, ``tests/spark/conftest.py``, with
more memory per executor), and the same demo CSV files are loaded twice: by
``insights_core.load`` into a DuckDB store and by the Spark load into a lake
on the cluster. Then both engines answer the same requests (a window over
all data), alternating, medians after a warm-up; the answers must be the
same bytes. Ratios are Spark over DuckDB on this machine: on one machine
Spark pays for its distribution (JVMs, shuffles, task scheduling), which
only more machines buy back.

``python -m benchmarks.bench_spark --sessions 20000`` runs it alone;
``make bench`` runs it at 1M sessions (``benchmarks/run.py``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

WORKER_MEMORY = "3g"
BENCH_DEFAULTS = {
    "spark.executor.memory": "2g",
    "spark.executor.cores": "1",
    "spark.cores.max": "2",
    "spark.driver.memory": "2g",
    "spark.sql.shuffle.partitions": "8",
    "spark.default.parallelism": "8",
}
"""What the benchmark's applications get beyond the test cluster's settings: two single-core executors of 2 GB."""

PARAMS = {"start_date": "2000-01-01", "end_date": "2100-01-01"}


def _cluster_module() -> Any:
    """The test suite's cluster starter, with the benchmark's resources."""
    import importlib.util

    sys.path.insert(0, str(ROOT / "tests"))
    spec = importlib.util.spec_from_file_location("spark_test_cluster", ROOT / "tests" / "spark" / "conftest.py")
    assert spec is not None and spec.loader is not None
    cluster = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = cluster  # its dataclasses look their module up
    spec.loader.exec_module(cluster)

    cluster.WORKER_MEMORY = WORKER_MEMORY
    cluster.SPARK_DEFAULTS = {**cluster.SPARK_DEFAULTS, **BENCH_DEFAULTS}
    return cluster


def _median(action: Callable[[], Any], repeat: int, name: str = "") -> float:
    runs = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        runs.append(time.perf_counter() - began)
    median = statistics.median(runs)
    if name:
        _note(f"{name}: {median:.3f} s (median of {repeat}; load average {os.getloadavg()[0]:.1f})")
    return median


def _note(line: str) -> None:
    """Each figure on stderr as soon as it is measured: a run stopped at a time limit still says what it got."""
    print(f"bench_spark: {line}", file=sys.stderr, flush=True)


def measure(sessions_csv: Path, conversions_csv: Path, work: Path, repeat: int = 3) -> dict[str, Any]:
    """Every measurement at one scale: a fresh cluster, both loads, both engines' answers."""
    import insights_core
    from insights_core.engines.spark import SparkEngine, spark_session
    from insights_core.lake import Lake
    from insights_core.lake.load import load as spark_load
    from insights_core.metrics import to_json

    cluster_module = _cluster_module()
    root = work / "spark-cluster"
    shutil.rmtree(root, ignore_errors=True)
    db, lake_path = work / "spark-bench.duckdb", work / "spark-bench-lake"
    for path in (db, Path(f"{db}.wal")):
        path.unlink(missing_ok=True)
    shutil.rmtree(lake_path, ignore_errors=True)

    began = time.perf_counter()
    cluster = cluster_module._start_cluster(root)
    started = time.perf_counter() - began
    for daemon in cluster.daemons:
        if daemon.name == "connect-server":
            daemon.stop()  # the tests' Connect server would hold executors the benchmark's application needs
    saved = {key: os.environ.get(key) for key in ("SPARK_CONF_DIR", "SPARK_LOCAL_IP", "PYSPARK_PYTHON", "SPARK_LOCAL_DIRS")}
    os.environ.update({key: cluster.env[key] for key in saved})
    session = None
    try:
        session = spark_session(cluster.master_url, app_name="insights-bench")
        con = insights_core.connect(db)
        lake = Lake(lake_path)
        _note(f"cluster started in {started:.1f} s")
        duck_load = _median(lambda: insights_core.load(con, sessions_csv, conversions_csv, replace=True), 1,
                            "load DuckDB")
        spark_load_seconds = _median(lambda: spark_load(session, lake, str(sessions_csv), str(conversions_csv),
                                                        replace=True), 1, "load Spark")
        engine = SparkEngine(session, lake.tables)
        result: dict[str, Any] = {
            "sessions": con.execute("SELECT count(*) FROM sessions").fetchone()[0],
            "cluster_start": started, "duckdb_load": duck_load, "spark_load": spark_load_seconds,
            "load": os.getloadavg()[0],
        }
        for name in ("insights", "attribution"):
            compute = getattr(insights_core, f"compute_{name}")
            same = to_json(compute(engine, PARAMS)) == to_json(compute(con, PARAMS))  # also the warm-up
            _note(f"{name}: the engines' answers are {'the same bytes' if same else 'DIFFERENT'}")
            result[f"duckdb_{name}"] = _median(lambda: compute(con, PARAMS), repeat, f"{name} DuckDB")
            result[f"spark_{name}"] = _median(lambda: compute(engine, PARAMS), repeat, f"{name} Spark")
            result[f"same_{name}"] = same
        con.close()
        return result
    finally:
        if session is not None:
            session.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        cluster.stop()


def table(rows: list[dict[str, Any]]) -> str:
    """The benchmark's section of ``benchmarks/results.md``."""
    lines = [
        "## Spark (two-worker standalone cluster on this machine) next to DuckDB",
        "",
        "Each worker runs one single-core executor of 2 GB; the driver is the benchmark's process. Load: the",
        "demo CSV files into a DuckDB store / a new lake version. Queries: a window over all data, medians",
        "after a warm-up; \"same\" says the two engines' answers were the same bytes.",
        "",
        "| sessions | cluster start s | load DuckDB s | load Spark s | ratio | insights DuckDB s | insights Spark s"
        " | ratio | attribution DuckDB s | attribution Spark s | ratio | same | load average |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['sessions']:,} | {row['cluster_start']:.1f} | {row['duckdb_load']:.2f} | {row['spark_load']:.2f}"
            f" | **{row['spark_load'] / row['duckdb_load']:.1f}×** | {row['duckdb_insights']:.3f}"
            f" | {row['spark_insights']:.3f} | **{row['spark_insights'] / row['duckdb_insights']:.1f}×**"
            f" | {row['duckdb_attribution']:.3f} | {row['spark_attribution']:.3f}"
            f" | **{row['spark_attribution'] / row['duckdb_attribution']:.1f}×**"
            f" | {'yes' if row['same_insights'] and row['same_attribution'] else 'NO'} | {row['load']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def run(scales: list[int], repeat: int = 3) -> str:
    """The section for ``make bench`` at each of ``scales`` (sessions), on the run's demo CSV files."""
    from benchmarks.run import WORK, _demo_files

    rows = []
    for sessions in scales:
        print(f"== Spark at {sessions:,} sessions", file=sys.stderr, flush=True)
        sessions_csv, conversions_csv = _demo_files(sessions)
        rows.append(measure(sessions_csv, conversions_csv, WORK, repeat))
    return table(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="20000", help="session counts, comma-separated")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a terminated run still stops its cluster
    from benchmarks.run import WORK

    WORK.mkdir(exist_ok=True)
    print(run([int(text) for text in args.sessions.split(",")], args.repeat))


if __name__ == "__main__":
    main()
