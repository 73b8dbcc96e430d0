"""Exact SSA against closed-form answers, the ODE limit, and exact event handling."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from mdrsim.engine import EventTable, simulate
from mdrsim.engine.stochastic import simulate_stochastic
from mdrsim.model import ModelBuilder

from .models import birth_death, birth_death_moments
from .stats import assert_mean_var, chi_square_pvalue


@pytest.mark.parametrize(("b", "d"), [(1.0, 0.5), (0.7, 0.7), (0.3, 1.0)])
def test_birth_death_mean_and_variance_match_the_closed_form(b, d):
    t = np.array([0.0, 0.5, 1.0, 2.0])
    r = simulate_stochastic(birth_death(10, b, d), t, n_trajectories=4000, seed=11)
    assert r.ok
    mean, var = birth_death_moments(10, b, d, t)
    x = r["X"]
    assert np.all(x[:, 0] == 10)
    for k in range(1, t.size):
        assert_mean_var(x[:, k], mean[k], var[k], what=f"b={b} d={d} t={t[k]}")


def test_pure_death_is_binomial_in_distribution():
    # Each of n0 cells is alive at t with probability exp(-d t), independently.
    n0, d, t_end = 40, 0.4, 2.0
    r = simulate_stochastic(birth_death(n0, 0.0, d), [0.0, t_end], n_trajectories=5000, seed=3)
    pmf = stats.binom.pmf(np.arange(n0 + 1), n0, np.exp(-d * t_end))
    assert chi_square_pvalue(r.final("X"), pmf) > 1e-4


def test_counts_are_whole_and_provenance_records_the_method_and_seed():
    r = simulate_stochastic(birth_death(5), np.linspace(0, 3, 7), n_trajectories=50, seed=9)
    x = r["X"]
    assert np.all(x == np.round(x)) and np.all(x >= 0)
    assert r.provenance["method"] == "ssa"
    assert r.provenance["seed"] == 9
    assert r.provenance["engine"] == "stochastic-ssa"
    assert r.provenance["n_trajectories"] == 50
    assert r.stats[:, 2].sum() > 0  # reactions fired


def _logistic(n0: float, b: float, d: float, K: float):
    m = ModelBuilder("logistic_bd")
    m.species("X", n0, amount_based=True)
    m.parameter("b", b).parameter("d", d).parameter("K", K)
    m.reaction("birth", "b*X", reactants={"X": 1}, products={"X": 2})
    m.reaction("death", "d*X + (b - d)*X*X/K", reactants={"X": 1})
    return m.build()


def test_mean_of_many_trajectories_converges_to_the_ode_for_a_large_population():
    # Logistic birth–death around K = 2000: the mean follows the ODE up to O(1/K).
    model = _logistic(200, 1.0, 0.3, 2000.0)
    t = np.linspace(0.0, 8.0, 9)
    r = simulate_stochastic(model, t, n_trajectories=150, seed=21)
    ode = simulate(model, t, rtol=1e-9, atol=1e-9)
    mean = r["X"].mean(axis=0)
    se = r["X"].std(axis=0, ddof=1) / np.sqrt(r.n_patients)
    ref = ode["X"][0]
    # 4 standard errors plus the O(1/K) gap between the stochastic mean and the ODE.
    assert np.all(np.abs(mean - ref) <= 4 * se + 0.005 * ref), (mean, ref, se)


def test_bolus_on_a_count_is_applied_exactly_at_its_time():
    n0, d = 100, 0.5
    ev = EventTable().bolus(1.0, "X", 50)
    t = np.array([0.0, 1.0 - 1e-12, 1.0, 2.0])
    r = simulate_stochastic(birth_death(n0, 0.0, d), t, n_trajectories=4000, seed=4, events=ev)
    x = r["X"]
    assert np.all(x[:, 2] - x[:, 1] >= 50)  # the dose lands at t = 1 (and deaths only remove)
    p1, p2 = np.exp(-d * 1.0), np.exp(-d * 2.0)
    mean = n0 * p2 + 50 * p1
    var = n0 * p2 * (1 - p2) + 50 * p1 * (1 - p1)
    assert_mean_var(x[:, 3], mean, var, what="after bolus")


def test_multiplying_a_count_is_binomial_thinning():
    n0, d, f = 300, 0.2, 0.4
    ev = EventTable().add(1.0, "X", f, op="multiply")
    r = simulate_stochastic(
        birth_death(n0, 0.0, d), [0.0, 2.0], n_trajectories=4000, seed=8, events=ev
    )
    p = np.exp(-2 * d) * f
    pmf = stats.binom.pmf(np.arange(n0 + 1), n0, p)
    assert chi_square_pvalue(r.final("X"), pmf) > 1e-4


def test_parameter_switch_and_model_timed_event():
    # Birth switched off at t = 1 by the event table; at t = 1.5 a model event adds 7 cells.
    m = ModelBuilder("switch")
    m.species("X", 20, amount_based=True)
    m.parameter("b", 1.0, constant=False).parameter("d", 0.0)
    m.reaction("birth", "b*X", reactants={"X": 1}, products={"X": 2})
    m.event("seed_cells", "time >= 1.5", {"X": "X + 7"})
    ev = EventTable().set_parameter(1.0, "b", 0.0)
    t = np.array([0.0, 1.0, 1.4, 1.5, 3.0])
    r = simulate_stochastic(m.build(), t, n_trajectories=500, seed=2, events=ev)
    x = r["X"]
    assert np.array_equal(x[:, 1], x[:, 2])  # nothing happens between 1 and 1.5
    assert np.array_equal(x[:, 3], x[:, 2] + 7)
    assert np.array_equal(x[:, 4], x[:, 3])
    # Yule process: X(1) is negative binomial with mean 20 e.
    assert abs(x[:, 1].mean() - 20 * np.e) <= 4 * np.sqrt(20 * np.e * (np.e - 1) / 500)


def test_an_event_that_leaves_a_fraction_of_a_cell_is_a_readable_failure():
    m = ModelBuilder("halve")
    m.species("X", 9, amount_based=True)
    m.parameter("d", 0.0)
    m.reaction("death", "d*X", reactants={"X": 1})
    m.event("halve", "time >= 1", {"X": "X/2"})
    r = simulate_stochastic(m.build(), [0.0, 0.5, 2.0], n_trajectories=3, seed=1)
    assert not r.ok
    assert set(r.failures()) == {0, 1, 2}
    assert "not a whole number" in r.failures()[0]
    assert np.isnan(r["X"][0, 2]) and r["X"][0, 1] == 9


def test_constant_rate_law_cannot_take_the_last_molecule_twice():
    # 'k' does not vanish at X = 0: the engine must not let the reaction fire without X.
    m = ModelBuilder("zero_order")
    m.species("X", 3, amount_based=True)
    m.parameter("k", 50.0)
    m.reaction("consume", "k", reactants={"X": 1})
    r = simulate_stochastic(m.build(), [0.0, 1.0, 10.0], n_trajectories=200, seed=5)
    assert r.ok
    assert np.all(r["X"][:, -1] == 0)
