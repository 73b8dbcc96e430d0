"""Tumour evolution under treatment lines.

The seed's clinical claim (Gottesman, Fojo & Bates, Nat Rev Cancer 2002;2:48; science.md §1,
§3): after a first line with a P-gp substrate selects MDR1-high cells, a second line with
another substrate fails faster than a second line with a non-substrate. Tested as a controlled
in-silico experiment: the two second-line drugs have identical PK and potency and differ only
in being moved by P-gp, so any difference is the MDR1 selection.
"""

from __future__ import annotations

import numpy as np
import pytest
from mdrsim.regimen.lines import INHIBITOR_PARAM, AdaptiveRule, TumourPatientModel, run_lines

from mdrsim.biology.pk import PKParameters, add_pk
from mdrsim.biology.tumour import DrugKill, TumourSpec, add_tumour
from mdrsim.engine import compile_model
from mdrsim.model import ModelBuilder
from mdrsim.regimen.recist import Response
from mdrsim.regimen.schedule import Dose, Patient, Regimen, RegimenError

PK = PKParameters(cl=20.0, v1=20.0, molecular_weight=500.0, source="assumed: test drug")
SPEC = TumourSpec(r=0.004, initial_fractions=(0.98, 0.0199, 0.0001), cost=0.1)
DRUGS = {
    "sub1": 10.0,  # P-gp efficiency: first-line substrate
    "sub2": 10.0,  # second-line substrate
    "nonsub": 0.0,  # second-line non-substrate
}


def _model(spec: TumourSpec = SPEC) -> TumourPatientModel:
    b = ModelBuilder("lines")
    b.parameter(INHIBITOR_PARAM, 0.0, constant=False, unit="uM")
    kills = []
    for drug, eff in DRUGS.items():
        add_pk(b, drug, PK)
        kills.append(
            DrugKill(drug, f"{drug}_plasma_uM", eff, emax=6.0, ec50=1.0, source="assumed: test")
        )
    clones = add_tumour(b, spec, tuple(kills))
    return TumourPatientModel(
        compile_model(b.build()), tuple(DRUGS), {d: PK for d in DRUGS}, clones, None
    )


def _line(drug: str, cycles: int = 40) -> Regimen:
    return Regimen(
        name=drug,
        cycle_length_days=21,
        n_cycles=cycles,
        doses=(Dose(drug=drug, dose=500.0, unit="mg"),),
    )


@pytest.fixture(scope="module")
def model() -> TumourPatientModel:
    return _model()


def test_second_line_substrate_fails_faster_than_a_non_substrate(model):
    patient = Patient()
    first = run_lines(model, [_line("sub1"), _line("sub2")], patient, horizon_days=3000)
    other = run_lines(model, [_line("sub1"), _line("nonsub")], patient, horizon_days=3000)
    # Line 1 responds, then progresses on treatment because it selected MDR1-high cells.
    line1 = first.lines[0]
    assert line1.best_response in (Response.PR, Response.CR)
    assert line1.progression_day is not None
    i = int(np.searchsorted(first.times, line1.progression_day))
    assert first.clones["T_mdr1_high"][i] / first.burden[i] > 0.5
    ttp_sub = first.time_to_progression(1)
    ttp_non = other.time_to_progression(1)
    assert ttp_sub is not None
    assert ttp_non is None or ttp_non > 2 * ttp_sub


def test_adaptive_therapy_pauses_and_delays_progression_with_a_fitness_cost():
    spec = TumourSpec(r=0.004, initial_fractions=(0.98, 0.0199, 0.0001), cost=0.6)
    m = _model(spec)
    patient = Patient()
    continuous = run_lines(m, [_line("sub1", 60)], patient, horizon_days=2500)
    adaptive = run_lines(
        m,
        [_line("sub1", 60)],
        patient,
        horizon_days=2500,
        adaptive=AdaptiveRule(pause_fraction=0.5, resume_fraction=1.0),
    )
    assert adaptive.lines[0].cycles_given < continuous.lines[0].cycles_given
    t_cont = continuous.lines[0].progression_day
    t_adapt = adaptive.lines[0].progression_day
    assert t_cont is not None
    assert t_adapt is None or t_adapt > t_cont


def test_regimen_validation_lists_every_problem():
    bad = Regimen(
        name="bad",
        cycle_length_days=21,
        n_cycles=30,
        doses=(
            Dose(drug="doxorubicine", dose=60.0),
            Dose(drug="paclitaxel", dose=175, infusion_h=30, days=(1, 2)),
            Dose(drug="cisplatin", dose=75, days=(25,)),
        ),
    )
    with pytest.raises(RegimenError) as info:
        bad.check(horizon_days=365)
    text = str(info.value)
    assert "did you mean" in text and "doxorubicin" in text
    assert "infusions of paclitaxel overlap" in text
    assert "outside a 21-day cycle" in text
    assert "beyond the horizon" in text
    with pytest.raises(ValueError):
        Dose(drug="cisplatin", dose=-5.0)


def test_dosing_by_body_surface_area_and_weight():
    p = Patient(bsa_m2=2.0, weight_kg=80.0)
    assert p.dose_mg(Dose(drug="x", dose=75.0)) == 150.0
    assert p.dose_mg(Dose(drug="x", dose=2.0, unit="mg/kg")) == 160.0
    assert p.dose_mg(Dose(drug="x", dose=100.0, unit="mg")) == 100.0
