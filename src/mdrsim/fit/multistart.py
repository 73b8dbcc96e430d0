"""Multi-start local optimisation with fides, and profile likelihoods.

Each start is a seeded random point inside the bounds (uniform on the parameter scale) and is
optimised by fides' trust-region method (Fröhlich & Sorger, PLoS Comput Biol 2022) with BFGS
updates of the Hessian and the forward-sensitivity gradient of :class:`Objective`. Every start
reports its status: ``converged`` (fides stopped on its function, step or gradient tolerance)
or ``failed`` with the reason (iteration or time limit, a non-finite objective, a trust region
that collapsed, a simulation that failed). The best parameters are taken from converged starts
only; when none converged, :attr:`MultistartResult.best_theta` raises instead of returning a
guess.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mdrsim.errors import FitError, MdrsimError

__all__ = ["MultistartResult", "ProfileResult", "multistart", "profile"]

_CONVERGED_FLAGS = ("FTOL", "XTOL", "GTOL")


#: Hessian approximations of the optimiser: BFGS updates; the Fisher information matrix from
#: the forward sensitivities (Gauss–Newton; what pyPESTO uses with AMICI and fides); or
#: fides' hybrid (the FIM, then BFGS updates from iteration 20; Fröhlich & Sorger, PLoS Comput
#: Biol 2022, doi:10.1371/journal.pcbi.1010322).
HESSIANS = ("bfgs", "fim", "hybrid")


class _Counted:
    """Wraps the objective: counts calls, turns simulation failures into +inf. ``fun`` returns
    (f, g) or (f, g, H)."""

    def __init__(self, fun: Callable[[np.ndarray], tuple[Any, ...]]) -> None:
        self.fun = fun
        self.calls = 0
        self.last_error: str = ""

    def __call__(self, x: np.ndarray) -> tuple[Any, ...]:
        self.calls += 1
        try:
            out = self.fun(x)
        except MdrsimError as exc:
            self.last_error = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
            return self._failed(x)
        if not all(np.all(np.isfinite(v)) for v in out):
            self.last_error = "non-finite objective or gradient"
            return self._failed(x)
        return (float(out[0]), *(np.asarray(v, dtype=float) for v in out[1:]))

    def _failed(self, x: np.ndarray) -> tuple[Any, ...]:
        n = x.size
        return (math.inf, np.zeros(n)) if self.arity == 2 else (math.inf, np.zeros(n),
                                                                np.eye(n))  # fmt: skip

    arity = 2


def _fides_minimize(
    fun: Callable[[np.ndarray], tuple[Any, ...]],
    x0: np.ndarray,
    lb: np.ndarray,
    ub: np.ndarray,
    *,
    max_iter: int,
    max_time: float,
    gatol: float,
    hessian: str = "bfgs",
) -> tuple[float, np.ndarray, str, int, str]:
    import fides

    counted = _Counted(fun)
    counted.arity = 2 if hessian == "bfgs" else 3
    f0 = counted(x0)[0]
    if not math.isfinite(f0):
        return (
            math.inf,
            x0,
            "failed",
            counted.calls,
            f"objective at the start: {counted.last_error}",
        )
    opt = fides.Optimizer(
        counted,
        ub=ub,
        lb=lb,
        verbose=logging.WARNING,
        hessian_update={"bfgs": fides.BFGS(), "fim": None, "hybrid": fides.HybridFixed()}[hessian],
        options={
            fides.Options.MAXITER: max_iter,
            fides.Options.MAXTIME: max_time,
            fides.Options.GATOL: gatol,
            fides.Options.FATOL: 1e-8,
            fides.Options.FRTOL: 1e-10,
        },
    )
    try:
        fval, x, _, _ = opt.minimize(np.asarray(x0, dtype=float))
    except (RuntimeError, ValueError, np.linalg.LinAlgError) as exc:
        return math.inf, x0, "failed", counted.calls, f"optimiser error: {exc}"
    flag = opt.exitflag.name
    if flag in _CONVERGED_FLAGS and math.isfinite(fval):
        return float(fval), np.asarray(x), "converged", counted.calls, flag
    reason = flag + (f" ({counted.last_error})" if counted.last_error else "")
    return float(fval), np.asarray(x), "failed", counted.calls, reason


@dataclass
class MultistartResult:
    """Every start's outcome (``table``) and the best converged one."""

    table: pd.DataFrame
    theta_ids: list[str]

    @property
    def converged(self) -> pd.DataFrame:
        return self.table[self.table["status"] == "converged"]

    @property
    def best_theta(self) -> np.ndarray:
        """θ of the converged start with the lowest objective; raises if none converged."""
        ok = self.converged
        if ok.empty:
            reasons = "; ".join(sorted(set(self.table["reason"].astype(str)))[:5])
            raise FitError(f"no start converged ({len(self.table)} tried): {reasons}")
        row = ok.loc[ok["objective"].idxmin()]
        return row[self.theta_ids].to_numpy(dtype=float)

    @property
    def best_objective(self) -> float:
        ok = self.converged
        if ok.empty:
            self.best_theta  # raises  # noqa: B018
        return float(ok["objective"].min())


