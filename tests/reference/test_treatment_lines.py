"""Tumour evolution under treatment lines, through the one treatment-line runner
(:mod:`mdrsim.patient.runner`).

The seed's clinical claim (Gottesman, Fojo & Bates, Nat Rev Cancer 2002;2:48; science.md §1,
§3): after a first line with a P-gp substrate selects MDR1-high cells, a second line with
another substrate fails faster than a second line with a non-substrate. Tested as a controlled
in-silico experiment: the three test drugs are copies of the library's doxorubicin — identical
PK, potency and kill — that differ only in being moved by P-gp (``nonsub`` has efficiency 0),
so any difference is the MDR1 selection. They reach the patient model through a library given
explicitly, as any user-supplied library would.
"""

from __future__ import annotations

import numpy as np
import pytest

from mdrsim.data.library import Library, load_library
from mdrsim.patient import build_patient_model, run_patients
from mdrsim.patient.scenario import parse_scenario
from mdrsim.regimen.schedule import Dose, Patient, Regimen, RegimenError


def _test_library() -> Library:
    lib = load_library()
    dox = lib.drug("doxorubicin")
    no_ddi = dox.pk.model_copy(update={"pgp_dependent_clearance_fraction": None})  # type: ignore[union-attr]
    drugs = dict(lib.drugs)
    for name in ("sub1", "sub2", "nonsub"):
        update: dict[str, object] = {"name": name, "aliases": [], "pk": no_ddi}
        if name == "nonsub":
            update["pgp_efficiency"] = dox.pgp_efficiency.model_copy(update={"value": 0.0})
            update["pgp_substrate"] = False
        drugs[name] = dox.model_copy(update=update)
    return lib.model_copy(update={"drugs": drugs})


LIB = _test_library()

SCENARIO = """\
name: lines
horizon_days: {horizon}
# sub1/sub2 are doxorubicin copies dosed above its label on purpose (see below): acknowledged.
allow_above_label_dose: true
patient:
  tumour:
    cells_1e9: 10
    mdr1_high_fraction: 0.0001
    mdr1_low_fraction: 0.0199
    growth_rate_per_day: 0.004
    mdr1_fitness_cost: {cost}
lines:
{lines}
outputs: {{untreated_twin: false, trajectory_step_days: 7}}
"""

# 300 mg/m2, well above doxorubicin's clinical 75: the library's class-typical kill (Emax 2/d,
# EC50 from the parental IC50) at 75 mg/m2 lets the parental clone regrow before MDR1-high cells
# take over, and the experiment is about selection, not clinical dosing. (200 mg/m2 sufficed
# with the paediatric doxorubicin PK, whose 122-h tail gave more kill per cycle; with the adult
# PK of issue 17 the MDR1-high fraction at first progression is 0.15 at 200, 0.80 at 300.)
# (The former stand-alone runner's test drugs had Emax 6/d, EC50 1 µM and 500 mg doses;
# see docs/tumour.md.)
LINE = """\
  - name: {drug}
    cycle_length_days: 21
    n_cycles: {cycles}
    doses: [{{drug: {drug}, dose: {dose}, unit: mg/m2}}]
{adaptive}"""


def _run(drugs, *, cycles, horizon, cost=0.1, adaptive="", dose=300.0):
    lines = "".join(
        LINE.format(drug=d, cycles=cycles, dose=dose, adaptive=adaptive if k == 0 else "")
        for k, d in enumerate(drugs)
    )
    sc = parse_scenario(
        SCENARIO.format(horizon=horizon, cost=cost, lines=lines.rstrip("\n")), library=LIB
    )
    pm = build_patient_model(sc, LIB)
    v = pm.variables
    out = run_patients(pm, record_variables=[v.tumour.total, v.tumour.high_fraction])
    return out


def _series(out, name):
    traj = out.trajectories
    rows = traj[traj["variable"] == name]
    return rows["time"].to_numpy(), rows["value"].to_numpy()


def test_second_line_substrate_fails_faster_than_a_non_substrate():
    first = _run(["sub1", "sub2"], cycles=40, horizon=3000)
    other = _run(["sub1", "nonsub"], cycles=40, horizon=3000)
    # Line 1 responds, then progresses on treatment because it selected MDR1-high cells.
    line1 = first.lines.iloc[0]
    assert line1["best_response"] in ("PR", "CR")
    assert line1["progression_day"] is not None
    t, high = _series(first, "mdr1_high_fraction")
    i = int(np.searchsorted(t, line1["progression_day"]))
    assert high[i] > 0.5
    # The same first line in both runs: the second starts on the same day from the same tumour.
    assert other.lines.iloc[0]["progression_day"] == pytest.approx(line1["progression_day"])
    sub, non = first.lines.iloc[1], other.lines.iloc[1]
    ttp_sub = sub["progression_day"] - sub["start_day"]
    assert sub["progression_day"] is not None
    assert non["progression_day"] is None or non["progression_day"] - non["start_day"] > 2 * ttp_sub


ADAPTIVE = "    adaptive: {stop_below_fraction_of_baseline: 0.5, resume_at_fraction: 1.0}\n"


def test_adaptive_therapy_pauses_and_delays_progression_with_a_fitness_cost():
    """Zhang et al. 2017: with a fitness cost of resistance, pausing at half the baseline
    burden keeps sensitive cells to compete with resistant ones — progression comes later
    on less drug. (170 mg/m2 with the adult doxorubicin PK of issue 17 — 100 mg/m2 with the
    former paediatric PK: continuous therapy must progress on treatment; at 200 mg/m2 it holds
    the tumour through all 60 cycles.)"""
    continuous = _run(["sub1"], cycles=60, horizon=2500, cost=0.6, dose=170.0)
    adaptive = _run(["sub1"], cycles=60, horizon=2500, cost=0.6, dose=170.0, adaptive=ADAPTIVE)
    c, a = continuous.lines.iloc[0], adaptive.lines.iloc[0]
    assert a["cycles_paused"] > 0 and c["cycles_paused"] == 0
    assert c["progression_day"] is not None
    assert a["progression_day"] is None or a["progression_day"] > c["progression_day"]
    # Less drug per day on the line (the stand-alone runner compared cycle counts; here
    # continuous therapy stops at its earlier progression, so the rate is what differs).
    a_days = (a["progression_day"] or 2500.0) - a["start_day"]
    c_days = c["progression_day"] - c["start_day"]
    assert a["cycles_given"] / a_days < 0.5 * c["cycles_given"] / c_days


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
        bad.check(load_library(), horizon_days=365)
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
