"""A virtual population fitted to a published trial arm.

The free quantities are fields of the trial's population laws (for example the median of a
log-normal tumour growth rate); the targets are what a paper publishes for the arm: points of a
Kaplan–Meier curve (a median is the point where survival is 0.5; "1-year OS 51 %" is another),
read off a table or digitised from a figure, and event rates (ORR, febrile neutropenia, early
deaths) as events out of patients. Each evaluation simulates the same virtual patients (common
random numbers: the population's draws are fixed by the trial seed and the patient index, so
only the law's parameter moves them), so the objective changes only with the parameters.

Objective: a sum of squared standardised differences (a chi-square),

    sum_k ((S_sim(t_k) - S_pub(t_k)) / se_k)^2 + sum_r ((p_sim,r - p_pub,r) / se_r)^2,

with binomial standard errors at the published arm size n: se = sqrt(S (1 - S) / n) (the
Greenwood variance of a KM point without censoring, a lower bound with censoring), so a
difference of one standard error of the trial costs 1 whatever the endpoint.

Search: simulated PFS and OS land on scan days, so the objective is piecewise constant in the
parameters and has no useful gradient. A space-filling design over the box (a Latin hypercube from
scipy.stats.qmc, on the log scale for ``scale: log``) is evaluated first and Nelder–Mead (scipy)
refines from its best point. An evaluation in which any patient fails is infeasible (reported,
never fitted).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mdrsim.trial.endpoints import STATUS_OK, Endpoint
from mdrsim.trial.errors import PopulationError, TrialSpecError
from mdrsim.trial.spec import (
    TrialSpec,
    format_validation_error,
    load_document,
    load_trial,
    parse_document,
)

SCHEMA_VERSION = 1
#: Days per month (the mean Gregorian month), for targets published in months.
DAYS_PER_MONTH = 365.25 / 12
#: Patients per evaluation: enough for a stable KM, few enough for a search of ~100 runs.
MAX_PATIENTS = 20_000
MAX_EVALUATIONS = 2_000

SurvivalEndpoint = Literal["pfs", "os"]
RateEndpoint = Literal["orr", "febrile_neutropenia", "early_death", "grade4_neutropenia"]
_SURVIVAL_COLUMNS: dict[str, tuple[Endpoint, Endpoint]] = {
    "pfs": (Endpoint.PFS_DAYS, Endpoint.PFS_EVENT),
    "os": (Endpoint.OS_DAYS, Endpoint.OS_EVENT),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class FreeParameter(_Strict):
    """One field of a population law, searched between ``lower`` and ``upper``."""

    path: str = Field(min_length=1)
    lower: float
    upper: float
    scale: Literal["log", "linear"] = "log"

    @model_validator(mode="after")
    def _box(self) -> FreeParameter:
        if not self.lower < self.upper:
            raise ValueError(f"lower ({self.lower:g}) must be < upper ({self.upper:g})")
        if self.scale == "log" and self.lower <= 0:
            raise ValueError(f"scale log needs lower > 0, got {self.lower:g}")
        parts = self.path.split(".")
        if (
            len(parts) != 4
            or parts[0] != "population"
            or parts[1]
            not in (
                "parameters",
                "covariates",
            )
        ):
            raise ValueError(
                f"path {self.path!r}: a free quantity is a field of a population law, "
                "population.parameters.NAME.FIELD or population.covariates.NAME.FIELD "
                "(e.g. population.parameters.tum_r.median)"
            )
        return self


class SurvivalTarget(_Strict):
    """Published points (time, survival) of one arm's Kaplan–Meier curve."""

    endpoint: SurvivalEndpoint
    time_unit: Literal["days", "months"] = "months"
    points: list[tuple[float, float]] = Field(min_length=1)
    n: int = Field(ge=2, le=1_000_000, strict=True)  # patients in the published arm
    source: str = Field(min_length=5)

    @model_validator(mode="after")
    def _points(self) -> SurvivalTarget:
        for i, (t, s) in enumerate(self.points):
            if not t > 0:
                raise ValueError(f"points[{i}]: time {t:g} must be > 0")
            if not 0 < s < 1:
                raise ValueError(f"points[{i}]: survival {s:g} must be strictly between 0 and 1")
        return self

    def days(self, t: float) -> float:
        return t * DAYS_PER_MONTH if self.time_unit == "months" else t


