"""docs/api.md#command-line: the ``insights`` command line, run as the installed console script.

These run the real executable in a subprocess, so they also prove that
``.venv/bin/insights`` is installed and that errors never show a traceback.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

import insights_core
from insights_core.storefile import StoreFile
from insights_core.tables import attribution_table, breakdown_table, channel_table, to_csv, trend_table

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
    """docs/api.md#command-line `insights demo`: the store holds the demo and the load report is printed."""
    with StoreFile(demo_db).snapshot() as con:
        sessions, users = con.execute("SELECT count(*), count(DISTINCT user_id) FROM sessions").fetchone()
    assert users == 400 and sessions > 400


def test_demo_refuses_to_overwrite_data_without_replace(demo_db):
    """A demo never silently replaces a user's stored data."""
    result = insights("demo", "--db", str(demo_db), "--users", "10")
    assert result.returncode == 2
    assert "already holds" in result.stderr and "--replace" in result.stderr


def test_query_flags_and_params_json_agree_with_the_core(demo_db):
    """docs/api.md#command-line `insights query`: --params JSON and one flag per parameter, same document as the core."""
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
    """docs/api.md#command-line: a bad parameter prints the error on stderr and exits 2, never a traceback."""
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
    """docs/metrics.md#cohort through the CLI: exit 0 with exactly the message document."""
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


WHOLE_RANGE = {"start_date": "2000-01-01", "end_date": "2100-12-31"}


def test_channel_flag_is_the_channel_parameter(demo_db):
    """--channel filters sessions by medium/source, as the channel key of --params does."""
    by_flag = insights("query", "--db", str(demo_db), "--params", json.dumps(WHOLE_RANGE), "--channel", "organic/google.com")
    by_json = insights("query", "--db", str(demo_db), "--params", json.dumps({**WHOLE_RANGE, "channel": "organic/google.com"}))
    everyone = insights("query", "--db", str(demo_db), "--params", json.dumps(WHOLE_RANGE))
    assert by_flag.returncode == by_json.returncode == everyone.returncode == 0
    assert by_flag.stdout == by_json.stdout != everyone.stdout
    users = json.loads(by_flag.stdout)["overall_metrics"]["user_summary"]["total_users"]
    assert 0 < users < json.loads(everyone.stdout)["overall_metrics"]["user_summary"]["total_users"]


def test_format_csv_prints_the_channel_table_of_the_same_answer(demo_db):
    """--format csv: the channel table of exactly the answer the JSON carries, via the one CSV writer."""
    args = ["query", "--db", str(demo_db), "--params", json.dumps(WHOLE_RANGE), "--touch-scope", "converting"]
    as_json, as_csv = insights(*args), insights(*args, "--format", "csv")
    assert as_json.returncode == as_csv.returncode == 0
    assert as_csv.stdout == to_csv(channel_table(json.loads(as_json.stdout)))
    assert as_csv.stdout.startswith("channel,total_sessions,total_users,")
    assert insights(*args, "--format", "json").stdout == as_json.stdout


def test_format_csv_of_an_empty_cohort_is_the_header_and_the_message_on_stderr(demo_db):
    result = insights("query", "--db", str(demo_db), "--source", "no-such-source.example", "--format", "csv")
    assert result.returncode == 0
    assert result.stdout.count("\n") == 1 and result.stdout.startswith("channel,")
    assert "No page data found for the given parameters." in result.stderr


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--params", '{"source": ' + "9" * 5000 + "}"], "more than 4,300 digits"),
        (["--params", '{"source": [' + "9" * 5000 + "]}"], "more than 4,300 digits"),
        (["--params", '{"end_date": NaN}'], "'NaN' is not a JSON value"),
        (["--params", "[" * 50_000 + "]" * 50_000], "nested too deeply"),
        (["--params", json.dumps({"touch_scope": "x" * 70_000})], "(70,000 characters)"),
        (["--params", json.dumps({"lookback_days": 30})], "lookback_days is a parameter of /attribution"),
        (["--format", "xml"], "invalid choice"),
        (["--channel-group"], "expected one argument"),
    ],
)
def test_hostile_params_are_one_short_line_and_exit_2(demo_db, args, fragment):
    """A 5,000-digit number, NaN, deep nesting, a 70 KB value: exit 2, one short line, no traceback."""
    result = insights("query", "--db", str(demo_db), *args)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("insights: error:")]
    assert len(errors) == 1 and fragment in errors[0], result.stderr
    assert len(errors[0]) < 600 and "Traceback" not in result.stderr and result.stdout == ""


