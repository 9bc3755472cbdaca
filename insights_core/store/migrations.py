"""Upgrading a store written by an earlier release (docs/architecture.md#migrations).

Each migration is a small function that moves a store one step on, numbered
by the schema version it belongs to and applied in order; a store of
version N gets every migration of a version above N, in one transaction,
then its version stamped. Migrations only add: existing columns keep their
names, types and values, so a store answers exactly as it did, and new
columns come last in their tables, in the order a new store has them.

A writable :func:`insights_core.store.connect` runs them (the command that
writes a store first upgrades it, on the working copy ``StoreFile.edit``
publishes atomically); a read-only one raises ``SchemaOutdated`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Mapping

import duckdb

from .connection import new_engine
from .relations import Relation, drop_temporaries, temp_view
from .schema import SCHEMA_VERSION, TABLES


@dataclass(frozen=True)
class Migration:
    """One step of an upgrade: the schema version it belongs to, what it does, and the function."""

    version: int
    summary: str
    apply: Callable[[duckdb.DuckDBPyConnection, Path], None]
    """Called with a cursor on the store being upgraded and the live store's path (which names
    the files kept beside it, such as the settings file)."""


SCHEMA_2_TABLES: Mapping[str, tuple[str, ...]] = {
    "store_info": ("key", "value"),
    "sessions": (
        "session_id", "user_id", "user_key", "started_at", "exited_at", "landing_page", "referrer",
        "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term", "source", "medium", "channel",
        "timeline_position", "is_first", "is_converting", "is_assist", "is_after", "is_attributed",
        "first_converted_at", "duration_us", "conversion_delay_us",
    ),
    "conversions": (
        "conversion_id", "session_id", "user_id", "converted_at", "conversion_page", "meta_type", "meta_id",
    ),
    "users": (
        "user_id", "user_key", "session_count", "is_converted", "first_session_started_at",
        "first_conversion_at", "time_to_convert_us",
    ),
    "user_channels": (
        "user_key", "channel", "sessions", "is_converted", "first_touch", "assist_touch", "converting_touch",
        "after_touch", "attributed",
    ),
    "channel_rules": ("host", "medium"),
    "loads": ("loaded_at", "sessions_files", "conversions_files", "sessions_rows", "conversions_rows", "replaced"),
    "api_keys": ("name", "key_hash", "created_at", "revoked_at"),
}
"""The columns of every table of a schema-2 store (the release at commit 5a8def2)."""


SCHEMA_3_KEYS_TABLE: Mapping[str, tuple[str, ...]] = {"api_keys": SCHEMA_2_TABLES["api_keys"]}
"""What a schema-3 store had besides today's tables: API keys, now in the settings file."""


def expected_tables(version: int) -> Mapping[str, tuple[str, ...]] | None:
    """The tables and columns a store of ``version`` has; ``None`` for a version that cannot be upgraded."""
    if version == SCHEMA_VERSION:
        return current_tables()
    if version == 3:
        return {**current_tables(), **SCHEMA_3_KEYS_TABLE}
    if version == 2:
        return SCHEMA_2_TABLES
    return None


@lru_cache(maxsize=1)
def current_tables() -> Mapping[str, tuple[str, ...]]:
    """The tables and columns of a new store, read from the statements that create them."""
    scratch = new_engine()
    try:
        for statement in TABLES.values():
            scratch.execute(statement)
        return {
            name: tuple(columns)
            for name, columns in scratch.execute(
                "SELECT table_name, list(column_name ORDER BY column_index) FROM duckdb_columns()"
                " WHERE database_name = 'memory' AND NOT internal GROUP BY table_name"
            ).fetchall()
        }
    finally:
        scratch.close()


