"""Sharing one store file between processes: snapshots for readers, atomic swaps for writers.

DuckDB lets one process write a file, or several read it, never both. The
dashboard, the HTTP server and ``insights load`` must nevertheless work on
the same file at the same time, so no one ever writes the live file in
place (docs/architecture.md#the-store-file):

* a writer (load, demo, a migration) takes an exclusive lock on
  ``<db>.lock``, copies the file into a private directory beside it,
  changes the copy in one transaction, checkpoints it, gives it the live
  file's permissions and owner, and renames it over the live file, which is
  atomic;
* a reader opens the live file read-only and, before each use, checks
  whether the file on disk has been replaced; if so it opens the new one and
  retires the old connection once the requests using it have finished.

A reader therefore always answers from one complete version of the data:
the old one until the rename, the new one after it, never half a load. A
writer that fails or is interrupted removes its copy; one killed outright
leaves it behind, and the next writer deletes it. Small settings (API keys,
saved views) are not in the store at all: they live in the settings file
beside it (``insights_core.auth.settings``), so changing them copies nothing.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import stat
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import duckdb

from .store import StoreError, connect
from .store.connection import directory_error


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
        self.check_path()
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

        If the block raises (or is interrupted), nothing is published, the
        live file is untouched and the copy is removed. Writers queue on
        ``<db>.lock``; ``waiting`` is called once if another writer holds it.
        The published file keeps the live file's permissions and owner
        (docs/architecture.md#the-store-file). Running out of disk space is a
        :class:`StoreError` saying how much was needed where.
        """
        self.check_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = open_lock_file(self.lock_path)
        try:
            lock_exclusively(lock, waiting)
            self._remove_abandoned_copies()
            with self._working_copy() as copy:
                try:
                    con = connect(copy)
                    try:
                        yield con
                        con.execute("CHECKPOINT")
                    finally:
                        con.close()
                    self._publish(copy)
                except BaseException as error:
                    if _is_disk_full(error):
                        raise _disk_full("more than", _size_of(copy.parent), self.path.parent) from None
                    raise
        finally:
            os.close(lock)  # releases the lock

    def check_path(self) -> None:
        """Refuse, clearly, a path that cannot be a store file: a directory, a pipe, a device."""
        try:
            status = os.stat(self.path)
        except FileNotFoundError:
            parent = self.path.parent
            if parent.exists() and not parent.is_dir():
                raise StoreError(f"cannot create a database at {self.path}: {parent} is not a directory") from None
            return
        except NotADirectoryError:
            raise StoreError(f"cannot use {self.path}: a part of that path is a file, not a directory") from None
        if stat.S_ISDIR(status.st_mode):
            raise directory_error(self.path)
        if not stat.S_ISREG(status.st_mode):
            raise StoreError(f"{self.path} is {describe_file_kind(status.st_mode)}, not a database file")

    @contextmanager
    def _working_copy(self) -> Iterator[Path]:
        """A copy of the live file in a private directory (mode 700), removed on the way out whatever happens.

        The copy is created with the live file's permissions (never wider);
        the files DuckDB adds beside it while it works (its write-ahead log,
        spilled data) are inside the private directory, so no other user can
        read them whatever their mode. A new store follows the umask.
        """
        workdir = self.path.with_name(f".{self.path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        os.mkdir(workdir, 0o700)
        try:
            copy = workdir / self.path.name
            try:
                live = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                live = None  # a new store: DuckDB creates the copy
            if live is not None:
                with os.fdopen(live, "rb") as source:
                    status = os.fstat(source.fileno())
                    try:
                        _copy_file(source.fileno(), copy, stat.S_IMODE(status.st_mode) & 0o777)
                    except OSError as error:
                        if _is_disk_full(error):
                            raise _disk_full("about", status.st_size, self.path.parent) from None
                        raise
            yield copy
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _publish(self, copy: Path) -> None:
        """Give the copy the live file's mode and owner, flush it and rename it over the live file."""
        try:
            live = os.stat(self.path)
        except FileNotFoundError:
            live = None
        if live is not None:
            _keep_mode_and_owner(copy, live)
        _fsync(copy)
        os.replace(copy, self.path)
        fsync_directory(self.path.parent)

    def _remove_abandoned_copies(self) -> None:
        """Copies left by writers that died mid-edit (we hold the lock, so none is in use)."""
        for leftover in self.path.parent.glob(f".{self.path.name}.*.tmp*"):
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)


