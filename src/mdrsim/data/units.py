"""Units at the I/O boundary, read and converted with pint.

Inside mdrsim every number is in its model's unit (the unit a parameter, species or library
entry declares: time in days or hours as declared, concentrations in µM, clearance in L/h …);
the engine never sees a unit. Where a number enters — a scenario file, a ``--param
"CL=10 L/h"`` override, a library quantity asked for in another unit — it may carry a unit,
which is parsed with pint (the ecosystem's unit library; kept rather than hand-written tables
because it knows every SI prefix, compound units and dimensions) and converted to the unit
expected there. A unit of another dimension is refused with :class:`UnitMismatchError`, which
names the field, the value, the unit given and the unit expected.

pint reads unit text with its own tokenizer; nothing is evaluated. Spellings accepted beyond
pint's own: ``m2`` for ``m**2`` (``mg/m2``, ``L/h/m2``), and the dimensionless labels
``fold``, ``fraction``, ``compartments`` and ``cell``/``cells`` of the library and the
patient model. A declared unit that is a free-text label (``relative P-gp density``) is not a
physical unit: a number for it must come without a unit.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mdrsim.errors import ConcentrationError, UnitError, UnitMismatchError, UnknownNameError

if TYPE_CHECKING:
    import pint

__all__ = [
    "UNIT_SUFFIXES",
    "convert",
    "convert_field",
    "dimension_text",
    "dose_unit",
    "is_unit",
    "parse_assignment",
    "parse_concentration",
    "parse_overrides",
    "parse_unit",
    "quantity_in",
    "resolve_values",
    "same_dimension",
    "split_quantity",
]

_POWER = re.compile(r"\b([A-Za-zµμ_]+)(\d+)\b")


def _preprocess(text: str) -> str:
    # "m2" → "m**2"; a number such as 1e9 is untouched (its "e" is not at a word start).
    return _POWER.sub(r"\1**\2", text)


@functools.cache
def registry() -> pint.UnitRegistry:
    """The one unit registry (built on first use: importing pint costs ~0.3 s)."""
    import pint

    ureg: pint.UnitRegistry = pint.UnitRegistry(
        preprocessors=[_preprocess], autoconvert_offset_to_baseunit=False
    )
    for definition in (
        "fold = 1",
        "fraction = 1",
        "compartments = 1",
        "cell = 1 = cells",
        "@alias week = wk",
    ):
        ureg.define(definition)
    return ureg


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> Any:
    import pint

    ureg = registry()
    cleaned = text.strip()
    if not cleaned:
        raise UnitError("empty unit")
    try:
        q = ureg.parse_expression(cleaned)
    except (pint.UndefinedUnitError, pint.DefinitionSyntaxError) as exc:
        raise UnitError(f"unknown unit {text!r}: {exc}") from None
    except Exception as exc:  # pint's tokenizer raises plain errors on nonsense
        raise UnitError(f"cannot read the unit {text!r}: {exc}") from None
    if isinstance(q, int | float):
        q = ureg.Quantity(float(q), "dimensionless")
    if not math.isfinite(float(q.magnitude)) or float(q.magnitude) <= 0:
        raise UnitError(f"unit {text!r} has a scale that is not a positive number")
    return q


def parse_unit(text: str) -> pint.Quantity:
    """A unit as a pint quantity of one such unit (its magnitude is the unit's scale: ``1e9/L``
    is 1e9 per litre). Raises :class:`~mdrsim.errors.UnitError` for text pint cannot read."""
    if not isinstance(text, str):
        raise UnitError(f"a unit must be text such as 'L/h', got {text!r}")
    return _parse(text)


def is_unit(text: str) -> bool:
    """Whether ``text`` is a physical unit pint can read (not a free-text label)."""
    try:
        parse_unit(text)
    except UnitError:
        return False
    return True


def same_dimension(a: str, b: str) -> bool:
    """Whether units ``a`` and ``b`` have the same dimension (both must be readable)."""
    return bool(parse_unit(a).dimensionality == parse_unit(b).dimensionality)


def convert(value: float, unit: str, to: str, *, field: str | None = None) -> float:
    """``value`` in ``unit`` expressed in ``to``. Identical unit texts always convert (a label
    such as ``fold`` to itself). Raises :class:`~mdrsim.errors.UnitMismatchError` when the
    dimensions differ and :class:`~mdrsim.errors.UnitError` when a unit cannot be read."""
    if unit == to:
        return value
    a, b = parse_unit(unit), parse_unit(to)
    if a.dimensionality != b.dimensionality:
        raise UnitMismatchError(
            field or "value",
            value,
            unit,
            to,
            f"{unit!r} is {_dim(a)}, {to!r} is {_dim(b)}",
        )
    return float(value * (a / b).to("dimensionless").magnitude)


def dimension_text(q: Any) -> str:
    """A pint quantity's dimension in words: ``length ** 3 / time``, ``dimensionless``."""
    return str(q.dimensionality).replace("[", "").replace("]", "")