def upgrade(con: duckdb.DuckDBPyConnection, found: int, shown: Path) -> None:
    """Apply every migration above schema ``found`` in one transaction, under the loader's memory bounds."""
    from ..ingest.memory import bounded_memory  # the migrations reuse the loader's pieces

    cur = con.cursor()
    cur.execute("USE store")
    try:
        with bounded_memory(cur):
            cur.execute("BEGIN TRANSACTION")
            try:
                for migration in MIGRATIONS:
                    if migration.version > found:
                        migration.apply(cur, shown)
                cur.execute("UPDATE store_info SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION)])
                drop_temporaries(cur)
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
    finally:
        cur.close()


# --- schema 2 -> 3 -----------------------------------------------------------------------------

def _add_column(cur: duckdb.DuckDBPyConnection, table: str, name: str, data_type: str, placeholder: str = "") -> None:
    """Add a column at the end of ``table``; with a ``placeholder`` (SQL literal) it is NOT NULL.

    DuckDB cannot add a NOT NULL constraint after rows were updated in the
    same transaction, so a required column is added NOT NULL holding the
    placeholder, which the migration then overwrites in every row; the
    default is dropped so the column is declared as in a new store.
    """
    if not placeholder:
        cur.execute(f"ALTER TABLE {table} ADD COLUMN {name} {data_type}")
        return
    cur.execute(f"ALTER TABLE {table} ADD COLUMN {name} {data_type} NOT NULL DEFAULT {placeholder}")
    cur.execute(f"ALTER TABLE {table} ALTER COLUMN {name} DROP DEFAULT")


def sessions_keep_landing_facts(cur: duckdb.DuckDBPyConnection, store_path: Path) -> None:
    """Sessions keep their landing page's registered domain and paid click id, so later loads
    never parse a stored landing page again (docs/data.md#source-and-medium)."""
    from ..ingest import derive

    _add_column(cur, "sessions", "landing_domain", "VARCHAR")
    _add_column(cur, "sessions", "paid_click_id", "VARCHAR")
    bases = temp_view(cur, "migrated_landing_pages", f"""
        SELECT DISTINCT {derive.before_sql('landing_page', '?')} AS landing_base FROM sessions
    """)
    domains = derive.landing_domains(cur, bases, "migrated_landing_domains")
    cur.execute(f"""
        UPDATE sessions
        SET landing_domain = d.landing_domain,
            paid_click_id = {derive.paid_click_id_sql(derive.query_string_sql('sessions.landing_page'))}
        FROM {domains} d
        WHERE {derive.before_sql('sessions.landing_page', '?')} = d.landing_base
    """)


def sessions_get_channel_groups(cur: duckdb.DuckDBPyConnection, store_path: Path) -> None:
    """Every session gets its channel group from its stored source and medium under the shipped
    rules (docs/data.md#channel-groups); the user's own rules get their table."""
    from ..ingest import derive

    cur.execute(TABLES["channel_group_rules"])
    _add_column(cur, "sessions", "channel_group", "VARCHAR", placeholder="''")
    channel_rules, group_rules = derive.stored_rules(cur)
    groups = derive.channel_groups(
        cur, Relation("sessions"), derive.Derivation.of(channel_rules, group_rules), "migrated_channel_groups"
    )
    cur.execute(f"""
        UPDATE sessions SET channel_group = g.channel_group
        FROM {groups} g WHERE sessions.source = g.source AND sessions.medium = g.medium
    """)


def conversions_know_user_and_value(cur: duckdb.DuckDBPyConnection, store_path: Path) -> None:
    """Conversions get their user's number, an empty ``value`` (docs/data.md#conversions) and
    whether they are their user's first (earliest; ties: the smallest id)."""
    _add_column(cur, "conversions", "user_key", "INTEGER", placeholder="0")
    _add_column(cur, "conversions", "value", "DECIMAL(38, 6)")
    _add_column(cur, "conversions", "is_user_first", "BOOLEAN", placeholder="false")
    cur.execute("""
        UPDATE conversions SET user_key = f.user_key, is_user_first = f.is_user_first
        FROM (
            SELECT c.conversion_id, s.user_key,
                   row_number() OVER (PARTITION BY s.user_key ORDER BY c.converted_at, c.conversion_id) = 1
                       AS is_user_first
            FROM conversions c JOIN sessions s USING (session_id)
        ) f
        WHERE conversions.conversion_id = f.conversion_id
    """)


def users_know_their_last_session(cur: duckdb.DuckDBPyConnection, store_path: Path) -> None:
    """Users get the start of their last session (attribution's lookback for users who never converted)."""
    _add_column(cur, "users", "last_session_started_at", "TIMESTAMP", placeholder="TIMESTAMP '1900-01-01'")
    cur.execute("""
        UPDATE users SET last_session_started_at = l.last_session_started_at
        FROM (SELECT user_key, max(started_at) AS last_session_started_at FROM sessions GROUP BY user_key) l
        WHERE users.user_key = l.user_key
    """)


def touchpoints_of_every_conversion(cur: duckdb.DuckDBPyConnection, store_path: Path) -> None:
    """The touchpoints table, filled for every stored conversion (docs/metrics.md#touchpoints)."""
    from .. import journeys

    cur.execute(TABLES["touchpoints"])
    journeys.insert_touchpoints(cur, Relation("users"))


# --- schema 3 -> 4 -----------------------------------------------------------------------------

def api_keys_move_beside_the_store(cur: duckdb.DuckDBPyConnection, store_path: Path) -> None:
    """API keys leave the analytics data for the settings file beside the store
    (docs/architecture.md#settings-file), so changing a key never rewrites the store.

    The keys are copied first (idempotently: a failed upgrade that is run
    again copies nothing twice), then the table is dropped with the rest of
    the upgrade's transaction.
    """
    from ..auth.legacy import move_api_keys

    move_api_keys(cur, store_path)
    cur.execute("DROP TABLE api_keys")


MIGRATIONS: tuple[Migration, ...] = (
    Migration(3, "sessions keep their landing domain and paid click id", sessions_keep_landing_facts),
    Migration(3, "sessions get a channel group", sessions_get_channel_groups),
    Migration(3, "conversions know their user, value and whether they are the user's first",
              conversions_know_user_and_value),
    Migration(3, "users know when their last session started", users_know_their_last_session),
    Migration(3, "touchpoints of every conversion", touchpoints_of_every_conversion),
    Migration(4, "API keys move to the settings file beside the store", api_keys_move_beside_the_store),
)
"""Every migration, in the order they apply; a store of version N gets those above N."""
