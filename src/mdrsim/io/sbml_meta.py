"""The mdrsim annotation: metadata other tools ignore, exact numbers and unit names.

Why it is built this way:

- **mdrsim-only metadata** (units as written, sources, descriptions, bounds, ``non_negative``,
  which parameters are observables) lives in an annotation in the namespace :data:`MDRSIM_NS`.
  Other tools ignore it; observables are ordinary assignment-rule parameters to them.
- **Attribute values keep full precision.** libsbml prints doubles with 15 significant digits;
  attribute values (sizes, initial values, stoichiometries) that 15 digits would change are
  also stored exactly in the annotation (:func:`exact_attribute`, :func:`restore_exact`).
- **Units read from other tools' documents** are rendered as readable strings
  (:class:`UnitNamer`) when the annotation does not give the unit as written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal, localcontext
from typing import Any

import libsbml

from mdrsim.errors import ModelImportError, ModelValidationError
from mdrsim.model.domain import Domain

__all__ = [
    "MDRSIM_NS",
    "Meta",
    "SBase",
    "UnitNamer",
    "check",
    "domain_meta",
    "exact_attribute",
    "printable",
    "read_domain",
    "read_meta",
    "restore_exact",
    "set_meta",
]

#: XML namespace of the annotation that carries mdrsim-only metadata.
MDRSIM_NS = "https://mdrsim.org/ns/model/1"
_NS_PREFIX = "mdrsim"
_META_ELEMENT = "meta"

SBase = Any  # any libsbml SBase subclass


def check(status: int, what: str) -> None:
    """Raise :class:`ModelValidationError` naming ``what`` unless libsbml reports success."""
    if status != libsbml.LIBSBML_OPERATION_SUCCESS:
        reason = libsbml.OperationReturnValue_toString(status) or f"code {status}"
        raise ModelValidationError([f"cannot write {what} to SBML: {reason}"])


@dataclass(frozen=True)
class Meta:
    """mdrsim metadata read from one element's annotation: short attributes and free texts."""

    attributes: dict[str, str] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)

    def flag(self, key: str, default: bool) -> bool:
        value = self.attributes.get(key)
        return default if value is None else value == "true"

    def number(self, key: str) -> float | None:
        value = self.attributes.get(key)
        if value is None:
            return None
        try:
            return float(value)
        except ValueError:
            raise ModelImportError(f"mdrsim annotation: {key}={value!r} is not a number") from None


def _triple(name: str) -> Any:
    return libsbml.XMLTriple(name, MDRSIM_NS, _NS_PREFIX)


def set_meta(sbase: SBase, attributes: Mapping[str, str], texts: Mapping[str, str]) -> None:
    """Attach ``<mdrsim:meta>`` with ``attributes`` and one child element per non-empty text.

    Texts go into elements rather than attributes because XML parsers normalise newlines in
    attribute values, and descriptions may span lines.
    """
    texts = {k: v for k, v in texts.items() if v}
    if not attributes and not texts:
        return
    xml_attributes = libsbml.XMLAttributes()
    for key, value in attributes.items():
        xml_attributes.add(key, value)
    namespaces = libsbml.XMLNamespaces()
    namespaces.add(MDRSIM_NS, _NS_PREFIX)
    meta = libsbml.XMLNode(_triple(_META_ELEMENT), xml_attributes, namespaces)
    for key, value in texts.items():
        child = libsbml.XMLNode(_triple(key), libsbml.XMLAttributes())
        child.addChild(libsbml.XMLNode(value))
        meta.addChild(child)
    check(sbase.setAnnotation(meta), f"annotation of {sbase.getElementName()} {sbase.getId()!r}")


def domain_meta(domain: Domain | None) -> tuple[dict[str, str], dict[str, str]]:
    """A declared physical range as annotation attributes and texts (``domainLower``, …)."""
    if domain is None:
        return {}, {}
    attrs = {
        "domainLowerOpen": "false" if domain.lower_inclusive else "true",
        "domainUpperOpen": "false" if domain.upper_inclusive else "true",
    }
    if domain.lower is not None:
        attrs["domainLower"] = repr(float(domain.lower))
    if domain.upper is not None:
        attrs["domainUpper"] = repr(float(domain.upper))
    if domain.upper_name is not None:
        attrs["domainUpperName"] = domain.upper_name
    return attrs, {"domainWhy": domain.why}


def read_domain(meta: Meta | None) -> Domain | None:
    """The declared physical range written by :func:`domain_meta`, if any."""
    if meta is None or "domainLowerOpen" not in meta.attributes:
        return None
    return Domain(
        meta.number("domainLower"),
        meta.number("domainUpper"),
        lower_inclusive=not meta.flag("domainLowerOpen", False),
        upper_inclusive=not meta.flag("domainUpperOpen", False),
        why=meta.texts.get("domainWhy", ""),
        upper_name=meta.attributes.get("domainUpperName"),
    )


