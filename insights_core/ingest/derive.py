"""A session's effective source, medium, channel and channel group, derived in one place.

docs/data.md#source-and-medium, docs/data.md#channel and
docs/data.md#channel-groups, in two parts:

* per row, in SQL (:func:`with_url_facts`): what is read out of URLs: the
  landing page without its query (``landing_base``), the paid click id it
  carries, and UTM values missing from their columns taken from its query
  string;
* per distinct combination of (referrer, landing, paid click id,
  utm_source, utm_medium), in Python (:meth:`Derivation.session`): the rules
  themselves, which give source, medium, channel and group. The combinations
  are few next to the rows; they are derived in batches of
  :data:`BATCH` so memory stays bounded however many there are, and joined
  back to the rows.

A stored session keeps its landing page's registered domain and paid click
id (``landing_domain``, ``paid_click_id``), so deriving it again under new
rules parses no landing page (:data:`STORED_LANDING`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Sequence

import duckdb

from ..channel_groups import ChannelGroupRule, ChannelGroupRules
from ..channels import KnownHosts, registered_domain
from ..store.relations import Relation, temp_table
from ..vocabulary import DIRECT_SOURCE, NO_MEDIUM, PAID_CLICK_IDS, UTM_COLUMNS

PAID_MEDIUM = "cpc"
REFERRAL_MEDIUM = "referral"

PAID_CLICK_SOURCES: Mapping[str, str] = {"msclkid": "bing.com"}
"""Source of a direct paid click by its click id; every other paid id is Google's."""
DEFAULT_PAID_CLICK_SOURCE = "google.com"

BATCH = 20_000
"""Combinations derived per round trip between DuckDB and Python."""

DERIVED_COLUMNS: tuple[str, ...] = ("landing_domain", "source", "medium", "channel", "channel_group")
"""What a derivation adds to a session row."""

# --- per row, in SQL (constant expressions, never user text) ----------------------------------

_AUTHORITY_HOST = r"^\s*(?:[A-Za-z][A-Za-z0-9+.\-]*:)?//(?:[^@/?#]*@)?(\[[^\]/?#]*\]|[^:/?#]*)"


def host_sql(url_column: str) -> str:
    """SQL for the lower-cased host of a URL column, NULL when it has none.

    Mirrors ``urllib.parse.urlsplit``: a scheme (or ``//``) then the authority,
    without user info and port; a trailing dot is dropped.
    """
    extracted = f"regexp_extract({url_column}, '{_AUTHORITY_HOST}', 1)"
    return f"nullif(rtrim(lower({extracted}), '.'), '')"


def before_sql(text: str, separator: str) -> str:
    """SQL for ``text`` up to the first ``separator`` (all of it without one).

    Cheaper than ``split_part``, which builds a list per row.
    """
    return (
        f"CASE WHEN contains({text}, '{separator}')"
        f" THEN left({text}, strpos({text}, '{separator}') - 1) ELSE {text} END"
    )


def query_string_sql(url_column: str) -> str:
    """SQL for a URL's query string with a leading ``&`` (``&a=1&b=2``), NULL when it has none.

    The fragment is cut first, so a ``?`` after ``#`` does not start a query.
    The leading ``&`` lets every parameter be found as ``&name=``.
    """
    without_fragment = before_sql(url_column, "#")
    return (
        f"CASE WHEN contains({without_fragment}, '?')"
        f" THEN '&' || substr({without_fragment}, strpos({without_fragment}, '?') + 1) END"
    )


def paid_click_id_sql(query_string: str) -> str:
    """SQL for the name of the first paid click id with a value, from :func:`query_string_sql`."""
    names = "|".join(PAID_CLICK_IDS)
    return f"nullif(regexp_extract({query_string}, '&({names})=[^&]', 1), '')"


def query_raw_value_sql(query_string: str, name: str) -> str:
    """SQL for the raw (still encoded) value of parameter ``name``, first occurrence."""
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a query parameter name: {name!r}")
    return f"regexp_extract({query_string}, '&{name}=([^&]*)', 1)"


