"""Loading files into a store: read, check the loading rules, derive, rebuild journeys.

``read`` (files to typed rows), ``rules`` (the loading rules as named
predicates), ``derive`` (source, medium, channel and channel group, in one
place), ``load`` (the transaction), ``report`` (what a load tells its caller)
and ``memory`` (the bounded memory a load runs in). See
docs/data.md#loading-rules and docs/architecture.md#from-file-to-answer.
"""

from __future__ import annotations

from .load import Progress, load
from .memory import MEMORY_LIMIT_VARIABLE, default_memory_limit
from .read import Source
from .report import LoadError, LoadReport, Violation

__all__ = [
    "MEMORY_LIMIT_VARIABLE",
    "LoadError",
    "LoadReport",
    "Progress",
    "Source",
    "Violation",
    "default_memory_limit",
    "load",
]
