"""Instants as the product keeps them: naive ``datetime`` values in UTC.

The store holds every timestamp as a naive UTC ``TIMESTAMP``
(docs/data.md#timestamps), the parameters resolve the window to naive UTC
(docs/metrics.md#window), and messages and request bodies write instants as
ISO 8601 with ``Z``. These two helpers are the one place that conversion and
that spelling live, so a value read from a file, a URL or the clock means the
same instant everywhere.
"""

from __future__ import annotations

from datetime import datetime, timezone


def naive_utc(moment: datetime) -> datetime:
    """``moment`` as a naive UTC datetime; a naive value is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def utc_now() -> datetime:
    """The current instant as a naive UTC datetime."""
    return naive_utc(datetime.now(timezone.utc))


def format_instant(moment: datetime) -> str:
    """A naive UTC datetime as ISO 8601 with ``Z``, keeping microseconds only when set.

    ``2025-07-01T10:00:00Z``, ``2025-07-31T23:59:59.999999Z``: the form request
    bodies and messages use, which :func:`insights_core.parse_params` reads back
    to the same instant.
    """
    spec = "microseconds" if moment.microsecond else "seconds"
    return moment.isoformat(timespec=spec) + "Z"
