"""A real Spark standalone cluster for the Spark tests, started once per test session.

A master and two workers on loopback, each on free ports, plus a Spark
Connect server for the ``sc://`` path; all come from the pip-installed
PySpark (``$SPARK_HOME/bin/spark-class``), nothing is downloaded. The fixture
waits on what each daemon serves (the master's JSON status listing both
workers alive, the Connect server's port) instead of sleeping, shows the
daemons' logs when one fails to start or a Spark test fails, and stops them
all at the end (docs/scale.md#testing-on-a-cluster).

Resources are kept small for a shared 2-core machine: each worker offers 3
task slots and 1.5 GB, and every application (this test session's driver,
the Connect server, a command-line process under test) takes at most two
single-core executors of 512 MB, one per worker, so three applications can
run side by side.

Without PySpark or Java the Spark tests are skipped, unless
``INSIGHTS_REQUIRE_SPARK=1`` (``make test`` sets it), which makes them fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the shared test modules (strategies, reference)

STARTUP_SECONDS = 300
"""How long the cluster may take to come up; a loaded 2-core machine needs minutes, not seconds."""

WORKER_SLOTS = 3
WORKER_MEMORY = "1536m"

SPARK_DEFAULTS = {
    # Each application: two single-core executors of 512 MB, one per worker.
    "spark.executor.memory": "512m",
    "spark.executor.cores": "1",
    "spark.cores.max": "2",
    "spark.driver.memory": "768m",
    # Small data: few shuffle partitions, no UI, no progress bars, quiet logs.
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.log.level": "WARN",
    "spark.driver.host": "127.0.0.1",
    "spark.master.rest.enabled": "false",
}
"""``spark-defaults.conf`` of every application and daemon of the test cluster."""

LOG4J2 = """\
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss.SSS} %p %c{1}: %m%n%ex
logger.daemons.name = org.apache.spark.deploy
logger.daemons.level = info
logger.connect.name = org.apache.spark.sql.connect.service
logger.connect.level = info
"""
"""Warnings only, except the daemons' own lines (registration, ports), which the logs on failure need."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test here that uses the cluster carries the ``spark`` marker (``-m 'not spark'`` leaves them out)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents and "spark_cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.spark)


def _spark_home() -> Path | None:
    try:
        import pyspark
    except ImportError:
        return None
    return Path(pyspark.__file__).parent


def _unavailable() -> str | None:
    """Why Spark cannot run here, or None."""
    if _spark_home() is None:
        return "PySpark is not installed (pip install -e '.[spark]'; `make test` does it)"
    if shutil.which("java") is None:
        return "no java on the PATH (Debian: apt-get install openjdk-17-jre-headless; `make test` does it)"
    return None


@dataclass
class Daemon:
    """One process of the cluster and its log file."""

    name: str
    process: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(line if len(line) <= 300 else line[:300] + " …" for line in text[-lines:])

    def stop(self) -> None:
        if self.alive():
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


@dataclass
class SparkCluster:
    """The running cluster: where to reach it, and how to start applications against it."""

    home: Path
    root: Path
    master_url: str
    master_ui: str
    connect_port: int
    env: dict[str, str]
    daemons: list[Daemon] = field(default_factory=list)

    @property
    def connect_url(self) -> str:
        return f"sc://127.0.0.1:{self.connect_port}"

    def logs(self, lines: int = 40) -> str:
        """The end of every daemon's log, for a failure message."""
        return "\n".join(f"--- {daemon.name} ({daemon.log}) ---\n{daemon.tail(lines)}" for daemon in self.daemons)

    def start(self, name: str, command: list[str]) -> Daemon:
        log = self.root / "logs" / f"{name}.log"
        handle = log.open("wb")
        process = subprocess.Popen(
            command, env=self.env, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=self.root, start_new_session=True,
        )
        handle.close()
        daemon = Daemon(name, process, log)
        self.daemons.append(daemon)
        return daemon

    def wait(self, what: str, ready: Callable[[], bool], daemons: list[Daemon]) -> None:
        """Poll ``ready`` until it holds; fail with the logs when a daemon dies or time runs out."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while not ready():
            dead = [daemon for daemon in daemons if not daemon.alive()]
            if dead or time.monotonic() > deadline:
                reason = f"{', '.join(d.name for d in dead)} exited" if dead else f"not within {STARTUP_SECONDS} s"
                raise RuntimeError(f"Spark test cluster: {what}: {reason}\n{self.logs()}")
            time.sleep(0.5)

    def status(self) -> dict:
        """The master's JSON status page ({} while it does not answer)."""
        try:
            with urllib.request.urlopen(f"{self.master_ui}/json/", timeout=2) as response:
                return json.load(response)
        except (OSError, ValueError):
            return {}

    def alive_workers(self) -> int:
        return sum(1 for worker in self.status().get("workers", []) if worker.get("state") == "ALIVE")

    def stop(self) -> None:
        for daemon in reversed(self.daemons):
            daemon.stop()


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


MASTER_URL_LINE = re.compile(r"Starting Spark master at (spark://\S+)")
MASTER_UI_LINE = re.compile(r"Bound MasterWebUI to \S+, and started at (http://\S+)")


def _master_ready(cluster: SparkCluster, master: Daemon) -> bool:
    """The master answers ALIVE. Its addresses are taken from its log: a port free when probed may be taken
    before the master binds it (other clusters on a shared machine), and Spark then binds the next one."""
    log = master.log.read_text(errors="replace") if master.log.exists() else ""
    if found := MASTER_URL_LINE.search(log):
        cluster.master_url = found.group(1)
    if found := MASTER_UI_LINE.search(log):
        cluster.master_ui = found.group(1)
    return cluster.status().get("status") == "ALIVE"


