"""Hostile and broken input files: each gets a clear message, never a traceback, and the store is untouched.

docs/data.md#loading-rules: a load that breaks a rule fails with a message
naming the file and the rule (and rows), exit status 2 on the command line,
and the database file stays byte-for-byte as it was. Every case below is
one bad file (or path, or database) and the words its message must hold.
A third of them run the installed ``insights`` command in a subprocess, the
others its ``main`` in this process.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from insights_core import cli

INSIGHTS = str(Path(sys.executable).with_name("insights"))
SESSIONS_HEADER = "session_id,user_id,started_at,exited_at,landing_page,referrer"
GOOD_SESSIONS = (
    f"{SESSIONS_HEADER}\n"
    "g1,u1,2025-07-01T10:00:00Z,2025-07-01T10:05:00Z,https://acme.test/,\n"
    "g2,u1,2025-07-02T10:00:00Z,,https://acme.test/?gclid=1,https://www.google.com/\n"
)
GOOD_CONVERSIONS = "conversion_id,session_id,converted_at,value\nk1,g2,2025-07-02T10:01:00Z,10\n"
CONVERSIONS_HEADER = "conversion_id,session_id,converted_at,conversion_page,meta_type,meta_id,value"

Writer = Callable[[Path], None]


def text(content: str) -> Writer:
    return lambda path: path.write_text(content, encoding="utf-8")


def raw(content: bytes) -> Writer:
    return lambda path: path.write_bytes(content)


def parquet(columns: dict[str, pa.Array]) -> Writer:
    return lambda path: pq.write_table(pa.table(columns), path)


def sessions_with_start(value: str, column: str = "started_at") -> Writer:
    """A sessions file whose second row has ``value`` in ``column``."""
    good = "2025-07-01T10:00:00Z"
    second = {"started_at": good, "exited_at": "", column: value}
    return text(
        "session_id,user_id,started_at,exited_at\n"
        f"h1,u9,{good},\n"
        f"h2,u9,{second['started_at']},{second['exited_at']}\n"
    )


def conversions_with_value(value: str) -> Writer:
    return text(f"{CONVERSIONS_HEADER}\nv1,g1,2025-07-01T10:01:00Z,,,,{value}\n")


def conversions_with(row: str) -> Writer:
    return text(f"{CONVERSIONS_HEADER}\n{row}\n")


def parquet_sessions(**overrides: pa.Array) -> Writer:
    columns = {
        "session_id": pa.array(["p1"]), "user_id": pa.array(["u9"]),
        "started_at": pa.array(["2025-07-01T10:00:00Z"]),
    }
    columns.update(overrides)
    return parquet(columns)


def parquet_conversions(**overrides: pa.Array) -> Writer:
    columns = {
        "conversion_id": pa.array(["q1"]), "session_id": pa.array(["g1"]),
        "converted_at": pa.array(["2025-07-01T10:01:00Z"]),
    }
    columns.update(overrides)
    return parquet(columns)


@dataclass(frozen=True)
class Case:
    """One bad input: the file the user gives, how it is given, and what the message must say."""

    name: str
    write: Writer | None
    file_name: str
    option: str  # --sessions, --conversions, --channel-rules, --channel-group-rules
    expect: tuple[str, ...]
    given_as: str | None = None  # a path or URL given instead of the written file
    extra: tuple[str, ...] = field(default=())


def case(name: str, write: Writer | None, file_name: str, option: str, *expect: str, **more) -> Case:
    return Case(name, write, file_name, option, expect, **more)


S, C = "--sessions", "--conversions"
TS_US = pa.timestamp("us")
CASES: list[Case] = [
    # --- rows that are not rows of the header ---
    case("extra field", text(f"{SESSIONS_HEADER}\nx1,u9,2025-07-01T10:00:00Z,,,,surplus\n"), "s.csv", S,
         "malformed row: 7 fields, header has 6 (data row 1)"),
    case("missing fields", text(f"{SESSIONS_HEADER}\nx1,u9,2025-07-01T10:00:00Z,,,\nx2,u9,2025-07-01T10:00:00Z\n"),
         "s.csv", S, "malformed row: 3 fields, header has 6 (data row 2)"),
    case("many malformed rows", text(f"{SESSIONS_HEADER}\n" + "".join(f"m{i},u9\n" for i in range(9))), "s.csv", S,
         "malformed row: 2 fields, header has 6 (data row 1; 9 such rows in all: rows 1, 2, 3, 4, 5)"),
    case("latin-1 in a data row", raw(b"session_id,user_id,started_at,landing_page\n"
                                      b"x1,u9,2025-07-01T10:00:00Z,/\n"
                                      b"x2,u9,2025-07-01T10:00:00Z,caf\xe9\n"), "s.csv", S,
         "s.csv: not UTF-8 text: save the file as UTF-8 (data row 2)"),
    case("latin-1 in the header", raw(b"session_id,user_id,started_at,caf\xe9\n"), "s.csv", S,
         "not UTF-8 text (the header line)"),
    case("UTF-16 file", raw("session_id,user_id,started_at\n".encode("utf-16")), "s.csv", S, "not UTF-8 text"),
    case("unclosed quote", text('session_id,user_id,started_at\nx1,u9,"2025-07-01T10:00:00Z\n'), "s.csv", S,
         "malformed row", "data row 1"),
    case("duplicated header", text("session_id,user_id,session_id,started_at\nx1,u9,x,2025-07-01T10:00:00Z\n"),
         "s.csv", S, "'session_id' appears twice in the header"),
    case("duplicated header in another case", text("session_id,user_id,Session_ID,started_at\n"), "s.csv", S,
         "'Session_ID' appears twice in the header"),
    case("empty file", raw(b""), "s.csv", S, "s.csv: empty file"),
    case("blank lines only", text("\n\n  \n"), "s.csv", S, "empty file"),
    case("binary garbage", raw(bytes(range(256)) * 4), "s.csv", S, "no column session_id"),
    case("binary garbage after a header", raw(b"session_id,user_id,started_at\n" + bytes(range(128, 256)) * 4),
         "s.csv", S, "s.csv: not UTF-8 text: save the file as UTF-8 (data row 1)"),
    case("no user_id column", text("session_id,started_at\nx1,2025-07-01T10:00:00Z\n"), "s.csv", S,
         'rule "missing required column": no column user_id'),
    case("no columns at all", text(",,,\n,,,\n"), "s.csv", S, "no column session_id, user_id, started_at"),
    case("semicolons with a missing column", text("session_id;started_at\nx1;2025-07-01\n"), "s.csv", S,
         "no column user_id"),
    case("conversions without converted_at", text("conversion_id,session_id\nq1,g1\n"), "c.csv", C,
         "no column converted_at"),
    case("gzip that is not gzip", raw(b"session_id,user_id,started_at\n"), "s.csv.gz", S, "s.csv.gz: cannot read"),
    case("parquet that is not parquet", text("session_id,user_id,started_at\n"), "s.parquet", S,
         "s.parquet: cannot read"),
    # --- timestamps ---
    case("year 10000", sessions_with_start("10000-01-01T00:00:00Z"), "s.csv", S,
         'rule "timestamp outside years 1900-9999": 1 bad row (row 2)'),
    case("UTC year 10000 by offset", sessions_with_start("9999-12-31T23:59:59-05:00"), "s.csv", S,
         "timestamp outside years 1900-9999"),
    case("year -1", sessions_with_start("-0001-01-01T00:00:00Z"), "s.csv", S, "timestamp outside years 1900-9999"),
    case("year 1899", sessions_with_start("1899-12-31T23:00:00Z"), "s.csv", S, "timestamp outside years 1900-9999"),
    case("UTC year 1899 by offset", sessions_with_start("1900-01-01T00:30:00+01:00"), "s.csv", S,
         "timestamp outside years 1900-9999"),
    case("exited_at in year 12000", sessions_with_start("12000-01-01T00:00:00Z", "exited_at"), "s.csv", S,
         "timestamp outside years 1900-9999"),
    case("epoch", sessions_with_start("epoch"), "s.csv", S, 'rule "unparseable timestamp": 1 bad row (row 2)'),
    case("infinity", sessions_with_start("infinity"), "s.csv", S, "unparseable timestamp"),
    case("minus infinity", sessions_with_start("-infinity"), "s.csv", S, "unparseable timestamp"),
    case("slashes", sessions_with_start("2026/11/01 10:00:00"), "s.csv", S, "unparseable timestamp"),
    case("offset +15:00", sessions_with_start("2025-07-01T10:00:00+15:00"), "s.csv", S, "unparseable timestamp"),
    case("offset -14:30", sessions_with_start("2025-07-01T10:00:00-14:30"), "s.csv", S, "unparseable timestamp"),
    case("zone name", sessions_with_start("2025-07-01 10:00 Europe/Berlin"), "s.csv", S, "unparseable timestamp"),
    case("30 February", sessions_with_start("2025-02-30T00:00:00Z"), "s.csv", S, "unparseable timestamp"),
    case("a word", sessions_with_start("yesterday"), "s.csv", S, "unparseable timestamp"),
    case("day first", sessions_with_start("01/07/2025"), "s.csv", S, "unparseable timestamp"),
    case("unparseable exit", sessions_with_start("soon", "exited_at"), "s.csv", S, "unparseable timestamp"),
    case("conversion in year 10000", conversions_with("q1,g1,10000-01-01T00:00:00Z,,,,"), "c.csv", C,
         "c.csv: rule \"timestamp outside years 1900-9999\""),
    case("parquet timestamp 2**62 us", parquet_sessions(started_at=pa.array([2**62], TS_US)), "s.parquet", S,
         'rule "timestamp outside years 1900-9999": 1 bad row (row 1)'),
    case("parquet timestamp -2**62 us", parquet_sessions(started_at=pa.array([-(2**62)], TS_US)), "s.parquet", S,
         "timestamp outside years 1900-9999"),
    case("parquet date in year 1", parquet_sessions(started_at=pa.array([date(1, 1, 1)], pa.date32())),
         "s.parquet", S, "timestamp outside years 1900-9999"),
    case("parquet text epoch", parquet_sessions(started_at=pa.array(["epoch"])), "s.parquet", S,
         "unparseable timestamp"),
    case("parquet integer seconds", parquet_sessions(started_at=pa.array([1_700_000_000])), "s.parquet", S,
         "unparseable timestamp"),
    # --- conversion values ---
    case("value NaN", conversions_with_value("NaN"), "c.csv", C, 'rule "value not a finite decimal >= 0": 1 bad row'),
    case("value inf", conversions_with_value("inf"), "c.csv", C, "value not a finite decimal >= 0"),
    case("value -Infinity", conversions_with_value("-Infinity"), "c.csv", C, "value not a finite decimal >= 0"),
    case("value negative", conversions_with_value("-0.01"), "c.csv", C, "value not a finite decimal >= 0"),
    case("value text", conversions_with_value("lots"), "c.csv", C, "value not a finite decimal >= 0"),
    case("value too large", conversions_with_value("1e40"), "c.csv", C, "value not a finite decimal >= 0"),
    case("value with a decimal comma", conversions_with_value('"1,5"'), "c.csv", C, "value not a finite decimal"),
    case("parquet value NaN", parquet_conversions(value=pa.array([float("nan")])), "c.parquet", C,
         "value not a finite decimal >= 0"),
    case("parquet value -inf", parquet_conversions(value=pa.array([float("-inf")])), "c.parquet", C,
         "value not a finite decimal >= 0"),
    case("parquet value negative", parquet_conversions(value=pa.array([-3])), "c.parquet", C,
         "value not a finite decimal >= 0"),
    case("parquet value struct", parquet_conversions(value=pa.array([{"amount": 1}])), "c.parquet", C,
         "wrong type for value"),
    # --- typed ids and columns ---
    case("session_id struct", parquet_sessions(session_id=pa.array([{"a": 1}])), "s.parquet", S,
         "s.parquet: wrong type for session_id"),
    case("session_id list", parquet_sessions(session_id=pa.array([["a"]])), "s.parquet", S,
         "wrong type for session_id"),
    case("session_id NaN float", parquet_sessions(session_id=pa.array([float("nan")])), "s.parquet", S,
         "wrong type for session_id"),
    case("user_id binary", parquet_sessions(user_id=pa.array([b"\x00\x01"], pa.binary())), "s.parquet", S,
         "wrong type for user_id"),
    case("conversion_id float", parquet_conversions(conversion_id=pa.array([1.5])), "c.parquet", C,
         "wrong type for conversion_id"),
    case("landing_page list", parquet_sessions(landing_page=pa.array([["/a", "/b"]])), "s.parquet", S,
         "wrong type for landing_page"),
    case("started_at struct", parquet_sessions(started_at=pa.array([{"t": 1}])), "s.parquet", S,
         "wrong type for started_at"),
    case("parquet duplicated column",
         lambda path: pq.write_table(pa.Table.from_arrays(
             [pa.array(["p1"]), pa.array(["u9"]), pa.array(["2025-07-01"]), pa.array(["p2"])],
             names=["session_id", "user_id", "started_at", "session_id"]), path),
         "s.parquet", S, "'session_id' appears twice"),
    # --- the other loading rules ---
    case("duplicate id in the file", text("session_id,user_id,started_at\nd1,u9,2025-07-01\nd1,u9,2025-07-02\n"),
         "s.csv", S, 'rule "duplicate id": 2 bad rows (rows 1, 2)'),
    case("id already stored", text("session_id,user_id,started_at\ng1,u9,2025-07-01\n"), "s.csv", S,
         'rule "duplicate id": 1 bad row (row 1)'),
    case("exit before start", text("session_id,user_id,started_at,exited_at\ne1,u9,2025-07-01T10:00:00Z,"
                                   "2025-07-01T09:00:00Z\n"), "s.csv", S, 'rule "exited_at before started_at"'),
    case("blank session id", text("session_id,user_id,started_at\n ,u9,2025-07-01\n"), "s.csv", S,
         'rule "missing required value"'),
    case("conversion before its session", conversions_with("q1,g2,2025-07-01T00:00:00Z,,,,"), "c.csv", C,
         'rule "conversion before its session start"'),
    case("conversion of an unknown session", conversions_with("q1,nope,2025-07-01T00:00:00Z,,,,"), "c.csv", C,
         'rule "conversion of an unknown session"'),
    case("conversion id already stored", conversions_with("k1,g1,2025-07-01T10:01:00Z,,,,"), "c.csv", C,
         'rule "duplicate id"'),
    # --- paths ---
    case("http sessions", None, "", S, "http://example.test/s.csv: remote files are not supported; "
         "download the file first", given_as="http://example.test/s.csv"),
    case("https sessions", None, "", S, "remote files are not supported", given_as="https://example.test/s.csv"),
    case("s3 conversions", None, "", C, "remote files are not supported", given_as="s3://bucket/c.parquet"),
    case("gs glob", None, "", S, "remote files are not supported", given_as="gs://bucket/*.csv"),
    case("a directory", None, "", S, "is a directory", given_as="{tmp}"),
    case("no such file", None, "", S, "no such file", given_as="{tmp}/absent.csv"),
    case("unsupported type", text("{}"), "s.json", S, "s.json: unsupported file type .json"),
    case("csv and parquet mixed",
         lambda path: (path.with_name("m1.csv").write_text("session_id,user_id,started_at\n"),
                       parquet_sessions()(path.with_name("m2.parquet"))),
         "mixed", S, "mixes CSV and Parquet", given_as="{tmp}/m*"),
    # --- rules files ---
    case("channel rules without header", text("google.com,organic\n"), "rules.csv", "--channel-rules",
         "rules.csv: the first line must be the header 'host,medium'"),
    case("channel rules with a URL", text("host,medium\nhttps://x.test/,social\n"), "rules.csv", "--channel-rules",
         "is not a bare host name"),
    case("channel-group rules with an unknown group", text("channel_group,medium\nWhatever,cpc\n"), "groups.csv",
         "--channel-group-rules", "groups.csv: line 2: channel_group 'Whatever' is not one of"),
    case("channel-group rules not UTF-8", raw(b"channel_group,medium\nEmail,e\xe9\n"), "groups.csv",
         "--channel-group-rules", "not UTF-8 text"),
    case("memory limit not a size", text(GOOD_SESSIONS.replace("g1", "z1").replace("g2", "z2")), "s.csv", S,
         "--memory-limit: 'lots' is not a size", extra=("--memory-limit", "lots")),
]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def good_store(tmp_path_factory) -> Path:
    """A store holding good sessions and conversions, copied for each case."""
    directory = tmp_path_factory.mktemp("good")
    (directory / "s.csv").write_text(GOOD_SESSIONS)
    (directory / "c.csv").write_text(GOOD_CONVERSIONS)
    db = directory / "store.duckdb"
    assert cli.main(["load", "--db", str(db), "--sessions", str(directory / "s.csv"),
                     "--conversions", str(directory / "c.csv")]) == 0
    return db


def run_insights(arguments: list[str], in_subprocess: bool, capsys) -> tuple[int, str]:
    """Exit status and stderr of ``insights ARGUMENTS``."""
    if in_subprocess:
        completed = subprocess.run([INSIGHTS, *arguments], capture_output=True, text=True, timeout=120)
        return completed.returncode, completed.stderr
    capsys.readouterr()
    status = cli.main(arguments)
    return status, capsys.readouterr().err


def test_the_corpus_is_large_and_every_case_is_named_once():
    assert len(CASES) >= 60
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c.name for c in CASES])
def test_bad_input_is_refused_clearly_and_the_store_is_untouched(index, good_store, tmp_path, capsys):
    bad = CASES[index]
    db = tmp_path / "store.duckdb"
    shutil.copyfile(good_store, db)
    before = _digest(db)
    if bad.write is not None:
        bad.write(tmp_path / bad.file_name)
    given = (bad.given_as or str(tmp_path / bad.file_name)).replace("{tmp}", str(tmp_path))
    arguments = ["load", "--db", str(db), bad.option, given, *bad.extra]
    status, stderr = run_insights(arguments, in_subprocess=index % 3 == 0, capsys=capsys)
    assert status == 2, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    message = stderr.strip().splitlines()[-1]
    assert message.startswith("insights: error: "), stderr
    for words in bad.expect:
        assert words in message, message
    assert ".tmp" not in message, "messages name the user's files, never a working copy"
    assert _digest(db) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


# --- databases that are not Insights stores ------------------------------------------------------

def _foreign_duckdb(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE sessions (id INTEGER, note VARCHAR)")
    con.execute("INSERT INTO sessions VALUES (1, 'not ours')")
    con.close()


@pytest.mark.parametrize("in_subprocess", [True, False], ids=["subprocess", "in-process"])
@pytest.mark.parametrize("make, expect", [
    (_foreign_duckdb, "not an Insights database: {db}"),
    (lambda path: path.write_text("session_id,user_id\n"), "not an Insights database: {db}"),
    (lambda path: gzip.open(path, "wb").write(b"x" * 100), "not an Insights database: {db}"),
], ids=["foreign duckdb", "text file", "gzip file"])
def test_a_file_that_is_not_a_store_is_refused_and_untouched(tmp_path, capsys, make, expect, in_subprocess):
    db = tmp_path / "theirs.duckdb"
    make(db)
    before = _digest(db)
    (tmp_path / "s.csv").write_text(GOOD_SESSIONS)
    for arguments in (
        ["load", "--db", str(db), "--sessions", str(tmp_path / "s.csv")],
        ["demo", "--db", str(db), "--users", "5"],
    ):
        status, stderr = run_insights(arguments, in_subprocess, capsys)
        assert status == 2 and "Traceback" not in stderr, stderr
        assert stderr.strip().splitlines()[-1] == "insights: error: " + expect.format(db=db)
    assert _digest(db) == before


def test_apikey_create_refuses_a_foreign_database(tmp_path, capsys):
    """Writing a key into someone else's DuckDB file would plant tables in it."""
    db = tmp_path / "theirs.duckdb"
    _foreign_duckdb(db)
    before = _digest(db)
    status, stderr = run_insights(["apikey", "create", "--db", str(db), "--name", "x"], False, capsys)
    assert status == 2 and f"not an Insights database: {db}" in stderr
    assert _digest(db) == before


@pytest.mark.parametrize("db, expect", [
    ("{tmp}", "is a directory, not a database file"),
    ("http://example.test/store.duckdb", "remote databases are not supported"),
    ("s3://bucket/store.duckdb", "remote databases are not supported"),
])
def test_db_that_cannot_be_a_file_is_refused(tmp_path, capsys, db, expect):
    (tmp_path / "s.csv").write_text(GOOD_SESSIONS)
    status, stderr = run_insights(
        ["load", "--db", db.replace("{tmp}", str(tmp_path)), "--sessions", str(tmp_path / "s.csv")], True, capsys
    )
    assert status == 2 and expect in stderr and "Traceback" not in stderr, stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv"], "nothing created"
