"""Upgrading a store written by the schema-2 release (docs/architecture.md#migrations).

The old store is written by the release itself: commit 5a8def2's code is
taken out of the repository with ``git archive`` and run in a subprocess
(this virtual environment's Python, that code first on the path). It loads
demo data, creates an API key and answers a few queries; the new code must
then open that file, answer byte-identically, accept appends, and hold
exactly what a new store loaded with the same files holds.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import insights_core
from insights_core.store import SCHEMA_VERSION, SchemaOutdated, StoreError
from insights_core.store.migrations import MIGRATIONS, SCHEMA_2_TABLES, current_tables
from insights_core.auth.keys import AcceptedKeys, list_keys, revoke_key
from insights_core.auth.settings import SettingsFile
from insights_core.storefile import StoreFile

SCHEMA_2_COMMIT = "5a8def2"
REPOSITORY = Path(__file__).resolve().parent.parent

QUERIES = [
    {"start_date": "2026-01-01", "end_date": "2026-12-31"},
    {"start_date": "2026-09-01", "end_date": "2026-11-30", "medium": "organic"},
    {"start_date": "2026-06-01", "end_date": "2026-11-30", "touch_scope": "assist"},
    {"start_date": "2026-06-01", "end_date": "2026-11-30", "source": "google.com", "touch_scope": "first"},
    {"start_date": "2026-06-01", "end_date": "2026-11-30", "meta_type": "hubspot_form"},
]

OLD_RELEASE = """
import json, sys
from datetime import datetime, timezone
from pathlib import Path
import duckdb
import insights_core
from insights_core import apikeys, compute_insights, load, to_json
from insights_core.demo import generate_demo
from insights_core.storefile import StoreFile

work = Path(sys.argv[1])
assert Path(insights_core.__file__).resolve().is_relative_to(Path.cwd().resolve()), insights_core.__file__
data = generate_demo(users=400, seed=11, end=datetime(2026, 11, 1, tzinfo=timezone.utc))
scratch = duckdb.connect()
for kind in ("sessions", "conversions"):
    scratch.register(kind, getattr(data, kind))
    scratch.execute(f"COPY {kind} TO '{work / (kind + '.parquet')}' (FORMAT parquet)")
store = StoreFile(work / "old.duckdb")
with store.edit() as con:
    load(con, str(work / "sessions.parquet"), str(work / "conversions.parquet"))
    key = apikeys.create_key(con, "reporting")
(work / "key.txt").write_text(key)
queries = json.loads(sys.argv[2])
with store.snapshot() as con:
    answers = [to_json(compute_insights(con, params)) for params in queries]
(work / "answers.json").write_text(json.dumps(answers))
"""


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def schema_2(tmp_path_factory) -> Path:
    """A directory with ``old.duckdb`` (schema 2, written by 5a8def2), its input files and answers."""
    work = tmp_path_factory.mktemp("schema2")
    code = work / "release"
    code.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(REPOSITORY), "archive", "--format=tar", SCHEMA_2_COMMIT],
        capture_output=True,
    )
    if archive.returncode != 0:
        pytest.skip(f"commit {SCHEMA_2_COMMIT} is not in this clone: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", str(code)], input=archive.stdout, check=True)
    written = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(OLD_RELEASE), str(work), json.dumps(QUERIES)],
        cwd=code, env={"PYTHONPATH": str(code), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
    )
    assert written.returncode == 0, written.stderr
    return work


@pytest.fixture
def old_store(schema_2, tmp_path) -> Path:
    """A private copy of the schema-2 store."""
    copy = tmp_path / "old.duckdb"
    shutil.copyfile(schema_2 / "old.duckdb", copy)
    return copy


def _answers(con) -> list[str]:
    return [insights_core.to_json(insights_core.compute_insights(con, params)) for params in QUERIES]


def _table_shapes(con) -> dict[str, list[tuple]]:
    """Every table's columns with their types, nullability and defaults."""
    shapes: dict[str, list[tuple]] = {}
    for (table,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'store' ORDER BY 1"
    ).fetchall():
        shapes[table] = con.execute(f"DESCRIBE {table}").fetchall()
    return shapes


def test_the_fixture_is_a_schema_2_store(old_store):
    """The file really is what the release wrote: schema 2, its tables, no schema-3 column."""
    import duckdb

    con = duckdb.connect(str(old_store), read_only=True)
    assert con.execute("SELECT value FROM store_info WHERE key = 'schema_version'").fetchall() == [("2",)]
    tables = {
        name: tuple(columns) for name, columns in con.execute(
            "SELECT table_name, list(column_name ORDER BY column_index) FROM duckdb_columns()"
                " WHERE NOT internal AND database_name = current_database() GROUP BY 1"
        ).fetchall()
    }
    assert tables == dict(SCHEMA_2_TABLES)
    con.close()


