"""How the product words counts and quotes values in messages, the same way everywhere.

Messages reach people through the command line, the HTTP API and the
dashboard; "1 conversion" must not read "1 conversions" in one of them, and a
65 KB bad value must not become a 65 KB error message in any of them.
"""

from __future__ import annotations

QUOTE_LIMIT = 200
"""At most this many characters of a user's value are repeated in a message."""

_IRREGULAR_PLURALS = {"entry": "entries", "was": "were", "is": "are", "has": "have"}


def plural(count: int, noun: str) -> str:
    """``noun`` in the number ``count`` asks for: ``plural(1, "row")`` is ``"row"``, else ``"rows"``."""
    if count == 1:
        return noun
    return _IRREGULAR_PLURALS.get(noun, noun + "s")


def counted(count: int, noun: str) -> str:
    """``count`` with its noun, thousands separated: ``"1 conversion"``, ``"12,040 sessions"``."""
    return f"{count:,} {plural(count, noun)}"


def quoted(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr`` of a user's value for a message, cut to ``limit`` characters with the length said.

    ``quoted("x" * 70000)`` is ``'xxx…'`` (the first 200 characters) followed by
    ``… (70,000 characters)``, so an error stays readable whatever was sent.
    """
    text = repr(value)
    if len(text) <= limit:
        return text
    length = len(value) if isinstance(value, (str, bytes, list, tuple, dict)) else len(text)
    return f"{text[:limit]}… ({length:,} characters)"
