"""The PEtab objective: negative log-likelihood of a problem, and its gradient.

The model is compiled once; every simulation condition is one patient of one batch (one row of
the parameter matrix per condition). Pre-equilibration is a first batch integrated to steady
state (with a convergence check on the right-hand side); its final states start the main batch.

Noise models (``m`` the measurement, ``h`` the simulated observable, ``σ`` the noise formula,
``T`` the observable transformation: identity, ``ln`` or ``log10``):

- normal:  ``-log p = ½ log(2π σ²) + ½ ((T(h) − T(m)) / σ)² + log |T'(m)|⁻¹``
- laplace: ``-log p = log(2σ) + |T(h) − T(m)| / σ + log |T'(m)|⁻¹``

where the last term (``log m`` for ``log``, ``log(m ln 10)`` for ``log10``) is the Jacobian of
the transformation, so that every likelihood is a density of the untransformed measurement —
the definition PEtab and AMICI use for the benchmark collection's reference values.

Gradients come from forward sensitivities (:mod:`mdrsim.fit.sensitivities`): one augmented
compiled model; the batch holds one patient per (condition, estimated parameter) pair.
"""

from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass, field

import numpy as np
import sympy

from mdrsim.engine.compiled import CompiledModel, compile_model
from mdrsim.engine.solve import SolverOptions, run_batch
from mdrsim.errors import (
    FitError,
    PetabError,
    PreequilibrationError,
    UnsupportedPetabFeatureError,
)
from mdrsim.fit.evaluate import evaluate
from mdrsim.fit.sensitivities import SensitivityModel, sensitivity_model
from mdrsim.io.petab import PetabProblem, from_scale
from mdrsim.model.expressions import TIME
from mdrsim.model.ir import AssignmentRule, InitialAssignment, Model, Parameter

__all__ = ["Objective", "ObjectiveOptions"]

_LOG_2PI = math.log(2 * math.pi)
_INIT_PREFIX = "mdrsim_init_"


@dataclass(frozen=True)
class ObjectiveOptions:
    """Solver tolerances and the steady-state test of pre-equilibration.

    Pre-equilibration integrates to ``steady_state_time`` and accepts the final state when
    ``max_i |dy_i/dt| / (steady_state_atol + steady_state_rtol·|y_i|) <= 1``.
    """

    rtol: float = 1e-8
    atol: float = 1e-12
    max_steps: int = 500_000
    steady_state_time: float = 1e7
    steady_state_rtol: float = 1e-7
    steady_state_atol: float = 1e-11
    include_priors: bool = True
    workers: int | None = None


# ---------------------------------------------------------------------------------------------
# The simulation model: the SBML model plus what the condition table needs.


def _simulation_model(problem: PetabProblem) -> tuple[Model, dict[str, str]]:
    """The problem's model with a parameter for the initial value of each species that the
    condition table sets, and parameter-only initial assignments turned into assignment rules
    (so that their values, and derivatives, follow the parameters they read)."""
    model = problem.model
    states = set(model.state_names())
    columns = [c for c in problem.condition_table.columns if c != "conditionName"]
    init_params: dict[str, str] = {}
    parameters = dict(model.parameters)
    initial = dict(model.initial_assignments)
    rules = dict(model.assignment_rules)
    for column in columns:
        if column in model.species and column in states:
            name = f"{_INIT_PREFIX}{column}"
            if name in model.defined_names():
                raise UnsupportedPetabFeatureError(f"model already defines {name!r}")
            values = problem.condition_table[column]
            if column in model.initial_assignments and values.isna().any():
                raise UnsupportedPetabFeatureError(
                    f"condition table: species {column!r} has an initial assignment and a "
                    "condition leaves it empty (NaN)"
                )
            parameters[name] = Parameter(name, model.species[column].initial)
            initial[column] = InitialAssignment(column, sympy.Symbol(name))
            init_params[column] = name
    # Parameter-only initial assignments become assignment rules when nothing else can change
    # the parameter (a condition, the parameter table, a rule or an event).
    event_targets = {a.variable for e in model.events.values() for a in e.assignments}
    engine_params = set(model.parameter_names())
    changed = True
    while changed:
        changed = False
        for var, ia in list(initial.items()):
            if (
                var in model.parameters
                and var not in columns
                and var not in problem.parameters.index
                and var not in event_targets
                and var not in model.rate_rules
                and model.parameters[var].constant
                and ia.expression.free_symbols
                and all(
                    (s.name in engine_params and s.name not in initial) or s.name in rules
                    for s in ia.expression.free_symbols
                )
            ):
                rules[var] = AssignmentRule(var, ia.expression)
                del initial[var]
                changed = True
    reactions, rules, rate_rules, events, _switches = _time_switches(
        model, parameters, rules, initial
    )
    sim = Model(
        name=model.name,
        compartments=model.compartments,
        species=model.species,
        parameters=parameters,
        reactions=reactions,
        assignment_rules=rules,
        rate_rules=rate_rules,
        initial_assignments=initial,
        observables={},
        events=events,
        description=model.description,
    )
    return sim.validate(), init_params


