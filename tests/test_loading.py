"""Loading sessions and conversions, all or nothing (docs/data.md).

Every loading rule (docs/data.md#loading-rules) gets a file that breaks it; the load must fail with a
message naming the file, the rule, the count of bad rows and up to five row
numbers (data rows counted from 1, the header excluded), and leave the
store exactly as it was.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import insights_core
from insights_core.cli import main as cli_main

SESSIONS_HEADER = "session_id,user_id,started_at,exited_at,landing_page,referrer"
GOOD_SESSIONS = f"""{SESSIONS_HEADER}
s1,u1,2025-07-01T10:00:00Z,2025-07-01T10:05:00Z,https://acme.test/,
s2,u1,2025-07-02T10:00:00Z,,https://acme.test/pricing,https://www.google.com/
s3,u2,2025-07-03T10:00:00Z,2025-07-03T10:01:00Z,https://acme.test/,
"""
CONVERSIONS_HEADER = "conversion_id,session_id,converted_at,conversion_page,meta_type,meta_id"
GOOD_CONVERSIONS = f"""{CONVERSIONS_HEADER}
c1,s2,2025-07-02T10:03:00Z,https://acme.test/demo,hubspot_form,f1
"""


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return str(path)


def contents(con) -> dict[str, list[tuple]]:
    """Every stored table's rows, sorted, for before/after comparison."""
    tables = ["sessions", "conversions", "users", "user_channels", "channel_rules"]
    return {table: sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=repr) for table in tables}


@pytest.fixture
def stored(tmp_path):
    """A store holding the good files, and its contents."""
    con = insights_core.connect(tmp_path / "store.duckdb")
    insights_core.load(con, write(tmp_path, "good_s.csv", GOOD_SESSIONS), write(tmp_path, "good_c.csv", GOOD_CONVERSIONS))
    yield con, contents(con)
    con.close()


def failing_load(con, tmp_path, sessions: str | None = None, conversions: str | None = None, **options):
    """Load text files that must fail; return the error."""
    s = write(tmp_path, "bad_sessions.csv", sessions) if sessions is not None else None
    c = write(tmp_path, "bad_conversions.csv", conversions) if conversions is not None else None
    with pytest.raises(insights_core.LoadError) as caught:
        insights_core.load(con, s, c, **options)
    return caught.value


# --- docs/data.md#loading-rules: each rule, with the store unchanged -------------------------------

def test_missing_required_column_names_file_and_column(stored, tmp_path):
    """docs/data.md#loading-rules rule "missing required column" (docs/data.md#sessions: user_id is required)."""
    con, before = stored
    error = failing_load(con, tmp_path, sessions="session_id,started_at\ns9,2025-07-01T00:00:00Z\n")
    assert "bad_sessions.csv" in str(error) and "missing required column" in str(error) and "user_id" in str(error)
    assert contents(con) == before


def test_missing_required_value_counts_rows(stored, tmp_path):
    """docs/data.md#loading-rules rule "missing required value": blank ids and start times, rows counted from 1."""
    con, before = stored
    error = failing_load(con, tmp_path, sessions=f"""
        {SESSIONS_HEADER}
        s10,u1,2025-07-01T00:00:00Z,,,
        ,u1,2025-07-01T00:00:00Z,,,
        s12,,2025-07-01T00:00:00Z,,,
        s13,u1,,,,
        s14,u1,2025-07-01T00:00:00Z,,,
    """)
    (violation,) = error.violations
    assert violation.rule == "missing required value"
    assert violation.file.endswith("bad_sessions.csv")
    assert (violation.count, violation.rows) == (3, (2, 3, 4))
    assert 'rule "missing required value": 3 bad rows (rows 2, 3, 4)' in str(error)
    assert contents(con) == before


def test_at_most_five_example_rows(stored, tmp_path):
    """docs/data.md#loading-rules: the message gives the count of bad rows and up to 5 example row numbers."""
    con, before = stored
    rows = "\n".join(f"x{i},u1,not-a-time,,," for i in range(1, 9))
    error = failing_load(con, tmp_path, sessions=f"{SESSIONS_HEADER}\n{rows}\n")
    (violation,) = error.violations
    assert (violation.rule, violation.count, violation.rows) == ("unparseable timestamp", 8, (1, 2, 3, 4, 5))
    assert contents(con) == before


