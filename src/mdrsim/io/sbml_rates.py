"""SBML's ``rateOf`` csymbol: replaced by the rate of change it names.

``rateOf(x)`` (SBML Level 3 Version 2, section 3.4.6) is the instantaneous rate of change of
``x`` in the model's own terms: the right-hand side of its rate rule, the net reaction rate of a
species changed by reactions (divided by the compartment size for a concentration), and 0 for
anything that does not change continuously. The importer replaces every ``rateOf(x)`` by that
expression, so the engine never sees the csymbol. ``x`` defined by an assignment rule (whose
rate is the time derivative of the rule) is refused, as is a ``rateOf`` that depends on itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import sympy

from mdrsim.errors import UnsupportedSBMLFeatureError
from mdrsim.model.ir import Model

__all__ = ["RATE_OF", "substitute_rate_of"]

#: The placeholder the math reader builds for ``rateOf(x)``.
RATE_OF = sympy.Function("rateOf")

_FEATURE = "rateOf csymbol"


def _uses_rate_of(expr: sympy.Basic) -> bool:
    return bool(expr.atoms(sympy.core.function.AppliedUndef)) and any(
        f.func == RATE_OF for f in expr.atoms(sympy.core.function.AppliedUndef)
    )


def _derivatives(model: Model) -> dict[str, sympy.Basic]:
    derivatives: dict[str, sympy.Basic] = {}
    for reaction in model.reactions.values():
        for name, coeff in reaction.net_stoichiometry().items():
            species = model.species[name]
            if species.boundary or species.constant or name in model.rate_rules:
                continue
            term = sympy.Float(coeff) * reaction.rate
            if not species.amount_based:
                term = term / sympy.Symbol(species.compartment)
            derivatives[name] = derivatives.get(name, sympy.Integer(0)) + term
    for name, rule in model.rate_rules.items():
        derivatives[name] = rule.expression
    return derivatives


def substitute_rate_of(model: Model, concentration_species: set[str] | None = None) -> Model:
    """``model`` with every ``rateOf(x)`` replaced; raises where that is not possible.

    ``concentration_species``: species the importer integrates as amounts although the math
    means their concentration (in a compartment of varying size); their rateOf is refused.
    """
    refused = concentration_species or set()
    exprs: list[sympy.Basic] = [r.rate for r in model.reactions.values()]
    exprs += [r.expression for r in model.assignment_rules.values()]
    exprs += [r.expression for r in model.rate_rules.values()]
    exprs += [r.expression for r in model.initial_assignments.values()]
    exprs += [o.expression for o in model.observables.values()]
    for e in model.events.values():
        exprs += [e.trigger, *(a.expression for a in e.assignments)]
        exprs += [x for x in (e.delay, e.priority) if x is not None]
    if not any(_uses_rate_of(e) for e in exprs):
        return model
    derivatives = _derivatives(model)
    known = model.defined_names()

    def rate_of(arg: sympy.Basic) -> sympy.Basic:
        if not isinstance(arg, sympy.Symbol) or arg.name not in known:
            raise UnsupportedSBMLFeatureError(
                f"rateOf({arg}): the argument must name a species, compartment or parameter",
                _FEATURE,
            )
        if arg.name in refused:
            raise UnsupportedSBMLFeatureError(
                f"rateOf({arg.name}): the concentration of {arg.name!r} changes with the size "
                "of its compartment, which changes too; not supported",
                _FEATURE,
            )
        if arg.name in model.assignment_rules:
            raise UnsupportedSBMLFeatureError(
                f"rateOf({arg.name}): {arg.name!r} is defined by an assignment rule; mdrsim "
                "takes rateOf only of quantities with a rate rule, changed by reactions, or "
                "constant between events",
                _FEATURE,
            )
        return derivatives.get(arg.name, sympy.Integer(0))

    def expand(expr: sympy.Basic) -> sympy.Basic:
        for _ in range(len(derivatives) + 2):
            if not _uses_rate_of(expr):
                return expr
            expr = expr.replace(RATE_OF, rate_of)
        raise UnsupportedSBMLFeatureError(
            "rateOf: the rates of change depend on each other in a cycle", _FEATURE
        )

    return _map_all(model, expand)


def _map_all(model: Model, fn: Callable[[sympy.Basic], sympy.Basic]) -> Model:
    def group(items: Any) -> dict[str, Any]:
        return {k: replace(v, expression=fn(v.expression)) for k, v in items.items()}

    return replace(
        model,
        reactions={k: replace(r, rate=fn(r.rate)) for k, r in model.reactions.items()},
        assignment_rules=group(model.assignment_rules),
        rate_rules=group(model.rate_rules),
        initial_assignments=group(model.initial_assignments),
        observables=group(model.observables),
        events={
            k: replace(
                e,
                trigger=fn(e.trigger),
                delay=None if e.delay is None else fn(e.delay),
                priority=None if e.priority is None else fn(e.priority),
                assignments=tuple(replace(a, expression=fn(a.expression)) for a in e.assignments),
            )
            for k, e in model.events.items()
        },
    )
