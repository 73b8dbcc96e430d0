"""Forward sensitivities as an augmented model.

For ``dy/dt = f(t, y, p)`` and a direction ``v`` in parameter space, the directional
sensitivity ``s = (dy/dp) v`` obeys

    ds/dt = J(t, y, p) s + (df/dp) v,        s(0) = (dy0/dp) v + (dy0/dy) s(0)

(the last term chains initial assignments that read other states). :func:`sensitivity_model`
writes this system, symbolically with sympy from the model IR, as a new :class:`Model` whose
states are ``y`` followed by ``s`` and whose parameters are ``p`` followed by the direction
``v``. The existing compiler then generates its right-hand side *and* Jacobian, and the batched
Rosenbrock engine integrates it with error control on ``y`` and ``s`` together. One compiled
augmented model serves every direction: a gradient over ``K`` parameters and ``C`` conditions is
one batch of ``C × K`` patients, each carrying ``y`` and one column of ``dy/dp``.

Discontinuities: the sensitivities jump at events and at switches whose time depends on a
parameter. Neither is handled yet, so such models are refused for gradients with
:class:`~mdrsim.errors.UnsupportedFeatureError` (their objective can still be evaluated).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from mdrsim.engine.codegen import flatten
from mdrsim.errors import UnsupportedFeatureError
from mdrsim.model.ir import InitialAssignment, Model, Parameter, RateRule

#: Above this many states the symbolic Jacobian of the augmented model gets slow to generate.
MAX_STATES = 200

_S_PREFIX = "mdrsim_sens_"
_D_PREFIX = "mdrsim_dir_"


@dataclass(frozen=True)
class SensitivityModel:
    """The augmented model and how its vectors line up with the original's."""

    model: Model
    state_names: list[str]  # original states (the first half of the augmented states)
    sensitivity_names: list[str]  # s_i, the second half, in the same order
    parameter_names: list[str]  # original engine parameters
    direction_names: list[str]  # one per entry of ``directions`` below
    directions: list[str]  # original parameters the direction vector may move


def _discontinuities(expr: sympy.Basic) -> list[sympy.Basic]:
    found: list[sympy.Basic] = []
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, sympy.Piecewise):
            found += [cond for _, cond in node.args]
        elif isinstance(node, sympy.Heaviside | sympy.floor | sympy.ceiling | sympy.sign):
            found.append(node)
    return found


