"""Units at the I/O boundary (pint): conversions against independent definitions, round trips
(hypothesis), refusals that name the field, the value, the unit given and the unit expected.

Reference factors are the SI definitions, not values from the code under test: 1 h = 60 min,
1 d = 24 h, 1 L = 1000 mL, 1 lb = 0.45359237 kg (exact, international pound), 1 M = 1 mol/L.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdrsim.data import units
from mdrsim.data.units import (
    convert,
    convert_field,
    dose_unit,
    parse_concentration,
    parse_overrides,
    quantity_in,
)
from mdrsim.errors import ConcentrationError, UnitError, UnitMismatchError, UnknownNameError

#: (value, unit, target, expected) — each expected value computed by hand from SI definitions.
REFERENCE = [
    (90.0, "min", "h", 1.5),
    (2.0, "d", "h", 48.0),
    (1.0, "mL/min", "L/h", 0.06),  # 1 mL/min × 60 min/h ÷ 1000 mL/L
    (1.0, "mL/min/m2", "L/h/m2", 0.06),
    (24.0, "L/d", "L/h", 1.0),
    (5000.0, "1/uL", "1e9/L", 5.0),  # 5000 per µL = 5e9 per L
    (154.0, "lb", "kg", 154 * 0.45359237),
    (250.0, "nM", "uM", 0.25),
    (0.5, "mol/L", "uM", 5e5),
    (30.0, "s", "min", 0.5),
    (1.0, "1/h", "1/d", 24.0),
]


def _reference_check(conv: Callable[[float, str, str], float]) -> list[str]:
    """Every reference conversion that ``conv`` gets wrong (relative 1e-12)."""
    return [
        f"{v} {u} -> {t}: {conv(v, u, t)} != {want}"
        for v, u, t, want in REFERENCE
        if not math.isclose(conv(v, u, t), want, rel_tol=1e-12)
    ]


def test_reference_conversions() -> None:
    assert _reference_check(convert) == []


def test_the_reference_check_fails_on_a_wrong_conversion(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above can fail: with a registry that reads mL as a centilitre (a wrong
    prefix), the clearance rows are caught."""
    real = units._parse

    def wrong(text: str) -> object:
        return real(text.replace("mL", "cL"))

    monkeypatch.setattr(units, "_parse", wrong)
    problems = _reference_check(convert)
    assert any("mL/min -> L/h" in p for p in problems), problems
    # And the inverse mistake (a converter that multiplies where it should divide).
    assert _reference_check(lambda v, u, t: v / convert(1.0, u, t)) != []


SAME_DIMENSION = [
    ["min", "h", "d", "s", "wk"],
    ["L/h", "mL/min", "L/d", "uL/s"],
    ["L/h/m2", "mL/min/m2", "L/d/m2"],
    ["pM", "nM", "uM", "mM", "M", "mol/L", "nmol/mL"],
    ["mg/m2", "g/m2", "ug/cm2"],
    ["1/d", "1/h", "1/min"],
    ["kg", "g", "lb"],
]
_pairs = st.sampled_from(SAME_DIMENSION).flatmap(
    lambda group: st.tuples(st.sampled_from(group), st.sampled_from(group), st.sampled_from(group))
)
_values = st.floats(min_value=1e-12, max_value=1e12, allow_nan=False, allow_infinity=False)


@given(_values, _pairs)
def test_conversion_round_trips(value: float, trio: tuple[str, str, str]) -> None:
    a, b, c = trio
    there = convert(value, a, b)
    assert math.isclose(convert(there, b, a), value, rel_tol=1e-12)
    # Converting through a third unit gives the direct result.
    assert math.isclose(convert(there, b, c), convert(value, a, c), rel_tol=1e-12)


@given(
    _values,
    st.sampled_from([g[0] for g in SAME_DIMENSION]),
    st.sampled_from([g[-1] for g in SAME_DIMENSION]),
)
def test_a_dimension_mismatch_names_the_field_value_and_units(
    value: float, unit: str, expected: str
) -> None:
    if units.same_dimension(unit, expected):
        return
    with pytest.raises(UnitMismatchError) as info:
        quantity_in(f"{value!r} {unit}", expected, field="CL_doxorubicin")
    err = info.value
    assert (err.field, err.unit, err.expected) == ("CL_doxorubicin", unit, expected)
    assert math.isclose(err.value, value)
    message = str(err)
    assert "CL_doxorubicin" in message and repr(unit) in message and repr(expected) in message


def test_quantity_in_numbers_and_labels() -> None:
    assert quantity_in(3.0, "L/h", field="CL") == 3.0
    assert quantity_in("3", "L/h", field="CL") == 3.0
    assert quantity_in("166.66666666666666 mL/min", "L/h", field="CL") == pytest.approx(10.0)
    # A free-text label cannot be checked: a number alone is fine, a unit is refused.
    assert quantity_in("2", "relative P-gp density", field="pgp") == 2.0
    with pytest.raises(UnitMismatchError, match="label"):
        quantity_in("2 uM", "relative P-gp density", field="pgp")
    with pytest.raises(UnitMismatchError, match="furlongs"):
        quantity_in("2 furlongs_per_fortnite", "L/h", field="CL")


