"""The loading rules (docs/data.md#loading-rules), each a named predicate over the rows read.

A :class:`Rule` is a name people read in messages and a SQL predicate that
is true on a row breaking it. The predicates read a *checked* relation: the
typed incoming rows plus the facts a rule needs from elsewhere (ids seen
twice, counting the stored ones; the start of a conversion's session).
Checking is two passes: counting every rule over rows in any order (cheap,
and enough when nothing is wrong), then, only for a failed load and over rows
re-read in file order, the count and first example rows per file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import duckdb

from ..store.relations import Relation, temp_view
from ..vocabulary import EARLIEST_YEAR, LATEST_YEAR
from .read import Input, in_years_sql
from .report import EXAMPLE_ROWS, Violation


@dataclass(frozen=True)
class Rule:
    """A loading rule: its name in messages, and SQL true on a row that breaks it."""

    name: str
    predicate_sql: str

    def __post_init__(self) -> None:
        if '"' in self.name:
            raise ValueError(f"a rule name is used as a column alias and cannot hold a double quote: {self.name}")


MISSING_VALUE = "missing required value"
UNPARSEABLE_TIMESTAMP = "unparseable timestamp"
TIMESTAMP_OUT_OF_RANGE = f"timestamp outside years {EARLIEST_YEAR}-{LATEST_YEAR}"
DUPLICATE_ID = "duplicate id"
EXIT_BEFORE_START = "exited_at before started_at"
CONVERSION_BEFORE_SESSION = "conversion before its session start"
UNKNOWN_SESSION = "conversion of an unknown session"
BAD_VALUE = "value not a finite decimal >= 0"


def _blank(column: str) -> str:
    """SQL: a required text value is absent or blank."""
    return f"({column} IS NULL OR trim({column}) = '')"


def _absent(column: str) -> str:
    """SQL: a required timestamp was not given at all (as opposed to given but unparseable)."""
    return f"({column} IS NULL AND NOT {column}_unparseable)"


SESSION_RULES: tuple[Rule, ...] = (
    Rule(MISSING_VALUE, f"{_blank('session_id')} OR {_blank('user_id')} OR {_absent('started_at')}"),
    Rule(UNPARSEABLE_TIMESTAMP, "started_at_unparseable OR exited_at_unparseable"),
    Rule(TIMESTAMP_OUT_OF_RANGE, f"NOT {in_years_sql('started_at')} OR NOT {in_years_sql('exited_at')}"),
    Rule(DUPLICATE_ID, "_duplicate_id"),
    Rule(EXIT_BEFORE_START, "coalesce(exited_at < started_at, false)"),
)
"""docs/data.md#loading-rules for sessions, in the documented order."""

CONVERSION_RULES: tuple[Rule, ...] = (
    Rule(MISSING_VALUE, f"{_blank('conversion_id')} OR {_blank('session_id')} OR {_absent('converted_at')}"),
    Rule(UNPARSEABLE_TIMESTAMP, "converted_at_unparseable"),
    Rule(TIMESTAMP_OUT_OF_RANGE, f"NOT {in_years_sql('converted_at')}"),
    Rule(DUPLICATE_ID, "_duplicate_id"),
    Rule(CONVERSION_BEFORE_SESSION, "coalesce(converted_at < _session_started_at, false)"),
    Rule(UNKNOWN_SESSION, "session_id IS NOT NULL AND NOT _known_session"),
    Rule(BAD_VALUE, "value_unreadable OR coalesce(value < 0, false)"),
)
"""docs/data.md#loading-rules for conversions, including their sessions (loaded now or stored)."""


def checked_sessions(cur: duckdb.DuckDBPyConnection, incoming: Relation, stored: Relation) -> Relation:
    """The incoming sessions with what :data:`SESSION_RULES` need: ``_row`` and ``_duplicate_id``.

    ``stored`` are the sessions already in the store whose ids count as taken
    (none when the load replaces them).
    """
    return temp_view(cur, "checked_sessions", f"""
        WITH seen AS (
            SELECT session_id FROM {incoming}
            UNION ALL
            SELECT session_id FROM {stored} WHERE session_id IN (SELECT session_id FROM {incoming})
        ), duplicate_ids AS (
            SELECT session_id FROM seen WHERE session_id IS NOT NULL GROUP BY session_id HAVING count(*) > 1
        )
        SELECT i.rowid AS _row, i.*, coalesce(i.session_id IN (SELECT session_id FROM duplicate_ids), false)
               AS _duplicate_id
        FROM {incoming} i
    """)


def checked_conversions(
    cur: duckdb.DuckDBPyConnection,
    incoming: Relation,
    incoming_sessions: Relation,
    stored_conversions: Relation,
    stored_sessions: Relation,
) -> Relation:
    """The incoming conversions with what :data:`CONVERSION_RULES` need.

    ``_duplicate_id``; ``_known_session`` and ``_session_started_at`` from the
    sessions of this load or the stored ones.
    """
    return temp_view(cur, "checked_conversions", f"""
        WITH seen AS (
            SELECT conversion_id FROM {incoming}
            UNION ALL
            SELECT conversion_id FROM {stored_conversions}
            WHERE conversion_id IN (SELECT conversion_id FROM {incoming})
        ), duplicate_ids AS (
            SELECT conversion_id FROM seen WHERE conversion_id IS NOT NULL
            GROUP BY conversion_id HAVING count(*) > 1
        ), known_sessions AS (
            SELECT session_id, min(started_at) AS started_at FROM (
                SELECT session_id, started_at FROM {incoming_sessions}
                UNION ALL
                SELECT session_id, started_at FROM {stored_sessions}
                WHERE session_id IN (SELECT session_id FROM {incoming})
            ) GROUP BY session_id
        )
        SELECT c.rowid AS _row, c.*,
               coalesce(c.conversion_id IN (SELECT conversion_id FROM duplicate_ids), false) AS _duplicate_id,
               k.session_id IS NOT NULL AS _known_session,
               k.started_at AS _session_started_at
        FROM {incoming} c LEFT JOIN known_sessions k ON c.session_id = k.session_id
    """)


def broken_rules(cur: duckdb.DuckDBPyConnection, checked: Relation, rules: Sequence[Rule]) -> list[Rule]:
    """The rules some row of ``checked`` breaks, counted in one pass over rows in any order."""
    counts = ", ".join(f'count_if({rule.predicate_sql}) AS "{rule.name}"' for rule in rules)
    result = cur.execute(f"SELECT {counts} FROM {checked}")
    names = [column[0] for column in result.description]
    broken = {name for name, count in zip(names, result.fetchone()) if count}
    return [rule for rule in rules if rule.name in broken]


def violations(
    cur: duckdb.DuckDBPyConnection, checked: Relation, incoming: Relation, found: Input, rules: Sequence[Rule]
) -> list[Violation]:
    """Per file and broken rule: the count and first example rows (data rows from 1).

    ``incoming`` must hold the rows in file order, so that a row's number is
    its ``rowid`` minus the first ``rowid`` of its file, plus one.
    """
    first_rowid = dict(cur.execute(f"SELECT _file, min(rowid) FROM {incoming} GROUP BY _file").fetchall())
    found_violations = []
    for rule in rules:
        for file, count, examples in cur.execute(
            f"SELECT _file, count(*), min(_row, {EXAMPLE_ROWS}) FROM {checked}"
            f" WHERE {rule.predicate_sql} GROUP BY _file ORDER BY _file"
        ).fetchall():
            rows = tuple(sorted(row - first_rowid[file] + 1 for row in examples))
            found_violations.append(Violation(found.labels[file - 1], rule.name, count, rows))
    return found_violations
