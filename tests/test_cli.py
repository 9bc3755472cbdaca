"""SPEC 5: the ``insights`` command line, run as the installed console script.

These run the real executable in a subprocess, so they also prove that
``.venv/bin/insights`` is installed and that errors never show a traceback.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import insights_core
from insights_core.storefile import StoreFile

INSIGHTS = shutil.which("insights", path=str(Path(sys.executable).parent))


def insights(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([INSIGHTS, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("cli") / "demo.duckdb"
    result = insights("demo", "--db", str(db), "--users", "400", "--seed", "3")
    assert result.returncode == 0, result.stderr
    return db


def test_console_script_is_installed():
    """After `make install`, .venv/bin/insights is the command line."""
    assert INSIGHTS is not None and Path(INSIGHTS).parent == Path(sys.executable).parent


def test_demo_reports_what_it_stored(demo_db):
    """SPEC 5 `insights demo`: the store holds the demo and the load report is printed."""
    with StoreFile(demo_db).snapshot() as con:
        sessions, users = con.execute("SELECT count(*), count(DISTINCT user_id) FROM sessions").fetchone()
    assert users == 400 and sessions > 400


def test_demo_refuses_to_overwrite_data_without_replace(demo_db):
    """A demo never silently replaces a user's stored data."""
    result = insights("demo", "--db", str(demo_db), "--users", "10")
    assert result.returncode == 2
    assert "already holds" in result.stderr and "--replace" in result.stderr


def test_query_flags_and_params_json_agree_with_the_core(demo_db):
    """SPEC 5 `insights query`: --params JSON and one flag per parameter, same document as the core."""
    params = {"start_date": "2000-01-01", "end_date": "2100-12-31", "medium": "organic", "touch_scope": "assist"}
    by_json = insights("query", "--db", str(demo_db), "--params", json.dumps(params))
    by_flags = insights(
        "query", "--db", str(demo_db), "--start-date", "2000-01-01", "--end-date", "2100-12-31",
        "--medium", "organic", "--touch-scope", "assist",
    )
    assert by_json.returncode == by_flags.returncode == 0
    assert by_json.stdout == by_flags.stdout
    with StoreFile(demo_db).snapshot() as con:
        expected = insights_core.compute_insights(con, params)
    assert json.loads(by_json.stdout) == expected
    assert by_json.stdout == insights_core.to_json(expected)
    assert expected["overall_metrics"]["user_summary"]["total_users"] > 0


def test_flag_overrides_the_same_key_in_params(demo_db):
    """A flag wins over --params for the same parameter."""
    base = {"start_date": "2000-01-01", "end_date": "2100-12-31", "touch_scope": "first"}
    overridden = insights("query", "--db", str(demo_db), "--params", json.dumps(base), "--touch-scope", "after")
    direct = insights("query", "--db", str(demo_db), "--params", json.dumps({**base, "touch_scope": "after"}))
    assert overridden.stdout == direct.stdout


@pytest.mark.parametrize(
    "args, field",
    [
        (["--touch-scope", "sometimes"], "touch_scope"),
        (["--start-date", "2025-02-30"], "start_date"),
        (["--start-date", "2025-08-01", "--end-date", "2025-07-01"], "start_date"),
        (["--params", '{"colour": "red"}'], "colour"),
        (["--params", '{"source": 3}'], "source"),
    ],
)
def test_bad_parameter_prints_one_line_and_exits_2(demo_db, args, field):
    """SPEC 5: a bad parameter prints the error on stderr and exits 2, never a traceback."""
    result = insights("query", "--db", str(demo_db), *args)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("insights: error:") and field in lines[0]


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["query", "--db", "/nonexistent/x.duckdb"], "no database at"),
        (["query", "--db", "{db}", "--params", '{"a": 1,}'], "line 1 column 9"),
        (["query", "--db", "{db}", "--params", "[1]"], "JSON object"),
        (["load", "--db", "{db}"], "--sessions"),
        (["load", "--db", "{db}", "--sessions", "/nonexistent/s-*.csv"], "no such file"),
        (["demo", "--db", "{db}", "--users", "0"], "at least 1"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_exit_2(demo_db, args, fragment):
    """Every kind of bad input: one `insights: error:` line, status 2, no traceback."""
    result = insights(*[arg.replace("{db}", str(demo_db)) for arg in args])
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("insights: error:")]
    assert len(errors) == 1 and fragment in errors[0], result.stderr
    assert "Traceback" not in result.stderr


def test_empty_cohort_prints_the_spec_message(demo_db):
    """SPEC 3.4 through the CLI: exit 0 with exactly the message document."""
    result = insights("query", "--db", str(demo_db), "--source", "no-such-source.example")
    assert result.returncode == 0
    assert json.loads(result.stdout) == {"message": "No page data found for the given parameters."}


def test_load_prints_progress_and_report(tmp_path):
    """`insights load`: progress on stderr, what was stored on stdout, ignored columns reported."""
    sessions = tmp_path / "s.csv"
    sessions.write_text("session_id,user_id,started_at,browser\ns1,u1,2025-07-01T00:00:00Z,firefox\n")
    result = insights("load", "--db", str(tmp_path / "x.duckdb"), "--sessions", str(sessions))
    assert result.returncode == 0, result.stderr
    assert "stored 1 session and 0 conversions" in result.stdout
    assert "sessions: ignored columns: browser" in result.stdout
    assert "reading sessions" in result.stderr and "recomputing user journeys" in result.stderr