@pytest.mark.parametrize("value", ["2025-02-30T00:00:00Z", "yesterday", "01/07/2025", "2025-07-01T25:00:00"])
def test_unparseable_timestamp(stored, tmp_path, value):
    """docs/data.md#loading-rules rule "unparseable timestamp", in started_at and in the optional exited_at."""
    con, before = stored
    error = failing_load(con, tmp_path, sessions=f"""
        {SESSIONS_HEADER}
        s20,u1,{value},,,
        s21,u1,2025-07-01T00:00:00Z,{value},,
    """)
    (violation,) = error.violations
    assert (violation.rule, violation.rows) == ("unparseable timestamp", (1, 2))
    assert contents(con) == before


def test_duplicate_id_within_a_file(stored, tmp_path):
    """docs/data.md#loading-rules rule "duplicate id": every row carrying a repeated id is reported."""
    con, before = stored
    error = failing_load(con, tmp_path, sessions=f"""
        {SESSIONS_HEADER}
        s30,u1,2025-07-01T00:00:00Z,,,
        s31,u1,2025-07-01T00:00:00Z,,,
        s30,u2,2025-07-02T00:00:00Z,,,
    """)
    (violation,) = error.violations
    assert (violation.rule, violation.count, violation.rows) == ("duplicate id", 2, (1, 3))
    assert contents(con) == before


def test_duplicate_id_already_stored(stored, tmp_path):
    """docs/data.md#loading-rules: loading again appends; a row whose id is already stored fails the load."""
    con, before = stored
    error = failing_load(
        con, tmp_path,
        sessions=f"{SESSIONS_HEADER}\ns40,u9,2025-07-01T00:00:00Z,,,\ns1,u9,2025-07-01T00:00:00Z,,,\n",
        conversions=f"{CONVERSIONS_HEADER}\nc1,s40,2025-07-01T00:00:01Z,,,\n",
    )
    assert [(v.rule, v.rows) for v in error.violations] == [("duplicate id", (2,)), ("duplicate id", (1,))]
    assert contents(con) == before


def test_replace_accepts_stored_ids_and_drops_old_data(stored, tmp_path):
    """docs/data.md#loading-rules: unless the user asks to replace the stored data."""
    con, _ = stored
    insights_core.load(
        con, write(tmp_path, "new.csv", f"{SESSIONS_HEADER}\ns1,u7,2025-08-01T00:00:00Z,,,\n"), replace=True
    )
    assert con.execute("SELECT session_id, user_id FROM sessions").fetchall() == [("s1", "u7")]
    assert con.execute("SELECT count(*) FROM conversions").fetchone() == (0,)


def test_exited_before_started(stored, tmp_path):
    """docs/data.md#loading-rules, docs/data.md#sessions: exited_at, when present, is >= started_at (offsets compared in UTC)."""
    con, before = stored
    error = failing_load(con, tmp_path, sessions=f"""
        {SESSIONS_HEADER}
        s50,u1,2025-07-01T10:00:00Z,2025-07-01T10:00:00Z,,
        s51,u1,2025-07-01T10:00:00Z,2025-07-01T11:30:00+02:00,,
    """)
    (violation,) = error.violations
    assert (violation.rule, violation.rows) == ("exited_at before started_at", (2,))
    assert contents(con) == before


def test_conversion_before_its_session_start(stored, tmp_path):
    """docs/data.md#loading-rules, docs/data.md#conversions: converted_at >= the session's started_at, for stored and new sessions."""
    con, before = stored
    error = failing_load(
        con, tmp_path,
        sessions=f"{SESSIONS_HEADER}\ns60,u1,2025-07-05T10:00:00Z,,,\n",
        conversions=f"""
            {CONVERSIONS_HEADER}
            c60,s60,2025-07-05T09:59:59Z,,,
            c61,s1,2025-07-01T09:00:00Z,,,
            c62,s60,2025-07-05T10:00:00Z,,,
        """,
    )
    (violation,) = error.violations
    assert (violation.rule, violation.count, violation.rows) == ("conversion before its session start", 2, (1, 2))
    assert contents(con) == before


def test_conversion_of_unknown_session(stored, tmp_path):
    """docs/data.md#loading-rules, docs/data.md#conversions: a conversion's session must exist (stored or in the same load)."""
    con, before = stored
    error = failing_load(con, tmp_path, conversions=f"{CONVERSIONS_HEADER}\nc70,s1,2025-07-01T10:01:00Z,,,\nc71,nope,2025-07-01T10:00:00Z,,,\n")
    (violation,) = error.violations
    assert (violation.rule, violation.rows) == ("conversion of an unknown session", (2,))
    assert contents(con) == before