def lock_exclusively(descriptor: int, waiting: Callable[[], None] | None) -> None:
    """Take the exclusive lock on an open lock file, blocking; ``waiting`` is called once first if another
    writer holds it (so a command can say it is waiting). Closing the descriptor releases the lock."""
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        if waiting is not None:
            waiting()
        fcntl.flock(descriptor, fcntl.LOCK_EX)


def open_lock_file(path: Path, error_type: type[Exception] = StoreError) -> int:
    """A descriptor of the lock file at ``path`` for ``flock``, created if needed, never through a symlink.

    A symlink there could make a writer create a file wherever it points
    (``O_NOFOLLOW`` refuses it); a directory or other non-file is named clearly.
    """
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, 0o644)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise error_type(f"the lock file {path} is a symbolic link; remove the link (a lock file is"
                             " created anew when needed)") from None
        if error.errno == errno.EISDIR:
            raise error_type(f"the lock file {path} is a directory; move it away") from None
        raise error_type(f"cannot open the lock file {path}: {error.strerror or error}") from None
    status = os.fstat(descriptor)
    if not stat.S_ISREG(status.st_mode):
        os.close(descriptor)
        raise error_type(f"the lock file {path} is {describe_file_kind(status.st_mode)}, not a plain file;"
                         " move it away")
    return descriptor


def describe_file_kind(mode: int) -> str:
    """What a non-regular file is, for messages: "a directory", "a named pipe", ..."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "not a plain file"


def fsync_directory(path: Path) -> None:
    """Flush a directory's entries so a rename in it survives a crash."""
    _fsync(path)


def _copy_file(source: int, target: Path, mode: int) -> None:
    """Copy the open file ``source`` to the new file ``target`` created with ``mode`` (the umask may narrow it)."""
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        offset = 0
        while sent := os.sendfile(descriptor, source, offset, _COPY_CHUNK):
            offset += sent
    finally:
        os.close(descriptor)


_COPY_CHUNK = 64 * 1024 * 1024


def _keep_mode_and_owner(copy: Path, live: os.stat_result) -> None:
    """The published file gets the live file's permission bits and, where allowed, its owner and group.

    Only root may give a file to another user; anyone may keep a group they
    belong to. When the group cannot be kept, the group's permissions are
    dropped rather than handed to the writer's own group.
    """
    mode = stat.S_IMODE(live.st_mode) & 0o777
    current = os.stat(copy)
    if (current.st_uid, current.st_gid) != (live.st_uid, live.st_gid):
        try:
            os.chown(copy, live.st_uid, live.st_gid)
        except PermissionError:
            try:
                os.chown(copy, -1, live.st_gid)
            except PermissionError:
                mode &= ~0o070
    os.chmod(copy, mode)


_DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
_DISK_FULL_TEXTS = ("no space left on device", "disk quota exceeded")


def _is_disk_full(error: BaseException | None) -> bool:
    """Whether an error, or one it was raised from, is the disk (or quota) running out.

    DuckDB reports it as an ``IOException`` whose message carries the
    operating system's words; Python as an ``OSError`` with its errno.
    """
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, OSError) and error.errno in _DISK_FULL_ERRNOS:
            return True
        if any(text in str(error).lower() for text in _DISK_FULL_TEXTS):
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False


def _disk_full(how: str, size: int, directory: Path) -> StoreError:
    megabytes = max(1, -(-size // (1024 * 1024)))
    return StoreError(f"no space left on device (needed {how} {megabytes:,} MB in {directory});"
                      " nothing was changed")


def _size_of(directory: Path) -> int:
    """Bytes in the files under ``directory`` (what an edit had written when it failed)."""
    total = 0
    for root, _, files in os.walk(directory):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def _fsync(path: Path) -> None:
    """Flush a file or directory to disk so a published version survives a crash."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
