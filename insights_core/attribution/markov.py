"""The data-driven model: a first-order Markov chain over the cohort's journeys (docs/metrics.md#data-driven).

The SQL counts the steps between states over every path, whole numbers only;
everything after that happens here, the same for every engine. The chain's
states are ``(start)``, one per channel, and the two ends ``(conversion)`` and
``(null)``; p(a -> b) is steps a -> b over steps out of a. The probability P of
ending in ``(conversion)`` from ``(start)`` is the solution of one linear system
over the states that are not ends (x_(conversion) = 1, x_(null) = 0,
x_a = sum_b p(a -> b) x_b), solved with ``numpy.linalg.solve``; no walk is
simulated. Removing a channel c sends every step into c to ``(null)``: its row
and column leave the system, which is solved again for P_-c, once per channel.
RE(c) = 1 - P_-c / P.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    import numpy as np

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"
ENDS = (CONVERSION, NULL)
"""The chain's own states; a channel is ``medium/source`` and always holds a ``/``, these never do."""


@dataclass(frozen=True)
class Chain:
    """Step counts between states, summed over every path of the cohort."""

    steps: Mapping[tuple[str, str], int]
    channels: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        states = {state for pair in self.steps for state in pair}
        object.__setattr__(self, "channels", tuple(sorted(states - {START, *ENDS})))
        for (origin, target), count in self.steps.items():
            if origin in ENDS or target == START or count <= 0:
                raise ValueError(f"not a step of the chain: {origin!r} -> {target!r} x {count}")

    @classmethod
    def from_counted_steps(cls, rows: list[Mapping[str, Any]]) -> "Chain":
        """The chain from rows of ``origin``, ``target`` (states) and ``steps``, how many; a pair may repeat."""
        steps: dict[tuple[str, str], int] = {}
        for row in rows:
            pair = (row["origin"], row["target"])
            steps[pair] = steps.get(pair, 0) + int(row["steps"])
        return cls(steps)


def absorption_system(chain: Chain) -> tuple[np.ndarray, np.ndarray]:
    """(I - Q, b) over the states ``(start)`` then the channels in order: Q the step probabilities
    between them, b the probability of stepping straight into ``(conversion)``."""
    import numpy as np  # only when a chain is solved: the command line starts without it
    states = (START, *chain.channels)
    index = {state: i for i, state in enumerate(states)}
    counts = np.zeros((len(states), len(states)))
    converting = np.zeros(len(states))
    leaving = np.zeros(len(states))
    for (origin, target), count in chain.steps.items():
        i = index[origin]
        leaving[i] += count
        if target == CONVERSION:
            converting[i] += count
        elif target != NULL:
            counts[i, index[target]] += count
    leaving[leaving == 0] = 1  # a state nothing leaves is never reached (only an empty chain's start)
    return np.eye(len(states)) - counts / leaving[:, None], converting / leaving


def conversion_probability(system: tuple[np.ndarray, np.ndarray], removed: int | None = None) -> float:
    """P from ``(start)``; with ``removed`` (a channel's index in the system), P without that channel."""
    import numpy as np

    matrix, converting = system
    if removed is not None:
        keep = np.arange(len(converting)) != removed
        matrix, converting = matrix[np.ix_(keep, keep)], converting[keep]
    if not converting.any():
        return 0.0
    return float(np.linalg.solve(matrix, converting)[0])


@dataclass(frozen=True)
class RemovalEffects:
    """P, and P_-c and RE(c) for every channel c of the chain."""

    probability: float
    without: Mapping[str, float]
    effects: Mapping[str, float]


def removal_effects(chain: Chain) -> RemovalEffects:
    """RE(c) = 1 - P_-c / P for every channel (0 for all when P = 0); one solve per removed channel.

    A removal can only lower P; a rounding error that would make RE the least
    bit negative is taken as 0.
    """
    system = absorption_system(chain)
    probability = conversion_probability(system)
    without = {channel: conversion_probability(system, removed=i + 1) for i, channel in enumerate(chain.channels)}
    effects = {
        channel: max(0.0, (probability - p) / probability) if probability > 0 else 0.0
        for channel, p in without.items()
    }
    return RemovalEffects(probability, without, effects)


def data_driven_shares(chain: Chain) -> Mapping[str, float] | None:
    """Each channel's share RE(c) / sum RE of the attributed conversions, or ``None`` when P = 0 or sum RE = 0."""
    removal = removal_effects(chain)
    total = sum(removal.effects.values())
    if removal.probability <= 0 or total <= 0:
        return None
    return {channel: effect / total for channel, effect in removal.effects.items()}
