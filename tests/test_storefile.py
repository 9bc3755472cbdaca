"""Sharing a store file: readers keep answering from one complete version while writers publish.

A load is all or nothing (docs/data.md#loading-rules); with several processes (dashboard,
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
    """docs/data.md#loading-rules: a failing load inside an edit leaves the live file as it was."""
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
    deadline = time.monotonic() + 30  # a bound, not a timing: the readers stop once one has seen the last version
    while 250 not in seen and not errors and time.monotonic() < deadline:
        time.sleep(0.01)
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


# --- permissions, owner, failure paths (docs/architecture.md#the-store-file) -----------------------

import errno
import os
import shutil
import signal
import stat
from contextlib import contextmanager
from pathlib import Path

from insights_core.cli import main as cli_main
from insights_core.store import StoreError


def stored_store(tmp_path, name: str = "db.duckdb") -> StoreFile:
    store_file = StoreFile(tmp_path / name)
    with store_file.edit() as con:
        insights_core.load(con, sessions_file(tmp_path, "a", range(10)))
    return store_file


def neighbours(store_file: StoreFile) -> list[str]:
    """What lies beside the store besides the inputs: the store, its lock, and nothing left over."""
    return sorted(path.name for path in store_file.path.parent.iterdir() if not path.name.endswith(".csv"))


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("permissions", [0o600, 0o640, 0o604])
def test_an_edit_keeps_the_store_permissions(tmp_path, permissions):
    store_file = stored_store(tmp_path)
    os.chmod(store_file.path, permissions)
    with store_file.edit() as con:
        insights_core.load(con, sessions_file(tmp_path, "b", range(5)))
    assert mode(store_file.path) == permissions
    assert count(store_file) == 15


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_an_edit_by_root_keeps_the_store_owner(tmp_path):
    store_file = stored_store(tmp_path)
    os.chown(store_file.path, 1000, 1000)
    os.chmod(store_file.path, 0o600)
    with store_file.edit() as con:
        insights_core.load(con, sessions_file(tmp_path, "b", range(5)))
    status = os.stat(store_file.path)
    assert (status.st_uid, status.st_gid, stat.S_IMODE(status.st_mode)) == (1000, 1000, 0o600)


def test_a_new_store_follows_the_umask(tmp_path):
    previous = os.umask(0o077)
    try:
        store_file = stored_store(tmp_path)
    finally:
        os.umask(previous)
    assert mode(store_file.path) == 0o600


def test_nothing_an_edit_writes_is_readable_by_others(tmp_path):
    """The working copy has the store's mode and sits, with DuckDB's side files, in a private directory."""
    store_file = stored_store(tmp_path)
    os.chmod(store_file.path, 0o600)
    with store_file.edit() as con:
        insights_core.load(con, sessions_file(tmp_path, "b", range(5)))
        extra = [path for path in tmp_path.iterdir()
                 if path.name not in ("db.duckdb", "db.duckdb.lock") and not path.name.endswith(".csv")]
        assert extra, "the working copy is beside the store"
        for path in extra:
            if path.is_dir():
                assert mode(path) == 0o700
                copies = list(path.iterdir())
                assert copies and all(mode(copy) & 0o077 == 0 for copy in copies if copy.name == "db.duckdb")
            else:
                assert mode(path) & 0o077 == 0, f"{path.name} is readable by others while the edit runs"


@pytest.mark.parametrize("failure", [RuntimeError, KeyboardInterrupt])
def test_a_failing_or_interrupted_edit_leaves_nothing_behind(tmp_path, failure):
    store_file = stored_store(tmp_path)
    before = store_file.path.read_bytes()
    with pytest.raises(failure):
        with store_file.edit() as con:
            insights_core.load(con, sessions_file(tmp_path, "b", range(5)))
            raise failure()
    assert store_file.path.read_bytes() == before
    assert neighbours(store_file) == ["db.duckdb", "db.duckdb.lock"]


def test_an_interrupted_copy_leaves_nothing_behind(tmp_path, monkeypatch):
    """Ctrl-C while the store is being copied: the partial copy goes too."""
    store_file = stored_store(tmp_path)
    before = store_file.path.read_bytes()
    real_sendfile = os.sendfile

    def interrupted(out, source, offset, count):
        real_sendfile(out, source, offset, min(count, 4096))
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "sendfile", interrupted)
    with pytest.raises(KeyboardInterrupt):
        with store_file.edit():
            pass
    assert store_file.path.read_bytes() == before
    assert neighbours(store_file) == ["db.duckdb", "db.duckdb.lock"]


