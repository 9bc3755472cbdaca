"""The attribution answer assembled from the statement's one row (docs/metrics.md#attribution-response).

Shared Python for every engine: the models' credits are summed as exact
fractions (data_driven's from the chain solved in floating point) and each
number is rounded half up to 2 decimals only at the end, after summing.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any, Mapping

from ..vocabulary import ATTRIBUTION_MODELS, NO_DATA_MESSAGE, PATH_LENGTH_KEYS
from .markov import Chain
from .models import MICROS, MODELS, ZERO, Credit, DecayGroup, Evidence, Number, TouchGroup
from .query import LENGTH_COLUMNS, path_from_key
from .weights import Place

SIGNIFICANT_DIGITS = 12
"""data_driven credits come from a floating-point solve (relative error near 1e-15); they are taken to
12 significant digits before rounding, so an exact x.xx5 is not nudged below the half by that error."""


def micros(number: Any) -> int:
    """A decimal of at most 6 places (or a whole number) from the engine in millionths; ``None`` (a sum over no
    value) is 0."""
    if number is None:
        return 0
    if isinstance(number, int) and not isinstance(number, bool):
        return number * MICROS
    if isinstance(number, Decimal):
        scaled = number.scaleb(6)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"a value with more than 6 decimal places from the engine: {number}")
        return int(scaled)
    raise TypeError(f"expected a whole number or a decimal from the engine, got {type(number).__name__}")


def evidence_from(row: Mapping[str, Any]) -> Evidence:
    """The statement's groups as the models read them."""
    places: dict[tuple[int, str, bool], Place] = {}
    touch_groups = []
    for group in row["touch_groups"]:
        where = (int(group["n"]), group["slot"], bool(group["last_non_direct"]))
        place = places.get(where) or places.setdefault(where, Place(*where))
        touch_groups.append(TouchGroup(group["channel"], place, int(group["touchpoints"]), micros(group["value"])))
    decay_groups = tuple(
        DecayGroup(group["channel"], group["converting_channel"], int(group["share_units"]),
                   micros(group["value_units"]))
        for group in row["decay_groups"]
    )
    return Evidence(
        conversions=int(row["conversions"]),
        value_micros=micros(row["value"]),
        touch_groups=tuple(touch_groups),
        decay_groups=decay_groups,
        chain=Chain.from_counted_steps(row["chain_steps"]),
    )


def credits_by_model(evidence: Evidence) -> dict[str, dict[str, Credit]]:
    """model key -> channel -> unrounded credit, for every channel of the data-driven chain."""
    result = {}
    for model in MODELS:
        given = model.credits(evidence)
        result[model.key] = {channel: given.get(channel, ZERO) for channel in evidence.chain.channels}
    return result


def rounded(number: Number | None) -> float | None:
    """A credit rounded half up to 2 decimals; ``None`` stays ``None`` (docs/metrics.md#rounding)."""
    if number is None:
        return None
    if isinstance(number, float):
        number = Fraction(Decimal(f"{number:.{SIGNIFICANT_DIGITS}g}"))
    if number <= 0:  # 0, or a floating-point -0.000…: no credit is negative
        return 0.0
    hundredths = (number.numerator * 200 + number.denominator) // (2 * number.denominator)  # half up
    return hundredths / 100


PATH_SEPARATOR = " > "
"""Paths with equal conversions and value are ordered by their channels joined with this (docs/metrics.md#paths)."""


def top_paths(candidates: list[Mapping[str, Any]], count: int) -> list[dict[str, Any]]:
    """The first ``count`` paths: conversions desc, exact value desc, the joined path ascending (code points),
    then the channels themselves, should two paths join to the same text."""
    paths = [(path_from_key(c["path_key"]), int(c["conversions"]), micros(c["value"])) for c in candidates]
    paths.sort(key=lambda p: (-p[1], -p[2], PATH_SEPARATOR.join(p[0]), p[0]))
    return [{"path": path, "conversions": conversions, "value": rounded(Fraction(value, MICROS))}
            for path, conversions, value in paths[:count]]


def attribution_answer(row: Mapping[str, Any], paths: int) -> dict[str, Any]:
    """The answer from the statement's row: the no-data message, the zero answer, or every model side by
    side with the first ``paths`` conversion paths."""
    if int(row["cohort_users"]) == 0:
        return {"message": NO_DATA_MESSAGE}
    path_lengths = {key: int(row[column] or 0) for key, column in LENGTH_COLUMNS.items()}
    evidence = evidence_from(row)
    if evidence.conversions == 0:
        return {"attribution": {"conversions": 0, "value": 0.0, "channels": [], "paths": [],
                                "path_lengths": {key: 0 for key in PATH_LENGTH_KEYS}}}
    credits = credits_by_model(evidence)
    linear = credits["linear"]
    order = sorted(evidence.chain.channels, key=lambda channel: (-linear[channel].conversions, channel))
    channels = [
        {
            "channel": channel,
            "conversions": {key: rounded(credits[key][channel].conversions) for key in ATTRIBUTION_MODELS},
            "value": {key: rounded(credits[key][channel].value) for key in ATTRIBUTION_MODELS},
        }
        for channel in order
    ]
    return {"attribution": {
        "conversions": evidence.conversions,
        "value": rounded(evidence.value),
        "channels": channels,
        "paths": top_paths(row["paths"], paths),
        "path_lengths": path_lengths,
    }}