def test_read_only_open_of_an_old_store_says_so_and_changes_nothing(old_store):
    """A reader cannot write, so it refuses with SchemaOutdated (found 2); the file stays as it was."""
    before = _digest(old_store)
    with pytest.raises(SchemaOutdated) as caught:
        insights_core.connect(old_store, read_only=True)
    assert caught.value.found == 2
    assert isinstance(caught.value, StoreError)
    assert _digest(old_store) == before


def test_writable_open_upgrades_in_place_with_one_notice(old_store, caplog):
    """One WARNING on logger insights.store names the file and both versions; a second open is silent."""
    with caplog.at_level(logging.WARNING, logger="insights.store"):
        insights_core.connect(old_store).close()
        insights_core.connect(old_store).close()
    notices = [record for record in caplog.records if record.name == "insights.store"]
    assert [record.getMessage() for record in notices] == [
        f"upgraded {old_store} from schema 2 to schema {SCHEMA_VERSION}"
    ]
    assert notices[0].levelno == logging.WARNING
    con = insights_core.connect(old_store, read_only=True)
    assert con.execute("SELECT value FROM store_info WHERE key = 'schema_version'").fetchall() == [
        (str(SCHEMA_VERSION),)
    ]


def test_upgraded_store_has_exactly_the_tables_of_a_new_one(old_store, tmp_path):
    """Same tables, same columns in the same order, same types and NOT NULLs as a new store."""
    upgraded = insights_core.connect(old_store)
    new = insights_core.connect(tmp_path / "new.duckdb")
    assert _table_shapes(upgraded) == _table_shapes(new)
    assert set(_table_shapes(new)) == set(current_tables())


def test_answers_are_byte_identical_after_the_upgrade(schema_2, old_store, caplog):
    """What the release answered, the upgraded store answers, byte for byte (StoreFile migrates on read,
    on a working copy it publishes; the notice names the live file)."""
    expected = json.loads((schema_2 / "answers.json").read_text())
    store = StoreFile(old_store)
    with caplog.at_level(logging.WARNING, logger="insights.store"), store.snapshot() as con:
        assert _answers(con) == expected
        assert con.execute("SELECT value FROM store_info WHERE key = 'schema_version'").fetchone() == (
            str(SCHEMA_VERSION),
        )
    assert not [p for p in old_store.parent.iterdir() if p.name.endswith(".tmp")]
    assert [record.getMessage() for record in caplog.records if record.name == "insights.store"] == [
        f"upgraded {old_store} from schema 2 to schema {SCHEMA_VERSION}"
    ]


def test_upgraded_store_holds_what_a_new_load_stores(schema_2, old_store, tmp_path):
    """Landing domains, click ids, channel groups, conversion facts, last sessions and touchpoints
    filled by the migration equal what a load of the same files into a new store writes."""
    upgraded = insights_core.connect(old_store)
    fresh = insights_core.connect(tmp_path / "fresh.duckdb")
    insights_core.load(fresh, str(schema_2 / "sessions.parquet"), str(schema_2 / "conversions.parquet"))
    queries = {
        "sessions": "SELECT session_id, landing_domain, paid_click_id, channel_group, channel FROM sessions",
        "conversions": "SELECT c.conversion_id, u.user_id, c.value, c.is_user_first"
                       " FROM conversions c JOIN users u USING (user_key)",
        "users": "SELECT user_id, last_session_started_at, session_count FROM users",
        "touchpoints": "SELECT t.conversion_id, u.user_id, t.session_id, t.timeline_position,"
                       " t.conversion_position, t.started_at, t.channel, t.us_before_conversion,"
                       " t.is_user_first, t.value FROM touchpoints t JOIN users u USING (user_key)",
    }
    for table, query in queries.items():
        assert sorted(upgraded.execute(query).fetchall()) == sorted(fresh.execute(query).fetchall()), table
    assert upgraded.execute("SELECT count(*) FROM touchpoints").fetchone()[0] > 0
    assert upgraded.execute("SELECT count(*) FROM sessions WHERE paid_click_id IS NOT NULL").fetchone()[0] > 0


