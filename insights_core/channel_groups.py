"""Channel groups: a session's effective source and medium sorted into a marketer's bucket.

The buckets and the rules that fill them are described in docs/data.md#channel-groups.
The rules are data, not code: an ordered table shipped in the package
(``data/channel_groups.csv``, explained in ``data/CHANNEL_GROUPS.md``) that is
modelled on Google Analytics 4's default channel group, evaluated top to
bottom, first match wins, and anything no rule claims is Unassigned. A user
puts their own rules, in the same format, in front of the shipped ones
(``with_overrides``), so they never edit the package.

Sources are matched against the known-hosts table (docs/data.md#known-hosts):
a source counts as a search engine, social network, webmail or AI assistant
when it is the registered domain of a known host of that kind, or that
domain without its public suffix (``google``, ``Facebook``, ``bing.com``),
case-insensitively, as UTM sources are written. The loader calls
``group_of`` once per distinct (source, medium) pair, and answers are cached
per rule table and known-hosts table.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .channels import KnownHosts, _EXTRACT, registered_domain
from .vocabulary import CHANNEL_GROUPS
from .wording import counted, quoted

UNASSIGNED = "Unassigned"
"""The group of a session that no rule claims."""

COLUMNS: tuple[str, ...] = (
    "channel_group", "source", "source_kind", "source_pattern", "medium", "medium_pattern", "note",
)
"""Columns of a rules file, in the shipped table's order; a user's file may leave out any but
``channel_group`` and order them as it likes."""

CONDITION_COLUMNS: tuple[str, ...] = ("source", "source_kind", "source_pattern", "medium", "medium_pattern")
"""The columns that are conditions; empty means "any", and a rule's filled conditions must all hold."""

SOURCE_KINDS: Mapping[str, str] = {
    "search engine": "organic",
    "social network": "social",
    "webmail": "email",
    "ai assistant": "ai",
}
"""``source_kind`` words -> the known-hosts medium whose hosts are of that kind."""

LIST_SEPARATOR = "|"
SHIPPED_FILE = "channel_groups.csv"
STORED_RULES = "stored channel-group rules"
"""How a message names rules that come from the store rather than a file."""

_PATTERN_LIMIT = 500
_APP_PACKAGE_PREFIXES = ("com.", "org.", "net.", "ai.", "io.")
_GROUP_BY_KEY = {group.casefold(): group for group in CHANNEL_GROUPS}


class ChannelGroupRulesError(ValueError):
    """A channel-group rules file that does not follow the documented format; names the file and line."""


@dataclass(frozen=True)
class ChannelGroupRule:
    """One row of a rules table: a group and the conditions a (source, medium) pair must meet.

    Values keep the text as written (lists joined by ``|``) so a user's rules can
    be stored and shown back exactly; ``where`` says where the rule came from.
    """

    channel_group: str
    source: str = ""
    source_kind: str = ""
    source_pattern: str = ""
    medium: str = ""
    medium_pattern: str = ""
    note: str = ""
    where: str = field(default="", compare=False)
    _sources: frozenset[str] = field(init=False, repr=False, compare=False)
    _kinds: frozenset[str] = field(init=False, repr=False, compare=False)
    _mediums: frozenset[str] = field(init=False, repr=False, compare=False)
    _source_regex: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    _medium_regex: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        where = self.where or "channel-group rule"
        group = _GROUP_BY_KEY.get(self.channel_group.strip().casefold())
        if group is None:
            raise ChannelGroupRulesError(
                f"{where}: channel_group {quoted(self.channel_group)} is not one of: {', '.join(CHANNEL_GROUPS)}"
            )
        kinds = _items(self.source_kind, "source_kind", where)
        unknown = sorted(kind for kind in kinds if kind not in SOURCE_KINDS)
        if unknown:
            raise ChannelGroupRulesError(
                f"{where}: source_kind {quoted(unknown[0])} is not one of: {', '.join(SOURCE_KINDS)}"
            )
        set_ = object.__setattr__
        set_(self, "channel_group", group)
        set_(self, "_sources", _items(self.source, "source", where))
        set_(self, "_kinds", frozenset(SOURCE_KINDS[kind] for kind in kinds))
        set_(self, "_mediums", _items(self.medium, "medium", where))
        set_(self, "_source_regex", _compiled(self.source_pattern, "source_pattern", where))
        set_(self, "_medium_regex", _compiled(self.medium_pattern, "medium_pattern", where))

    def as_row(self) -> tuple[str, ...]:
        """The rule's cells in ``COLUMNS`` order, as a rules file (or the store) holds them."""
        return tuple(getattr(self, name) for name in COLUMNS)

    def matches(self, source: str, medium: str, kinds: frozenset[str]) -> bool:
        """Whether every filled condition holds for the (trimmed) source and medium.

        ``kinds`` are the known-hosts mediums the source is known as (``organic``, ``email``…).
        """
        if self._sources and source.casefold() not in self._sources:
            return False
        if self._mediums and medium.casefold() not in self._mediums:
            return False
        if self._kinds and not (self._kinds & kinds):
            return False
        if self._source_regex is not None and self._source_regex.fullmatch(source) is None:
            return False
        if self._medium_regex is not None and self._medium_regex.fullmatch(medium) is None:
            return False
        return True