_SWITCH_PREFIX = "mdrsim_switch_"


def _time_threshold(cond: sympy.Basic) -> tuple[sympy.Expr, bool] | None:
    """``(c, after)`` when ``cond`` is ``time > c`` / ``time >= c`` (after=True) or
    ``time < c`` / ``time <= c`` (after=False), with ``c`` free of time."""
    if not isinstance(cond, sympy.Gt | sympy.Ge | sympy.Lt | sympy.Le):
        return None
    d = sympy.expand(cond.lhs - cond.rhs)
    if TIME not in d.free_symbols:
        return None
    slope = d.coeff(TIME)
    rest = sympy.expand(d - slope * TIME)
    if slope not in (1, -1) or TIME in rest.free_symbols:
        return None
    greater = isinstance(cond, sympy.Gt | sympy.Ge)
    # d > 0  <=>  slope*time > -rest
    threshold = -rest * slope
    after = greater if slope == 1 else not greater
    return threshold, after


def _time_switches(
    model: Model,
    parameters: dict[str, Parameter],
    rules: dict[str, AssignmentRule],
    initial: dict[str, InitialAssignment],
) -> tuple[dict, dict, dict, dict, list[str]]:
    """Replace ``piecewise`` conditions on time (``time >= c``) by a 0/1 switch parameter that a
    timed event flips at ``c``, so that the engine stops exactly at the switch instead of
    stepping across a discontinuity (as AMICI does with its root functions)."""
    from mdrsim.model.ir import Event, EventAssignment, RateRule, Reaction

    found: dict[tuple[sympy.Expr, bool], sympy.Basic] = {}
    events = dict(model.events)
    taken = model.defined_names() | set(parameters)

    def replace(expr: sympy.Basic) -> sympy.Basic:
        if not expr.has(sympy.Piecewise):
            return expr

        def fix(node: sympy.Basic) -> sympy.Basic:
            if not isinstance(node, sympy.Piecewise):
                return node
            pieces = []
            for value, cond in node.args:
                hit = _time_threshold(cond)
                if hit is not None:
                    threshold, after = hit
                    key = (threshold, True)
                    if key not in found:
                        name = f"{_SWITCH_PREFIX}{len(found)}"
                        if name in taken:
                            raise UnsupportedPetabFeatureError(f"model already defines {name!r}")
                        sw = sympy.Symbol(name)
                        found[key] = sw
                        parameters[name] = Parameter(name, 0.0, constant=False)
                        initial[name] = InitialAssignment(
                            name, sympy.Piecewise((1, sympy.Le(threshold, 0)), (0, True))
                        )
                        events[f"{name}_on"] = Event(
                            f"{name}_on",
                            sympy.Ge(TIME, threshold),
                            (EventAssignment(name, sympy.Integer(1)),),
                            initial_value=True,
                        )
                    sw = found[key]
                    cond = sympy.Gt(sw, 0.5) if after else sympy.Lt(sw, 0.5)
                pieces.append((value, cond))
            return sympy.Piecewise(*pieces)

        return expr.replace(lambda n: isinstance(n, sympy.Piecewise), fix)

    reactions = {
        k: Reaction(r.name, replace(r.rate), r.reactants, r.products, r.reversible, r.description)
        for k, r in model.reactions.items()
    }
    new_rules = {k: AssignmentRule(r.variable, replace(r.expression)) for k, r in rules.items()}
    rate_rules = {
        k: RateRule(r.variable, replace(r.expression)) for k, r in model.rate_rules.items()
    }
    return reactions, new_rules, rate_rules, events, [str(s) for s in found.values()]


@dataclass
class _Phase:
    """Parameter vector of one condition: fixed values plus entries set by θ."""

    values: np.ndarray
    theta_columns: list[tuple[int, int]] = field(default_factory=list)  # (column, θ index)
    reset: list[str] = field(default_factory=list)  # species re-initialised (sim after preeq)

    def at(self, x: np.ndarray) -> np.ndarray:
        p = self.values.copy()
        for j, k in self.theta_columns:
            p[j] = x[k]
        return p

    def direction(self, dx: np.ndarray, k: int, n: int) -> np.ndarray:
        """d p / d θ_k (θ on its scale; ``dx`` = d x / d θ, elementwise)."""
        v = np.zeros(n)
        for j, kk in self.theta_columns:
            if kk == k:
                v[j] += dx[k]
        return v