def read_meta(sbase: SBase) -> Meta | None:
    annotation = sbase.getAnnotation()
    if annotation is None:
        return None
    for i in range(annotation.getNumChildren()):
        node = annotation.getChild(i)
        if node.getURI() == MDRSIM_NS and node.getName() == _META_ELEMENT:
            return _meta_from_node(node)
    return None


def _meta_from_node(node: Any) -> Meta:
    attributes = node.getAttributes()
    attrs = {attributes.getName(i): attributes.getValue(i) for i in range(attributes.getLength())}
    texts = {}
    for i in range(node.getNumChildren()):
        child = node.getChild(i)
        if child.isElement():
            texts[child.getName()] = "".join(
                child.getChild(k).getCharacters() for k in range(child.getNumChildren())
            )
    return Meta(attrs, texts)


_SMALLEST_NORMAL = 2.2250738585072014e-308


def _lossy(value: float) -> bool:
    """True when libsbml's 15-digit printing would not give back ``value`` when read.

    Subnormal numbers count as lossy: libsbml rejects them when reading a document.
    """
    if not math.isfinite(value) or value == 0.0:
        return False
    return abs(value) < _SMALLEST_NORMAL or float(f"{value:.15g}") != value


def exact_attribute(value: float) -> dict[str, str]:
    return {"value": repr(float(value))} if _lossy(value) else {}


def printable(value: float) -> float:
    """The value to put in an SBML attribute: one that libsbml prints and reads back.

    Rounding to 15 digits toward zero keeps the largest doubles finite; subnormal numbers
    become 0. The exact value goes into the annotation (see :func:`restore_exact`).
    """
    value = float(value)
    if not _lossy(value):
        return value
    if abs(value) < _SMALLEST_NORMAL:
        return 0.0
    with localcontext() as context:
        context.prec = 15
        context.rounding = ROUND_DOWN
        return float(+Decimal(value))


def restore_exact(written: float, meta: Meta | None) -> float:
    """The annotation's exact value when it agrees with the SBML attribute to 15 digits.

    If another tool changed the attribute since, the (stale) annotation value is ignored.
    """
    exact = meta.number("value") if meta is not None else None
    if exact is None:
        return written
    if math.isclose(exact, written, rel_tol=1e-13, abs_tol=0.0) or printable(exact) == written:
        return exact
    return written


# -- unit names -------------------------------------------------------------------------------

_UNIT_SYMBOLS = {
    "litre": "L", "liter": "L", "mole": "mol", "second": "s", "gram": "g", "metre": "m",
    "meter": "m", "kilogram": "kg", "item": "item", "kelvin": "K", "ampere": "A",
    "candela": "cd", "joule": "J", "newton": "N", "watt": "W", "volt": "V", "pascal": "Pa",
    "hertz": "Hz", "katal": "kat", "becquerel": "Bq", "gray": "Gy", "sievert": "Sv",
}  # fmt: skip
_SCALE_PREFIXES = {-15: "f", -12: "p", -9: "n", -6: "u", -3: "m", -2: "c", -1: "d", 3: "k"}
_TIME_MULTIPLIERS = {60.0: "min", 3600.0: "h", 86400.0: "d", 604800.0: "wk"}


class UnitNamer:
    """Turns SBML unit references into readable strings (``mmol/L``, ``1/d``) where it can.

    A unit definition whose factors are not simple (odd multipliers, offsets) falls back to
    its id, which is still a meaningful name.
    """

    def __init__(self, model: Any) -> None:
        self._model = model

    def name(self, ref: str) -> str | None:
        if not ref:
            return None
        definition = self._model.getUnitDefinition(ref)
        if definition is None:
            return ref  # a base unit kind such as "second" or "dimensionless"
        return self._render(definition) or ref

    def _render(self, definition: Any) -> str | None:
        numerator: list[str] = []
        denominator: list[str] = []
        for i in range(definition.getNumUnits()):
            unit = definition.getUnit(i)
            symbol = self._symbol(unit)
            exponent = unit.getExponentAsDouble()
            if symbol is None or exponent == 0 or exponent != int(exponent):
                return None
            if symbol == "dimensionless":
                continue
            power = abs(int(exponent))
            text = symbol if power == 1 else f"{symbol}^{power}"
            (numerator if exponent > 0 else denominator).append(text)
        top = "*".join(numerator) or ("1" if denominator else "dimensionless")
        if not denominator:
            return top
        bottom = denominator[0] if len(denominator) == 1 else f"({'*'.join(denominator)})"
        return f"{top}/{bottom}"

    @staticmethod
    def _symbol(unit: Any) -> str | None:
        kind = libsbml.UnitKind_toString(unit.getKind())
        multiplier, scale = unit.getMultiplier(), unit.getScale()
        if kind == "second" and scale == 0 and multiplier in _TIME_MULTIPLIERS:
            return _TIME_MULTIPLIERS[multiplier]
        if multiplier != 1.0 or (scale != 0 and scale not in _SCALE_PREFIXES):
            return None
        if kind == "dimensionless":
            return kind if scale == 0 else None
        return _SCALE_PREFIXES.get(scale, "") + _UNIT_SYMBOLS.get(kind, kind)
