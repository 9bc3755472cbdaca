"""docs/scale.md#running-on-spark: the command line with ``--engine spark --lake URI --spark-master URL``.

Each output must be the DuckDB command's bytes on the same files; a refused
load says what the DuckDB load says and exits 2; a load killed mid-way
leaves the previous answers.

Most commands run in this process through the CLI's own ``main`` (the same
parsing, engine choice, computation and printing as the executable), as
Spark Connect clients (``sc://``) of the cluster's Connect server: a shared
2-core machine cannot afford a new Python and client per command. The
executable itself runs where a process of its own is the point: the
``local[N]`` load and query, which start Spark inside the command (they
cannot share this process, whose Spark application already runs on the
cluster), and the load killed with SIGKILL.
"""

from __future__ import annotations

import io
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from insights_core.cli import main as cli_main
from insights_core.engines.choice import EngineSettingsError, engine_settings, FLAG_NAMES
from insights_core.lake import VERSIONS, Lake

INSIGHTS = str(Path(sys.executable).parent / "insights")

SESSIONS = """\
session_id,user_id,started_at,exited_at,landing_page,referrer,utm_source,utm_medium,utm_campaign
s1,u1,2025-07-01T10:00:00Z,2025-07-01T10:05:00Z,https://www.acme.test/?gclid=x,https://www.google.co.uk/search,,,
s2,u1,2025-07-02 09:00:00+02:00,,https://acme.test/pricing,,newsletter,email,spring
s3,u2,2025-07-03T11:00:00,2025-07-03T11:00:30,https://acme.test/blog,https://l.facebook.com/x,,,
s4,u3,2025-07-04T12:00:00Z,,https://acme.test/,https://chatgpt.com/,,,
s5,u3,2025-07-05T12:00:00Z,,https://acme.test/?msclkid=1,,,,
s6,u2,2025-07-09T08:00:00Z,2025-07-09T08:10:00Z,https://acme.test/pricing,,google,cpc,spring
"""
CONVERSIONS = """\
conversion_id,session_id,converted_at,conversion_page,meta_type,value
c1,s2,2025-07-02T08:00:00Z,https://acme.test/demo,hubspot_form,12.50
c2,s4,2025-07-04T12:01:00Z,,custom,
c3,s6,2025-07-09T08:05:00Z,https://acme.test/demo,hubspot_form,99
"""
MORE_SESSIONS = "session_id,user_id,started_at\ns7,u4,2025-07-10T10:00:00Z\ns8,u1,2025-07-11T10:00:00Z\n"
BAD_SESSIONS = "session_id,user_id,started_at\ns1,u9,2025-08-01T10:00:00Z\nn2,,2025-08-01T10:00:00Z\n"
WINDOW = ["--start-date", "2025-07-01", "--end-date", "2025-07-31"]
QUERIES = [  # one run of each command; JSON and CSV both appear
    ["query", *WINDOW, "--channel-group", "Paid Search", "--format", "csv"],
    ["attribution", *WINDOW, "--conversions", "all"],
    ["timeseries", *WINDOW, "--interval", "week"],
    ["breakdown", *WINDOW, "--dimension", "campaign", "--format", "csv"],
]
KILL_AT = "deriving channels"
"""The progress line after which the killed load is mid-way: its rows are read, checked and staged in its draft."""


@dataclass(frozen=True)
class Ran:
    """What a command printed and its exit status, wherever it ran."""

    returncode: int
    stdout: str
    stderr: str


def insights(env: dict[str, str], *args: str, timeout: float = 600) -> Ran:
    """The real ``insights`` executable in a process of its own."""
    done = subprocess.run([INSIGHTS, *args], capture_output=True, text=True, timeout=timeout, env=env)
    return Ran(done.returncode, done.stdout, done.stderr)