def test_hostile_stored_values_reach_the_csv_as_text(tmp_path):
    """A visitor's utm_medium==HYPERLINK(…) loaded by `insights load` leaves `--format csv` guarded."""
    sessions = tmp_path / "sessions.csv"
    sessions.write_text(
        "session_id,user_id,started_at,landing_page,utm_source\n"
        's1,u1,2025-07-01T10:00:00Z,"https://acme.test/?utm_medium=%3DHYPERLINK(%22http://evil.example%22,%22click%22)",\n'
        "s2,u2,2025-07-01T11:00:00Z,https://acme.test/,@SUM(1)\n"
        "s3,u3,2025-07-01T12:00:00Z,https://acme.test/,+1+1\n"
        "s4,u4,2025-07-01T13:00:00Z,https://acme.test/?utm_medium=-2%2B3,\n"
    )
    db = tmp_path / "hostile.duckdb"
    assert insights("load", "--db", str(db), "--sessions", str(sessions)).returncode == 0
    result = insights("query", "--db", str(db), "--start-date", "2025-07-01", "--end-date", "2025-07-01", "--format", "csv")
    assert result.returncode == 0, result.stderr
    cells = sorted(row[0] for row in csv.reader(io.StringIO(result.stdout, newline="")))
    # A hostile medium starts the channel (medium/source) and is guarded; a hostile source follows "(none)/".
    assert cells == sorted([
        "channel", "'=HYPERLINK(\"http://evil.example\",\"click\")/(direct)", "(none)/@SUM(1)", "(none)/+1+1",
        "'-2+3/(direct)",
    ])


# --- the query commands' shared declaration (in-process: the parser and the request body) ---------

def _endpoint_parser(endpoint: str):
    """A parser with one query command for ``endpoint``, declared as the coming commands will be."""
    import argparse

    from insights_core import params as parameters
    from insights_core.cli import QueryCommand, add_query_command

    parse = {"insights": parameters.parse_params, "attribution": parameters.parse_attribution_params,
             "timeseries": parameters.parse_timeseries_params, "breakdown": parameters.parse_breakdown_params}
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command")
    command = QueryCommand(endpoint, "answer it", endpoint, parse[endpoint], insights_core.compute_insights, channel_table)
    add_query_command(commands, command)
    return parser, command


@pytest.mark.parametrize("endpoint", ["insights", "attribution", "timeseries", "breakdown"])
def test_every_endpoint_gets_params_one_flag_per_parameter_and_format(endpoint):
    from insights_core.cli import parameter_flag
    from insights_core.vocabulary import ENDPOINT_PARAMETERS

    parser, _ = _endpoint_parser(endpoint)
    [sub] = [action for action in parser._actions if action.dest == "command"][0].choices.values()
    flags = {option for action in sub._actions for option in action.option_strings if option.startswith("--")}
    assert flags == {"--help", "--db", "--engine", "--lake", "--spark-master", "--params", "--format",
                     *(parameter_flag(name) for name in ENDPOINT_PARAMETERS[endpoint])}  # docs/scale.md#running-on-spark


def test_numeric_flags_become_numbers_and_bad_ones_name_the_parameter():
    from insights_core.cli import request_body
    from insights_core.vocabulary import ENDPOINT_PARAMETERS

    parser, command = _endpoint_parser("attribution")
    names = ENDPOINT_PARAMETERS["attribution"]
    args = parser.parse_args(["attribution", "--db", "x.duckdb", "--params", '{"top_paths": 5, "lookback_days": 9}',
                              "--lookback-days", "30", "--half-life-days", "2.5", "--conversions", "all"])
    body = request_body(args, names)
    assert body == {"top_paths": 5, "lookback_days": 30, "half_life_days": 2.5, "conversions": "all"}
    parsed = command.parse(body)
    assert (parsed.lookback_days, parsed.half_life_days, parsed.top_paths) == (30, 2.5, 5)
    bad = parser.parse_args(["attribution", "--db", "x.duckdb", "--lookback-days", "thirty"])
    with pytest.raises(insights_core.ParameterError) as caught:
        request_body(bad, names)
    assert caught.value.field == "lookback_days"