def decoded_sql(raw: str) -> str:
    """SQL for a raw query value decoded, NULL when empty.

    ``+`` is a space; a value whose escapes do not decode to UTF-8 (``%FF``)
    is kept undecoded rather than failing the whole load. Values without
    ``%`` or ``+`` (most of them) are taken as they are.
    """
    spaced = f"replace({raw}, '+', ' ')"
    return (
        f"CASE WHEN {raw} = '' THEN NULL"
        f" WHEN contains({raw}, '%') OR contains({raw}, '+') THEN coalesce(try(url_decode({spaced})), {spaced})"
        f" ELSE {raw} END"
    )


def with_url_facts(rows_sql: str) -> str:
    """SQL adding to typed session rows what is read from their URLs, in one pass.

    UTM values missing from their columns come from the landing page's query
    string (docs/data.md#sessions); ``landing_base`` (the landing page without
    its query, which holds its host) and ``paid_click_id`` feed the
    derivation. Only rows whose query string names a UTM parameter pay for
    extracting it.
    """
    raw = ", ".join(
        f"CASE WHEN {name} IS NULL AND contains(query_string, '&{name}=')"
        f" THEN {query_raw_value_sql('query_string', name)} END AS {name}_raw"
        for name in UTM_COLUMNS
    )
    decoded = ", ".join(f"coalesce({name}, {decoded_sql(name + '_raw')}) AS {name}" for name in UTM_COLUMNS)
    raws = ", ".join(f"{name}_raw" for name in UTM_COLUMNS)
    return f"""
        SELECT * EXCLUDE ({raws}) REPLACE ({decoded})
        FROM (
            SELECT * EXCLUDE (query_string), {raw},
                   {before_sql('landing_page', '?')} AS landing_base,
                   {paid_click_id_sql('query_string')} AS paid_click_id
            FROM (SELECT *, {query_string_sql('landing_page')} AS query_string FROM ({rows_sql}))
        )
    """


# --- the rules, in Python ---------------------------------------------------------------------

def derive_source_medium(
    referrer_host: str | None,
    landing_host: str | None,
    paid_click_id: str | None,
    known_hosts: KnownHosts,
) -> tuple[str, str]:
    """The derived (source, medium) before UTM overrides (docs/data.md#source-and-medium).

    A referrer whose registered domain is the landing page's is a
    self-referral and counts as none; a paid click id makes the medium
    ``cpc``; otherwise the most specific known referrer host decides. The
    landing side may be a host or the registered domain kept for a stored
    session (a registered domain is its own).
    """
    referrer_domain = registered_domain(referrer_host) if referrer_host else None
    landing_domain = registered_domain(landing_host) if landing_host else None
    if referrer_domain is None or referrer_domain == landing_domain:
        source, referrer_host = DIRECT_SOURCE, None  # a self-referral counts as no referrer
    else:
        source = referrer_domain

    if paid_click_id is not None:
        if source == DIRECT_SOURCE:
            source = PAID_CLICK_SOURCES.get(paid_click_id, DEFAULT_PAID_CLICK_SOURCE)
        return source, PAID_MEDIUM
    if referrer_host is None:
        return source, NO_MEDIUM
    return source, known_hosts.medium_for(referrer_host) or REFERRAL_MEDIUM


def channel_of(source: str, medium: str) -> str:
    """The channel string, ``medium/source`` (docs/data.md#channel)."""
    return f"{medium}/{source}"


@dataclass(frozen=True)
class Derived:
    """What a session's URLs and UTM values come to."""

    source: str
    medium: str
    channel: str
    channel_group: str


