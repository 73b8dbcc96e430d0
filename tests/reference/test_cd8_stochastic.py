"""Stochastic activation of the small CD8 precursor pool (100–200 cells per mouse: Blattman
et al., J Exp Med 2002;195:657) with the stochastic engine, from the same model as the ODE
mouse study. Tolerances: the stochastic mean within 4 standard errors of the ODE at day 4; the
response of a pool of 2 precursors fails (no antigen-experienced cell left) in a clear share
of mice, and more often without MDR1, whose protection acts exactly on the first divisions.
"""

from __future__ import annotations

import numpy as np
import pytest

from mdrsim.engine import simulate, simulate_stochastic
from mdrsim.experiments.mouse_mdr1 import mouse_model

T = np.arange(0.0, 4.01, 0.5)
CONTINUOUS = ["virus", "targets_virus", "bacteria"]


@pytest.fixture(scope="module")
def model():
    return mouse_model()


def test_stochastic_mean_matches_the_ode_for_150_precursors(model):
    n = 150
    r = simulate_stochastic(
        model, T, method="hybrid", n_trajectories=n, seed=11, continuous=CONTINUOUS, check=True
    )
    ode = simulate(model, T, check=True)
    day4 = r["cd8_antigen_experienced"][:, -1]
    se = day4.std(ddof=1) / np.sqrt(n)
    assert abs(day4.mean() - ode["cd8_antigen_experienced"][0][-1]) < 4 * se
    assert day4.std() / day4.mean() > 0.05  # chance is visible even with 150 founders


def test_a_tiny_precursor_pool_can_fail_and_fails_more_often_without_mdr1(model):
    failures = {}
    for genotype in (1.0, 0.0):
        r = simulate_stochastic(
            model,
            T,
            method="hybrid",
            n_trajectories=300,
            seed=5,
            continuous=CONTINUOUS,
            initial={"N_cd8": 2.0},
            params={"mdr1_genotype_cd8": genotype},
            check=True,
        )
        failures[genotype] = float(np.mean(r["cd8_antigen_experienced"][:, -1] == 0))
    assert failures[0.0] > 0.2
    assert failures[0.0] > failures[1.0] + 0.1
