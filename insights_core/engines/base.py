"""The engine seam: what the metrics need from a SQL engine, and nothing more.

Metric modules build :class:`Query` objects — SQL text and its bound values —
as pure functions of the parameters and a :class:`Dialect`, hand them to an
:class:`Engine`, and assemble the answer from the rows in shared Python
(rounding included), so every engine gives the same bytes
(docs/architecture.md#engines).

The SQL is written once wherever DuckDB and Spark SQL agree: CTEs, joins,
``IN (SELECT …)``, ``count(*)``, ``count_if(…)``, ``sum(…)``, aggregate
``FILTER (WHERE …)`` clauses, ``coalesce``, ``BETWEEN``. Where they differ the
piece is a method of the dialect, named for what it means rather than how one
engine spells it (the way rill keeps ``SafeDivideExpression`` or
``AnyValueExpression`` per driver). Adding an engine is a subclass of
:class:`Dialect` and a class with :meth:`Engine.rows`
(docs/architecture.md#adding-an-engine).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, Sequence, runtime_checkable


@dataclass(frozen=True)
class Query:
    """A statement (or a fragment of one) and the values bound to its named parameters.

    User values only ever travel in ``params``; ``sql`` is built from fixed
    parts and allowlisted column names, never from what a user typed.
    """

    sql: str
    params: Mapping[str, Any] = field(default_factory=dict)


class Dialect(ABC):
    """Every piece of SQL in which the engines differ, each named for what it computes."""

    name: str

    @abstractmethod
    def parameter(self, name: str) -> str:
        """The placeholder of the bound value ``name`` (DuckDB ``$name``; Spark ``:name``)."""

    @abstractmethod
    def exact_median(self, expression: str) -> str:
        """One aggregate call giving the exact median of ``expression`` as a double.

        An even count gives the mean of the two middle values
        (docs/metrics.md#rounding). It is a single call so that a
        ``FILTER (WHERE …)`` clause can follow it. DuckDB's ``median`` is exact;
        Spark's ``median`` and ``percentile_approx`` are not, its
        ``percentile(expression, 0.5)`` is.
        """

    @abstractmethod
    def ordered_list(self, element: str, order_by: Sequence[str]) -> str:
        """One aggregate call collecting ``element`` over the group's rows, ordered by ``order_by``.

        NULL elements are left out (as Spark's ``collect_list`` does; DuckDB's
        ``list`` would keep them), and a group of no rows gives an empty list
        (DuckDB's ``list`` would give NULL). Spark's ``collect_list`` keeps no
        order, so its dialect sorts the collected structs itself.
        """

    @abstractmethod
    def struct(self, fields: Mapping[str, str]) -> str:
        """A struct value with these named fields (name -> expression), read back as a ``dict``.

        DuckDB ``{'name': expression, …}``; Spark ``named_struct('name', expression, …)``.
        """

    @abstractmethod
    def common_table(self, name: str, body: str, *, materialized: bool = False) -> str:
        """One ``WITH`` entry: ``name AS (body)``.

        ``materialized`` asks the engine to compute the relation once however
        often the statement reads it, where the engine has a way to say so
        (DuckDB's ``AS MATERIALIZED``); an engine without one plans it itself.
        """

    @abstractmethod
    def scaled_quotient(self, numerator: str, scale: int, denominator: str) -> str:
        """floor(numerator * scale / denominator) of whole numbers >= 0, exactly, as a whole number.

        ``numerator`` and ``denominator`` are ``BIGINT``; their product with ``scale`` may need more
        than 64 bits, the quotient does not. DuckDB multiplies and divides in ``HUGEINT`` (its ``//`` on
        decimals would give a double); Spark in ``DECIMAL(38, 0)`` with ``div``, which gives a ``BIGINT``.
        """

    @abstractmethod
    def microseconds_between(self, earlier: str, later: str) -> str:
        """``later - earlier`` of two timestamps in whole microseconds (a ``BIGINT``).

        DuckDB ``date_diff('microsecond', earlier, later)``; Spark
        ``unix_micros(later) - unix_micros(earlier)``.
        """

    @abstractmethod
    def ordered_concat(self, element: str, order_by: Sequence[str]) -> str:
        """One aggregate call concatenating the text ``element`` over the group's rows, ordered by ``order_by``.

        DuckDB ``string_agg(element, '' ORDER BY …)``; Spark, whose ``collect_list`` keeps no order,
        ``array_join`` of the elements of the sorted collected structs.
        """


@runtime_checkable
class Engine(Protocol):
    """Runs queries built for its :attr:`dialect` and returns plain Python rows.

    Every value comes back as the Python type JSON assembly expects: ``int`` for
    integer results (whatever their SQL width), ``float`` for doubles, ``str``,
    ``bool``, ``None`` for NULL, naive UTC ``datetime`` for timestamps, ``dict``
    for structs and ``list`` for lists. An engine may be used from several
    threads at once.
    """

    dialect: Dialect

    def rows(self, query: Query) -> list[dict[str, Any]]:
        """Every row of ``query``'s result, as ``{column: value}`` in the statement's column order."""
        ...

    def interrupt(self) -> None:
        """Cancel every query this engine is running now (a time limit ran out); they raise."""
        ...
