"""Helpers shared by the test modules: demo stores and loopback ports."""

from __future__ import annotations

import socket
from datetime import datetime
from typing import Mapping, Sequence
from pathlib import Path

import insights_core
from insights_core.demo import generate_demo
from insights_core.engines.base import Dialect
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


class MarkingDialect(Dialect):
    """A dialect spelling every piece as a marker, to see what the shared SQL writes itself."""

    name = "marking"

    def parameter(self, name: str) -> str:
        return f"<param {name}>"

    def exact_median(self, expression: str) -> str:
        return f"<median {expression}>"

    def ordered_list(self, element: str, order_by: Sequence[str]) -> str:
        return f"<list {element} by {', '.join(order_by)}>"

    def struct(self, fields: Mapping[str, str]) -> str:
        return f"<struct {', '.join(fields)}>"

    def common_table(self, name: str, body: str, *, materialized: bool = False) -> str:
        return f"{name} AS <{'materialized' if materialized else 'table'}>({body})"

    def scaled_quotient(self, numerator: str, scale: int, denominator: str) -> str:
        return f"<quotient {numerator} x {scale} by {denominator}>"

    def microseconds_between(self, earlier: str, later: str) -> str:
        return f"<microseconds {earlier} to {later}>"

    def ordered_concat(self, element: str, order_by: Sequence[str]) -> str:
        return f"<concat {element} by {', '.join(order_by)}>"
