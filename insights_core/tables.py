"""Answers as typed tables, and the one CSV writer (docs/api.md#csv-output).

An answer's table (the channels of ``/insights`` and of ``/attribution``, the
buckets of ``/timeseries``, the rows of ``/breakdown``) keeps numbers as numbers: counts are ``int``,
the answer's percentage strings (``"32.81%"``) become the numbers they spell
(``32.81``, in a column named ``<key>_pct``), so a dashboard sorts them and a
spreadsheet reads them as numbers. Nothing is recomputed: every cell comes
from the answer.

:func:`to_csv` is the only CSV writer: ``insights query --format csv`` and
every dashboard CSV download call it, so the same answer gives the same
bytes. A text cell that a spreadsheet would run as a formula (it starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return — a site visitor can
plant ``utm_medium==HYPERLINK(…)``) is written with a leading ``'``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Mapping, Sequence

from .vocabulary import (
    ATTRIBUTION_MEASURES,
    ATTRIBUTION_MODELS,
    BREAKDOWN_COUNT_KEYS,
    BREAKDOWN_PERCENT_KEYS,
    CHANNEL_COUNT_KEYS,
    CHANNEL_PERCENT_KEYS,
    TREND_COUNT_KEYS,
)

ColumnKind = Literal["text", "count", "percent", "number"]
"""What a column holds: text, a whole number, a percentage as a number (``32.81``), any other number."""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting with one of these is a formula to a spreadsheet; it is written after a ``'``."""

FORMULA_GUARD = "'"

CSV_SPECIALS = (",", '"', "\n", "\r")
"""A cell holding one of these is quoted; Python's csv module would leave a lone carriage return bare."""

PERCENT_DECIMALS = 2
"""Percentages are written with two decimals, as the answer rounds them (docs/metrics.md#rounding)."""


@dataclass(frozen=True)
class Column:
    """One column of a table: its header and the kind of its cells.

    ``decimals`` fixes how many decimals a ``number`` column writes (credits
    rounded to 2 decimals write ``120.00``); ``None`` writes the number as
    Python spells it (``120.5``).
    """

    name: str
    kind: ColumnKind
    decimals: int | None = None


@dataclass(frozen=True)
class Table:
    """An answer as rows of typed cells, in the answer's order; ``None`` is an empty cell."""

    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    def records(self) -> list[dict[str, Any]]:
        """The rows as ``{header: value}``, for a dataframe or a JSON table."""
        return [dict(zip(self.names, row)) for row in self.rows]


def percent_column(key: str) -> str:
    """The header of the column holding the percentage ``key`` as a number: ``session_influence_pct``."""
    return f"{key}_pct"


def percent_number(text: str) -> float:
    """An answer's percentage string as its number: ``"32.81%"`` -> ``32.81``."""
    if not text.endswith("%"):
        raise ValueError(f"not a percentage: {text!r}")
    return float(text[:-1])


CHANNEL_COLUMNS: tuple[Column, ...] = (
    Column("channel", "text"),
    *(Column(key, "count") for key in CHANNEL_COUNT_KEYS),
    *(Column(percent_column(key), "percent", PERCENT_DECIMALS) for key in CHANNEL_PERCENT_KEYS),
)
"""The channel table of ``/insights``: the channel, its counts, its percentages as numbers (docs/metrics.md#channels)."""


def channel_table(answer: Mapping[str, Any]) -> Table:
    """The ``channels`` of an ``/insights`` answer as a table; no rows for the no-data answer."""
    channels: Sequence[Mapping[str, Any]] = answer.get("overall_metrics", {}).get("channels", [])
    rows = tuple(
        (
            channel["channel"],
            *(int(channel[key]) for key in CHANNEL_COUNT_KEYS),
            *(percent_number(channel[key]) for key in CHANNEL_PERCENT_KEYS),
        )
        for channel in channels
    )
    return Table(CHANNEL_COLUMNS, rows)


CREDIT_DECIMALS = 2
"""Credits are written with two decimals, as the answer rounds them (docs/metrics.md#attribution-response)."""


def credit_column(model: str, measure: str) -> str:
    """The header of a model's credit column: ``linear_conversions``, ``time_decay_value``."""
    return f"{model}_{measure}"