def test_several_rules_and_files_reported_together(stored, tmp_path):
    """docs/data.md#loading-rules: each broken rule is named with its own file."""
    con, before = stored
    error = failing_load(
        con, tmp_path,
        sessions=f"{SESSIONS_HEADER}\ns80,u1,2025-07-01T10:00:00Z,2025-07-01T09:00:00Z,,\n,u1,2025-07-01T10:00:00Z,,,\n",
        conversions=f"{CONVERSIONS_HEADER}\nc80,zzz,2025-07-01T10:00:00Z,,,\n",
    )
    message = str(error)
    assert 'bad_sessions.csv: rule "missing required value": 1 bad row (row 2)' in message
    assert 'bad_sessions.csv: rule "exited_at before started_at": 1 bad row (row 1)' in message
    assert 'bad_conversions.csv: rule "conversion of an unknown session": 1 bad row (row 1)' in message
    assert contents(con) == before


def test_glob_names_the_file_and_its_own_row_numbers(stored, tmp_path):
    """docs/data.md (a glob of files) and docs/data.md#loading-rules (the message names the file)."""
    con, before = stored
    write(tmp_path, "part-1.csv", f"{SESSIONS_HEADER}\np1,u1,2025-07-01T10:00:00Z,,,\np2,u1,2025-07-01T10:00:00Z,,,\n")
    write(tmp_path, "part-2.csv", f"{SESSIONS_HEADER}\np3,u1,2025-07-01T10:00:00Z,,,\np4,u1,bad,,,\n")
    with pytest.raises(insights_core.LoadError) as caught:
        insights_core.load(con, str(tmp_path / "part-*.csv"))
    (violation,) = caught.value.violations
    assert violation.file.endswith("part-2.csv") and violation.rows == (2,)
    assert contents(con) == before


def test_no_matching_file_is_an_error(stored, tmp_path):
    """A glob that matches nothing names the pattern."""
    con, before = stored
    with pytest.raises(insights_core.LoadError, match="nothing-here"):
        insights_core.load(con, str(tmp_path / "nothing-here-*.csv"))
    assert contents(con) == before


# --- what a successful load stores -------------------------------------------

def test_timestamp_forms_mixed_in_one_file(tmp_path):
    """docs/data.md#sessions: ISO 8601 with Z, with offsets, without offset (UTC), fractional seconds, mixed."""
    con = insights_core.connect(tmp_path / "t.duckdb")
    insights_core.load(con, write(tmp_path, "mixed.csv", f"""
        {SESSIONS_HEADER}
        a,u,2025-07-01T10:00:00Z,,,
        b,u,2025-07-01T12:00:00+02:00,,,
        c,u,2025-07-01T05:00:00-05:00,,,
        d,u,2025-07-01T10:00:00,,,
        e,u,2025-07-01 10:00:00.250,2025-07-01T10:00:01.5Z,,
    """))
    rows = dict(con.execute("SELECT session_id, started_at FROM sessions").fetchall())
    assert set(rows.values()) == {datetime(2025, 7, 1, 10, 0), datetime(2025, 7, 1, 10, 0, 0, 250000)}
    assert rows["e"] == datetime(2025, 7, 1, 10, 0, 0, 250000)
    assert con.execute("SELECT duration_us FROM sessions WHERE session_id = 'e'").fetchone() == (1_250_000,)


def test_parquet_with_typed_and_text_timestamps(tmp_path):
    """docs/data.md: Parquet files load like CSV; typed UTC timestamps are kept as they are."""
    table = pa.table({
        "session_id": ["p1", "p2"],
        "user_id": ["u1", "u1"],
        "started_at": pa.array([datetime(2025, 7, 1, 10), datetime(2025, 7, 2, 10)], pa.timestamp("us", tz="UTC")),
        "exited_at": ["2025-07-01T10:00:30+00:00", None],
    })
    pq.write_table(table, tmp_path / "s.parquet")
    con = insights_core.connect(tmp_path / "p.duckdb")
    report = insights_core.load(con, str(tmp_path / "s.parquet"))
    assert report.sessions_rows == 2
    assert con.execute("SELECT session_id, started_at, duration_us FROM sessions ORDER BY 1").fetchall() == [
        ("p1", datetime(2025, 7, 1, 10), 30_000_000), ("p2", datetime(2025, 7, 2, 10), None)
    ]


