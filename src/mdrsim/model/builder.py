"""A small fluent builder that biology modules and users call to assemble a :class:`Model`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias

import sympy

from mdrsim.errors import ModelValidationError
from mdrsim.model.domain import Domain
from mdrsim.model.expressions import as_expression
from mdrsim.model.ir import (
    AssignmentRule,
    Compartment,
    Event,
    EventAssignment,
    InitialAssignment,
    Model,
    Observable,
    Parameter,
    RateRule,
    Reaction,
    Species,
)

ExprLike: TypeAlias = str | float | int | sympy.Basic


class ModelBuilder:
    """Collects components, then :meth:`build` validates and returns an immutable Model.

    Formulas may be given as text (parsed safely, never evaluated) or sympy expressions::

        b = ModelBuilder("pk")
        b.compartment("central", size=1.0, unit="L")
        b.species("C", initial=10.0, compartment="central", unit="uM")
        b.parameter("k_el", 0.5, unit="1/d", source="assumed: illustrative")
        b.reaction("elimination", rate="k_el*C*central", reactants={"C": 1})
        model = b.build()
    """

    def __init__(self, name: str = "model", description: str = "") -> None:
        self.name = name
        self.description = description
        self._compartments: dict[str, Compartment] = {}
        self._species: dict[str, Species] = {}
        self._parameters: dict[str, Parameter] = {}
        self._reactions: dict[str, Reaction] = {}
        self._assignment_rules: dict[str, AssignmentRule] = {}
        self._rate_rules: dict[str, RateRule] = {}
        self._initial_assignments: dict[str, InitialAssignment] = {}
        self._observables: dict[str, Observable] = {}
        self._events: dict[str, Event] = {}

    def _claim(self, name: str, kind: str) -> None:
        for other_kind, group in (
            ("compartment", self._compartments),
            ("species", self._species),
            ("parameter", self._parameters),
            ("reaction", self._reactions),
            ("observable", self._observables),
            ("event", self._events),
        ):
            if name in group:
                raise ModelValidationError(
                    [
                        f"duplicate name {name!r}: already used by a {other_kind}, "
                        f"cannot add a {kind}"
                    ]
                )

    def has(self, name: str) -> bool:
        """True when a component of any kind already uses ``name``."""
        return any(
            name in g
            for g in (
                self._compartments,
                self._species,
                self._parameters,
                self._reactions,
                self._observables,
                self._events,
            )
        )

    def compartment(
        self,
        name: str,
        size: float = 1.0,
        *,
        unit: str = "L",
        description: str = "",
        source: str = "",
        domain: Domain | None = None,
    ) -> ModelBuilder:
        self._claim(name, "compartment")
        self._compartments[name] = Compartment(
            name, float(size), unit, description, source, domain
        )
        return self

    def species(
        self,
        name: str,
        initial: float,
        *,
        compartment: str | None = None,
        unit: str = "dimensionless",
        non_negative: bool = True,
        amount_based: bool = False,
        boundary: bool = False,
        constant: bool = False,
        description: str = "",
        source: str = "",
        domain: Domain | None = None,
    ) -> ModelBuilder:
        """Add a species. Without ``compartment``, a unit-size ``default`` one is created.

        A species built here is declared ``non_negative`` unless told otherwise; ``domain``
        declares a narrower physical range (see :mod:`mdrsim.model.domain`)."""
        self._claim(name, "species")
        if compartment is None:
            compartment = "default"
            if "default" not in self._compartments:
                self.compartment(
                    "default",
                    1.0,
                    description="created for species without one",
                    domain=Domain(0.0, lower_inclusive=False, why="a volume (divides)"),
                )
        self._species[name] = Species(
            name,
            float(initial),
            compartment,
            unit,
            non_negative,
            amount_based,
            boundary,
            constant,
            description,
            source,
            domain,
        )
        return self

    def parameter(
        self,
        name: str,
        value: float,
        *,
        unit: str = "dimensionless",
        bounds: tuple[float, float] | None = None,
        source: str = "",
        description: str = "",
        constant: bool = True,
        domain: Domain | None = None,
    ) -> ModelBuilder:
        """Add a parameter; ``domain`` declares its physical range (``positive(...)``,
        ``fraction(...)``, … from :mod:`mdrsim.model.domain`), which every input of it is
        checked against."""
        self._claim(name, "parameter")
        self._parameters[name] = Parameter(
            name, float(value), unit, bounds, source, description, constant, domain
        )
        return self

    def reaction(
        self,
        name: str,
        rate: ExprLike,
        *,
        reactants: Mapping[str, float] | None = None,
        products: Mapping[str, float] | None = None,
        reversible: bool = False,
        description: str = "",
    ) -> ModelBuilder:
        """Add a reaction whose ``rate`` is an amount per unit time."""
        self._claim(name, "reaction")
        self._reactions[name] = Reaction(
            name,
            as_expression(rate, context=f"rate of reaction {name!r}"),
            {k: float(v) for k, v in (reactants or {}).items()},
            {k: float(v) for k, v in (products or {}).items()},
            reversible,
            description,
        )
        return self

    def assignment_rule(self, variable: str, expression: ExprLike) -> ModelBuilder:
        if variable in self._assignment_rules:
            raise ModelValidationError([f"{variable!r} already has an assignment rule"])
        self._assignment_rules[variable] = AssignmentRule(
            variable, as_expression(expression, context=f"assignment rule for {variable!r}")
        )
        return self

    def rate_rule(self, variable: str, expression: ExprLike) -> ModelBuilder:
        if variable in self._rate_rules:
            raise ModelValidationError([f"{variable!r} already has a rate rule"])
        self._rate_rules[variable] = RateRule(
            variable, as_expression(expression, context=f"rate rule for {variable!r}")
        )
        return self

    def initial_assignment(self, variable: str, expression: ExprLike) -> ModelBuilder:
        self._initial_assignments[variable] = InitialAssignment(
            variable, as_expression(expression, context=f"initial assignment for {variable!r}")
        )
        return self

    def observable(
        self,
        name: str,
        expression: ExprLike,
        *,
        unit: str = "dimensionless",
        description: str = "",
    ) -> ModelBuilder:
        self._claim(name, "observable")
        self._observables[name] = Observable(
            name, as_expression(expression, context=f"observable {name!r}"), unit, description
        )
        return self

    def event(
        self,
        name: str,
        trigger: ExprLike,
        assignments: Mapping[str, ExprLike],
        *,
        initial_value: bool = True,
        persistent: bool = True,
        description: str = "",
        delay: ExprLike | None = None,
        use_values_from_trigger_time: bool = True,
        priority: ExprLike | None = None,
    ) -> ModelBuilder:
        """Add an event: when ``trigger`` becomes true, carry out ``assignments`` at once, or
        ``delay`` later (values computed at the trigger time unless
        ``use_values_from_trigger_time`` is false; see :class:`mdrsim.model.ir.Event`)."""
        self._claim(name, "event")
        assigns = tuple(
            EventAssignment(
                var, as_expression(expr, context=f"event {name!r} assignment to {var!r}")
            )
            for var, expr in assignments.items()
        )
        self._events[name] = Event(
            name,
            as_expression(trigger, context=f"trigger of event {name!r}"),
            assigns,
            initial_value,
            persistent,
            description,
            None if delay is None else as_expression(delay, context=f"delay of event {name!r}"),
            use_values_from_trigger_time,
            None
            if priority is None
            else as_expression(priority, context=f"priority of event {name!r}"),
        )
        return self

    def build(self, *, validate: bool = True) -> Model:
        """Return the model; validation errors list every problem found."""
        model = Model(
            name=self.name,
            compartments=self._compartments,
            species=self._species,
            parameters=self._parameters,
            reactions=self._reactions,
            assignment_rules=self._assignment_rules,
            rate_rules=self._rate_rules,
            initial_assignments=self._initial_assignments,
            observables=self._observables,
            events=self._events,
            description=self.description,
        )
        return model.validate() if validate else model
