"""API keys of the HTTP API (SPEC 5.1): create, list, revoke and verify them, storing only hashes.

A key is shown once, when it is created; the store's ``api_keys`` table keeps
its name, the sha256 hex digest of the key and its creation and revocation
times. Creating and revoking are writes, so the command line makes them
through ``StoreFile.edit()``; the server only reads the table (from its
current snapshot) and compares the hash of a presented key with every active
hash in constant time. Keys may also come from the environment variable
``INSIGHTS_API_KEYS`` (comma-separated). The time a key was last used is not
written to the database, which the server never writes: :class:`KeyUsageLog`
keeps it in a small sidecar file next to it, ``<db>.key-usage.json``.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Mapping

import duckdb

from .store import cursor

ENV_VARIABLE = "INSIGHTS_API_KEYS"
"""Comma-separated keys accepted besides the stored ones (SPEC 5.1)."""

KEY_PREFIX = "ins_"
"""Marks a string as an Insights key (for secret scanners and people); 43 random characters follow."""

_RANDOM_BYTES = 32  # secrets.token_urlsafe(32): 43 URL-safe characters, 256 bits
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


class ApiKeyError(Exception):
    """A key operation that cannot be done (bad or duplicate name, no such key)."""


@dataclass(frozen=True)
class ApiKeyInfo:
    """What ``insights apikey list`` shows about a key: never the key itself."""

    name: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def hash_key(key: str) -> str:
    """The stored form of a key: the sha256 hex digest of its UTF-8 bytes."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def new_key() -> str:
    """A fresh random key from :mod:`secrets`."""
    return KEY_PREFIX + secrets.token_urlsafe(_RANDOM_BYTES)


def match_key(presented: str, key_hashes: Iterable[str]) -> str | None:
    """The hash among ``key_hashes`` that ``presented`` hashes to, or ``None``.

    Every stored hash is compared with :func:`hmac.compare_digest` and the loop
    never stops early, so the time taken does not depend on how much of a
    guess is right.
    """
    presented_hash = hash_key(presented)
    found = None
    for key_hash in key_hashes:
        if hmac.compare_digest(presented_hash, key_hash):
            found = key_hash
    return found


def env_keys(environ: Mapping[str, str] | None = None) -> list[str]:
    """The keys of ``INSIGHTS_API_KEYS``: comma-separated, blanks around them and empty entries ignored."""
    text = (os.environ if environ is None else environ).get(ENV_VARIABLE, "")
    return [key.strip() for key in text.split(",") if key.strip()]


def check_name(name: str) -> str:
    """A key name: 1-64 letters, digits, ``.``, ``_``, ``@`` or ``-``, starting with a letter or digit."""
    if not _NAME.fullmatch(name):
        raise ApiKeyError(
            f"bad key name {name!r}: use 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"
        )
    return name


def create_key(con: duckdb.DuckDBPyConnection, name: str, now: datetime | None = None) -> str:
    """Store the hash of a new key named ``name`` and return the key (it cannot be recovered later).

    Names are unique among active keys; a revoked key's name can be reused.
    """
    check_name(name)
    cur = cursor(con)
    try:
        if cur.execute("SELECT 1 FROM api_keys WHERE name = ? AND revoked_at IS NULL", [name]).fetchall():
            raise ApiKeyError(f"an active API key named {name!r} already exists; revoke it first or choose another name")
        key = new_key()
        cur.execute(
            "INSERT INTO api_keys (name, key_hash, created_at, revoked_at) VALUES (?, ?, ?, NULL)",
            [name, hash_key(key), _naive_utc(now)],
        )
    finally:
        cur.close()
    return key


def revoke_key(con: duckdb.DuckDBPyConnection, name: str, now: datetime | None = None) -> None:
    """Revoke the active key named ``name``; a running server rejects it from its next request on."""
    cur = cursor(con)
    try:
        if not cur.execute("SELECT 1 FROM api_keys WHERE name = ? AND revoked_at IS NULL", [name]).fetchall():
            revoked = cur.execute("SELECT 1 FROM api_keys WHERE name = ?", [name]).fetchall()
            state = "it is already revoked" if revoked else "see 'insights apikey list'"
            raise ApiKeyError(f"no active API key named {name!r}; {state}")
        cur.execute(
            "UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", [_naive_utc(now), name]
        )
    finally:
        cur.close()


