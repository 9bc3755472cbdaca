"""The settings file beside a store (docs/architecture.md#settings-file): named sections, private, atomic, merged.

What the file guarantees whatever is stored in it (API keys today, saved
dashboard views next): mode 600 whatever the umask, the owner kept, a new
identity on every write, nothing written when a change fails or the disk is
full, and junk at its path (a directory, a symlink, a pipe, damaged JSON)
named clearly instead of being read or overwritten.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import threading

import pytest

from insights_core.auth.settings import SettingsError, SettingsFile
from insights_core.store import StoreError


@pytest.fixture
def settings(tmp_path) -> SettingsFile:
    (tmp_path / "store.duckdb").write_bytes(b"a store")
    return SettingsFile(tmp_path / "store.duckdb")


def leftovers(settings: SettingsFile) -> list[str]:
    return sorted(path.name for path in settings.path.parent.iterdir() if path.name.endswith(".tmp"))


def test_names_beside_the_store(settings, tmp_path):
    assert settings.path == tmp_path / "store.duckdb.settings.json"
    assert settings.lock_path == tmp_path / "store.duckdb.settings.json.lock"


def test_no_file_reads_as_no_sections(settings):
    assert settings.sections() == {} and settings.section("views", default={}) == {}
    assert settings.identity() is None and not settings.path.exists()


def test_update_writes_one_section_and_keeps_the_others(settings):
    settings.update("views", lambda views: {**views, "July": {"start_date": "2025-07-01"}}, default={})
    settings.update("api_keys", lambda keys: keys + [{"name": "k"}], default=[])
    document = json.loads(settings.path.read_text())
    assert document == {"insights_settings": 1, "sections": {
        "api_keys": [{"name": "k"}], "views": {"July": {"start_date": "2025-07-01"}}}}
    assert settings.section("views") == {"July": {"start_date": "2025-07-01"}}


def test_a_section_read_is_a_copy(settings):
    settings.update("views", lambda views: {"a": [1]}, default={})
    copy = settings.section("views")
    copy["a"].append(2)
    assert settings.section("views") == {"a": [1]}


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077])
def test_the_file_is_private_whatever_the_umask(settings, umask):
    previous = os.umask(umask)
    try:
        settings.update("views", lambda views: {"a": 1}, default={})
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(settings.path).st_mode) == 0o600


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_root_keeps_the_owner(settings):
    settings.update("views", lambda views: {"a": 1}, default={})
    os.chown(settings.path, 1000, 1000)
    settings.update("views", lambda views: {**views, "b": 2}, default={})
    status = os.stat(settings.path)
    assert (status.st_uid, status.st_gid, stat.S_IMODE(status.st_mode)) == (1000, 1000, 0o600)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_a_new_file_belongs_to_the_store_owner(settings):
    os.chown(settings.store_path, 1000, 1000)
    settings.update("views", lambda views: {"a": 1}, default={})
    status = os.stat(settings.path)
    assert (status.st_uid, status.st_gid) == (1000, 1000)


def test_every_write_is_a_new_file_with_a_new_identity(settings):
    """Readers notice a change by a stat, never by reading: the rename gives a new inode each time."""
    settings.update("views", lambda views: {"a": 1}, default={})
    first = settings.identity()
    settings.update("views", lambda views: {"a": 1}, default={})  # same content, still a new version
    assert settings.identity() != first
    identity, value = settings.read_with_identity("views")
    assert identity == settings.identity() and value == {"a": 1}


def test_a_failing_change_writes_nothing(settings):
    settings.update("views", lambda views: {"a": 1}, default={})
    before = (settings.path.read_bytes(), settings.identity())

    def broken(value):
        raise ValueError("no")

    with pytest.raises(ValueError):
        settings.update("views", broken)
    assert (settings.path.read_bytes(), settings.identity()) == before
    assert leftovers(settings) == []


def test_a_full_disk_says_so_and_leaves_nothing(settings, monkeypatch):
    settings.update("views", lambda views: {"a": 1}, default={})
    before = settings.path.read_bytes()

    def full(descriptor, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(SettingsError, match=rf"no space left on device \(needed about 1 MB in {settings.path.parent}\)"):
        settings.update("views", lambda views: {"b": 2})
    monkeypatch.undo()
    assert settings.path.read_bytes() == before
    assert leftovers(settings) == []


def test_writers_wait_for_each_other(settings):
    """The second writer finds the lock taken, waits, and then changes the first writer's result."""
    inside, waiting = threading.Event(), threading.Event()

    def first_change(views):
        inside.set()
        assert waiting.wait(10)
        return {**views, "first": 1}

    first = threading.Thread(target=lambda: settings.update("views", first_change, default={}))
    first.start()
    assert inside.wait(10)
    SettingsFile(settings.store_path).update("views", lambda views: {**views, "second": 2}, default={},
                                             waiting=waiting.set)
    first.join(10)
    assert settings.section("views") == {"first": 1, "second": 2}