@dataclass
class _Term:
    """One symbol of an observable or noise formula and where its value comes from."""

    kind: str  # 'y' state, 'p' engine parameter, 'theta', 'const' (per row), 'time'
    index: int = -1
    row_const: np.ndarray | None = None  # 'const': value per row (NaN where θ-mapped)
    row_theta: np.ndarray | None = None  # 'const': θ index per row or -1


# ---------------------------------------------------------------------------------------------


class Objective:
    """Negative log-likelihood of a PEtab problem as a function of θ (estimated parameters,
    on their parameter scale, in parameter-table order).

    ``llh(theta)`` is the log-likelihood without priors (the benchmark's reference quantity);
    ``__call__(theta)`` the objective ``−llh + prior terms``;
    ``value_and_gradient(theta)`` both, the gradient from forward sensitivities.
    """

    def __init__(self, problem: PetabProblem, options: ObjectiveOptions | None = None) -> None:
        self.problem = problem
        self.options = options or ObjectiveOptions()
        self.theta_ids = problem.estimated
        self._theta_index = {pid: k for k, pid in enumerate(self.theta_ids)}
        ptab = problem.parameters
        self.scales = [str(ptab.loc[p, "scale"]) for p in self.theta_ids]
        self.lower, self.upper = problem.bounds()
        self.model, self._init_params = _simulation_model(problem)
        self.compiled: CompiledModel = compile_model(self.model)
        self._sens: tuple[SensitivityModel, CompiledModel] | None = None
        self.state_names = list(self.compiled.state_names)
        self.parameter_names = list(self.compiled.parameter_names)
        self._p_index = {n: j for j, n in enumerate(self.parameter_names)}
        self._y_index = {n: i for i, n in enumerate(self.state_names)}
        self._rules = self._rule_substitutions()
        self._build_conditions()
        self._build_times()
        self._build_observables()

    # -- set-up ---------------------------------------------------------------------------

    def _rule_substitutions(self) -> dict[sympy.Symbol, sympy.Expr]:
        flat = self.compiled.flat
        return {
            sympy.Symbol(name): expr
            for name, expr in zip(flat.output_names, flat.outputs, strict=False)
            if name in self.model.assignment_rules
        }

    def _value_of(self, ref: object, where: str) -> tuple[float, int]:
        """A condition-table or override entry: (number, -1) or (nan, θ index)."""
        if isinstance(ref, str):
            try:
                return float(ref), -1  # a number kept as text in a mixed column
            except ValueError:
                pass
            if ref in self._theta_index:
                return math.nan, self._theta_index[ref]
            ptab = self.problem.parameters
            if ref in ptab.index:
                return float(ptab.loc[ref, "nominal"]), -1
            if ref in self.model.parameters and ref in self._p_index:
                return float(self.model.parameters[ref].value), -1
            raise PetabError(f"{where}: {ref!r} is neither a number nor a parameter")
        return float(ref), -1  # type: ignore[arg-type]

    def _phase(self, condition: str, *, after_preeq: bool) -> _Phase:
        ctab = self.problem.condition_table
        ptab = self.problem.parameters
        values = self.compiled.default_parameters()
        phase = _Phase(values)
        for j, name in enumerate(self.parameter_names):
            if name in ptab.index:
                if bool(ptab.loc[name, "estimate"]):
                    phase.theta_columns.append((j, self._theta_index[name]))
                else:
                    values[j] = float(ptab.loc[name, "nominal"])
        row = ctab.loc[condition]
        for column in ctab.columns:
            if column == "conditionName":
                continue
            entry = row[column]
            target = self._init_params.get(column, column)
            if isinstance(entry, float) and math.isnan(entry):
                if column in self.model.species:
                    # A state keeps its own initial value (or the pre-equilibrated one); a
                    # constant species keeps the model's value.
                    continue
                raise UnsupportedPetabFeatureError(
                    f"condition {condition!r}, column {column!r}: empty (NaN) entries for "
                    "parameters are not supported"
                )
            if column in self._init_params and after_preeq:
                phase.reset.append(column)
            if target not in self._p_index:
                raise UnsupportedPetabFeatureError(
                    f"condition {condition!r}, column {column!r}: not a free parameter or "
                    "species of the model"
                )
            j = self._p_index[target]
            phase.theta_columns = [(c, k) for c, k in phase.theta_columns if c != j]
            value, k = self._value_of(entry, f"condition {condition!r}, column {column!r}")
            if k >= 0:
                phase.theta_columns.append((j, k))
            else:
                values[j] = value
        return phase

    def _build_conditions(self) -> None:
        self.conditions = self.problem.conditions
        self._sim = [self._phase(sim, after_preeq=pre is not None) for pre, sim in self.conditions]
        self._pre = [
            self._phase(pre, after_preeq=False) if pre is not None else None
            for pre, _ in self.conditions
        ]

    def _build_times(self) -> None:
        m = self.problem.measurements
        times = np.unique(m["time"].to_numpy(dtype=float))
        if times[0] > 0:
            times = np.concatenate([[0.0], times])
        if times.size < 2:
            times = np.concatenate([times, [times[-1] + 1.0]])
        self.t_eval = times
        self._row_t = np.searchsorted(times, m["time"].to_numpy(dtype=float))
        cond_of = {c: i for i, c in enumerate(self.conditions)}
        self._row_c = np.array(
            [
                cond_of[(pre or None, sim)]
                for pre, sim in zip(
                    m["preequilibrationConditionId"], m["simulationConditionId"], strict=True
                )
            ]
        )

    def _build_observables(self) -> None:
        m = self.problem.measurements
        self._obs_rows: dict[str, np.ndarray] = {}
        self._obs_terms: dict[str, dict[str, _Term]] = {}
        self._obs_exprs: dict[str, tuple[sympy.Expr, sympy.Expr]] = {}
        ptab = self.problem.parameters
        for obs_id, spec in self.problem.observables.items():
            rows = np.flatnonzero(m["observableId"].to_numpy() == obs_id)
            if rows.size == 0:
                continue
            formula = spec.formula.xreplace(self._rules)
            noise = spec.noise.xreplace({sympy.Symbol(obs_id): spec.formula}).xreplace(self._rules)
            self._obs_rows[obs_id] = rows
            self._obs_exprs[obs_id] = (formula, noise)
            terms: dict[str, _Term] = {}
            for sym in formula.free_symbols | noise.free_symbols:
                name = sym.name
                if sym == TIME:
                    terms[name] = _Term("time")
                elif name.startswith(("observableParameter", "noiseParameter")):
                    terms[name] = self._placeholder(obs_id, name, rows)
                elif name in self._y_index:
                    terms[name] = _Term("y", self._y_index[name])
                elif name in self._p_index:
                    terms[name] = _Term("p", self._p_index[name])
                elif name in self._theta_index:
                    terms[name] = _Term("theta", self._theta_index[name])
                elif name in ptab.index:
                    terms[name] = _Term(
                        "const",
                        row_const=np.full(rows.size, float(ptab.loc[name, "nominal"])),
                        row_theta=np.full(rows.size, -1),
                    )
                else:
                    raise PetabError(
                        f"observable {obs_id!r}: symbol {name!r} is not a state, parameter or "
                        "placeholder of the problem"
                    )
            self._obs_terms[obs_id] = terms
        self._measured = m["measurement"].to_numpy(dtype=float)

    def _placeholder(self, obs_id: str, name: str, rows: np.ndarray) -> _Term:
        kind = "observableParameters" if name.startswith("observable") else "noiseParameters"
        prefix = "observableParameter" if kind == "observableParameters" else "noiseParameter"
        head, _, tail = name[len(prefix) :].partition("_")
        if tail != obs_id or not head.isdigit():
            raise PetabError(
                f"observable {obs_id!r}: placeholder {name!r} does not belong to this observable"
            )
        n = int(head)
        const = np.empty(rows.size)
        theta = np.full(rows.size, -1)
        overrides = self.problem.measurements[kind].to_numpy()
        for r, row in enumerate(rows):
            entries = overrides[row]
            if len(entries) < n:
                raise PetabError(
                    f"measurement row {row + 2}, column {kind}: observable {obs_id!r} needs "
                    f"{name!r} but the row gives {len(entries)} value(s)"
                )
            const[r], theta[r] = self._value_of(
                entries[n - 1], f"measurement row {row + 2}, column {kind}"
            )
        return _Term("const", row_const=const, row_theta=theta)

    # -- parameters ------------------------------------------------------------------------

    def _unscale(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """x (unscaled values) and dx/dθ."""
        theta = np.asarray(theta, dtype=float)
        if theta.shape != (len(self.theta_ids),):
            raise FitError(
                f"theta must have {len(self.theta_ids)} values (the estimated parameters "
                f"{self.theta_ids[:5]}…), got shape {theta.shape}"
            )
        x = np.empty_like(theta)
        dx = np.empty_like(theta)
        for k, scale in enumerate(self.scales):
            x[k] = float(from_scale(theta[k], scale))
            dx[k] = 1.0 if scale == "lin" else x[k] * (math.log(10) if scale == "log10" else 1.0)
        return x, dx

    # -- simulation ------------------------------------------------------------------------

    def _solver(self, n_states: int) -> SolverOptions:
        o = self.options
        return SolverOptions(rtol=o.rtol, atol=o.atol, max_steps=o.max_steps)

    def _run(
        self,
        compiled: CompiledModel,
        P: np.ndarray,
        Y0: np.ndarray,
        t: np.ndarray,
        skip: np.ndarray,
        what: str,
    ) -> np.ndarray:
        res = run_batch(
            compiled,
            P,
            Y0,
            t,
            options=self._solver(Y0.shape[1]),
            skip_init=skip,
            workers=self.options.workers,
        )
        bad = np.flatnonzero(res.status != 0)
        if bad.size:
            i = int(bad[0])
            raise FitError(
                f"{what}: simulation failed for {bad.size} of {P.shape[0]} condition(s); first: "
                f"{self._label(i, what)} at t = {res.failure_time[i]:g} "
                f"(status {int(res.status[i])})"
            )
        return np.asarray(res.states)

    def _label(self, i: int, what: str) -> str:
        return str(i)

    def _steady_state(
        self, compiled: CompiledModel, P: np.ndarray, Y: np.ndarray, labels: list[str]
    ) -> None:
        """Raise PreequilibrationError unless every row of Y is a steady state."""
        rhs = compiled.module.rhs.ctypes
        init = compiled.module.initial_assignments.ctypes
        ptr = ctypes.POINTER(ctypes.c_double)
        n_s = Y.shape[1]
        o = self.options
        skip = np.array(
            [1.0 if kind == "y" else 0.0 for kind, _, _ in compiled.flat.initial], dtype=float
        )
        for i in range(Y.shape[0]):
            y = np.ascontiguousarray(Y[i], dtype=float)
            p = np.ascontiguousarray(P[i], dtype=float)
            out = np.zeros(n_s)
            if skip.size:
                init(
                    0.0,
                    y.ctypes.data_as(ptr),
                    p.ctypes.data_as(ptr),
                    skip.ctypes.data_as(ptr),
                )
            rhs(
                o.steady_state_time,
                y.ctypes.data_as(ptr),
                p.ctypes.data_as(ptr),
                out.ctypes.data_as(ptr),
            )
            scale = o.steady_state_atol + o.steady_state_rtol * np.abs(y)
            worst = float(np.max(np.abs(out) / scale)) if n_s else 0.0
            if not worst <= 1.0:
                j = int(np.argmax(np.abs(out) / scale))
                raise PreequilibrationError(
                    f"pre-equilibration of {labels[i]} did not reach a steady state by "
                    f"t = {o.steady_state_time:g}: d{compiled.state_names[j]}/dt = {out[j]:.3g} "
                    f"at {compiled.state_names[j]} = {y[j]:.6g}"
                )

    def _simulate(
        self,
        compiled: CompiledModel,
        P_sim: np.ndarray,
        P_pre: np.ndarray,
        cond: np.ndarray,
        reset_names: list[list[str]],
    ) -> np.ndarray:
        """States [n, T, n_states] of the main phase; rows of cond index self.conditions."""
        n = P_sim.shape[0]
        targets = compiled.initial_assignment_targets()
        kinds = [kind for kind, _, _ in compiled.flat.initial]
        Y0 = np.tile(compiled.default_initial_state(), (n, 1))
        skip = np.zeros((n, len(targets)), dtype=bool)
        has_pre = np.array([self.conditions[c][0] is not None for c in cond], dtype=bool)
        if has_pre.any():
            rows = np.flatnonzero(has_pre)
            Y_pre = self._run(
                compiled,
                P_pre[rows],
                np.tile(compiled.default_initial_state(), (rows.size, 1)),
                np.array([0.0, self.options.steady_state_time]),
                np.zeros((rows.size, len(targets)), dtype=bool),
                "pre-equilibration",
            )[:, -1, :]
            self._steady_state(
                compiled,
                P_pre[rows],
                Y_pre,
                [f"condition {self.conditions[cond[r]][0]!r}" for r in rows],
            )
            Y0[rows] = Y_pre
            for r in rows:
                reset = reset_names[r]
                for k, (kind, target) in enumerate(zip(kinds, targets, strict=True)):
                    if kind != "y":
                        continue
                    base = target.removeprefix("mdrsim_sens_")
                    skip[r, k] = not (base in reset and base in self._init_params)
        return self._run(compiled, P_sim, Y0, self.t_eval, skip, "simulation")

    # -- objective -------------------------------------------------------------------------

    def simulate_states(self, theta: np.ndarray) -> np.ndarray:
        """States [condition, time, state] at θ on the grid ``self.t_eval``."""
        x, _ = self._unscale(theta)
        P_sim = np.array([ph.at(x) for ph in self._sim])
        P_pre = np.array(
            [
                ph.at(x) if ph is not None else ph_s.at(x)
                for ph, ph_s in zip(self._pre, self._sim, strict=True)
            ]
        )
        cond = np.arange(len(self.conditions))
        return self._simulate(self.compiled, P_sim, P_pre, cond, [ph.reset for ph in self._sim])

    def llh(self, theta: np.ndarray | None = None) -> float:
        """Log-likelihood (no priors) at θ (default: the nominal parameters)."""
        theta = self.problem.nominal_theta() if theta is None else np.asarray(theta, float)
        Y = self.simulate_states(theta)
        x, dx = self._unscale(theta)
        P = np.array([ph.at(x) for ph in self._sim])
        nllh, _ = self._nllh(Y, P, x, dx, None)
        return -nllh

    def __call__(self, theta: np.ndarray) -> float:
        theta = np.asarray(theta, dtype=float)
        value = -self.llh(theta)
        if self.options.include_priors:
            value += self._prior(theta)[0]
        return value

    def simulated_measurements(self, theta: np.ndarray | None = None) -> np.ndarray:
        """Simulated observable for each measurement row at θ."""
        theta = self.problem.nominal_theta() if theta is None else np.asarray(theta, float)
        Y = self.simulate_states(theta)
        x, _ = self._unscale(theta)
        P = np.array([ph.at(x) for ph in self._sim])
        out = np.empty(len(self._measured))
        for obs_id, rows in self._obs_rows.items():
            vals = self._values(obs_id, rows, Y, P, x)
            out[rows] = evaluate(self._obs_exprs[obs_id][0], vals, rows.size)
        return out

    def _values(
        self, obs_id: str, rows: np.ndarray, Y: np.ndarray, P: np.ndarray, x: np.ndarray
    ) -> dict[str, np.ndarray]:
        c = self._row_c[rows]
        t = self._row_t[rows]
        vals: dict[str, np.ndarray] = {}
        for name, term in self._obs_terms[obs_id].items():
            if term.kind == "y":
                vals[name] = Y[c, t, term.index]
            elif term.kind == "p":
                vals[name] = P[c, term.index]
            elif term.kind == "theta":
                vals[name] = np.full(rows.size, x[term.index])
            elif term.kind == "time":
                vals[name] = self.t_eval[t]
            else:
                assert term.row_const is not None and term.row_theta is not None
                v = term.row_const.copy()
                mask = term.row_theta >= 0
                v[mask] = x[term.row_theta[mask]]
                vals[name] = v
        return vals

    def _derivs(
        self,
        obs_id: str,
        rows: np.ndarray,
        S: np.ndarray,
        V: np.ndarray,
        dx: np.ndarray,
    ) -> dict[str, np.ndarray]:
        """d symbol / d θ for each row: [rows, K]. S[c, k, t, i] state sensitivities;
        V[c, k, j] parameter directions of the main phase."""
        c = self._row_c[rows]
        t = self._row_t[rows]
        K = len(self.theta_ids)
        out: dict[str, np.ndarray] = {}
        for name, term in self._obs_terms[obs_id].items():
            d = np.zeros((rows.size, K))
            if term.kind == "y":
                d = S[c, :, t, term.index]
            elif term.kind == "p":
                d = V[c, :, term.index]
            elif term.kind == "theta":
                d[:, term.index] = dx[term.index]
            elif term.kind == "const":
                assert term.row_theta is not None
                mask = np.flatnonzero(term.row_theta >= 0)
                d[mask, term.row_theta[mask]] = dx[term.row_theta[mask]]
            out[name] = d
        return out

    def _nllh(
        self,
        Y: np.ndarray,
        P: np.ndarray,
        x: np.ndarray,
        dx: np.ndarray,
        sens: tuple[np.ndarray, np.ndarray] | None,
        fim: np.ndarray | None = None,
    ) -> tuple[float, np.ndarray | None]:
        """Negative log-likelihood; with ``sens``, its gradient; with ``fim`` (a K×K array,
        added to in place), the expected Fisher information of the measurements (for a normal
        noise model 1/σ² for the mean and 2/σ² for σ, for Laplace 1/σ² and 1/σ², by the
        chain rule) — the Gauss–Newton approximation of the Hessian that fides uses."""
        total = 0.0
        grad = np.zeros(len(self.theta_ids)) if sens is not None else None
        for obs_id, rows in self._obs_rows.items():
            spec = self.problem.observables[obs_id]
            formula, noise = self._obs_exprs[obs_id]
            vals = self._values(obs_id, rows, Y, P, x)
            h = evaluate(formula, vals, rows.size)
            sigma = evaluate(noise, vals, rows.size)
            m = self._measured[rows]
            if not np.all(np.isfinite(h)):
                bad = int(rows[np.flatnonzero(~np.isfinite(h))[0]])
                raise FitError(f"observable {obs_id!r} is not finite at measurement row {bad + 2}")
            if not np.all(sigma > 0):
                bad = int(rows[np.flatnonzero(~(sigma > 0))[0]])
                raise FitError(
                    f"noise formula of {obs_id!r} is not > 0 at measurement row {bad + 2}"
                )
            tr = spec.transformation
            if tr == "lin":
                th, tm, jac, dth = h, m, 0.0, np.ones_like(h)
            else:
                if not np.all(h > 0):
                    bad = int(rows[np.flatnonzero(~(h > 0))[0]])
                    raise FitError(
                        f"observable {obs_id!r} is {h[rows.tolist().index(bad)]:.3g} (not > 0) "
                        f"at measurement row {bad + 2}, but its noise model is "
                        f"{tr}-{spec.distribution}"
                    )
                if tr == "log":
                    th, tm, jac, dth = np.log(h), np.log(m), np.log(m), 1.0 / h
                else:
                    th, tm = np.log10(h), np.log10(m)
                    jac = np.log(m * math.log(10))
                    dth = 1.0 / (h * math.log(10))
            res = (th - tm) / sigma
            if spec.distribution == "normal":
                total += float(np.sum(0.5 * (_LOG_2PI + 2 * np.log(sigma)) + 0.5 * res**2 + jac))
            else:
                total += float(np.sum(np.log(2 * sigma) + np.abs(res) + jac))
            if sens is not None and grad is not None:
                S, V = sens
                derivs = self._derivs(obs_id, rows, S, V, dx)
                dh = np.zeros((rows.size, len(self.theta_ids)))
                dsig = np.zeros_like(dh)
                for sym in formula.free_symbols:
                    partial = evaluate(sympy.diff(formula, sym), vals, rows.size)
                    dh += partial[:, None] * derivs[sym.name]
                for sym in noise.free_symbols:
                    partial = evaluate(sympy.diff(noise, sym), vals, rows.size)
                    dsig += partial[:, None] * derivs[sym.name]
                dres = (dth[:, None] * dh - res[:, None] * dsig) / sigma[:, None]
                if spec.distribution == "normal":
                    grad += np.sum(dsig / sigma[:, None] + res[:, None] * dres, axis=0)
                else:
                    grad += np.sum(dsig / sigma[:, None] + np.sign(res)[:, None] * dres, axis=0)
                if fim is not None:
                    dmean = dth[:, None] * dh / sigma[:, None]
                    dscale = dsig / sigma[:, None]
                    weight = 2.0 if spec.distribution == "normal" else 1.0
                    fim += dmean.T @ dmean + weight * (dscale.T @ dscale)
        return total, grad

    # -- priors ----------------------------------------------------------------------------

    def _prior(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Negative log prior density and its gradient (θ on parameter scale)."""
        ptab = self.problem.parameters
        value = 0.0
        grad = np.zeros(len(self.theta_ids))
        x, dx = self._unscale(theta)
        for k, pid in enumerate(self.theta_ids):
            kind = ptab.loc[pid, "prior_type"]
            if not kind:
                continue
            a, b = ptab.loc[pid, "prior_parameters"]
            on_scale = kind.startswith("parameterScale")
            z = theta[k] if on_scale else x[k]
            dz = 1.0 if on_scale else dx[k]
            base = kind.removeprefix("parameterScale").lower()
            if base == "normal":
                value += 0.5 * math.log(2 * math.pi * b * b) + 0.5 * ((z - a) / b) ** 2
                grad[k] += (z - a) / (b * b) * dz
            elif base == "laplace":
                value += math.log(2 * b) + abs(z - a) / b
                grad[k] += math.copysign(1.0, z - a) / b * dz
            else:  # uniform
                value += math.log(b - a) if a <= z <= b else math.inf
        return value, grad

    # -- gradient --------------------------------------------------------------------------

    def _sensitivity(self) -> tuple[SensitivityModel, CompiledModel]:
        if self._sens is None:
            directions = sorted(
                {
                    self.parameter_names[j]
                    for phases in (self._sim, self._pre)
                    for ph in phases
                    if ph is not None
                    for j, _ in ph.theta_columns
                },
                key=self._p_index.__getitem__,
            )
            sm = sensitivity_model(self.model, directions)
            self._sens = (sm, compile_model(sm.model))
        return self._sens

    def value_and_gradient(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Objective (−llh + priors) and its gradient with respect to θ."""
        value, grad, _ = self._evaluate(theta, with_fim=False)
        return value, grad

    def value_gradient_fim(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Objective, gradient and the Fisher information matrix (expected, from the same
        forward sensitivities; plus the Gauss–Newton term of normal priors): a positive
        semi-definite approximation of the Hessian for fides."""
        value, grad, fim = self._evaluate(theta, with_fim=True)
        assert fim is not None
        return value, grad, fim

    def _evaluate(
        self, theta: np.ndarray, *, with_fim: bool
    ) -> tuple[float, np.ndarray, np.ndarray | None]:
        theta = np.asarray(theta, dtype=float)
        x, dx = self._unscale(theta)
        sm, aug = self._sensitivity()
        n_p = len(self.parameter_names)
        n_y = len(self.state_names)
        K = len(self.theta_ids)
        C = len(self.conditions)
        dir_cols = [self._p_index[d] for d in sm.directions]
        # One patient per (condition, θ_k) pair that moves the condition's parameters.
        pairs: list[tuple[int, int]] = []
        V_sim = np.zeros((C, K, n_p))
        V_pre = np.zeros((C, K, n_p))
        for c in range(C):
            pre = self._pre[c]
            for k in range(K):
                V_sim[c, k] = self._sim[c].direction(dx, k, n_p)
                if pre is not None:
                    V_pre[c, k] = pre.direction(dx, k, n_p)
                if V_sim[c, k].any() or V_pre[c, k].any():
                    pairs.append((c, k))
        P_plain = np.array([ph.at(x) for ph in self._sim])
        S = np.zeros((C, K, self.t_eval.size, n_y))
        if pairs:
            cond = np.array([c for c, _ in pairs])
            P_sim = np.array(
                [np.concatenate([P_plain[c], V_sim[c, k][dir_cols]]) for c, k in pairs]
            )
            P_pre = np.array(
                [
                    np.concatenate(
                        [
                            (self._pre[c] or self._sim[c]).at(x),
                            V_pre[c, k][dir_cols],
                        ]
                    )
                    for c, k in pairs
                ]
            )
            Z = self._simulate(aug, P_sim, P_pre, cond, [self._sim[c].reset for c, _ in pairs])
            for r, (c, k) in enumerate(pairs):
                S[c, k] = Z[r, :, n_y:]
            Y = np.empty((C, self.t_eval.size, n_y))
            seen = set()
            for r, (c, _) in enumerate(pairs):
                if c not in seen:
                    Y[c] = Z[r, :, :n_y]
                    seen.add(c)
            missing = [c for c in range(C) if c not in seen]
            if missing:
                Y[missing] = self.simulate_states(theta)[missing]
        else:
            Y = self.simulate_states(theta)
        fim = np.zeros((K, K)) if with_fim else None
        nllh, grad = self._nllh(Y, P_plain, x, dx, (S, V_sim), fim)
        assert grad is not None
        value = nllh
        if self.options.include_priors:
            pv, pg = self._prior(theta)
            value += pv
            grad = grad + pg
            if fim is not None:
                fim += np.diag(self._prior_fim(theta))
        return value, grad, fim

    def _prior_fim(self, theta: np.ndarray) -> np.ndarray:
        """Diagonal Gauss–Newton term of the priors: (dz/dθ / b)² for normal priors."""
        ptab = self.problem.parameters
        out = np.zeros(len(self.theta_ids))
        _, dx = self._unscale(theta)
        for k, pid in enumerate(self.theta_ids):
            kind = ptab.loc[pid, "prior_type"]
            if kind and kind.removeprefix("parameterScale").lower() == "normal":
                _, b = ptab.loc[pid, "prior_parameters"]
                dz = 1.0 if kind.startswith("parameterScale") else dx[k]
                out[k] = (dz / b) ** 2
        return out
