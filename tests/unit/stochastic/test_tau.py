"""Tau-leaping (Cao, Gillespie & Petzold 2006): agreement with SSA, and counts never negative."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mdrsim.engine.stochastic import simulate_stochastic
from mdrsim.engine.stochastic_codegen import compile_stochastic
from mdrsim.model import ModelBuilder

from .models import birth_death, birth_death_moments
from .stats import Z, se_mean, se_var


def test_tau_leaping_agrees_with_ssa_in_mean_and_variance():
    """Large population, so that tau actually leaps (checked). Explicit tau-leaping has a
    first-order bias: for growth at net rate g over T it is about eps*|g|*T/2 of the mean
    (here 0.5 %), which is allowed for on top of the sampling error."""
    model = birth_death(1000, 1.0, 0.9)
    t = np.linspace(0.0, 3.0, 4)
    n = 3000
    ssa = simulate_stochastic(model, t, method="ssa", n_trajectories=n, seed=1)
    tau = simulate_stochastic(model, t, method="tau", n_trajectories=n, seed=2)
    assert ssa.ok and tau.ok
    assert tau.stats[:, 3].mean() >= 5  # leaps were taken
    assert tau.stats[:, 3].mean() < 0.01 * ssa.stats[:, 2].mean()  # far fewer steps
    mean, var = birth_death_moments(1000, 1.0, 0.9, t)
    for k in range(1, t.size):
        a, b = ssa["X"][:, k], tau["X"][:, k]
        bias = 0.03 * 0.1 * t[k] / 2 * mean[k]
        assert abs(a.mean() - b.mean()) <= Z * np.hypot(se_mean(a), se_mean(b)) + bias
        assert abs(a.var() - b.var()) <= Z * np.hypot(se_var(a), se_var(b)) + 0.03 * var[k]
        assert abs(b.mean() - mean[k]) <= Z * np.sqrt(var[k] / n) + bias


def test_tau_error_shrinks_with_epsilon():
    model = birth_death(2000, 0.5, 1.0)
    t = [0.0, 2.0]
    exact = 2000 * np.exp(-0.5 * 2.0)
    errors = []
    for eps in (0.1, 0.01):
        r = simulate_stochastic(
            model, t, method="tau", n_trajectories=4000, seed=5, tau_epsilon=eps
        )
        errors.append(abs(r.final("X").mean() - exact))
    assert errors[1] < errors[0]


def test_small_populations_fall_back_to_exact_steps():
    r = simulate_stochastic(
        birth_death(3, 1.0, 1.2), [0.0, 5.0], method="tau", n_trajectories=200, seed=3
    )
    assert r.ok
    assert np.all(r.final("X") >= 0)


# All species of a small network: every template is present; hypothesis draws which are
# switched on (rate 0 switches a reaction off), their rates and the initial counts.
TEMPLATES = [
    ({"S0": 1}, {"S1": 1}, "k{j}*S0"),
    ({"S1": 1}, {"S0": 1}, "k{j}*S1"),
    ({"S0": 1, "S1": 1}, {"S2": 1}, "k{j}*S0*S1"),
    ({"S2": 1}, {"S0": 1, "S1": 1}, "k{j}*S2"),
    ({"S0": 2}, {"S3": 1}, "k{j}*S0*(S0 - 1)/2"),
    ({"S3": 1}, {"S0": 3}, "k{j}*S3"),
    ({"S1": 1}, {}, "k{j}"),  # zero-order law that still consumes S1
    ({"S2": 2}, {}, "k{j}*S2^2/(1 + S2)"),  # not mass action
    ({}, {"S3": 1}, "k{j}"),  # inflow
]


def _network():
    m = ModelBuilder("network")
    for i in range(4):
        m.species(f"S{i}", 0, amount_based=True)
    for j, (reactants, products, law) in enumerate(TEMPLATES):
        m.parameter(f"k{j}", 1.0)
        m.reaction(f"R{j}", law.format(j=j), reactants=reactants, products=products)
    return m.build()


_NETWORK = compile_stochastic(_network())
rates = st.lists(
    st.one_of(st.just(0.0), st.floats(1e-2, 3e2)), min_size=len(TEMPLATES), max_size=len(TEMPLATES)
)
counts = st.lists(st.integers(0, 400), min_size=4, max_size=4)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(k=rates, x0=counts, method=st.sampled_from(["tau", "ssa"]), seed=st.integers(0, 2**32))
def test_random_networks_never_go_negative(k, x0, method, seed):
    r = simulate_stochastic(
        _NETWORK,
        np.linspace(0.0, 2.0, 5),
        method=method,
        n_trajectories=8,
        seed=seed,
        params={f"k{j}": v for j, v in enumerate(k)},
        initial={f"S{i}": v for i, v in enumerate(x0)},
        max_events=100_000,
    )
    # Some draws make an explosive network (2 S0 -> S3 -> 3 S0): those stop at the event
    # budget, with a reason; every count recorded before is still whole and non-negative.
    for i, why in r.failures().items():
        assert "maximum number of reaction events" in why, (i, why)
    recorded = r.states[np.isfinite(r.states)]
    assert np.all(recorded >= 0)
    assert np.all(recorded == np.round(recorded))