# --- insights attribution (docs/api.md#command-line, docs/metrics.md#attribution) ----------------

def _core_attribution(db: Path, params: dict) -> dict:
    with StoreFile(db).snapshot() as con:
        return insights_core.compute_attribution(con, params)


def test_attribution_flags_and_params_json_agree_with_the_core(demo_db):
    """The same answer from --params, from one flag per parameter, and from compute_attribution."""
    params = {"start_date": "2000-01-01", "end_date": "2100-12-31", "medium": "organic",
              "lookback_days": 30, "half_life_days": 2.5, "conversions": "all", "top_paths": 3}
    by_json = insights("attribution", "--db", str(demo_db), "--params", json.dumps(params))
    by_flags = insights("attribution", "--db", str(demo_db), "--start-date", "2000-01-01", "--end-date", "2100-12-31",
                        "--medium", "organic", "--lookback-days", "30", "--half-life-days", "2.5",
                        "--conversions", "all", "--top-paths", "3")
    assert by_json.returncode == by_flags.returncode == 0, by_json.stderr + by_flags.stderr
    assert by_json.stdout == by_flags.stdout == insights_core.to_json(_core_attribution(demo_db, params))
    answer = json.loads(by_json.stdout)["attribution"]
    assert answer["conversions"] > 0 and len(answer["paths"]) == 3


def test_attribution_csv_is_the_channel_table_of_the_same_answer(demo_db):
    """--format csv: a row per channel, a column per model for conversions, then one per model for value."""
    args = ["attribution", "--db", str(demo_db), "--start-date", "2000-01-01", "--end-date", "2100-12-31"]
    as_json, as_csv = insights(*args), insights(*args, "--format", "csv")
    assert as_json.returncode == as_csv.returncode == 0
    answer = json.loads(as_json.stdout)
    assert as_csv.stdout == to_csv(attribution_table(answer))
    header, *rows = list(csv.reader(io.StringIO(as_csv.stdout, newline="")))
    models = ["first_touch", "last_touch", "last_non_direct", "linear", "position_based", "time_decay", "data_driven"]
    assert header == ["channel", *(f"{m}_conversions" for m in models), *(f"{m}_value" for m in models)]
    assert [row[0] for row in rows] == [c["channel"] for c in answer["attribution"]["channels"]]
    first = answer["attribution"]["channels"][0]
    assert rows[0][1:] == [f"{first[measure][m]:.2f}" for measure in ("conversions", "value") for m in models]


def test_attribution_of_an_empty_cohort(demo_db):
    as_json = insights("attribution", "--db", str(demo_db), "--source", "no-such-source.example")
    assert as_json.returncode == 0 and json.loads(as_json.stdout) == {"message": insights_core.NO_DATA_MESSAGE}
    as_csv = insights("attribution", "--db", str(demo_db), "--source", "no-such-source.example", "--format", "csv")
    assert as_csv.returncode == 0 and as_csv.stdout.count("\n") == 1 and as_csv.stdout.startswith("channel,")
    assert insights_core.NO_DATA_MESSAGE in as_csv.stderr


@pytest.mark.parametrize("args, fragment", [
    (["--lookback-days", "0"], "lookback_days must be a whole number from 1 to 365, got 0"),
    (["--lookback-days", "thirty"], "lookback_days"),
    (["--half-life-days", "0"], "half_life_days must be a number greater than 0"),
    (["--conversions", "last"], "conversions must be one of first, all"),
    (["--top-paths", "1001"], "top_paths"),
    (["--params", '{"interval": "day"}'], "interval is a parameter of /timeseries"),
    (["--params", '{"lookback_days": "90"}'], "lookback_days must be a whole number"),
    (["--interval", "day"], "unrecognized arguments"),
])
def test_attribution_bad_input_is_one_line_exit_2(demo_db, args, fragment):
    result = insights("attribution", "--db", str(demo_db), *args)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("insights: error:")]
    assert len(errors) == 1 and fragment in errors[0], result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
# --- insights timeseries, insights breakdown (docs/metrics.md#trend, docs/metrics.md#breakdown) ------------

