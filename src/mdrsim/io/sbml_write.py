"""SBML export: a :class:`~mdrsim.model.ir.Model` as an SBML Level 3 Version 2 document.

Why it is built this way:

- **Export must round-trip exactly.** ``read_sbml_string(write_sbml(m)) == m`` compares sympy
  trees structurally, so each expression is first written in a readable form (``a - b``,
  ``a / b``) and read straight back; when sympy does not rebuild the identical tree from it, the
  literal form of the tree (``plus``/``times``/``power``) is written instead
  (:class:`~mdrsim.io.sbml_math.MathWriter`).
- **Numbers keep full precision.** libsbml prints doubles with 15 significant digits, which is
  not enough to restore every float. Floats inside math are therefore written as unique
  ``<ci>`` placeholders and replaced by ``<cn>`` with ``repr(value)`` in the final text (so every
  tool sees the exact number); attribute values (sizes, initial values, stoichiometries) that 15
  digits would change are also stored exactly in the mdrsim annotation.
- **mdrsim-only metadata** goes into the annotation of :mod:`mdrsim.io.sbml_meta`; other tools
  ignore it, and observables are ordinary assignment-rule parameters to them.
"""

from __future__ import annotations

import re
from typing import Any
from xml.sax.saxutils import escape

import libsbml
import sympy

from mdrsim.io.sbml_math import FloatPlaceholders, MathWriter
from mdrsim.io.sbml_meta import (
    SBase,
    check,
    domain_meta,
    exact_attribute,
    printable,
    set_meta,
)
from mdrsim.model.expressions import free_names
from mdrsim.model.ir import (
    Compartment,
    Event,
    InitialAssignment,
    Model,
    Observable,
    Parameter,
    Reaction,
    Species,
)

__all__ = ["SBML_LEVEL", "SBML_VERSION", "write_sbml"]

SBML_LEVEL = 3
SBML_VERSION = 2

#: Unit spellings mdrsim uses that are SBML base units under another name.
_SBML_UNIT_ALIASES = {"L": "litre", "l": "litre", "mol": "mole", "s": "second", "g": "gram",
                      "kg": "kilogram", "m": "metre", "K": "kelvin"}  # fmt: skip


def _sbml_unit(unit: str) -> str | None:
    """The SBML base unit for ``unit`` when there is one; other units live in the annotation."""
    kind = _SBML_UNIT_ALIASES.get(unit, unit)
    return kind if libsbml.UnitKind_isValidUnitKindString(kind, SBML_LEVEL, SBML_VERSION) else None


def _sbml_id(name: str) -> str:
    """A valid SBML SId for the model's name (the original is kept in the annotation)."""
    sid = re.sub(r"[^A-Za-z0-9_]", "_", name) or "model"
    return sid if not sid[0].isdigit() else f"_{sid}"


def write_sbml(model: Model) -> str:
    """Write ``model`` as an SBML Level 3 Version 2 document (see the module docstring)."""
    return _Exporter(model).write()


