"""The attribution models as a registry of small objects with the same methods (docs/metrics.md#attribution-models).

Every model has a ``key`` (its name in the answer, in the order of
:data:`insights_core.vocabulary.ATTRIBUTION_MODELS`), a ``summary`` (how it
splits the credit, in a marketer's words: the docs, the API and the dashboard
show it) and :meth:`AttributionModel.credits`, which turns the
:class:`Evidence` the one attribution statement gathered into each channel's
conversion and value credit, unrounded. Adding a model is a class here and a
row in :data:`MODELS` (docs/architecture.md#adding-an-attribution-model).

The five rule-based models are one class driven by their weights
(:mod:`insights_core.attribution.weights`); ``time_decay`` reads the
fixed-point shares the SQL summed; ``data_driven`` solves the Markov chain
(:mod:`insights_core.attribution.markov`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cached_property
from fractions import Fraction
from math import lcm
from typing import Callable, Mapping

from ..vocabulary import ATTRIBUTION_MODELS
from . import weights
from .markov import Chain, data_driven_shares
from .weights import LAST, ONLY, Place

Number = Fraction | float
"""An unrounded credit: exact (``Fraction``) for every model but data_driven, whose chain is solved in floating point."""


MICROS = 10**6
"""Values are decimals with 6 places (docs/data.md#conversions), summed here as whole micro-units."""


@dataclass(frozen=True)
class TouchGroup:
    """Touchpoints of attributed conversions that share a channel and a :class:`~weights.Place`."""

    channel: str
    place: Place
    touchpoints: int
    value_micros: int
    """The sum of their conversions' values, in millionths (each touchpoint counts its conversion's value once)."""


@dataclass(frozen=True)
class DecayGroup:
    """Touchpoints before the converting one, by channel and the channel of their conversion's converting session.

    ``share_units`` sums their time-decay shares in units of 1/``DECAY_SHARE_SCALE``;
    ``value_units`` sums share units x the conversion's value in millionths.
    """

    channel: str
    converting_channel: str
    share_units: int
    value_units: int


@dataclass(frozen=True, eq=False)
class Evidence:
    """What the attribution statement gathers about the attributed conversions and the cohort's journeys."""

    conversions: int
    value_micros: int
    touch_groups: tuple[TouchGroup, ...]
    decay_groups: tuple[DecayGroup, ...]
    chain: Chain

    @property
    def value(self) -> Fraction:
        """V, the attributed conversions' total value."""
        return Fraction(self.value_micros, MICROS)

    @cached_property
    def touch_groups_by_place(self) -> Mapping[Place, tuple[TouchGroup, ...]]:
        """The touch groups of each place: a rule-based model computes each place's share once."""
        by_place: dict[Place, list[TouchGroup]] = {}
        for group in self.touch_groups:
            by_place.setdefault(group.place, []).append(group)
        return {place: tuple(groups) for place, groups in by_place.items()}


@dataclass(frozen=True)
class Credit:
    """A channel's credit under one model: ``None`` for both when the model gives none (data_driven when P = 0)."""

    conversions: Number | None
    value: Number | None


ZERO = Credit(Fraction(0), Fraction(0))


class AttributionModel(ABC):
    """One way of sharing out the credit for the attributed conversions."""

    key: str
    summary: str

    @abstractmethod
    def credits(self, evidence: Evidence) -> Mapping[str, Credit]:
        """Each credited channel's conversion and value credit, unrounded; a channel left out has 0."""


class _ExactSum:
    """A sum of fractions kept as whole numerators per denominator, added up once at the end (fast and exact)."""

    __slots__ = ("numerators",)

    def __init__(self) -> None:
        self.numerators: dict[int, int] = {}

    def add(self, numerator: int, denominator: int = 1) -> None:
        self.numerators[denominator] = self.numerators.get(denominator, 0) + numerator

    def total(self, scale: int = 1) -> Fraction:
        """The sum divided by ``scale``."""
        common = lcm(*self.numerators) if self.numerators else 1
        return Fraction(sum(n * (common // d) for d, n in self.numerators.items()), common * scale)


@dataclass(frozen=True)
class RuleBased(AttributionModel):
    """A model whose share for a touchpoint depends only on its place among the conversion's touchpoints."""

    key: str
    summary: str

    @property
    def weight(self) -> Callable[[Place], Fraction]:
        """The model's share for a touchpoint's place, from :data:`weights.RULE_WEIGHTS`."""
        return weights.RULE_WEIGHTS[self.key]

    def credits(self, evidence: Evidence) -> Mapping[str, Credit]:
        sums: dict[str, tuple[_ExactSum, _ExactSum]] = {}
        for place, groups in evidence.touch_groups_by_place.items():
            share = self.weight(place)
            if not share:
                continue
            numerator, denominator = share.numerator, share.denominator
            for group in groups:
                channel_sums = sums.get(group.channel)
                if channel_sums is None:
                    channel_sums = sums[group.channel] = (_ExactSum(), _ExactSum())
                channel_sums[0].add(numerator * group.touchpoints, denominator)
                channel_sums[1].add(numerator * group.value_micros, denominator)
        return {channel: Credit(conversions.total(), value.total(MICROS))
                for channel, (conversions, value) in sums.items()}


class TimeDecay(AttributionModel):
    """Shares by age: touchpoint i weighs 2^(-(t_k - started_at_i) / half-life), divided by the sum of the weights.

    The SQL gives each touchpoint before the converting one its share as an
    integer number of 1/10^15 (dividing every weight by the converting
    session's first, so nothing underflows); the converting touchpoint takes
    the rest of the conversion's unit. So a channel's credit is what its
    earlier touchpoints got, plus one unit (and the value) per conversion it
    closed, minus what the earlier touchpoints of those conversions took.
    """

    key = "time_decay"
    summary = ("The closer a visit is to the conversion, the more it counts: a visit one half-life earlier counts"
               " half as much.")

    def credits(self, evidence: Evidence) -> Mapping[str, Credit]:
        scale = weights.DECAY_SHARE_SCALE
        units: dict[str, list[int]] = {}
        for group in evidence.touch_groups:
            if group.place.slot in (ONLY, LAST):
                total = units.setdefault(group.channel, [0, 0])
                total[0] += group.touchpoints * scale
                total[1] += group.value_micros * scale
        for decay in evidence.decay_groups:
            earlier = units.setdefault(decay.channel, [0, 0])
            earlier[0] += decay.share_units
            earlier[1] += decay.value_units
            closing = units.setdefault(decay.converting_channel, [0, 0])
            closing[0] -= decay.share_units
            closing[1] -= decay.value_units
        return {channel: Credit(Fraction(conversions, scale), Fraction(value, scale * MICROS))
                for channel, (conversions, value) in units.items()}


class DataDriven(AttributionModel):
    """Credit in proportion to each channel's removal effect in the cohort's Markov chain."""

    key = "data_driven"
    summary = ("Credit by how many conversions would be lost without the channel, learned from every journey of"
               " the cohort, converting or not.")

    def credits(self, evidence: Evidence) -> Mapping[str, Credit]:
        shares = data_driven_shares(evidence.chain)
        if shares is None:
            return {channel: Credit(None, None) for channel in evidence.chain.channels}
        conversions, value = float(evidence.conversions), evidence.value_micros / MICROS
        return {channel: Credit(conversions * share, value * share) for channel, share in shares.items()}


MODELS: tuple[AttributionModel, ...] = (
    RuleBased("first_touch", "All the credit to the channel that brought the person in first."),
    RuleBased("last_touch", "All the credit to the channel of the visit that converted."),
    RuleBased(
        "last_non_direct",
        "All the credit to the last channel that was not a direct visit (to the converting visit when all were direct).",
    ),
    RuleBased("linear", "Every visit on the way counts the same."),
    RuleBased(
        "position_based",
        "40% to the first visit, 40% to the converting visit, the other 20% shared by the visits between.",
    ),
    TimeDecay(),
    DataDriven(),
)
"""The registry, in the answer's order."""

if tuple(model.key for model in MODELS) != ATTRIBUTION_MODELS:  # pragma: no cover - a wiring mistake
    raise RuntimeError("attribution.MODELS must list vocabulary.ATTRIBUTION_MODELS in order")
