"""``make bench``: load and query speed next to bare DuckDB, written to ``benchmarks/results.md``.

For each scale the demo generator writes sessions and conversions CSV files;
then, each in a fresh process (so peak RSS is the step's own):

* **load**: ``insights load`` (the CLI's path: copy-and-swap, validation,
  derivation, precomputed roles) next to bare DuckDB reading the same files
  into tables (``CREATE TABLE AS SELECT * FROM read_csv``);
* **query**: ``compute_insights`` with no filter (a window over all data)
  and a typical filtered query, next to bare DuckDB doing one GROUP BY user
  pass plus one GROUP BY channel pass over the same stored sessions;
* **attribution**: ``compute_attribution`` next to ``compute_insights`` with
  the same parameters, alternating in one process;
* **Spark**: load, ``compute_insights`` and ``compute_attribution`` on a
  two-worker Spark standalone cluster next to DuckDB, same files, same run
  (``benchmarks/bench_spark.py``, at ``--spark-scales``);
* **load memory**: peak RSS of the ``insights load`` command itself (a
  subprocess, default memory limit) at each of ``--rss-scales``, with the
  ratio to the smallest, since a load's memory must not grow with the data.

Times are medians of repeated runs; ratios are against the baseline measured
in the same run, so they travel between machines better than seconds do.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"
RESULTS = HERE / "results.md"
SESSIONS_PER_USER = 2.99  # what the demo generator produces on average


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="100000,1000000,5000000", help="session counts, comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="runs per query measurement (median)")
    parser.add_argument("--skip-api", action="store_true", help="skip the HTTP API benchmark")
    parser.add_argument("--skip-dashboard", action="store_true", help="skip the dashboard benchmark")
    parser.add_argument(
        "--spark-scales", default="1000000",
        help="session counts for the Spark-next-to-DuckDB table, comma-separated ('' to skip)",
    )
    parser.add_argument(
        "--rss-scales", default="1000000,5000000,10000000",
        help="session counts for the load peak-RSS table, comma-separated ('' to skip)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    scales = [int(text) for text in args.scales.split(",")]
    WORK.mkdir(exist_ok=True)

    rows = []
    for sessions in scales:
        print(f"== {sessions:,} sessions", file=sys.stderr, flush=True)
        files = _demo_files(sessions)
        rows.append(_measure_scale(sessions, files, args.repeat))
    sections = [_core_table(rows)]
    sections.append(_attribution_table([_attribution_vs_insights(sessions, args.repeat) for sessions in scales]))
    spark_scales = [int(text) for text in args.spark_scales.split(",") if text.strip()]
    if spark_scales:
        from benchmarks import bench_spark

        sections.append(bench_spark.run(spark_scales, args.repeat))
    rss_scales = [int(text) for text in args.rss_scales.split(",") if text.strip()]
    if rss_scales:
        sections.append(_load_memory_table([_load_memory(sessions) for sessions in rss_scales]))
    one_million = next((WORK / f"ours-{n}.duckdb" for n in scales if n == 1_000_000), None)
    if one_million and not args.skip_api:
        sections.append(_optional_section("benchmarks.bench_api", one_million))
    if one_million and not args.skip_dashboard:
        sections.append(_optional_section("benchmarks.bench_dashboard", one_million))
    args.output.write_text(_document(sections))
    print(f"wrote {args.output}", file=sys.stderr)


def _demo_files(sessions: int) -> tuple[Path, Path]:
    """CSV files of about ``sessions`` demo sessions (generated once, then reused)."""
    sessions_csv, conversions_csv = WORK / f"sessions-{sessions}.csv", WORK / f"conversions-{sessions}.csv"
    if not (sessions_csv.exists() and conversions_csv.exists()):
        _in_child(f"""
            import duckdb
            from datetime import datetime, timezone
            from insights_core.demo import generate_demo
            data = generate_demo(users={round(sessions / SESSIONS_PER_USER)}, seed=1,
                                 end=datetime(2026, 11, 1, tzinfo=timezone.utc))
            con = duckdb.connect()
            con.register("s", data.sessions)
            con.register("c", data.conversions)
            con.execute("COPY s TO '{sessions_csv}' (HEADER)")
            con.execute("COPY c TO '{conversions_csv}' (HEADER)")
        """)
    return sessions_csv, conversions_csv


def _measure_scale(sessions: int, files: tuple[Path, Path], repeat: int) -> dict:
    """Every measurement of one scale."""
    sessions_csv, conversions_csv = files
    bare_db, ours_db = WORK / f"bare-{sessions}.duckdb", WORK / f"ours-{sessions}.duckdb"
    load_runs = 1 if sessions >= 5_000_000 else 2
    bare_loads, our_loads = [], []
    for _ in range(load_runs):  # alternate, so both see the same machine
        bare_loads.append(_in_child(f"""
            import duckdb, os, time
            for path in ("{bare_db}", "{bare_db}.wal"):
                if os.path.exists(path): os.remove(path)
            began = time.perf_counter()
            con = duckdb.connect("{bare_db}")
            con.execute("CREATE TABLE sessions AS SELECT * FROM read_csv('{sessions_csv}')")
            con.execute("CREATE TABLE conversions AS SELECT * FROM read_csv('{conversions_csv}')")
            con.close()
            seconds = time.perf_counter() - began
        """))
        our_loads.append(_in_child(f"""
            import os, time
            from insights_core import load
            from insights_core.storefile import StoreFile
            for path in ("{ours_db}", "{ours_db}.lock"):
                if os.path.exists(path): os.remove(path)
            began = time.perf_counter()
            with StoreFile("{ours_db}").edit() as con:
                load(con, "{sessions_csv}", "{conversions_csv}")
            seconds = time.perf_counter() - began
        """))
    bare_query = _in_child(f"""
        import time, statistics, insights_core
        con = insights_core.connect("{ours_db}", read_only=True)
        def passes():
            con.execute("SELECT count(*), sum(n) FROM (SELECT user_id, count(*) AS n FROM sessions GROUP BY user_id)").fetchall()
            con.execute("SELECT count(*), sum(n) FROM (SELECT channel, count(*) AS n FROM sessions GROUP BY channel)").fetchall()
        passes()
        runs = []
        for _ in range({repeat}):
            began = time.perf_counter(); passes(); runs.append(time.perf_counter() - began)
        seconds = statistics.median(runs)
    """)
    our_query = _in_child(f"""
        import time, statistics, insights_core
        con = insights_core.connect("{ours_db}", read_only=True)
        params = {{"start_date": "2000-01-01", "end_date": "2100-01-01"}}
        result = insights_core.compute_insights(con, params)
        runs = []
        for _ in range({repeat}):
            began = time.perf_counter(); insights_core.compute_insights(con, params); runs.append(time.perf_counter() - began)
        seconds = statistics.median(runs)
        extra = {{"users": result["overall_metrics"]["user_summary"]["total_users"]}}
    """)
    filtered_query = _in_child(f"""
        import time, statistics, insights_core
        con = insights_core.connect("{ours_db}", read_only=True)
        params = {{"start_date": "2026-10-02", "end_date": "2026-11-01", "medium": "organic"}}
        insights_core.compute_insights(con, params)
        runs = []
        for _ in range({repeat}):
            began = time.perf_counter(); insights_core.compute_insights(con, params); runs.append(time.perf_counter() - began)
        seconds = statistics.median(runs)
    """)
    stored = duckdb.connect(str(bare_db), read_only=True).execute("SELECT count(*) FROM sessions").fetchone()[0]
    return {
        "sessions": stored,
        "users": our_query["extra"]["users"],
        "bare_load": statistics.median(run["seconds"] for run in bare_loads),
        "bare_load_rss": max(run["rss_mb"] for run in bare_loads),
        "our_load": statistics.median(run["seconds"] for run in our_loads),
        "our_load_rss": max(run["rss_mb"] for run in our_loads),
        "bare_size": bare_db.stat().st_size / 2**20,
        "our_size": ours_db.stat().st_size / 2**20,
        "csv_size": (sessions_csv.stat().st_size + conversions_csv.stat().st_size) / 2**20,
        "bare_query": bare_query["seconds"],
        "our_query": our_query["seconds"],
        "our_query_rss": our_query["rss_mb"],
        "filtered_query": filtered_query["seconds"],
    }


def _load_memory(sessions: int) -> dict:
    """Peak RSS and time of ``insights load`` (the command, in its own process) at one scale."""
    print(f"== load memory at {sessions:,} sessions", file=sys.stderr, flush=True)
    sessions_csv, conversions_csv = _demo_files(sessions)
    db = WORK / f"rss-{sessions}.duckdb"
    command = [str(Path(sys.executable).with_name("insights")), "load", "--db", str(db),
               "--sessions", str(sessions_csv), "--conversions", str(conversions_csv)]
    run = _in_child(f"""
        import os, resource, subprocess, time
        from insights_core.ingest import default_memory_limit
        for path in ("{db}", "{db}.lock"):
            if os.path.exists(path): os.remove(path)
        began = time.perf_counter()
        subprocess.run({command!r}, check=True, capture_output=True)
        seconds = time.perf_counter() - began
        extra = {{"load_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                  "limit": default_memory_limit()}}
    """)
    stored = duckdb.connect(str(db), read_only=True).execute("SELECT count(*) FROM sessions").fetchone()[0]
    return {"sessions": stored, "seconds": run["seconds"], "rss_mb": run["extra"]["load_rss_mb"],
            "limit": run["extra"]["limit"]}


def _load_memory_table(rows: list[dict]) -> str:
    """Peak RSS of ``insights load`` by scale, against the smallest scale measured."""
    lines = [
        "## Load memory (`insights load`, peak RSS of the command)",
        "",
        f"Default memory limit on this machine: {rows[0]['limit']} "
        "(the smaller of 1 GB and a quarter of the memory; `--memory-limit` or `INSIGHTS_LOAD_MEMORY_LIMIT`).",
        "",
        "| sessions | load s | peak RSS MB | × smallest |",
        "|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['sessions']:,} | {row['seconds']:.1f} | {row['rss_mb']:.0f} | {row['rss_mb'] / rows[0]['rss_mb']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def _in_child(body: str) -> dict:
    """Run ``body`` in a fresh interpreter; it sets ``seconds`` (and maybe ``extra``). Adds peak RSS."""
    script = textwrap.dedent(body) + textwrap.dedent("""
        import json, resource
        print(json.dumps({
            "seconds": globals().get("seconds"),
            "extra": globals().get("extra"),
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }))
    """)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=HERE.parent)
    if completed.returncode != 0:
        raise SystemExit(f"benchmark step failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _core_table(rows: list[dict]) -> str:
    """The load and query tables, with ratios against bare DuckDB."""
    load = [
        "## Load (CSV → database)",
        "",
        "| sessions | users | CSV MB | bare DuckDB s | insights load s | ratio | rows/s (insights) | peak RSS MB bare / insights | DB MB bare / insights |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    query = [
        "## Query",
        "",
        "| sessions | bare two-pass s | compute_insights (all data) s | ratio | peak RSS MB | compute_insights (30 days, medium=organic) s |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        load.append(
            f"| {row['sessions']:,} | {row['users']:,} | {row['csv_size']:.0f} | {row['bare_load']:.2f} | {row['our_load']:.2f}"
            f" | **{row['our_load'] / row['bare_load']:.2f}×** | {row['sessions'] / row['our_load']:,.0f}"
            f" | {row['bare_load_rss']:.0f} / {row['our_load_rss']:.0f} | {row['bare_size']:.0f} / {row['our_size']:.0f} |"
        )
        query.append(
            f"| {row['sessions']:,} | {row['bare_query']:.3f} | {row['our_query']:.3f}"
            f" | **{row['our_query'] / row['bare_query']:.2f}×** | {row['our_query_rss']:.0f} | {row['filtered_query']:.3f} |"
        )
    return "\n".join(load + [""] + query) + "\n"


def _attribution_vs_insights(sessions: int, repeat: int) -> dict:
    """``compute_attribution`` next to ``compute_insights`` on the same store with the same parameters (a window
    over all data), alternating in one fresh process so both see the same machine; medians after a warm-up."""
    print(f"== attribution at {sessions:,} sessions", file=sys.stderr, flush=True)
    db = WORK / f"ours-{sessions}.duckdb"
    return _in_child(f"""
        import os, time, statistics, insights_core
        con = insights_core.connect("{db}", read_only=True)
        params = {{"start_date": "2000-01-01", "end_date": "2100-01-01"}}
        answer = insights_core.compute_attribution(con, params)["attribution"]
        insights_core.compute_insights(con, params)
        runs = {{"insights": [], "attribution": []}}
        for _ in range({max(repeat, 5)}):
            for name in runs:
                compute = getattr(insights_core, "compute_" + name)
                began = time.perf_counter(); compute(con, params); runs[name].append(time.perf_counter() - began)
        sessions = con.execute("SELECT count(*) FROM sessions").fetchone()[0]
        extra = {{"sessions": sessions, "conversions": answer["conversions"], "channels": len(answer["channels"]),
                  "insights": statistics.median(runs["insights"]),
                  "attribution": statistics.median(runs["attribution"]), "load": os.getloadavg()[0]}}
    """)["extra"]


def _attribution_table(rows: list[dict]) -> str:
    """compute_attribution against compute_insights measured in the same run (docs/metrics.md#attribution)."""
    lines = [
        "## Attribution",
        "",
        "Seven models, paths and path lengths (`conversions` first, 90-day lookback) over all data, against",
        "`compute_insights` with the same parameters, alternating in one process.",
        "",
        "| sessions | attributed conversions | channels | compute_insights s | compute_attribution s | ratio | load average |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['sessions']:,} | {row['conversions']:,} | {row['channels']} | {row['insights']:.3f}"
            f" | {row['attribution']:.3f} | **{row['attribution'] / row['insights']:.2f}×** | {row['load']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def _optional_section(module: str, db: Path) -> str:
    """A section from another benchmark module's ``run(db_path) -> str``, if it exists."""
    try:
        runner = __import__(module, fromlist=["run"]).run
    except ImportError:
        return f"## {module}\n\nnot available\n"
    print(f"== {module}", file=sys.stderr, flush=True)
    return runner(db)


def _document(sections: list[str]) -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), "0")
    header = textwrap.dedent(f"""
        # Benchmark results

        Written by `make bench` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.
        Machine: {os.cpu_count()} cores ({cpu}), {int(memory) / 2**20:.0f} GiB RAM; Python {platform.python_version()},
        DuckDB {duckdb.__version__}. Data: `insights_core.demo` (seed 1), written to CSV.

        "bare DuckDB" is the least any answer needs: `read_csv` into tables for a load;
        one GROUP BY user pass plus one GROUP BY channel pass for a query. Every step runs in a
        fresh process; query times are medians after a warm-up run. Ratios compare with the
        baseline measured in the same run.
    """).lstrip()
    return header + "\n" + "\n".join(sections)


if __name__ == "__main__":
    main()
