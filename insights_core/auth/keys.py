"""API keys of the HTTP API: create, list, revoke and verify them, keeping only hashes (docs/api.md#authentication).

A key is shown once, when it is created; the settings file beside the store
(:mod:`insights_core.auth.settings`, section ``api_keys``) keeps its name,
the sha256 hex digest of the key, its creation and revocation times and when
it was last used. Creating or revoking a key rewrites that small file, never
the store. The server compares the hash of a presented key with every active
hash in constant time and notices a change of the file by its identity (a
``stat`` per request), so a revoked key is refused from the next request on.
Keys may also come from the environment variable ``INSIGHTS_API_KEYS``
(comma-separated, each at least :data:`MIN_ENV_KEY_LENGTH` characters).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from ..wording import counted
from .settings import SettingsError, SettingsFile

SECTION = "api_keys"
"""The settings file's section holding the keys: a list of entries, oldest first."""

ENV_VARIABLE = "INSIGHTS_API_KEYS"
"""Comma-separated keys accepted besides the stored ones."""

MIN_ENV_KEY_LENGTH = 16
"""A shorter key from the environment is guessable; the server refuses to start with one."""

KEY_PREFIX = "ins_"
"""Marks a string as an Insights key (for secret scanners and people); 43 random characters follow."""

_RANDOM_BYTES = 32  # secrets.token_urlsafe(32): 43 URL-safe characters, 256 bits
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")

log = logging.getLogger("insights.auth")


class ApiKeyError(Exception):
    """A key operation that cannot be done (bad or duplicate name, no such key, a too short key)."""


@dataclass(frozen=True)
class ApiKeyInfo:
    """What ``insights apikey list`` shows about a key: never the key itself. Times are naive UTC."""

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
    """The keys of ``INSIGHTS_API_KEYS``: comma-separated, blanks around them and empty entries ignored.

    An entry shorter than :data:`MIN_ENV_KEY_LENGTH` is an :class:`ApiKeyError`
    (which names its position, never the key).
    """
    text = (os.environ if environ is None else environ).get(ENV_VARIABLE, "")
    keys = [key.strip() for key in text.split(",") if key.strip()]
    short = [position for position, key in enumerate(keys, 1) if len(key) < MIN_ENV_KEY_LENGTH]
    if short:
        which = ", ".join(map(str, short))
        raise ApiKeyError(
            f"{ENV_VARIABLE}: {counted(len(short), 'key')} shorter than {MIN_ENV_KEY_LENGTH} characters"
            f" (entry {which} of {len(keys)}); use long random keys, e.g. from 'insights apikey create'"
        )
    return keys


def check_name(name: str) -> str:
    """A key name: 1-64 letters, digits, ``.``, ``_``, ``@`` or ``-``, starting with a letter or digit."""
    if not _NAME.fullmatch(name):
        raise ApiKeyError(
            f"bad key name {name[:80]!r}: use 1-64 letters, digits, '.', '_', '@' or '-',"
            " starting with a letter or digit"
        )
    return name


# --- the stored keys ---------------------------------------------------------------------