def insights_here(*args: str) -> Ran:
    """The command's ``main`` in this process, its output captured: everything the executable does but start."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = cli_main(list(args))
        except SystemExit as exit_:  # argparse's usage errors
            code = int(exit_.code or 0)
    return Ran(code, out.getvalue(), err.getvalue())


def same_load_report(mine: Ran, duck: Ran) -> None:
    """Both loads succeeded and printed the same report; the first line's time taken differs."""
    assert (mine.returncode, duck.returncode) == (0, 0), (mine.stderr, duck.stderr)
    assert mine.stdout.splitlines()[1:] == duck.stdout.splitlines()[1:]
    assert mine.stdout.split(" in ")[0] == duck.stdout.split(" in ")[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("spark-cli")
    (directory / "sessions.csv").write_text(SESSIONS)
    (directory / "conversions.csv").write_text(CONVERSIONS)
    (directory / "more.csv").write_text(MORE_SESSIONS)
    (directory / "bad.csv").write_text(BAD_SESSIONS)
    return directory


def first_load(files: Path) -> list[str]:
    return ["--sessions", str(files / "sessions.csv"), "--conversions", str(files / "conversions.csv")]


def duck_load(files: Path, db: Path) -> Ran:
    """The first load into a new DuckDB store, by the DuckDB command."""
    loaded = insights_here("load", "--db", str(db), *first_load(files))
    assert loaded.returncode == 0, loaded.stderr
    return loaded


@dataclass(frozen=True)
class Stores:
    """The first load by both engines' commands: the DuckDB store, the lake, and what each load printed."""

    db: Path
    lake: Path
    duck: Ran
    spark: Ran


@pytest.fixture(scope="module")
def stores(files, tmp_path_factory, spark_env, connect_url) -> Stores:
    """The first load into a DuckDB store and, on Spark Connect, into a lake: loaded once, queried by every test
    here (a test that changes the lake changes a copy)."""
    directory = tmp_path_factory.mktemp("spark-cli-stores")
    db, lake = directory / "store.duckdb", directory / "lake"
    duck = duck_load(files, db)
    spark = insights_here("load", "--engine", "spark", "--lake", str(lake), "--spark-master", connect_url,
                          *first_load(files))
    return Stores(db, lake, duck, spark)


def test_a_load_on_spark_connect_prints_the_duckdb_report(stores):
    """docs/scale.md#loading-on-spark: every step of the load through a Connect client, the DuckDB load's report."""
    same_load_report(stores.spark, stores.duck)


def test_every_query_command_prints_the_duckdb_bytes(connect_url, stores):
    """docs/api.md#command-line: every query command on Spark Connect prints what the DuckDB command prints."""
    db, lake = stores.db, stores.lake
    on_spark = ["--engine", "spark", "--lake", str(lake), "--spark-master", connect_url]
    for query in QUERIES:
        duck = insights_here(query[0], "--db", str(db), *query[1:])
        mine = insights_here(query[0], *on_spark, *query[1:])
        assert (mine.returncode, mine.stdout) == (0, duck.stdout), (query, mine.stderr)


def test_load_and_query_on_local_spark_print_the_duckdb_bytes(spark_env, files, tmp_path):
    """docs/scale.md#running-on-spark: ``--spark-master 'local[2]'`` runs Spark inside the command itself; the
    executable's load report and answer are the DuckDB commands'."""
    db = tmp_path / "store.duckdb"
    duck_report = duck_load(files, db)
    on_local = ["--engine", "spark", "--lake", str(tmp_path / "lake"), "--spark-master", "local[2]"]
    same_load_report(insights(spark_env, "load", *on_local, *first_load(files)), duck_report)
    query = ["attribution", *WINDOW, "--conversions", "all", "--format", "csv"]
    mine = insights(spark_env, query[0], *on_local, *query[1:])
    duck = insights_here(query[0], "--db", str(db), *query[1:])
    assert (mine.returncode, mine.stdout) == (0, duck.stdout), mine.stderr


class LineWaiter:
    """Reads a process's stderr on a thread, so that waiting for a line has a deadline (a stuck load fails
    the test instead of hanging it); keeps every line for the failure message."""

    def __init__(self, process: subprocess.Popen) -> None:
        assert process.stderr is not None
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(process.stderr,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, text: str, timeout: float) -> bool:
        """True once a line containing ``text`` arrived; False at the end of the stream or the deadline."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                return False
            if line is None:
                return False
            self.lines.append(line)
            if text in line:
                return True
        return False


def drafts(lake: Path) -> set[str]:
    """The lake's version directories other than the current one: loads under way or killed."""
    current = Lake(lake).current()
    return {path.name for path in (lake / VERSIONS).iterdir() if current is None or path.name != current.name}


def test_a_refused_load_and_a_killed_load_leave_the_previous_answers(spark_env, connect_url, files, stores, tmp_path):
    """docs/data.md#loading-rules: the DuckDB load's message and exit status 2. docs/scale.md#the-lake: a load
    killed mid-way (SIGKILL, once its rows are staged in its draft) never reaches the pointer: the version and
    the answers stay. (An appending load's rows and answers are test_load.py's; the next writer's removal of the
    draft is test_lake.py's.)"""
    db, lake = stores.db, tmp_path / "lake"
    shutil.copytree(stores.lake, lake)  # a lake is a directory: a copy is the same lake, ours to change
    duck_db = tmp_path / "store.duckdb"
    duck_load(files, duck_db)
    version = Lake(lake).current()
    on_spark = ["--engine", "spark", "--lake", str(lake), "--spark-master", connect_url]
    answer = ["query", *WINDOW]
    before = insights_here(answer[0], "--db", str(db), *answer[1:])

    duck = insights_here("load", "--db", str(duck_db), "--sessions", str(files / "bad.csv"))
    mine = insights_here("load", *on_spark, "--sessions", str(files / "bad.csv"))
    assert (mine.returncode, mine.stderr.splitlines()[-1]) == (2, duck.stderr.splitlines()[-1])
    assert "duplicate id" in mine.stderr and "Traceback" not in mine.stderr

    killed = subprocess.Popen(
        [INSIGHTS, "load", *on_spark, "--sessions", str(files / "more.csv")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=spark_env,
    )
    try:
        progress = LineWaiter(killed)
        assert progress.wait_for(KILL_AT, timeout=600), "".join(progress.lines)
        assert drafts(lake), "the load reported progress but has no draft version"
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=60)
    assert killed.returncode == -signal.SIGKILL, "the load ended before it was killed"
    assert Lake(lake).current() == version
    after = insights_here(answer[0], *on_spark, *answer[1:])
    assert (after.returncode, after.stdout) == (0, before.stdout), after.stderr


@pytest.mark.parametrize("master", ["local", "local[2]", "local[*]", "spark://10.0.0.5:7077", "sc://localhost:15002",
                                    "sc://h:15002/;user_id=a", "yarn", "k8s://https://k:6443"])
def test_spark_master_urls_are_accepted(master):
    assert engine_settings("spark", "/data/lake", master, names=FLAG_NAMES).master == master


@pytest.mark.parametrize(("engine", "lake", "master", "message"), [
    ("oracle", None, None, "--engine must be one of duckdb, spark"),
    ("spark", None, None, "give --lake"),
    ("spark", "/l", "http://x", "--spark-master: not a Spark master URL"),
    (None, "/l", None, "--lake needs --engine spark"),
])
def test_bad_engine_settings_say_which_flag(engine, lake, master, message):
    with pytest.raises(EngineSettingsError, match=message):
        engine_settings(engine, lake, master, names=FLAG_NAMES)


def test_serve_refuses_bad_engine_settings_from_the_environment(tmp_path):
    """docs/api.md#command-line: INSIGHTS_ENGINE and friends are checked before the server starts; exit 2."""
    import os

    import insights_core

    db = tmp_path / "store.duckdb"
    insights_core.connect(db).close()
    env = {**os.environ, "INSIGHTS_ENGINE": "spark", "INSIGHTS_LAKE": ""}
    result = insights(env, "serve", "--db", str(db), "--insecure-no-auth", timeout=60)
    assert result.returncode == 2 and "give INSIGHTS_LAKE" in result.stderr, result.stderr
