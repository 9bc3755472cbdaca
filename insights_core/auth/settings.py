"""The settings file beside a store: small things that must not rewrite the analytics data.

API keys (their hashes), when each was last used and, later, the dashboard's
saved views live in ``<db>.settings.json`` next to the store
(docs/architecture.md#settings-file). Changing one of them is a few hundred
bytes, where changing the store means copying the whole database
(docs/architecture.md#the-store-file); and the HTTP server, which only reads
the store, can record key usage here.

The file is a JSON object of named *sections*, each holding any JSON value::

    {"insights_settings": 1, "sections": {"api_keys": [...], "saved_views": {...}}}

Every change is a read-modify-write of one section under an exclusive
``flock`` on ``<db>.settings.json.lock``, so concurrent writers (two
``insights apikey`` commands, a server recording usage, a dashboard saving a
view) merge instead of losing each other's changes. The new version is
written to a temporary file created with mode 600, flushed to disk and
renamed over the old one, so a reader sees the old file or the new one,
never half of one, and the file is never readable by other users. A reader
notices a change cheaply by the file's :meth:`SettingsFile.identity`.
"""

from __future__ import annotations

import copy
import errno
import json
import os
import stat
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from ..store import StoreError
from ..storefile import describe_file_kind as _kind, fsync_directory as _fsync_directory, lock_exclusively, open_lock_file

SUFFIX = ".settings.json"
FORMAT_KEY = "insights_settings"
FORMAT_VERSION = 1
FILE_MODE = 0o600
MAX_BYTES = 16 * 1024 * 1024
"""A settings file is a few kilobytes; anything this large is not one."""


class SettingsError(StoreError):
    """The settings file (or its lock) cannot be used: a directory, a symlink, damaged JSON, a full disk."""


Identity = tuple[int, int, int, int]