def _items(cell: str, column: str, where: str) -> frozenset[str]:
    """The ``|``-separated values of a list cell, trimmed and case-folded; empty when the cell is."""
    if not cell.strip():
        return frozenset()
    items = frozenset(item.strip().casefold() for item in cell.split(LIST_SEPARATOR) if item.strip())
    if not items:
        raise ChannelGroupRulesError(f"{where}: {column} {quoted(cell)} lists no value")
    return items


def _compiled(pattern: str, column: str, where: str) -> re.Pattern[str] | None:
    """A pattern cell as a case-insensitive regular expression the whole value must match."""
    if not pattern.strip():
        return None
    if len(pattern) > _PATTERN_LIMIT:
        raise ChannelGroupRulesError(f"{where}: {column} is longer than {_PATTERN_LIMIT} characters")
    try:
        return re.compile(f"(?:{pattern.strip()})", re.IGNORECASE)
    except re.error as error:
        raise ChannelGroupRulesError(
            f"{where}: {column} {quoted(pattern)} is not a regular expression ({error})"
        ) from None


@dataclass(frozen=True)
class _SourceKinds:
    """Which known-hosts mediums each source is known as, built once per known-hosts table."""

    known_hosts: KnownHosts
    by_domain: Mapping[str, frozenset[str]]
    by_label: Mapping[str, frozenset[str]]
    _memo: dict[str, frozenset[str]] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, known_hosts: KnownHosts) -> _SourceKinds:
        by_domain: dict[str, set[str]] = {}
        by_label: dict[str, set[str]] = {}
        for host, medium in known_hosts.mediums.items():
            parts = _EXTRACT(host)
            by_domain.setdefault(host, set()).add(medium)
            by_domain.setdefault(registered_domain(host), set()).add(medium)
            if not parts.suffix or not parts.domain or host.startswith(_APP_PACKAGE_PREFIXES):
                # An Android app's package name (com.google.android.gm) is matched as written and
                # as the loader reduces it (android.gm), never by a bare name: ``android`` is no service.
                continue
            by_label.setdefault(parts.domain, set()).add(medium)
        return cls(
            known_hosts,
            {key: frozenset(value) for key, value in by_domain.items()},
            {key: frozenset(value) for key, value in by_label.items()},
        )

    def kinds_of(self, source: str) -> frozenset[str]:
        """The kinds of a source: as a registered domain or a bare name (``google``), else,
        for a host written out (``mail.google.com``), its most specific known host's."""
        kinds = self._memo.get(source)
        if kinds is None:
            kinds = self._memo[source] = self._look_up(source.lower().rstrip("."))
        return kinds

    def _look_up(self, key: str) -> frozenset[str]:
        kinds = self.by_domain.get(key, frozenset()) | self.by_label.get(key, frozenset())
        if kinds or "." not in key or any(char in key for char in " /:?#@"):
            return kinds
        medium = self.known_hosts.medium_for(key)
        return frozenset((medium,)) if medium is not None else frozenset()


