"""Goldie–Coldman: the chance that a tumour grown from one cell has no resistant cell.

Source: Goldie JH, Coldman AJ. A mathematic model for relating the drug sensitivity of tumors
to their spontaneous mutation rate. Cancer Treat Rep 1979;63:1727-1733. Cells divide at rate
``b``; each division gives a resistant daughter with probability ``alpha`` (mutation per
division). Growing from one sensitive cell to ``N`` sensitive cells takes ``N - 1``
non-mutant divisions, so the probability that no resistant cell exists when the sensitive
population reaches ``N`` is ``(1 - alpha)^(N-1) ~ exp(-alpha (N - 1))`` (the paper's
formula; at the values below the two differ by < 3e-4, far below the tolerance). The formula
assumes no cell loss (``d = 0``); with death more divisions are needed and the probability
is lower.

How it is simulated: exact SSA from one cell; a state-triggered model event
``S >= N: growing = 0`` freezes every reaction at the instant the ``N``-th sensitive cell is
born, so ``R`` at the end is the resistant count at size ``N``.

Tolerance: the fraction of trajectories with ``R = 0`` is binomial, so it must lie within
4 standard errors, ``4 sqrt(P (1 - P) / n)``, of ``P = exp(-alpha (N - 1))`` (a correct
engine fails with probability ~6e-5), for two mutation rates.
"""

from __future__ import annotations

import numpy as np
import pytest

from mdrsim.engine.stochastic import simulate_stochastic
from mdrsim.model import Model, ModelBuilder

N = 1001
N_TRAJECTORIES = 50_000


def goldie_coldman(alpha: float, n_stop: int, b: float = 1.0) -> Model:
    m = ModelBuilder("goldie_coldman")
    m.species("S", 1, amount_based=True, unit="cells", description="drug-sensitive cells")
    m.species("R", 0, amount_based=True, unit="cells", description="resistant cells")
    m.parameter("b", b, unit="1/d", source="assumed: time scale only")
    m.parameter("alpha", alpha, source="Goldie & Coldman 1979: mutation per division")
    m.parameter("N_stop", n_stop, unit="cells")
    m.parameter("growing", 1.0, constant=False, description="1 until S reaches N_stop")
    m.reaction("divide_S", "growing*b*(1 - alpha)*S", reactants={"S": 1}, products={"S": 2})
    m.reaction("mutate_S", "growing*b*alpha*S", reactants={"S": 1}, products={"S": 1, "R": 1})
    m.reaction("divide_R", "growing*b*R", reactants={"R": 1}, products={"R": 2})
    m.event("size_reached", "S >= N_stop", {"growing": 0})
    return m.build()


@pytest.mark.parametrize("expected_mutants", [0.5, 1.5])
def test_probability_of_no_resistant_cell_at_size_n(expected_mutants):
    alpha = expected_mutants / (N - 1)
    # A pure-birth process reaches N = 1001 after ~ln(N)/b = 6.9 days (sd ~1.3): 40 days is
    # ample, and every trajectory is checked to have stopped at S = N.
    r = simulate_stochastic(
        goldie_coldman(alpha, N), [0.0, 40.0], n_trajectories=N_TRAJECTORIES, seed=1979
    )
    assert r.ok, r.failures()
    assert np.all(r.final("S") == N)
    p = np.exp(-alpha * (N - 1))
    observed = float(np.mean(r.final("R") == 0))
    tolerance = 4 * np.sqrt(p * (1 - p) / N_TRAJECTORIES)
    assert abs(observed - p) <= tolerance, (observed, p, tolerance)
