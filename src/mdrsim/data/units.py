"""Units of the library: conversion between units of one kind and reading concentrations.

Internal units are fixed (time in hours here, concentrations in µM, clearance in L/h); values
are converted where they enter, so nothing downstream guesses a unit. The tables are small and
explicit on purpose: the library uses a handful of units, each listed below, and an unknown unit
is an error rather than a guess. (pint is the ecosystem's unit library; adopting it is a
separate step.)
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from mdrsim.errors import ConcentrationError, UnitError

__all__ = ["convert", "parse_concentration"]

_TIME_FACTORS = {"min": 1 / 60, "h": 1.0, "d": 24.0}  # hours
_CLEARANCE_FACTORS = {"L/h": 1.0, "mL/min": 0.06}  # L/h
_CONC_FACTORS = {"pM": 1e-6, "nM": 1e-3, "uM": 1.0, "mM": 1e3, "M": 1e6}  # µM


def convert(value: float, unit: str, to: str) -> float:
    """Convert between units of one kind: time (min, h, d), clearance (L/h, mL/min, per m2
    alike) and molar concentration (pM … M). Identical units always convert."""
    if unit == to:
        return value
    per_m2_from, per_m2_to = unit.endswith("/m2"), to.endswith("/m2")
    base_from = unit.removesuffix("/m2")
    base_to = to.removesuffix("/m2")
    for table in (_TIME_FACTORS, _CLEARANCE_FACTORS, _CONC_FACTORS):
        if base_from in table and base_to in table and per_m2_from == per_m2_to:
            return value * table[base_from] / table[base_to]
    kinds = (
        "time (min, h, d), clearance (L/h, mL/min, optionally per m2), "
        "molar concentration (pM, nM, uM, mM, M)"
    )
    raise UnitError(
        f"cannot convert {value!r} {unit!r} to {to!r}: both must be units of one kind; "
        f"allowed kinds: {kinds}"
    )


_MOLAR_UNITS = {
    "pM": 1e-6, "nM": 1e-3, "uM": 1.0, "µM": 1.0, "μM": 1.0, "mM": 1e3, "M": 1e6,
    "pmol/L": 1e-6, "nmol/L": 1e-3, "umol/L": 1.0, "µmol/L": 1.0, "μmol/L": 1.0,
    "mmol/L": 1e3, "mol/L": 1e6,
}  # fmt: skip
_MASS_UNITS = {  # grams per litre
    "pg/mL": 1e-9, "ng/mL": 1e-6, "ug/mL": 1e-3, "µg/mL": 1e-3, "μg/mL": 1e-3, "mg/mL": 1.0,
    "ng/L": 1e-9, "ug/L": 1e-6, "µg/L": 1e-6, "μg/L": 1e-6, "mg/L": 1e-3, "g/L": 1.0,
}  # fmt: skip
_NUMBER = re.compile(r"^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")


def _lookup(unit: str, table: Mapping[str, float]) -> float | None:
    if unit in table:
        return table[unit]
    lowered = {k.lower(): v for k, v in table.items()}
    return lowered.get(unit.lower())


def parse_concentration(text: str, *, molecular_weight: float | None = None) -> float:
    """Read a concentration such as ``"100 nM"``, ``"0.1 µM"``, ``"2 mM"`` or ``"150 ng/mL"``
    and return it in µM. A bare number is µM. Mass concentrations need ``molecular_weight``
    (g/mol). Units match exactly or, failing that, ignoring case. Nothing is evaluated."""
    if not isinstance(text, str):
        raise ConcentrationError(f"concentration must be text such as '100 nM', got {text!r}")
    m = _NUMBER.match(text)
    if m is None:
        raise ConcentrationError(
            f"cannot read a concentration from {text!r}: expected a number and a unit, "
            "e.g. '100 nM', '0.1 uM' or '150 ng/mL'"
        )
    value = float(m.group(1))
    unit = m.group(2)
    if not math.isfinite(value) or value < 0:
        raise ConcentrationError(f"concentration must be a finite number >= 0, got {text!r}")
    if unit == "":
        return value
    factor = _lookup(unit, _MOLAR_UNITS)
    if factor is not None:
        return value * factor
    grams_per_litre = _lookup(unit, _MASS_UNITS)
    if grams_per_litre is not None:
        if molecular_weight is None:
            raise ConcentrationError(
                f"{text!r} is a mass concentration: give molecular_weight (g/mol) to convert it"
            )
        if not (math.isfinite(molecular_weight) and molecular_weight > 0):
            raise ConcentrationError(f"molecular_weight must be > 0 g/mol, got {molecular_weight}")
        return value * grams_per_litre / molecular_weight * 1e6
    allowed = ", ".join([*_MOLAR_UNITS, *_MASS_UNITS])
    raise ConcentrationError(
        f"unknown concentration unit {unit!r} in {text!r}; allowed: {allowed} "
        "(a bare number is µM; mass units need a molecular weight)"
    )