def test_ignored_columns_are_reported_once(tmp_path):
    """docs/data.md#sessions: extra columns are ignored and reported once as "ignored columns: …"."""
    con = insights_core.connect(tmp_path / "i.duckdb")
    report = insights_core.load(con, write(tmp_path, "x.csv", "session_id,user_id,started_at,browser,country\ns,u,2025-07-01T00:00:00Z,ff,de\n"))
    assert report.ignored_columns == {"sessions": ("browser", "country")}
    assert "sessions: ignored columns: browser, country" in report.lines()


def test_appending_sessions_recomputes_existing_users(tmp_path):
    """Roles are recomputed when a later load adds an earlier session to a stored user (docs/metrics.md#roles)."""
    con = insights_core.connect(tmp_path / "a.duckdb")
    insights_core.load(
        con,
        write(tmp_path, "s1.csv", f"{SESSIONS_HEADER}\nlater,u1,2025-07-05T00:00:00Z,,,\n"),
        write(tmp_path, "c1.csv", f"{CONVERSIONS_HEADER}\nk1,later,2025-07-05T00:01:00Z,,,\n"),
    )
    assert con.execute("SELECT is_first, is_attributed FROM sessions WHERE session_id = 'later'").fetchone() == (True, True)
    insights_core.load(con, write(tmp_path, "s2.csv", f"{SESSIONS_HEADER}\nearlier,u1,2025-07-01T00:00:00Z,,,\n"))
    flags = "session_id, timeline_position, is_first, is_converting, is_attributed"
    assert con.execute(f"SELECT {flags} FROM sessions ORDER BY timeline_position").fetchall() == [
        ("earlier", 1, True, False, True), ("later", 2, False, True, True)
    ]
    assert con.execute("SELECT session_count, time_to_convert_us FROM users").fetchone() == (2, (4 * 86400 + 60) * 10**6)


# --- atomicity beyond exceptions --------------------------------------------

