"""Turn a :class:`~mdrsim.model.ir.Model` into the source of a numba-compiled module.

The model is flattened into an ODE system ``dy/dt = f(t, y, p)``:

- ``y`` holds the states (:meth:`Model.state_names`), ``p`` the parameters
  (:meth:`Model.parameter_names`); one compiled module serves every patient because both are
  plain arrays.
- Assignment rules are substituted into every expression (in dependency order), so the
  generated code is straight-line arithmetic that sympy's common-subexpression elimination
  (CSE) can share between the right-hand side and the analytic Jacobian.

The generated module is pure arithmetic on array elements. Symbols are renamed to ``y_3`` /
``p_7`` before printing, so no name or text from the model file ever reaches the source:
what is compiled is built from sympy trees that the safe parser produced.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numba
import sympy
from sympy.printing.pycode import PythonCodePrinter

from mdrsim import __version__
from mdrsim.engine.sparse_lu import CFUNC, EVENT_CFUNC, generate_sparse_lu
from mdrsim.errors import UnsupportedFeatureError
from mdrsim.model.derivative import derivative
from mdrsim.model.expressions import TIME
from mdrsim.model.ir import Model
from mdrsim.model.validation import rule_order

#: Bump when the generated code's layout changes, so old cache entries are not reused.
CODEGEN_VERSION = "10"
#: Bump when the generated pending-queue functions change (only delayed-event models).
QUEUE_LAYOUT = "3"


class _Printer(PythonCodePrinter):
    """Python printer with exact float literals and numba-friendly booleans."""

    def _print_Float(self, expr: sympy.Float) -> str:
        return repr(float(expr))

    def _print_Rational(self, expr: sympy.Rational) -> str:
        return repr(float(expr))

    def _print_Half(self, expr: sympy.Rational) -> str:
        return "0.5"

    def _print_Pow(self, expr: sympy.Pow, rational: bool = False) -> str:
        # A negative whole exponent is printed as a division: numba computes `x**(-2)` by
        # integer-power code that raises ZeroDivisionError at x = 0 even with
        # error_model="numpy", and inside a cfunc that exception is swallowed and the
        # function returns 0 — a silent wrong number. `1.0/(x)**2` gives inf (a failed patient).
        exp = expr.exp
        if exp.is_Integer and exp.is_negative:
            base = self._print(expr.base)
            n = -int(exp)
            return f"(1.0/({base}))" if n == 1 else f"(1.0/({base})**{n})"
        return str(super()._print_Pow(expr, rational))

    def _print_BooleanTrue(self, expr: sympy.Basic) -> str:
        return "True"

    def _print_BooleanFalse(self, expr: sympy.Basic) -> str:
        return "False"

    def _print_factorial(self, expr: sympy.Basic) -> str:
        # numba has no math.factorial; gamma(n + 1) is n! for whole numbers (and SBML's
        # factorial is defined only on those).
        return f"math.gamma({self._print(expr.args[0])} + 1.0)"

    def _print_Exp1(self, expr: sympy.Basic) -> str:
        return "math.e"

    def _print_Pi(self, expr: sympy.Basic) -> str:
        return "math.pi"


_PRINTER = _Printer({"standard": "python3", "fully_qualified_modules": True})


def _code(expr: sympy.Basic) -> str:
    return str(_PRINTER.doprint(expr))


@dataclass
class EventPlan:
    """How the engine treats each model event."""

    names: list[str]
    timed: list[bool]  # True: fires at a time known from parameters
    timed_index: list[int]  # index into timed_event_times() output, or -1
    state_index: list[int]  # index into triggers() output, or -1
    initial_value: list[bool]
    # Delayed events (SBML <delay>) go through the engine's pending queue (engine/pending.py).
    delayed: list[bool] = field(default_factory=list)
    persistent: list[bool] = field(default_factory=list)
    values_at_trigger: list[bool] = field(default_factory=list)
    # With priorities (SBML <priority>, kept by the importer only where order matters) every
    # event goes through the queue, undelayed ones with delay 0, ordered by priority.
    has_priority: list[bool] = field(default_factory=list)

    @property
    def by_priority(self) -> bool:
        return any(self.has_priority)

    @property
    def any_delayed(self) -> bool:
        return any(self.delayed)


@dataclass
class FlatModel:
    """The model reduced to what the generated code computes, with symbol indices."""

    model: Model
    state_names: list[str]
    parameter_names: list[str]
    output_names: list[str]  # assignment-rule variables, then observables
    rhs: list[sympy.Expr]
    outputs: list[sympy.Expr]
    initial: list[tuple[str, int, sympy.Expr]]  # (kind 'y'|'p', index, expr) in order
    events: EventPlan
    timed_times: list[sympy.Expr] = field(default_factory=list)
    triggers: list[sympy.Basic] = field(default_factory=list)
    assignments: list[list[tuple[str, int, sympy.Expr]]] = field(default_factory=list)
    uses_time: bool = False
    delays: list[sympy.Expr | None] = field(default_factory=list)
    priorities: list[sympy.Expr | None] = field(default_factory=list)

    def trigger_atoms(self) -> list[sympy.Basic]:
        """The comparisons inside the state triggers (queue path: each one's change of value
        is located, so a trigger true only in a window shorter than a step is not missed)."""
        atoms: list[sympy.Basic] = []
        for trigger in self.triggers:
            for atom in sorted(trigger.atoms(sympy.core.relational.Relational), key=str):
                if atom not in atoms:
                    atoms.append(atom)
        return atoms


def _timed_threshold(trigger: sympy.Basic, event_assigned: set[str]) -> sympy.Expr | None:
    """``c`` when ``trigger`` is ``time >= c`` (or ``time > c``) with ``c`` fixed for a run."""
    if isinstance(trigger, sympy.Ge | sympy.Gt):
        lhs, rhs = trigger.lhs, trigger.rhs
    elif isinstance(trigger, sympy.Le | sympy.Lt):
        lhs, rhs = trigger.rhs, trigger.lhs
    else:
        return None
    if lhs != TIME or TIME in rhs.free_symbols:
        return None
    if {s.name for s in rhs.free_symbols} & event_assigned:
        return None
    return rhs


def flatten(model: Model) -> FlatModel:
    """Substitute rules and index every symbol, ready for code generation."""
    model.validate()
    states = model.state_names()
    params = model.parameter_names()
    order = rule_order(model)

    rule_subs: dict[sympy.Symbol, sympy.Expr] = {}
    for var in order:
        rule_subs[sympy.Symbol(var)] = model.assignment_rules[var].expression.xreplace(rule_subs)

    def sub(expr: sympy.Basic) -> sympy.Basic:
        return expr.xreplace(rule_subs) if rule_subs else expr

    state_index = {n: i for i, n in enumerate(states)}
    param_index = {n: i for i, n in enumerate(params)}

    # Right-hand side: reactions (amount/time, divided by the compartment size for
    # concentration species), then rate rules.
    derivs: dict[str, sympy.Expr] = {n: sympy.Integer(0) for n in states}
    for reaction in model.reactions.values():
        rate = sub(reaction.rate)
        for sp_name, coeff in reaction.net_stoichiometry().items():
            if sp_name not in state_index:
                continue  # boundary or constant species
            species = model.species[sp_name]
            term = sympy.Float(coeff) * rate if coeff not in (1.0, -1.0) else int(coeff) * rate
            if not species.amount_based:
                term = term / sympy.Symbol(species.compartment)
            derivs[sp_name] = derivs[sp_name] + term
    for var, rr in model.rate_rules.items():
        derivs[var] = sub(rr.expression)
    rhs = [derivs[n] for n in states]

    # Reported alongside the states: assignment-rule variables, species held at a value
    # (boundary/constant species, which events may still change), parameters and
    # compartments that events change (a drug switch, a treatment flag), then observables.
    event_targets = {a.variable for e in model.events.values() for a in e.assignments}
    held = [n for n in params if n in model.species or n in event_targets]
    output_names = list(order) + held + list(model.observables)
    outputs = [rule_subs[sympy.Symbol(v)] for v in order]
    outputs += [sympy.Symbol(n) for n in held]
    outputs += [sub(o.expression) for o in model.observables.values()]

    # Initial assignments, in dependency order among themselves.
    ia = model.initial_assignments
    ia_deps = {v: {s.name for s in sub(a.expression).free_symbols} & set(ia) for v, a in ia.items()}
    ia_order: list[str] = []
    pending = dict(ia_deps)
    while pending:
        ready = [v for v, d in pending.items() if not (d - set(ia_order))]
        if not ready:
            raise UnsupportedFeatureError(
                f"initial assignments depend on each other in a cycle: {sorted(pending)}"
            )
        for v in ready:
            ia_order.append(v)
            pending.pop(v)
    initial: list[tuple[str, int, sympy.Expr]] = []
    for var in ia_order:
        expr = sub(ia[var].expression)
        if var in state_index:
            initial.append(("y", state_index[var], expr))
        elif var in param_index:
            initial.append(("p", param_index[var], expr))
        else:
            raise UnsupportedFeatureError(
                f"initial assignment to {var!r}, which an assignment rule defines"
            )

    # Events.
    event_assigned = {a.variable for e in model.events.values() for a in e.assignments}
    plan = EventPlan([], [], [], [], [])
    by_priority = any(e.priority is not None for e in model.events.values())
    timed_times: list[sympy.Expr] = []
    triggers: list[sympy.Basic] = []
    assignments: list[list[tuple[str, int, sympy.Expr]]] = []
    for event in model.events.values():
        # With priorities every trigger is located the same way (no timed shortcut), so that
        # `time > 5.5` and `time > 5.5 && x > 0` are due at the same instant and compete.
        threshold = None if by_priority else _timed_threshold(sub(event.trigger), event_assigned)
        plan.names.append(event.name)
        plan.initial_value.append(event.initial_value)
        plan.delayed.append(event.delay is not None or by_priority)
        plan.has_priority.append(event.priority is not None)
        plan.persistent.append(event.persistent)
        plan.values_at_trigger.append(event.use_values_from_trigger_time)
        if threshold is not None:
            plan.timed.append(True)
            plan.timed_index.append(len(timed_times))
            plan.state_index.append(-1)
            timed_times.append(threshold)
        else:
            if isinstance(sub(event.trigger), sympy.Eq | sympy.Ne):
                raise UnsupportedFeatureError(
                    f"event {event.name!r}: triggers using == or != cannot be located in time; "
                    "use <, <=, > or >="
                )
            plan.timed.append(False)
            plan.timed_index.append(-1)
            plan.state_index.append(len(triggers))
            triggers.append(sub(event.trigger))
        targets: list[tuple[str, int, sympy.Expr]] = []
        for a in event.assignments:
            expr = sub(a.expression)
            if a.variable in state_index:
                targets.append(("y", state_index[a.variable], expr))
            else:
                targets.append(("p", param_index[a.variable], expr))
        assignments.append(targets)

    return FlatModel(
        model=model,
        state_names=states,
        parameter_names=params,
        output_names=output_names,
        rhs=rhs,
        outputs=outputs,
        initial=initial,
        events=plan,
        timed_times=timed_times,
        triggers=triggers,
        assignments=assignments,
        uses_time=any(TIME in e.free_symbols for e in rhs),
        delays=[
            sub(e.delay) if e.delay is not None else sympy.Integer(0) if by_priority else None
            for e in model.events.values()
        ],
        priorities=[None if e.priority is None else sub(e.priority) for e in model.events.values()],
    )


class _Indexer:
    def __init__(self, flat: FlatModel) -> None:
        self.mapping: dict[sympy.Symbol, sympy.Symbol] = {TIME: sympy.Symbol("t")}
        self.loads: dict[str, str] = {}
        for i, n in enumerate(flat.state_names):
            self.mapping[sympy.Symbol(n)] = sympy.Symbol(f"y_{i}")
            self.loads[f"y_{i}"] = f"y[{i}]"
        for i, n in enumerate(flat.parameter_names):
            self.mapping[sympy.Symbol(n)] = sympy.Symbol(f"p_{i}")
            self.loads[f"p_{i}"] = f"p[{i}]"

    def __call__(self, expr: sympy.Basic) -> sympy.Basic:
        return expr.xreplace(self.mapping)


def _function(
    name: str,
    args: str,
    exprs: list[sympy.Basic],
    targets: list[str],
    loads: dict[str, str],
    *,
    prologue: str = "",
    as_float: bool = False,
) -> str:
    """Source of one njit function that stores each expression (after CSE) into its target."""
    lines = [CFUNC, f"def {name}({args}):"]
    if prologue:
        lines.append(f"    {prologue}")
    if exprs:
        replacements, reduced = sympy.cse(exprs, symbols=sympy.numbered_symbols("c_"), order="none")
        used: set[str] = set()
        for _, e in replacements:
            used |= {s.name for s in e.free_symbols}
        for e in reduced:
            used |= {s.name for s in e.free_symbols}
        for sym in sorted(used & set(loads), key=lambda s: (s[0], int(s[2:]))):
            lines.append(f"    {sym} = {loads[sym]}")
        for sym, e in replacements:
            lines.append(f"    {sym.name} = {_code(e)}")
        for target, e in zip(targets, reduced, strict=True):
            value = _code(e)
            if as_float:
                value = f"1.0 if ({value}) else 0.0"
            lines.append(f"    {target} = {value}")
    lines.append("    return")
    return "\n".join(lines) + "\n"


def generate_source(flat: FlatModel) -> str:
    """Source of the model module: one numba ``cfunc`` per model function (see rodas.py)."""
    idx = _Indexer(flat)
    loads = dict(idx.loads)
    n_y = len(flat.state_names)
    y_syms = [sympy.Symbol(f"y_{i}") for i in range(n_y)]
    rhs = [idx(e) for e in flat.rhs]

    jac_exprs: list[sympy.Basic] = []
    jac_entries: list[tuple[int, int]] = []
    for i, f in enumerate(rhs):
        for j, yj in enumerate(y_syms):
            # powsimp turns sympy's n*x**n/x into n*x**(n - 1), which is finite at x = 0.
            d = sympy.powsimp(derivative(f, yj))
            if d != 0:
                jac_exprs.append(d)
                jac_entries.append((i, j))
    dfdt_exprs = [derivative(f, sympy.Symbol("t")) for f in rhs] if flat.uses_time else []
    sparse = generate_sparse_lu(n_y, jac_entries)

    parts = [
        f"# Generated by mdrsim {__version__} (codegen {CODEGEN_VERSION}) for model structure "
        f"{flat.model.structure_hash()}; do not edit.\n",
        "import math\n\nimport numpy as np\nfrom numba import cfunc, types\n\n",
        "_PTR = types.CPointer(types.float64)\n",
        "SIG = types.void(types.float64, _PTR, _PTR, _PTR)\n",
        "EVENT_SIG = types.void(types.int64, types.float64, _PTR, _PTR)\n\n",
        f"N_JAC = {sparse.n_jac}\nN_LU = {sparse.n_lu}\nSPARSE_LU = {sparse.available}\n\n\n",
        _function("rhs", "t, y, p, out", rhs, [f"out[{i}]" for i in range(n_y)], loads),
        "\n\n",
        _dense_jacobian(n_y, jac_entries),
        "\n\n",
        _function(
            "jac_sparse",
            "t, y, p, out",
            jac_exprs,
            [f"out[{k}]" for k in range(len(jac_exprs))],
            loads,
        ),
        "\n\n",
        sparse.source if sparse.available else _stub_lu(),
        "\n\n",
        _function(
            "dfdt",
            "t, y, p, out",
            dfdt_exprs,
            [f"out[{i}]" for i in range(len(dfdt_exprs))],
            loads,
            prologue=f"for k in range({n_y}):\n        out[k] = 0.0",
        ),
        "\n\n",
        _function(
            "outputs",
            "t, y, p, out",
            [idx(e) for e in flat.outputs],
            [f"out[{i}]" for i in range(len(flat.outputs))],
            loads,
        ),
        "\n\n",
        _function(
            "timed_event_times",
            "t, y, p, out",
            [idx(e) for e in flat.timed_times],
            [f"out[{i}]" for i in range(len(flat.timed_times))],
            loads,
        ),
        "\n\n",
        _function(
            "triggers",
            "t, y, p, out",
            [idx(e) for e in flat.triggers],
            [f"out[{i}]" for i in range(len(flat.triggers))],
            loads,
            as_float=True,
        ),
        "\n\n",
    ]

    # Initial assignments run one after another, each seeing the previous ones' results,
    # unless the caller set that value explicitly (skip[k]).
    init_lines = [CFUNC, "def initial_assignments(t, y, p, skip):"]
    for k, (kind, index, expr) in enumerate(flat.initial):
        body = _inline(idx(expr), loads)
        init_lines.append(f"    if skip[{k}] == 0.0:")
        for line in body[:-1]:
            init_lines.append(f"        {line}")
        init_lines.append(f"        {kind}[{index}] = {body[-1]}")
    init_lines.append("    return\n")
    parts.append("\n".join(init_lines) + "\n\n")

    # Event assignments: all right-hand sides are computed from the pre-event values
    # before any target is written (SBML semantics).
    ev_lines = [EVENT_CFUNC, "def apply_event(k, t, y, p):"]
    for k, targets in enumerate(flat.assignments):
        ev_lines.append(f"    {'if' if k == 0 else 'elif'} k == {k}:")
        values = []
        for m, (_kind, _index, expr) in enumerate(targets):
            body = _inline(idx(expr), loads, prefix=f"e{m}_")
            ev_lines += [f"        {line}" for line in body[:-1]]
            ev_lines.append(f"        v_{m} = {body[-1]}")
            values.append(m)
        for m, (kind, index, _expr) in enumerate(targets):
            ev_lines.append(f"        {kind}[{index}] = v_{m}")
    ev_lines.append("    return\n")
    parts.append("\n".join(ev_lines) + "\n")
    if flat.events.any_delayed:
        parts.append(_delayed_event_source(flat, idx, loads))
    if flat.events.by_priority:
        parts.append(_priority_source(flat, idx, loads))
    if flat.events.any_delayed:
        atoms = flat.trigger_atoms()
        sig = "types.void(types.int64, types.float64, _PTR, _PTR, _PTR)"
        text = _function(
            "trigger_atoms",
            "k, t, y, p, out",
            [idx(a) for a in atoms],
            [f"out[{i}]" for i in range(len(atoms))],
            loads,
            as_float=True,
        )
        deco = f'@cfunc({sig}, cache=True, nogil=True, error_model="numpy")'
        parts.append("\n\n" + text.replace(CFUNC, deco, 1))
    return "".join(parts)


def _priority_source(flat: FlatModel, idx: _Indexer, loads: dict[str, str]) -> str:
    """``event_priority``: buf[0] = the priority of event k at time t (NaN: none)."""
    sig = "types.void(types.int64, types.float64, _PTR, _PTR, _PTR)"
    lines = [f'@cfunc({sig}, cache=True, nogil=True, error_model="numpy")']
    lines.append("def event_priority(k, t, y, p, buf):")
    lines.append("    buf[0] = math.nan")
    for k, priority in enumerate(flat.priorities):
        if priority is None:
            continue
        lines.append(f"    if k == {k}:")
        body = _inline(idx(priority), loads)
        lines += [f"        {line}" for line in body[:-1]]
        lines.append(f"        buf[0] = {body[-1]}")
    lines.append("    return\n")
    return "\n\n" + "\n".join(lines) + "\n"


def _delayed_event_source(flat: FlatModel, idx: _Indexer, loads: dict[str, str]) -> str:
    """``event_values`` (buf[0] = delay, buf[1:] = assigned values, all at time t) and
    ``event_write`` (store buf[1:] in the targets) for the pending-event queue."""
    sig = "types.void(types.int64, types.float64, _PTR, _PTR, _PTR)"
    deco = f'@cfunc({sig}, cache=True, nogil=True, error_model="numpy")'
    val_lines = [deco, "def event_values(k, t, y, p, buf):"]
    write_lines = [deco, "def event_write(k, t, y, p, buf):"]
    first = True
    for k, targets in enumerate(flat.assignments):
        delay = flat.delays[k]
        if delay is None:
            continue
        head = f"    {'if' if first else 'elif'} k == {k}:"
        first = False
        val_lines.append(head)
        write_lines.append(head)
        for m, expr in enumerate([delay] + [e for _, _, e in targets]):
            body = _inline(idx(expr), loads, prefix=f"e{m}_")
            val_lines += [f"        {line}" for line in body[:-1]]
            val_lines.append(f"        buf[{m}] = {body[-1]}")
        for m, (kind, index, _expr) in enumerate(targets):
            write_lines.append(f"        {kind}[{index}] = buf[{m + 1}]")
    val_lines.append("    return\n")
    write_lines.append("    return\n")
    return "\n\n" + "\n".join(val_lines) + "\n\n" + "\n".join(write_lines) + "\n"


def _dense_jacobian(n_y: int, entries: list[tuple[int, int]]) -> str:
    """``jac(t, jv, unused, out)``: the dense Jacobian (row-major) from ``jac_sparse``'s values.

    The Jacobian's expressions are generated, CSE'd and compiled once, in ``jac_sparse``;
    the dense form (the fallback LU, models too large for the sparse LU, the scipy path) is a
    scatter of those values, so a model no longer pays for compiling its Jacobian twice.
    """
    positions = ", ".join(str(i * n_y + j) for i, j in entries)
    return (
        f"_JAC_POS = np.array([{positions}], dtype=np.int64)\n\n\n"
        f"{CFUNC}\ndef jac(t, jv, unused, out):\n"
        f"    for k in range({n_y * n_y}):\n        out[k] = 0.0\n"
        f"    for k in range({len(entries)}):\n        out[_JAC_POS[k]] = jv[k]\n"
        "    return\n"
    )


def _stub_lu() -> str:
    """Placeholders when the model is too large for straight-line LU: always 'failed'."""
    return (
        f"{CFUNC}\ndef lu_factor(fac, jv, lu, flag):\n"
        "    flag[0] = 0.0\n    return\n\n\n"
        f"{CFUNC}\ndef lu_solve(t, lu, b, unused):\n    return\n"
    )


def _inline(expr: sympy.Basic, loads: dict[str, str], prefix: str = "") -> list[str]:
    """Statements computing ``expr``: loads, CSE temporaries, and the final expression last."""
    replacements, reduced = sympy.cse([expr], symbols=sympy.numbered_symbols(f"{prefix}c_"))
    lines: list[str] = []
    used = {s.name for s in reduced[0].free_symbols}
    for _, e in replacements:
        used |= {s.name for s in e.free_symbols}
    for sym in sorted(used & set(loads)):
        lines.append(f"{sym} = {loads[sym]}")
    for sym, e in replacements:
        lines.append(f"{sym.name} = {_code(e)}")
    lines.append(_code(reduced[0]))
    return lines


def source_key(flat: FlatModel) -> str:
    """Cache key: model structure, codegen, mdrsim and numba versions."""
    h = hashlib.sha256()
    for piece in (
        flat.model.structure_hash(),
        CODEGEN_VERSION,
        __version__,
        numba.__version__,
    ):
        h.update(piece.encode())
        h.update(b"\0")
    if flat.events.any_delayed:
        # Layout of the pending-queue functions (models without delays keep their keys).
        h.update(f"queue {QUEUE_LAYOUT}".encode())
    return h.hexdigest()[:24]
