"""Dashboard responsiveness in a real browser: first meaningful paint, and how long a filter change
takes to show new numbers.

Starts ``streamlit run app.py`` on the given store, opens it in Debian's
headless Chromium on the last 30 days of the stored data and changes
filters: medium (the three most used), then "Sessions counted" (first
visits, converting, assisting, after converting). Everything is measured in
the page:

- *first meaningful paint*: from the start of navigation until the Users
  card shows the number ``compute_insights`` gives (a DOM observer); beside
  it the same measure on a bare Streamlit page that shows one card and
  computes nothing, the floor that Streamlit and the browser set here;
- *first page load*: until the script is idle and no element still waits
  for its code (no skeleton left);
- a filter change, from the click's ``pointerdown`` until the Users card
  shows the new number (*numbers shown*), and until the page is idle again
  (*page idle*: the filter lists, which depend on the other filters, come
  after the numbers).

The sequence runs twice: with empty caches (cold: two ``compute_insights``
calls per change, the window and the comparison, and the filter lists),
then again in a new browser session (cached: results are shared between
sessions). The machine's load average is printed with the results: on a
shared machine it moves the numbers more than anything the code does.

    python -m benchmarks.bench_dashboard --db /tmp/bench1m.duckdb

``run(db_path)`` returns the results as a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Callable
from urllib.parse import urlencode

from insights_core import NO_DATA_MESSAGE, catalog, compute_insights
from dashboard.words import TOUCH_SCOPE_LABELS, label
from insights_core.storefile import StoreFile

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-sync",
]
TIMEOUT_MS = 180_000

# In the page: the script has finished and shows the expected Users card (or the empty state).
_SETTLED_WITH = """expected => {
    const settled = () => {
        const app = document.querySelector("[data-testid='stApp']");
        if (!app || app.getAttribute("data-test-script-state") !== "notRunning") return false;
        if (document.querySelector("[data-testid='stSkeleton']")) return false;
        if (expected.empty !== null) return document.body.innerText.includes(expected.empty);
        for (const metric of document.querySelectorAll("[data-testid='stMetric']")) {
            const label = metric.querySelector("[data-testid='stMetricLabel']");
            if (label && label.innerText.trim() === "Users") {
                return metric.querySelector("[data-testid='stMetricValue']").innerText.trim() === expected.users;
            }
        }
        return false;
    };
    if (!settled()) return false;
    window.__insightsSettledAt = performance.now();
    return true;
}"""

# In the page, from navigation start: when the Users card first shows the expected number.
_FIRST_PAINT_OBSERVER = """(() => {
    window.__insightsFirstPaint = null;
    const expected = %s;
    const look = () => {
        if (window.__insightsFirstPaint !== null) return;
        for (const metric of document.querySelectorAll("[data-testid='stMetric']")) {
            const label = metric.querySelector("[data-testid='stMetricLabel']");
            const value = metric.querySelector("[data-testid='stMetricValue']");
            if (label && value && label.innerText.trim() === "Users" && value.innerText.trim() === expected) {
                window.__insightsFirstPaint = performance.now();
            }
        }
    };
    new MutationObserver(look).observe(document, {subtree: true, childList: true, characterData: true});
})();"""

# In the page: the Users card shows the expected number (whatever the script is doing).
_SHOWN_WITH = """expected => {
    for (const metric of document.querySelectorAll("[data-testid='stMetric']")) {
        const label = metric.querySelector("[data-testid='stMetricLabel']");
        if (label && label.innerText.trim() === "Users") {
            if (metric.querySelector("[data-testid='stMetricValue']").innerText.trim() !== expected.users) return false;
            window.__insightsShownAt = performance.now();
            return true;
        }
    }
    if (expected.empty !== null && document.body.innerText.includes(expected.empty)) {
        window.__insightsShownAt = performance.now();
        return true;
    }
    return false;
}"""

# In the page: remember when the next click starts.
_ARM_CLICK_CLOCK = """() => {
    window.__insightsClickAt = null;
    document.addEventListener("pointerdown", () => { window.__insightsClickAt = performance.now(); },
                              {capture: true, once: true});
}"""


@dataclass(frozen=True)
class Change:
    """One filter change: an untimed preparation, the timed click, and the parameters it leads to."""

    name: str
    prepare: Callable  # (page) -> None, e.g. open a dropdown
    click: Callable  # (page) -> None
    params: dict[str, str]


def run(db_path: str | Path) -> str:
    """Measure filter changes on the store at ``db_path``; the results as a markdown table."""
    db_path = Path(db_path).resolve()
    if not db_path.exists():
        raise SystemExit(f"no database at {db_path}; create one with `insights demo --db {db_path} --users 330000`")
    from playwright.sync_api import sync_playwright

    with StoreFile(db_path).snapshot() as con:
        sessions = con.execute("SELECT count(*) FROM sessions").fetchone()[0]
        span = catalog.session_span(con)
        media = catalog.filter_values(con, "medium", limit=3).values
    if span is None:
        raise SystemExit(f"{db_path} holds no sessions")
    last_day = span.last.date()
    window = {"start_date": (last_day - timedelta(days=30)).isoformat(), "end_date": last_day.isoformat()}
    changes = _changes(window, media)

    load_before = os.getloadavg()
    users = _expected(db_path, window)["users"] or ""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        floor = _bare_page_first_paint(browser, db_path, users)
        browser.close()
    with _server(db_path) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        shown: dict[str, list[float]] = {"cold": [], "cached": []}
        idle: dict[str, list[float]] = {"cold": [], "cached": []}
        first_paint = first_load = 0.0
        for kind in ("cold", "cached"):
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.add_init_script(_FIRST_PAINT_OBSERVER % json.dumps(_expected(db_path, window)["users"] or ""))
            page.goto(f"{url}/?{urlencode(window)}")
            _settle(page, db_path, window)
            if kind == "cold":
                first_paint = (page.evaluate("() => window.__insightsFirstPaint") or 0) / 1000
                first_load = page.evaluate("() => window.__insightsSettledAt") / 1000
            for change in changes:
                change.prepare(page)
                page.evaluate(_ARM_CLICK_CLOCK)
                change.click(page)
                expected = _expected(db_path, change.params)
                page.wait_for_function(_SHOWN_WITH, arg=expected, timeout=TIMEOUT_MS, polling="raf")
                _settle(page, db_path, change.params)
                clicked, numbers, settled = page.evaluate(
                    "() => [window.__insightsClickAt, window.__insightsShownAt, window.__insightsSettledAt]")
                shown[kind].append((numbers - clicked) / 1000)
                idle[kind].append((settled - clicked) / 1000)
            page.close()
        browser.close()
    load_after = os.getloadavg()

    size_mb = db_path.stat().st_size / 1e6
    lines = [
        f"Dashboard in headless Chromium ({sessions:,} stored sessions, {size_mb:,.0f} MB store, "
        f"{os.cpu_count()} CPU cores; load average {load_before[0]:.1f} before, {load_after[0]:.1f} after).",
        "",
        "| measurement | samples | median | max |",
        "|---|---:|---:|---:|",
        f"| first meaningful paint (Users card right, empty caches) | 1 | {first_paint:.2f} s | {first_paint:.2f} s |",
        f"| the same on a bare Streamlit page, one card, nothing computed (the floor) | 1 | {floor:.2f} s "
        f"| {floor:.2f} s |",
        f"| first page load (page idle, empty caches) | 1 | {first_load:.2f} s | {first_load:.2f} s |",
    ]
    for kind, label in (("cold", "new parameters (cold)"), ("cached", "seen before (cached)")):
        for what, samples in (("numbers shown", shown[kind]), ("page idle", idle[kind])):
            lines.append(f"| filter change, {label}: {what} | {len(samples)} | {statistics.median(samples):.2f} s "
                         f"| {max(samples):.2f} s |")
    lines += ["", f"Window: {window['start_date']} to {window['end_date']}. Changes: medium "
              f"{', '.join(media)}, then Sessions counted: first visits, converting, assisting, after converting. "
              "Times run in the page from navigation start (first paint, first load) or from the click (changes) "
              "until the Users card shows compute_insights' number for the new parameters (numbers shown) and "
              "until the script is idle with no skeleton left (page idle)."]
    return "\n".join(lines) + "\n"


BARE_PAGE = """import streamlit as st
st.set_page_config(layout="wide")
st.metric("Users", %r, border=True)
"""
"""The floor of a first paint here: a fresh Streamlit server whose page shows one card and computes nothing."""


def _bare_page_first_paint(browser, db_path: Path, users: str) -> float:
    """Seconds from navigation start until a bare Streamlit page (:data:`BARE_PAGE`) shows the Users card,
    in the same browser build and on the same machine as the dashboard's own figure."""
    with tempfile.TemporaryDirectory(prefix="insights-bare-page-") as folder:
        (Path(folder) / "app.py").write_text(BARE_PAGE % users)
        with _server(db_path, Path(folder)) as url:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.add_init_script(_FIRST_PAINT_OBSERVER % json.dumps(users))
            page.goto(url)
            page.wait_for_function("() => window.__insightsFirstPaint !== null", timeout=TIMEOUT_MS, polling="raf")
            seconds = page.evaluate("() => window.__insightsFirstPaint") / 1000
            page.close()
    return seconds


