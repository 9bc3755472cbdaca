"""Relations that one step of a load makes and the next one reads, handed over as values.

A load works in steps (read, check, derive, rebuild journeys), each making a
temporary table the next one reads. Each step returns a :class:`Relation`
and the next takes it as an argument, so what a step reads is in its
signature instead of in a table name both sides happen to know
(docs/architecture.md#from-file-to-answer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import duckdb


@dataclass(frozen=True)
class Relation:
    """A temporary table or view by name (or a parenthesised query); ``str()`` is what a FROM clause takes.

    Names and queries are written by the code that makes the relation, never taken from user input.
    """

    name: str

    def __str__(self) -> str:
        return self.name


def temp_table(
    cur: duckdb.DuckDBPyConnection, name: str, query: str, parameters: Sequence[object] = ()
) -> Relation:
    """Materialise ``query`` as the temporary table ``name`` (replacing one of that name)."""
    cur.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {query}", list(parameters))
    return Relation(name)


def temp_view(cur: duckdb.DuckDBPyConnection, name: str, query: str) -> Relation:
    """``query`` as the temporary view ``name``: read where it is used, never stored."""
    cur.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {query}")
    return Relation(name)


def drop_temporaries(cur: duckdb.DuckDBPyConnection) -> None:
    """Free every temporary table and view of this cursor (before a commit, so memory goes back)."""
    for name, kind in cur.execute(
        "SELECT view_name, 'VIEW' FROM duckdb_views() WHERE temporary AND NOT internal"
        " UNION ALL SELECT table_name, 'TABLE' FROM duckdb_tables() WHERE temporary"
    ).fetchall():
        cur.execute(f'DROP {kind} IF EXISTS temp.main."{name}"')
