"""The tables of a store, schema version 3 (docs/architecture.md#the-store-file).

A store is one DuckDB file holding the loaded sessions and conversions
(docs/data.md#sessions, docs/data.md#conversions) together with everything a
query never changes, precomputed at load time: effective source, medium,
channel and channel group (docs/data.md#source-and-medium,
docs/data.md#channel-groups), each session's place in its user's timeline and
its roles (docs/metrics.md#roles), per-user and per-user-channel facts, and
the touchpoints attribution reads (docs/metrics.md#touchpoints).

Columns added after schema 2 come last in their tables, in the order the
migrations add them (docs/architecture.md#migrations), so a new store and an
upgraded one have exactly the same columns in the same order.
"""

from __future__ import annotations

from typing import Mapping

SCHEMA_VERSION = 4
"""The version :func:`insights_core.store.connect` writes and reads; older stores are upgraded."""

TABLES: Mapping[str, str] = {
    "store_info": """
        CREATE TABLE store_info (
            key VARCHAR NOT NULL,
            value VARCHAR NOT NULL
        )""",
    # docs/data.md#sessions as loaded, plus what docs/data.md#source-and-medium and
    # docs/metrics.md#roles derive from it.
    "sessions": """
        CREATE TABLE sessions (
            session_id VARCHAR NOT NULL,
            user_id VARCHAR NOT NULL,
            user_key INTEGER NOT NULL,              -- the user's number in this store (see users)
            started_at TIMESTAMP NOT NULL,          -- UTC
            exited_at TIMESTAMP,                    -- UTC
            landing_page VARCHAR,
            referrer VARCHAR,
            utm_source VARCHAR,                     -- effective: the column, else the landing page query string
            utm_medium VARCHAR,
            utm_campaign VARCHAR,
            utm_content VARCHAR,
            utm_term VARCHAR,
            source VARCHAR NOT NULL,                -- docs/data.md#source-and-medium, after UTM overrides
            medium VARCHAR NOT NULL,
            channel VARCHAR NOT NULL,               -- medium || '/' || source (docs/data.md#channel)
            timeline_position INTEGER NOT NULL,     -- 1-based, by (started_at, session_id) within the user
            is_first BOOLEAN NOT NULL,
            is_converting BOOLEAN NOT NULL,
            is_assist BOOLEAN NOT NULL,
            is_after BOOLEAN NOT NULL,
            is_attributed BOOLEAN NOT NULL,         -- at or before the user's first converting session
            first_converted_at TIMESTAMP,           -- earliest conversion in this session
            duration_us BIGINT,                     -- exited_at - started_at
            conversion_delay_us BIGINT,             -- first_converted_at - started_at
            landing_domain VARCHAR,                 -- registered domain of the landing page (schema 3)
            paid_click_id VARCHAR,                  -- name of the paid click id on the landing page, e.g. gclid
            channel_group VARCHAR NOT NULL          -- docs/data.md#channel-groups
        )""",
    # docs/data.md#conversions as loaded; user_id and user_key are the session's user.
    "conversions": """
        CREATE TABLE conversions (
            conversion_id VARCHAR NOT NULL,
            session_id VARCHAR NOT NULL,
            user_id VARCHAR NOT NULL,
            converted_at TIMESTAMP NOT NULL,
            conversion_page VARCHAR,
            meta_type VARCHAR,
            meta_id VARCHAR,
            user_key INTEGER NOT NULL,
            value DECIMAL(38, 6),                   -- NULL when the file gave none
            is_user_first BOOLEAN NOT NULL          -- the user's earliest conversion (ties: smallest id)
        )""",
    # One row per user (docs/metrics.md#user-summary, docs/metrics.md#conversion-summary).
    # user_key numbers the users so that a query's cohort is a set of integers.
    "users": """
        CREATE TABLE users (
            user_id VARCHAR NOT NULL,
            user_key INTEGER NOT NULL,
            session_count INTEGER NOT NULL,
            is_converted BOOLEAN NOT NULL,
            first_session_started_at TIMESTAMP NOT NULL,
            first_conversion_at TIMESTAMP,
            time_to_convert_us BIGINT,              -- first_conversion_at - first_session_started_at
            last_session_started_at TIMESTAMP NOT NULL
        )""",
    # One row per (user, channel) the user touched (docs/metrics.md#channels).
    "user_channels": """
        CREATE TABLE user_channels (
            user_key INTEGER NOT NULL,
            channel VARCHAR NOT NULL,
            sessions INTEGER NOT NULL,
            is_converted BOOLEAN NOT NULL,
            first_touch BOOLEAN NOT NULL,
            assist_touch BOOLEAN NOT NULL,
            converting_touch BOOLEAN NOT NULL,
            after_touch BOOLEAN NOT NULL,
            attributed BOOLEAN NOT NULL
        )""",
    # The user's own known-host rows (docs/data.md#known-hosts), applied on every load.
    "channel_rules": """
        CREATE TABLE channel_rules (
            host VARCHAR NOT NULL,
            medium VARCHAR NOT NULL
        )""",
    "loads": """
        CREATE TABLE loads (
            loaded_at TIMESTAMP NOT NULL,
            sessions_files VARCHAR,
            conversions_files VARCHAR,
            sessions_rows BIGINT NOT NULL,
            conversions_rows BIGINT NOT NULL,
            replaced BOOLEAN NOT NULL
        )""",
    # One row per (conversion, session of its user up to and including the converting
    # session, in timeline order): what attribution reads (docs/metrics.md#touchpoints).
    # Lookback and half-life are applied at query time.
    "touchpoints": """
        CREATE TABLE touchpoints (
            conversion_id VARCHAR NOT NULL,
            user_key INTEGER NOT NULL,
            session_id VARCHAR NOT NULL,
            timeline_position INTEGER NOT NULL,
            conversion_position INTEGER NOT NULL,   -- timeline_position of the converting session
            started_at TIMESTAMP NOT NULL,
            channel VARCHAR NOT NULL,
            us_before_conversion BIGINT NOT NULL,   -- converted_at - started_at
            is_user_first BOOLEAN NOT NULL,         -- the conversion is its user's first
            value DECIMAL(38, 6)                    -- the conversion's value
        )""",
    # The user's own channel-group rules (docs/data.md#channel-groups), applied on every load.
    "channel_group_rules": """
        CREATE TABLE channel_group_rules (
            position INTEGER NOT NULL,              -- the rule's place in the user's file (first match wins)
            channel_group VARCHAR NOT NULL,
            source VARCHAR NOT NULL,                -- each cell as written in the file ('' for any)
            source_kind VARCHAR NOT NULL,
            source_pattern VARCHAR NOT NULL,
            medium VARCHAR NOT NULL,
            medium_pattern VARCHAR NOT NULL,
            note VARCHAR NOT NULL
        )""",
}
"""Table name -> ``CREATE TABLE`` statement of a new store (constants, never user text)."""