@dataclass(frozen=True)
class SettingsFile:
    """``<db>.settings.json`` of the store at ``store_path`` (see the module docstring)."""

    store_path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "store_path", Path(self.store_path))

    @property
    def path(self) -> Path:
        return self.store_path.with_name(self.store_path.name + SUFFIX)

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    # --- reading ---------------------------------------------------------------

    def identity(self) -> Identity | None:
        """What changes whenever the file is replaced (a ``stat``, no read); ``None`` when absent."""
        try:
            status = os.stat(self.path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return (status.st_dev, status.st_ino, status.st_mtime_ns, status.st_size)

    def sections(self) -> dict[str, Any]:
        """Every section by name; empty when there is no file yet."""
        return self._read()[1]

    def section(self, name: str, default: Any = None) -> Any:
        """One section's value (a copy: changing it changes nothing stored), or ``default``."""
        return self.sections().get(name, copy.deepcopy(default))

    def read_with_identity(self, name: str, default: Any = None) -> tuple[Identity | None, Any]:
        """A section and the identity of the very file it was read from (for caches keyed on it)."""
        identity, sections = self._read()
        return identity, sections.get(name, copy.deepcopy(default))

    def _read(self) -> tuple[Identity | None, dict[str, Any]]:
        try:
            descriptor = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        except FileNotFoundError:
            return None, {}
        except OSError as error:
            raise self._unusable(self.path, error) from None
        try:
            status = os.fstat(descriptor)
            if not stat.S_ISREG(status.st_mode):
                raise SettingsError(f"{self.path} is {_kind(status.st_mode)}, not a settings file; move it away")
            if status.st_size > MAX_BYTES:
                raise SettingsError(f"{self.path} is {status.st_size:,} bytes, too large for a settings file;"
                                    " move it away")
            chunks = []
            while chunk := os.read(descriptor, 1024 * 1024):
                chunks.append(chunk)
            data = b"".join(chunks)
        finally:
            os.close(descriptor)
        identity = (status.st_dev, status.st_ino, status.st_mtime_ns, status.st_size)
        return identity, _parse(self.path, data)

    # --- writing ---------------------------------------------------------------

    def update(self, name: str, change: Callable[[Any], Any], default: Any = None,
               waiting: Callable[[], None] | None = None) -> Any:
        """Replace section ``name`` by ``change(current value)`` and return the new value.

        ``change`` runs under the lock on the newest stored version (a copy of
        it, ``default`` when the section is absent), so concurrent updates of
        any sections merge. If it raises, nothing is written. ``waiting`` is
        called once if another writer holds the lock.
        """
        with self._locked(waiting):
            _, sections = self._read()
            value = change(sections.get(name, copy.deepcopy(default)))
            sections[name] = value
            self._write(sections)
            return value

    @contextmanager
    def _locked(self, waiting: Callable[[], None] | None) -> Iterator[None]:
        descriptor = open_lock_file(self.lock_path, SettingsError)
        try:
            lock_exclusively(descriptor, waiting)
            yield
        finally:
            os.close(descriptor)  # releases the lock

    def _write(self, sections: dict[str, Any]) -> None:
        document = {FORMAT_KEY: FORMAT_VERSION, "sections": sections}
        data = (json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
        owner = _owner_to_keep(self.path, self.store_path)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                                 FILE_MODE)
            try:
                os.fchmod(descriptor, FILE_MODE)  # exactly 600, whatever the umask
                if owner is not None:
                    _chown_quietly(descriptor, *owner)
                view = memoryview(data)
                while view:
                    view = view[os.write(descriptor, view):]
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
            os.replace(temporary, self.path)
            _fsync_directory(self.path.parent)
        except OSError as error:
            temporary.unlink(missing_ok=True)
            if error.errno in (errno.ENOSPC, errno.EDQUOT):
                raise SettingsError(
                    f"no space left on device (needed about {_megabytes(len(data))} MB in {self.path.parent})"
                ) from None
            raise self._unusable(self.path, error) from None
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    @staticmethod
    def _unusable(path: Path, error: OSError) -> SettingsError:
        if error.errno == errno.ELOOP:
            return SettingsError(f"{path} is a symbolic link; the settings file must be a plain file: remove the link")
        if error.errno == errno.EISDIR:
            return SettingsError(f"{path} is a directory, not a settings file; move it away")
        return SettingsError(f"cannot use the settings file {path}: {error.strerror or error}")


def _parse(path: Path, data: bytes) -> dict[str, Any]:
    """The sections of a settings document; anything else is refused rather than overwritten (it holds keys)."""
    def damaged(reason: str) -> SettingsError:
        return SettingsError(f"{path} is not a valid settings file ({reason}); restore it from a backup or move it"
                             " away (it holds the API keys; moving it away forgets them)")

    if not data.strip():
        return {}  # an empty file: nothing stored yet
    try:
        document = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise damaged("not UTF-8 text") from None
    except RecursionError:
        raise damaged("nested too deeply") from None
    except ValueError as error:
        raise damaged(f"not JSON: {error}") from None
    if not isinstance(document, dict) or document.get(FORMAT_KEY) is None:
        raise damaged(f"no {FORMAT_KEY!r} marker")
    if document[FORMAT_KEY] != FORMAT_VERSION:
        raise damaged(f"format {document[FORMAT_KEY]!r}, this version reads format {FORMAT_VERSION}")
    sections = document.get("sections", {})
    if not isinstance(sections, dict):
        raise damaged("'sections' is not an object")
    return sections


def _owner_to_keep(path: Path, store_path: Path) -> tuple[int, int] | None:
    """The owner of the settings file being replaced, else the store's (root writing a user's store)."""
    for candidate in (path, store_path):
        try:
            status = os.stat(candidate, follow_symlinks=False)
        except OSError:
            continue
        return status.st_uid, status.st_gid
    return None


def _chown_quietly(descriptor: int, uid: int, gid: int) -> None:
    """Keep the owner where we may (root may; anyone may keep their own), else the writer owns it."""
    status = os.fstat(descriptor)
    if (status.st_uid, status.st_gid) == (uid, gid):
        return
    try:
        os.fchown(descriptor, uid, gid)
    except PermissionError:
        pass


def _megabytes(size: int) -> int:
    return max(1, -(-size // (1024 * 1024)))
