"""SBML import: any SBML document libsbml reads, into a validated :class:`~mdrsim.model.ir.Model`.

Math is converted by :mod:`mdrsim.io.sbml_math` (never through text); mdrsim's own metadata,
exact values and unit names come from :mod:`mdrsim.io.sbml_meta`. Documents written by other
tools are read too: their names and notes become descriptions, local parameters become global
ones and features mdrsim does not simulate are reported by name.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import libsbml
import sympy

from mdrsim.errors import (
    ModelImportError,
    ModelValidationError,
    UnsupportedFeatureError,
    UnsupportedSBMLFeatureError,
)
from mdrsim.io.sbml_events import check_instant_triggers
from mdrsim.io.sbml_math import MathReader
from mdrsim.io.sbml_meta import Meta, SBase, UnitNamer, read_meta, restore_exact
from mdrsim.model.expressions import did_you_mean
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

__all__ = ["read_sbml", "read_sbml_string"]

_MAX_MESSAGES = 20


def read_sbml_string(xml: str) -> Model:
    """Read an SBML document (any level/version libsbml reads) into a validated Model.

    Raises :class:`ModelImportError` for unreadable documents (with libsbml's messages and
    line numbers), :class:`UnsupportedFeatureError` for features mdrsim does not simulate and
    :class:`ModelValidationError` when the imported model is inconsistent.
    """
    if not isinstance(xml, str):
        raise ModelImportError(f"expected SBML as text, got {type(xml).__name__}")
    if not xml.strip():
        raise ModelImportError("the SBML document is empty")
    document = libsbml.readSBMLFromString(xml)
    _raise_read_errors(document)
    sbml_model = document.getModel()
    if sbml_model is None:
        raise ModelImportError("the SBML document contains no <model> element")
    _reject_required_packages(document)
    return _Importer(sbml_model).run().validate()


def read_sbml(path: str | os.PathLike[str]) -> Model:
    """Read an SBML file; errors name the file."""
    file = Path(path)
    if not file.is_file():
        raise ModelImportError(f"SBML file not found: {file}")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelImportError(f"cannot read SBML file {file}: {exc}") from None
    try:
        return read_sbml_string(text)
    except ModelImportError as exc:
        wrapped = type(exc)(f"{file}: {exc}")
        wrapped.__dict__.update(exc.__dict__)  # keeps e.g. the refused ``feature``
        raise wrapped from None


def _raise_read_errors(document: Any) -> None:
    serious = (libsbml.LIBSBML_SEV_ERROR, libsbml.LIBSBML_SEV_FATAL)
    errors = [
        document.getError(i)
        for i in range(document.getNumErrors())
        if document.getError(i).getSeverity() in serious
    ]
    if not errors:
        return
    lines = [
        f"  line {e.getLine()}, column {e.getColumn()}: {' '.join(e.getMessage().split())}"
        for e in errors[:_MAX_MESSAGES]
    ]
    if len(errors) > _MAX_MESSAGES:
        lines.append(f"  … and {len(errors) - _MAX_MESSAGES} more")
    raise ModelImportError("cannot read the SBML document:\n" + "\n".join(lines))


def _reject_required_packages(document: Any) -> None:
    # A package marked required changes the meaning of core elements; optional ones (layout,
    # render, ...) only add information and are ignored.
    # Packages exist from Level 3 on (Level 2 layout lives in annotations). libsbml represents
    # L3V2 core math as the internal package "l3v2extendedmath".
    if document.getLevel() < 3:
        return
    for i in range(document.getNumPlugins()):
        package = document.getPlugin(i).getPackageName()
        if (
            package
            and package != "l3v2extendedmath"
            and document.isPackageEnabled(package)
            and document.getPackageRequired(package)
        ):
            raise UnsupportedFeatureError(f"the SBML package {package!r} is not supported")
    for i in range(document.getNumUnknownPackages()):
        uri = document.getUnknownPackageURI(i)
        if document.getPackageRequired(uri):
            raise UnsupportedFeatureError(f"the SBML package {uri!r} is not supported")


def _notes_text(sbase: SBase) -> str:
    if not sbase.isSetNotes():
        return ""
    parts: list[str] = []

    def collect(node: Any) -> None:
        if node.isText():
            parts.append(node.getCharacters())
        for i in range(node.getNumChildren()):
            collect(node.getChild(i))

    collect(sbase.getNotes())
    return " ".join(" ".join(parts).split())


def _foreign_description(sbase: SBase) -> str:
    name = sbase.getName() if sbase.isSetName() else ""
    if name == sbase.getId():
        name = ""
    return "\n\n".join(p for p in (name, _notes_text(sbase)) if p)


def _numeric(expr: sympy.Basic) -> sympy.Basic:
    """A value where SBML expects a number: ``true``/``false`` and conditions count as 1/0.

    SBML Level 3 Version 2 (section 3.4.9) lets a Boolean stand where a number is expected,
    with the value 1 for true and 0 for false (the test suite's case 01288).
    """
    if expr is sympy.true:
        return sympy.Integer(1)
    if expr is sympy.false:
        return sympy.Integer(0)
    if isinstance(expr, sympy.core.relational.Relational | sympy.logic.boolalg.BooleanFunction):
        return sympy.Piecewise((sympy.Integer(1), expr), (sympy.Integer(0), True))
    return expr


def _described_by(sbase: SBase) -> str:
    """The source of a component of a foreign model: the resources of its
    ``bqbiol:isDescribedBy`` terms (Antimony: ``k isDescribedBy "https://doi.org/…"``)."""
    uris = []
    for i in range(sbase.getNumCVTerms()):
        term = sbase.getCVTerm(i)
        if (
            term.getQualifierType() == libsbml.BIOLOGICAL_QUALIFIER
            and term.getBiologicalQualifierType() == libsbml.BQB_IS_DESCRIBED_BY
        ):
            uris += [term.getResourceURI(j) for j in range(term.getNumResources())]
    return "; ".join(uris)


def _unique(base: str, taken: set[str]) -> str:
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    taken.add(name)
    return name


class _Importer:
    """Builds a Model from one libsbml Model, section by section."""

    def __init__(self, model: Any) -> None:
        self.m = model
        self.units = UnitNamer(model)
        functions = {fd.getId(): fd for fd in model.getListOfFunctionDefinitions()}
        self.math = MathReader(functions)
        self.compartments: dict[str, Compartment] = {}
        self.species: dict[str, Species] = {}
        self.parameters: dict[str, Parameter] = {}
        self.reactions: dict[str, Reaction] = {}
        self.assignment_rules: dict[str, AssignmentRule] = {}
        self.rate_rules: dict[str, RateRule] = {}
        self.initial_assignments: dict[str, InitialAssignment] = {}
        self.observables: dict[str, Observable] = {}
        self.events: dict[str, Event] = {}
        self.taken = self._all_ids()
        self.stoichiometry_ids = {
            sr.getId()
            for r in model.getListOfReactions()
            for group in (r.getListOfReactants(), r.getListOfProducts())
            for sr in group
            if sr.isSetId()
        }
        self.observable_ids = self._observable_ids()
        self.without_value: list[tuple[str, str]] = []
        # Species whose initial value SBML gives in the other unit (amount for a
        # concentration species or the reverse): (species, compartment, value, is_amount).
        self.converted_initial: list[tuple[str, str, float, bool]] = []
        self.prioritised: list[str] = []
        self.non_persistent: list[str] = []

    def _all_ids(self) -> set[str]:
        groups = (
            self.m.getListOfCompartments(), self.m.getListOfSpecies(),
            self.m.getListOfParameters(), self.m.getListOfReactions(),
            self.m.getListOfEvents(), self.m.getListOfFunctionDefinitions(),
        )  # fmt: skip
        return {x.getId() for group in groups for x in group if x.isSetId()}

    def _observable_ids(self) -> set[str]:
        ids = set()
        for p in self.m.getListOfParameters():
            meta = read_meta(p)
            rule = self.m.getRuleByVariable(p.getId())
            flagged = meta is not None and meta.flag("observable", False)
            if flagged and rule is not None and rule.isAssignment():
                ids.add(p.getId())
        return ids

    def run(self) -> Model:
        self._check_model_level()
        for c in self.m.getListOfCompartments():
            self.compartments[c.getId()] = self._compartment(c)
        for s in self.m.getListOfSpecies():
            self.species[s.getId()] = self._species(s)
        for p in self.m.getListOfParameters():
            if p.getId() not in self.observable_ids:
                self.parameters[p.getId()] = self._parameter(p)
        for r in self.m.getListOfReactions():
            self.reactions[r.getId()] = self._reaction(r)
        for rule in self.m.getListOfRules():
            self._rule(rule)
        for ia in self.m.getListOfInitialAssignments():
            self._initial_assignment(ia)
        self._initial_values_after_sizes()
        for i, e in enumerate(self.m.getListOfEvents()):
            event = self._event(e, i)
            if event is not None:
                self.events[event.name] = event
        self._check_event_order()
        self._check_values_defined()
        return check_instant_triggers(self._model())

    def _initial_values_after_sizes(self) -> None:
        """Convert initial amounts with the compartment size *after* initial assignments.

        SBML: a species' ``initialAmount`` (for a concentration species) or
        ``initialConcentration`` (for an amount species) is converted with the compartment's
        initial size, which an initial assignment may set. The IR stores one number computed
        with the declared size, so for such compartments the conversion is made an initial
        assignment of the species instead (unless the species has its own).
        """
        for sid, cid, value, is_amount in self.converted_initial:
            if cid not in self.initial_assignments:
                continue
            if sid in self.initial_assignments or sid in self.assignment_rules:
                continue
            size = sympy.Symbol(cid)
            number = sympy.Float(value)
            expression = number / size if is_amount else number * size
            self.initial_assignments[sid] = InitialAssignment(sid, expression)

    def _check_event_order(self) -> None:
        """Refuse priorities and non-persistent triggers where they could matter.

        Both only change results when events are pending at the same instant; mdrsim then
        carries out every triggered event, in model order, whatever the priorities and even if
        an earlier one makes a non-persistent trigger false. With one event that is exact; with
        two or more it could be wrong, so the model is refused.
        """
        if len(self.events) < 2:
            return
        meta = read_meta(self.m)
        if meta is not None and meta.attributes.get("writer") == "mdrsim":
            # Written by mdrsim from its own model: the flags mean what mdrsim does with
            # them, and reading the document back must give the same model.
            return
        if self.prioritised:
            names = ", ".join(repr(n) for n in self.prioritised)
            raise UnsupportedSBMLFeatureError(
                f"event priority: event(s) {names} have a <priority>; mdrsim carries out events "
                "that fire at the same instant in model order and does not use priorities, so "
                "a model with several events and priorities is refused rather than risk a "
                "wrong order",
                "event priority",
            )
        if self.non_persistent:
            names = ", ".join(repr(n) for n in self.non_persistent)
            raise UnsupportedSBMLFeatureError(
                f'non-persistent trigger: event(s) {names} have persistent="false"; mdrsim '
                "carries out every triggered event even when another event at the same instant "
                "makes its trigger false, so a model with several events and a non-persistent "
                "trigger is refused",
                "non-persistent event trigger",
            )

    def _check_values_defined(self) -> None:
        """A parameter or compartment with no value, rule or initial assignment is an error.

        SBML leaves its value undefined; Antimony produces one for every name it does not know,
        so this is how a misspelt name in an Antimony model shows up. (Species without an
        initial value start at 0, the convention of Antimony and SBML simulators.)
        """
        defined = set(self.assignment_rules) | set(self.initial_assignments)
        known = set(self.parameters) | set(self.species) | set(self.compartments)
        problems = [
            f"{kind} {name!r} has no value, initial assignment or assignment rule"
            + did_you_mean(name, known - {name})
            for kind, name in self.without_value
            if name not in defined
        ]
        if problems:
            raise ModelValidationError(problems)

    # -- model level -------------------------------------------------------------------------

    def _check_model_level(self) -> None:
        if self.m.isSetConversionFactor():
            raise UnsupportedFeatureError("the model-wide conversionFactor is not supported")

    def _model(self) -> Model:
        meta = read_meta(self.m)
        # The human-readable name when the file has one (issue 13: `info` showed the SBML id).
        name = self.m.getName() or self.m.getId() or "model"
        if meta is not None:
            name = meta.texts.get("name", name)
            description = meta.texts.get("description", "")
        else:
            description = _foreign_description(self.m)
        return _substitute_reaction_ids(
            Model(
                name=name,
                compartments=self.compartments,
                species=self.species,
                parameters=self.parameters,
                reactions=self.reactions,
                assignment_rules=self.assignment_rules,
                rate_rules=self.rate_rules,
                initial_assignments=self.initial_assignments,
                observables=self.observables,
                events=self.events,
                description=description,
            )
        )

    def _texts(self, sbase: SBase, meta: Meta | None) -> tuple[str, str]:
        """(description, source): from the mdrsim annotation, else from name and notes."""
        if meta is None:
            return _foreign_description(sbase), _described_by(sbase)
        return meta.texts.get("description", ""), meta.texts.get("source", "")

    @staticmethod
    def _unit(meta: Meta | None, fallback: str | None, default: str = "dimensionless") -> str:
        """The unit as written in the annotation, else as SBML declares it, else ``default``."""
        written = meta.texts.get("unit") if meta is not None else None
        return written or fallback or default

    # -- components ----------------------------------------------------------------------------

    def _compartment(self, c: Any) -> Compartment:
        cid = c.getId()
        if not c.getConstant():
            raise UnsupportedFeatureError(
                f"compartment {cid!r} is not constant; mdrsim supports only compartments "
                "of constant size"
            )
        meta = read_meta(c)
        description, source = self._texts(c, meta)
        volume_units = self.m.getVolumeUnits() if c.getSpatialDimensions() == 3 else ""
        unit_ref = c.getUnits() or volume_units
        if not c.isSetSize():
            self.without_value.append(("compartment", cid))
        size = restore_exact(c.getSize(), meta) if c.isSetSize() else 1.0
        unit = self._unit(meta, self.units.name(unit_ref), default="L")
        return Compartment(cid, size, unit, description, source)

    def _species(self, s: Any) -> Species:
        sid = s.getId()
        if s.isSetConversionFactor():
            raise UnsupportedFeatureError(
                f"species {sid!r} has a conversionFactor, which is not supported"
            )
        meta = read_meta(s)
        description, source = self._texts(s, meta)
        amount_based = bool(s.getHasOnlySubstanceUnits())
        return Species(
            sid,
            self._initial_value(s, meta, amount_based),
            s.getCompartment(),
            non_negative=meta.flag("nonNegative", True) if meta is not None else True,
            amount_based=amount_based,
            boundary=bool(s.getBoundaryCondition()),
            constant=bool(s.getConstant()),
            description=description,
            source=source,
            unit=self._unit(meta, self._species_unit(s, amount_based)),
        )

    def _initial_value(self, s: Any, meta: Meta | None, amount_based: bool) -> float:
        """The species' initial concentration, or amount when ``amount_based``."""
        compartment = self.compartments.get(s.getCompartment())
        size = compartment.size if compartment is not None else 1.0
        if s.isSetInitialAmount():
            amount = restore_exact(s.getInitialAmount(), meta)
            if not amount_based:
                self.converted_initial.append((s.getId(), s.getCompartment(), amount, True))
            return amount if amount_based else amount / size
        if s.isSetInitialConcentration():
            concentration = restore_exact(s.getInitialConcentration(), meta)
            if amount_based:
                self.converted_initial.append((s.getId(), s.getCompartment(), concentration, False))
            return concentration * size if amount_based else concentration
        return 0.0  # set by an initial assignment or rule, or undefined in SBML

    def _species_unit(self, s: Any, amount_based: bool) -> str | None:
        substance = self.units.name(s.getSubstanceUnits() or self.m.getSubstanceUnits())
        if amount_based or substance is None:
            return substance
        compartment = self.m.getCompartment(s.getCompartment())
        volume_ref = compartment.getUnits() if compartment is not None else ""
        volume = self.units.name(volume_ref or self.m.getVolumeUnits())
        if volume is None:
            return None
        if "/" in volume or "*" in volume:
            volume = f"({volume})"
        return f"{substance}/{volume}"

    def _parameter(self, p: Any) -> Parameter:
        meta = read_meta(p)
        description, source = self._texts(p, meta)
        bounds = None
        if meta is not None:
            lower, upper = meta.number("lower"), meta.number("upper")
            if lower is not None and upper is not None:
                bounds = (lower, upper)
        if not p.isSetValue():
            self.without_value.append(("parameter", p.getId()))
        value = restore_exact(p.getValue(), meta) if p.isSetValue() else 0.0
        return Parameter(
            p.getId(), value, self._unit(meta, self.units.name(p.getUnits())), bounds, source,
            description, bool(p.getConstant()),
        )  # fmt: skip

    # -- reactions -----------------------------------------------------------------------------

    def _reaction(self, r: Any) -> Reaction:
        rid = r.getId()
        if r.isSetFast() and r.getFast():
            raise UnsupportedFeatureError(
                f"reaction {rid!r} is marked fast, which is not supported"
            )
        law = r.getKineticLaw()
        if law is None or not law.isSetMath():
            raise ModelImportError(f"reaction {rid!r} has no kinetic law; mdrsim needs a rate")
        env = self._local_parameters(rid, law)
        meta = read_meta(r)
        description = meta.texts.get("description", "") if meta else _foreign_description(r)
        return Reaction(
            rid,
            _numeric(self.math.read(law.getMath(), f"rate of reaction {rid!r}", env)),
            self._stoichiometries(r.getListOfReactants(), rid),
            self._stoichiometries(r.getListOfProducts(), rid),
            reversible=bool(r.getReversible()),
            description=description,
        )

    def _local_parameters(self, rid: str, law: Any) -> dict[str, sympy.Basic]:
        """Make each local parameter a global ``<reaction>_<id>`` and rename it in this law."""
        level3 = self.m.getLevel() >= 3
        local = law.getListOfLocalParameters() if level3 else law.getListOfParameters()
        env: dict[str, sympy.Basic] = {}
        for lp in local:
            name = _unique(f"{rid}_{lp.getId()}", self.taken)
            self.parameters[name] = Parameter(
                name,
                lp.getValue() if lp.isSetValue() else 0.0,
                self._unit(None, self.units.name(lp.getUnits())),
                description=_foreign_description(lp)
                or f"local parameter {lp.getId()!r} of reaction {rid!r}",
            )
            env[lp.getId()] = sympy.Symbol(name)
        return env

    def _stoichiometries(self, references: Any, rid: str) -> dict[str, float]:
        result: dict[str, float] = {}
        for sr in references:
            if sr.isSetId() and self._is_changed(sr.getId()):
                raise UnsupportedFeatureError(
                    f"reaction {rid!r}: the stoichiometry of {sr.getSpecies()!r} is set by a "
                    "rule, initial assignment or event, which is not supported"
                )
            if self.m.getLevel() < 3 and sr.isSetStoichiometryMath():
                raise UnsupportedFeatureError(
                    f"reaction {rid!r}: stoichiometryMath for {sr.getSpecies()!r} is not supported"
                )
            value = restore_exact(sr.getStoichiometry(), read_meta(sr))
            if self.m.getLevel() >= 3 and not sr.isSetStoichiometry():
                value = 1.0
            species = sr.getSpecies()
            result[species] = result.get(species, 0.0) + value
        return result

    def _is_changed(self, sid: str) -> bool:
        m = self.m
        if m.getRuleByVariable(sid) is not None or m.getInitialAssignmentBySymbol(sid) is not None:
            return True
        return any(e.getEventAssignment(sid) is not None for e in m.getListOfEvents())

    # -- rules and assignments -----------------------------------------------------------------

    def _check_target(self, variable: str, what: str) -> None:
        if variable in self.stoichiometry_ids:
            raise UnsupportedFeatureError(
                f"{what} sets the stoichiometry {variable!r}, which is not supported"
            )
        if variable in self.compartments and not what.startswith("initial"):
            raise UnsupportedFeatureError(
                f"{what} changes the size of compartment {variable!r}; mdrsim supports only "
                "compartments of constant size"
            )

    def _rule(self, rule: Any) -> None:
        if rule.isAlgebraic():
            formula = libsbml.formulaToL3String(rule.getMath()) if rule.isSetMath() else ""
            raise UnsupportedFeatureError(
                f"algebraic rule 0 = {formula} is not supported (mdrsim solves ODEs, not DAEs)"
            )
        variable = rule.getVariable()
        kind = "assignment rule" if rule.isAssignment() else "rate rule"
        where = f"{kind} for {variable!r}"
        self._check_target(variable, where)
        expression = _numeric(self.math.read(rule.getMath(), where))
        if rule.isRate():
            self.rate_rules[variable] = RateRule(variable, expression)
        elif variable in self.observable_ids:
            self.observables[variable] = self._observable(variable, expression)
        else:
            self.assignment_rules[variable] = AssignmentRule(variable, expression)

    def _observable(self, name: str, expression: sympy.Basic) -> Observable:
        p = self.m.getParameter(name)
        meta = read_meta(p)
        description, _ = self._texts(p, meta)
        unit = self._unit(meta, self.units.name(p.getUnits()))
        return Observable(name, expression, unit, description)

    def _initial_assignment(self, ia: Any) -> None:
        symbol = ia.getSymbol()
        where = f"initial assignment for {symbol!r}"
        self._check_target(symbol, where)
        self.initial_assignments[symbol] = InitialAssignment(
            symbol, _numeric(self.math.read(ia.getMath(), where))
        )

    # -- events --------------------------------------------------------------------------------

    def _event(self, e: Any, index: int) -> Event | None:
        name = e.getId() if e.isSetId() else _unique(f"event_{index + 1}", self.taken)
        self._check_no_delay(e, name)
        trigger = e.getTrigger()
        if trigger is None or not trigger.isSetMath():
            raise ModelImportError(f"event {name!r} has no trigger")
        assignments = tuple(
            self._event_assignment(a, name) for a in e.getListOfEventAssignments() if a.isSetMath()
        )
        if not assignments:
            return None  # an event that assigns nothing has no effect
        if e.isSetPriority() and e.getPriority().isSetMath():
            # Read (so that e.g. a delay() in it is refused), then judged in _check_event_order.
            self.math.read(e.getPriority().getMath(), f"priority of event {name!r}")
            self.prioritised.append(name)
        if not trigger.getPersistent():
            self.non_persistent.append(name)
        meta = read_meta(e)
        description = meta.texts.get("description", "") if meta else _foreign_description(e)
        return Event(
            name,
            self.math.read(trigger.getMath(), f"trigger of event {name!r}"),
            assignments,
            initial_value=bool(trigger.getInitialValue()),
            persistent=bool(trigger.getPersistent()),
            description=description,
        )

    def _check_no_delay(self, e: Any, name: str) -> None:
        if not e.isSetDelay() or not e.getDelay().isSetMath():
            return
        delay = self.math.read(e.getDelay().getMath(), f"delay of event {name!r}")
        if delay.is_zero is not True:
            raise UnsupportedFeatureError(
                f"event {name!r} has a delay ({delay}); mdrsim carries out event assignments "
                "at the instant the trigger becomes true"
            )

    def _event_assignment(self, a: Any, event: str) -> EventAssignment:
        variable = a.getVariable()
        where = f"event {event!r} assignment to {variable!r}"
        self._check_target(variable, where)
        return EventAssignment(variable, _numeric(self.math.read(a.getMath(), where)))


def _substitute_reaction_ids(model: Model) -> Model:
    """Replace reaction ids used as symbols (SBML: the reaction's rate) by the rate itself."""
    used = model.referenced_names() & set(model.reactions)
    if not used:
        return model
    subs = {sympy.Symbol(name): model.reactions[name].rate for name in used}
    return _map_expressions(model, lambda e: e.xreplace(subs))


def _map_expressions(model: Model, fn: Callable[[sympy.Basic], sympy.Basic]) -> Model:
    """A copy of ``model`` with ``fn`` applied to every rule, observable and event expression."""

    def exprs(group: Mapping[str, Any]) -> dict[str, Any]:
        return {k: replace(v, expression=fn(v.expression)) for k, v in group.items()}

    events = {
        k: replace(
            e,
            trigger=fn(e.trigger),
            assignments=tuple(replace(a, expression=fn(a.expression)) for a in e.assignments),
        )
        for k, e in model.events.items()
    }
    return replace(
        model,
        assignment_rules=exprs(model.assignment_rules),
        rate_rules=exprs(model.rate_rules),
        initial_assignments=exprs(model.initial_assignments),
        observables=exprs(model.observables),
        events=events,
    )