def _dim(q: Any) -> str:
    d = dimension_text(q)
    return "dimensionless" if d == "dimensionless" else f"of dimension {d}"


_NUMBER = re.compile(r"^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")


def split_quantity(text: str, *, field: str = "value") -> tuple[float, str]:
    """``"10 L/h"`` → ``(10.0, "L/h")``; ``"0.5"`` → ``(0.5, "")``. The number must come first
    and be finite; the rest is the unit (checked later, where the expected unit is known)."""
    if not isinstance(text, str):
        raise UnitError(f"{field}: expected text such as '10 L/h', got {text!r}")
    m = _NUMBER.match(text)
    if m is None:
        raise UnitError(
            f"{field}: {text.strip()!r} is not a number (a number, then optionally a unit, "
            "e.g. '10 L/h')"
        )
    value = float(m.group(1))
    if not math.isfinite(value):
        raise UnitError(f"{field}: {text!r} must be a finite number")
    return value, m.group(2)


def quantity_in(value: float | str, expected: str, *, field: str) -> float:
    """A number for ``field`` in its ``expected`` unit. ``value`` is a number (already in that
    unit) or text: a bare number (ditto) or a number and a unit, converted when the unit has
    the expected dimension. Refused with :class:`~mdrsim.errors.UnitMismatchError` when it
    does not, or when ``expected`` is a free-text label that no unit can be checked against."""
    if not isinstance(value, str):
        return float(value)
    number, unit = split_quantity(value, field=field)
    if not unit or unit == expected:
        return number
    if not is_unit(expected):
        raise UnitMismatchError(
            field,
            number,
            unit,
            expected,
            f"{expected!r} is a label, not a physical unit, so no unit can be checked "
            "against it; give the number alone, in that unit",
        )
    try:
        parse_unit(unit)
    except UnitError as exc:
        raise UnitMismatchError(field, number, unit, expected, str(exc)) from None
    return convert(number, unit, expected, field=field)


def parse_assignment(text: str, *, option: str = "--param") -> tuple[str, float, str]:
    """``"CL=10 L/h"`` → ``("CL", 10.0, "L/h")``; ``"k=0.5"`` → ``("k", 0.5, "")``."""
    name, sep, rest = text.partition("=")
    name = name.strip()
    if not sep or not name or not rest.strip():
        raise UnitError(
            f"{option} {text!r}: expected NAME=VALUE or NAME=VALUE UNIT, e.g. "
            f'{option} "CL_doxorubicin=40 L/h"'
        )
    value, unit = split_quantity(rest, field=f"{option} {name}")
    return name, value, unit


