"""Endpoints that respond like a trial's and do not depend on output settings (issues 16, 17).

- extrema (ANC nadir, CD8 peak, their days) are the same whatever trajectory step is saved;
- tumour response and PFS respond to the doxorubicin dose (30/60/90 mg/m²) for one patient;
- deaths are sampled from each patient's seed: the same with any batching, PFS never after
  death, OS never before PFS.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mdrsim.data.library import load_library
from mdrsim.patient.deaths import DeathModel
from mdrsim.patient.model import PatientModel, build_patient_model
from mdrsim.patient.runner import default_inputs, run_patients
from mdrsim.patient.scenario import Scenario, load_scenario

EXAMPLES = Path(__file__).parents[3] / "examples"


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(EXAMPLES / "doxorubicin.yaml")


@pytest.fixture(scope="module")
def model(scenario: Scenario) -> PatientModel:
    return build_patient_model(scenario, load_library())


def test_extrema_do_not_depend_on_the_saved_step(scenario: Scenario) -> None:
    rows = []
    for step in (1.0, 21.0):
        outputs = scenario.outputs.model_copy(update={"trajectory_step_days": step})
        sc = scenario.model_copy(update={"outputs": outputs})
        pm = build_patient_model(sc, load_library())
        rows.append(run_patients(pm, untreated_twin=False).endpoints.iloc[0])
    a, b = rows
    for key in ("anc_nadir", "anc_nadir_day", "cd8_peak", "cd8_peak_day", "pfs_days"):
        assert a[key] == pytest.approx(b[key], rel=1e-6), key
    # The nadir is a real one: grade 3 at 75 mg/m² (not the grade 0 a 21-day grid reads).
    assert a["anc_nadir"] < 1.0


def _dose_line(model: PatientModel, dose: float):  # type: ignore[no-untyped-def]
    base = model.scenario.lines[0]
    return base.model_copy(update={"doses": (base.doses[0].model_copy(update={"dose": dose}),)})


def test_response_and_pfs_respond_to_dose(model: PatientModel) -> None:
    r = model.compiled.parameter_names.index("tum_r")
    change, pfs = [], []
    for dose in (30.0, 60.0, 90.0):
        inputs = default_inputs(model, 2)
        # A faster tumour: progression during or soon after therapy. 0.008/d since the adult
        # doxorubicin PK (t1/2 46 h, less kill per cycle): at 0.01/d both 30 and 60 mg/m2 now
        # progress at the first scan (PFS 42, 42, 126 d).
        inputs.params[1, r] = 0.008
        ep = run_patients(
            model, inputs, lines=[_dose_line(model, dose)], untreated_twin=False, record=()
        ).endpoints
        change.append(float(ep.loc[0, "best_change_pct"]))
        pfs.append(float(ep.loc[1, "pfs_days"]))
    assert change[0] > change[1] > change[2], change  # deeper shrinkage with dose
    assert pfs[0] < pfs[1] < pfs[2], pfs  # later progression with dose


def test_deaths_are_reproducible_and_batch_independent(model: PatientModel) -> None:
    n = 12
    r = model.compiled.parameter_names.index("tum_r")
    slope = model.compiled.parameter_names.index("marrow_slope_doxorubicin")
    inputs = default_inputs(model, n)
    inputs.params[:, r] = np.geomspace(0.002, 0.02, n)
    inputs.params[:, slope] *= np.linspace(0.8, 2.5, n)
    inputs.seeds = np.arange(1000, 1000 + n, dtype=np.uint64)
    deaths = DeathModel(fn_per_grade4_cycle=0.5, fn_death=0.5)
    full = run_patients(model, inputs, untreated_twin=False, record=(), deaths=deaths).endpoints
    half = default_inputs(model, n // 2)
    half.params, half.y0 = inputs.params[n // 2 :], inputs.y0[n // 2 :]
    half.seeds = inputs.seeds[n // 2 :]
    part = run_patients(model, half, untreated_twin=False, record=(), deaths=deaths).endpoints
    cols = ["pfs_days", "os_days", "os_event", "death_cause", "febrile_neutropenia"]
    np.testing.assert_array_equal(full[cols].iloc[n // 2 :].to_numpy(), part[cols].to_numpy())
    assert (full["pfs_days"] <= full["os_days"] + 1e-9).all()
    assert full["os_event"].any()
    assert set(full["death_cause"]) <= {0, 1, 2, 3}
    # Without seeds (a single scenario run) nothing is sampled.
    plain = run_patients(model, untreated_twin=False, record=(), deaths=deaths).endpoints
    assert plain["os_event"].isna().all()


def test_scan_window_must_keep_scans_in_order(model: PatientModel) -> None:
    from mdrsim.errors import SimulationInputError

    with pytest.raises(SimulationInputError, match="scan_window_days"):
        run_patients(model, untreated_twin=False, scan_window_days=30.0)


def test_treatment_failure_ends_at_death_not_the_horizon(model: PatientModel) -> None:
    # Review finding: a patient who died without progressing had TTF = horizon - start,
    # censored, as if alive and on treatment to the end. With febrile neutropenia certain and
    # always fatal, patients with a grade-4 nadir die early; their TTF must end on that day.
    n = 6
    slope = model.compiled.parameter_names.index("marrow_slope_doxorubicin")
    inputs = default_inputs(model, n)
    inputs.params[:, slope] *= np.linspace(2.0, 4.0, n)  # a grade-4 nadir in cycle 1
    inputs.seeds = np.arange(7, 7 + n, dtype=np.uint64)
    deaths = DeathModel(fn_per_grade4_cycle=1.0, fn_death=1.0)
    ep = run_patients(model, inputs, untreated_twin=False, record=(), deaths=deaths).endpoints
    dead = ep[ep["os_event"].astype(bool)]
    assert len(dead) > 0
    horizon = model.scenario.horizon_days
    assert (dead["os_days"] < horizon).all()
    # the line ends with the death: an event, on the death day, never later
    assert dead["ttf_line1_event"].astype(bool).all()
    np.testing.assert_allclose(dead["ttf_line1_days"], dead["os_days"], atol=1e-6)
