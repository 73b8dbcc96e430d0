"""Kuznetsov, Makalkin, Taylor & Perelson, Bull Math Biol 1994;56:295, with its published
(dimensionless) parameters: the tumour-dormant state is a stable spiral (complex eigenvalues
with negative real part) and trajectories near it show damped oscillations toward it.
Tolerance: the equilibrium from a root solve, eigenvalues from the analytic Jacobian, the
simulation within 1e-3 of the equilibrium after 400 time units."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import brentq

from mdrsim.biology.immune import KUZNETSOV_1994 as K
from mdrsim.biology.immune import kuznetsov_model
from mdrsim.engine import simulate


def _dormant_state() -> tuple[float, float]:
    s, r, e, m, d, a, b = (K[k] for k in ("sigma", "rho", "eta", "mu", "delta", "alpha", "beta"))

    def g(y: float) -> float:  # x = alpha*(1 - beta*y) on the y-nullcline
        x = a * (1 - b * y)
        return s + r * x * y / (e + y) - m * x * y - d * x

    y = brentq(g, 1.0, 50.0)
    return a * (1 - b * y), y


def test_dormant_state_is_a_stable_spiral():
    _s, r, e, m, d, a, b = (K[k] for k in ("sigma", "rho", "eta", "mu", "delta", "alpha", "beta"))
    x, y = _dormant_state()
    jac = np.array(
        [
            [r * y / (e + y) - m * y - d, r * x * e / (e + y) ** 2 - m * x],
            [-y, a - 2 * a * b * y - x],
        ]
    )
    eig = np.linalg.eigvals(jac)
    assert np.all(eig.real < 0) and np.all(np.abs(eig.imag) > 0.1)
    assert y == pytest.approx(8.19, abs=0.01)  # the small-tumour (dormant) equilibrium


def test_damped_oscillation_toward_dormancy():
    x_eq, y_eq = _dormant_state()
    model = kuznetsov_model(x0=x_eq * 1.3, y0=y_eq * 0.6).build()
    t = np.linspace(0, 400, 4001)
    r = simulate(model, t, rtol=1e-9, atol=1e-12, check=True)
    y = r["y"][0]
    assert abs(y[-1] - y_eq) < 1e-3 * y_eq
    dev = y - y_eq
    crossings = np.flatnonzero(np.sign(dev[:-1]) != np.sign(dev[1:]))
    assert len(crossings) >= 4  # oscillates around the equilibrium
    peaks = [np.max(np.abs(dev[a:b])) for a, b in itertools.pairwise(crossings)]
    assert peaks[2] < peaks[0]  # and the oscillation is damped