def resolve_values(
    values: Mapping[str, float | str],
    known: Collection[str],
    unit_of: Callable[[str], str],
    *,
    option: str = "--param",
) -> dict[str, float]:
    """Values for model quantities in the model's units. A number, or text without a unit, is
    taken in the unit ``unit_of(name)`` declares; text such as ``"40 L/h"`` is converted to
    it. A name not in ``known`` is an :class:`~mdrsim.errors.UnknownNameError`; a unit that
    does not fit is a :class:`~mdrsim.errors.UnitMismatchError` naming the quantity."""
    out: dict[str, float] = {}
    for name, value in values.items():
        if name not in known:
            raise UnknownNameError("parameter", name, known)
        expected = unit_of(name)
        field = f"{option} {name}"
        if isinstance(value, str):
            number, unit = split_quantity(value, field=field)
        else:
            number, unit = float(value), ""
        if not math.isfinite(number):
            raise UnitError(f"{field}: {value!r} must be a finite number")
        if not unit or unit == expected:
            out[name] = number
            continue
        try:
            out[name] = quantity_in(value, expected, field=field)
        except UnitMismatchError as exc:
            if expected != "dimensionless":
                raise
            raise UnitMismatchError(
                field, number, unit, expected,
                f"the model declares {name} dimensionless or gives it no unit, so a unit "
                "cannot be checked; give the number alone, in the model's units",
            ) from exc  # fmt: skip
    return out


def parse_overrides(
    items: Sequence[str],
    unit_of: Callable[[str], str],
    known: Collection[str],
    *,
    option: str = "--param",
) -> dict[str, float]:
    """``["CL_doxorubicin=40 L/h", "k=0.5"]`` → values in the model's units
    (:func:`resolve_values`)."""
    texts: dict[str, str] = {}
    for item in items:
        name, _, _ = parse_assignment(item, option=option)
        texts[name] = item.partition("=")[2].strip()
    return resolve_values(texts, known, unit_of, option=option)


#: Scenario fields whose unit is in their name: a file may give them as text with any unit of
#: the same dimension (``offset_h: 30 min``, ``concentration_uM: 100 nM``).
UNIT_SUFFIXES: Mapping[str, str] = {
    "_per_uM_day": "1/(uM*d)",
    "_per_day": "1/d",
    "_uM": "uM",
    "_h": "h",
    "_days": "d",
    "_day": "d",
    "_mm": "mm",
    "_cm": "cm",
    "_kg": "kg",
    "_m2": "m**2",
}


def convert_field(name: str, value: Any) -> Any:
    """A scenario field's value with a unit converted to the unit its name declares
    (:data:`UNIT_SUFFIXES`); values that are not text, and fields without a unit in their
    name, pass unchanged (the schema checks them)."""
    if not isinstance(value, str):
        return value
    for suffix, unit in UNIT_SUFFIXES.items():
        if name.endswith(suffix):
            if _NUMBER.match(value) is None:
                return value  # not a quantity: the schema reports it as not a number
            return quantity_in(value, unit, field=name)
    return value


_DOSE_UNITS = {"[mass] / [length] ** 2": "mg/m2", "dimensionless": "mg/kg", "[mass]": "mg"}


def dose_unit(dose: Any, unit: Any) -> tuple[Any, Any]:
    """A regimen dose (a number, or text with its unit such as ``"75 mg/m2"``) and its
    ``unit`` field, as ``(value, unit)`` in mg/m², mg/kg or mg — whichever has the dimension
    of the unit given (mass per area, mass per mass, mass). Refused with
    :class:`~mdrsim.errors.UnitMismatchError` naming the dose otherwise."""
    expected = "mg/m2, mg/kg or mg"
    if isinstance(dose, str):
        if _NUMBER.match(dose) is None:
            return dose, unit  # not a quantity: the schema reports it as not a number
        number, written = split_quantity(dose, field="dose")
        if written and unit is not None and written != unit:
            raise UnitMismatchError(
                "dose", number, written, str(unit), "the dose and its unit field disagree"
            )
        dose, unit = number, (written or unit or "mg/m2")
    if unit is None:
        return dose, "mg/m2"
    if not isinstance(unit, str):
        raise UnitError(f"unit: {unit!r} must be text such as 'mg/m2'")
    if not isinstance(dose, int | float) or isinstance(dose, bool):
        return dose, unit  # the schema reports a dose that is not a number
    try:
        q = parse_unit(unit)
    except UnitError as exc:
        raise UnitMismatchError("dose", float(dose), unit, expected, str(exc)) from None
    dim = str(q.dimensionality)
    # mg/kg is mass per mass: dimensionless for pint, but "fold" is dimensionless too, so
    # a dimensionless dose unit must also contain a mass.
    if dim not in _DOSE_UNITS or (dim == "dimensionless" and "gram" not in str(q.units)):
        raise UnitMismatchError(
            "dose", float(dose), unit, expected,
            f"{unit!r} is {_dim(q)}; a dose is a mass per body surface area, per body weight "
            "or flat",
        )  # fmt: skip
    canonical = _DOSE_UNITS[dim]
    return convert(float(dose), unit, canonical, field="dose"), canonical


