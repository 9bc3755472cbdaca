"""Real-browser fixtures: `streamlit run app.py` on a free loopback port over a small test store
(and a second one over a store holding hostile values), and ONE headless Debian Chromium for the
whole session (never a downloaded browser).

Modelled on streamlit's e2e_playwright/conftest.py: the server is polled on /_stcore/health,
its log is captured and shown when a test fails, and tests wait on the app's own
`data-test-script-state='notRunning'` instead of sleeping. A failing test leaves a
screenshot of each view in test-artifacts/.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator
from urllib.parse import urlencode

import pytest

from support import free_port, make_demo_db

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"
DATA_END = datetime(2025, 7, 31, 18, 0, tzinfo=timezone.utc)
"""The test store holds the 90 days ending here, so every window and number is fixed."""
VIEWS = ("", "export", "data")
TIMEOUT_MS = 60_000
"""Generous: the test machine's two cores are shared."""


@dataclass
class Server:
    """A running dashboard: its base URL, store and log."""

    url: str
    store: Path
    log_path: Path
    process: subprocess.Popen

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def view_url(self, view: str = "", **query: str) -> str:
        return f"{self.url}/{view}" + (f"?{urlencode(query)}" if query else "")


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
            return response.read() == b"ok"
    except OSError:
        return False


@pytest.fixture(scope="session")
def store_path(tmp_path_factory) -> Path:
    return make_demo_db(tmp_path_factory.mktemp("browser-store") / "insights.duckdb", 1_500, 11, DATA_END)


@pytest.fixture(scope="session")
def server(store_path, tmp_path_factory) -> Iterator[Server]:
    yield from run_server(store_path, tmp_path_factory)


@pytest.fixture(scope="session")
def start_server(tmp_path_factory):
    """``start_server(store)``: another dashboard, on another store, stopped at the end of the session."""
    running = []

    def start(store: Path) -> Server:
        generator = run_server(store, tmp_path_factory)
        running.append(generator)
        return next(generator)

    yield start
    for generator in running:
        generator.close()


def run_server(store_path: Path, tmp_path_factory) -> Iterator[Server]:
    """`streamlit run app.py` on ``store_path`` until the generator is closed."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("streamlit-log") / "streamlit.log"
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
        "--server.port", str(port), "--server.headless", "true", "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
    ]
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "INSIGHTS_DB": str(store_path)},
        )
    running = Server(url, store_path, log_path, process)
    deadline = time.monotonic() + 60
    while not _healthy(url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"streamlit did not start on {url}; its log:\n{running.log()}")
        time.sleep(0.25)
    try:
        yield running
    finally:  # also when the generator is closed (start_server): a closed generator runs only finally blocks
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (run `make browser`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's report on the test item, so fixtures know whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def new_tab(browser, server, request):
    """``new_tab(**context_options)``: a tab in a fresh browser context (colour scheme, viewport, …).

    Every request a tab makes is recorded in ``tab.requested`` (``page.on("request")``). On failure:
    a screenshot of each tab as it was, screenshots of every view of the test store, the server log.
    """
    contexts = []

    def open_tab(**options):
        options = {"viewport": {"width": 1400, "height": 1100}, "accept_downloads": True, **options}
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        tab = context.new_page()
        tab.requested = []
        tab.on("request", lambda made: tab.requested.append(made.url))
        contexts.append((context, tab))
        return tab

    yield open_tab
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed and contexts:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        try:
            for number, (_, tab) in enumerate(contexts):
                tab.screenshot(path=str(ARTIFACTS / f"{name}-at-failure-{number}.png"), full_page=True)
            tab = contexts[0][1]
            for view in VIEWS:
                tab.goto(server.view_url(view))
                wait_for_app(tab)
                tab.screenshot(path=str(ARTIFACTS / f"{name}-{view}.png"), full_page=True)
        except Exception as error:  # noqa: BLE001 - artifacts are best effort
            print(f"could not save screenshots: {error}")
        print(f"--- streamlit log ---\n{server.log()}")
    for context, _ in contexts:
        context.close()


@pytest.fixture
def page(new_tab):
    """A fresh tab at 1400×1100 in the light scheme."""
    return new_tab()


@pytest.fixture
def settled():
    """``settled(tab)`` waits until the app has finished running (see :func:`wait_for_app`)."""
    return wait_for_app


def wait_for_app(tab) -> None:
    """Until the script has run and rendered: connected, `notRunning`, no skeleton left (as streamlit's
    own e2e suite waits: a short pause for a just-triggered rerun, then the app's state attributes)."""
    from playwright.sync_api import expect

    tab.wait_for_timeout(250)  # let a just-triggered rerun flip the state to running
    tab.locator("[data-testid='stApp'][data-test-connection-state='CONNECTED']").wait_for(state="attached")
    idle = tab.locator("[data-testid='stApp'][data-test-script-state='notRunning']")
    idle.wait_for(state="attached")
    # A run can follow another at once (the first run of a page syncs its URL): idle means idle a moment later
    # too, since a click that lands while a run starts can be lost.
    tab.wait_for_timeout(150)
    idle.wait_for(state="attached")
    # Streamlit draws a skeleton for each element until the browser has loaded the code that draws it.
    expect(tab.get_by_test_id("stSkeleton")).to_have_count(0, timeout=TIMEOUT_MS)


@pytest.fixture
def open_list():
    """``open_list(tab, label)``: open a selectbox's dropdown list and return its options (see :func:`open_dropdown`)."""
    return open_dropdown


def open_dropdown(tab, name: str):
    """Open the dropdown list of the selectbox labelled ``name``; return its options.

    A click that lands while the sidebar is still being redrawn can leave the list closed: try again.
    """
    from playwright.sync_api import Error

    options = tab.get_by_role("option")
    for _ in range(3):
        tab.get_by_role("combobox", name=name, exact=True).click()
        try:
            options.first.wait_for(timeout=10_000)
            return options
        except Error:
            tab.keyboard.press("Escape")
    tab.get_by_role("combobox", name=name, exact=True).click()
    options.first.wait_for()
    return options