def list_keys(
    con: duckdb.DuckDBPyConnection, last_used: Mapping[str, datetime] | None = None
) -> list[ApiKeyInfo]:
    """Every stored key, oldest first; ``last_used`` maps key hashes to their last use (see :class:`KeyUsageLog`)."""
    last_used = last_used or {}
    cur = cursor(con)
    try:
        rows = cur.execute(
            "SELECT name, key_hash, created_at, revoked_at FROM api_keys ORDER BY created_at, name"
        ).fetchall()
    finally:
        cur.close()
    return [ApiKeyInfo(name, created_at, revoked_at, last_used.get(key_hash))
            for name, key_hash, created_at, revoked_at in rows]


def active_key_hashes(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The hashes of the active (not revoked) stored keys, mapped to their names."""
    cur = cursor(con)
    try:
        return dict(cur.execute("SELECT key_hash, name FROM api_keys WHERE revoked_at IS NULL").fetchall())
    finally:
        cur.close()


def _naive_utc(moment: datetime | None) -> datetime:
    """Timestamps are stored as naive UTC, like every other timestamp of the store."""
    moment = moment or datetime.now(timezone.utc)
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


class KeyUsageLog:
    """When each key was last used, in the sidecar file ``<db>.key-usage.json``.

    The server reads the database but never writes it (writers replace the
    whole file, see ``storefile``), so it notes uses in memory and a
    background thread merges them into the sidecar: at once for a key whose
    recorded use is older than ``interval`` seconds, otherwise at most every
    ``interval`` seconds. A merge takes the lock ``<db>.key-usage.lock`` (not
    the writers' ``<db>.lock``, which a long load holds for minutes), keeps
    the later time of each key, and replaces the file atomically, so several
    servers on one database do not lose each other's uses. Entries are keyed
    by the key's hash, which the database already holds.
    """

    def __init__(self, db_path: str | Path, interval: float = 5.0) -> None:
        db_path = Path(db_path)
        self.path = db_path.with_name(db_path.name + ".key-usage.json")
        self.lock_path = db_path.with_name(db_path.name + ".key-usage.lock")
        self.interval = interval
        self._lock = threading.Lock()
        self._pending: dict[str, datetime] = {}
        self._written_at: dict[str, float] = {}  # monotonic time each key was last merged
        self._due = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def read(self) -> dict[str, datetime]:
        """The recorded last use of each key hash (naive UTC); empty when nothing was recorded."""
        try:
            entries = json.loads(self.path.read_text(encoding="utf-8")).get("last_used", {})
            return {key_hash: datetime.fromisoformat(text) for key_hash, text in entries.items()}
        except (FileNotFoundError, ValueError, AttributeError, TypeError):
            return {}  # absent or damaged: it is only a convenience, the next merge rewrites it

    def record(self, key_hash: str, when: datetime | None = None) -> None:
        """Note a use of the key with this hash (cheap: memory only)."""
        when = _naive_utc(when)
        with self._lock:
            self._pending[key_hash] = when
            if time.monotonic() - self._written_at.get(key_hash, float("-inf")) >= self.interval:
                self._due.set()

    def flush(self) -> None:
        """Merge the noted uses into the sidecar file now."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return
        try:
            with open(self.lock_path, "a+") as lock_file:
                fcntl.flock(lock_file, fcntl.LOCK_EX)
                try:
                    merged = self.read()
                    for key_hash, when in pending.items():
                        if key_hash not in merged or merged[key_hash] < when:
                            merged[key_hash] = when
                    self._write(merged)
                finally:
                    fcntl.flock(lock_file, fcntl.LOCK_UN)
        except BaseException:
            with self._lock:  # keep them for the next merge, unless newer uses were noted meanwhile
                for key_hash, when in pending.items():
                    self._pending.setdefault(key_hash, when)
            raise
        written = time.monotonic()
        with self._lock:
            for key_hash in pending:
                self._written_at[key_hash] = written

    def _write(self, last_used: Mapping[str, datetime]) -> None:
        document = {"last_used": {key_hash: when.isoformat() for key_hash, when in sorted(last_used.items())}}
        descriptor, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(document, handle, indent=1)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def start(self) -> None:
        """Start the background thread that merges noted uses."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="insights-key-usage", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread and merge what is left."""
        self._stopping.set()
        self._due.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._flush_quietly()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._due.wait(timeout=self.interval)
            self._due.clear()
            self._flush_quietly()
            self._stopping.wait(timeout=min(1.0, self.interval))  # at most one merge a second

    def _flush_quietly(self) -> None:
        try:
            self.flush()
        except OSError:
            pass  # a read-only directory must not break serving; last use is best effort
