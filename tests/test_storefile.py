"""Sharing a store file: readers keep answering from one complete version while writers publish.

SPEC 1.3 says a load is all or nothing; with several processes (dashboard,
API server, ``insights load``) on one file that must also hold for readers:
they see the old version or the new one, never half a load.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

import insights_core
from insights_core.storefile import StoreFile

HEADER = "session_id,user_id,started_at\n"


def sessions_file(tmp_path, name: str, ids: range) -> str:
    path = tmp_path / f"{name}.csv"
    path.write_text(HEADER + "".join(f"{name}-{i},u{i % 7},2025-07-01T00:00:{i % 60:02d}Z\n" for i in ids))
    return str(path)


def count(store_file: StoreFile) -> int:
    with store_file.snapshot() as con:
        return insights_core.cursor(con).execute("SELECT count(*) FROM sessions").fetchone()[0]


def test_reader_sees_a_published_edit_without_reopening(tmp_path):
    """A long-lived reader switches to the new version as soon as it is published."""
    store_file = StoreFile(tmp_path / "db.duckdb")
    with store_file.edit() as con:
        insights_core.load(con, sessions_file(tmp_path, "a", range(10)))
    assert count(store_file) == 10
    with store_file.edit() as con:
        insights_core.load(con, sessions_file(tmp_path, "b", range(5)))
        assert count(store_file) == 10  # not yet published
    assert count(store_file) == 15


def test_snapshot_held_during_a_publish_keeps_its_version(tmp_path):
    """A request that started before a publish finishes on the version it started with."""
    store_file = StoreFile(tmp_path / "db.duckdb")
    with store_file.edit() as con:
        insights_core.load(con, sessions_file(tmp_path, "a", range(10)))
    with store_file.snapshot() as old:
        with store_file.edit() as con:
            insights_core.load(con, sessions_file(tmp_path, "b", range(5)))
        assert count(store_file) == 15
        assert insights_core.cursor(old).execute("SELECT count(*) FROM sessions").fetchone()[0] == 10


def test_failed_edit_publishes_nothing(tmp_path):
    """SPEC 1.3: a failing load inside an edit leaves the live file as it was."""
    store_file = StoreFile(tmp_path / "db.duckdb")
    with store_file.edit() as con:
        insights_core.load(con, sessions_file(tmp_path, "a", range(10)))
    version = store_file.version()
    with pytest.raises(insights_core.LoadError):
        with store_file.edit() as con:
            insights_core.load(con, sessions_file(tmp_path, "a", range(3)))  # duplicate ids
    assert store_file.version() == version
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "db.duckdb", "db.duckdb.lock"]


def test_readers_in_threads_never_see_half_a_load(tmp_path):
    """Concurrent readers (a cursor each) during repeated loads only ever see whole versions."""
    store_file = StoreFile(tmp_path / "db.duckdb")
    with store_file.edit() as con:
        insights_core.load(con, sessions_file(tmp_path, "base", range(100)))
    seen: set[int] = set()
    errors: list[Exception] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                seen.add(count(store_file))
            except Exception as error:  # noqa: BLE001 - collected and asserted below
                errors.append(error)

    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    for batch in range(3):
        with store_file.edit() as con:
            insights_core.load(con, sessions_file(tmp_path, f"more{batch}", range(50)))
    time.sleep(0.05)
    done.set()
    for reader in readers:
        reader.join()
    assert not errors
    assert seen <= {100, 150, 200, 250} and 250 in seen


def test_a_reader_in_another_process_does_not_block_a_writer(tmp_path):
    """DuckDB allows one writer or many readers; writers here never open the live file for writing."""
    db = tmp_path / "db.duckdb"
    store_file = StoreFile(db)
    with store_file.edit() as con:
        insights_core.load(con, sessions_file(tmp_path, "a", range(10)))
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time, insights_core; con = insights_core.connect(sys.argv[1], read_only=True);"
         " print(con.execute('SELECT count(*) FROM sessions').fetchone()[0], flush=True); time.sleep(30)",
         str(db)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "10"
        with store_file.edit() as con:
            insights_core.load(con, sessions_file(tmp_path, "b", range(5)))
        assert count(store_file) == 15
    finally:
        holder.kill()
        holder.wait()


def test_writers_queue_on_the_lock(tmp_path):
    """Two writers at once: the second waits for the first and both edits survive."""
    store_file = StoreFile(tmp_path / "db.duckdb")
    first_inside = threading.Event()
    waited = threading.Event()

    def first() -> None:
        with store_file.edit() as con:
            first_inside.set()
            insights_core.load(con, sessions_file(tmp_path, "a", range(10)))
            waited.wait(5)

    thread = threading.Thread(target=first)
    thread.start()
    first_inside.wait(5)
    with StoreFile(tmp_path / "db.duckdb").edit(waiting=waited.set) as con:
        insights_core.load(con, sessions_file(tmp_path, "b", range(5)))
    thread.join()
    assert waited.is_set()
    assert count(store_file) == 15