@dataclass(frozen=True)
class ChannelGroupRules:
    """An ordered rule table: the user's rules first, then the shipped ones; first match wins."""

    rules: tuple[ChannelGroupRule, ...]
    _answers: dict[int, tuple[_SourceKinds, dict[tuple[str, str], str]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def shipped(cls) -> ChannelGroupRules:
        """The table bundled in the package (one shared instance, so its answers stay cached)."""
        return _shipped()

    def with_overrides(self, rows: Iterable[ChannelGroupRule | Sequence[str | None]]) -> ChannelGroupRules:
        """This table with the user's rules put in front, so theirs win where both match.

        Rows are rules (``read_rules_file``) or their cells in ``COLUMNS`` order, as stored.
        """
        added = tuple(
            row if isinstance(row, ChannelGroupRule) else _rule_from_cells(
                dict(zip(COLUMNS, (cell or "" for cell in row))), f"{STORED_RULES}: row {number}"
            )
            for number, row in enumerate(rows, start=1)
        )
        return ChannelGroupRules(added + self.rules)

    def group_of(self, source: str, medium: str, known_hosts: KnownHosts) -> str:
        """The channel group of an effective (source, medium) pair (docs/data.md#channel-groups)."""
        kinds, answers = self._answers_for(known_hosts)
        key = (source, medium)
        group = answers.get(key)
        if group is None:
            group = self._first_match(source.strip(), medium.strip(), kinds)
            answers[key] = group
        return group

    def _first_match(self, source: str, medium: str, kinds: _SourceKinds) -> str:
        source_kinds = kinds.kinds_of(source)
        for rule in self.rules:
            if rule.matches(source, medium, source_kinds):
                return rule.channel_group
        return UNASSIGNED

    def _answers_for(self, known_hosts: KnownHosts) -> tuple[_SourceKinds, dict[tuple[str, str], str]]:
        """The source index and answer cache for this known-hosts table (kept with it, so its id stays its own)."""
        entry = self._answers.get(id(known_hosts))
        if entry is None or entry[0].known_hosts is not known_hosts:
            if len(self._answers) >= 8:
                self._answers.clear()
            entry = (_SourceKinds.of(known_hosts), {})
            self._answers[id(known_hosts)] = entry
        return entry


@lru_cache(maxsize=1)
def _shipped() -> ChannelGroupRules:
    text = resources.files("insights_core").joinpath(f"data/{SHIPPED_FILE}").read_text("utf-8")
    return ChannelGroupRules(tuple(parse_rules(text, SHIPPED_FILE)))


def _rule_from_cells(cells: Mapping[str, str], where: str) -> ChannelGroupRule:
    """A rule from its cells by column name; a missing column is empty."""
    values = {name: (cells.get(name) or "").strip() for name in COLUMNS}
    if not values["channel_group"]:
        raise ChannelGroupRulesError(f"{where}: channel_group is empty")
    return ChannelGroupRule(**values, where=where)


def parse_rules(text: str, file_name: str) -> list[ChannelGroupRule]:
    """The rules of a channel-group rules file, in order; errors name the file and the line.

    The first line names the columns (``channel_group`` and any of the others, in
    any order); each later line is one rule. Blank lines are skipped.
    """
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")), strict=True)
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)
        if header is None:
            raise ChannelGroupRulesError(
                f"{file_name}: empty file; the first line must name the columns, e.g. '{','.join(COLUMNS)}'"
            )
        header_line = reader.line_num
        names = [cell.strip().lower() for cell in header]
        _check_header(names, file_name, header_line)
        rules: list[ChannelGroupRule] = []
        line = reader.line_num
        for row in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            where = f"{file_name}: line {start}"
            if len(row) > len(names):
                raise ChannelGroupRulesError(
                    f"{where}: {counted(len(row), 'field')}, the header has {len(names)}"
                )
            rules.append(_rule_from_cells(dict(zip(names, row)), where))
    except csv.Error as error:
        raise ChannelGroupRulesError(f"{file_name}: line {reader.line_num}: not valid CSV ({error})") from None
    return rules


def _check_header(names: list[str], file_name: str, line: int) -> None:
    where = f"{file_name}: line {line}"
    unknown = [name for name in names if name not in COLUMNS]
    if unknown:
        raise ChannelGroupRulesError(
            f"{where}: unknown column {quoted(unknown[0])}; the columns are {', '.join(COLUMNS)}"
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ChannelGroupRulesError(f"{where}: column {quoted(repeated[0])} appears twice")
    if "channel_group" not in names:
        raise ChannelGroupRulesError(f"{where}: the header has no channel_group column")


def read_rules_file(path: str | Path) -> list[ChannelGroupRule]:
    """A user's channel-group rules file (same format as the shipped table)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ChannelGroupRulesError(f"{path}: cannot read channel-group rules ({error.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ChannelGroupRulesError(f"{path}: not UTF-8 text") from None
    return parse_rules(text, str(path))
