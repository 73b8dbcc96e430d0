"""Checks that a :class:`~mdrsim.model.ir.Model` can be simulated, with readable messages."""

from __future__ import annotations

import math
from collections.abc import Iterable

import sympy

from mdrsim.errors import ModelValidationError
from mdrsim.model.expressions import RESERVED_NAMES, did_you_mean, free_names, is_model_name
from mdrsim.model.ir import Model


def rule_order(model: Model) -> list[str]:
    """Assignment-rule variables in an order where each comes after what it uses.

    Raises :class:`ModelValidationError` naming the cycle when rules depend on each other.
    """
    deps = {
        var: free_names(rule.expression) & set(model.assignment_rules)
        for var, rule in model.assignment_rules.items()
    }
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = visiting, 2 = done

    def visit(var: str, path: list[str]) -> None:
        if state.get(var) == 2:
            return
        if state.get(var) == 1:
            cycle = [*path[path.index(var) :], var]
            raise ModelValidationError([f"assignment rules form a cycle: {' -> '.join(cycle)}"])
        state[var] = 1
        for dep in sorted(deps[var]):
            visit(dep, [*path, var])
        state[var] = 2
        order.append(var)

    for var in model.assignment_rules:
        visit(var, [])
    return order


def _finite(problems: list[str], what: str, value: float) -> None:
    if not isinstance(value, int | float) or not math.isfinite(value):
        problems.append(f"{what} must be a finite number, got {value!r}")


def _check_names(problems: list[str], model: Model) -> None:
    seen: dict[str, str] = {}
    groups: Iterable[tuple[str, Iterable[str]]] = (
        ("compartment", model.compartments),
        ("species", model.species),
        ("parameter", model.parameters),
        ("reaction", model.reactions),
        ("observable", model.observables),
        ("event", model.events),
    )
    for kind, names in groups:
        for name in names:
            if not is_model_name(name):
                problems.append(
                    f"{kind} name {name!r} is not a valid identifier "
                    "(letters, digits and _; not starting with a digit)"
                )
            if name in RESERVED_NAMES:
                problems.append(f"{kind} name {name!r} is reserved")
            if name in seen:
                problems.append(f"duplicate name {name!r}: used by a {seen[name]} and a {kind}")
            else:
                seen[name] = kind