_MASS_PER_VOLUME = "[mass] / [length] ** 3"
_ALLOWED_CONC = (
    "pM, nM, uM, mM, M or any amount per volume (mol/L, nmol/mL …), and mass per volume "
    "(ng/mL, mg/L …)"
)
#: Case-insensitive spellings accepted before this module used pint ("100 NM").
_CONC_SPELLINGS = {
    u.lower(): u
    for u in (
        "pM", "nM", "uM", "mM", "M", "pmol/L", "nmol/L", "umol/L", "mmol/L", "mol/L",
        "pg/mL", "ng/mL", "ug/mL", "mg/mL", "ng/L", "ug/L", "mg/L", "g/L",
    )
}  # fmt: skip


def _concentration_unit(unit: str) -> Any:
    """The unit as pint reads it when that is a concentration; else its case-insensitive
    spelling among the common ones; else None."""
    try:
        q = parse_unit(unit)
    except UnitError:
        q = None
    if q is not None and str(q.dimensionality) in (_MASS_PER_VOLUME, _SUBSTANCE_PER_VOLUME):
        return q
    fixed = _CONC_SPELLINGS.get(unit.lower().replace("µ", "u").replace("μ", "u"))
    if fixed is not None:
        return parse_unit(fixed)
    return q


_SUBSTANCE_PER_VOLUME = "[substance] / [length] ** 3"


def parse_concentration(text: str, *, molecular_weight: float | None = None) -> float:
    """Read a concentration such as ``"100 nM"``, ``"0.1 µM"``, ``"2 mmol/L"`` or
    ``"150 ng/mL"`` and return it in µM. A bare number is µM. Mass concentrations need
    ``molecular_weight`` (g/mol)."""
    if not isinstance(text, str):
        raise ConcentrationError(f"concentration must be text such as '100 nM', got {text!r}")
    m = _NUMBER.match(text)
    if m is None:
        raise ConcentrationError(
            f"cannot read a concentration from {text!r}: expected a number and a unit, "
            "e.g. '100 nM', '0.1 uM' or '150 ng/mL'"
        )
    value, unit = float(m.group(1)), m.group(2)
    if not math.isfinite(value) or value < 0:
        raise ConcentrationError(f"concentration must be a finite number >= 0, got {text!r}")
    if unit == "":
        return value
    q = _concentration_unit(unit)
    if q is None:
        raise ConcentrationError(
            f"unknown concentration unit {unit!r} in {text!r}; allowed: {_ALLOWED_CONC} "
            "(a bare number is µM; mass units need a molecular weight)"
        )
    q = value * q
    dim = str(q.dimensionality)
    if dim == _SUBSTANCE_PER_VOLUME:
        return float(q.to("uM").magnitude)
    if dim == _MASS_PER_VOLUME:
        if molecular_weight is None:
            raise ConcentrationError(
                f"{text!r} is a mass concentration: give molecular_weight (g/mol) to convert it"
            )
        if not (math.isfinite(molecular_weight) and molecular_weight > 0):
            raise ConcentrationError(f"molecular_weight must be > 0 g/mol, got {molecular_weight}")
        return float(q.to("g/L").magnitude) / molecular_weight * 1e6
    raise ConcentrationError(
        f"{text!r} is not a concentration: its unit {unit!r} is {_dim(q)}; allowed: {_ALLOWED_CONC}"
    )