def _start_cluster(root: Path) -> SparkCluster:
    home = _spark_home()
    assert home is not None
    conf_dir = root / "conf"
    conf_dir.mkdir(parents=True)
    (root / "logs").mkdir()
    (conf_dir / "spark-defaults.conf").write_text("".join(f"{key} {value}\n" for key, value in SPARK_DEFAULTS.items()))
    (conf_dir / "log4j2.properties").write_text(LOG4J2)
    env = {
        **os.environ,
        "SPARK_HOME": str(home),
        "SPARK_CONF_DIR": str(conf_dir),
        "SPARK_LOCAL_IP": "127.0.0.1",  # every daemon, UI and driver binds loopback only
        "SPARK_LOCAL_DIRS": str(root / "scratch"),
        "SPARK_LOG_DIR": str(root / "logs"),
        "SPARK_PID_DIR": str(root),
        "PYSPARK_PYTHON": sys.executable,  # executors run this virtual environment's Python
        "SPARK_CONNECT_MODE": "0",
    }
    master_port, master_ui_port = free_port(), free_port()
    cluster = SparkCluster(
        home=home, root=root, master_url=f"spark://127.0.0.1:{master_port}",
        master_ui=f"http://127.0.0.1:{master_ui_port}", connect_port=free_port(), env=env,
    )
    spark_class = str(home / "bin" / "spark-class")
    try:
        master = cluster.start("master", [
            spark_class, "org.apache.spark.deploy.master.Master",
            "--host", "127.0.0.1", "--port", str(master_port), "--webui-port", str(master_ui_port),
            "--properties-file", str(conf_dir / "spark-defaults.conf"),
        ])
        cluster.wait("master", lambda: _master_ready(cluster, master), [master])
        workers = [
            cluster.start(f"worker-{index}", [
                spark_class, "org.apache.spark.deploy.worker.Worker",
                "--host", "127.0.0.1", "--webui-port", str(free_port()),
                "--cores", str(WORKER_SLOTS), "--memory", WORKER_MEMORY,
                "--work-dir", str(root / f"worker-{index}"),
                "--properties-file", str(conf_dir / "spark-defaults.conf"),
                cluster.master_url,
            ])
            for index in (1, 2)
        ]
        # The Connect server starts now and is waited for only by the test that uses it.
        cluster.start("connect-server", [
            str(home / "bin" / "spark-submit"),
            "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
            "--name", "insights-test-connect", "--master", cluster.master_url,
            "--conf", f"spark.connect.grpc.binding.port={cluster.connect_port}",
            "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
        ])
        cluster.wait("two workers registered", lambda: cluster.alive_workers() == 2, [master, *workers])
    except BaseException:
        cluster.stop()
        raise
    return cluster


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkCluster]:
    """The master and two workers (and the Connect server, starting); stopped after the last test."""
    reason = _unavailable()
    if reason:
        if os.environ.get("INSIGHTS_REQUIRE_SPARK") == "1":
            pytest.fail(f"INSIGHTS_REQUIRE_SPARK=1 but {reason}")
        pytest.skip(reason)
    global _CLUSTER
    cluster = _start_cluster(tmp_path_factory.mktemp("spark-cluster"))
    _CLUSTER = cluster
    try:
        yield cluster
    finally:
        _CLUSTER = None
        cluster.stop()


@pytest.fixture(scope="session")
def spark_env(spark_cluster: SparkCluster) -> Iterator[dict[str, str]]:
    """The environment a process needs to run an application on the cluster (conf dir, Python, loopback).

    Also applied to this test process, whose own Spark driver is started in it.
    """
    keys = ("SPARK_CONF_DIR", "SPARK_LOCAL_IP", "PYSPARK_PYTHON", "SPARK_LOCAL_DIRS")
    saved = {key: os.environ.get(key) for key in keys}
    os.environ.update({key: spark_cluster.env[key] for key in keys})
    try:
        yield {**os.environ}
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def spark(spark_cluster: SparkCluster, spark_env: dict[str, str]):
    """This test session's Spark application on the cluster (``spark://``), as the product builds it."""
    from insights_core.engines.spark import spark_session

    session = spark_session(spark_cluster.master_url, app_name="insights-tests")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def connect_url(spark_cluster: SparkCluster) -> Iterator[str]:
    """The Spark Connect server's ``sc://`` URL, once it listens; every client of it is closed before it stops."""
    connect = next(daemon for daemon in spark_cluster.daemons if daemon.name == "connect-server")
    spark_cluster.wait("Spark Connect server", lambda: _listening(spark_cluster.connect_port), [connect])
    yield spark_cluster.connect_url
    _close_connect_clients()


def _close_connect_clients() -> None:
    """Close every Spark Connect client this process opened (engines, the command line in-process, the dashboard).

    A client still open when Python exits cleans up with a call to its server. The server is stopped by then
    (``spark_cluster``'s teardown), and the client's retries back off for minutes: the test run would sit that
    long after its last test. Closing a client is local (its channel), so it is done while the server runs.
    """
    import gc

    from pyspark.sql.connect.client.core import SparkConnectClient

    for client in [item for item in gc.get_objects() if isinstance(item, SparkConnectClient)]:
        if not client.is_closed:
            client.close()


_CLUSTER: SparkCluster | None = None
"""The running cluster, for the failure report."""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A failed Spark test shows the end of the cluster's logs."""
    report = yield
    if report.failed and _CLUSTER is not None and item.get_closest_marker("spark"):
        report.sections.append(("Spark cluster logs", _CLUSTER.logs(25)))
    return report
