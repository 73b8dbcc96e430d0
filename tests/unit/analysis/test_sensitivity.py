"""Sensitivity analyses against analytic values.

- Sobol indices of the Ishigami function (Ishigami & Homma 1990; the variance decomposition in
  Sobol' & Levitan, Comput Phys Commun 1999;117:52, and Saltelli et al., *Global Sensitivity
  Analysis: The Primer*, 2008, §4) computed here from the formulas, not copied; and of a linear
  model, whose indices are a_i² var(x_i) / Σ a_j² var(x_j). Tolerance: the indices' own 95 %
  bootstrap confidence interval (with a fixed seed, so the test is deterministic).
- Local coefficients of exponential decay y = y0·exp(−k t): d ln y / d ln k = −k t and
  d ln y / d ln y0 = 1, to 1e-5 (central differences with h = 1e-3 are O(h²) ≈ 1e-6).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mdrsim.analysis import FunctionProblem, Range, local_sensitivity, morris, sobol
from mdrsim.errors import AnalysisError


def ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def ishigami_indices(a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """Analytic first- and total-order indices for x_i ~ U(−π, π)."""
    pi = math.pi
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    s1 = np.array([v1, v2, 0.0]) / v
    st = np.array([v1 + v13, v2, v13]) / v
    return s1, st


def _ishigami_problem(b: float = 0.1) -> FunctionProblem:
    return FunctionProblem(["x1", "x2", "x3"], ["y"], lambda x: ishigami(x, 7.0, b))


RANGES = [Range(f"x{i}", -math.pi, math.pi) for i in (1, 2, 3)]


def test_sobol_indices_of_the_ishigami_function_match_the_analytic_values() -> None:
    res = sobol(_ishigami_problem(), RANGES, n=1024, seed=1)
    s1, st = ishigami_indices(7.0, 0.1)
    idx = res.indices
    assert res.n_runs == 2 * 1024 * (3 + 2)
    assert np.all(np.abs(idx["S1"] - s1) <= idx["S1_conf"]), idx
    assert np.all(np.abs(idx["ST"] - st) <= idx["ST_conf"]), idx
    assert bool(res.convergence["converged"].iloc[0])


def test_the_ishigami_check_can_fail_on_a_wrong_model() -> None:
    # Without the x1·x3 interaction (b = 0) x3 has no effect: the b = 0.1 values are missed.
    res = sobol(_ishigami_problem(b=0.0), RANGES, n=1024, seed=1)
    _, st = ishigami_indices(7.0, 0.1)
    assert not np.all(np.abs(res.indices["ST"] - st) <= res.indices["ST_conf"])


def test_sobol_indices_of_a_linear_model() -> None:
    a = np.array([1.0, 2.0, 3.0, 0.0])
    ranges = [Range(f"x{i}", 0.0, 1.0) for i in range(4)]
    problem = FunctionProblem([r.name for r in ranges], ["y"], lambda x: x @ a)
    res = sobol(problem, ranges, n=512, seed=3)
    expected = a**2 / np.sum(a**2)  # equal variances: S_i = ST_i = a_i² / Σ a_j²
    idx = res.indices
    assert np.all(np.abs(idx["S1"] - expected) <= idx["S1_conf"] + 1e-12), idx
    assert np.all(np.abs(idx["ST"] - expected) <= idx["ST_conf"] + 1e-12), idx


def test_morris_elementary_effects_of_a_linear_model_are_its_slopes() -> None:
    # Each factor spans [0, 2]: an effect per unit of range is 2·a_i, exactly, on every step.
    a = np.array([1.0, -2.0, 0.5])
    ranges = [Range(f"x{i}", 0.0, 2.0) for i in range(3)]
    problem = FunctionProblem([r.name for r in ranges], ["y"], lambda x: x @ a)
    res = morris(problem, ranges, trajectories=10, seed=0)
    np.testing.assert_allclose(res.indices["mu"], 2 * a, rtol=1e-12)
    np.testing.assert_allclose(res.indices["mu_star"], 2 * np.abs(a), rtol=1e-12)
    np.testing.assert_allclose(res.indices["sigma"], 0.0, atol=1e-12)


def test_log_ranges_sample_in_the_logarithm() -> None:
    r = Range("k", 0.1, 10.0, log=True)
    np.testing.assert_allclose(r.from_unit(np.array([0.0, 0.5, 1.0])), [0.1, 1.0, 10.0])


def test_failed_runs_are_refused_with_who_and_why() -> None:
    problem = FunctionProblem(
        ["x1", "x2"], ["y"], lambda x: np.where(x[:, 0] > 0.9, np.nan, x[:, 0] + x[:, 1])
    )
    with pytest.raises(AnalysisError, match=r"runs failed.*run \d+: the function returned"):
        sobol(problem, [Range("x1", 0, 1), Range("x2", 0, 1)], n=16)


def test_sobol_needs_a_power_of_two() -> None:
    with pytest.raises(AnalysisError, match="power of 2"):
        sobol(_ishigami_problem(), RANGES, n=100)


DECAY = """
model decay()
  y' = -k*y;
  y = 2;
  k = 0.3;
end
"""


def test_local_sensitivities_of_exponential_decay_match_the_derivatives() -> None:
    from mdrsim.analysis import ModelProblem
    from mdrsim.engine import SolverOptions, compile_model
    from mdrsim.io import load_model

    cm = compile_model(load_model(DECAY))
    problem = ModelProblem(
        cm, ["k", "y"], ["y@2", "y@5"], until=5.0, points=10,
        options=SolverOptions(rtol=1e-11, atol=1e-14),
    )  # fmt: skip
    table = local_sensitivity(problem).set_index(["output", "factor"])["coefficient"]
    assert table[("y@2", "k")] == pytest.approx(-0.3 * 2, abs=1e-5)
    assert table[("y@5", "k")] == pytest.approx(-0.3 * 5, abs=1e-5)
    assert table[("y@5", "y")] == pytest.approx(1.0, abs=1e-5)