ATTRIBUTION_COLUMNS: tuple[Column, ...] = (
    Column("channel", "text"),
    *(Column(credit_column(model, measure), "number", CREDIT_DECIMALS)
      for measure in ATTRIBUTION_MEASURES for model in ATTRIBUTION_MODELS),
)
"""The channel table of ``/attribution``: the channel, then each model's conversion credit, then each
model's value credit (docs/api.md#csv-output); a data_driven credit that is ``null`` is an empty cell."""


def attribution_table(answer: Mapping[str, Any]) -> Table:
    """The ``channels`` of an ``/attribution`` answer as a table; no rows for the no-data or zero answer."""
    channels: Sequence[Mapping[str, Any]] = answer.get("attribution", {}).get("channels", [])
    rows = tuple(
        (channel["channel"],
         *(channel[measure][model] for measure in ATTRIBUTION_MEASURES for model in ATTRIBUTION_MODELS))
        for channel in channels
    )
    return Table(ATTRIBUTION_COLUMNS, rows)
TREND_COLUMNS: tuple[Column, ...] = (
    Column("start", "text"),
    *(Column(key, "count") for key in TREND_COUNT_KEYS),
)
"""The trend of ``/timeseries``: one row per bucket, its first day (``2025-07-01``) and its counts (docs/metrics.md#trend)."""


def trend_table(answer: Mapping[str, Any]) -> Table:
    """The ``buckets`` of a ``/timeseries`` answer as a table, oldest first, empty buckets included."""
    buckets: Sequence[Mapping[str, Any]] = answer["timeseries"]["buckets"]
    rows = tuple((bucket["start"], *(int(bucket[key]) for key in TREND_COUNT_KEYS)) for bucket in buckets)
    return Table(TREND_COLUMNS, rows)


def breakdown_columns(dimension: str) -> tuple[Column, ...]:
    """The breakdown table's columns: the dimension's values under its own name (``campaign``), the counts,
    the percentages as numbers (docs/metrics.md#breakdown)."""
    return (
        Column(dimension, "text"),
        *(Column(key, "count") for key in BREAKDOWN_COUNT_KEYS),
        *(Column(percent_column(key), "percent", PERCENT_DECIMALS) for key in BREAKDOWN_PERCENT_KEYS),
    )


def breakdown_table(answer: Mapping[str, Any]) -> Table:
    """The ``rows`` of a ``/breakdown`` answer as a table in the answer's order; a ``null`` value is an empty cell."""
    breakdown: Mapping[str, Any] = answer["breakdown"]
    rows = tuple(
        (
            row["value"],
            *(int(row[key]) for key in BREAKDOWN_COUNT_KEYS),
            *(percent_number(row[key]) for key in BREAKDOWN_PERCENT_KEYS),
        )
        for row in breakdown["rows"]
    )
    return Table(breakdown_columns(breakdown["dimension"]), rows)


def to_csv(table: Table) -> str:
    """The table as CSV text: a header row, then one line per row, ``\n`` line ends.

    Numbers are written as numbers (percentages and fixed-decimal columns with
    their decimals); a cell holding a comma, a double quote, a line feed or a
    carriage return is quoted (RFC 4180); a text cell a spreadsheet would run
    as a formula gets a leading ``'``.
    """
    lines = [",".join(_quoted(name) for name in table.names)]
    for row in table.rows:
        lines.append(",".join(_quoted(_cell(column, value)) for column, value in zip(table.columns, row)))
    # A row of one empty cell would be a blank line, which readers skip; "" keeps it a row.
    return "".join((line or '""') + "\n" for line in lines)


def _quoted(cell: str) -> str:
    """A cell as CSV writes it: in double quotes (doubled inside) when it holds a separator or a line break."""
    if any(special in cell for special in CSV_SPECIALS):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def _cell(column: Column, value: Any) -> str:
    """One cell as CSV text."""
    if value is None:
        return ""
    if column.kind == "text":
        text = str(value)
        return FORMULA_GUARD + text if text.startswith(FORMULA_STARTS) else text
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"column {column.name} holds numbers, got {type(value).__name__}")
    if column.kind == "count":
        return str(int(value))
    if column.decimals is not None:
        return f"{value:.{column.decimals}f}"
    return repr(value)