def test_upgraded_store_accepts_appends_and_answers_like_a_new_one(schema_2, old_store, tmp_path):
    """An append after the upgrade gives the answers of a new store loaded with all the files."""
    more_sessions = tmp_path / "more_sessions.csv"
    more_sessions.write_text(
        "session_id,user_id,started_at,landing_page,referrer\n"
        "new-1,brand-new,2026-10-20T10:00:00Z,https://www.acme-analytics.com/?gclid=x,\n"
        "new-2,brand-new,2026-10-21T10:00:00Z,https://www.acme-analytics.com/,https://www.bing.com/\n"
    )
    more_conversions = tmp_path / "more_conversions.csv"
    more_conversions.write_text("conversion_id,session_id,converted_at,value\nnew-c1,new-2,2026-10-21T10:05:00Z,12.5\n")
    store = StoreFile(old_store)
    with store.edit() as con:
        insights_core.load(con, str(more_sessions), str(more_conversions))
    fresh = insights_core.connect(tmp_path / "fresh.duckdb")
    insights_core.load(fresh, str(schema_2 / "sessions.parquet"), str(schema_2 / "conversions.parquet"))
    insights_core.load(fresh, str(more_sessions), str(more_conversions))
    with store.snapshot() as con:
        assert _answers(con) == _answers(fresh)
    assert [key.name for key in list_keys(SettingsFile(old_store))] == ["reporting"]


def test_api_keys_move_to_the_settings_file_and_keep_working(schema_2, old_store):
    """docs/architecture.md#settings-file: the upgrade moves the keys beside the store and drops their
    table; the key the old release printed is accepted as before, and a revocation takes."""
    settings = SettingsFile(old_store)
    assert list_keys(settings) == []
    with StoreFile(old_store).snapshot() as con:  # a reader's open upgrades through the copy-and-swap
        assert "api_keys" not in _table_shapes(con)
    key = (schema_2 / "key.txt").read_text()
    accepted = AcceptedKeys(settings, [])
    accepted.refresh()
    assert accepted.match(key) is not None and accepted.match(key + "x") is None
    assert settings.path.stat().st_mode & 0o777 == 0o600
    revoke_key(settings, "reporting")
    accepted.refresh()
    assert accepted.match(key) is None


def test_migrations_are_numbered_by_schema_and_in_order():
    """Each migration belongs to a schema version above 2 and at most the current one, in order."""
    versions = [migration.version for migration in MIGRATIONS]
    assert versions == sorted(versions) and min(versions) == 3 and max(versions) == SCHEMA_VERSION
    assert all(migration.summary and migration.apply.__doc__ for migration in MIGRATIONS)


# --- files that are not (usable) Insights stores --------------------------------------------

def test_a_foreign_duckdb_file_is_refused_and_left_untouched(tmp_path):
    """docs/architecture.md#the-store-file: a DuckDB file with tables of its own is not an Insights store."""
    import duckdb

    foreign = tmp_path / "other.duckdb"
    other = duckdb.connect(str(foreign))
    other.execute("CREATE TABLE sessions (id INTEGER, note VARCHAR)")
    other.execute("INSERT INTO sessions VALUES (1, 'theirs')")
    other.close()
    before = _digest(foreign)
    for read_only in (False, True):
        with pytest.raises(StoreError, match=f"^not an Insights database: {foreign}$"):
            insights_core.connect(foreign, read_only=read_only)
    assert _digest(foreign) == before


def test_a_store_with_a_reshaped_sessions_table_is_refused(tmp_path):
    """store_info says Insights, but the sessions table has another shape: refused, untouched."""
    path = tmp_path / "reshaped.duckdb"
    con = insights_core.connect(path)
    con.execute("ALTER TABLE sessions DROP COLUMN channel_group")
    con.close()
    before = _digest(path)
    with pytest.raises(StoreError, match="not an Insights database"):
        insights_core.connect(path)
    assert _digest(path) == before


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "newer.duckdb"
    con = insights_core.connect(path)
    con.execute("UPDATE store_info SET value = '99' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(StoreError, match="newer Insights"):
        insights_core.connect(path, read_only=True)


def test_a_text_file_is_not_a_database_and_stays_as_it_was(tmp_path):
    path = tmp_path / "notes.duckdb"
    path.write_text("session_id,user_id\n")
    before = _digest(path)
    for read_only in (False, True):
        with pytest.raises(StoreError, match=f"not an Insights database: {path}"):
            insights_core.connect(path, read_only=read_only)
    assert _digest(path) == before


def test_a_directory_is_not_a_database(tmp_path):
    with pytest.raises(StoreError, match="is a directory"):
        insights_core.connect(tmp_path)


def test_an_empty_duckdb_file_becomes_a_store(tmp_path):
    import duckdb

    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    con = insights_core.connect(path)
    assert con.execute("SELECT count(*) FROM sessions").fetchone() == (0,)


def test_no_connection_loads_extensions_on_demand(tmp_path):
    """No network at run time: extension autoloading and autoinstalling are off everywhere."""
    con = insights_core.connect(tmp_path / "s.duckdb")
    settings = dict(con.execute(
        "SELECT name, value FROM duckdb_settings()"
        " WHERE name IN ('autoload_known_extensions', 'autoinstall_known_extensions')"
    ).fetchall())
    assert settings == {"autoload_known_extensions": "false", "autoinstall_known_extensions": "false"}