class _Exporter:
    def __init__(self, model: Model) -> None:
        self.model = model
        self.document = libsbml.SBMLDocument(SBML_LEVEL, SBML_VERSION)
        self.m = self.document.createModel()
        self.floats = FloatPlaceholders(model.defined_names() | model.referenced_names())
        self.math = MathWriter(self.floats)
        self._changed = (
            set(model.assignment_rules)
            | set(model.rate_rules)
            | {a.variable for e in model.events.values() for a in e.assignments}
        )

    def write(self) -> str:
        self._model()
        for c in self.model.compartments.values():
            self._compartment(c)
        for s in self.model.species.values():
            self._species(s)
        for p in self.model.parameters.values():
            self._parameter(p)
        for o in self.model.observables.values():
            self._observable(o)
        for ar in self.model.assignment_rules.values():
            self._rule(self.m.createAssignmentRule(), ar.variable, ar.expression, "assignment rule")
        for rr in self.model.rate_rules.values():
            self._rule(self.m.createRateRule(), rr.variable, rr.expression, "rate rule")
        for ia in self.model.initial_assignments.values():
            self._initial_assignment(ia)
        for r in self.model.reactions.values():
            self._reaction(r)
        for e in self.model.events.values():
            self._event(e)
        return self.floats.substitute(libsbml.writeSBMLToString(self.document))

    def _set_math(self, sbase: SBase, expr: sympy.Basic, where: str) -> None:
        check(sbase.setMath(self.math.write(expr, where)), where)

    @staticmethod
    def _describe(sbase: SBase, description: str) -> None:
        if description:
            body = f'<body xmlns="http://www.w3.org/1999/xhtml"><p>{escape(description)}</p></body>'
            check(sbase.setNotes(body), f"notes of {sbase.getId()!r}")

    def _model(self) -> None:
        model = self.model
        sid = _sbml_id(model.name)
        check(self.m.setId(sid), f"model id {sid!r}")
        self._describe(self.m, model.description)
        texts = {"description": model.description}
        if sid != model.name:
            texts["name"] = model.name
        # The marker tells the reader that mdrsim's own event semantics apply (see
        # sbml_read._check_event_order).
        set_meta(self.m, {"writer": "mdrsim"}, texts)

    def _compartment(self, c: Compartment) -> None:
        sc = self.m.createCompartment()
        check(sc.setId(c.name), f"compartment {c.name!r}")
        # The IR allows rules on compartments; SBML then needs constant="false" (mdrsim's own
        # import rejects such compartments, but other tools can simulate them).
        sc.setConstant(c.name not in self._changed)
        sc.setSpatialDimensions(3)
        check(sc.setSize(printable(c.size)), f"size of compartment {c.name!r}")
        self._units(sc, c.unit)
        self._describe(sc, c.description)
        d_attrs, d_texts = domain_meta(c.domain)
        set_meta(sc, exact_attribute(c.size) | d_attrs, {
            "unit": c.unit, "description": c.description, "source": c.source, **d_texts,
        })  # fmt: skip

    def _species(self, s: Species) -> None:
        ss = self.m.createSpecies()
        check(ss.setId(s.name), f"species {s.name!r}")
        check(ss.setCompartment(s.compartment), f"compartment of species {s.name!r}")
        if s.amount_based:
            check(ss.setInitialAmount(printable(s.initial)), f"initial amount of {s.name!r}")
            unit = _sbml_unit(s.unit)
            if unit is not None:
                ss.setSubstanceUnits(unit)
        else:
            check(ss.setInitialConcentration(printable(s.initial)), f"initial value of {s.name!r}")
        ss.setHasOnlySubstanceUnits(bool(s.amount_based))
        ss.setBoundaryCondition(bool(s.boundary))
        ss.setConstant(bool(s.constant))
        self._describe(ss, s.description)
        attributes = {"nonNegative": "true" if s.non_negative else "false"}
        d_attrs, d_texts = domain_meta(s.domain)
        set_meta(ss, attributes | exact_attribute(s.initial) | d_attrs, {
            "unit": s.unit, "description": s.description, "source": s.source, **d_texts,
        })  # fmt: skip

    def _parameter(self, p: Parameter) -> None:
        sp = self.m.createParameter()
        check(sp.setId(p.name), f"parameter {p.name!r}")
        check(sp.setValue(printable(p.value)), f"value of parameter {p.name!r}")
        sp.setConstant(bool(p.constant))
        self._units(sp, p.unit)
        self._describe(sp, p.description)
        attributes = exact_attribute(p.value)
        if p.bounds is not None:
            attributes |= {"lower": repr(float(p.bounds[0])), "upper": repr(float(p.bounds[1]))}
        d_attrs, d_texts = domain_meta(p.domain)
        set_meta(sp, attributes | d_attrs, {
            "unit": p.unit, "description": p.description, "source": p.source, **d_texts,
        })  # fmt: skip

    def _observable(self, o: Observable) -> None:
        sp = self.m.createParameter()
        check(sp.setId(o.name), f"observable {o.name!r}")
        sp.setConstant(False)
        self._units(sp, o.unit)
        self._describe(sp, o.description)
        set_meta(sp, {"observable": "true"}, {"unit": o.unit, "description": o.description})
        self._rule(self.m.createAssignmentRule(), o.name, o.expression, "observable")

    @staticmethod
    def _units(sbase: SBase, unit: str) -> None:
        sbml_unit = _sbml_unit(unit)
        if sbml_unit is not None:
            sbase.setUnits(sbml_unit)

    def _rule(self, rule: Any, variable: str, expr: sympy.Basic, kind: str) -> None:
        where = f"{kind} for {variable!r}"
        check(rule.setVariable(variable), where)
        self._set_math(rule, expr, where)

    def _initial_assignment(self, ia: InitialAssignment) -> None:
        where = f"initial assignment for {ia.variable!r}"
        sia = self.m.createInitialAssignment()
        check(sia.setSymbol(ia.variable), where)
        self._set_math(sia, ia.expression, where)

    def _reaction(self, r: Reaction) -> None:
        sr = self.m.createReaction()
        check(sr.setId(r.name), f"reaction {r.name!r}")
        sr.setReversible(bool(r.reversible))
        for species, coeff in r.reactants.items():
            self._reference(sr.createReactant(), species, coeff, r.name)
        for species, coeff in r.products.items():
            self._reference(sr.createProduct(), species, coeff, r.name)
        # SBML wants every other species the rate uses declared as a modifier.
        involved = set(r.reactants) | set(r.products)
        for name in sorted((free_names(r.rate) & set(self.model.species)) - involved):
            check(sr.createModifier().setSpecies(name), f"modifier {name!r} of {r.name!r}")
        self._set_math(sr.createKineticLaw(), r.rate, f"rate of reaction {r.name!r}")
        self._describe(sr, r.description)
        set_meta(sr, {}, {"description": r.description})

    @staticmethod
    def _reference(ref: Any, species: str, coeff: float, reaction: str) -> None:
        where = f"reaction {reaction!r} stoichiometry of {species!r}"
        check(ref.setSpecies(species), where)
        check(ref.setStoichiometry(printable(coeff)), where)
        ref.setConstant(True)
        set_meta(ref, exact_attribute(float(coeff)), {})

    def _event(self, e: Event) -> None:
        se = self.m.createEvent()
        check(se.setId(e.name), f"event {e.name!r}")
        se.setUseValuesFromTriggerTime(bool(e.use_values_from_trigger_time))
        if e.delay is not None:
            self._set_math(se.createDelay(), e.delay, f"delay of event {e.name!r}")
        if e.priority is not None:
            self._set_math(se.createPriority(), e.priority, f"priority of event {e.name!r}")
        trigger = se.createTrigger()
        trigger.setInitialValue(bool(e.initial_value))
        trigger.setPersistent(bool(e.persistent))
        self._set_math(trigger, e.trigger, f"trigger of event {e.name!r}")
        for a in e.assignments:
            sa = se.createEventAssignment()
            where = f"event {e.name!r} assignment to {a.variable!r}"
            check(sa.setVariable(a.variable), where)
            self._set_math(sa, a.expression, where)
        self._describe(se, e.description)
        set_meta(se, {}, {"description": e.description})