@dataclass(frozen=True)
class Derivation:
    """The tables the rules read: known hosts and channel-group rules, each shipped plus the user's."""

    known_hosts: KnownHosts
    channel_groups: ChannelGroupRules

    @classmethod
    def of(
        cls,
        channel_rules: Iterable[tuple[str, str]] = (),
        channel_group_rules: Iterable[ChannelGroupRule | Sequence[str]] = (),
    ) -> Derivation:
        """The shipped tables with the user's rows applied."""
        return cls(
            KnownHosts.shipped().with_overrides(channel_rules),
            ChannelGroupRules.shipped().with_overrides(channel_group_rules),
        )

    def session(
        self,
        referrer_host: str | None,
        landing_host: str | None,
        paid_click_id: str | None,
        utm_source: str | None,
        utm_medium: str | None,
    ) -> Derived:
        """A session's source, medium, channel and group.

        A non-empty ``utm_source`` replaces the derived source and a non-empty
        ``utm_medium`` the derived medium, each on its own, kept exactly as
        given; the group comes from the effective pair.
        """
        source, medium = derive_source_medium(referrer_host, landing_host, paid_click_id, self.known_hosts)
        source = utm_source or source
        medium = utm_medium or medium
        return Derived(
            source, medium, channel_of(source, medium),
            self.channel_groups.group_of(source, medium, self.known_hosts),
        )


@dataclass(frozen=True)
class Landing:
    """How the landing side of a combination is found in a relation of session rows."""

    key_sql: str
    """The column of the rows that combinations are grouped and joined by."""
    host: Callable[[str], str]
    """SQL, given the key, for the host whose registered domain is the landing domain."""


INCOMING_LANDING = Landing("landing_base", host_sql)
"""Sessions read from a file: the landing page without its query string."""

STORED_LANDING = Landing("landing_domain", lambda key: key)
"""Stored sessions: the landing domain kept at load time (a registered domain is its own)."""

_KEYS: tuple[str, ...] = ("referrer", "paid_click_id", "utm_source", "utm_medium")


def derive_channels(
    cur: duckdb.DuckDBPyConnection, sessions: Relation, landing: Landing, derivation: Derivation, name: str
) -> Relation:
    """Every distinct combination in ``sessions`` with what it derives to, as the temp table ``name``.

    Columns: the combination (``key_referrer``, ``key_paid_click_id``,
    ``key_utm_source``, ``key_utm_medium``, ``key_landing``) then
    :data:`DERIVED_COLUMNS`. Join it back with :func:`join_condition`.
    """
    keys = ", ".join([f"{column} AS key_{column}" for column in _KEYS] + [f"{landing.key_sql} AS key_landing"])
    combinations = temp_table(cur, f"{name}_combinations", f"""
        SELECT row_number() OVER () AS combination, *,
               {host_sql('key_referrer')} AS referrer_host, {landing.host('key_landing')} AS landing_host,
               key_paid_click_id AS paid_click_id, key_utm_source AS utm_source, key_utm_medium AS utm_medium
        FROM (SELECT DISTINCT {keys} FROM {sessions})
    """)

    def derived(referrer_host, landing_host, paid_click_id, utm_source, utm_medium) -> tuple:
        landing_domain = registered_domain(landing_host) if landing_host else None
        result = derivation.session(referrer_host, landing_host, paid_click_id, utm_source, utm_medium)
        return landing_domain, result.source, result.medium, result.channel, result.channel_group

    values = _in_batches(
        cur, combinations, ("referrer_host", "landing_host", "paid_click_id", "utm_source", "utm_medium"),
        DERIVED_COLUMNS, derived, f"{name}_values",
    )
    return temp_table(cur, name, f"""
        SELECT {', '.join(f'c.key_{column}' for column in (*_KEYS, 'landing'))},
               {', '.join(f'v.{column}' for column in DERIVED_COLUMNS)}
        FROM {combinations} c JOIN {values} v USING (combination)
    """)