def multistart(
    objective: Any,
    n_starts: int = 10,
    *,
    seed: int = 0,
    max_iter: int = 500,
    max_time_per_start: float = 600.0,
    gatol: float = 1e-6,
    starts: np.ndarray | None = None,
    hessian: str = "bfgs",
    resample: int = 0,
) -> MultistartResult:
    """Optimise from ``n_starts`` seeded uniform random points inside the bounds.

    ``objective`` is an :class:`~mdrsim.fit.Objective` (anything with ``value_and_gradient``,
    ``lower``, ``upper`` and ``theta_ids``; and ``value_gradient_fim`` for ``hessian="fim"``).
    ``starts`` [n, K] overrides the random points. ``hessian``: ``"bfgs"`` (updates) or
    ``"fim"`` (the Fisher information matrix, Gauss–Newton) or ``"hybrid"`` (FIM, then BFGS
    from iteration 20). ``resample``: a start whose
    objective cannot be evaluated (the model fails to integrate there) is replaced by up to
    this many new uniform points, drawn from a generator seeded by (seed, start) so results
    do not depend on the order; the column ``draws`` counts the points tried.
    """
    if hessian not in HESSIANS:
        raise FitError(f"hessian {hessian!r}; allowed: {', '.join(HESSIANS)}")
    if resample < 0:
        raise FitError(f"resample must be >= 0, got {resample}")
    lb = np.asarray(objective.lower, dtype=float)
    ub = np.asarray(objective.upper, dtype=float)
    ids = list(objective.theta_ids)
    rng = np.random.default_rng(seed)
    if starts is None:
        starts = lb + (ub - lb) * rng.random((n_starts, lb.size))
    starts = np.atleast_2d(np.asarray(starts, dtype=float))
    if starts.shape[1] != lb.size:
        raise FitError(f"starts must have {lb.size} columns, got {starts.shape}")
    fun = objective.value_and_gradient if hessian == "bfgs" else objective.value_gradient_fim
    rows = []
    for i, first in enumerate(starts):
        t0 = time.perf_counter()
        x0 = first
        redraw = np.random.default_rng([seed, i])
        draws = 0
        while True:
            draws += 1
            fval, x, status, calls, reason = _fides_minimize(
                fun,
                x0,
                lb,
                ub,
                max_iter=max_iter,
                max_time=max_time_per_start,
                gatol=gatol,
                hessian=hessian,
            )
            if not (reason.startswith("objective at the start") and draws <= resample):
                break
            x0 = lb + (ub - lb) * redraw.random(lb.size)
        row = {
            "start": i,
            "status": status,
            "reason": reason,
            "objective": fval,
            "evaluations": calls,
            "seconds": time.perf_counter() - t0,
            "draws": draws,
        }
        row.update(dict(zip(ids, x, strict=True)))
        row.update({f"start_{k}": v for k, v in zip(ids, x0, strict=True)})
        rows.append(row)
    table = pd.DataFrame(rows).sort_values("objective", kind="stable").reset_index(drop=True)
    return MultistartResult(table=table, theta_ids=ids)


# ---------------------------------------------------------------------------------------------


@dataclass
class ProfileResult:
    """Profile of one parameter: θ_k on a grid, the re-optimised objective at each point and
    the confidence interval where the profile crosses ``optimum + threshold``."""

    parameter: str
    table: pd.DataFrame
    threshold: float
    ci: tuple[float, float]  # ±inf when the profile stays below the threshold up to a bound
    level: float = 0.95
    notes: list[str] = field(default_factory=list)


def profile(
    objective: Any,
    parameter: str,
    theta_hat: np.ndarray,
    *,
    level: float = 0.95,
    step: float = 0.1,
    max_points: int = 40,
    max_iter: int = 200,
) -> ProfileResult:
    """Profile likelihood of ``parameter`` around the optimum ``theta_hat``.

    Steps of ``step`` (on the parameter scale) away from the optimum in both directions,
    re-optimising all other parameters at each point (warm-started from the previous one),
    until the objective exceeds the optimum by ``chi2.ppf(level, 1) / 2`` or a bound is hit.
    A point whose re-optimisation did not converge is kept in the table with its status and
    does not define the interval.
    """
    from scipy.stats import chi2

    ids = list(objective.theta_ids)
    if parameter not in ids:
        raise FitError(f"{parameter!r} is not an estimated parameter; estimated: {ids}")
    k = ids.index(parameter)
    lb = np.asarray(objective.lower, dtype=float)
    ub = np.asarray(objective.upper, dtype=float)
    others = [j for j in range(len(ids)) if j != k]
    theta_hat = np.asarray(theta_hat, dtype=float)
    f_hat = float(objective.value_and_gradient(theta_hat)[0])
    threshold = float(chi2.ppf(level, 1) / 2)

    def fixed(value: float) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
        def fun(z: np.ndarray) -> tuple[float, np.ndarray]:
            full = theta_hat.copy()
            full[k] = value
            full[others] = z
            f, g = objective.value_and_gradient(full)
            return f, np.asarray(g)[others]

        return fun

    rows = [{"value": theta_hat[k], "objective": f_hat, "status": "optimum", "reason": ""}]
    ci = [-math.inf, math.inf]
    for direction in (-1, 1):
        z = theta_hat[others].copy()
        value = theta_hat[k]
        previous = (theta_hat[k], f_hat)
        for _ in range(max_points):
            value = value + direction * step
            if value < lb[k] or value > ub[k]:
                break
            fval, z_new, status, _, reason = _fides_minimize(
                fixed(value),
                z,
                lb[others],
                ub[others],
                max_iter=max_iter,
                max_time=600.0,
                gatol=1e-6,
            )
            rows.append({"value": value, "objective": fval, "status": status, "reason": reason})
            if status != "converged":
                continue
            z = z_new
            if fval - f_hat > threshold:
                # Linear interpolation between the last point below and this one.
                v0, f0 = previous
                frac = (f_hat + threshold - f0) / (fval - f0) if fval != f0 else 1.0
                crossing = v0 + frac * (value - v0)
                ci[0 if direction < 0 else 1] = crossing
                break
            previous = (value, fval)
    table = pd.DataFrame(rows).sort_values("value").reset_index(drop=True)
    table["delta"] = table["objective"] - f_hat
    return ProfileResult(parameter, table, threshold, (ci[0], ci[1]), level)
