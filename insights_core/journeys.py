"""Each user's journey: the timeline of their sessions, its roles, and the touchpoints of their conversions.

docs/metrics.md#roles: a user's sessions are ordered by ``started_at``, ties
by ``session_id``; the first is ``first``, a session with a conversion is
``converting``, sessions strictly between the first and the first converting
one are ``assist``, sessions strictly after it ``after``.
docs/metrics.md#touchpoints: a conversion's touchpoints are its user's
sessions up to and including the converting one, in timeline order; the
``touchpoints`` table holds one row per (conversion, such session) so
attribution applies its lookback and half-life at query time.

Whenever a load changes a user, that user is rebuilt from scratch: their
stored rows are removed and their sessions, conversions, user row,
per-channel rows and touchpoints are written again from every session and
conversion they have (stored and new). Every function takes the relations it
reads as arguments (docs/architecture.md#from-file-to-answer).
"""

from __future__ import annotations

import duckdb

from .store.relations import Relation, temp_table

USER_TABLES: tuple[str, ...] = ("touchpoints", "user_channels", "users", "conversions", "sessions")
"""Stored tables with rows per user (``user_key``), all rebuilt together."""

JOURNEY_SESSION_COLUMNS: tuple[str, ...] = (
    "session_id", "user_id", "started_at", "exited_at", "landing_page", "referrer",
    "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term",
    "landing_domain", "paid_click_id", "source", "medium", "channel", "channel_group",
)
"""What a session brings to its journey: as loaded and derived, before its place in the timeline."""

JOURNEY_CONVERSION_COLUMNS: tuple[str, ...] = (
    "conversion_id", "session_id", "converted_at", "conversion_page", "meta_type", "meta_id", "value",
)
"""What a conversion brings to its journey; its user is its session's."""


def number_users(cur: duckdb.DuckDBPyConnection, affected: Relation) -> Relation:
    """The users of ``affected`` (a relation with ``user_id``) with their ``user_key``.

    Stored users keep their number; new users are numbered after the highest
    one in use, so a query's cohort is a set of small integers.
    """
    return temp_table(cur, "journey_users", f"""
        SELECT a.user_id,
               coalesce(u.user_key, (SELECT coalesce(max(user_key), 0) FROM users)
                        + row_number() OVER (PARTITION BY u.user_key IS NULL))::INTEGER AS user_key
        FROM (SELECT DISTINCT user_id FROM {affected}) a LEFT JOIN users u USING (user_id)
    """)


def stored_sessions_of(cur: duckdb.DuckDBPyConnection, users: Relation) -> Relation:
    """A copy of the stored sessions of ``users`` (journey columns), taken before they are rebuilt."""
    return temp_table(cur, "stored_journey_sessions", f"""
        SELECT {', '.join(JOURNEY_SESSION_COLUMNS)} FROM sessions
        WHERE user_key IN (SELECT user_key FROM {users})
    """)


def stored_conversions_of(cur: duckdb.DuckDBPyConnection, users: Relation) -> Relation:
    """A copy of the stored conversions of ``users``, taken before they are rebuilt."""
    return temp_table(cur, "stored_journey_conversions", f"""
        SELECT {', '.join(JOURNEY_CONVERSION_COLUMNS)} FROM conversions
        WHERE user_key IN (SELECT user_key FROM {users})
    """)


def rebuild(cur: duckdb.DuckDBPyConnection, users: Relation, sessions: Relation, conversions: Relation) -> int:
    """Replace every stored row of ``users`` by rows built from ``sessions`` and ``conversions``.

    ``users`` has ``user_id, user_key``; ``sessions`` has a unique
    ``journey_key`` and :data:`JOURNEY_SESSION_COLUMNS`, every session of these
    users; ``conversions`` has :data:`JOURNEY_CONVERSION_COLUMNS`, every
    conversion of theirs. Copy stored rows (:func:`stored_sessions_of`) before
    calling this: it deletes them first. Returns the number of users written.
    """
    for table in USER_TABLES:
        cur.execute(f"DELETE FROM {table} WHERE user_key IN (SELECT user_key FROM {users})")
    timeline = _timeline(cur, users, sessions, conversions)
    _insert_sessions(cur, sessions, timeline)
    _insert_conversions(cur, conversions)
    written = _insert_users(cur, users, timeline)
    _insert_user_channels(cur, users)
    insert_touchpoints(cur, users)
    return written


