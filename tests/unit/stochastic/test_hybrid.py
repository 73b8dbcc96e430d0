"""Hybrid method: a decaying drug (ODE) kills discrete cells; survival is known exactly."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from mdrsim.engine import EventTable
from mdrsim.engine.stochastic import simulate_stochastic

from .models import drug_kill, drug_kill_species
from .stats import assert_mean_var, chi_square_pvalue

N0, C0, K, KMAX = 200, 1.0, 0.7, 0.8


def _survival(t: np.ndarray, bolus_time: float | None = None, dose: float = 0.0) -> np.ndarray:
    """exp(-kmax * int_0^t C) for C = C0 e^{-k t} (+ dose e^{-k (t - t_b)} after t_b)."""
    auc = C0 * (1 - np.exp(-K * t)) / K
    if bolus_time is not None:
        after = np.clip(t - bolus_time, 0.0, None)
        auc = auc + dose * (1 - np.exp(-K * after)) / K
    return np.exp(-KMAX * auc)


@pytest.mark.parametrize("build", [drug_kill, drug_kill_species], ids=["rate_rule", "species"])
def test_cells_killed_by_a_decaying_drug_are_binomial(build):
    t = np.array([0.0, 0.5, 1.0, 3.0])
    continuous = ["C"] if build is drug_kill_species else []
    r = simulate_stochastic(
        build(N0, C0, K, KMAX),
        t,
        method="hybrid",
        n_trajectories=3000,
        seed=7,
        continuous=continuous,
    )
    assert r.ok, r.failures()
    # The drug itself follows its ODE to the solver tolerance.
    np.testing.assert_allclose(r["C"][0], C0 * np.exp(-K * t), rtol=1e-6)
    s = _survival(t)
    for k in range(1, t.size):
        assert_mean_var(r["N"][:, k], N0 * s[k], N0 * s[k] * (1 - s[k]), what=f"t={t[k]}")
    pmf = stats.binom.pmf(np.arange(N0 + 1), N0, s[-1])
    assert chi_square_pvalue(r.final("N"), pmf) > 1e-4


def test_a_drug_bolus_during_the_run_is_exact():
    t = np.array([0.0, 1.0, 2.0, 4.0])
    ev = EventTable().bolus(1.0, "C", 2.0)
    r = simulate_stochastic(
        drug_kill(N0, C0, K, KMAX), t, method="hybrid", n_trajectories=3000, seed=8, events=ev
    )
    c = r["C"][0]
    np.testing.assert_allclose(c[1], C0 * np.exp(-K) + 2.0, rtol=1e-6)
    np.testing.assert_allclose(c[3], C0 * np.exp(-4 * K) + 2.0 * np.exp(-3 * K), rtol=1e-6)
    s = _survival(t, bolus_time=1.0, dose=2.0)
    for k in range(1, t.size):
        assert_mean_var(r["N"][:, k], N0 * s[k], N0 * s[k] * (1 - s[k]), what=f"t={t[k]}")


def test_tau_with_a_continuous_drug_is_close_to_exact():
    t = np.array([0.0, 3.0])
    r = simulate_stochastic(
        drug_kill(5000, C0, K, KMAX), t, method="tau", n_trajectories=1000, seed=9
    )
    s = _survival(t)[-1]
    x = r.final("N")
    # Sampling error plus an allowance of eps/2 of the mean for the explicit method's
    # first-order bias (about 1 % here at the default eps = 0.03; the drug's change within
    # a leap is averaged by the trapezoidal rule, so it adds only a second-order error).
    allowance = 0.03 / 2 * 5000 * s
    assert abs(x.mean() - 5000 * s) <= 4 * np.sqrt(5000 * s * (1 - s) / 1000) + allowance
    assert r.stats[:, 3].mean() < 2000  # leaps, not one step per cell


def test_time_dependent_propensity_without_continuous_states():
    # kill rate kmax * C0 * exp(-k t) written directly in time: hybrid integrates it exactly.
    from mdrsim.model import ModelBuilder

    m = ModelBuilder("timed_kill")
    m.species("N", N0, amount_based=True)
    m.parameter("kmax", KMAX).parameter("k", K).parameter("C0", C0)
    m.reaction("kill", "kmax*C0*exp(-k*time)*N", reactants={"N": 1})
    t = np.array([0.0, 1.0, 3.0])
    r = simulate_stochastic(m.build(), t, method="hybrid", n_trajectories=3000, seed=10)
    s = _survival(t)
    for k in range(1, t.size):
        assert_mean_var(r["N"][:, k], N0 * s[k], N0 * s[k] * (1 - s[k]))
