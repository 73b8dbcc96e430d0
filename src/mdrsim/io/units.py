"""A model file's declared units, read for pint (:mod:`mdrsim.data.units`).

SBML unit definitions (and Antimony ``unit`` statements, which become them) are products of
``(multiplier · 10^scale · kind)^exponent``; the model IR keeps the definition's id as the
unit of a parameter when it has no short name (``per_day``). :func:`declared_units` writes each
definition as text pint reads (``1 / (86400*second)``), so ``--param "k_el=0.02 1/h"`` can be
converted to a model's ``per_day`` and ``--param "k_el=2 L"`` refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mdrsim.data.units import dimension_text, parse_unit

__all__ = ["DeclaredUnit", "UnitConsistency", "declared_units", "unit_consistency", "unit_resolver"]

#: SBML base unit kinds pint knows by another name (or not at all: those are left out).
_KINDS = {
    "litre": "liter", "liter": "liter", "metre": "meter", "meter": "meter", "mole": "mole",
    "second": "second", "gram": "gram", "kilogram": "kilogram", "item": "cell",
    "dimensionless": "dimensionless", "kelvin": "kelvin", "ampere": "ampere",
    "candela": "candela", "joule": "joule", "newton": "newton", "watt": "watt", "volt": "volt",
    "pascal": "pascal", "hertz": "hertz", "katal": "katal", "becquerel": "becquerel",
    "gray": "gray", "sievert": "sievert", "radian": "radian", "steradian": "steradian",
    "coulomb": "coulomb", "farad": "farad", "ohm": "ohm", "siemens": "siemens",
    "weber": "weber", "tesla": "tesla", "henry": "henry", "lux": "lux", "lumen": "lumen",
}  # fmt: skip


@dataclass(frozen=True)
class DeclaredUnit:
    """One unit definition of a model file: its id, pint text, and dimension (or why pint
    cannot read it)."""

    id: str
    pint: str | None
    dimension: str
    problem: str = ""


def _definition_text(definition: Any) -> str | None:
    import libsbml

    top: list[str] = []
    bottom: list[str] = []
    for i in range(definition.getNumUnits()):
        u = definition.getUnit(i)
        kind = _KINDS.get(libsbml.UnitKind_toString(u.getKind()))
        if kind is None:
            return None
        factor = u.getMultiplier() * 10.0 ** u.getScale()
        exponent = u.getExponentAsDouble()
        if exponent == 0 or (kind == "dimensionless" and factor == 1):
            continue
        term = kind if factor == 1 else f"({factor!r}*{kind})"
        power = abs(exponent)
        if power != 1:
            term = f"{term}**{power:g}"
        (top if exponent > 0 else bottom).append(term)
    text = "*".join(top) or "1"
    if bottom:
        text += " / (" + "*".join(bottom) + ")"
    return text if (top or bottom) else "dimensionless"


def declared_units(sbml: str) -> dict[str, DeclaredUnit]:
    """Every unit definition of an SBML document (Antimony: convert it first), by id."""
    import libsbml

    doc = libsbml.readSBMLFromString(sbml)
    model = doc.getModel() if doc is not None else None
    out: dict[str, DeclaredUnit] = {}
    if model is None:
        return out
    for k in range(model.getNumUnitDefinitions()):
        definition = model.getUnitDefinition(k)
        uid = definition.getId()
        text = _definition_text(definition)
        if text is None:
            out[uid] = DeclaredUnit(uid, None, "", "uses a unit kind pint does not know")
            continue
        try:
            dim = dimension_text(parse_unit(text))
        except Exception as exc:  # an odd definition stays a label
            out[uid] = DeclaredUnit(uid, None, "", str(exc))
            continue
        out[uid] = DeclaredUnit(uid, text, dim)
    return out


def unit_resolver(model: Any, sbml: str | None) -> Callable[[str], str]:
    """``name → unit text pint reads`` for a model's symbols: the IR's unit, or the pint text
    of the unit definition it names; a free-text label stays as it is (and so refuses any
    unit given for it)."""
    table = declared_units(sbml) if sbml else {}

    def unit_of(name: str) -> str:
        unit = str(model.unit_of(name))
        declared = table.get(unit)
        if declared is not None and declared.pint is not None:
            return declared.pint
        return unit

    return unit_of


#: libSBML's "cannot be fully checked" notes (literal numbers, undeclared units, extent units
#: not declared): counted, not listed, since they say nothing is known to be wrong.
_UNCHECKABLE = {99505, 99506, 99507, 99508}


@dataclass(frozen=True)
class UnitConsistency:
    """libSBML's unit-consistency check of a model file: ``problems`` are expressions whose
    declared units do not agree (one line each, with the file line where the SBML has one),
    ``not_fully_checked`` how many expressions could not be checked (literal numbers or
    quantities without declared units)."""

    problems: list[str]
    not_fully_checked: int


def unit_consistency(sbml: str) -> UnitConsistency:
    """Check that the units a model declares agree in its equations (kinetic laws in
    substance per time, rate rules in the variable's unit per time, assignments …), with
    libSBML's unit-consistency validator — the reference implementation of SBML's unit rules,
    kept rather than re-written. Only that category of checks runs."""
    import libsbml

    doc = libsbml.readSBMLFromString(sbml)
    if doc is None or doc.getModel() is None:
        return UnitConsistency([], 0)
    for category in (
        libsbml.LIBSBML_CAT_GENERAL_CONSISTENCY,
        libsbml.LIBSBML_CAT_IDENTIFIER_CONSISTENCY,
        libsbml.LIBSBML_CAT_MATHML_CONSISTENCY,
        libsbml.LIBSBML_CAT_SBO_CONSISTENCY,
        libsbml.LIBSBML_CAT_OVERDETERMINED_MODEL,
        libsbml.LIBSBML_CAT_MODELING_PRACTICE,
    ):
        doc.setConsistencyChecks(category, False)
    doc.setConsistencyChecks(libsbml.LIBSBML_CAT_UNITS_CONSISTENCY, True)
    doc.checkConsistency()
    problems: list[str] = []
    unchecked = 0
    for i in range(doc.getNumErrors()):
        err = doc.getError(i)
        if err.getCategory() != libsbml.LIBSBML_CAT_UNITS_CONSISTENCY:
            continue
        if err.getErrorId() in _UNCHECKABLE:
            unchecked += 1
            continue
        text = " ".join(err.getMessage().split())
        problems.append(f"{text} (SBML rule {err.getErrorId()})")
    return UnitConsistency(problems, unchecked)