def test_a_killed_writers_copy_is_removed_by_the_next_writer(tmp_path):
    store_file = stored_store(tmp_path)
    killed = subprocess.run(
        [sys.executable, "-c",
         "import os, signal, sys; from insights_core.storefile import StoreFile\n"
         "with StoreFile(sys.argv[1]).edit() as con:\n"
         "    con.execute('DELETE FROM sessions')\n"
         "    os.kill(os.getpid(), signal.SIGKILL)\n",
         str(store_file.path)],
        timeout=60,
    )
    assert killed.returncode == -signal.SIGKILL
    assert len(neighbours(store_file)) == 3  # the abandoned copy
    assert count(store_file) == 10
    with store_file.edit() as con:
        insights_core.load(con, sessions_file(tmp_path, "b", range(5)))
    assert neighbours(store_file) == ["db.duckdb", "db.duckdb.lock"]
    assert count(store_file) == 15


def test_a_directory_as_the_store_is_refused(tmp_path, capsys):
    folder = tmp_path / "folder.duckdb"
    folder.mkdir()
    for use in (StoreFile(folder).edit, StoreFile(folder).snapshot):
        with pytest.raises(StoreError, match="is a directory, not a database file"):
            with use():
                pass
    status = cli_main(["load", "--db", str(folder), "--sessions", sessions_file(tmp_path, "a", range(3))])
    err = capsys.readouterr().err
    assert status == 2 and "is a directory, not a database file" in err and "Traceback" not in err
    assert list(folder.iterdir()) == []


def test_the_lock_file_is_never_followed_through_a_symlink(tmp_path):
    store_file = stored_store(tmp_path)
    before = store_file.path.read_bytes()
    target = tmp_path / "elsewhere" / "victim"
    store_file.lock_path.unlink()
    store_file.lock_path.symlink_to(target)
    with pytest.raises(StoreError, match="lock file .* is a symbolic link"):
        with store_file.edit():
            pass
    assert not target.exists() and not target.parent.exists()
    assert store_file.path.read_bytes() == before


def test_a_directory_as_the_lock_file_is_named(tmp_path):
    store_file = stored_store(tmp_path)
    store_file.lock_path.unlink()
    store_file.lock_path.mkdir()
    with pytest.raises(StoreError, match="lock file .* is a directory"):
        with store_file.edit():
            pass


# --- a full disk -----------------------------------------------------------------------------------


def test_a_copy_that_runs_out_of_space_says_so_and_leaves_nothing(tmp_path, monkeypatch):
    """Simulated: the operating system refuses the copy's writes (a real full disk is tested below)."""
    store_file = stored_store(tmp_path)
    before = store_file.path.read_bytes()

    def full(out, source, offset, count):
        os.write(out, b"x" * 4096)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "sendfile", full)
    megabytes = -(-len(before) // 2**20)
    with pytest.raises(StoreError, match=rf"no space left on device \(needed about {megabytes} MB in {tmp_path}\)"):
        with store_file.edit():
            pass
    assert store_file.path.read_bytes() == before
    assert neighbours(store_file) == ["db.duckdb", "db.duckdb.lock"]


@contextmanager
def small_disk(tmp_path: Path, size: str):
    """A tmpfs of ``size`` mounted in ``tmp_path`` (root only); the test is skipped where it cannot be mounted."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def cli(capsys, *args: str) -> tuple[int, str]:
    status = cli_main(list(args))
    return status, capsys.readouterr().err


def test_a_real_full_disk_during_the_copy(tmp_path, capsys):
    """The store fits on the disk, a second copy of it does not: exit 2, the message, nothing left over."""
    built = stored_store(tmp_path, "built.duckdb")
    with built.edit() as con:
        insights_core.load(con, sessions_file(tmp_path, "big", range(50_000)))
    size = built.path.stat().st_size
    with small_disk(tmp_path, f"{size * 3 // 2 // 1024}k") as disk:
        store = disk / "db.duckdb"
        shutil.copyfile(built.path, store)
        before = store.read_bytes()
        status, err = cli(capsys, "load", "--db", str(store), "--sessions", sessions_file(tmp_path, "b", range(5)))
        assert status == 2, err
        assert f"no space left on device (needed about {-(-len(before) // 2**20)} MB in {disk})" in err
        assert "Traceback" not in err and "IOException" not in err
        assert store.read_bytes() == before
        assert sorted(path.name for path in disk.iterdir()) == ["db.duckdb", "db.duckdb.lock"]


def test_a_real_full_disk_during_a_load(tmp_path, capsys):
    """The copy fits, the loaded data does not: exit 2, the message, the store unchanged, nothing left over."""
    empty = StoreFile(tmp_path / "empty.duckdb")
    with empty.edit():
        pass
    big = sessions_file(tmp_path, "big", range(50_000))
    with small_disk(tmp_path, "2m") as disk:
        store = disk / "db.duckdb"
        shutil.copyfile(empty.path, store)
        before = store.read_bytes()
        status, err = cli(capsys, "load", "--db", str(store), "--sessions", big)
        assert status == 2, err
        assert "no space left on device (needed more than" in err and f"MB in {disk})" in err
        assert "Traceback" not in err and "internal error" not in err
        assert store.read_bytes() == before
        assert sorted(path.name for path in disk.iterdir()) == ["db.duckdb", "db.duckdb.lock"]