def landing_domains(cur: duckdb.DuckDBPyConnection, landing_pages: Relation, name: str) -> Relation:
    """Each distinct ``landing_base`` of ``landing_pages`` with its registered domain (``landing_domain``)."""
    bases = temp_table(cur, f"{name}_bases", f"""
        SELECT row_number() OVER () AS combination, landing_base, {host_sql('landing_base')} AS landing_host
        FROM (SELECT DISTINCT landing_base FROM {landing_pages} WHERE landing_base IS NOT NULL)
    """)
    values = _in_batches(
        cur, bases, ("landing_host",), ("landing_domain",),
        lambda host: (registered_domain(host) if host else None,), f"{name}_values",
    )
    return temp_table(cur, name, f"""
        SELECT b.landing_base, v.landing_domain FROM {bases} b JOIN {values} v USING (combination)
    """)


def channel_groups(cur: duckdb.DuckDBPyConnection, pairs: Relation, derivation: Derivation, name: str) -> Relation:
    """Each distinct effective (``source``, ``medium``) of ``pairs`` with its ``channel_group``."""
    distinct = temp_table(cur, f"{name}_pairs", f"""
        SELECT row_number() OVER () AS combination, source, medium
        FROM (SELECT DISTINCT source, medium FROM {pairs})
    """)
    values = _in_batches(
        cur, distinct, ("source", "medium"), ("channel_group",),
        lambda source, medium: (derivation.channel_groups.group_of(source, medium, derivation.known_hosts),),
        f"{name}_values",
    )
    return temp_table(cur, name, f"""
        SELECT p.source, p.medium, v.channel_group FROM {distinct} p JOIN {values} v USING (combination)
    """)


def _in_batches(
    cur: duckdb.DuckDBPyConnection,
    keys: Relation,
    inputs: Sequence[str],
    outputs: Sequence[str],
    function: Callable[..., tuple],
    name: str,
) -> Relation:
    """``function`` applied to ``inputs`` of every row of ``keys`` (numbered 1… by ``combination``),
    :data:`BATCH` rows at a time, into the temp table ``name`` (``combination`` and ``outputs``,
    all text): memory stays bounded however many rows there are."""
    values = temp_table(cur, name, f"""
        SELECT NULL::BIGINT AS combination, {', '.join(f'NULL::VARCHAR AS {column}' for column in outputs)}
        WHERE false
    """)
    (count,) = cur.execute(f"SELECT count(*) FROM {keys}").fetchone()
    unnested = ", ".join(
        ["unnest(?::BIGINT[]) AS combination"] + [f"unnest(?::VARCHAR[]) AS {column}" for column in outputs]
    )
    for start in range(1, count + 1, BATCH):
        batch = cur.execute(
            f"SELECT combination, {', '.join(inputs)} FROM {keys} WHERE combination BETWEEN ? AND ?",
            [start, start + BATCH - 1],
        ).fetchall()
        columns: list[list[object]] = [[row[0] for row in batch]] + [[] for _ in outputs]
        for row in batch:
            for column, value in zip(columns[1:], function(*row[1:])):
                column.append(value)
        # Lists bound as parameters and unnested side by side: no pandas/Arrow round trip.
        cur.execute(f"INSERT INTO {values} SELECT {unnested}", columns)
    return values


def join_condition(rows: str, derived: str, landing: Landing) -> str:
    """SQL joining session rows (alias ``rows``) to their combination (alias ``derived``)."""
    pairs = [(column, f"key_{column}") for column in _KEYS] + [(landing.key_sql, "key_landing")]
    return " AND ".join(f"{rows}.{column} IS NOT DISTINCT FROM {derived}.{key}" for column, key in pairs)


def stored_rules(cur: duckdb.DuckDBPyConnection) -> tuple[list[tuple[str, str]], list[tuple[str, ...]]]:
    """The user's channel rules and channel-group rules kept in the store, in their order."""
    channel_rules = cur.execute("SELECT host, medium FROM channel_rules").fetchall()
    group_rules = cur.execute(
        "SELECT channel_group, source, source_kind, source_pattern, medium, medium_pattern, note"
        " FROM channel_group_rules ORDER BY position"
    ).fetchall()
    return channel_rules, group_rules
