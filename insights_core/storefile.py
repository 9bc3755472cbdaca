"""Sharing one store file between processes: snapshots for readers, atomic swaps for writers.

DuckDB lets one process write a file, or several read it, never both. The
dashboard, the HTTP server and ``insights load`` must nevertheless work on
the same file at the same time, so no one ever writes the live file in
place:

* a writer (load, demo, API-key changes) takes an exclusive lock on
  ``<db>.lock``, copies the file, changes the copy in one transaction,
  checkpoints it and renames it over the live file, which is atomic;
* a reader opens the live file read-only and, before each use, checks
  whether the file on disk has been replaced; if so it opens the new one and
  retires the old connection once the requests using it have finished.

A reader therefore always answers from one complete version of the data:
the old one until the rename, the new one after it, never half a load. A
writer killed half-way leaves only its copy behind, which the next writer
deletes.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import duckdb

from .store import StoreError, connect


def _identity(path: Path) -> tuple[int, int, int] | None:
    """What changes when the file is replaced: inode, modification time, size."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


@dataclass
class _Generation:
    """One opened version of the file and the number of requests using it."""

    identity: tuple[int, int, int]
    connection: duckdb.DuckDBPyConnection
    users: int = 0
    retired: bool = False


@dataclass
class StoreFile:
    """A store file that several processes read and write safely (see the module docstring)."""

    path: Path
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _current: _Generation | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.path = Path(self.path)

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def exists(self) -> bool:
        return self.path.exists()

    def version(self) -> tuple[int, int, int] | None:
        """An identity of the data version on disk; it changes with every published edit."""
        return _identity(self.path)

    # --- readers ---------------------------------------------------------

    @contextmanager
    def snapshot(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection to the newest published version, held for the block.

        Take a cursor from it (``insights_core.cursor``) per thread; the
        connection stays open until the block ends even if a newer version
        is published meanwhile.
        """
        generation = self._acquire()
        try:
            yield generation.connection
        finally:
            self._release(generation)

    def _acquire(self) -> _Generation:
        from .store import SchemaOutdated

        identity = _identity(self.path)
        with self._lock:
            current = self._current
            if current is None or current.identity != identity:
                if identity is None:
                    raise StoreError(
                        f"no database at {self.path}: create one with 'insights load' or 'insights demo'"
                    )
                try:
                    connection = connect(self.path, read_only=True)
                except SchemaOutdated:
                    # An older store: an empty edit upgrades it on a copy and publishes it
                    # atomically (docs/architecture.md#migrations); then read the new version.
                    with self.edit():
                        pass
                    identity = _identity(self.path)
                    connection = connect(self.path, read_only=True)
                fresh = _Generation(identity, connection)
                if current is not None:
                    current.retired = True
                    self._close_if_unused(current)
                self._current = current = fresh
            current.users += 1
            return current

    def _release(self, generation: _Generation) -> None:
        with self._lock:
            generation.users -= 1
            self._close_if_unused(generation)

    @staticmethod
    def _close_if_unused(generation: _Generation) -> None:
        if generation.retired and generation.users == 0:
            generation.connection.close()

    def close(self) -> None:
        """Close the reader's connection (requests still using it keep it until they finish)."""
        with self._lock:
            if self._current is not None:
                self._current.retired = True
                self._close_if_unused(self._current)
                self._current = None

    # --- writers ---------------------------------------------------------

    @contextmanager
    def edit(self, waiting: Callable[[], None] | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A writable connection to a private copy, published atomically when the block succeeds.

        If the block raises, nothing is published and the live file is
        untouched. Writers queue on ``<db>.lock``; ``waiting`` is called once
        if another writer holds it.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a+") as lock_file:
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if waiting is not None:
                    waiting()
                fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                self._remove_abandoned_copies()
                copy = self.path.with_name(f".{self.path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
                if self.path.exists():
                    shutil.copyfile(self.path, copy)
                try:
                    con = connect(copy)
                    try:
                        yield con
                        con.execute("CHECKPOINT")
                    finally:
                        con.close()
                    _fsync(copy)
                    os.replace(copy, self.path)
                    _fsync(self.path.parent)
                finally:
                    for leftover in (copy, copy.with_name(copy.name + ".wal")):
                        leftover.unlink(missing_ok=True)
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def _remove_abandoned_copies(self) -> None:
        """Copies left by writers that died mid-edit (we hold the lock, so none is in use)."""
        for leftover in self.path.parent.glob(f".{self.path.name}.*.tmp*"):
            leftover.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    """Flush a file or directory to disk so a published version survives a crash."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)