def create_key(settings: SettingsFile, name: str, now: datetime | None = None,
               waiting: Callable[[], None] | None = None) -> str:
    """Store the hash of a new key named ``name`` and return the key (it cannot be recovered later).

    Names are unique among active keys; a revoked key's name can be reused.
    """
    check_name(name)
    key = new_key()

    def add(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if any(entry["name"] == name and entry.get("revoked_at") is None for entry in _entries(settings, entries)):
            raise ApiKeyError(f"an active API key named {name!r} already exists;"
                              " revoke it first or choose another name")
        entries.append({"name": name, "key_hash": hash_key(key), "created_at": _text(now),
                        "revoked_at": None, "last_used_at": None})
        return entries

    settings.update(SECTION, add, default=[], waiting=waiting)
    return key


def revoke_key(settings: SettingsFile, name: str, now: datetime | None = None,
               waiting: Callable[[], None] | None = None) -> None:
    """Revoke the active key named ``name``; a running server refuses it from its next request on."""
    def revoke(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        named = [entry for entry in _entries(settings, entries) if entry["name"] == name]
        active = [entry for entry in named if entry.get("revoked_at") is None]
        if not active:
            state = "it is already revoked" if named else "see 'insights apikey list'"
            raise ApiKeyError(f"no active API key named {name[:80]!r}; {state}")
        for entry in active:
            entry["revoked_at"] = _text(now)
        return entries

    settings.update(SECTION, revoke, default=[], waiting=waiting)


def list_keys(settings: SettingsFile) -> list[ApiKeyInfo]:
    """Every stored key, oldest first."""
    entries = _entries(settings, settings.section(SECTION, []))
    infos = [ApiKeyInfo(entry["name"], _moment(entry["created_at"]), _moment(entry.get("revoked_at")),
                        _moment(entry.get("last_used_at"))) for entry in entries]
    return sorted(infos, key=lambda info: (info.created_at, info.name))


def active_key_hashes(settings: SettingsFile) -> dict[str, str]:
    """The hashes of the active (not revoked) stored keys, mapped to their names."""
    return _active(settings, settings.section(SECTION, []))


def _active(settings: SettingsFile, section: Any) -> dict[str, str]:
    return {entry["key_hash"]: entry["name"] for entry in _entries(settings, section)
            if entry.get("revoked_at") is None}


def add_entries(settings: SettingsFile, entries: Iterable[Mapping[str, Any]]) -> int:
    """Add keys (``name``, ``key_hash``, ``created_at``, ``revoked_at``) not yet stored; the number added.

    A key already stored (same hash) is kept as it is, except that a
    revocation is never undone. Used to move the keys of an older store.
    """
    incoming = [{"name": entry["name"], "key_hash": entry["key_hash"], "created_at": _text(entry["created_at"]),
                 "revoked_at": _text(entry["revoked_at"]) if entry.get("revoked_at") else None,
                 "last_used_at": None} for entry in entries]
    added = 0

    def merge(stored: list[dict[str, Any]]) -> list[dict[str, Any]]:
        nonlocal added
        by_hash = {entry["key_hash"]: entry for entry in _entries(settings, stored)}
        for entry in incoming:
            known = by_hash.get(entry["key_hash"])
            if known is None:
                stored.append(entry)
                by_hash[entry["key_hash"]] = entry
                added += 1
            elif known.get("revoked_at") is None and entry["revoked_at"] is not None:
                known["revoked_at"] = entry["revoked_at"]
        return stored

    if incoming:
        settings.update(SECTION, merge, default=[])
    return added


def _entries(settings: SettingsFile, section: Any) -> list[dict[str, Any]]:
    """The section's entries, checked: a hand-edited file that lost its shape is refused, not guessed at."""
    def damaged(why: str) -> SettingsError:
        return SettingsError(f"{settings.path}: the {SECTION!r} section is damaged ({why}); restore the file"
                             " from a backup or move it away")

    if not isinstance(section, list):
        raise damaged("not a list")
    for entry in section:
        if not isinstance(entry, dict) or not all(isinstance(entry.get(key), str)
                                                  for key in ("name", "key_hash", "created_at")):
            raise damaged("an entry without name, key_hash or created_at")
    return section


def _text(moment: datetime | str | None) -> str:
    """A time as stored: ISO 8601 in UTC with ``Z`` (``now`` when ``None``)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    moment = moment or datetime.now(timezone.utc)
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.isoformat() + "Z"


def _moment(text: str | None) -> datetime | None:
    """A stored time as naive UTC, like every timestamp of the store."""
    if text is None:
        return None
    moment = datetime.fromisoformat(text.removesuffix("Z"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


# --- what the server accepts ---------------------------------------------------------------


class AcceptedKeys:
    """The key hashes a server accepts: the active stored keys and the environment's.

    The stored ones are re-read whenever the settings file's identity
    changes (:meth:`is_current`, a ``stat``), so a key created or revoked by
    another process counts from the next request on.
    """

    def __init__(self, settings: SettingsFile, env_keys: Iterable[str]) -> None:
        self._settings = settings
        self._env = {hash_key(key): ENV_VARIABLE for key in env_keys}
        self._stored: dict[str, str] = {}
        self._identity: object = None
        self._loaded = False
        self._lock = threading.Lock()
        self.problem: str | None = None
        """Why the stored keys cannot be read (a damaged settings file), or ``None``; only environment keys work then."""

    def is_current(self) -> bool:
        return self._loaded and self._settings.identity() == self._identity

    def refresh(self) -> None:
        """Re-read the stored keys (it reads a file: call it off the event loop).

        A settings file that cannot be read leaves no stored key accepted
        (failing closed) until the file changes again; the reason is logged
        once and kept in :attr:`problem`.
        """
        with self._lock:
            if self.is_current():
                return
            identity = self._settings.identity()
            try:
                identity, section = self._settings.read_with_identity(SECTION, [])
                stored, problem = _active(self._settings, section), None
            except SettingsError as error:
                stored, problem = {}, str(error)
                log.error("no stored API key is accepted until this is fixed: %s", problem)
            self._stored, self._identity, self._loaded, self.problem = stored, identity, True, problem

    def match(self, presented: str) -> str | None:
        """The hash of the accepted key ``presented`` is, compared in constant time; ``None`` if none."""
        return match_key(presented, [*self._stored, *self._env])

    def count(self) -> int:
        return len(self._stored) + len(self._env)


class KeyUsage:
    """When each stored key was last used, written into the settings file now and then.

    The server notes uses in memory (:meth:`record`, cheap) and a background
    thread merges them into the keys' entries: at once for a key not written
    within ``interval`` seconds, otherwise at most every ``interval`` seconds,
    and on shutdown. The merge is a read-modify-write of the settings file
    under its lock, keeping the later time, so several servers and the
    ``apikey`` commands never lose each other's changes. ``clock`` (monotonic
    seconds) and ``now`` (UTC) are injectable for tests.
    """

    def __init__(self, settings: SettingsFile, interval: float = 5.0,
                 clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self.settings = settings
        self.interval = interval
        self._clock = clock
        self._now = now
        self._lock = threading.Lock()
        self._pending: dict[str, datetime] = {}
        self._written_at: dict[str, float] = {}  # clock time each key was last merged
        self._due = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._failed_once = False

    def record(self, key_hash: str, when: datetime | None = None) -> None:
        """Note a use of the key with this hash (memory only; the thread writes it)."""
        when = when or self._now()
        with self._lock:
            self._pending[key_hash] = when
            if self._clock() - self._written_at.get(key_hash, float("-inf")) >= self.interval:
                self._due.set()

    def due(self) -> bool:
        """Whether a noted use should be written now (a key not written within the interval)."""
        return self._due.is_set()

    def flush(self, waiting: Callable[[], None] | None = None) -> None:
        """Merge the noted uses into the settings file now."""
        with self._lock:
            pending, self._pending = self._pending, {}
            self._due.clear()
        if not pending:
            return
        texts = {key_hash: _text(when) for key_hash, when in pending.items()}

        def merge(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
            for entry in _entries(self.settings, entries):
                when = texts.get(entry["key_hash"])
                if when is not None and (entry.get("last_used_at") is None
                                         or _moment(entry["last_used_at"]) < _moment(when)):
                    entry["last_used_at"] = when
            return entries

        try:
            if any(key_hash in texts for key_hash in active_or_revoked(self.settings)):
                self.settings.update(SECTION, merge, default=[], waiting=waiting)
        except BaseException:
            with self._lock:  # keep them for the next merge, unless newer uses were noted meanwhile
                for key_hash, when in pending.items():
                    self._pending.setdefault(key_hash, when)
            raise
        written = self._clock()
        with self._lock:
            for key_hash in pending:
                self._written_at[key_hash] = written

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
            self._flush_quietly()
            self._stopping.wait(timeout=min(1.0, self.interval))  # at most one merge a second

    def _flush_quietly(self) -> None:
        try:
            self.flush()
        except (OSError, SettingsError) as error:
            if not self._failed_once:  # a read-only directory must not break serving; last use is best effort
                log.warning("cannot record API key use in %s: %s", self.settings.path, error)
                self._failed_once = True


def active_or_revoked(settings: SettingsFile) -> set[str]:
    """The hashes of every stored key (environment keys have no entry, so their use is not recorded)."""
    return {entry["key_hash"] for entry in _entries(settings, settings.section(SECTION, []))}


def settings_for(store_path: str | Path) -> SettingsFile:
    """The settings file of the store at ``store_path``."""
    return SettingsFile(Path(store_path))