class RateTarget(_Strict):
    """A published rate: ``events`` of ``n`` patients."""

    endpoint: RateEndpoint
    events: int = Field(ge=0, strict=True)
    n: int = Field(ge=1, le=1_000_000, strict=True)
    source: str = Field(min_length=5)

    @model_validator(mode="after")
    def _count(self) -> RateTarget:
        if self.events > self.n:
            raise ValueError(f"events ({self.events}) cannot exceed n ({self.n})")
        return self


class CalibrationSpec(_Strict):
    """A calibration file: the trial, the arm, the free quantities and the published targets.

    ``survival``/``rates`` are fitted; ``check_survival``/``check_rates`` are only reported
    beside the fit (predictions, not calibrations).
    """

    schema_version: Literal[1] = 1
    trial: str = Field(min_length=1)
    arm: str = Field(min_length=1)
    patients: int = Field(default=500, ge=20, le=MAX_PATIENTS, strict=True)
    free: list[FreeParameter] = Field(min_length=1, max_length=6)
    survival: list[SurvivalTarget] = Field(default_factory=list)
    rates: list[RateTarget] = Field(default_factory=list)
    check_survival: list[SurvivalTarget] = Field(default_factory=list)
    check_rates: list[RateTarget] = Field(default_factory=list)
    design_points: int = Field(default=16, ge=1, le=1024, strict=True)
    max_evaluations: int = Field(default=60, ge=1, le=MAX_EVALUATIONS, strict=True)

    @model_validator(mode="after")
    def _targets(self) -> CalibrationSpec:
        if not self.survival and not self.rates:
            raise ValueError("give at least one fitted target under survival or rates")
        paths = [f.path for f in self.free]
        if len(set(paths)) != len(paths):
            raise ValueError(f"free: a path is listed twice: {paths}")
        return self


def parse_calibration(data: Mapping[str, Any]) -> CalibrationSpec:
    """Validate a calibration document (already parsed from YAML)."""
    return parse_document(data, CalibrationSpec, "calibration file")


def load_calibration(path: str | Path) -> tuple[CalibrationSpec, Path]:
    """Read a calibration YAML file (safe loader); returns it and its directory."""
    return load_document(path, CalibrationSpec, "calibration file")


# -- the trial with free values set ------------------------------------------------------------


def _set_path(doc: dict[str, Any], path: str, value: float) -> None:
    parts = path.split(".")
    node: Any = doc
    for depth, key in enumerate(parts[:-1]):
        if not isinstance(node, dict) or key not in node:
            where = ".".join(parts[: depth + 1])
            raise TrialSpecError(f"free path {path!r}: the trial has no {where!r}")
        node = node[key]
    if not isinstance(node, dict) or parts[-1] not in node or node[parts[-1]] is None:
        raise TrialSpecError(
            f"free path {path!r}: the law {'.'.join(parts[:-1])!r} has no field "
            f"{parts[-1]!r}; its fields: {', '.join(k for k, v in node.items() if v is not None)}"
        )
    if not isinstance(node[parts[-1]], int | float) or isinstance(node[parts[-1]], bool):
        raise TrialSpecError(f"free path {path!r}: {node[parts[-1]]!r} is not a number")
    node[parts[-1]] = float(value)


def trial_with(spec: TrialSpec, free: list[FreeParameter], values: np.ndarray) -> TrialSpec:
    """The trial spec with each free path set to its value (validated again)."""
    doc = spec.model_dump(mode="python", exclude_none=False)
    for f, v in zip(free, values, strict=True):
        _set_path(doc, f.path, float(v))
    try:
        return TrialSpec.model_validate(doc)
    except ValidationError as exc:
        raise TrialSpecError(format_validation_error(exc, "fitted trial: ")) from None


