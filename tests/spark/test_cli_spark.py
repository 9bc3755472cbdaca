"""docs/scale.md#running-on-spark: the command line end to end with ``--engine spark --lake URI --spark-master URL``.

The real ``insights`` executable in subprocesses, against the two-worker
cluster through its Spark Connect server (``sc://``: a thin client, no JVM
per command, which a shared 2-core machine cannot afford for each of a dozen
commands; ``spark://`` is the test session's own application in the other
Spark tests, through the same ``spark_session``). Each output must be the DuckDB command's bytes
on the same files; a refused load says what the DuckDB load says and exits
2; a load killed mid-way leaves the previous answers.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from insights_core.engines.choice import EngineSettingsError, engine_settings, FLAG_NAMES
from insights_core.lake import Lake

INSIGHTS = str(Path(__import__("sys").executable).parent / "insights")

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
WINDOW = ["--start-date", "2025-07-01", "--end-date", "2025-07-31"]
QUERIES = [  # one run of each command (each costs a client and a Spark job); JSON and CSV both appear
    ["query", *WINDOW, "--channel-group", "Paid Search", "--format", "csv"],
    ["attribution", *WINDOW, "--conversions", "all"],
    ["timeseries", *WINDOW, "--interval", "week"],
    ["breakdown", *WINDOW, "--dimension", "campaign", "--format", "csv"],
]


def insights(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([INSIGHTS, *args], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("spark-cli")
    (directory / "sessions.csv").write_text(SESSIONS)
    (directory / "conversions.csv").write_text(CONVERSIONS)
    (directory / "more.csv").write_text(MORE_SESSIONS)
    return directory


def test_load_and_every_query_command_print_the_duckdb_bytes(spark_env, connect_url, files):
    """A load, an appending one, then every query command: stdout identical to the DuckDB commands' on the
    same files (docs/api.md#command-line)."""
    db, lake = str(files / "store.duckdb"), str(files / "lake")
    on_spark = ["--engine", "spark", "--lake", lake]
    loads = [
        ["--sessions", str(files / "sessions.csv"), "--conversions", str(files / "conversions.csv")],
        ["--sessions", str(files / "more.csv")],
    ]
    for load in loads:
        duck = insights(spark_env, "load", "--db", db, *load)
        mine = insights(spark_env, "load", *on_spark, "--spark-master", connect_url, *load)
        assert duck.returncode == 0 and mine.returncode == 0, mine.stderr
        assert mine.stdout.splitlines()[1:] == duck.stdout.splitlines()[1:]  # the first line holds the time taken
        assert mine.stdout.split(" in ")[0] == duck.stdout.split(" in ")[0]
    for query in QUERIES:
        duck = insights(spark_env, query[0], "--db", db, *query[1:])
        mine = insights(spark_env, query[0], *on_spark, "--spark-master", connect_url, *query[1:])
        assert (mine.returncode, mine.stdout) == (0, duck.stdout), (query, mine.stderr)


def test_a_refused_load_and_a_killed_load_leave_the_previous_answers(spark_env, connect_url, files, tmp_path):
    """docs/data.md#loading-rules: the DuckDB load's message and exit status 2; a load killed mid-way (SIGKILL)
    never reaches the pointer: the lake's version and the answers stay as they were."""
    lake = str(tmp_path / "lake")
    on_spark = ["--engine", "spark", "--lake", lake, "--spark-master", connect_url]
    first = insights(spark_env, "load", *on_spark, "--sessions", str(files / "sessions.csv"),
                     "--conversions", str(files / "conversions.csv"))
    assert first.returncode == 0, first.stderr
    version = Lake(lake).current()
    before = insights(spark_env, "query", *on_spark, *WINDOW)
    assert before.returncode == 0, before.stderr

    bad = tmp_path / "bad.csv"
    bad.write_text("session_id,user_id,started_at\ns1,u9,2025-08-01T10:00:00Z\nn2,,2025-08-01T10:00:00Z\n")
    duck_db = str(tmp_path / "store.duckdb")
    insights(spark_env, "load", "--db", duck_db, "--sessions", str(files / "sessions.csv"))
    duck = insights(spark_env, "load", "--db", duck_db, "--sessions", str(bad))
    mine = insights(spark_env, "load", *on_spark, "--sessions", str(bad))
    assert (mine.returncode, mine.stderr.splitlines()[-1]) == (2, duck.stderr.splitlines()[-1])
    assert "duplicate id" in mine.stderr and "Traceback" not in mine.stderr

    killed = subprocess.Popen(
        [INSIGHTS, "load", *on_spark, "--sessions", str(files / "more.csv")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=spark_env,
    )
    assert killed.stderr is not None
    for line in killed.stderr:  # progress lines: kill it once rows are being derived
        if "deriving channels" in line:
            break
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert Lake(lake).current() == version
    after = insights(spark_env, "query", *on_spark, *WINDOW)
    assert (after.returncode, after.stdout) == (0, before.stdout)


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