def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_cli_failed_load_leaves_the_file_byte_identical(tmp_path, capsys):
    """docs/data.md#loading-rules via the CLI: exit 2, one line on stderr, database file untouched."""
    db = tmp_path / "cli.duckdb"
    assert cli_main(["load", "--db", str(db), "--sessions", write(tmp_path, "s.csv", GOOD_SESSIONS)]) == 0
    before = _digest(db)
    bad = write(tmp_path, "bad.csv", f"{SESSIONS_HEADER}\ns1,u1,2025-07-01T00:00:00Z,,,\n")
    capsys.readouterr()
    assert cli_main(["load", "--db", str(db), "--sessions", bad]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("insights: error: nothing was stored:") and "duplicate id" in err[-1]
    assert "Traceback" not in "\n".join(err)
    assert _digest(db) == before


KILLER = """
import os, signal, sys
from insights_core.storefile import StoreFile
from insights_core import load

def progress(stage, fraction):
    if stage == sys.argv[3]:
        os.kill(os.getpid(), signal.SIGKILL)

with StoreFile(sys.argv[1]).edit() as con:
    load(con, sys.argv[2], progress=progress)
"""


@pytest.mark.parametrize("stage", ["storing", "recomputing user journeys", "committing"])
def test_killed_mid_load_leaves_the_store_unchanged(tmp_path, stage):
    """docs/data.md#loading-rules: the database is unchanged after a failed load, also when the process is killed."""
    db = tmp_path / "k.duckdb"
    assert cli_main(["load", "--db", str(db), "--sessions", write(tmp_path, "s.csv", GOOD_SESSIONS)]) == 0
    before = _digest(db)
    more = write(tmp_path, "more.csv", f"{SESSIONS_HEADER}\nm1,u1,2025-07-09T00:00:00Z,,,\n")
    process = subprocess.run([sys.executable, "-c", KILLER, str(db), more, stage], capture_output=True)
    assert process.returncode == -signal.SIGKILL
    assert _digest(db) == before
    assert cli_main(["load", "--db", str(db), "--sessions", more]) == 0  # the next writer cleans up and succeeds
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    con = insights_core.connect(db, read_only=True)
    assert con.execute("SELECT count(*) FROM sessions").fetchone() == (4,)


# --- conversion values (docs/data.md#conversions) ------------------------------------------------

def test_value_is_stored_exactly_and_absent_is_null(tmp_path):
    """The optional value column: decimals kept to six places, empty or absent means NULL."""
    con = insights_core.connect(tmp_path / "v.duckdb")
    insights_core.load(
        con, write(tmp_path, "s.csv", GOOD_SESSIONS),
        write(tmp_path, "c.csv", f"""
            {CONVERSIONS_HEADER},value
            c1,s2,2025-07-02T10:03:00Z,,,,19.99
            c2,s2,2025-07-02T10:04:00Z,,,,
            c3,s3,2025-07-03T10:00:30Z,,,, 1e3 
            c4,s3,2025-07-03T10:00:31Z,,,,0.0000004
        """),
    )
    assert dict(con.execute("SELECT conversion_id, value FROM conversions").fetchall()) == {
        "c1": Decimal("19.99"), "c2": None, "c3": Decimal("1000"), "c4": Decimal("0"),
    }
    pq.write_table(pa.table({
        "conversion_id": ["p1", "p2"], "session_id": ["s1", "s1"],
        "converted_at": ["2025-07-01T10:01:00Z", "2025-07-01T10:02:00Z"], "value": [2.5, None],
    }), tmp_path / "c.parquet")
    insights_core.load(con, None, str(tmp_path / "c.parquet"))
    assert con.execute("SELECT value FROM conversions WHERE conversion_id LIKE 'p%' ORDER BY 1 NULLS LAST").fetchall() == [
        (Decimal("2.5"),), (None,)
    ]


def test_conversions_without_a_value_column_load_as_before(stored):
    con, _ = stored
    assert con.execute("SELECT value FROM conversions").fetchall() == [(None,)]


# --- bounded memory (issue: peak memory must not grow with the data) ------------------------------

def test_load_runs_under_its_memory_limit_and_spills_next_to_the_store(tmp_path):
    """DuckDB's share of the budget holds while the load runs and is restored after; it spills
    beside the store."""
    db = tmp_path / "m.duckdb"
    con = insights_core.connect(db)
    before = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    seen = []
    insights_core.load(
        con, write(tmp_path, "s.csv", GOOD_SESSIONS), memory_limit="256MB",
        progress=lambda stage, _: seen.append(con.execute("SELECT current_setting('memory_limit')").fetchone()[0]),
    )
    assert set(seen[1:-1]) == {"97.0 MiB"}  # 256 MB is 244 MiB, DuckDB gets 40% of it
    assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == before
    assert con.execute("SELECT current_setting('temp_directory')").fetchone()[0] == str(
        tmp_path / f".m.duckdb.spill-{os.getpid()}"
    )


def test_memory_limit_from_flag_then_environment_then_default(monkeypatch):
    from insights_core.ingest.memory import MEMORY_LIMIT_VARIABLE, default_memory_limit, memory_limit_setting

    monkeypatch.delenv(MEMORY_LIMIT_VARIABLE, raising=False)
    default = default_memory_limit()
    assert default.endswith("MiB") and 64 <= int(default[:-3]) <= 1024
    assert memory_limit_setting() == default
    monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, "2GB")
    assert memory_limit_setting() == "1907MiB"
    assert memory_limit_setting("512MiB") == "512MiB"
    for bad in ("lots", "12", "-1GB", "1 parsec"):
        with pytest.raises(insights_core.LoadError, match="is not a size"):
            memory_limit_setting(bad)
    with pytest.raises(insights_core.LoadError, match="at least 128MB"):
        memory_limit_setting("1MB")
    monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, "a lot")
    with pytest.raises(insights_core.LoadError, match=MEMORY_LIMIT_VARIABLE):
        memory_limit_setting()


def test_a_killed_loads_spill_directory_is_removed_by_the_next_load(tmp_path):
    db = tmp_path / "k.duckdb"
    abandoned = tmp_path / ".k.duckdb.spill-999999999"
    abandoned.mkdir()
    (abandoned / "duckdb_temp_storage-0.tmp").write_bytes(b"x")
    assert cli_main(["load", "--db", str(db), "--sessions", write(tmp_path, "s.csv", GOOD_SESSIONS)]) == 0
    assert not abandoned.exists()
    assert not [p for p in os.listdir(tmp_path) if "spill" in p]
