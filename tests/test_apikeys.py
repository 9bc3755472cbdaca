"""SPEC 5 / 5.1: API keys — ``insights apikey create|list|revoke``, hashes only, last use in a sidecar.

The key logic (``insights_core.apikeys``) on real store files, and the
command line in-process (``cli.main``), including ``insights serve``'s
refusal to start without a key (the server itself is replaced by a stub
here; ``test_api.py`` runs the real one).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import insights_core
from insights_core import api, apikeys
from insights_core.apikeys import ApiKeyError, KeyUsageLog
from insights_core.cli import main as cli_main
from insights_core.storefile import StoreFile

SESSIONS = "session_id,user_id,started_at\ns1,u1,2025-07-01T10:00:00Z\ns2,u2,2025-07-02T10:00:00Z\n"


@pytest.fixture
def db(tmp_path) -> Path:
    path = tmp_path / "store.duckdb"
    sessions = tmp_path / "sessions.csv"
    sessions.write_text(SESSIONS)
    with StoreFile(path).edit() as con:
        insights_core.load(con, str(sessions))
    return path


@pytest.fixture
def con(db):
    con = insights_core.connect(db)
    yield con
    con.close()


def stored_rows(con) -> list[tuple]:
    return insights_core.cursor(con).execute("SELECT * FROM api_keys ORDER BY created_at").fetchall()


def cli(capsys, *args: str) -> tuple[int, str, str]:
    status = cli_main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# --- the key logic ------------------------------------------------------------


def test_created_key_is_long_random_and_only_its_hash_is_stored(con):
    key = apikeys.create_key(con, "reporting")
    assert len(key) >= 32 + len(apikeys.KEY_PREFIX) and key.startswith(apikeys.KEY_PREFIX)
    assert len(set(key[len(apikeys.KEY_PREFIX):])) > 15  # random, not a pattern
    [(name, key_hash, created_at, revoked_at)] = stored_rows(con)
    assert (name, revoked_at) == ("reporting", None)
    assert key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in repr(stored_rows(con))
    assert abs(datetime.now(timezone.utc).replace(tzinfo=None) - created_at) < timedelta(minutes=1)


def test_every_key_is_different(con):
    keys = {apikeys.create_key(con, f"k{i}") for i in range(20)}
    assert len(keys) == 20


def test_names_are_unique_among_active_keys(con):
    apikeys.create_key(con, "ci")
    with pytest.raises(ApiKeyError, match="active API key named 'ci' already exists"):
        apikeys.create_key(con, "ci")
    apikeys.revoke_key(con, "ci")
    apikeys.create_key(con, "ci")  # a revoked key's name can be reused
    assert [info.active for info in apikeys.list_keys(con)] == [False, True]


@pytest.mark.parametrize("name", ["", " ", "two words", "-leading-dash", "x" * 65, "tab\tname", "näme", "a/b"])
def test_bad_names_are_refused(con, name):
    with pytest.raises(ApiKeyError, match="bad key name"):
        apikeys.create_key(con, name)
    assert stored_rows(con) == []


def test_revoke_needs_an_active_key(con):
    with pytest.raises(ApiKeyError, match="no active API key named 'nobody'"):
        apikeys.revoke_key(con, "nobody")
    apikeys.create_key(con, "once")
    apikeys.revoke_key(con, "once")
    with pytest.raises(ApiKeyError, match="already revoked"):
        apikeys.revoke_key(con, "once")


def test_active_hashes_exclude_revoked_keys(con):
    kept, dropped = apikeys.create_key(con, "kept"), apikeys.create_key(con, "dropped")
    apikeys.revoke_key(con, "dropped")
    assert apikeys.active_key_hashes(con) == {apikeys.hash_key(kept): "kept"}
    assert apikeys.hash_key(dropped) not in apikeys.active_key_hashes(con)


def test_match_key_finds_the_right_hash_only():
    hashes = [apikeys.hash_key(key) for key in ("alpha-key", "beta-key", "gamma-key")]
    assert apikeys.match_key("beta-key", hashes) == hashes[1]
    for guess in ("beta-ke", "beta-key ", "BETA-KEY", "", hashes[1]):
        assert apikeys.match_key(guess, hashes) is None
    assert apikeys.match_key("alpha-key", []) is None


def test_env_keys_are_comma_separated():
    assert apikeys.env_keys({"INSIGHTS_API_KEYS": " one ,two,, ,three "}) == ["one", "two", "three"]
    assert apikeys.env_keys({"INSIGHTS_API_KEYS": " , "}) == []
    assert apikeys.env_keys({}) == []


def test_list_joins_last_use_by_hash(con):
    key = apikeys.create_key(con, "used")
    apikeys.create_key(con, "unused")
    when = datetime(2026, 1, 2, 3, 4, 5)
    listed = apikeys.list_keys(con, {apikeys.hash_key(key): when})
    assert [(info.name, info.last_used_at) for info in listed] == [("used", when), ("unused", None)]


def test_keys_survive_a_replacing_load(db, tmp_path):
    """`insights load --replace` and `insights demo --replace` replace data, not keys."""
    with StoreFile(db).edit() as con:
        key = apikeys.create_key(con, "kept")
    sessions = tmp_path / "other.csv"
    sessions.write_text(SESSIONS.replace("s1", "x1").replace("s2", "x2"))
    with StoreFile(db).edit() as con:
        insights_core.load(con, str(sessions), replace=True)
        assert apikeys.active_key_hashes(con) == {apikeys.hash_key(key): "kept"}


# --- last use: the sidecar file -------------------------------------------------


def test_usage_log_merges_into_a_sidecar_file(db):
    log = KeyUsageLog(db)
    assert log.path == db.with_name("store.duckdb.key-usage.json") and log.read() == {}
    log.record("a" * 64, datetime(2026, 1, 1, 12))
    log.flush()
    assert log.read() == {"a" * 64: datetime(2026, 1, 1, 12)}
    assert sorted(path.name for path in db.parent.glob("*key-usage*")) == [
        "store.duckdb.key-usage.json", "store.duckdb.key-usage.lock"]  # no temporary file left


def test_two_servers_keep_the_later_use_of_each_key(db):
    first, second = KeyUsageLog(db), KeyUsageLog(db)
    first.record("a" * 64, datetime(2026, 1, 1, 12))
    first.record("b" * 64, datetime(2026, 1, 3))
    second.record("a" * 64, datetime(2026, 1, 2))
    second.record("b" * 64, datetime(2026, 1, 1))
    first.flush()
    second.flush()
    assert KeyUsageLog(db).read() == {"a" * 64: datetime(2026, 1, 2), "b" * 64: datetime(2026, 1, 3)}


def test_damaged_sidecar_is_rewritten(db):
    log = KeyUsageLog(db)
    log.path.write_text("{not json")
    assert log.read() == {}
    log.record("c" * 64, datetime(2026, 1, 1))
    log.flush()
    assert json.loads(log.path.read_text())["last_used"] == {"c" * 64: "2026-01-01T00:00:00"}


def test_first_use_is_written_promptly_then_at_most_every_interval(db):
    log = KeyUsageLog(db, interval=30)
    log.start()
    try:
        log.record("d" * 64)
        deadline = time.monotonic() + 3
        while "d" * 64 not in log.read():
            assert time.monotonic() < deadline, "first use not written within 3 s"
            time.sleep(0.02)
        written = log.path.stat().st_mtime_ns
        log.record("d" * 64)  # a second use within the interval waits
        time.sleep(1.2)
        assert log.path.stat().st_mtime_ns == written
    finally:
        log.stop()  # ...and is written on shutdown
    assert log.path.stat().st_mtime_ns > written


def test_record_is_thread_safe(db):
    log = KeyUsageLog(db)
    threads = [threading.Thread(target=lambda i=i: [log.record(f"{i:064x}") for _ in range(200)]) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.flush()
    assert len(log.read()) == 8


# --- the command line ---------------------------------------------------------


def test_cli_create_prints_the_key_as_its_last_line(db, capsys):
    status, out, err = cli(capsys, "apikey", "create", "--db", str(db), "--name", "reporting")
    assert status == 0 and err == ""
    key = out.splitlines()[-1]
    assert key.startswith(apikeys.KEY_PREFIX) and len(key) >= 36 and " " not in key
    assert out.count(key) == 1
    with StoreFile(db).snapshot() as con:
        assert apikeys.active_key_hashes(con) == {apikeys.hash_key(key): "reporting"}


def test_cli_list_shows_names_creation_and_last_use_never_keys(db, capsys):
    _, out, _ = cli(capsys, "apikey", "create", "--db", str(db), "--name", "used")
    used = out.splitlines()[-1]
    _, out, _ = cli(capsys, "apikey", "create", "--db", str(db), "--name", "idle")
    idle = out.splitlines()[-1]
    log = KeyUsageLog(db)
    log.record(apikeys.hash_key(used), datetime(2026, 3, 4, 5, 6, 7))
    log.flush()
    cli(capsys, "apikey", "revoke", "--db", str(db), "--name", "idle")

    status, out, err = cli(capsys, "apikey", "list", "--db", str(db))
    assert status == 0 and err == ""
    header, used_line, idle_line = out.splitlines()
    assert header.split() == ["NAME", "CREATED", "(UTC)", "LAST", "USED", "(UTC)", "STATUS"]
    assert used_line.split()[0] == "used" and used_line.split()[2:] == ["2026-03-04T05:06:07Z", "active"]
    assert idle_line.split()[0] == "idle" and idle_line.split()[2:4] == ["never", "revoked"]
    for secret in (used, idle, apikeys.hash_key(used), apikeys.hash_key(idle)):
        assert secret not in out


def test_cli_list_without_keys(db, capsys):
    status, out, _ = cli(capsys, "apikey", "list", "--db", str(db))
    assert status == 0 and out.startswith("no API keys; create one with 'insights apikey create")


def test_cli_key_changes_leave_the_data_alone(db, capsys):
    def data():
        with StoreFile(db).snapshot() as con:
            return insights_core.cursor(con).execute("SELECT * FROM sessions ORDER BY session_id").fetchall()

    before = data()
    cli(capsys, "apikey", "create", "--db", str(db), "--name", "k")
    cli(capsys, "apikey", "revoke", "--db", str(db), "--name", "k")
    assert data() == before


@pytest.mark.parametrize(("args", "fragment"), [
    (["apikey", "create", "--name", "x"], "--db"),
    (["apikey", "create", "--db", "{db}"], "--name"),
    (["apikey", "create", "--db", "{db}", "--name", "two words"], "bad key name"),
    (["apikey", "create", "--db", "{missing}", "--name", "x"], "no database at"),
    (["apikey", "revoke", "--db", "{db}", "--name", "nobody"], "no active API key named 'nobody'"),
    (["apikey", "revoke", "--db", "{missing}", "--name", "x"], "no database at"),
    (["apikey", "list", "--db", "{missing}"], "no database at"),
    (["apikey"], "required"),
    (["serve", "--db", "{db}", "--port", "70000"], "a port is 1-65535"),
    (["serve", "--db", "{db}", "--port", "http"], "not a port number"),
    (["serve", "--db", "{missing}", "--insecure-no-auth"], "no database at"),
])
def test_cli_bad_input_is_one_line_and_exit_2(db, capsys, args, fragment):
    args = [arg.format(db=db, missing=db.with_name("missing.duckdb")) for arg in args]
    try:
        status = cli_main(args)
    except SystemExit as exit_:  # argparse errors
        status = exit_.code
    err = capsys.readouterr().err
    assert status == 2
    error_lines = [line for line in err.splitlines() if line.startswith("insights: error:")]
    assert len(error_lines) == 1 and fragment in error_lines[0]
    assert "Traceback" not in err
    assert not db.with_name("missing.duckdb").exists()


@pytest.fixture
def served(monkeypatch):
    """Stands in for the real server: records how ``insights serve`` would start it."""
    calls: list[dict] = []
    monkeypatch.setattr(api, "serve", lambda db, host, port, **options: calls.append(
        {"db": db, "host": host, "port": port, **options}))
    monkeypatch.delenv("INSIGHTS_API_KEYS", raising=False)
    return calls


def test_serve_refuses_to_start_without_any_key(db, capsys, served, monkeypatch):
    status, out, err = cli(capsys, "serve", "--db", str(db))
    assert status == 2 and served == [] and out == ""
    assert err.count("\n") == 1 and err.startswith("insights: error: no API keys: create one with 'insights apikey create")
    monkeypatch.setenv("INSIGHTS_API_KEYS", " ,, ")
    assert cli(capsys, "serve", "--db", str(db))[0] == 2 and served == []


def test_serve_starts_with_a_stored_key(db, capsys, served):
    cli(capsys, "apikey", "create", "--db", str(db), "--name", "k")
    status, _, err = cli(capsys, "serve", "--db", str(db), "--host", "0.0.0.0", "--port", "9000")
    assert status == 0 and "WARNING" not in err
    assert served == [{"db": db, "host": "0.0.0.0", "port": 9000, "require_auth": True, "env_keys": []}]


def test_serve_starts_with_environment_keys(db, capsys, served, monkeypatch):
    monkeypatch.setenv("INSIGHTS_API_KEYS", "first-key, second-key")
    assert cli(capsys, "serve", "--db", str(db))[0] == 0
    assert served[0]["require_auth"] is True and served[0]["env_keys"] == ["first-key", "second-key"]
    assert served[0]["host"] == "127.0.0.1" and served[0]["port"] == 8000


def test_serve_insecure_mode_warns(db, capsys, served):
    status, _, err = cli(capsys, "serve", "--db", str(db), "--insecure-no-auth")
    assert status == 0 and served[0]["require_auth"] is False
    assert "WARNING: --insecure-no-auth" in err