# -- comparing an arm's endpoints with the targets ----------------------------------------------


def km_at(durations: np.ndarray, events: np.ndarray, t: float) -> float:
    """Kaplan–Meier survival just after time ``t`` (product over event times ≤ t)."""
    order = np.argsort(durations, kind="stable")
    d, e = durations[order], events[order].astype(bool)
    times = np.unique(d[e & (d <= t)])
    s = 1.0
    for u in times:
        at_risk = np.count_nonzero(d >= u)
        deaths = np.count_nonzero((d == u) & e)
        s *= 1.0 - deaths / at_risk
    return float(s)


def _column(endpoints: pd.DataFrame, column: str) -> pd.Series:
    """An endpoint column with a value for every patient; a simulator that does not report it
    (NA) cannot be fitted to it — refused rather than counted as 0."""
    values = endpoints[column]
    if values.isna().any():
        raise TrialSpecError(
            f"the arm's simulator gives no '{column!s}' for {int(values.isna().sum())} of "
            f"{len(values)} patients; a target on it cannot be compared (remove the target or "
            "use a simulator that reports it)"
        )
    return values


def _rate(endpoints: pd.DataFrame, endpoint: str) -> float:
    if endpoint == "orr":
        return float(_column(endpoints, Endpoint.BEST_RESPONSE).isin(["CR", "PR"]).mean())
    return float(_column(endpoints, endpoint).astype(bool).mean())


@dataclass(frozen=True)
class TargetRow:
    """One published number beside its simulated value."""

    kind: Literal["fitted", "check"]
    endpoint: str
    what: str  # e.g. "S(4.6 months)" or "rate"
    published: float
    simulated: float
    standard_error: float
    source: str

    @property
    def z(self) -> float:
        return (self.simulated - self.published) / self.standard_error

    @property
    def inside_95(self) -> bool:
        return abs(self.z) <= 1.959964


def compare(endpoints: pd.DataFrame, spec: CalibrationSpec) -> list[TargetRow]:
    """Every target and check beside the simulated arm (``endpoints`` of ok patients)."""
    rows: list[TargetRow] = []
    groups: list[tuple[Literal["fitted", "check"], list[SurvivalTarget], list[RateTarget]]] = [
        ("fitted", spec.survival, spec.rates),
        ("check", spec.check_survival, spec.check_rates),
    ]
    for kind, survival, rates in groups:
        for st in survival:
            d_col, e_col = _SURVIVAL_COLUMNS[st.endpoint]
            d = _column(endpoints, d_col).to_numpy(float)
            e = _column(endpoints, e_col).to_numpy(bool)
            for t, s_pub in st.points:
                s_sim = km_at(d, e, st.days(t))
                se = math.sqrt(s_pub * (1.0 - s_pub) / st.n)
                rows.append(
                    TargetRow(
                        kind, st.endpoint, f"S({t:g} {st.time_unit})", s_pub, s_sim, se, st.source
                    )
                )
        for rt in rates:
            # An observed 0 (or n) of n still has an uncertainty: the binomial se at half an event.
            p_pub = rt.events / rt.n
            p_se = min(max(p_pub, 0.5 / rt.n), 1.0 - 0.5 / rt.n)
            se = math.sqrt(p_se * (1.0 - p_se) / rt.n)
            rows.append(
                TargetRow(
                    kind, rt.endpoint, "rate", p_pub, _rate(endpoints, rt.endpoint), se, rt.source
                )
            )
    return rows


def objective(rows: list[TargetRow]) -> float:
    return float(sum(r.z**2 for r in rows if r.kind == "fitted"))


# -- the search ---------------------------------------------------------------------------------

ArmSimulator = Callable[[TrialSpec], pd.DataFrame]


