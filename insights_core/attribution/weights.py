"""How each rule-based model splits one conversion's credit, in one place (docs/metrics.md#attribution-models).

A rule-based model gives every touchpoint a share of the conversion that
depends only on the touchpoint's :class:`Place`: how many touchpoints the
conversion has (n), whether the touchpoint is the only, the first, a middle or
the last one (the converting session), and whether it is the touchpoint that
``last_non_direct`` credits. The shares are exact fractions, so the SQL only
counts touchpoints per (channel, place) and the credits are summed here
without rounding error, whatever engine counted them.

Time decay is the one model whose share also depends on time; its weights are
computed from the stored touchpoints at query time, as fixed-point integers of
the scales below (docs/metrics.md#time_decay).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Mapping

ONLY, FIRST, MIDDLE, LAST = "only", "first", "middle", "last"
SLOTS: tuple[str, ...] = (ONLY, FIRST, MIDDLE, LAST)
"""A touchpoint's slot in its conversion's journey; ``only`` when n = 1 (it is first and last at once)."""


@dataclass(frozen=True)
class Place:
    """Where a touchpoint stands among its conversion's n touchpoints."""

    n: int
    slot: str
    last_non_direct: bool = False
    """It is the last touchpoint that is not direct, or the converting one when every touchpoint is direct."""

    def __post_init__(self) -> None:
        if self.slot not in SLOTS or self.n < 1 or (self.slot == ONLY) != (self.n == 1):
            raise ValueError(f"not a touchpoint's place: {self!r}")
        if self.slot == MIDDLE and self.n < 3:
            raise ValueError(f"a conversion of {self.n} touchpoints has no middle: {self!r}")


def first_touch(place: Place) -> Fraction:
    """1 to the first touchpoint."""
    return Fraction(place.slot in (ONLY, FIRST))


def last_touch(place: Place) -> Fraction:
    """1 to the last touchpoint, the converting session."""
    return Fraction(place.slot in (ONLY, LAST))


def last_non_direct(place: Place) -> Fraction:
    """1 to the last touchpoint that is not direct; to the converting one when all are direct."""
    return Fraction(place.last_non_direct)


def linear(place: Place) -> Fraction:
    """1/n to each touchpoint."""
    return Fraction(1, place.n)


POSITION_ENDS = Fraction(2, 5)
"""What position_based gives the first and the last touchpoint each when n >= 3."""


def position_based(place: Place) -> Fraction:
    """n = 1: 1; n = 2: 1/2 each; n >= 3: 2/5 to the first and the last, 1/(5(n-2)) to each other."""
    if place.slot == ONLY:
        return Fraction(1)
    if place.n == 2:
        return Fraction(1, 2)
    if place.slot == MIDDLE:
        return (1 - 2 * POSITION_ENDS) / (place.n - 2)
    return POSITION_ENDS


RULE_WEIGHTS: Mapping[str, Callable[[Place], Fraction]] = {
    "first_touch": first_touch,
    "last_touch": last_touch,
    "last_non_direct": last_non_direct,
    "linear": linear,
    "position_based": position_based,
}
"""Model key -> the share of one conversion a touchpoint in a given place receives."""

# --- time decay: fixed-point integers, the same on every engine --------------------------------

DECAY_WEIGHT_BITS = 40
"""A touchpoint's weight relative to the converting session's, 2^(-(age difference)/half-life) <= 1, is
kept as floor(weight * 2^40), an integer: exact for whole numbers of half-lives up to 40, else within
2^-40 of the weight, and summed per conversion without overflow for up to 2^23 touchpoints."""

DECAY_SHARE_SCALE = 10**15
"""A touchpoint's share of its conversion is kept as floor(share * 10^15), an integer; the converting
touchpoint takes what the floors leave, so the shares of a conversion add up to exactly 10^15."""
