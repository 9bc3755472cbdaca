"""What a load tells its caller: the rules a failed load broke, or what a successful one stored.

Messages follow docs/data.md#loading-rules: they name the file, the rule, the
count of bad rows and up to five example row numbers (data rows counted from
1, the header not counted), and they name the user's files, never a working
copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from ..wording import counted, plural

EXAMPLE_ROWS = 5
"""At most this many example row numbers are given per file and rule."""


@dataclass(frozen=True)
class Violation:
    """One loading rule broken in one file (docs/data.md#loading-rules).

    Three shapes: rows broke a rule (``count`` and example ``rows``); the file
    as a whole broke it (``detail`` only, e.g. a missing column); or rows
    could not be read as rows at all (``unreadable``: a row with more or fewer
    fields than the header, text that is not UTF-8), with what was wrong with
    the first in ``detail``.
    """

    file: str
    rule: str
    count: int
    rows: tuple[int, ...] = ()
    detail: str = ""
    unreadable: bool = False

    def __str__(self) -> str:
        if self.unreadable:
            what = f"{self.rule}: {self.detail}" if self.detail else self.rule
            more = f"; {counted(self.count, 'such row')} in all: rows {_numbers(self.rows)}" if self.count > 1 else ""
            return f"{self.file}: {what} (data row {self.rows[0]}{more})"
        if self.detail:
            return f'{self.file}: rule "{self.rule}": {self.detail}'
        noun = plural(self.count, "row")
        return f'{self.file}: rule "{self.rule}": {self.count:,} bad {noun} ({noun} {_numbers(self.rows)})'


def _numbers(rows: Sequence[int]) -> str:
    return ", ".join(str(row) for row in rows)


class LoadError(Exception):
    """A load that stored nothing; ``violations`` lists the loading rules broken, if any."""

    def __init__(self, message: str, violations: Sequence[Violation] = ()) -> None:
        super().__init__(message)
        self.violations = tuple(violations)

    @classmethod
    def of(cls, violations: Sequence[Violation]) -> LoadError:
        """The error of a load that broke ``violations``."""
        return cls("nothing was stored: " + "; ".join(str(violation) for violation in violations), violations)


@dataclass(frozen=True)
class LoadReport:
    """What a successful load stored."""

    sessions_rows: int
    conversions_rows: int
    users_recomputed: int
    ignored_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    seconds: float = 0.0
    files_loaded: bool = True
    """Whether sessions or conversions files were given (a load may only store rules)."""
    channel_rules: int | None = None
    """How many channel rules were stored, when the load was given a rules file."""
    channel_group_rules: int | None = None
    """How many channel-group rules were stored, when the load was given a rules file."""
    sessions_rederived: int = 0
    """Stored sessions whose source, medium, channel and group were derived again under new rules."""

    def lines(self) -> list[str]:
        """Human-readable summary, one fact per line."""
        out = []
        if self.files_loaded:
            out.append(
                f"stored {counted(self.sessions_rows, 'session')} and {counted(self.conversions_rows, 'conversion')}"
                f" ({counted(self.users_recomputed, 'user')} recomputed) in {self.seconds:.1f} s"
            )
        rules = [
            counted(number, noun)
            for number, noun in ((self.channel_rules, "channel rule"), (self.channel_group_rules, "channel-group rule"))
            if number is not None
        ]
        if rules:
            out.append(f"stored {' and '.join(rules)}; re-derived {counted(self.sessions_rederived, 'session')}")
        for kind, columns in self.ignored_columns.items():
            out.append(f"{kind}: ignored columns: {', '.join(columns)}")
        return out