@dataclass
class PopulationFit:
    """The result: best values, the targets side by side, every evaluation."""

    spec: CalibrationSpec
    free_values: dict[str, float]
    objective: float
    targets: list[TargetRow]
    evaluations: pd.DataFrame
    fitted_trial: TrialSpec
    n_infeasible: int
    converged: bool
    message: str
    best_endpoints: pd.DataFrame = field(repr=False)

    def targets_table(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "kind": [r.kind for r in self.targets],
                "endpoint": [r.endpoint for r in self.targets],
                "what": [r.what for r in self.targets],
                "published": [r.published for r in self.targets],
                "simulated": [r.simulated for r in self.targets],
                "standard_error": [r.standard_error for r in self.targets],
                "z": [r.z for r in self.targets],
                "inside_95": [r.inside_95 for r in self.targets],
                "source": [r.source for r in self.targets],
            }
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "free": self.free_values,
            "objective_chi2": self.objective,
            "converged": self.converged,
            "message": self.message,
            "evaluations": len(self.evaluations),
            "infeasible_evaluations": self.n_infeasible,
            "patients": self.spec.patients,
            "arm": self.spec.arm,
            "targets": self.targets_table().to_dict(orient="records"),
        }


def _to_unit(free: list[FreeParameter], x: np.ndarray) -> np.ndarray:
    out = np.empty(len(free))
    for i, f in enumerate(free):
        lo, hi, v = (
            (math.log(f.lower), math.log(f.upper), math.log(x[i]))
            if f.scale == "log"
            else (f.lower, f.upper, x[i])
        )
        out[i] = (v - lo) / (hi - lo)
    return out