def validate_model(model: Model) -> None:
    """Collect every problem in ``model`` and raise them together."""
    problems: list[str] = []
    _check_names(problems, model)
    defined = model.defined_names()
    known = defined | {"time"}

    for c in model.compartments.values():
        _finite(problems, f"compartment {c.name!r} size", c.size)
        if math.isfinite(c.size) and c.size <= 0:
            problems.append(f"compartment {c.name!r} size must be > 0, got {c.size}")
    for s in model.species.values():
        _finite(problems, f"species {s.name!r} initial value", s.initial)
        if s.compartment not in model.compartments:
            problems.append(
                f"species {s.name!r} is in undefined compartment {s.compartment!r}"
                + did_you_mean(s.compartment, model.compartments)
            )
    # A declared physical range holds for the model's own numbers too (a mistyped default
    # is caught when the model is built, not when a patient is sampled).
    declared = [
        *((f"compartment {c.name!r}", c.size, c.domain) for c in model.compartments.values()),
        *((f"species {s.name!r}", s.initial, s.domain) for s in model.species.values()),
        *((f"parameter {p.name!r}", p.value, p.domain) for p in model.parameters.values()),
    ]
    for what, value, domain in declared:
        if domain is None or not math.isfinite(value):
            continue
        upper = model.value_of(domain.upper_name) if domain.upper_name in defined else None
        problem = domain.problem(what, value, upper)
        if problem:
            problems.append(problem)
    for p in model.parameters.values():
        _finite(problems, f"parameter {p.name!r} value", p.value)
        if p.bounds is not None:
            lo, hi = p.bounds
            if not lo <= hi:
                problems.append(f"parameter {p.name!r} bounds {p.bounds} have lower > upper")
            elif math.isfinite(p.value) and not lo <= p.value <= hi:
                problems.append(
                    f"parameter {p.name!r} value {p.value} is outside bounds {p.bounds}"
                )

    def check_expr(expr: sympy.Basic, where: str) -> None:
        for name in sorted(free_names(expr) - known):
            problems.append(f"{where} uses undefined symbol {name!r}" + did_you_mean(name, known))
        for num in expr.atoms(sympy.Number):
            if not num.is_finite:
                problems.append(f"{where} contains the non-finite number {num}")
        # 1/0 is sympy's complex infinity and sqrt(-1) its imaginary unit: neither is a
        # Number atom, and a model holding one would run with a meaningless value.
        if expr.has(sympy.zoo):
            problems.append(f"{where} divides by zero (complex infinity)")
        if expr.has(sympy.I):
            problems.append(f"{where} is not real (square root of a negative number)")

    for r in model.reactions.values():
        check_expr(r.rate, f"rate of reaction {r.name!r}")
        for role, group in (("reactant", r.reactants), ("product", r.products)):
            for sp, coeff in group.items():
                if sp not in model.species:
                    problems.append(
                        f"reaction {r.name!r} {role} {sp!r} is not a species"
                        + did_you_mean(sp, model.species)
                    )
                elif model.species[sp].constant and not model.species[sp].boundary:
                    problems.append(
                        f"reaction {r.name!r} changes species {sp!r}, which is constant "
                        "(make it a boundary species or not constant)"
                    )
                _finite(problems, f"reaction {r.name!r} stoichiometry of {sp!r}", coeff)

    changed_by_reaction = {
        s
        for r in model.reactions.values()
        for s in r.net_stoichiometry()
        if s in model.species and not model.species[s].boundary
    }

    def check_target(var: str, where: str, *, allow_constant: bool = False) -> None:
        if var not in defined:
            problems.append(
                f"{where} targets undefined symbol {var!r}" + did_you_mean(var, defined)
            )
            return
        if not allow_constant:
            obj = model.parameters.get(var) or model.species.get(var)
            if obj is not None and obj.constant:
                problems.append(f"{where} changes {var!r}, which is declared constant")

    for var, ar in model.assignment_rules.items():
        check_target(var, f"assignment rule for {var!r}")
        check_expr(ar.expression, f"assignment rule for {var!r}")
        if var in model.rate_rules:
            problems.append(f"{var!r} has both an assignment rule and a rate rule")
        if var in changed_by_reaction:
            problems.append(f"{var!r} has an assignment rule and is changed by reactions")
        if var in model.initial_assignments:
            problems.append(f"{var!r} has both an assignment rule and an initial assignment")
    for var, rr in model.rate_rules.items():
        check_target(var, f"rate rule for {var!r}")
        check_expr(rr.expression, f"rate rule for {var!r}")
        if var in changed_by_reaction:
            problems.append(
                f"{var!r} has a rate rule and is changed by reactions (make it a boundary species)"
            )
    for var, ia in model.initial_assignments.items():
        check_target(var, f"initial assignment for {var!r}", allow_constant=True)
        check_expr(ia.expression, f"initial assignment for {var!r}")
    for o in model.observables.values():
        check_expr(o.expression, f"observable {o.name!r}")
    for e in model.events.values():
        check_expr(e.trigger, f"trigger of event {e.name!r}")
        if not isinstance(e.trigger, sympy.logic.boolalg.Boolean):
            problems.append(f"trigger of event {e.name!r} must be a condition, got {e.trigger}")
        if not e.assignments:
            problems.append(f"event {e.name!r} has no assignments")
        if e.delay is not None:
            check_expr(e.delay, f"delay of event {e.name!r}")
        if e.priority is not None:
            check_expr(e.priority, f"priority of event {e.name!r}")
        for a in e.assignments:
            check_target(a.variable, f"event {e.name!r} assignment")
            check_expr(a.expression, f"event {e.name!r} assignment to {a.variable!r}")
            if a.variable in model.assignment_rules:
                problems.append(
                    f"event {e.name!r} assigns {a.variable!r}, which an assignment rule defines"
                )

    if problems:
        raise ModelValidationError(problems)
    rule_order(model)  # raises on cycles
