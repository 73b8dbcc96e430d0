"""Invariants of the whole-patient runner over random patients (hypothesis): populations stay
non-negative, the drug given is all accounted for (AUC = doses·dose/CL), and the line table
is consistent with the endpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mdrsim.data.library import load_library
from mdrsim.patient import build_patient_model, default_inputs, run_patients
from mdrsim.patient.scenario import load_scenario

LIB = load_library()

EXAMPLE = Path(__file__).parents[2] / "examples" / "doxorubicin_tariquidar.yaml"


@pytest.fixture(scope="module")
def model():
    return build_patient_model(load_scenario(EXAMPLE), LIB)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    bsa=st.floats(1.3, 2.5),
    growth=st.floats(0.0005, 0.015),
    high=st.floats(0.0, 0.3),
    clearance=st.floats(20.0, 120.0),
)
def test_random_patients_keep_the_invariants(model, bsa, growth, high, clearance) -> None:
    cm = model.compiled
    inputs = default_inputs(model, 1)
    p = cm.parameter_names
    inputs.bsa_m2[:] = bsa
    inputs.params[0, p.index("tum_r")] = growth
    inputs.params[0, p.index("CL_doxorubicin")] = clearance
    s = cm.state_names
    total = inputs.y0[0, [s.index(c) for c in model.clones]].sum()
    inputs.y0[0, s.index("T_mdr1_high")] = high * total
    inputs.y0[0, s.index("T_parental")] = total * (1 - high) - inputs.y0[0, s.index("T_mdr1_low")]
    out = run_patients(model, inputs, untreated_twin=False)
    ep = out.endpoints.iloc[0]
    assert ep["status"] == "ok", ep["reason"]
    traj = out.trajectories
    for name in (*model.clones, "N_cd8", "A_cd8", "E_cd8", "M_cd8", "CTL_tumour", "ANC"):
        v = traj.loc[traj.variable == name, "value"].to_numpy()
        assert np.all(np.isfinite(v)), name
        assert v.min() >= -1e-9 * max(1.0, v.max()), name
    cycles = int(out.lines["cycles_given"].sum())
    # tariquidar does not change doxorubicin clearance, so every mg given appears in the AUC
    expected = cycles * 75.0 * bsa / clearance
    assert ep["auc_doxorubicin_mg_h_per_L"] == pytest.approx(expected, rel=5e-3)
    progressed = out.lines.iloc[0]["progression_day"] is not None
    assert bool(ep["pfs_event"]) == progressed