def _recent_window(db: Path) -> dict:
    """The last 60 whole days of the demo (explicit dates, so every run asks the same question)."""
    with StoreFile(db).snapshot() as con:
        last = con.execute("SELECT max(started_at) FROM sessions").fetchone()[0].date()
    return {"start_date": (last - timedelta(days=59)).isoformat(), "end_date": last.isoformat()}


@pytest.mark.parametrize(
    "command, own, flags",
    [
        ("timeseries", {"interval": "week", "medium": "organic"}, ["--interval", "week", "--medium", "organic"]),
        ("breakdown", {"dimension": "campaign", "limit": 5, "touch_scope": "converting"},
         ["--dimension", "campaign", "--limit", "5", "--touch-scope", "converting"]),
    ],
)
def test_timeseries_and_breakdown_print_the_core_answer_as_json_and_its_table_as_csv(demo_db, command, own, flags):
    """--params and the flags give the same bytes, those of to_json(core answer); --format csv is its table
    through the one CSV writer (docs/api.md#csv-output)."""
    window = _recent_window(demo_db)
    params = {**window, **own}
    by_json = insights(command, "--db", str(demo_db), "--params", json.dumps(params))
    by_flags = insights(command, "--db", str(demo_db), "--start-date", window["start_date"],
                        "--end-date", window["end_date"], *flags)
    as_csv = insights(command, "--db", str(demo_db), "--params", json.dumps(params), "--format", "csv")
    assert by_json.returncode == by_flags.returncode == as_csv.returncode == 0, by_json.stderr + as_csv.stderr
    compute, table = {"timeseries": (insights_core.compute_timeseries, trend_table),
                      "breakdown": (insights_core.compute_breakdown, breakdown_table)}[command]
    with StoreFile(demo_db).snapshot() as con:
        expected = compute(con, params)
    assert by_json.stdout == by_flags.stdout == insights_core.to_json(expected)
    assert as_csv.stdout == to_csv(table(expected)) and as_csv.stderr == ""
    rows = list(csv.reader(io.StringIO(as_csv.stdout, newline="")))
    if command == "timeseries":
        assert rows[0] == ["start", "sessions", "users", "converting_sessions", "converted_users"]
        assert len(rows) - 1 == len(expected["timeseries"]["buckets"]) >= 9
        assert sum(int(row[1]) for row in rows[1:]) > 0
    else:
        assert rows[0][0] == own["dimension"] and rows[0][-1] == "conversion_rate_pct"
        assert 0 < len(rows) - 1 == len(expected["breakdown"]["rows"]) <= own.get("limit", 100)


@pytest.mark.parametrize(
    "args, field",
    [
        (["timeseries", "--interval", "hour"], "interval"),
        (["timeseries", "--start-date", "2000-01-01", "--end-date", "2020-01-01"], "interval"),  # 7,306 days
        (["breakdown"], "dimension is required"),
        (["breakdown", "--dimension", "campaign", "--limit", "ten"], "limit"),
        (["breakdown", "--params", '{"dimension": "campaign", "interval": "day"}'], "interval is a parameter of /timeseries"),
    ],
)
def test_bad_trend_or_breakdown_parameter_is_one_line_and_exit_2(demo_db, args, field):
    result = insights(args[0], "--db", str(demo_db), *args[1:])
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("insights: error:") and field in lines[0], result.stderr
    assert result.stdout == ""


def test_empty_trend_and_breakdown_are_answers_not_messages(demo_db):
    """docs/metrics.md#trend and #breakdown: an empty cohort is zero counts (every bucket) or no rows, exit 0."""
    window = _recent_window(demo_db)
    trend = insights("timeseries", "--db", str(demo_db), "--params", json.dumps(window), "--source", "nope.example",
                     "--interval", "month", "--format", "csv")
    assert trend.returncode == 0 and trend.stderr == ""
    lines = trend.stdout.splitlines()
    assert lines[0] == "start,sessions,users,converting_sessions,converted_users" and len(lines) in (3, 4)
    assert all(line.endswith(",0,0,0,0") for line in lines[1:])
    breakdown = insights("breakdown", "--db", str(demo_db), "--params", json.dumps(window), "--source", "nope.example",
                         "--dimension", "source")
    assert breakdown.returncode == 0 and json.loads(breakdown.stdout) == {"breakdown": {"dimension": "source", "rows": []}}
