"""Local and global sensitivity of model outputs and scenario endpoints.

- **Local**: normalised sensitivity coefficients ``S = d ln y / d ln p`` at the nominal point,
  of outputs and of whole time courses. For a model, from its forward sensitivities (the
  augmented system of :mod:`mdrsim.fit.sensitivities`, integrated with error control on the
  sensitivities too): ``S = (dy/dp)·p / y``. Where that system does not cover a model yet
  (events that change states) and for scenario endpoints, by central finite differences on a
  relative step ``h``: ``S ≈ (y(p(1+h)) − y(p(1−h))) / (2 h y(p))`` (error O(h²); all ``2·k +
  1`` runs one batch). The ``method`` column says which, the ``note`` column why.
- **Sobol** (SALib): first-order ``S1`` and total-order ``ST`` indices with bootstrap
  confidence intervals, from Saltelli's sampling plan (``N·(k + 2)`` runs, one batch). The
  plan is drawn for ``2N`` base samples; its first ``N·(k + 2)`` rows are an ``N``-sample plan
  of their own, so the indices at ``N`` and at ``2N`` come from one set of runs and their
  difference is the convergence check.
- **Morris** (SALib): elementary effects ``mu*`` (with a confidence interval) and ``sigma``
  over ``r`` trajectories (``r·(k + 1)`` runs, one batch), a cheap screening.

Ranges are uniform, or uniform in the logarithm (:class:`~mdrsim.analysis.factors.Range`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from mdrsim.analysis.factors import Factor, Range
from mdrsim.analysis.problems import Problem, require_ok
from mdrsim.errors import AnalysisError

__all__ = [
    "FunctionProblem",
    "GlobalResult",
    "local_sensitivity",
    "local_time_courses",
    "morris",
    "sobol",
]


@dataclass
class FunctionProblem:
    """A problem given as a vectorised function ``f(values[run, factor]) -> outputs[run,
    output]`` (for tests, and for users with their own simulators)."""

    factor_names: Sequence[str]
    output_list: Sequence[str]
    function: Callable[[np.ndarray], np.ndarray]
    nominal: Sequence[float] | None = None

    @property
    def factors(self) -> list[Factor]:
        nominal = self.nominal or [math.nan] * len(self.factor_names)
        pairs = zip(self.factor_names, nominal, strict=True)
        return [Factor(n, "parameter", float(v)) for n, v in pairs]

    @property
    def output_names(self) -> list[str]:
        return list(self.output_list)

    def evaluate(self, values: np.ndarray) -> pd.DataFrame:
        values = np.asarray(values, dtype=float)
        y = np.asarray(self.function(values), dtype=float)
        if y.ndim == 1:
            y = y[:, None]
        table = pd.DataFrame({n: values[:, j] for j, n in enumerate(self.factor_names)})
        for k, name in enumerate(self.output_list):
            table[name] = y[:, k]
        ok = np.all(np.isfinite(y), axis=1)
        table["status"] = np.where(ok, "ok", "failed")
        table["reason"] = np.where(ok, "", "the function returned a non-finite value")
        return table


#: How a local coefficient was computed (the ``method`` column).
FORWARD = "forward sensitivities"
CENTRAL = "central differences"

LocalMethod = Literal["auto", "forward", "central"]


def local_sensitivity(
    problem: Problem, *, relative_step: float = 1e-3, method: LocalMethod = "auto"
) -> pd.DataFrame:
    """Normalised local sensitivity coefficients ``d ln y / d ln p`` of every output to every
    factor, at the factors' nominal values.

    ``method="auto"``: a model problem uses its forward sensitivities
    (:meth:`ModelProblem.forward_sensitivities`); where the sensitivity system does not cover
    the model yet (events that change states …), and for scenario problems (the
    whole-patient runner's endpoints), central differences on ``relative_step``; the
    ``method`` and ``note`` columns say which was used and why. ``"forward"`` refuses rather
    than fall back; ``"central"`` forces central differences (the test oracle).

    One row per (output, factor): ``nominal`` (the factor), ``value`` (the output at the
    nominal point), ``coefficient``, ``method`` and ``note`` — a coefficient is undefined
    (and ``note`` says why) where the output is 0 at the nominal point."""
    from mdrsim.errors import UnsupportedFeatureError

    if method not in ("auto", "forward", "central"):
        raise AnalysisError(f"method: {method!r}; allowed: auto, forward, central")
    if not (0 < relative_step < 0.5):
        raise AnalysisError(f"relative_step: {relative_step!r}; allowed: 0 < step < 0.5")
    factors = problem.factors
    for f in factors:
        if not (math.isfinite(f.nominal) and f.nominal != 0):
            raise AnalysisError(
                f"factor {f.name!r}: nominal value {f.nominal!r}; a normalised coefficient "
                "d ln y / d ln p needs a finite, non-zero nominal value"
            )
    why_central = ""
    if method != "central":
        forward = getattr(problem, "forward_sensitivities", None)
        if forward is None:
            why_central = str(
                getattr(problem, "central_reason", "the problem gives no forward sensitivities")
            )
            if method == "forward":
                raise AnalysisError(f"method 'forward': {why_central} (use auto or central)")
        else:
            try:
                fwd = forward()
            except UnsupportedFeatureError as exc:
                if method == "forward":
                    raise
                why_central = f"forward sensitivities not available: {exc}"
            else:
                values, derivs = problem.output_derivatives(fwd)  # type: ignore[attr-defined]
                return _local_table(problem, values, derivs, FORWARD, "")
    return _central(problem, relative_step, why_central)


def _central(problem: Problem, relative_step: float, why: str) -> pd.DataFrame:
    factors = problem.factors
    nominal = np.array([f.nominal for f in factors], dtype=float)
    k = len(factors)
    rows = np.tile(nominal, (2 * k + 1, 1))
    for j in range(k):
        rows[1 + 2 * j, j] *= 1 + relative_step
        rows[2 + 2 * j, j] *= 1 - relative_step
    table = problem.evaluate(rows)
    require_ok(table, "local sensitivity")
    names = problem.output_names
    values = np.array([table[o].to_numpy(dtype=float)[0] for o in names])
    derivs = np.empty((k, len(names)))
    for m, o in enumerate(names):
        y = table[o].to_numpy(dtype=float)
        for j in range(k):
            derivs[j, m] = (y[1 + 2 * j] - y[2 + 2 * j]) / (2 * relative_step * nominal[j])
    return _local_table(problem, values, derivs, CENTRAL, why)


def _local_table(
    problem: Problem, values: np.ndarray, derivs: np.ndarray, method: str, why: str
) -> pd.DataFrame:
    """Rows of (output, factor): d ln y / d ln p = (dy/dp)·p / y."""
    out = []
    for m, name in enumerate(problem.output_names):
        y0 = float(values[m])
        for j, f in enumerate(problem.factors):
            notes = []
            if f.kind == "scenario":
                notes.append("scenario field: no model-parameter equivalent")
            elif why:
                notes.append(why)
            if y0 == 0:
                coef = math.nan
                notes.append("output is 0 at the nominal point: d ln y undefined")
            else:
                coef = float(derivs[j, m]) * f.nominal / y0
            out.append(
                {
                    "output": name,
                    "factor": f.name,
                    "nominal": f.nominal,
                    "unit": f.unit,
                    "value": y0,
                    "coefficient": coef,
                    "method": method,
                    "note": "; ".join(notes),
                }
            )
    return pd.DataFrame(out)


def local_time_courses(problem: Any, variables: Sequence[str] | None = None) -> pd.DataFrame:
    """Normalised sensitivity coefficients of time courses, ``d ln x(t) / d ln p``, from the
    forward sensitivities of a model problem: one row per (time, variable, factor) with the
    value, the derivative and the coefficient (NaN where the value is 0). ``variables``
    defaults to every state and output of the model."""
    forward = getattr(problem, "forward_sensitivities", None)
    if forward is None:
        raise AnalysisError(
            "time-course sensitivities come from forward sensitivities, which exist for model "
            "files only"
        )
    fwd = forward()
    names = list(variables) if variables is not None else fwd.names
    for v in names:
        if v not in fwd.names:
            raise AnalysisError(f"time courses: {v!r} is not a variable of the model")
    frames = []
    for v in names:
        k = fwd.names.index(v)
        x = fwd.values[:, k]
        for j, f in enumerate(problem.factors):
            d = fwd.derivatives[j, :, k]
            with np.errstate(divide="ignore", invalid="ignore"):
                coef = np.where(x != 0, d * f.nominal / np.where(x != 0, x, 1.0), np.nan)
            frames.append(
                pd.DataFrame(
                    {
                        "time": fwd.t,
                        "variable": v,
                        "factor": f.name,
                        "value": x,
                        "derivative": d,
                        "coefficient": coef,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


@dataclass
class GlobalResult:
    """Indices of a global analysis: ``indices`` one row per (output, factor); ``runs`` the
    table of every run (factor values and outputs); ``convergence`` (Sobol) one row per
    output with the largest change of S1 and ST between N and 2N base samples."""

    method: str
    indices: pd.DataFrame
    runs: pd.DataFrame
    ranges: list[Range]
    n_runs: int
    convergence: pd.DataFrame | None = None
    settings: dict[str, Any] = field(default_factory=dict)


def _salib_problem(ranges: Sequence[Range]) -> dict[str, Any]:
    return {
        "num_vars": len(ranges),
        "names": [r.name for r in ranges],
        "bounds": [[0.0, 1.0]] * len(ranges),
    }


def _check(problem: Problem, ranges: Sequence[Range]) -> None:
    names = [f.name for f in problem.factors]
    if [r.name for r in ranges] != names:
        raise AnalysisError(
            f"ranges {[r.name for r in ranges]} must match the problem's factors {names}"
        )
    if len(ranges) < 2:
        raise AnalysisError("a global sensitivity analysis needs at least two factors")


def _outputs_ok(table: pd.DataFrame, names: Sequence[str], what: str) -> None:
    require_ok(table, what)
    for name in names:
        y = table[name].to_numpy(dtype=float)
        if not np.all(np.isfinite(y)):
            bad = np.flatnonzero(~np.isfinite(y))[:5].tolist()
            raise AnalysisError(f"{what}: output {name!r} is missing in runs {bad}")


def sobol(
    problem: Problem,
    ranges: Sequence[Range],
    *,
    n: int = 256,
    seed: int = 0,
    conf_level: float = 0.95,
    num_resamples: int = 200,
    tolerance: float = 0.05,
) -> GlobalResult:
    """Sobol first- and total-order indices with ``n`` base samples (a power of 2; the plan
    runs ``2n·(k + 2)`` rows so that the indices at ``n`` can be compared with those at
    ``2n``). Reported indices are those at ``2n``; ``convergence`` says how far they moved
    and whether every move is within ``tolerance``."""
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    _check(problem, ranges)
    if n < 8 or n & (n - 1):
        raise AnalysisError(f"n: {n!r}; allowed: a power of 2, at least 8")
    sp = _salib_problem(ranges)
    unit = sobol_sample.sample(sp, 2 * n, calc_second_order=False, seed=seed)
    values = np.column_stack([r.from_unit(unit[:, j]) for j, r in enumerate(ranges)])
    runs = problem.evaluate(values)
    _outputs_ok(runs, problem.output_names, "Sobol analysis")
    k = len(ranges)
    rows, conv = [], []
    for name in problem.output_names:
        y = runs[name].to_numpy(dtype=float)
        if np.ptp(y) == 0:
            raise AnalysisError(
                f"Sobol analysis: output {name!r} does not vary over the ranges (always "
                f"{y[0]!r}), so its indices are undefined; drop it"
            )
        res = {}
        for size in (n, 2 * n):
            res[size] = sobol_analyze.analyze(
                sp, y[: size * (k + 2)], calc_second_order=False,
                num_resamples=num_resamples, conf_level=conf_level, seed=seed,
            )  # fmt: skip
        full, half = res[2 * n], res[n]
        d1 = np.abs(full["S1"] - half["S1"])
        dt = np.abs(full["ST"] - half["ST"])
        for j, r in enumerate(ranges):
            rows.append(
                {
                    "output": name,
                    "factor": r.name,
                    "S1": full["S1"][j],
                    "S1_conf": full["S1_conf"][j],
                    "ST": full["ST"][j],
                    "ST_conf": full["ST_conf"][j],
                    f"S1_at_{n}": half["S1"][j],
                    f"ST_at_{n}": half["ST"][j],
                }
            )
        conv.append(
            {
                "output": name,
                "max_change_S1": float(d1.max()),
                "max_change_ST": float(dt.max()),
                "converged": bool(max(d1.max(), dt.max()) <= tolerance),
            }
        )
    return GlobalResult(
        "sobol",
        pd.DataFrame(rows),
        runs,
        list(ranges),
        len(runs),
        pd.DataFrame(conv),
        {"n": n, "seed": seed, "conf_level": conf_level, "tolerance": tolerance},
    )


def morris(
    problem: Problem,
    ranges: Sequence[Range],
    *,
    trajectories: int = 20,
    levels: int = 4,
    seed: int = 0,
    conf_level: float = 0.95,
) -> GlobalResult:
    """Morris elementary effects over ``trajectories`` trajectories on a ``levels`` grid.
    Effects are of the output per unit of the factor's range (the [0, 1] scale of the plan)."""
    from SALib.analyze import morris as morris_analyze
    from SALib.sample import morris as morris_sample

    _check(problem, ranges)
    if trajectories < 2:
        raise AnalysisError(f"trajectories: {trajectories!r}; allowed: >= 2")
    if levels < 2 or levels % 2:
        raise AnalysisError(f"levels: {levels!r}; allowed: an even number >= 2")
    sp = _salib_problem(ranges)
    unit = morris_sample.sample(sp, trajectories, num_levels=levels, seed=seed)
    values = np.column_stack([r.from_unit(unit[:, j]) for j, r in enumerate(ranges)])
    runs = problem.evaluate(values)
    _outputs_ok(runs, problem.output_names, "Morris analysis")
    rows = []
    for name in problem.output_names:
        y = runs[name].to_numpy(dtype=float)
        res = morris_analyze.analyze(
            sp, unit, y, num_levels=levels, conf_level=conf_level, seed=seed
        )
        for j, r in enumerate(ranges):
            rows.append(
                {
                    "output": name,
                    "factor": r.name,
                    "mu": res["mu"][j],
                    "mu_star": res["mu_star"][j],
                    "mu_star_conf": res["mu_star_conf"][j],
                    "sigma": res["sigma"][j],
                }
            )
    return GlobalResult(
        "morris",
        pd.DataFrame(rows),
        runs,
        list(ranges),
        len(runs),
        None,
        {"trajectories": trajectories, "levels": levels, "seed": seed},
    )
