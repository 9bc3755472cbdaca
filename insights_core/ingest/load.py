"""The load: read, check, derive and rebuild journeys, all or nothing, in one transaction.

docs/data.md#loading-rules and docs/data.md#appending-and-replacing: a load
stores every row of its files or none, and the store is unchanged after a
failed one. The steps, each handing the next the relations it made
(docs/architecture.md#from-file-to-answer):

1. ``read``: locate the files and read them into typed rows;
2. ``rules``: check every loading rule (counting first; example row numbers
   only for a failed load, from rows re-read in file order);
3. ``derive``: source, medium, channel and channel group per distinct
   combination (docs/data.md#source-and-medium, docs/data.md#channel-groups);
4. ``journeys``: every user the load touches is rebuilt from all of their
   sessions and conversions, stored and new (docs/metrics.md#roles,
   docs/metrics.md#touchpoints).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Sequence

import duckdb

from .. import journeys
from ..channel_groups import ChannelGroupRule
from ..store.connection import cursor
from ..store.relations import Relation, drop_temporaries, temp_table, temp_view
from ..vocabulary import CONVERSION_COLUMNS, SESSION_COLUMNS
from . import derive, read, rules
from .memory import bounded_memory
from .read import Input, Source
from .report import LoadError, LoadReport, Violation

Progress = Callable[[str, float], None]
"""Called with a stage description and the fraction of the load done."""

USER_TABLES_REPLACED = journeys.USER_TABLES
"""What ``replace`` empties before storing (the rules and the load log stay)."""


@dataclass(frozen=True)
class _Incoming:
    """The rows of this load, read and typed."""

    sessions: Relation
    conversions: Relation


@dataclass(frozen=True)
class _Stored:
    """What a load checks its rows against: the stored rows, or none when it replaces them."""

    sessions: Relation
    conversions: Relation

    @classmethod
    def of(cls, replace: bool) -> _Stored:
        if replace:
            return cls(
                Relation("(SELECT * FROM sessions WHERE false)"), Relation("(SELECT * FROM conversions WHERE false)")
            )
        return cls(Relation("sessions"), Relation("conversions"))


def load(
    con: duckdb.DuckDBPyConnection,
    sessions: Source | None = None,
    conversions: Source | None = None,
    *,
    replace: bool = False,
    channel_rules: Sequence[tuple[str, str]] | None = None,
    channel_group_rules: Sequence[ChannelGroupRule] | None = None,
    progress: Progress | None = None,
    memory_limit: str | None = None,
) -> LoadReport:
    """Store sessions and/or conversions, all or nothing (docs/data.md#loading-rules).

    ``replace`` drops the stored sessions and conversions first (in the same
    transaction). ``channel_rules`` (``host, medium`` rows,
    docs/data.md#known-hosts) and ``channel_group_rules``
    (docs/data.md#channel-groups) replace the user's stored rules of that kind,
    and every stored session is derived again with them. ``memory_limit``
    (``512MB``) is the load's memory budget (see ``memory``). Raises
    :class:`LoadError`; the store is then as it was.
    """
    if sessions is None and conversions is None and channel_rules is None and channel_group_rules is None:
        raise LoadError("nothing to load: give sessions and/or conversions")
    report = progress or (lambda stage, fraction: None)
    began = time.perf_counter()
    cur = cursor(con)
    views: list[str] = []
    try:
        with bounded_memory(cur, memory_limit):
            cur.execute("BEGIN TRANSACTION")
            try:
                result = _load(cur, sessions, conversions, replace, channel_rules, channel_group_rules, views, report)
                report("committing", 0.95)
                drop_temporaries(cur)
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            finally:
                cur.execute("SET preserve_insertion_order = true")
    finally:
        for view in views:
            cur.unregister(view)
        cur.close()
    report("done", 1.0)
    return LoadReport(**result, seconds=time.perf_counter() - began)


def _load(
    cur: duckdb.DuckDBPyConnection,
    sessions: Source | None,
    conversions: Source | None,
    replace: bool,
    channel_rules: Sequence[tuple[str, str]] | None,
    channel_group_rules: Sequence[ChannelGroupRule] | None,
    views: list[str],
    report: Progress,
) -> dict:
    """Every step of :func:`load` inside its transaction; returns the report's facts."""
    inputs = {
        kind: read.locate(cur, kind, source, views) if source is not None else Input.empty(kind)
        for kind, source in (("sessions", sessions), ("conversions", conversions))
    }
    stored = _Stored.of(replace)
    incoming = _read(cur, inputs, ordered=False, report=report)
    report("checking rows", 0.35)
    broken = _broken_rules(cur, incoming, stored)
    if any(broken):
        # Row numbers need the rows in file order; reading that way is slower,
        # so it is only done to explain a failed load.
        report("locating the bad rows", 0.4)
        incoming = _read(cur, inputs, ordered=True, report=lambda *_: None)
        raise LoadError.of(_violations(cur, incoming, stored, inputs, broken))

    report("storing", 0.45)
    _store_rules(cur, channel_rules, channel_group_rules)
    if replace:
        for table in USER_TABLES_REPLACED:
            cur.execute(f"DELETE FROM {table}")
    rederive = channel_rules is not None or channel_group_rules is not None
    users = journeys.number_users(cur, _affected_users(cur, incoming, rederive))

    report("deriving channels", 0.5)
    derivation = derive.Derivation.of(*derive.stored_rules(cur))
    journey_sessions, rederived = _journey_sessions(cur, incoming, users, derivation, rederive)
    journey_conversions = _journey_conversions(cur, incoming, users)

    report("recomputing user journeys", 0.6)
    recomputed = journeys.rebuild(cur, users, journey_sessions, journey_conversions)

    counts = cur.execute(
        f"SELECT (SELECT count(*) FROM {incoming.sessions}), (SELECT count(*) FROM {incoming.conversions})"
    ).fetchone()
    labels = {kind: ", ".join(found.labels) or None for kind, found in inputs.items()}
    cur.execute(
        "INSERT INTO loads VALUES (?, ?, ?, ?, ?, ?)",
        [datetime.now(timezone.utc).replace(tzinfo=None), labels["sessions"], labels["conversions"],
         counts[0], counts[1], replace],
    )
    return {
        "sessions_rows": counts[0],
        "conversions_rows": counts[1],
        "users_recomputed": recomputed,
        "ignored_columns": {kind: found.ignored for kind, found in inputs.items() if found.ignored},
        "files_loaded": sessions is not None or conversions is not None,
        "channel_rules": len(channel_rules) if channel_rules is not None else None,
        "channel_group_rules": len(channel_group_rules) if channel_group_rules is not None else None,
        "sessions_rederived": rederived,
    }


# --- reading and checking -------------------------------------------------------------------

def _read(cur: duckdb.DuckDBPyConnection, inputs: dict[str, Input], *, ordered: bool, report: Progress) -> _Incoming:
    """Read both inputs into typed temporary tables (no rows for an input not given).

    Without ``ordered`` the rows are read in parallel in any order: which
    rules are broken, and how often, is right, but the example row numbers
    are not. Rows a CSV parser rejects fail the load here.
    """
    cur.execute(f"SET preserve_insertion_order = {'true' if ordered else 'false'}")
    read.clear_rejects(cur)
    report("reading sessions", 0.0)
    sessions = _read_one(cur, inputs["sessions"], "incoming_sessions", SESSION_COLUMNS, derive.with_url_facts)
    report("reading conversions", 0.2)
    conversions = _read_one(cur, inputs["conversions"], "incoming_conversions", CONVERSION_COLUMNS, lambda sql: sql)
    unreadable = read.unreadable_rows(cur, inputs["sessions"]) + read.unreadable_rows(cur, inputs["conversions"])
    if unreadable:
        raise LoadError.of(unreadable)
    return _Incoming(sessions, conversions)


def _read_one(
    cur: duckdb.DuckDBPyConnection,
    found: Input,
    name: str,
    columns: Sequence[str],
    finish: Callable[[str], str],
) -> Relation:
    rows = read.typed_rows(found, columns)
    try:
        return temp_table(cur, name, finish(rows.sql), rows.parameters)
    except duckdb.Error as error:
        labels = ", ".join(found.labels)
        raise LoadError(f"{labels}: cannot read {found.kind}: {_first_line(error)}") from None


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]


def _checked(cur: duckdb.DuckDBPyConnection, incoming: _Incoming, stored: _Stored) -> tuple[Relation, Relation]:
    return (
        rules.checked_sessions(cur, incoming.sessions, stored.sessions),
        rules.checked_conversions(cur, incoming.conversions, incoming.sessions, stored.conversions, stored.sessions),
    )


def _broken_rules(
    cur: duckdb.DuckDBPyConnection, incoming: _Incoming, stored: _Stored
) -> tuple[list[rules.Rule], list[rules.Rule]]:
    """The session rules and the conversion rules some row breaks."""
    checked_sessions, checked_conversions = _checked(cur, incoming, stored)
    return (
        rules.broken_rules(cur, checked_sessions, rules.SESSION_RULES),
        rules.broken_rules(cur, checked_conversions, rules.CONVERSION_RULES),
    )


def _violations(
    cur: duckdb.DuckDBPyConnection,
    incoming: _Incoming,
    stored: _Stored,
    inputs: dict[str, Input],
    broken: tuple[list[rules.Rule], list[rules.Rule]],
) -> list[Violation]:
    checked_sessions, checked_conversions = _checked(cur, incoming, stored)
    return rules.violations(cur, checked_sessions, incoming.sessions, inputs["sessions"], broken[0]) + (
        rules.violations(cur, checked_conversions, incoming.conversions, inputs["conversions"], broken[1])
    )


# --- storing --------------------------------------------------------------------------------

def _store_rules(
    cur: duckdb.DuckDBPyConnection,
    channel_rules: Sequence[tuple[str, str]] | None,
    channel_group_rules: Sequence[ChannelGroupRule] | None,
) -> None:
    """Replace the user's stored rules of each kind given (docs/data.md#known-hosts, #channel-groups)."""
    if channel_rules is not None:
        cur.execute("DELETE FROM channel_rules")
        if channel_rules:
            cur.executemany("INSERT INTO channel_rules VALUES (?, ?)", [list(rule) for rule in channel_rules])
    if channel_group_rules is not None:
        cur.execute("DELETE FROM channel_group_rules")
        if channel_group_rules:
            cur.executemany(
                "INSERT INTO channel_group_rules VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [[position, *rule.as_row()] for position, rule in enumerate(channel_group_rules, start=1)],
            )


def _affected_users(cur: duckdb.DuckDBPyConnection, incoming: _Incoming, rederive: bool) -> Relation:
    """The users whose journeys change: those with new sessions or conversions; every stored
    user too when the rules changed (their sessions are derived again)."""
    stored_users = (
        "SELECT user_id FROM sessions" if rederive
        else f"SELECT user_id FROM sessions WHERE session_id IN (SELECT session_id FROM {incoming.conversions})"
    )
    return temp_table(cur, "affected_users", f"""
        SELECT user_id FROM {incoming.sessions}
        UNION
        {stored_users}
    """)


def _journey_sessions(
    cur: duckdb.DuckDBPyConnection, incoming: _Incoming, users: Relation, derivation: derive.Derivation, rederive: bool
) -> tuple[Relation, int]:
    """Every session of ``users``, new and stored, with what it derives to and a unique ``journey_key``.

    New sessions are derived here; stored ones keep what they were derived to,
    unless the rules changed (then they are derived again from what was kept
    of their URLs, and their number is returned).
    """
    new = derive.derive_channels(cur, incoming.sessions, derive.INCOMING_LANDING, derivation, "incoming_derived")
    stored = journeys.stored_sessions_of(cur, users)
    rederived = 0
    if rederive:
        stored = _derived_again(cur, stored, derivation)
        (rederived,) = cur.execute(f"SELECT count(*) FROM {stored}").fetchone()
    carried = [column for column in journeys.JOURNEY_SESSION_COLUMNS if column not in derive.DERIVED_COLUMNS]
    new_columns = ", ".join(
        [f"i.{column}" for column in carried] + [f"d.{column}" for column in derive.DERIVED_COLUMNS]
    )
    stored_columns = ", ".join(journeys.JOURNEY_SESSION_COLUMNS)
    view = temp_view(cur, "journey_sessions", f"""
        SELECT i.rowid AS journey_key, {new_columns}
        FROM {incoming.sessions} i JOIN {new} d ON {derive.join_condition('i', 'd', derive.INCOMING_LANDING)}
        UNION ALL BY NAME
        SELECT -1 - rowid AS journey_key, {stored_columns} FROM {stored}
    """)
    return view, rederived


def _derived_again(cur: duckdb.DuckDBPyConnection, stored: Relation, derivation: derive.Derivation) -> Relation:
    """Stored sessions with source, medium, channel and group derived again under the current rules."""
    again = derive.derive_channels(cur, stored, derive.STORED_LANDING, derivation, "stored_derived")
    kept = [column for column in journeys.JOURNEY_SESSION_COLUMNS if column not in derive.DERIVED_COLUMNS]
    columns = ", ".join(
        [f"s.{column}" for column in kept] + [f"d.{column}" for column in derive.DERIVED_COLUMNS]
    )
    return temp_table(cur, "stored_journey_sessions_derived", f"""
        SELECT {columns}
        FROM {stored} s JOIN {again} d ON {derive.join_condition('s', 'd', derive.STORED_LANDING)}
    """)


def _journey_conversions(cur: duckdb.DuckDBPyConnection, incoming: _Incoming, users: Relation) -> Relation:
    """Every conversion of ``users``: this load's and the stored ones."""
    stored = journeys.stored_conversions_of(cur, users)
    columns = ", ".join(journeys.JOURNEY_CONVERSION_COLUMNS)
    return temp_view(cur, "journey_conversions", f"""
        SELECT {columns} FROM {incoming.conversions}
        UNION ALL
        SELECT {columns} FROM {stored}
    """)
