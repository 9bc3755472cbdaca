"""Helpers shared by the test modules: demo stores and loopback ports."""

from __future__ import annotations

import socket
from datetime import datetime
from pathlib import Path

import insights_core
from insights_core.demo import generate_demo
from insights_core.storefile import StoreFile


def make_demo_db(path: Path, users: int, seed: int, end: datetime) -> Path:
    """A store of demo data, written the way every writer does (``StoreFile.edit``)."""
    data = generate_demo(users=users, seed=seed, end=end)
    with StoreFile(path).edit() as con:
        insights_core.load(con, data.sessions, data.conversions, replace=True)
    return path


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
