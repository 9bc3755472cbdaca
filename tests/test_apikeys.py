"""API keys: ``insights apikey create|list|revoke``, hashes only, in the settings file beside the store.

The key logic (``insights_core.auth.keys``) on real files, and the command
line in-process (``cli.main``), including ``insights serve``'s refusal to
start without a key (the server itself is replaced by a stub here;
``test_api.py`` runs the real one). Keys live in ``<db>.settings.json``
(docs/api.md#authentication, docs/architecture.md#settings-file): changing
them never rewrites the store.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import insights_core
from insights_core.api import app as api_app
from insights_core.api.limits import LIMIT_OPTIONS, Limits
from insights_core.auth import keys as apikeys
from insights_core.auth.keys import ApiKeyError, KeyUsage
from insights_core.auth.legacy import move_api_keys
from insights_core.auth.settings import SettingsFile
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
def settings(db) -> SettingsFile:
    return SettingsFile(db)


def stored_entries(settings: SettingsFile) -> list[dict]:
    return json.loads(settings.path.read_text())["sections"]["api_keys"]


def cli(capsys, *args: str) -> tuple[int, str, str]:
    status = cli_main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


class FakeClock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- the key logic ------------------------------------------------------------


def test_created_key_is_long_random_and_only_its_hash_is_stored(settings):
    key = apikeys.create_key(settings, "reporting")
    assert len(key) >= 32 + len(apikeys.KEY_PREFIX) and key.startswith(apikeys.KEY_PREFIX)
    assert len(set(key[len(apikeys.KEY_PREFIX):])) > 15  # random, not a pattern
    [entry] = stored_entries(settings)
    assert (entry["name"], entry["revoked_at"], entry["last_used_at"]) == ("reporting", None, None)
    assert entry["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert key not in settings.path.read_text()
    created = datetime.fromisoformat(entry["created_at"].rstrip("Z"))
    assert abs(datetime.now(timezone.utc).replace(tzinfo=None) - created) < timedelta(minutes=1)


def test_every_key_is_different(settings):
    keys = {apikeys.create_key(settings, f"k{i}") for i in range(20)}
    assert len(keys) == 20


def test_names_are_unique_among_active_keys(settings):
    apikeys.create_key(settings, "ci")
    with pytest.raises(ApiKeyError, match="active API key named 'ci' already exists"):
        apikeys.create_key(settings, "ci")
    apikeys.revoke_key(settings, "ci")
    apikeys.create_key(settings, "ci")  # a revoked key's name can be reused
    assert [info.active for info in apikeys.list_keys(settings)] == [False, True]


@pytest.mark.parametrize("name", ["", " ", "two words", "-leading-dash", "x" * 65, "tab\tname", "näme", "a/b"])
def test_bad_names_are_refused(settings, name):
    with pytest.raises(ApiKeyError, match="bad key name"):
        apikeys.create_key(settings, name)
    assert not settings.path.exists()


def test_a_long_bad_name_is_quoted_short(settings):
    with pytest.raises(ApiKeyError) as refused:
        apikeys.create_key(settings, "x" * 70_000)
    assert len(str(refused.value)) < 300


def test_revoke_needs_an_active_key(settings):
    with pytest.raises(ApiKeyError, match="no active API key named 'nobody'"):
        apikeys.revoke_key(settings, "nobody")
    apikeys.create_key(settings, "once")
    apikeys.revoke_key(settings, "once")
    with pytest.raises(ApiKeyError, match="already revoked"):
        apikeys.revoke_key(settings, "once")


def test_active_hashes_exclude_revoked_keys(settings):
    kept, dropped = apikeys.create_key(settings, "kept"), apikeys.create_key(settings, "dropped")
    apikeys.revoke_key(settings, "dropped")
    assert apikeys.active_key_hashes(settings) == {apikeys.hash_key(kept): "kept"}
    assert apikeys.hash_key(dropped) not in apikeys.active_key_hashes(settings)


def test_match_key_finds_the_right_hash_only():
    hashes = [apikeys.hash_key(key) for key in ("alpha-key", "beta-key", "gamma-key")]
    assert apikeys.match_key("beta-key", hashes) == hashes[1]
    for guess in ("beta-ke", "beta-key ", "BETA-KEY", "", hashes[1]):
        assert apikeys.match_key(guess, hashes) is None
    assert apikeys.match_key("alpha-key", []) is None


def test_env_keys_are_comma_separated():
    one, two, three = "one-" + "1" * 16, "two-" + "2" * 16, "three-" + "3" * 16
    assert apikeys.env_keys({"INSIGHTS_API_KEYS": f" {one} ,{two},, ,{three} "}) == [one, two, three]
    assert apikeys.env_keys({"INSIGHTS_API_KEYS": " , "}) == []
    assert apikeys.env_keys({}) == []


def test_short_env_keys_are_refused_without_showing_them():
    """A key of under 16 characters can be guessed; the error names its position, never the key."""
    with pytest.raises(ApiKeyError, match=r"1 key shorter than 16 characters \(entry 2 of 3\)") as refused:
        apikeys.env_keys({"INSIGHTS_API_KEYS": "a" * 16 + ",secret-short," + "b" * 40})
    assert "secret-short" not in str(refused.value)
    with pytest.raises(ApiKeyError, match="2 keys shorter"):
        apikeys.env_keys({"INSIGHTS_API_KEYS": "x,y"})
    assert apikeys.env_keys({"INSIGHTS_API_KEYS": "z" * 16}) == ["z" * 16]


def test_key_changes_never_touch_the_store(db, settings):
    """Creating and revoking keys rewrites the small settings file only (docs/architecture.md#settings-file)."""
    before = (db.read_bytes(), os.stat(db).st_ino, os.stat(db).st_mtime_ns)
    apikeys.create_key(settings, "k")
    apikeys.revoke_key(settings, "k")
    assert (db.read_bytes(), os.stat(db).st_ino, os.stat(db).st_mtime_ns) == before
    assert sorted(path.name for path in db.parent.iterdir() if "store.duckdb" in path.name) == [
        "store.duckdb", "store.duckdb.lock", "store.duckdb.settings.json", "store.duckdb.settings.json.lock"]


def test_keys_survive_a_replacing_load(db, settings, tmp_path):
    """`insights load --replace` and `insights demo --replace` replace data, not keys."""
    key = apikeys.create_key(settings, "kept")
    sessions = tmp_path / "other.csv"
    sessions.write_text(SESSIONS.replace("s1", "x1").replace("s2", "x2"))
    with StoreFile(db).edit() as con:
        insights_core.load(con, str(sessions), replace=True)
    assert apikeys.active_key_hashes(settings) == {apikeys.hash_key(key): "kept"}


# --- the settings file: concurrent changes (the rest is in test_settings.py) ----------


def test_concurrent_writers_merge_because_of_the_lock(settings):
    """Two read-modify-writes at once: the second waits for the first, so neither change is lost.

    The first writer's change blocks until the second writer has either
    found the lock taken (``waiting``) or written; without the lock the
    second would write first and the first would then overwrite it.
    """
    second_waits_or_wrote = threading.Event()
    first_inside = threading.Event()

    def first_change(entries):
        first_inside.set()
        assert second_waits_or_wrote.wait(10)
        return entries + [{"name": "first", "key_hash": "1" * 64, "created_at": "2026-01-01T00:00:00Z"}]

    first = threading.Thread(target=lambda: settings.update("api_keys", first_change, default=[]))
    first.start()
    assert first_inside.wait(10)
    key = apikeys.create_key(SettingsFile(settings.store_path), "second", waiting=second_waits_or_wrote.set)
    second_waits_or_wrote.set()
    first.join(10)
    assert sorted(entry["name"] for entry in stored_entries(settings)) == ["first", "second"]
    assert apikeys.hash_key(key) in apikeys.active_key_hashes(settings)


def test_concurrent_processes_lose_no_key(db, tmp_path):
    """Eight processes creating keys at once: all eight are stored."""
    import subprocess
    import sys

    script = ("import sys; from insights_core.auth import keys; from insights_core.auth.settings import SettingsFile;"
              " keys.create_key(SettingsFile(sys.argv[1]), sys.argv[2])")
    processes = [subprocess.Popen([sys.executable, "-c", script, str(db), f"p{i}"]) for i in range(8)]
    assert [process.wait(60) for process in processes] == [0] * 8
    assert sorted(info.name for info in apikeys.list_keys(SettingsFile(db))) == [f"p{i}" for i in range(8)]


def test_sections_are_independent(settings):
    """The dashboard's saved views (or anything else) sit beside the keys without disturbing them."""
    key = apikeys.create_key(settings, "k")
    settings.update("saved_views", lambda views: {**views, "July": {"start_date": "2025-07-01"}}, default={})
    assert settings.section("saved_views") == {"July": {"start_date": "2025-07-01"}}
    assert apikeys.active_key_hashes(settings) == {apikeys.hash_key(key): "k"}
    copy = settings.section("saved_views")
    copy["July"]["start_date"] = "changed"
    assert settings.section("saved_views")["July"]["start_date"] == "2025-07-01"
    assert settings.section("absent", default=[]) == []


# --- moving keys out of an older store ------------------------------------------------


LEGACY_TABLE = """
CREATE TABLE api_keys (name VARCHAR NOT NULL, key_hash VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL,
                       revoked_at TIMESTAMP)
"""


def legacy_store(db: Path, rows: list[tuple]) -> None:
    """Give the store the schema-2 ``api_keys`` table with ``rows``, as the release at 5a8def2 kept them."""
    with StoreFile(db).edit() as con:
        cur = insights_core.cursor(con)
        cur.execute("DROP TABLE IF EXISTS api_keys")
        cur.execute(LEGACY_TABLE)
        cur.executemany("INSERT INTO api_keys VALUES (?, ?, ?, ?)", rows)


def test_move_api_keys_copies_the_table_once(db, settings):
    active, revoked = "ins_" + "a" * 43, "ins_" + "b" * 43
    legacy_store(db, [
        ("reporting", apikeys.hash_key(active), datetime(2025, 7, 1, 12), None),
        ("old", apikeys.hash_key(revoked), datetime(2025, 6, 1), datetime(2025, 6, 2, 3, 4, 5)),
    ])
    with StoreFile(db).edit() as con:
        assert move_api_keys(con, db) == 2
    assert apikeys.active_key_hashes(settings) == {apikeys.hash_key(active): "reporting"}
    listed = {info.name: info for info in apikeys.list_keys(settings)}
    assert listed["reporting"].created_at == datetime(2025, 7, 1, 12)
    assert listed["old"].revoked_at == datetime(2025, 6, 2, 3, 4, 5)
    written = settings.path.read_bytes()
    with StoreFile(db).edit() as con:
        assert move_api_keys(con, db) == 0  # idempotent
    assert settings.path.read_bytes() == written


def test_move_api_keys_merges_with_keys_already_beside_the_store(db, settings):
    newer = apikeys.create_key(settings, "newer")
    moved = "ins_" + "c" * 43
    apikeys.add_entries(settings, [{"name": "moved", "key_hash": apikeys.hash_key(moved),
                                    "created_at": datetime(2025, 1, 1), "revoked_at": None}])
    legacy_store(db, [("moved", apikeys.hash_key(moved), datetime(2025, 1, 1), datetime(2025, 2, 1))])
    with StoreFile(db).edit() as con:
        assert move_api_keys(con, db) == 0
    assert apikeys.active_key_hashes(settings) == {apikeys.hash_key(newer): "newer"}  # the revocation stands


def test_move_api_keys_without_the_table(db, settings):
    with StoreFile(db).edit() as con:
        insights_core.cursor(con).execute("DROP TABLE IF EXISTS api_keys")
        assert move_api_keys(con, db) == 0
    assert not settings.path.exists()


# --- last use -------------------------------------------------------------------


def test_usage_is_merged_into_the_key_entries(settings):
    key = apikeys.create_key(settings, "used")
    usage = KeyUsage(settings)
    usage.record(apikeys.hash_key(key), datetime(2026, 1, 1, 12))
    usage.flush()
    assert [info.last_used_at for info in apikeys.list_keys(settings)] == [datetime(2026, 1, 1, 12)]
    assert sorted(path.name for path in settings.path.parent.iterdir() if ".tmp" in path.name) == []


def test_usage_of_environment_keys_writes_nothing(settings):
    usage = KeyUsage(settings)
    usage.record(apikeys.hash_key("an environment key, not stored"))
    usage.flush()
    assert not settings.path.exists()


def test_two_servers_keep_the_later_use_of_each_key(settings):
    a, b = apikeys.create_key(settings, "a"), apikeys.create_key(settings, "b")
    first, second = KeyUsage(settings), KeyUsage(SettingsFile(settings.store_path))
    first.record(apikeys.hash_key(a), datetime(2026, 1, 1, 12))
    first.record(apikeys.hash_key(b), datetime(2026, 1, 3))
    second.record(apikeys.hash_key(a), datetime(2026, 1, 2))
    second.record(apikeys.hash_key(b), datetime(2026, 1, 1))
    first.flush()
    second.flush()
    assert {info.name: info.last_used_at for info in apikeys.list_keys(settings)} == {
        "a": datetime(2026, 1, 2), "b": datetime(2026, 1, 3)}


def test_usage_merge_and_a_key_change_at_once_lose_nothing(settings):
    """A server recording use while `apikey create` runs: the lock makes both land."""
    key = apikeys.create_key(settings, "used")
    usage = KeyUsage(settings)
    usage.record(apikeys.hash_key(key), datetime(2026, 5, 5))
    waiting_or_done = threading.Event()
    inside = threading.Event()

    def slow_create(entries):
        inside.set()
        assert waiting_or_done.wait(10)
        return entries + [{"name": "new", "key_hash": "9" * 64, "created_at": "2026-01-01T00:00:00Z"}]

    creator = threading.Thread(target=lambda: settings.update("api_keys", slow_create, default=[]))
    creator.start()
    assert inside.wait(10)
    usage.flush(waiting=waiting_or_done.set)
    waiting_or_done.set()
    creator.join(10)
    listed = {info.name: info.last_used_at for info in apikeys.list_keys(settings)}
    assert listed == {"used": datetime(2026, 5, 5), "new": None}


def test_first_use_is_due_at_once_then_at_most_every_interval(settings):
    """With an injected clock: no sleeping, no dependence on the machine's speed."""
    key_hash = apikeys.hash_key(apikeys.create_key(settings, "k"))
    clock = FakeClock()
    usage = KeyUsage(settings, interval=30, clock=clock)
    usage.record(key_hash, datetime(2026, 1, 1))
    assert usage.due()  # never written: at once
    usage.flush()
    assert not usage.due()
    clock.now += 29
    usage.record(key_hash, datetime(2026, 1, 2))
    assert not usage.due()  # written 29 s ago: waits for the periodic merge
    clock.now += 1
    usage.record(key_hash, datetime(2026, 1, 3))
    assert usage.due()
    usage.flush()
    assert apikeys.list_keys(settings)[0].last_used_at == datetime(2026, 1, 3)


def test_the_background_thread_writes_promptly_and_on_stop(settings):
    key_hash = apikeys.hash_key(apikeys.create_key(settings, "k"))
    usage = KeyUsage(settings, interval=3600)
    usage.start()
    try:
        usage.record(key_hash, datetime(2026, 1, 1))
        written = threading.Event()
        for _ in range(500):  # the thread wakes on `due`, not on a timer
            if apikeys.list_keys(settings)[0].last_used_at is not None:
                written.set()
                break
            threading.Event().wait(0.01)
        assert written.is_set(), "first use not written within 5 s"
        usage.record(key_hash, datetime(2026, 1, 2))  # within the interval: left for later...
    finally:
        usage.stop()  # ...and written on stop
    assert apikeys.list_keys(settings)[0].last_used_at == datetime(2026, 1, 2)


def test_record_is_thread_safe(settings):
    hashes = [apikeys.hash_key(apikeys.create_key(settings, f"k{i}")) for i in range(8)]
    usage = KeyUsage(settings)
    threads = [threading.Thread(target=lambda h=h: [usage.record(h) for _ in range(200)]) for h in hashes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    usage.flush()
    assert all(info.last_used_at is not None for info in apikeys.list_keys(settings))


# --- the command line ---------------------------------------------------------


def test_cli_create_prints_the_key_as_its_last_line(db, capsys):
    status, out, err = cli(capsys, "apikey", "create", "--db", str(db), "--name", "reporting")
    assert status == 0 and err == ""
    key = out.splitlines()[-1]
    assert key.startswith(apikeys.KEY_PREFIX) and len(key) >= 36 and " " not in key
    assert out.count(key) == 1
    assert apikeys.active_key_hashes(SettingsFile(db)) == {apikeys.hash_key(key): "reporting"}


def test_cli_list_shows_names_creation_and_last_use_never_keys(db, capsys):
    _, out, _ = cli(capsys, "apikey", "create", "--db", str(db), "--name", "used")
    used = out.splitlines()[-1]
    _, out, _ = cli(capsys, "apikey", "create", "--db", str(db), "--name", "idle")
    idle = out.splitlines()[-1]
    usage = KeyUsage(SettingsFile(db))
    usage.record(apikeys.hash_key(used), datetime(2026, 3, 4, 5, 6, 7))
    usage.flush()
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


def test_cli_key_changes_never_rewrite_the_store(db, capsys):
    """`apikey create|revoke|list` copy nothing: the store keeps its bytes and its inode."""
    before = (db.read_bytes(), os.stat(db).st_ino, os.stat(db).st_mtime_ns)
    assert cli(capsys, "apikey", "create", "--db", str(db), "--name", "k")[0] == 0
    assert cli(capsys, "apikey", "list", "--db", str(db))[0] == 0
    assert cli(capsys, "apikey", "revoke", "--db", str(db), "--name", "k")[0] == 0
    assert (db.read_bytes(), os.stat(db).st_ino, os.stat(db).st_mtime_ns) == before


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
    (["serve", "--db", "{db}", "--insecure-no-auth", "--query-timeout", "soon"], "must be a number of seconds"),
    (["serve", "--db", "{db}", "--insecure-no-auth", "--max-computations", "0"], "must be between 1 and 256"),
    (["serve", "--db", "{db}", "--insecure-no-auth", "--header-timeout", "nan"], "must be between"),
    (["apikey", "list", "--db", "{folder}"], "is a directory, not a database file"),
    (["apikey", "create", "--db", "{folder}", "--name", "x"], "is a directory, not a database file"),
    (["apikey", "list", "--db", "{junk_settings}"], "is a directory, not a settings file"),
    (["apikey", "create", "--db", "{junk_settings}", "--name", "x"], "is a directory, not a settings file"),
    (["apikey", "list", "--db", "{damaged_settings}"], "is not a valid settings file"),
    (["apikey", "create", "--db", "{linked_lock}", "--name", "x"], "is a symbolic link"),
])
def test_cli_bad_input_is_one_line_and_exit_2(db, tmp_path, capsys, args, fragment):
    folder = tmp_path / "folder.duckdb"
    folder.mkdir()
    junk_settings, damaged_settings, linked_lock = (tmp_path / name for name in ("junk", "damaged", "linked"))
    for store in (junk_settings, damaged_settings, linked_lock):
        store.write_bytes(db.read_bytes())
    SettingsFile(junk_settings).path.mkdir()
    SettingsFile(damaged_settings).path.write_text('{"insights_settings": 1, "sections": ')
    SettingsFile(linked_lock).lock_path.symlink_to(tmp_path / "elsewhere")
    args = [arg.format(db=db, missing=db.with_name("missing.duckdb"), folder=folder, junk_settings=junk_settings,
                       damaged_settings=damaged_settings, linked_lock=linked_lock) for arg in args]
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
    assert list(folder.iterdir()) == [] and not (tmp_path / "elsewhere").exists()
    assert SettingsFile(damaged_settings).path.read_text() == '{"insights_settings": 1, "sections": '


