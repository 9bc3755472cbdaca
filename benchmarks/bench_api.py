"""HTTP API benchmark: requests/s and p50/p99 latency of a typical query with 1, 8 and 32 concurrent clients,
and, with ``--crowd N``, how the server holds up under N concurrent heavy queries (docs/api.md#limits).

Starts the real server (``insights serve``, uvicorn, one process) on a free
loopback port over the given database, warms it up, then for each level
runs that many client threads (one keep-alive ``httpx.Client`` each) for a
fixed time, all sending the same typical query: the 30 days ending at the
last stored session, filtered on the most common referring source. The
clients run on the same machine, so they take CPU from the server; the
figures are what one box serving itself gets.

    python -m benchmarks.bench_api --db benchmarks/work/ours-1000000.duckdb
    python -m benchmarks.bench_api --db benchmarks/work/ours-1000000.duckdb --crowd 64 --seconds 30

:func:`run` returns the markdown section (``benchmarks/run.py`` includes it); :func:`crowd` the
section on a crowd of heavy queries: every client sends a query over all the stored data (no
filter) again and again, waiting ``Retry-After`` seconds after a 503 ``busy`` as a well-behaved
client does, while a prober asks ``/health`` four times a second. The server runs with its
default limits.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Sequence

import httpx

from insights_core import compute_insights, cursor
from insights_core.storefile import StoreFile

ENDPOINT = "/api/v1/insights"
LEVELS = (1, 8, 32)


def run(db_path: str | Path, seconds: float = 10.0, levels: Sequence[int] = LEVELS) -> str:
    """Measure the API on ``db_path`` and return the markdown section."""
    db_path = Path(db_path)
    sessions, params = typical_query(db_path)
    core_ms = _core_latency_ms(db_path, params)
    key = "bench-" + secrets.token_urlsafe(32)
    with _Server(db_path, key) as server:
        headers = {"Authentication": key}
        _load(server.url, headers, params, clients=max(levels), seconds=min(2.0, seconds))  # warm-up
        rows = [_load(server.url, headers, params, clients=clients, seconds=seconds) for clients in levels]
    return _markdown(db_path, sessions, params, seconds, core_ms, rows)


def typical_query(db_path: Path) -> tuple[int, dict[str, str]]:
    """The store's session count and a typical request: last 30 days of data, one source filter."""
    store_file = StoreFile(db_path)
    try:
        with store_file.snapshot() as con:
            cur = cursor(con)
            sessions, last = cur.execute("SELECT count(*), max(started_at) FROM sessions").fetchone()
            if not sessions:
                raise SystemExit(f"{db_path} holds no sessions; load data first (e.g. insights demo)")
            end = last.date()
            start = end - timedelta(days=29)
            source = cur.execute(
                "SELECT source FROM sessions WHERE source <> '(direct)' GROUP BY source"
                " ORDER BY count(*) DESC, source LIMIT 1"
            ).fetchone()
    finally:
        store_file.close()
    params = {"start_date": start.isoformat(), "end_date": end.isoformat()}
    if source is not None:
        params["source"] = source[0]
    return sessions, params


def _core_latency_ms(db_path: Path, params: dict[str, str], repeat: int = 5) -> float:
    """Median time of ``compute_insights`` alone, in this process: what HTTP adds to."""
    store_file = StoreFile(db_path)
    try:
        with store_file.snapshot() as con:
            compute_insights(con, params)
            times = []
            for _ in range(repeat):
                began = time.perf_counter()
                compute_insights(con, params)
                times.append(time.perf_counter() - began)
    finally:
        store_file.close()
    return statistics.median(times) * 1000


