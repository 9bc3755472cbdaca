"""SPEC 2: a session's effective source and medium, and so its channel.

The per-row work (pulling hosts, click ids and UTM values out of URLs) is
done in SQL by the loader with the expressions below; the rules themselves
run here, in Python, once per distinct (referrer host, landing host, paid
click id) combination, which stays small however many rows are loaded.

Registered domains come from ``tldextract`` with the Public Suffix List
snapshot bundled in its (pinned) release; nothing is fetched at run time.
The known referrer hosts are a data table shipped in the package
(``data/known_hosts.csv``) that a user can extend or override with a file of
the same format.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterable, Mapping

import tldextract

DIRECT = "(direct)"
NONE = "(none)"
PAID_MEDIUM = "cpc"
REFERRAL = "referral"

PAID_CLICK_IDS: tuple[str, ...] = ("gclid", "gbraid", "wbraid", "msclkid", "dclid")
"""SPEC 2.3: click ids that mark a paid click; other ids (``fbclid``…) change nothing."""

PAID_CLICK_SOURCES: Mapping[str, str] = {"msclkid": "bing.com"}
"""Source of a direct paid click by its click id; every other paid id is Google's."""
DEFAULT_PAID_CLICK_SOURCE = "google.com"

KNOWN_MEDIUMS: tuple[str, ...] = ("email", "ai", "organic", "social")
"""Mediums of the shipped known-hosts table (users may map hosts to any medium)."""

RULES_HEADER = ("host", "medium")

# --- SQL expressions the loader applies per row (constants, never user text) ---

_AUTHORITY_HOST = (
    r"^\s*(?:[A-Za-z][A-Za-z0-9+.\-]*:)?//(?:[^@/?#]*@)?(\[[^\]/?#]*\]|[^:/?#]*)"
)


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
    """SQL for the raw (still encoded) value of parameter ``name``, first occurrence, from :func:`query_string_sql`."""
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


# --- the rules ---

_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@lru_cache(maxsize=65536)
def registered_domain(host: str) -> str:
    """SPEC 2.1: the registrable domain of a host, lower-cased.

    Hosts with no public suffix (IP addresses, ``localhost``, intranet names)
    are their own registered domain, so they still count as a referrer.
    """
    host = host.lower().rstrip(".")
    return _EXTRACT(host).top_domain_under_public_suffix or host


class ChannelRulesError(ValueError):
    """A channel-rules file that does not follow the documented format."""


@dataclass(frozen=True)
class KnownHosts:
    """Referrer hosts with a known medium: the shipped table plus user overrides."""

    mediums: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def shipped(cls) -> KnownHosts:
        """The table bundled in the package."""
        text = resources.files("insights_core").joinpath("data/known_hosts.csv").read_text("utf-8")
        return cls(dict(parse_rules(text, "known_hosts.csv")))

    def with_overrides(self, overrides: Iterable[tuple[str, str]]) -> KnownHosts:
        """This table with the user's rows added, replacing shipped rows for the same host."""
        mediums = dict(self.mediums)
        mediums.update(overrides)
        return KnownHosts(mediums)

    def medium_for(self, host: str) -> str | None:
        """SPEC 2.3: the medium of the most specific known host, trying the host
        itself, then each parent down to its registered domain."""
        domain = registered_domain(host)
        candidate = host
        while True:
            medium = self.mediums.get(candidate)
            if medium is not None:
                return medium
            if candidate == domain or "." not in candidate:
                return None
            candidate = candidate.split(".", 1)[1]


def parse_rules(text: str, file_name: str) -> list[tuple[str, str]]:
    """Rows of a ``host,medium`` CSV, validated; errors name the file and the line."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or tuple(cell.strip().lower() for cell in rows[0]) != RULES_HEADER:
        raise ChannelRulesError(f"{file_name}: the first line must be the header 'host,medium'")
    rules: list[tuple[str, str]] = []
    for line_number, row in enumerate(rows[1:], start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != 2 or not row[0].strip() or not row[1].strip():
            raise ChannelRulesError(
                f"{file_name}: line {line_number}: expected 'host,medium' with both values, got {row!r}"
            )
        host = row[0].strip().lower().rstrip(".")
        if any(char in host for char in "/:?# ") or host.startswith("."):
            raise ChannelRulesError(
                f"{file_name}: line {line_number}: {row[0]!r} is not a bare host name (no scheme, port or path)"
            )
        rules.append((host, row[1].strip()))
    return rules


def read_rules_file(path: str | Path) -> list[tuple[str, str]]:
    """A user's channel-rules file (same format as the shipped table)."""
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except OSError as error:
        raise ChannelRulesError(f"{path}: cannot read channel rules ({error.strerror})") from None
    return parse_rules(text, str(path))


def derive_source_medium(
    referrer_host: str | None,
    landing_host: str | None,
    paid_click_id: str | None,
    known_hosts: KnownHosts,
) -> tuple[str, str]:
    """SPEC 2.2 and 2.3: the derived (source, medium) before UTM overrides (SPEC 2.4)."""
    referrer_domain = registered_domain(referrer_host) if referrer_host else None
    landing_domain = registered_domain(landing_host) if landing_host else None
    if referrer_domain is None or referrer_domain == landing_domain:
        source, referrer_host = DIRECT, None  # a self-referral counts as no referrer
    else:
        source = referrer_domain

    if paid_click_id is not None:
        if source == DIRECT:
            source = PAID_CLICK_SOURCES.get(paid_click_id, DEFAULT_PAID_CLICK_SOURCE)
        return source, PAID_MEDIUM
    if referrer_host is None:
        return source, NONE
    return source, known_hosts.medium_for(referrer_host) or REFERRAL


def channel_of(source: str, medium: str) -> str:
    """SPEC 2: the channel string."""
    return f"{medium}/{source}"
