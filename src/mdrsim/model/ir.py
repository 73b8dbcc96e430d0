"""The model intermediate representation (IR): plain, immutable data.

A :class:`Model` is what biology modules build, what Antimony/SBML import produces, what SBML
export writes and what the compiler turns into fast code. It holds no behaviour beyond
validation and hashing; simulation lives in :mod:`mdrsim.engine`.

Semantics follow SBML Level 3 where the two overlap, so that export and import are faithful:

- A species' symbol means its concentration (amount / compartment size) unless
  ``amount_based`` is true. A reaction's rate is an amount per unit time, so for a
  concentration-based species ``d[S]/dt = sum(stoichiometry * rate) / compartment size``.
- Assignment rules define a variable at every instant; rate rules give its time derivative.
- Events fire when their trigger goes from false to true and assign new values at once
  (no delays).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import sympy

from mdrsim.errors import PhysicalBoundsError, UnknownNameError
from mdrsim.model.domain import Domain
from mdrsim.model.expressions import TIME, free_names

_EMPTY_SOURCE = ""


@dataclass(frozen=True)
class Compartment:
    """A well-mixed volume of constant size."""

    name: str
    size: float = 1.0
    unit: str = "L"
    description: str = ""
    source: str = _EMPTY_SOURCE
    domain: Domain | None = None  # declared physical range of the size (a volume: > 0)


@dataclass(frozen=True)
class Species:
    """A quantity that reactions, rate rules or events change.

    ``initial`` is a concentration, or an amount when ``amount_based`` is true.
    ``non_negative`` declares that the quantity cannot go below zero: an input below zero is
    refused and a solution that goes meaningfully negative fails with a reason. ``domain``
    declares a narrower range (an upper bound); :attr:`allowed` is what applies.
    A ``boundary`` species is not changed by reactions (it may still have rules or events).
    """

    name: str
    initial: float
    compartment: str
    unit: str = "dimensionless"
    non_negative: bool = True
    amount_based: bool = False
    boundary: bool = False
    constant: bool = False
    description: str = ""
    source: str = _EMPTY_SOURCE
    domain: Domain | None = None

    @property
    def allowed(self) -> Domain | None:
        """The declared physical range: ``domain``, else ``>= 0`` when ``non_negative``."""
        if self.domain is not None:
            return self.domain
        return Domain(0.0, why="declared non-negative") if self.non_negative else None


@dataclass(frozen=True)
class Parameter:
    """A named number with a unit, optional bounds and where it comes from.

    ``constant`` is false when a rule or event changes it during a simulation. ``bounds`` are
    the SBML/fitting bounds a file may carry; ``domain`` is the declared physical range (see
    :mod:`mdrsim.model.domain`) that every input of this parameter is checked against.
    """

    name: str
    value: float
    unit: str = "dimensionless"
    bounds: tuple[float, float] | None = None
    source: str = _EMPTY_SOURCE
    description: str = ""
    constant: bool = True
    domain: Domain | None = None

    @property
    def allowed(self) -> Domain | None:
        """The declared physical range: ``domain``, else the closed ``bounds`` if any."""
        if self.domain is not None:
            return self.domain
        if self.bounds is not None:
            return Domain(float(self.bounds[0]), float(self.bounds[1]), why="the model's bounds")
        return None


@dataclass(frozen=True)
class Reaction:
    """A reaction with a rate law (amount per time) and stoichiometries by species name."""

    name: str
    rate: sympy.Expr
    reactants: Mapping[str, float] = field(default_factory=dict)
    products: Mapping[str, float] = field(default_factory=dict)
    reversible: bool = False
    description: str = ""

    def net_stoichiometry(self) -> dict[str, float]:
        """Net change of each species per unit of reaction extent."""
        net: dict[str, float] = {}
        for name, coeff in self.reactants.items():
            net[name] = net.get(name, 0.0) - float(coeff)
        for name, coeff in self.products.items():
            net[name] = net.get(name, 0.0) + float(coeff)
        return {k: v for k, v in net.items() if v != 0.0}


@dataclass(frozen=True)
class AssignmentRule:
    """``variable = expression`` at every instant."""

    variable: str
    expression: sympy.Expr


@dataclass(frozen=True)
class RateRule:
    """``d variable / dt = expression``."""

    variable: str
    expression: sympy.Expr


@dataclass(frozen=True)
class InitialAssignment:
    """``variable = expression`` evaluated once, at the start of a simulation."""

    variable: str
    expression: sympy.Expr


@dataclass(frozen=True)
class Observable:
    """A named quantity computed from the state, reported alongside it."""

    name: str
    expression: sympy.Expr
    unit: str = "dimensionless"
    description: str = ""


@dataclass(frozen=True)
class EventAssignment:
    variable: str
    expression: sympy.Expr


@dataclass(frozen=True)
class Event:
    """Assignments carried out at the instant ``trigger`` becomes true.

    A trigger of the form ``time >= c`` (``c`` built from constant parameters) is a *timed*
    event: the engine stops exactly at ``c``. Any other trigger is *state-triggered* and located
    by root-finding. ``initial_value`` is the trigger's value assumed just before the start, so
    a trigger already true at the start fires only when ``initial_value`` is false.

    ``delay`` (SBML ``<delay>``): evaluated when the trigger becomes true; the assignments are
    carried out that long afterwards. Their values are computed at the trigger time when
    ``use_values_from_trigger_time`` (SBML's default), else at the execution time. A pending
    execution of a non-``persistent`` event is dropped if its trigger becomes false first.
    """

    name: str
    trigger: sympy.Basic
    assignments: tuple[EventAssignment, ...]
    initial_value: bool = True
    persistent: bool = True
    description: str = ""
    delay: sympy.Expr | None = None
    use_values_from_trigger_time: bool = True
    #: SBML <priority>, kept only where the order of events due at one instant matters (the
    #: engine then orders them by it and fails a patient on a tie; see engine/pending.py).
    priority: sympy.Expr | None = None


def _freeze(mapping: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class Model:
    """A complete model. Build one with :class:`mdrsim.model.ModelBuilder` or an importer."""

    name: str
    compartments: Mapping[str, Compartment]
    species: Mapping[str, Species]
    parameters: Mapping[str, Parameter]
    reactions: Mapping[str, Reaction] = field(default_factory=dict)
    assignment_rules: Mapping[str, AssignmentRule] = field(default_factory=dict)
    rate_rules: Mapping[str, RateRule] = field(default_factory=dict)
    initial_assignments: Mapping[str, InitialAssignment] = field(default_factory=dict)
    observables: Mapping[str, Observable] = field(default_factory=dict)
    events: Mapping[str, Event] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        for attr in (
            "compartments",
            "species",
            "parameters",
            "reactions",
            "assignment_rules",
            "rate_rules",
            "initial_assignments",
            "observables",
            "events",
        ):
            object.__setattr__(self, attr, _freeze(getattr(self, attr)))

    # -- structure -----------------------------------------------------------------------

    def state_names(self) -> list[str]:
        """Names integrated by the ODE engine, in state-vector order.

        Species changed by reactions or rate rules come first (model order), then
        parameters and compartments with rate rules.
        """
        changed_by_reaction = {s for r in self.reactions.values() for s in r.net_stoichiometry()}
        states = [
            s.name
            for s in self.species.values()
            if s.name not in self.assignment_rules
            and (
                s.name in self.rate_rules
                or (s.name in changed_by_reaction and not s.boundary and not s.constant)
            )
        ]
        states += [p for p in self.parameters if p in self.rate_rules]
        states += [c for c in self.compartments if c in self.rate_rules]
        return states

    def parameter_names(self) -> list[str]:
        """Names in the engine's parameter vector, in order.

        All parameters without rules, then compartments, then species that are neither
        states nor rule targets (constant or boundary species held at their value).
        """
        states = set(self.state_names())
        ruled = set(self.assignment_rules) | states
        names = [p for p in self.parameters if p not in ruled]
        names += [c for c in self.compartments if c not in ruled]
        names += [s for s in self.species if s not in ruled]
        return names

    def defined_names(self) -> set[str]:
        return set(self.compartments) | set(self.species) | set(self.parameters)

    def value_of(self, name: str) -> float:
        """The declared (initial) number of a compartment, species or parameter."""
        if name in self.parameters:
            return self.parameters[name].value
        if name in self.species:
            return self.species[name].initial
        if name in self.compartments:
            return self.compartments[name].size
        # A model symbol (compartment, species or parameter); also a KeyError, as it was.
        raise UnknownNameError(
            "model symbol",
            name,
            [*self.compartments, *self.species, *self.parameters],
        )

    def domain_of(self, name: str) -> Domain | None:
        """The declared physical range of a compartment, species or parameter (``None``: none
        declared). Nothing is inferred from the name or the unit."""
        if name in self.parameters:
            return self.parameters[name].allowed
        if name in self.species:
            return self.species[name].allowed
        if name in self.compartments:
            return self.compartments[name].domain
        return None

    def check_values(self, values: Mapping[str, object], what: str = "value") -> None:
        """Raise :class:`~mdrsim.errors.PhysicalBoundsError` for the first value (a number or
        an array, one per patient) outside its name's declared range, naming the field, the
        value and the range. A bound given by another name (``tum_K``) uses that name's value
        in ``values`` when present, else the model's own."""
        for name, value in values.items():
            domain = self.domain_of(name)
            if domain is None:
                continue
            v = np.atleast_1d(np.asarray(value, dtype=float))
            upper = None
            if domain.upper_name is not None:
                if domain.upper_name in values:
                    upper = np.broadcast_to(
                        np.asarray(values[domain.upper_name], dtype=float), v.shape
                    )
                elif domain.upper_name in self.defined_names():
                    upper = np.full(v.shape, self.value_of(domain.upper_name))
            ok = domain.inside(v, upper)
            if not ok.all():
                k = int(np.argmin(ok))
                hi = None if upper is None else float(upper[k])
                where = f" (patient {k})" if v.size > 1 else ""
                raise PhysicalBoundsError(f"{what} {domain.problem(name, float(v[k]), hi)}{where}")

    def unit_of(self, name: str) -> str:
        for group in (self.parameters, self.species, self.compartments, self.observables):
            if name in group:
                return str(group[name].unit)
        return "dimensionless"

    def uses_time(self) -> bool:
        exprs: list[sympy.Basic] = [r.rate for r in self.reactions.values()]
        exprs += [r.expression for r in self.assignment_rules.values()]
        exprs += [r.expression for r in self.rate_rules.values()]
        return any(TIME in e.free_symbols for e in exprs)

    def validate(self) -> Model:
        """Raise :class:`~mdrsim.errors.ModelValidationError` listing every problem."""
        from mdrsim.model.validation import validate_model

        validate_model(self)
        return self

    # -- identity ------------------------------------------------------------------------

    def canonical(self) -> dict[str, object]:
        """A JSON-able description from which the model hash is computed."""

        def expr(e: sympy.Basic) -> str:
            return sympy.srepr(e)

        return {
            "name": self.name,
            "compartments": [[c.name, _num(c.size)] for c in self.compartments.values()],
            "species": [
                [s.name, _num(s.initial), s.compartment, s.amount_based, s.boundary, s.constant]
                for s in self.species.values()
            ],
            "parameters": [[p.name, _num(p.value), p.constant] for p in self.parameters.values()],
            "reactions": [
                [
                    r.name,
                    expr(r.rate),
                    sorted((k, float(v)) for k, v in r.reactants.items()),
                    sorted((k, float(v)) for k, v in r.products.items()),
                ]
                for r in self.reactions.values()
            ],
            "assignment_rules": [
                [r.variable, expr(r.expression)] for r in self.assignment_rules.values()
            ],
            "rate_rules": [[r.variable, expr(r.expression)] for r in self.rate_rules.values()],
            "initial_assignments": [
                [r.variable, expr(r.expression)] for r in self.initial_assignments.values()
            ],
            "observables": [[o.name, expr(o.expression)] for o in self.observables.values()],
            "events": [
                [
                    e.name,
                    expr(e.trigger),
                    [[a.variable, expr(a.expression)] for a in e.assignments],
                    e.initial_value,
                ]
                # Delayed events only (so that the hash of every other model is unchanged).
                + (
                    [expr(e.delay), e.use_values_from_trigger_time, e.persistent]
                    if e.delay is not None
                    else []
                )
                + (["priority", expr(e.priority)] if e.priority is not None else [])
                for e in self.events.values()
            ],
        }

    @functools.cached_property
    def _structure_hash(self) -> str:
        canon = self.canonical()
        canon.pop("name")
        canon["compartments"] = list(self.compartments)
        canon["species"] = [
            [s.name, s.compartment, s.amount_based, s.boundary, s.constant]
            for s in self.species.values()
        ]
        canon["parameters"] = [[p.name, p.constant] for p in self.parameters.values()]
        return _sha(canon)

    def structure_hash(self) -> str:
        """Hash of what the compiled code depends on (structure, not numbers).

        Values of parameters and initial states are inputs of the compiled code, so changing
        them does not require a recompile; everything else does. Computed once: the model is
        immutable, and hashing goes through sympy printing (milliseconds per call).
        """
        return self._structure_hash

    @functools.cached_property
    def _content_hash(self) -> str:
        return _sha(self.canonical())

    def content_hash(self) -> str:
        """Hash of the whole model, numbers included (for provenance); computed once."""
        return self._content_hash

    def referenced_names(self) -> set[str]:
        names: set[str] = set()
        for r in self.reactions.values():
            names |= free_names(r.rate)
        for group in (self.assignment_rules, self.rate_rules, self.initial_assignments):
            for rule in group.values():
                names |= free_names(rule.expression)
        for o in self.observables.values():
            names |= free_names(o.expression)
        for e in self.events.values():
            names |= free_names(e.trigger)
            for extra in (e.delay, e.priority):
                if extra is not None:
                    names |= free_names(extra)
            for a in e.assignments:
                names |= free_names(a.expression)
        return names


def _num(x: float) -> str:
    return repr(float(x)) if math.isfinite(x) else str(x)


def _sha(obj: object) -> str:
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:20]