def _timeline(cur: duckdb.DuckDBPyConnection, users: Relation, sessions: Relation, conversions: Relation) -> Relation:
    """Each session's place in its user's timeline and its roles (docs/metrics.md#roles).

    A window over a narrow table (sorting the wide rows would cost more); the
    insert joins it back by ``journey_key``.
    """
    return temp_table(cur, "journey_timeline", f"""
        WITH session_conversions AS (
            SELECT session_id, min(converted_at) AS first_converted_at
            FROM {conversions}
            GROUP BY session_id
        ), ordered AS (
            SELECT s.journey_key, u.user_key, s.started_at, sc.first_converted_at,
                   row_number() OVER journey AS timeline_position,
                   count(sc.first_converted_at) OVER (journey ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                       AS converting_before,
                   count(sc.first_converted_at) OVER (journey ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                       AS converting_in_journey
            FROM {sessions} s
            JOIN {users} u ON u.user_id = s.user_id
            LEFT JOIN session_conversions sc ON sc.session_id = s.session_id
            WINDOW journey AS (PARTITION BY u.user_key ORDER BY s.started_at, s.session_id)
        )
        -- assist lies strictly between the first session and the first converting session,
        -- after strictly after it; attributed (docs/metrics.md#channels) at or before it.
        SELECT journey_key, user_key, started_at, first_converted_at, timeline_position,
               timeline_position = 1 AS is_first,
               first_converted_at IS NOT NULL AS is_converting,
               converting_in_journey > 0 AND converting_before = 0
                   AND timeline_position > 1 AND first_converted_at IS NULL AS is_assist,
               converting_before > 0 AS is_after,
               converting_in_journey > 0 AND converting_before = 0 AS is_attributed,
               converting_in_journey > 0 AS user_converted
        FROM ordered
    """)


def _insert_sessions(cur: duckdb.DuckDBPyConnection, sessions: Relation, timeline: Relation) -> None:
    carried = ", ".join(f"s.{column}" for column in JOURNEY_SESSION_COLUMNS)
    cur.execute(f"""
        INSERT INTO sessions BY NAME
        SELECT {carried}, t.user_key, t.timeline_position,
               t.is_first, t.is_converting, t.is_assist, t.is_after, t.is_attributed, t.first_converted_at,
               date_diff('microsecond', s.started_at, s.exited_at) AS duration_us,
               date_diff('microsecond', s.started_at, t.first_converted_at) AS conversion_delay_us
        FROM {sessions} s JOIN {timeline} t USING (journey_key)
    """)


def _insert_conversions(cur: duckdb.DuckDBPyConnection, conversions: Relation) -> None:
    """Conversions with their user; a user's first is the earliest, ties by the smallest id."""
    carried = ", ".join(f"c.{column}" for column in JOURNEY_CONVERSION_COLUMNS)
    cur.execute(f"""
        INSERT INTO conversions BY NAME
        SELECT {carried}, s.user_id, s.user_key,
               row_number() OVER (PARTITION BY s.user_key ORDER BY c.converted_at, c.conversion_id) = 1
                   AS is_user_first
        FROM {conversions} c JOIN sessions s USING (session_id)
    """)


def _insert_users(cur: duckdb.DuckDBPyConnection, users: Relation, timeline: Relation) -> int:
    """One row per user (docs/metrics.md#user-summary, docs/metrics.md#conversion-summary)."""
    (written,) = cur.execute(f"""
        INSERT INTO users BY NAME
        SELECT u.user_id, t.user_key,
               count(*) AS session_count,
               any_value(t.user_converted) AS is_converted,
               min(t.started_at) AS first_session_started_at,
               min(t.first_converted_at) AS first_conversion_at,
               date_diff('microsecond', min(t.started_at), min(t.first_converted_at)) AS time_to_convert_us,
               max(t.started_at) AS last_session_started_at
        FROM {timeline} t JOIN {users} u USING (user_key)
        GROUP BY t.user_key, u.user_id
    """).fetchone()
    return written


def _insert_user_channels(cur: duckdb.DuckDBPyConnection, users: Relation) -> None:
    """One row per (user, channel) with the roles the channel held (docs/metrics.md#channels)."""
    cur.execute(f"""
        INSERT INTO user_channels BY NAME
        SELECT s.user_key, s.channel, count(*) AS sessions, any_value(u.is_converted) AS is_converted,
               bool_or(s.is_first) AS first_touch, bool_or(s.is_assist) AS assist_touch,
               bool_or(s.is_converting) AS converting_touch, bool_or(s.is_after) AS after_touch,
               bool_or(s.is_attributed) AS attributed
        FROM sessions s JOIN users u USING (user_key)
        WHERE s.user_key IN (SELECT user_key FROM {users})
        GROUP BY s.user_key, s.channel
    """)


def insert_touchpoints(cur: duckdb.DuckDBPyConnection, users: Relation) -> None:
    """The touchpoints of every stored conversion of ``users`` (docs/metrics.md#touchpoints).

    Reads the stored sessions and conversions, so it runs after they are written.
    """
    cur.execute(f"""
        INSERT INTO touchpoints BY NAME
        WITH converting AS (
            SELECT c.conversion_id, c.user_key, c.converted_at, c.is_user_first, c.value,
                   s.timeline_position AS conversion_position
            FROM conversions c JOIN sessions s ON s.session_id = c.session_id
            WHERE c.user_key IN (SELECT user_key FROM {users})
        )
        SELECT c.conversion_id, c.user_key, s.session_id, s.timeline_position, c.conversion_position,
               s.started_at, s.channel,
               date_diff('microsecond', s.started_at, c.converted_at) AS us_before_conversion,
               c.is_user_first, c.value
        FROM converting c
        JOIN sessions s ON s.user_key = c.user_key AND s.timeline_position <= c.conversion_position
    """)