def test_overrides_use_the_declared_unit_and_refuse_unknown_names() -> None:
    declared = {"CL": "L/h", "k": "1/d", "tum_cost": "dimensionless"}
    values = parse_overrides(
        ["CL=10 L/h", "k=0.5 1/h", "tum_cost=0.2"], declared.__getitem__, declared
    )
    assert values == {"CL": 10.0, "k": pytest.approx(12.0), "tum_cost": 0.2}
    with pytest.raises(UnitMismatchError, match="dimensionless or gives it no unit"):
        parse_overrides(["tum_cost=0.2 1/d"], declared.__getitem__, declared)
    with pytest.raises(UnknownNameError, match="did you mean: CL"):
        parse_overrides(["CLL=1"], declared.__getitem__, declared)
    with pytest.raises(UnitError, match="is not a number"):
        parse_overrides(["CL=abc"], declared.__getitem__, declared)


def test_concentrations() -> None:
    # 150 ng/mL of doxorubicin (543.52 g/mol) = 150e-6 g/L ÷ 543.52 g/mol = 0.27598 µM.
    assert parse_concentration("150 ng/mL", molecular_weight=543.52) == pytest.approx(
        150e-6 / 543.52 * 1e6, rel=1e-12
    )
    assert parse_concentration("100 nM") == pytest.approx(0.1)
    assert parse_concentration("0.3") == 0.3
    with pytest.raises(ConcentrationError, match="molecular_weight"):
        parse_concentration("1 mg/L")
    with pytest.raises(ConcentrationError, match="not a concentration"):
        parse_concentration("1 L/h")


def test_scenario_fields_with_units() -> None:
    assert convert_field("offset_h", "30 min") == pytest.approx(0.5)
    assert convert_field("horizon_days", "2 wk") == pytest.approx(14.0)
    assert convert_field("weight_kg", "154 lb") == pytest.approx(154 * 0.45359237)
    assert convert_field("name", "30 min") == "30 min"  # no unit in the name: untouched
    with pytest.raises(UnitMismatchError, match="offset_h"):
        convert_field("offset_h", "2 kg")


def test_doses_convert_to_the_three_dose_units() -> None:
    assert dose_unit("0.075 g/m2", None) == (pytest.approx(75.0), "mg/m2")
    assert dose_unit(1500.0, "ug/kg") == (pytest.approx(1.5), "mg/kg")
    assert dose_unit("1 g", None) == (pytest.approx(1000.0), "mg")
    with pytest.raises(UnitMismatchError, match="dose") as info:
        dose_unit(75.0, "mL")
    assert info.value.expected == "mg/m2, mg/kg or mg"
    with pytest.raises(UnitMismatchError, match="disagree"):
        dose_unit("75 mg/m2", "mg/kg")
    with pytest.raises(UnitMismatchError):  # a dimensionless label is not mass per mass
        dose_unit(2.0, "fold")


SCENARIO = """
name: units
horizon_days: {horizon}
patient: {{weight_kg: 70, bsa_m2: 1.8}}
lines:
  - name: doxorubicin
    cycle_length_days: 21
    n_cycles: 2
    doses: [{{drug: doxorubicin, dose: {dose}}}]
    inhibitors: [{{inhibitor: tariquidar, offset_h: {offset}}}]
"""


def test_a_scenario_file_may_write_units() -> None:
    from mdrsim.patient.scenario import parse_scenario

    plain = parse_scenario(SCENARIO.format(horizon="365", dose="75", offset="0.5"))
    written = parse_scenario(
        SCENARIO.format(horizon="'52 wk'", dose="'0.075 g/m2'", offset="'30 min'")
    )
    assert written.horizon_days == pytest.approx(364.0)
    assert written.lines[0].doses[0].dose == pytest.approx(plain.lines[0].doses[0].dose)
    assert written.lines[0].doses[0].unit == "mg/m2"
    assert written.lines[0].inhibitors[0].offset_h == pytest.approx(0.5)


def test_a_scenario_unit_of_the_wrong_dimension_is_refused_with_its_path() -> None:
    from mdrsim.errors import ScenarioError
    from mdrsim.patient.scenario import parse_scenario

    with pytest.raises(ScenarioError) as info:
        parse_scenario(SCENARIO.format(horizon="'1 L'", dose="'75 mL'", offset="'2 kg'"))
    text = "\n".join(info.value.problems)
    assert "horizon_days" in text and "'L'" in text and "'d'" in text
    assert "lines[0].doses[0]" in text and "'mL'" in text and "mg/m2, mg/kg or mg" in text
    assert "lines[0].inhibitors[0].offset_h" in text and "'kg'" in text


def test_library_quantities_in_another_unit_of_the_same_dimension(tmp_path: Path) -> None:
    """A library entry may be written in any unit of its field's dimension: zosuquidar's Ki
    written in nM (× 1000, 1 µM = 1000 nM) loads as the same number of µM."""
    from mdrsim.data.library import load_library
    from tests.unit.data.test_library import _copy_library, _edit

    original = load_library().inhibitor("zosuquidar").ki
    assert original is not None and original.unit == "uM"
    directory = _copy_library(tmp_path)

    def to_nm(d: dict) -> None:  # type: ignore[type-arg]
        ki = d["inhibitors"]["zosuquidar"]["ki"]
        ki.update(value=ki["value"] * 1000, unit="nM")
        if ki.get("range"):
            ki["range"] = [r * 1000 for r in ki["range"]]

    _edit(directory, "inhibitors.yaml", to_nm)
    loaded = load_library(directory).inhibitor("zosuquidar").ki
    assert loaded is not None and loaded.unit == "uM"
    assert loaded.value == pytest.approx(original.value, rel=1e-12)
    assert "nM" in (loaded.note or "")