class _Server:
    """``insights serve`` on a free loopback port with one key from the environment."""

    def __init__(self, db_path: Path, key: str) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_path, self.key = db_path, key
        self.log = tempfile.TemporaryFile()
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> _Server:
        env = {**os.environ, "INSIGHTS_API_KEYS": self.key}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "insights_core.cli", "serve", "--db", str(self.db_path), "--port", str(self.port)],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.__exit__()
        self.log.seek(0)
        raise RuntimeError("the server did not start:\n" + self.log.read().decode(errors="replace"))

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def _load(url: str, headers: dict[str, str], params: dict[str, str], clients: int, seconds: float) -> dict[str, Any]:
    """``clients`` threads sending ``params`` for ``seconds``; latencies of completed requests and errors."""
    body = json.dumps(params).encode()
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    stop_at = [0.0]  # set when every client is ready, not before: making clients takes a while on a busy machine
    start = threading.Barrier(clients + 1, action=lambda: stop_at.__setitem__(0, time.perf_counter() + seconds))

    def client(index: int) -> None:
        with httpx.Client(base_url=url, headers={**headers, "Content-Type": "application/json"}, timeout=120) as http:
            start.wait()
            while time.perf_counter() < stop_at[0]:
                began = time.perf_counter()
                try:
                    ok = http.post(ENDPOINT, content=body).status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    latencies[index].append(time.perf_counter() - began)
                else:
                    errors[index] += 1

    threads = [threading.Thread(target=client, args=(index,), daemon=True) for index in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    done = sorted(latency for per_client in latencies for latency in per_client)
    return {
        "clients": clients,
        "requests": len(done),
        "errors": sum(errors),
        "per_second": len(done) / elapsed,
        "p50_ms": _percentile(done, 50) * 1000,
        "p99_ms": _percentile(done, 99) * 1000,
    }


def _percentile(ordered: list[float], percent: float) -> float:
    """Nearest-rank percentile of sorted values (``nan`` when there are none)."""
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * percent // 100))
    return ordered[int(rank) - 1]


def _markdown(
    db_path: Path, sessions: int, params: dict[str, str], seconds: float, core_ms: float, rows: list[dict[str, Any]]
) -> str:
    lines = [
        "## HTTP API",
        "",
        f"`POST {ENDPOINT}` served by `insights serve` (uvicorn, one process) on loopback over"
        f" `{db_path.name}` ({sessions:,} sessions), {os.cpu_count()} CPUs, {platform.python_implementation()}"
        f" {platform.python_version()}. Query: `{json.dumps(params)}`; `compute_insights` alone takes"
        f" {core_ms:.1f} ms (median, in process). Each level runs {seconds:g} s after a warm-up; the clients are"
        " threads with keep-alive connections in one process on the same machine, so they share its CPUs with"
        " the server.",
        "",
        "| concurrent clients | requests | requests/s | p50 latency (ms) | p99 latency (ms) | errors |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['clients']} | {row['requests']:,} | {row['per_second']:.1f} | {row['p50_ms']:.1f}"
            f" | {row['p99_ms']:.1f} | {row['errors']} |"
        )
    return "\n".join(lines) + "\n"


def crowd(db_path: str | Path, clients: int = 64, seconds: float = 30.0) -> str:
    """``clients`` concurrent heavy queries for ``seconds``: /health latency and the share of 503 answers."""
    db_path = Path(db_path)
    sessions, params = heavy_query(db_path)
    key = "bench-" + secrets.token_urlsafe(32)
    body = json.dumps(params).encode()
    statuses: list[tuple[int, str, float]] = []  # (status, error code, latency) of every answer
    health: list[float] = []
    lock = threading.Lock()
    with _Server(db_path, key) as server:
        stop = [0.0]  # set when every thread is ready (making 64 clients takes a while on a busy machine)
        start = threading.Barrier(clients + 2, action=lambda: stop.__setitem__(0, time.perf_counter() + seconds))

        def client() -> None:
            with httpx.Client(base_url=server.url, timeout=600,
                              headers={"Authentication": key, "Content-Type": "application/json"}) as http:
                start.wait()
                while time.perf_counter() < stop[0]:
                    began = time.perf_counter()
                    try:
                        response = http.post(ENDPOINT, content=body)
                        status = response.status_code
                        code = response.json().get("error", {}).get("code", "") if status != 200 else ""
                    except httpx.HTTPError as error:
                        status, code = 0, type(error).__name__
                    with lock:
                        statuses.append((status, code, time.perf_counter() - began))
                    if status == 503 and code == "busy":
                        wait = float(response.headers.get("retry-after", "1"))
                        time.sleep(max(0.0, min(wait, stop[0] - time.perf_counter())))

        def prober() -> None:
            with httpx.Client(base_url=server.url, timeout=30) as http:
                http.get("/health")
                start.wait()
                while time.perf_counter() < stop[0]:
                    began = time.perf_counter()
                    http.get("/health")
                    health.append(time.perf_counter() - began)
                    time.sleep(0.25)

        threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
        threads.append(threading.Thread(target=prober, daemon=True))
        for thread in threads:
            thread.start()
        start.wait()
        for thread in threads:
            thread.join()
        peak_rss = _peak_rss_mb(server.process.pid)
    return _crowd_markdown(db_path, sessions, params, clients, seconds, statuses, sorted(health), peak_rss)


def heavy_query(db_path: Path) -> tuple[int, dict[str, str]]:
    """The store's session count and a query over every stored session, without any filter."""
    store_file = StoreFile(db_path)
    try:
        with store_file.snapshot() as con:
            sessions, first, last = cursor(con).execute(
                "SELECT count(*), min(started_at), max(started_at) FROM sessions").fetchone()
    finally:
        store_file.close()
    if not sessions:
        raise SystemExit(f"{db_path} holds no sessions; load data first (e.g. insights demo)")
    return sessions, {"start_date": first.date().isoformat(), "end_date": last.date().isoformat()}


def _peak_rss_mb(pid: int) -> float:
    """The server's peak resident memory so far (Linux), in MB; ``nan`` where unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _crowd_markdown(db_path: Path, sessions: int, params: dict[str, str], clients: int, seconds: float,
                    statuses: list[tuple[int, str, float]], health: list[float], peak_rss: float) -> str:
    total = len(statuses)
    by_kind: dict[str, int] = {}
    for status, code, _ in statuses:
        kind = f"{status} {code}".strip()
        by_kind[kind] = by_kind.get(kind, 0) + 1
    refused = sum(count for kind, count in by_kind.items() if kind.startswith("503"))
    answered = sorted(latency for status, _, latency in statuses if status == 200)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    lines = [
        f"## HTTP API under a crowd of {clients} heavy queries",
        "",
        f"`insights serve` with its default limits over `{db_path.name}` ({sessions:,} sessions), {os.cpu_count()}"
        f" CPUs (load average {load[0]:.1f} at the end). {clients} clients each send `{json.dumps(params)}` (every"
        f" stored session, no filter) again and again for {seconds:g} s, waiting `Retry-After` after a `busy`;"
        " a prober asks `/health` every 0.25 s.",
        "",
        "| answers | 200 | 503 (all) | 503 rate | 200 latency p50 (s) | 200 latency max (s) |"
        " /health p50 (ms) | /health max (ms) | server peak RSS (MB) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {total:,} | {len(answered):,} | {refused:,} | {refused / total if total else float('nan'):.1%}"
        f" | {_percentile(answered, 50):.2f} | {answered[-1] if answered else float('nan'):.2f}"
        f" | {_percentile(health, 50) * 1000:.0f} | {health[-1] * 1000 if health else float('nan'):.0f}"
        f" | {peak_rss:.0f} |",
        "",
        "Answers by kind: " + ", ".join(f"{kind}: {count:,}" for kind, count in sorted(by_kind.items())) + ".",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, type=Path, help="the database to serve (e.g. 1M sessions)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measuring time per level (default 10)")
    parser.add_argument("--clients", default=",".join(map(str, LEVELS)), help="levels, comma-separated (default 1,8,32)")
    parser.add_argument("--crowd", type=int, metavar="N",
                        help="instead: N concurrent heavy queries (all data) for --seconds; /health latency, 503 rate")
    args = parser.parse_args(argv)
    if not args.db.exists():
        parser.error(f"no database at {args.db}")
    if args.crowd:
        print(crowd(args.db, clients=args.crowd, seconds=args.seconds), end="")
        return
    levels = [int(level) for level in args.clients.split(",")]
    print(run(args.db, seconds=args.seconds, levels=levels), end="")


if __name__ == "__main__":
    main()