def test_settings_errors_are_store_errors_for_the_command_line():
    assert issubclass(SettingsError, StoreError)


# --- junk at the path --------------------------------------------------------------------------------


def test_a_directory_at_the_path_is_named(settings):
    settings.path.mkdir()
    for use in (settings.sections, lambda: settings.update("views", lambda views: {})):
        with pytest.raises(SettingsError, match="is a directory, not a settings file; move it away"):
            use()
    assert settings.path.is_dir() and list(settings.path.iterdir()) == []


def test_a_symlink_at_the_path_is_refused(settings, tmp_path):
    target = tmp_path / "elsewhere.json"
    target.write_text('{"insights_settings": 1, "sections": {"views": {"planted": 1}}}')
    settings.path.symlink_to(target)
    with pytest.raises(SettingsError, match="is a symbolic link"):
        settings.sections()
    with pytest.raises(SettingsError, match="is a symbolic link"):
        settings.update("views", lambda views: {})
    assert settings.path.is_symlink() and "planted" in target.read_text()


def test_a_symlink_at_the_lock_path_is_refused(settings, tmp_path):
    settings.lock_path.symlink_to(tmp_path / "victim")
    with pytest.raises(SettingsError, match="lock file .* is a symbolic link"):
        settings.update("views", lambda views: {})
    assert not (tmp_path / "victim").exists() and not settings.path.exists()


def test_a_named_pipe_at_the_path_does_not_hang(settings):
    os.mkfifo(settings.path)
    with pytest.raises(SettingsError, match="is a named pipe, not a settings file"):
        settings.sections()


@pytest.mark.parametrize(("content", "reason"), [
    (b"{not json", "not JSON"),
    (b"\xff\xfe", "not UTF-8"),
    (b"[1, 2]", "no 'insights_settings' marker"),
    (b'{"sections": {}}', "no 'insights_settings' marker"),
    (b'{"insights_settings": 2, "sections": {}}', "format 2"),
    (b'{"insights_settings": 1, "sections": []}', "'sections' is not an object"),
    (b"[" * 100_000, "nested too deeply"),
])
def test_a_damaged_file_is_refused_not_overwritten(settings, content, reason):
    """It may hold API keys: a damaged one is named, never silently replaced by an empty one."""
    settings.path.write_bytes(content)
    with pytest.raises(SettingsError, match="is not a valid settings file") as refused:
        settings.update("views", lambda views: {"a": 1}, default={})
    assert reason in str(refused.value) and len(str(refused.value)) < 600
    assert settings.path.read_bytes() == content


def test_an_empty_file_is_no_sections(settings):
    settings.path.write_bytes(b"")
    assert settings.sections() == {}
    settings.update("views", lambda views: {"a": 1}, default={})
    assert settings.section("views") == {"a": 1}


def test_a_huge_file_is_refused_without_reading_it(settings, monkeypatch):
    import insights_core.auth.settings as settings_module

    monkeypatch.setattr(settings_module, "MAX_BYTES", 100)
    settings.path.write_bytes(b" " * 101)
    with pytest.raises(SettingsError, match="too large for a settings file"):
        settings.sections()
