"""Known referrer hosts and registered domains: the tables source and medium are derived from.

docs/data.md#known-hosts: the hosts with a known medium (search engines,
social networks, webmail, AI assistants) are a data table shipped in the
package (``data/known_hosts.csv``) that a user can extend or override with a
file of the same format. docs/data.md#source-and-medium: registered domains
come from ``tldextract`` with the Public Suffix List snapshot bundled in its
(pinned) release; nothing is fetched at run time. The rules that use them
live in ``ingest/derive.py``.
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

KNOWN_MEDIUMS: tuple[str, ...] = ("email", "ai", "organic", "social")
"""Mediums of the shipped known-hosts table (users may map hosts to any medium)."""

RULES_HEADER = ("host", "medium")


_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@lru_cache(maxsize=65536)
def registered_domain(host: str) -> str:
    """The registrable domain of a host, lower-cased (docs/data.md#source-and-medium).

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
        """The medium of the most specific known host, trying the host itself, then each
        parent down to its registered domain (docs/data.md#known-hosts)."""
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
