"""The probability that a resistant clone exists at diagnosis, simulated vs analytic.

Sources: Goldie JH, Coldman AJ, Cancer Treat Rep 1979;63:1727 — with no cell death,
P(no resistant cell when the sensitive population reaches N) = exp(-alpha (N - 1)).
With death (rate d < birth rate b) the reference is the Poisson mean derived in
``mdrsim.biology.resistance`` (mutations at rate b*mu*S(t) on exponential growth, each
resistant lineage thinned by its birth-death survival probability):
m = (b mu N / d) ln((b - d/N)/(b - d)); P = 1 - exp(-m). It lies between the two naive
answers 1 - exp(-mu N) (surviving lineages only) and 1 - exp(-mu N b/(b - d)) (every
mutation event), and the test checks that the simulation rejects both: more cell death gives
a higher chance of resistance at the same size (Iwasa, Nowak & Michor, Genetics
2006;172:2557).

Sizes are chosen where the probability is testable (m ~ 1, N = 1e5; 2e4 for exact SSA).
Tolerance: the simulated fraction is binomial, so it must lie within 4 standard errors
sqrt(P(1 - P)/n) of the analytic P (a correct engine fails with probability ~6e-5); the
naive answers must lie more than 4 standard errors away. Seeds are fixed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mdrsim.biology.resistance import analytic_probability, resistance_at_diagnosis
from mdrsim.errors import SimulationInputError


def _within(p_obs: float, p_ref: float, n: int, k: float = 4.0) -> bool:
    return abs(p_obs - p_ref) <= k * math.sqrt(p_ref * (1 - p_ref) / n)


@pytest.mark.parametrize("method", ["tau", "hybrid"])
def test_goldie_coldman_without_death(method):
    mu, n_cells, n = 1e-5, 1e5, 4000
    r = resistance_at_diagnosis(mu, n_cells, n_trajectories=n, seed=1979, method=method)
    gc = 1 - math.exp(-mu * (n_cells - 1))  # Goldie & Coldman 1979
    assert r.analytic_probability == pytest.approx(gc, rel=1e-4)
    assert r.n_diagnosed == n
    assert _within(r.probability, gc, n), (r.probability, gc)
    assert r.ci_low < r.probability < r.ci_high


def test_death_raises_the_probability_as_derived():
    mu, n_cells, b, d, n = 1e-5, 1e5, 1.0, 0.5, 10_000
    r = resistance_at_diagnosis(
        mu, n_cells, birth_rate=b, death_rate=d, n_trajectories=n, seed=2006, method="hybrid"
    )
    p = analytic_probability(mu, n_cells, birth_rate=b, death_rate=d)
    # Hand-evaluated: m = 2e-5*1e5*ln((1 - 5e-6)/0.5) = 2 ln 2 - 1e-5 = 1.38628, P = 0.74999.
    assert p == pytest.approx(1 - math.exp(-(2 * math.log(2) - 1e-5)), rel=1e-6)
    assert _within(r.probability, p, n), (r.probability, p)
    surviving_only = 1 - math.exp(-mu * n_cells)
    every_mutation = 1 - math.exp(-mu * n_cells * b / (b - d))
    for wrong in (surviving_only, every_mutation):
        assert not _within(r.probability, wrong, n), (r.probability, wrong)


def test_tau_with_death_agrees():
    mu, n_cells, b, d, n = 1e-5, 1e5, 0.5, 0.1, 4000
    r = resistance_at_diagnosis(
        mu, n_cells, birth_rate=b, death_rate=d, n_trajectories=n, seed=7, method="tau"
    )
    assert _within(r.probability, analytic_probability(mu, n_cells, birth_rate=b, death_rate=d), n)


def test_exact_ssa_conditioned_on_diagnosis():
    """Every division simulated from one cell; lineages that die out are never diagnosed."""
    mu, n_cells, b, d, n = 5e-5, 2e4, 1.0, 0.3, 2000
    r = resistance_at_diagnosis(
        mu, n_cells, birth_rate=b, death_rate=d, n_trajectories=n, seed=11, method="ssa"
    )
    # A birth-death lineage from one cell survives with probability 1 - d/b = 0.7.
    assert _within(r.n_diagnosed / n, 1 - d / b, n)
    p = analytic_probability(mu, n_cells, birth_rate=b, death_rate=d)
    assert _within(r.probability, p, r.n_diagnosed), (r.probability, p)


def test_large_tumour_is_feasible_and_reproducible():
    kw = dict(birth_rate=0.5, death_rate=0.1, n_trajectories=200, seed=3)
    a = resistance_at_diagnosis(1e-9, 1e9, **kw)  # m ~ 1.1 at 1e9 cells
    b = resistance_at_diagnosis(1e-9, 1e9, **kw)
    np.testing.assert_array_equal(a.resistant_cells, b.resistant_cells)
    assert 0.4 < a.probability < 0.9
    assert a.horizon_days == pytest.approx(math.log(1e9) / (0.5 * (1 - 1e-9) - 0.1))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"mutation_rate": 0.0}, "mutation_rate"),
        ({"diagnosis_cells": 0.5}, "diagnosis_cells"),
        ({"death_rate": 2.0}, "death_rate"),
        ({"method": "euler"}, "method"),
        ({"method": "ssa", "diagnosis_cells": 1e9}, "diagnosis_cells"),
    ],
)
def test_errors_name_the_field(kwargs, field):
    args = {"mutation_rate": 1e-6, "diagnosis_cells": 1e6, **kwargs}
    with pytest.raises(SimulationInputError, match=field):
        resistance_at_diagnosis(**args)  # type: ignore[arg-type]
