"""Multi-start fitting recovers known parameters; profiles give an interval around them."""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import pytest

from mdrsim.errors import FitError
from mdrsim.fit.multistart import multistart, profile

from .conftest import TRUTH


def test_multistart_recovers_known_parameters(decay_objective) -> None:  # type: ignore[no-untyped-def]
    result = multistart(decay_objective, n_starts=4, seed=3)
    assert set(result.table["status"]) <= {"converged", "failed"}
    assert (result.table["status"] == "converged").sum() >= 2
    best = dict(zip(result.theta_ids, result.best_theta, strict=True))
    # B is noise-free and precise; A carries ±5 % log-noise, so the optimum sits close to,
    # not exactly at, the truth; it must be at least as good as the truth.
    assert 10 ** best["k1"] == pytest.approx(TRUTH["k1"], rel=1e-2)
    assert 10 ** best["k2"] == pytest.approx(TRUTH["k2"], rel=1e-2)
    assert best["scale"] == pytest.approx(TRUTH["scale"], rel=1e-2)
    truth = np.array(
        [math.log10(TRUTH["k1"]), math.log10(TRUTH["k2"]), TRUTH["scale"], math.log10(0.05)]
    )
    assert result.best_objective <= decay_objective(truth) + 1e-9
    # the table is tidy: one row per start, sorted by objective
    assert list(result.table["objective"]) == sorted(result.table["objective"])
    assert len(result.table) == 4


def test_no_converged_start_is_an_error_not_a_guess(decay_objective) -> None:  # type: ignore[no-untyped-def]
    result = multistart(decay_objective, n_starts=1, seed=1, max_iter=1)
    assert (result.table["status"] == "failed").all()
    assert "MAXITER" in result.table["reason"].iloc[0]
    with pytest.raises(FitError, match="no start converged"):
        result.best_theta  # noqa: B018


def test_profile_interval_contains_the_truth(decay_objective) -> None:  # type: ignore[no-untyped-def]
    fit = multistart(decay_objective, n_starts=2, seed=3)
    prof = profile(decay_objective, "k2", fit.best_theta, step=0.02, max_points=30)
    lo, hi = prof.ci
    assert math.isfinite(lo) and math.isfinite(hi)
    assert lo < math.log10(TRUTH["k2"]) < hi
    assert prof.threshold == pytest.approx(1.920729, rel=1e-5)
    assert (prof.table["delta"] >= -1e-6).all()


class _Quadratic:
    """(x − 0.3)² per coordinate in [0, 1]²; cannot be evaluated where x₀ > 0.5 (a stand-in
    for a model that cannot be integrated at a start)."""

    theta_ids: ClassVar[list[str]] = ["a", "b"]
    lower = np.zeros(2)
    upper = np.ones(2)

    def value_and_gradient(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        if x[0] > 0.5:
            raise FitError("simulation failed (test)")
        return float(np.sum((x - 0.3) ** 2)), 2 * (x - 0.3)

    def value_gradient_fim(self, x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        f, g = self.value_and_gradient(x)
        return f, g, 2 * np.eye(2)


@pytest.mark.parametrize("hessian", ["bfgs", "fim", "hybrid"])
def test_resampling_replaces_starts_that_cannot_be_evaluated(hessian: str) -> None:
    plain = multistart(_Quadratic(), n_starts=8, seed=5, hessian=hessian)
    failed = plain.table["reason"].str.startswith("objective at the start")
    assert failed.any() and (plain.table.loc[failed, "status"] == "failed").all()
    again = multistart(_Quadratic(), n_starts=8, seed=5, hessian=hessian, resample=20)
    assert (again.table["status"] == "converged").all()
    assert (again.table["draws"] > 1).sum() == failed.sum()
    assert np.allclose(again.table[["a", "b"]], 0.3, atol=1e-4)
    # every start point that was used can be evaluated (x0 <= 0.5)
    assert (again.table["start_a"] <= 0.5).all()


def test_unknown_hessian_and_negative_resample_are_refused() -> None:
    with pytest.raises(FitError, match="hessian 'newton'; allowed: bfgs, fim, hybrid"):
        multistart(_Quadratic(), n_starts=1, hessian="newton")
    with pytest.raises(FitError, match="resample must be >= 0"):
        multistart(_Quadratic(), n_starts=1, resample=-1)