def _changes(window: dict[str, str], media: tuple[str, ...]) -> list[Change]:
    changes, params = [], dict(window)
    for medium in media:
        params = {**window, "medium": medium}
        changes.append(Change(f"medium={medium}", _open_dropdown(label("medium"), medium), _option(medium), params))
    for scope in ("first", "converting", "assist", "after"):
        params = {**params, "touch_scope": scope}
        changes.append(Change(f"touch_scope={scope}", lambda page: None, _radio(TOUCH_SCOPE_LABELS[scope]), params))
    return changes


def _open_dropdown(name: str, value: str) -> Callable:
    """Open the list (untimed) until ``value`` shows; a list opened while the page redraws may close again."""
    def open_list(page) -> None:
        for _ in range(3):
            page.get_by_role("combobox", name=name, exact=True).click()
            try:
                page.get_by_role("option", name=value, exact=True).wait_for(timeout=10_000)
                return
            except Exception:  # noqa: BLE001 - closed again: press Escape and open it once more
                page.keyboard.press("Escape")
        page.get_by_role("option", name=value, exact=True).wait_for(timeout=TIMEOUT_MS)
    return open_list


def _option(value: str) -> Callable:
    return lambda page: page.get_by_role("option", name=value, exact=True).click()


def _radio(shown: str) -> Callable:
    return lambda page: (page.get_by_role("radiogroup", name=label("touch_scope"))
                         .get_by_text(shown, exact=True).click())


