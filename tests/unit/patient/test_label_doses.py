"""Doses outside the label are refused (issue 17), unless the scenario allows them — then the
model carries a warning for every exceedance. Limits: FDA label, Doxorubicin HCl (Pfizer)
2.2 (60-75 mg/m² q21d; cumulative doses above 550 mg/m² raise the risk of cardiomyopathy)."""

from __future__ import annotations

import pytest

from mdrsim.data.library import load_library
from mdrsim.errors import ScenarioError
from mdrsim.patient.library_bridge import label_dose_exceedances
from mdrsim.patient.scenario import parse_scenario
from mdrsim.regimen.schedule import Dose, Patient, Regimen

LIB = load_library()


def _text(dose: float, unit: str = "mg/m2", cycles: int = 6, allow: bool = False) -> str:
    return f"""
name: dose check
horizon_days: 200
allow_above_label_dose: {str(allow).lower()}
patient: {{bsa_m2: 1.8, weight_kg: 70}}
lines:
  - name: dox
    cycle_length_days: 21
    n_cycles: {cycles}
    doses:
      - {{drug: doxorubicin, dose: {dose}, unit: {unit}}}
"""


def test_label_dose_runs():
    assert parse_scenario(_text(75.0), library=LIB).lines[0].doses[0].dose == 75.0


def test_mg_per_kg_typo_is_refused_with_field_value_limit_and_source():
    with pytest.raises(ScenarioError) as err:
        parse_scenario(_text(75.0, unit="mg/kg"), library=LIB)
    text = str(err.value)
    assert "lines[0].doses[0].dose (line 11)" in text
    assert "75 mg/kg" in text and "2917 mg/m2" in text  # 75 × 70 / 1.8
    assert "labelled maximum 75 mg/m2" in text
    assert "FDA label" in text
    assert "allow_above_label_dose" in text


def test_ten_times_the_lifetime_dose_is_refused():
    with pytest.raises(ScenarioError) as err:
        parse_scenario(_text(750.0), library=LIB)
    text = str(err.value)
    assert "labelled maximum 75 mg/m2" in text
    assert "cumulative dose 4500 mg/m2" in text and "lifetime limit 550 mg/m2" in text


def test_cumulative_limit_alone():
    """8 × 75 = 600 mg/m² > 550: each dose is labelled, the total is not."""
    with pytest.raises(ScenarioError, match="cumulative dose 600 mg/m2"):
        parse_scenario(_text(75.0, cycles=8), library=LIB)
    parse_scenario(_text(75.0, cycles=7), library=LIB)  # 525 mg/m2


def test_allowed_above_label_dose_runs_with_a_warning():
    from mdrsim.patient.model import build_patient_model

    scenario = parse_scenario(_text(750.0, allow=True), library=LIB)
    pm = build_patient_model(scenario, LIB)
    assert len(pm.warnings) == 2
    assert all("allow_above_label_dose" in w for w in pm.warnings)


def test_mg_and_mg_per_kg_are_converted_with_the_patient():
    patient = Patient(bsa_m2=2.0, weight_kg=80.0)
    ok = Regimen(
        name="a",
        cycle_length_days=21,
        n_cycles=1,
        doses=(Dose(drug="doxorubicin", dose=150.0, unit="mg"),),
    )
    assert label_dose_exceedances([ok], patient, LIB) == []  # 75 mg/m2
    high = Regimen(
        name="b",
        cycle_length_days=21,
        n_cycles=1,
        doses=(Dose(drug="doxorubicin", dose=152.0, unit="mg"),),
    )
    assert len(label_dose_exceedances([high], patient, LIB)) == 1
