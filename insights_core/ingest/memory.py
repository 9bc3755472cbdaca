"""Bounded memory for the heavy writes (loads and upgrades): a memory budget and a spill directory.

A load's peak memory must not grow with the data (docs/architecture.md#the-store-file).
Its budget is ``--memory-limit``, else the environment variable
:data:`MEMORY_LIMIT_VARIABLE`, else the smaller of 1 GiB and a quarter of the
machine's memory (or of the container's limit). The budget is for the whole
process: DuckDB's own memory limit, which covers its buffer pool, is
:data:`DUCKDB_SHARE` of it, because the process also holds Python and the
libraries (about 100 MB) and DuckDB allocates outside its pool (join and
sort state, allocator slack): measured, a load's peak RSS is DuckDB's limit
plus up to about as much again. What does not fit is written to a directory
next to the store, which DuckDB removes when the connection closes.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from ..store.connection import shown_path, store_path
from .report import LoadError

MEMORY_LIMIT_VARIABLE = "INSIGHTS_LOAD_MEMORY_LIMIT"
"""Environment variable with the memory limit of loads (``512MB``, ``2GB``), when no flag gives one."""

DEFAULT_CEILING = 1 << 30
"""The default limit is at most 1 GiB …"""
DEFAULT_SHARE = 4
"""… and at most a quarter of the memory there is."""

DUCKDB_SHARE = 0.4
"""The part of the budget DuckDB's memory limit gets (see the module docstring)."""

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*$", re.IGNORECASE)
_UNITS = {
    "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    "KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "TIB": 1 << 40,
}
_SMALLEST = 128 << 20


def default_memory_limit() -> str:
    """The smaller of 1 GiB and a quarter of the memory available, as a DuckDB setting."""
    return f"{min(DEFAULT_CEILING, _available_memory() // DEFAULT_SHARE) >> 20}MiB"


def _available_memory() -> int:
    """Physical memory, or the container's memory limit when that is smaller."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
    except OSError:
        return total
    return min(total, int(limit)) if limit.isdigit() else total


def memory_limit_setting(given: str | None = None) -> str:
    """The budget to use: ``given``, else the environment's, else the default; validated."""
    text = given if given is not None else os.environ.get(MEMORY_LIMIT_VARIABLE) or default_memory_limit()
    match = _SIZE.match(text)
    source = "--memory-limit" if given is not None else (
        MEMORY_LIMIT_VARIABLE if os.environ.get(MEMORY_LIMIT_VARIABLE) else "the default memory limit"
    )
    if match is None:
        raise LoadError(f"{source}: {text!r} is not a size; write it like 512MB or 2GB")
    size = float(match[1]) * _UNITS[match[2].upper()]
    if size < _SMALLEST:
        raise LoadError(f"{source}: {text!r} is too small for a load; give at least 128MB")
    return f"{int(size) >> 20}MiB"


def spill_directory(path: Path) -> Path:
    """Where a load on the store at ``path`` spills: next to it, one directory per process.

    Named after the store a person knows (not a writer's working copy), and so
    that a writer's clean-up of abandoned copies never matches it.
    """
    shown = shown_path(path)
    return shown.with_name(f".{shown.name}.spill-{os.getpid()}")


def _remove_abandoned_spills(path: Path) -> None:
    """Spill directories of processes that no longer run (killed mid-load)."""
    shown = shown_path(path)
    for leftover in shown.parent.glob(f".{shown.name}.spill-*"):
        pid = leftover.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or _running(int(pid)):
            continue
        for child in leftover.iterdir():
            child.unlink(missing_ok=True)
        leftover.rmdir()


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def duckdb_limit(budget: str) -> str:
    """DuckDB's memory limit for a budget from :func:`memory_limit_setting` (``1024MiB`` -> ``409MiB``)."""
    return f"{int(int(budget.removesuffix('MiB')) * DUCKDB_SHARE)}MiB"


@contextmanager
def bounded_memory(cur: duckdb.DuckDBPyConnection, limit: str | None = None) -> Iterator[str]:
    """Run the block within the memory budget (:func:`memory_limit_setting`), spilling next to the store.

    The previous limit is restored afterwards; the spill directory stays set
    (DuckDB cannot switch it once used) and is removed when the connection closes.
    """
    setting = memory_limit_setting(limit)
    path = store_path(cur)
    try:
        _remove_abandoned_spills(path)
    except OSError:
        pass  # another process's leftovers are not worth failing a load over
    (previous,) = cur.execute("SELECT current_setting('memory_limit')").fetchone()
    cur.execute(f"SET memory_limit = '{duckdb_limit(setting)}'")
    spill = str(spill_directory(path))
    (current_spill,) = cur.execute("SELECT current_setting('temp_directory')").fetchone()
    if current_spill != spill:
        try:
            cur.execute("SET temp_directory = ?", [spill])
        except duckdb.Error:
            pass  # this connection already spilled elsewhere; DuckDB keeps using that directory
    try:
        yield setting
    finally:
        cur.execute("RESET memory_limit")  # the default, exactly (a shown value is rounded)
        if cur.execute("SELECT current_setting('memory_limit')").fetchall() != [(previous,)]:
            cur.execute(f"SET memory_limit = '{previous}'")  # a limit the caller had set