def _expected(db_path: Path, params: dict[str, str]) -> dict[str, str | None]:
    """What the page shows for ``params``: compute_insights' Users number, or its empty state."""
    with StoreFile(db_path).snapshot() as con:
        document = compute_insights(con, params)
    return ({"users": None, "empty": NO_DATA_MESSAGE} if "message" in document else
            {"users": f"{document['overall_metrics']['user_summary']['total_users']:,}", "empty": None})


def _settle(page, db_path: Path, params: dict[str, str]) -> None:
    """Wait until the page shows compute_insights' Users number for ``params`` (or its empty state), idle."""
    page.wait_for_function(_SETTLED_WITH, arg=_expected(db_path, params), timeout=TIMEOUT_MS, polling="raf")


class _server:
    """``streamlit run app.py`` (of ``folder``, the dashboard by default) on a free loopback port, for the
    ``with`` block."""

    def __init__(self, db_path: Path, folder: Path = ROOT) -> None:
        self.db_path = db_path
        self.folder = folder

    def __enter__(self) -> str:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.log = tempfile.TemporaryFile("w+")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
             "--server.port", str(port), "--server.headless", "true", "--server.fileWatcherType", "none"],
            cwd=self.folder, stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, "INSIGHTS_DB": str(self.db_path)},
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                    if response.read() == b"ok":
                        return url
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise SystemExit("streamlit did not start")
            time.sleep(0.25)

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.seek(0)
        log = self.log.read()
        self.log.close()
        if exc and exc[0] is not None:
            print(log, file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="an Insights store, e.g. from `insights demo --users 330000`")
    print(run(parser.parse_args().db), end="")


if __name__ == "__main__":
    main()
