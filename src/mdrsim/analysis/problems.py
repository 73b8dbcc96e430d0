"""Problems an analysis evaluates: a model (outputs read from its time courses) or a scenario
(endpoints of the whole-patient runner). Both take a matrix of factor values, one row per run,
and return one row of outputs per run, running the rows as engine batches:

- :class:`ModelProblem`: every row in one :func:`mdrsim.engine.simulate` call;
- :class:`ScenarioProblem`: rows that differ only in model parameters or patient fields (same
  compiled model, same treatment lines) run as one :func:`mdrsim.patient.runner.run_patients`
  batch; rows whose regimens differ run as one batch per distinct regimen.

A failed run keeps its row: ``status`` is ``"failed"`` and ``reason`` says why; its outputs
are missing (NaN) *and* flagged. Analyses that cannot use a missing value refuse
(:func:`require_ok`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from mdrsim.analysis.factors import (
    Factor,
    apply_scenario_values,
    check_names,
    is_scenario_path,
    scenario_factor,
)
from mdrsim.errors import AnalysisError, did_you_mean

if TYPE_CHECKING:
    from mdrsim.data.library import Library
    from mdrsim.engine import CompiledModel, SolverOptions
    from mdrsim.patient.model import PatientModel
    from mdrsim.patient.scenario import Scenario

__all__ = [
    "SCENARIO_OUTPUT_ALIASES",
    "ContrastProblem",
    "ForwardSensitivities",
    "ModelOutput",
    "ModelProblem",
    "Problem",
    "ScenarioProblem",
    "parse_model_output",
    "require_ok",
]

STATUS, REASON = "status", "reason"


class Problem(Protocol):
    """What scans, sensitivities and frontiers evaluate."""

    @property
    def factors(self) -> list[Factor]: ...

    @property
    def output_names(self) -> list[str]: ...

    def evaluate(self, values: np.ndarray) -> pd.DataFrame:
        """``values[run, factor]`` → one row per run: the factor columns, the outputs,
        ``status`` and ``reason``."""
        ...


def require_ok(table: pd.DataFrame, what: str) -> None:
    """Refuse to analyse a table with failed runs (the indices would be wrong), naming them."""
    failed = table[table[STATUS] != "ok"]
    if len(failed):
        shown = "; ".join(f"run {int(i)}: {r[REASON]}" for i, r in failed.head(5).iterrows())
        more = f" (and {len(failed) - 5} more)" if len(failed) > 5 else ""
        raise AnalysisError(
            f"{what}: {len(failed)} of {len(table)} runs failed, so the analysis would be "
            f"wrong — {shown}{more}; narrow the ranges or loosen the solver"
        )


# --- model outputs ---

_AGG = re.compile(r"^\s*(max|min|auc|final)\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$")
_AT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*@\s*([-+0-9.eE]+)\s*$")


@dataclass(frozen=True)
class ModelOutput:
    """A number read from one run of a model: ``X@T`` (value at time T), ``max(X)``,
    ``min(X)``, ``final(X)`` (at the end time) or ``auc(X)`` (trapezoid over the time grid,
    from 0 to the end time)."""

    text: str
    variable: str
    kind: str  # "at", "max", "min", "auc", "final"
    time: float = math.nan


def parse_model_output(text: str) -> ModelOutput:
    m = _AGG.match(text)
    if m:
        return ModelOutput(text.strip(), m.group(2), m.group(1))
    m = _AT.match(text)
    if m:
        try:
            t = float(m.group(2))
        except ValueError:
            t = math.nan
        if not (math.isfinite(t) and t >= 0):
            raise AnalysisError(f"--output {text!r}: the time must be a number >= 0")
        return ModelOutput(text.strip(), m.group(1), "at", t)
    raise AnalysisError(
        f"--output {text!r}: expected VARIABLE@TIME, max(VARIABLE), min(VARIABLE), "
        "final(VARIABLE) or auc(VARIABLE)"
    )


@dataclass
class ModelProblem:
    """A model file's outputs as functions of some of its parameters and initial values.

    ``until`` is the end time; ``points`` intervals make the grid on which ``max``, ``min``
    and ``auc`` are read (the model's timed events and every ``X@T`` time are added to it)."""

    compiled: CompiledModel
    factor_names: Sequence[str]
    outputs: Sequence[str]
    until: float
    points: int = 1000
    options: SolverOptions | None = None
    workers: int | None = None
    fixed: Mapping[str, float | str] = field(default_factory=dict)
    _factors: list[Factor] = field(init=False)
    _outputs: list[ModelOutput] = field(init=False)
    _fixed: dict[str, float] = field(init=False)

    def __post_init__(self) -> None:
        cm = self.compiled
        check_names(list(self.factor_names), "factors")
        if not (math.isfinite(self.until) and self.until > 0):
            raise AnalysisError(f"until: {self.until!r}; allowed: a positive number")
        if self.points < 1:
            raise AnalysisError(f"points: {self.points!r}; allowed: >= 1")
        model = cm.model
        self._fixed = resolve_fixed(
            self.fixed, [*cm.parameter_names, *cm.state_names], model.unit_of, model.name
        )
        for name in self._fixed:
            if name in cm.initial_assignment_targets():
                raise AnalysisError(
                    f"--param {name!r} is set by an initial assignment of the model; change "
                    "the quantities it is computed from instead"
                )
        factors = []
        for name in self.factor_names:
            if name in cm.parameter_names:
                kind = "parameter"
            elif name in cm.state_names:
                kind = "initial"
            else:
                raise AnalysisError(
                    f"factor {name!r} is not a parameter or species of model {model.name!r}"
                    + did_you_mean(name, [*cm.parameter_names, *cm.state_names])
                )
            if name in cm.initial_assignment_targets():
                raise AnalysisError(
                    f"factor {name!r} is set by an initial assignment of the model; vary the "
                    "quantities it is computed from instead"
                )
            unit = _unit_of(model, name)
            nominal = self._fixed.get(name, float(model.value_of(name)))
            factors.append(Factor(name, kind, nominal, unit))  # type: ignore[arg-type]
        self._factors = factors
        if not self.outputs:
            raise AnalysisError("give at least one output")
        parsed = [parse_model_output(o) for o in self.outputs]
        variables = [*cm.state_names, *cm.output_names]
        for o in parsed:
            if o.variable not in variables:
                raise AnalysisError(
                    f"--output {o.text!r}: {o.variable!r} is not a variable of the model"
                    + did_you_mean(o.variable, variables)
                )
            if o.kind == "at" and o.time > self.until:
                raise AnalysisError(
                    f"--output {o.text!r}: time {o.time:g} is after the end time {self.until:g}"
                )
        self._outputs = parsed

    @property
    def factors(self) -> list[Factor]:
        return self._factors

    @property
    def output_names(self) -> list[str]:
        return [o.text for o in self._outputs]

    def time_grid(self) -> np.ndarray:
        grid = np.linspace(0.0, self.until, self.points + 1)
        events = self.compiled.timed_event_times()
        extra = [o.time for o in self._outputs if o.kind == "at"]
        return np.union1d(np.union1d(grid, events[(events >= 0) & (events < self.until)]), extra)

    def evaluate(self, values: np.ndarray) -> pd.DataFrame:
        from mdrsim.engine import simulate

        values = _as_matrix(values, len(self._factors))
        n = values.shape[0]
        fs = self._factors
        states = set(self.compiled.state_names)
        params = {k: np.full(n, v) for k, v in self._fixed.items() if k not in states}
        initial = {k: np.full(n, v) for k, v in self._fixed.items() if k in states}
        params.update({f.name: values[:, j] for j, f in enumerate(fs) if f.kind == "parameter"})
        initial.update({f.name: values[:, j] for j, f in enumerate(fs) if f.kind == "initial"})
        t = self.time_grid()
        result = simulate(
            self.compiled,
            t,
            params=params,
            initial=initial,
            n_patients=n,
            options=self.options,
            workers=self.workers,
        )
        data = np.concatenate([result.states, result.outputs], axis=2)  # (n, t, vars)
        names = result.variable_names
        table = pd.DataFrame({f.name: values[:, j] for j, f in enumerate(self._factors)})
        for o in self._outputs:
            series = data[:, :, names.index(o.variable)]
            table[o.text] = _reduce(o, t, series)
        failures = result.failures()
        table[STATUS] = ["failed" if i in failures else "ok" for i in range(n)]
        table[REASON] = [failures.get(i, "") for i in range(n)]
        table.loc[table[STATUS] != "ok", self.output_names] = np.nan
        return table

    # -- forward sensitivities -------------------------------------------------------------

    def forward_sensitivities(self) -> ForwardSensitivities:
        """d(time course)/d(factor) at the nominal point for every factor, by integrating the
        forward-sensitivity system of :mod:`mdrsim.fit.sensitivities` (one augmented model,
        one batch: one patient per factor). Outputs (assignment rules, observables) chain the
        state sensitivities: dg/dθ = ∂g/∂y · s + ∂g/∂θ.

        Raises :class:`~mdrsim.errors.UnsupportedFeatureError` (from the sensitivity system)
        for models it does not cover yet — events that change states, switches that depend on
        a factor — and :class:`~mdrsim.errors.SimulationError` when the run fails."""
        import sympy

        from mdrsim.engine import compile_model, simulate
        from mdrsim.engine.codegen import flatten
        from mdrsim.errors import SimulationError
        from mdrsim.fit.sensitivities import sensitivity_model

        cm = self.compiled
        model = cm.model
        fs = self._factors
        directions = [f.name for f in fs if f.kind == "parameter"]
        sm = sensitivity_model(model, directions)
        aug = compile_model(sm.model)
        n = len(fs)
        states = set(cm.state_names)
        params: dict[str, np.ndarray] = {
            k: np.full(n, v) for k, v in self._fixed.items() if k not in states
        }
        initial: dict[str, np.ndarray] = {
            k: np.full(n, v) for k, v in self._fixed.items() if k in states
        }
        for f in fs:
            target = params if f.kind == "parameter" else initial
            target[f.name] = np.full(n, f.nominal)
        s_of = dict(zip(sm.state_names, sm.sensitivity_names, strict=True))
        d_of = dict(zip(sm.directions, sm.direction_names, strict=True))
        for j, f in enumerate(fs):
            if f.kind == "parameter":
                v = np.zeros(n)
                v[j] = 1.0
                params[d_of[f.name]] = v
            else:  # d y / d y0: the sensitivity of that state starts at 1
                e = np.zeros(n)
                e[j] = 1.0
                initial[s_of[f.name]] = e
        t = self.time_grid()
        result = simulate(
            aug, t, params=params, initial=initial, n_patients=n, options=self.options,
            workers=self.workers,
        )  # fmt: skip
        failures = result.failures()
        if failures:
            raise SimulationError(
                {
                    i: f"forward sensitivities along {fs[i].name!r}: {why}"
                    for i, why in failures.items()
                }
            )
        names = result.variable_names
        Y = result.states[:, :, [names.index(x) for x in sm.state_names]]  # (n, t, y)
        S = result.states[:, :, [names.index(x) for x in sm.sensitivity_names]]
        values = [Y[0]]
        derivs = [S]
        # Outputs: g(t, y, p) and its partial derivatives, evaluated on the trajectory.
        flat = flatten(model)
        if flat.output_names:
            pvals = {p: np.asarray(model.value_of(p), dtype=float) for p in flat.parameter_names}
            pvals.update({k: np.asarray(v) for k, v in self._fixed.items() if k not in states})
            for f in fs:
                if f.kind == "parameter":
                    pvals[f.name] = np.asarray(f.nominal)
            ysyms = [sympy.Symbol(x) for x in flat.state_names]
            args = [sympy.Symbol("time"), *ysyms, *[sympy.Symbol(p) for p in flat.parameter_names]]
            env = [t, *[Y[0, :, i] for i in range(len(ysyms))]]
            env += [np.broadcast_to(pvals[p], t.shape) for p in flat.parameter_names]
            out_vals = np.empty((t.size, len(flat.output_names)))
            out_der = np.zeros((n, t.size, len(flat.output_names)))
            for k, g in enumerate(flat.outputs):
                out_vals[:, k] = _evaluate(g, args, env, t.size)
                for i, ysym in enumerate(ysyms):
                    if ysym in g.free_symbols:
                        dg = _evaluate(sympy.diff(g, ysym), args, env, t.size)
                        out_der[:, :, k] += dg[None, :] * S[:, :, i]
                for j, f in enumerate(fs):
                    q = sympy.Symbol(f.name)
                    if f.kind == "parameter" and q in g.free_symbols:
                        out_der[j, :, k] += _evaluate(sympy.diff(g, q), args, env, t.size)
            values.append(out_vals)
            derivs.append(out_der)
        return ForwardSensitivities(
            t,
            [*sm.state_names, *flat.output_names],
            np.concatenate(values, axis=1),
            np.concatenate(derivs, axis=2),
        )

    def output_derivatives(self, fwd: ForwardSensitivities) -> tuple[np.ndarray, np.ndarray]:
        """Each output (``X@T``, ``max(X)`` …) at the nominal point and its derivative with
        respect to each factor: ``(values[output], derivatives[factor, output])``. ``max`` and
        ``min`` differentiate the value at the grid point where the extreme is (the extreme
        read on the grid, as :meth:`evaluate` reads it); ``auc`` the trapezoid of the
        derivative."""
        values = np.empty(len(self._outputs))
        derivs = np.empty((len(self._factors), len(self._outputs)))
        for k, o in enumerate(self._outputs):
            v = fwd.names.index(o.variable)
            series = fwd.values[None, :, v]
            values[k] = _reduce(o, fwd.t, series)[0]
            d = fwd.derivatives[:, :, v]
            if o.kind in ("max", "min"):
                i = int(np.argmax(series[0]) if o.kind == "max" else np.argmin(series[0]))
                derivs[:, k] = d[:, i]
            elif o.kind == "auc":
                derivs[:, k] = np.trapezoid(d, fwd.t, axis=1)
            else:
                derivs[:, k] = _reduce(o, fwd.t, d)
        return values, derivs


@dataclass(frozen=True)
class ForwardSensitivities:
    """Time courses at the nominal point and their derivatives with respect to each factor,
    from the forward-sensitivity system (:func:`mdrsim.fit.sensitivity_model`).

    ``values[t, v]`` for variables ``names`` (states, then the model's outputs) on times
    ``t``; ``derivatives[f, t, v]`` = d values[t, v] / d factor f."""

    t: np.ndarray
    names: list[str]
    values: np.ndarray
    derivatives: np.ndarray


def resolve_fixed(
    fixed: Mapping[str, float | str],
    known: Sequence[str],
    unit_of: Callable[[str], str],
    where: str,
) -> dict[str, float]:
    """Fixed values (``--param``) in the model's units (:func:`mdrsim.data.units.resolve_values`:
    a number in the model's unit, or text such as ``"40 L/h"`` converted to it with pint)."""
    from mdrsim.data.units import resolve_values
    from mdrsim.errors import UnknownNameError

    try:
        return resolve_values(fixed, known, unit_of)
    except UnknownNameError as exc:
        raise AnalysisError(
            f"--param {exc.name!r} is not a parameter of {where}" + did_you_mean(exc.name, known)
        ) from None


def _model_signature(scenario: Scenario) -> str:
    """What :func:`mdrsim.patient.model.build_patient_model` reads from a scenario: scenarios
    with equal signatures build the same model. (The scenario-scan test compares against
    patients built one by one, so a model that starts reading more fails it.)"""
    pathogens = sorted({inf.pathogen for inf in scenario.infections})
    return repr((scenario.patient.model_dump_json(), scenario.drugs, scenario.inhibitor, pathogens))


def _evaluate(expr: Any, args: list[Any], env: list[np.ndarray], size: int) -> np.ndarray:
    """A sympy expression of (time, states, parameters) evaluated on the time grid."""
    import sympy

    fn = sympy.lambdify(args, expr, modules="numpy")
    return np.broadcast_to(np.asarray(fn(*env), dtype=float), (size,)).copy()


def _unit_of(model: Any, name: str) -> str:
    for table in ("parameters", "species"):
        items = getattr(model, table, None)
        try:
            item = items[name]  # type: ignore[index]
        except (KeyError, TypeError, IndexError):
            continue
        return str(getattr(item, "unit", ""))
    return ""


def _reduce(o: ModelOutput, t: np.ndarray, series: np.ndarray) -> np.ndarray:
    if o.kind == "at":
        return series[:, int(np.flatnonzero(t == o.time)[0])]
    if o.kind == "final":
        return series[:, -1]
    if o.kind == "max":
        return series.max(axis=1)
    if o.kind == "min":
        return series.min(axis=1)
    return np.trapezoid(series, t, axis=1)


def _as_matrix(values: np.ndarray, n_factors: int) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if values.ndim == 1 and n_factors == 1:
        values = values[:, None]
    if values.ndim != 2 or values.shape[1] != n_factors:
        raise AnalysisError(
            f"values must be a matrix with one column per factor ({n_factors}), "
            f"got shape {values.shape}"
        )
    if not np.all(np.isfinite(values)):
        raise AnalysisError("factor values must be finite numbers")
    return values


# --- scenario endpoints ---

#: Short names a user may give for scenario endpoints (any numeric endpoint column works too).
SCENARIO_OUTPUT_ALIASES: dict[str, str] = {
    "best_response": "best_change_pct",
    "pfs": "pfs_days",
    "anc_nadir": "anc_nadir",
    "cd8_memory_ratio": "cd8_memory_ratio",
    "tumour_end": "tumour_end_1e9",
    "os": "os_days",
}

#: The outputs a scenario scan reports when none are asked for ("auc" becomes one column per
#: drug).
DEFAULT_SCENARIO_OUTPUTS = ("best_change_pct", "pfs_days", "anc_nadir", "cd8_memory_ratio", "auc")


@dataclass
class ScenarioProblem:
    """Endpoints of a scenario (:mod:`mdrsim.patient.runner`) as functions of factors: model
    parameters of the whole-patient model by name (``d_ox``), or scenario fields by path
    (``lines[0].doses[0].dose``)."""

    scenario: Scenario
    factor_names: Sequence[str]
    outputs: Sequence[str] = DEFAULT_SCENARIO_OUTPUTS
    library: Library | None = None
    workers: int | None = None
    fixed: Mapping[str, float | str] = field(default_factory=dict)
    _factors: list[Factor] = field(init=False)
    _outputs: list[str] = field(init=False)
    _base: PatientModel = field(init=False)
    _fixed: dict[str, float] = field(init=False)

    def __post_init__(self) -> None:
        from mdrsim.data.library import load_library
        from mdrsim.patient.model import build_patient_model

        if self.library is None:
            self.library = load_library()
        check_names(list(self.factor_names), "factors")
        self._base = build_patient_model(self.scenario, self.library)
        cm = self._base.compiled
        self._fixed = resolve_fixed(
            self.fixed, cm.parameter_names, cm.model.unit_of, f"the patient model of "
            f"scenario {self.scenario.name!r}"
        )  # fmt: skip
        factors = []
        for name in self.factor_names:
            if is_scenario_path(name):
                factors.append(scenario_factor(self.scenario, name))
            elif name in cm.parameter_names:
                unit = _unit_of(cm.model, name)
                nominal = self._fixed.get(name, float(cm.model.value_of(name)))
                factors.append(Factor(name, "parameter", nominal, unit))
            else:
                raise AnalysisError(
                    f"factor {name!r} is not a parameter of the patient model for scenario "
                    f"{self.scenario.name!r} nor a scenario path such as "
                    "lines[0].doses[0].dose" + did_you_mean(name, cm.parameter_names)
                )
        self._factors = factors
        self._outputs = self._resolve_outputs(self.outputs)

    def _resolve_outputs(self, outputs: Sequence[str]) -> list[str]:
        drugs = self._base.drugs
        numeric = [
            "best_change_pct",
            "pfs_days",
            "anc_nadir",
            "anc_nadir_day",
            "cd8_peak",
            "cd8_peak_day",
            "cd8_memory",
            "cd8_memory_ratio",
            "ctl_tumour_end",
            "ctl_tumour_ratio",
            "tumour_end_1e9",
            "mdr1_high_fraction_end",
            "mdr1_high_fraction_at_progression",
            "ttf_line1_days",
            "infection_clearance_day",
            *[f"auc_{d}_mg_h_per_L" for d in drugs],
        ]  # fmt: skip  (the runner's numeric endpoint columns)
        if not outputs:
            raise AnalysisError("give at least one output")
        resolved: list[str] = []
        for o in outputs:
            name = SCENARIO_OUTPUT_ALIASES.get(o, o)
            if name == "auc":
                resolved += [f"auc_{d}_mg_h_per_L" for d in drugs]
                continue
            if name.startswith("auc_") and name in {f"auc_{d}" for d in drugs}:
                name = f"{name}_mg_h_per_L"
            if name not in numeric:
                allowed = [*SCENARIO_OUTPUT_ALIASES, "auc", *numeric]
                raise AnalysisError(
                    f"--output {o!r} is not a numeric endpoint of a scenario"
                    + did_you_mean(o, allowed)
                    + f"; allowed: {', '.join(dict.fromkeys(allowed))}"
                )
            if name not in resolved:
                resolved.append(name)
        return resolved

    @property
    def factors(self) -> list[Factor]:
        return self._factors

    @property
    def output_names(self) -> list[str]:
        return list(self._outputs)

    #: Why local coefficients of a scenario use central differences (the ``note`` column).
    central_reason = (
        "scenario endpoints come from the whole-patient runner (doses between segments, "
        "RECIST scans, progression rules), which has no forward-sensitivity path yet"
    )

    @property
    def base_model(self) -> PatientModel:
        return self._base

    def evaluate(self, values: np.ndarray) -> pd.DataFrame:
        values = _as_matrix(values, len(self._factors))
        scenario_cols = [j for j, f in enumerate(self._factors) if f.kind == "scenario"]
        param_cols = [j for j, f in enumerate(self._factors) if f.kind == "parameter"]
        n = values.shape[0]
        # One model per distinct set of scenario values, then one batch per group of rows
        # that share the compiled model and everything the runner reads from the scenario
        # other than the patient (whose differences travel in the per-row inputs).
        key_rows: dict[tuple[float, ...], list[int]] = {}
        for i in range(n):
            key_rows.setdefault(tuple(values[i, scenario_cols]), []).append(i)
        batches: dict[tuple[str, str], list[tuple[PatientModel, list[int]]]] = {}
        for key, rows in key_rows.items():
            names = [self._factors[j].name for j in scenario_cols]
            pm = self._model_for(dict(zip(names, key, strict=True)))
            shared = pm.scenario.model_dump_json(exclude={"patient", "name", "description"})
            batches.setdefault((pm.compiled.key, shared), []).append((pm, rows))
        endpoints: list[pd.DataFrame] = []
        for groups in batches.values():
            endpoints.append(self._run_batch(groups, values, param_cols))
        ep = pd.concat(endpoints).sort_index()
        table = pd.DataFrame({f.name: values[:, j] for j, f in enumerate(self._factors)})
        for o in self._outputs:
            table[o] = pd.to_numeric(ep[o], errors="coerce").to_numpy(dtype=float)
        table["best_response_category"] = ep["best_response"].astype(str).to_numpy()
        table[STATUS] = ep[STATUS].astype(str).to_numpy()
        table[REASON] = ep[REASON].fillna("").astype(str).to_numpy()
        return table

    def _model_for(self, scenario_values: Mapping[str, float]) -> PatientModel:
        from mdrsim.patient.model import build_patient_model

        if not scenario_values:
            return self._base
        assert self.library is not None
        sc = apply_scenario_values(self.scenario, scenario_values, self.library)
        if _model_signature(sc) == _model_signature(self.scenario):
            # Same patient, drugs, inhibitor and pathogens: the same model (what
            # build_patient_model reads from a scenario); only what the runner reads changed.
            return replace(self._base, scenario=sc)
        return build_patient_model(sc, self.library)

    def _run_batch(
        self,
        groups: list[tuple[PatientModel, list[int]]],
        values: np.ndarray,
        param_cols: list[int],
    ) -> pd.DataFrame:
        from mdrsim.patient.runner import PatientInputs, run_patients

        pm0 = groups[0][0]
        cm = pm0.compiled
        index = [self._index(cm, self._factors[j].name) for j in param_cols]
        fixed = [(self._index(cm, k), v) for k, v in self._fixed.items()]
        rows: list[int] = []
        params, y0, bsa, weight = [], [], [], []
        for pm, members in groups:
            for i in members:
                p = pm.compiled.default_parameters()
                for k, v in fixed:
                    p[k] = v
                for j, k in zip(param_cols, index, strict=True):
                    p[k] = values[i, j]
                params.append(p)
                y0.append(pm.compiled.default_initial_state())
                bsa.append(pm.reference_bsa)
                weight.append(pm.reference_weight)
                rows.append(i)
        inputs = PatientInputs(
            params=np.array(params), y0=np.array(y0), bsa_m2=np.array(bsa),
            weight_kg=np.array(weight),
        )  # fmt: skip
        out = run_patients(pm0, inputs, record=(), workers=self.workers)
        ep = out.endpoints.copy()
        for i, why in out.failures.items():
            ep.loc[i, REASON] = why
        ep.index = pd.Index(rows)
        return ep

    @staticmethod
    def _index(cm: CompiledModel, name: str) -> int:
        return cm.parameter_names.index(name)


@dataclass
class ContrastProblem:
    """The difference ``reference − treated`` of each output of two problems over the same
    factors, run on the same rows: e.g. how much an inhibitor adds to the tumour shrinkage
    (``best_change_pct`` without minus with) and how much CD8 memory it costs
    (``cd8_memory_ratio`` without minus with). The outputs are named ``<output>:<label>``;
    ``keep_treated`` also reports the treated problem's own outputs."""

    reference: Problem
    treated: Problem
    label: str = "difference"
    keep_treated: bool = True

    def __post_init__(self) -> None:
        ref = [f.name for f in self.reference.factors]
        trt = [f.name for f in self.treated.factors]
        if ref != trt:
            raise AnalysisError(f"contrast: the factors differ ({ref} vs {trt})")
        if self.reference.output_names != self.treated.output_names:
            raise AnalysisError("contrast: the two problems must have the same outputs")

    @property
    def factors(self) -> list[Factor]:
        return self.treated.factors

    @property
    def central_reason(self) -> str:
        return str(getattr(self.treated, "central_reason", "a contrast of two problems"))

    @property
    def output_names(self) -> list[str]:
        diffs = [f"{o}:{self.label}" for o in self.treated.output_names]
        return [*diffs, *(self.treated.output_names if self.keep_treated else [])]

    def evaluate(self, values: np.ndarray) -> pd.DataFrame:
        a = self.reference.evaluate(values)
        b = self.treated.evaluate(values)
        table = b[[f.name for f in self.factors]].copy()
        for o in self.treated.output_names:
            table[f"{o}:{self.label}"] = a[o].to_numpy(dtype=float) - b[o].to_numpy(dtype=float)
            if self.keep_treated:
                table[o] = b[o]
        ok = (a[STATUS] == "ok").to_numpy() & (b[STATUS] == "ok").to_numpy()
        table[STATUS] = np.where(ok, "ok", "failed")
        table[REASON] = [
            "; ".join([f"reference: {ra}"] * bool(ra) + [f"treated: {rb}"] * bool(rb))
            for ra, rb in zip(a[REASON], b[REASON], strict=True)
        ]
        table.loc[~ok, self.output_names] = np.nan
        return table
