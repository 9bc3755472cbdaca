"""docs/metrics.md#data-driven: the Markov chain, solved exactly (a linear system per removed channel, no walks).

The published check cases give their documented results; on random chains the
floating-point solve agrees with the reference model's exact Gauss-Jordan
elimination over fractions; the degenerate chains give null credit.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

import reference
from insights_core.attribution.markov import (
    CONVERSION,
    NULL,
    START,
    Chain,
    conversion_probability,
    absorption_system,
    data_driven_shares,
    removal_effects,
)


def chain_of(paths: list[tuple[str, bool]]) -> Chain:
    """Steps counted over paths written ``"A>B>C"``, each converting or not (docs/metrics.md#data-driven)."""
    steps: dict[tuple[str, str], int] = {}
    for path, converts in paths:
        states = [START, *path.split(">"), CONVERSION if converts else NULL]
        for pair in zip(states, states[1:]):
            steps[pair] = steps.get(pair, 0) + 1
    return Chain(steps)


def test_first_published_case():
    """C1>C2>C3 converts, C1 and C2>C3 do not: P = 1/3; RE C1 1/2, C2 1, C3 1; with N = 1: 0.2, 0.4, 0.4."""
    chain = chain_of([("C1>C2>C3", True), ("C1", False), ("C2>C3", False)])
    removal = removal_effects(chain)
    assert removal.probability == pytest.approx(1 / 3, abs=1e-15)
    assert removal.without == pytest.approx({"C1": 1 / 6, "C2": 0, "C3": 0}, abs=1e-15)
    shares = data_driven_shares(chain)
    assert {channel: round(share, 12) for channel, share in shares.items()} == {"C1": 0.2, "C2": 0.4, "C3": 0.4}


def test_second_published_case():
    """A>B>A>B>B>A, A>B>B>A>A, A>A all convert: P = 1; RE A 1, B 1/2; with N = 3: A 2, B 1."""
    chain = chain_of([("A>B>A>B>B>A", True), ("A>B>B>A>A", True), ("A>A", True)])
    assert chain.steps[("A", "A")] == 2 and chain.steps[("A", "B")] == 3 and chain.steps[("A", CONVERSION)] == 3
    removal = removal_effects(chain)
    assert removal.probability == pytest.approx(1.0, abs=1e-15)
    assert removal.effects == pytest.approx({"A": 1.0, "B": 0.5}, abs=1e-15)
    shares = data_driven_shares(chain)
    assert {channel: round(3 * share, 12) for channel, share in shares.items()} == {"A": 2.0, "B": 1.0}


def test_a_channel_only_on_paths_that_never_convert_has_no_removal_effect():
    chain = chain_of([("organic>email", True), ("cpc>organic", True), ("social", False)])
    removal = removal_effects(chain)
    assert removal.probability == pytest.approx(2 / 3)
    assert removal.effects == pytest.approx({"cpc": 0.5, "email": 0.5, "organic": 1.0, "social": 0.0}, abs=1e-15)


def test_no_conversion_in_the_chain_means_null_credit():
    """P = 0: every data-driven credit is null (docs/metrics.md#data-driven)."""
    chain = chain_of([("A>B", False), ("B", False)])
    assert removal_effects(chain).probability == 0
    assert data_driven_shares(chain) is None
    assert data_driven_shares(Chain({})) is None


def test_steps_out_of_an_end_or_into_the_start_are_not_a_chain():
    with pytest.raises(ValueError):
        Chain({(CONVERSION, "A"): 1})
    with pytest.raises(ValueError):
        Chain({("A", START): 1})
    with pytest.raises(ValueError):
        Chain({(START, "A"): 0})


def test_counted_steps_make_the_chain():
    """Steps between states as the statement counts them; a pair counted twice adds up."""
    chain = Chain.from_counted_steps([
        {"origin": START, "target": "A", "steps": 2},
        {"origin": START, "target": "A", "steps": 1},
        {"origin": "A", "target": NULL, "steps": 1},
        {"origin": "A", "target": "B", "steps": 2},
        {"origin": "B", "target": CONVERSION, "steps": 2},
    ])
    assert chain.steps == {(START, "A"): 3, ("A", NULL): 1, ("A", "B"): 2, ("B", CONVERSION): 2}
    assert chain.channels == ("A", "B")


def test_the_system_is_the_documented_one():
    """x_a = sum_b p(a -> b) x_b: row a of I - Q holds -p(a -> b) for channels, b holds p(a -> conversion)."""
    chain = chain_of([("A>B", True), ("A", False)])
    matrix, converting = absorption_system(chain)
    # states: (start), A, B.  (start)->A 2/2; A->B 1/2, A->(null) 1/2; B->(conversion) 1.
    assert matrix.tolist() == [[1, -1, 0], [0, 1, -0.5], [0, 0, 1]]
    assert converting.tolist() == [0, 0, 1]
    assert conversion_probability((matrix, converting)) == 0.5
    assert conversion_probability((matrix, converting), removed=2) == 0


CHANNELS = ["a/1", "b/2", "c/3", "d/4", "e/5"]


@given(st.lists(st.tuples(st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=6), st.booleans()),
                min_size=1, max_size=12))
def test_the_solve_agrees_with_exact_elimination_over_fractions(paths):
    """Against tests/reference.py's exact Gauss-Jordan elimination: P, every P_-c, to 1e-12."""
    chain = chain_of([(">".join(path), converts) for path, converts in paths])
    steps: dict[str, dict[str, int]] = {}
    for (origin, target), count in chain.steps.items():
        steps.setdefault(origin, {})[target] = count
    removal = removal_effects(chain)
    exact = reference.conversion_probability(steps, list(chain.channels))
    assert removal.probability == pytest.approx(float(exact), abs=1e-12)
    for channel in chain.channels:
        exact_without = reference.conversion_probability(steps, list(chain.channels), removed=channel)
        assert removal.without[channel] == pytest.approx(float(exact_without), abs=1e-12)
        if exact:
            assert removal.effects[channel] == pytest.approx(float(1 - exact_without / exact), abs=1e-9)
    shares = data_driven_shares(chain)
    if exact == 0:
        assert shares is None
    else:
        assert sum(shares.values()) == pytest.approx(1.0, abs=1e-12)
        assert all(share >= 0 for share in shares.values())


def test_fractions_in_the_reference_are_exact():
    """The reference's own solve gives the first published case's P exactly (a sanity check of the oracle)."""
    chain = chain_of([("C1>C2>C3", True), ("C1", False), ("C2>C3", False)])
    steps: dict[str, dict[str, int]] = {}
    for (origin, target), count in chain.steps.items():
        steps.setdefault(origin, {})[target] = count
    assert reference.conversion_probability(steps, list(chain.channels)) == Fraction(1, 3)
