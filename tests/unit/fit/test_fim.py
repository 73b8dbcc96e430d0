"""The Fisher information matrix from forward sensitivities vs a finite-difference oracle.

For normal noise the expected Fisher information of one measurement is
``(∂T(h)/∂θ)ᵀ(∂T(h)/∂θ)/σ² + 2 (∂σ/∂θ)ᵀ(∂σ/∂θ)/σ²`` (e.g. Raue et al., Bioinformatics 2015,
doi:10.1093/bioinformatics/btv405, the Gauss–Newton approximation of data2dynamics). The oracle
builds it from central differences of the simulated measurements (not from the sensitivities
under test). Problem: tests/unit/fit/conftest.py (B with fixed σ = 0.05 on a linear scale, A
log-normal with an estimated σ = sd_A on log10 scale).
"""

from __future__ import annotations

import math

import numpy as np

from mdrsim.fit.multistart import multistart


def test_fim_matches_finite_differences(decay_objective) -> None:  # type: ignore[no-untyped-def]
    obj = decay_objective
    theta = obj.problem.nominal_theta() + np.array([0.05, -0.03, 0.1, 0.02])
    value, grad, fim = obj.value_gradient_fim(theta)
    v2, g2 = obj.value_and_gradient(theta)
    assert value == v2 and np.array_equal(grad, g2)
    assert np.allclose(fim, fim.T) and np.linalg.eigvalsh(fim).min() > -1e-9
    m = obj.problem.measurements
    is_a = (m["observableId"] == "obs_A").to_numpy()
    h = 1e-5
    dh = np.empty((len(m), theta.size))
    for k in range(theta.size):
        e = np.zeros(theta.size)
        e[k] = h
        up, down = obj.simulated_measurements(theta + e), obj.simulated_measurements(theta - e)
        # d T(h)/dθ: identity for B, ln for A
        dh[:, k] = np.where(is_a, np.log(up) - np.log(down), up - down) / (2 * h)
    ids = obj.theta_ids
    sd_a = 10 ** theta[ids.index("sd_A")]
    sigma = np.where(is_a, sd_a, 0.05)
    d = dh / sigma[:, None]
    oracle = d.T @ d
    j = ids.index("sd_A")
    oracle[j, j] += 2 * math.log(10) ** 2 * is_a.sum()  # dσ/σ = ln 10 per unit of log10 σ
    np.testing.assert_allclose(fim, oracle, rtol=1e-4, atol=1e-6 * np.abs(oracle).max())


def test_multistart_with_fim_and_hybrid_recovers_the_optimum(decay_objective) -> None:  # type: ignore[no-untyped-def]
    bfgs = multistart(decay_objective, n_starts=2, seed=3)
    for hessian in ("fim", "hybrid"):
        result = multistart(decay_objective, n_starts=2, seed=3, hessian=hessian)
        assert (result.table["status"] == "converged").all()
        assert abs(result.best_objective - bfgs.best_objective) < 1e-6
        assert (result.table["draws"] == 1).all()