def _from_unit(free: list[FreeParameter], u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    out = np.empty(len(free))
    for i, f in enumerate(free):
        if f.scale == "log":
            out[i] = math.exp(math.log(f.lower) + u[i] * (math.log(f.upper) - math.log(f.lower)))
        else:
            out[i] = f.lower + u[i] * (f.upper - f.lower)
    return out


def fit_population(
    spec: CalibrationSpec,
    trial: TrialSpec,
    simulate_arm: ArmSimulator,
    *,
    progress: Callable[[int, float], None] | None = None,
) -> PopulationFit:
    """Fit ``spec.free`` so the simulated arm matches the targets; see the module docstring.

    ``simulate_arm(trial)`` returns the endpoints of ``spec.patients`` patients of the arm
    (all of them, failed ones included, with a ``status`` column).
    """
    from scipy.optimize import minimize
    from scipy.stats import qmc

    free = spec.free
    if spec.arm not in [a.name for a in trial.arms]:
        raise TrialSpecError(
            f"arm: {spec.arm!r} is not an arm of trial {trial.name!r}; "
            f"its arms: {', '.join(a.name for a in trial.arms)}"
        )
    for f in free:  # every path must exist before anything runs
        _set_path(trial.model_dump(mode="python"), f.path, (f.lower + f.upper) / 2)

    records: list[dict[str, Any]] = []
    cache: dict[tuple[float, ...], tuple[float, list[TargetRow], pd.DataFrame | None]] = {}

    def evaluate(u: np.ndarray) -> float:
        x = _from_unit(free, u)
        key = tuple(float(v) for v in x)  # exact: the fitted trial must equal the best run
        if key in cache:
            return cache[key][0]
        try:
            ep = simulate_arm(trial_with(trial, free, x))
        except PopulationError:
            # The laws at this point cannot be sampled (bounds reject every draw, overflow):
            # an infeasible point of the search, not the end of the fit.
            ep = None
        failed = spec.patients if ep is None else int((ep[Endpoint.STATUS] != STATUS_OK).sum())
        if ep is None or failed:
            value, rows, ok_ep = math.inf, [], None
        else:
            rows = compare(ep, spec)
            value, ok_ep = objective(rows), ep
        cache[key] = (value, rows, ok_ep)
        records.append(
            {
                **{f.path: float(v) for f, v in zip(free, x, strict=True)},
                "objective_chi2": value,
                "failed_patients": failed,
            }
        )
        if progress is not None:
            progress(len(records), value)
        return value

    n_design = min(spec.design_points, spec.max_evaluations)
    design = qmc.LatinHypercube(d=len(free), seed=trial.seed).random(n_design)
    values = [evaluate(u) for u in design]
    best = int(np.argmin(values))
    if not math.isfinite(values[best]):
        raise TrialSpecError(
            f"every one of the {n_design} design points had failed patients; narrow the free "
            "bounds (see the failure reasons by running the trial at those values)"
        )
    remaining = spec.max_evaluations - len(records)
    converged, message = False, "design only (no evaluations left for Nelder-Mead)"
    if remaining > 0:
        step = 0.5 / max(1.0, n_design ** (1.0 / len(free)))  # about the design's spacing
        start = design[best]
        # One vertex per axis, stepping inwards where the start sits near the box's edge (a
        # clipped step would give a flat simplex that never explores that axis).
        vertices = [start]
        for i in range(len(free)):
            v = start.copy()
            v[i] = start[i] + step if start[i] + step <= 1.0 else start[i] - step
            vertices.append(v)
        simplex = np.vstack(vertices)
        res = minimize(
            evaluate,
            start,
            method="Nelder-Mead",
            bounds=[(0.0, 1.0)] * len(free),
            options={
                "maxfev": remaining,
                "initial_simplex": simplex,
                "xatol": 1e-3,
                "fatol": 1e-3,
            },
        )
        converged, message = bool(res.success), str(res.message)
    best_key = min(cache, key=lambda k: cache[k][0])
    best_value, _, best_ep = cache[best_key]
    assert best_ep is not None  # a finite objective has endpoints
    best_x = np.asarray(best_key, dtype=float)
    return PopulationFit(
        spec=spec,
        free_values={f.path: float(v) for f, v in zip(free, best_x, strict=True)},
        objective=best_value,
        targets=compare(best_ep, spec),
        evaluations=pd.DataFrame(records),
        fitted_trial=trial_with(trial, free, best_x),
        n_infeasible=sum(1 for r in records if not math.isfinite(r["objective_chi2"])),
        converged=converged,
        message=message,
        best_endpoints=best_ep,
    )


def engine_arm_simulator(arm: str, patients: int, base_dir: Path) -> ArmSimulator:
    """Simulate ``patients`` patients of ``arm`` with the trial's own simulator (one batch).

    The simulator (and so the compiled patient model) is built once; each call builds only the
    population from the changed laws, so the same seeds give the same patients.
    """
    from mdrsim.trial.population import BOOKKEEPING_COLUMNS, Population
    from mdrsim.trial.runner import TrialPlan, simulate_arm

    plans: dict[str, TrialPlan] = {}

    def simulate(trial: TrialSpec) -> pd.DataFrame:
        if "plan" not in plans:
            plans["plan"] = TrialPlan.from_spec(trial, base_dir)
        plan = plans["plan"]
        population = Population(trial.population, trial.seed, plan.population.physical)
        sampled = population.sample(np.arange(patients, dtype=np.int64))
        inputs = sampled.drop(columns=list(BOOKKEEPING_COLUMNS))
        # The trial runner's own path: rows checked, impossible "ok" patients marked failed.
        endpoints, _ = simulate_arm(plan.simulator, arm, sampled, inputs, "population fit")
        return endpoints

    return simulate


def run_calibration(
    path: str | Path,
    *,
    patients: int | None = None,
    max_evaluations: int | None = None,
    progress: Callable[[int, float], None] | None = None,
) -> PopulationFit:
    """Load a calibration file, its trial, and fit (the CLI's and a notebook's entry point)."""
    spec, base = load_calibration(path)
    changes: dict[str, int] = {}
    if patients is not None:
        changes["patients"] = patients
    if max_evaluations is not None:
        changes["max_evaluations"] = max_evaluations
    if changes:
        spec = parse_calibration({**spec.model_dump(mode="python"), **changes})
    trial, trial_dir = load_trial(base / spec.trial)
    return fit_population(
        spec, trial, engine_arm_simulator(spec.arm, spec.patients, trial_dir), progress=progress
    )