@pytest.fixture
def served(monkeypatch):
    """Stands in for the real server: records how ``insights serve`` would start it."""
    calls: list[dict] = []
    monkeypatch.setattr(api_app, "serve", lambda db, host, port, **options: calls.append(
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
    [call] = served
    assert call.pop("limits") == Limits()
    assert call.pop("engine") is None  # the store's own DuckDB engine (Spark only when asked, docs/scale.md)
    assert call == {"db": db, "host": "0.0.0.0", "port": 9000, "require_auth": True, "env_keys": []}


def test_serve_starts_with_environment_keys(db, capsys, served, monkeypatch):
    monkeypatch.setenv("INSIGHTS_API_KEYS", "first-key-0123456789, second-key-0123456789")
    assert cli(capsys, "serve", "--db", str(db))[0] == 0
    assert served[0]["require_auth"] is True
    assert served[0]["env_keys"] == ["first-key-0123456789", "second-key-0123456789"]
    assert served[0]["host"] == "127.0.0.1" and served[0]["port"] == 8000


def test_serve_insecure_mode_warns(db, capsys, served):
    status, _, err = cli(capsys, "serve", "--db", str(db), "--insecure-no-auth")
    assert status == 0 and served[0]["require_auth"] is False
    assert "WARNING: --insecure-no-auth" in err


def test_serve_refuses_short_environment_keys(db, capsys, served, monkeypatch):
    """Each INSIGHTS_API_KEYS entry must have 16 characters at least; the refusal never shows the key."""
    monkeypatch.setenv("INSIGHTS_API_KEYS", "a-long-enough-key-0123, hunter2")
    status, out, err = cli(capsys, "serve", "--db", str(db))
    assert status == 2 and served == [] and out == ""
    assert err.startswith("insights: error: INSIGHTS_API_KEYS: 1 key shorter than 16 characters (entry 2 of 2)")
    assert "hunter2" not in err


def test_serve_limits_come_from_flags_then_environment_then_defaults(db, capsys, served, monkeypatch):
    monkeypatch.setenv("INSIGHTS_API_QUERY_TIMEOUT", "12.5")
    monkeypatch.setenv("INSIGHTS_API_MAX_QUEUED", "3")
    assert cli(capsys, "serve", "--db", str(db), "--insecure-no-auth", "--max-queued", "7")[0] == 0
    limits = served[0]["limits"]
    assert (limits.query_timeout, limits.max_queued, limits.max_computations) == (12.5, 7, Limits().max_computations)


def test_serve_names_a_bad_limit_variable(db, capsys, served, monkeypatch):
    monkeypatch.setenv("INSIGHTS_API_MAX_COMPUTATIONS", "many")
    status, _, err = cli(capsys, "serve", "--db", str(db), "--insecure-no-auth")
    assert status == 2 and served == []
    assert "INSIGHTS_API_MAX_COMPUTATIONS must be a whole number, got 'many'" in err


def test_every_limit_is_documented_in_the_serve_help(capsys):
    with pytest.raises(SystemExit):
        cli_main(["serve", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option in LIMIT_OPTIONS:
        assert option.flag in text and option.environment in text
        assert f"default {option.default:g}" in text