def sensitivity_model(
    model: Model, directions: list[str], *, max_states: int = MAX_STATES
) -> SensitivityModel:
    """Build the forward-sensitivity system of ``model`` for parameters ``directions``.

    ``directions`` are names of the model's engine parameters (see
    :meth:`Model.parameter_names`). Refuses models with events, with switches (piecewise,
    Heaviside) whose condition depends on one of ``directions``, and models with more than
    ``max_states`` states.
    """
    flat = flatten(model)
    qnames = set(directions)
    for event, timed, targets in zip(
        model.events.values(), flat.events.timed, flat.assignments, strict=True
    ):
        # Sensitivities stay continuous across an event that fires at a time independent of
        # the parameters and only sets parameters to numbers (a switch of the right-hand
        # side); any other event makes them jump, which is not implemented yet.
        trigger_names = {s.name for s in event.trigger.free_symbols} - {"time"}
        if not (
            timed
            and not (trigger_names & qnames)
            and all(kind == "p" and not expr.free_symbols for kind, _, expr in targets)
        ):
            raise UnsupportedFeatureError(
                f"forward sensitivities: event {event.name!r} of model {model.name!r} changes "
                "states or fires at a parameter-dependent time; sensitivities jump there and "
                "that is not implemented yet"
            )
    states = flat.state_names
    params = flat.parameter_names
    if len(states) > max_states:
        raise UnsupportedFeatureError(
            f"forward sensitivities: {len(states)} states exceed the limit of {max_states} "
            "for the symbolic augmented model"
        )
    unknown = [d for d in directions if d not in params]
    if unknown:
        raise UnsupportedFeatureError(
            f"forward sensitivities: {unknown} are not free parameters of the model "
            "(rule targets or states)"
        )
    y = [sympy.Symbol(n) for n in states]
    q = [sympy.Symbol(n) for n in directions]
    qset = set(q)
    taken = model.defined_names()
    s_names = [f"{_S_PREFIX}{n}" for n in states]
    d_names = [f"{_D_PREFIX}{n}" for n in directions]
    clash = (set(s_names) | set(d_names)) & taken
    if clash:
        raise UnsupportedFeatureError(f"forward sensitivities: names already used: {sorted(clash)}")
    s = [sympy.Symbol(n) for n in s_names]
    v = [sympy.Symbol(n) for n in d_names]

    for i, f in enumerate(flat.rhs):
        for cond in _discontinuities(f):
            if cond.free_symbols & qset:
                raise UnsupportedFeatureError(
                    f"forward sensitivities: the right-hand side of {states[i]!r} switches at a "
                    f"point that depends on an estimated parameter ({cond}); the sensitivity "
                    "jump there is not implemented"
                )
    for kind, index, expr in flat.initial:
        if kind == "p" and expr.free_symbols & (qset | set(y)):
            raise UnsupportedFeatureError(
                f"forward sensitivities: parameter {params[index]!r} has an initial assignment "
                "depending on an estimated parameter or a state; not supported"
            )

    y_index = {sym: i for i, sym in enumerate(y)}
    rhs_s: list[sympy.Expr] = []
    for f in flat.rhs:
        free = f.free_symbols
        term = sympy.Integer(0)
        for sym in free:
            if sym in y_index:
                term += sympy.diff(f, sym) * s[y_index[sym]]
        for qk, vk in zip(q, v, strict=True):
            if qk in free:
                term += sympy.diff(f, qk) * vk
        rhs_s.append(term)

    parameters: dict[str, Parameter] = {}
    for name in params:
        constant = model.parameters[name].constant if name in model.parameters else True
        parameters[name] = Parameter(name, model.value_of(name), constant=constant)
    for name in d_names:
        parameters[name] = Parameter(name, 0.0)
    rate_rules: dict[str, RateRule] = {}
    for i, name in enumerate(states):
        parameters[name] = Parameter(name, model.value_of(name), constant=False)
        rate_rules[name] = RateRule(name, flat.rhs[i])
    for i, name in enumerate(s_names):
        parameters[name] = Parameter(name, 0.0, constant=False)
        rate_rules[name] = RateRule(name, rhs_s[i])

    initial: dict[str, InitialAssignment] = {}
    for kind, index, expr in flat.initial:
        if kind == "p":
            name = params[index]
            initial[name] = InitialAssignment(name, expr)
            continue
        name = states[index]
        initial[name] = InitialAssignment(name, expr)
        ds = sympy.Integer(0)
        free = expr.free_symbols
        for sym in free:
            if sym in y_index:
                ds += sympy.diff(expr, sym) * s[y_index[sym]]
        for qk, vk in zip(q, v, strict=True):
            if qk in free:
                ds += sympy.diff(expr, qk) * vk
        initial[s_names[index]] = InitialAssignment(s_names[index], ds)

    aug = Model(
        name=f"{model.name}__forward_sensitivities",
        compartments={},
        species={},
        parameters=parameters,
        rate_rules=rate_rules,
        initial_assignments=initial,
        events=dict(model.events),
        description=f"forward sensitivities of {model.name} along {len(directions)} parameters",
    )
    if aug.state_names() != [*states, *s_names]:  # pragma: no cover - IR ordering contract
        raise AssertionError("augmented state order differs from the expected layout")
    if aug.parameter_names() != [*params, *d_names]:  # pragma: no cover
        raise AssertionError("augmented parameter order differs from the expected layout")
    return SensitivityModel(aug, list(states), s_names, list(params), d_names, list(directions))
