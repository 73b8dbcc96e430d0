"""The whole-patient model as a trial simulator: covariates, paired arms, chunk independence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mdrsim.patient.trial_simulator as ts
from mdrsim.trial.errors import TrialSpecError
from mdrsim.trial.runner import TrialPlan, run_trial
from mdrsim.trial.spec import parse_trial
from mdrsim.trial.store import TrialStore

EXAMPLES = Path(__file__).parents[3] / "examples"

TRIAL = {
    "name": "unit-scenario-trial",
    "seed": 7,
    "horizon_days": 300,
    "scan_interval_days": 42,
    "trajectories_first": 2,
    "simulator": {"scenario": "doxorubicin.yaml"},
    "population": {
        "parameters": {
            "tum_r": {"dist": "lognormal", "median": 0.003, "cv": 0.5},
            "mdr1_high_fraction": {"dist": "beta", "alpha": 1.0, "beta": 200.0},
            "bsa_m2": {"dist": "normal", "mean": 1.85, "sd": 0.2, "lower": 1.3, "upper": 2.5},
        }
    },
    "arms": [
        {"name": "dox"},
        {
            "name": "dox_tq",
            "lines": [
                {
                    "name": "dox + tq",
                    "cycle_length_days": 21,
                    "n_cycles": 6,
                    "doses": [{"drug": "doxorubicin", "dose": 75, "unit": "mg/m2"}],
                    "inhibitors": [{"inhibitor": "tariquidar"}],
                }
            ],
        },
    ],
}


def _plan(**changes: object) -> TrialPlan:
    return TrialPlan.from_spec(parse_trial({**TRIAL, **changes}), EXAMPLES)


def _endpoints(out: Path) -> pd.DataFrame:
    return TrialStore(out).endpoints().sort_values(["arm", "patient"]).reset_index(drop=True)


def test_results_do_not_depend_on_chunk_size(tmp_path: Path) -> None:
    plan = _plan()
    run_trial(plan, 9, tmp_path / "a", chunk_size=9)
    run_trial(plan, 9, tmp_path / "b", chunk_size=4)
    a, b = _endpoints(tmp_path / "a"), _endpoints(tmp_path / "b")
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert set(a["arm"]) == {"dox", "dox_tq"}
    assert (a["status"] == "ok").all()


def test_arms_are_paired_and_differ_only_by_treatment(tmp_path: Path) -> None:
    run_trial(_plan(), 6, tmp_path, chunk_size=6)
    ep = _endpoints(tmp_path)
    dox = ep[ep.arm == "dox"].set_index("patient")
    tq = ep[ep.arm == "dox_tq"].set_index("patient")
    assert list(dox.index) == list(tq.index) == list(range(6))
    # Tariquidar leaves doxorubicin exposure unchanged (same BSA-scaled doses: same patients).
    np.testing.assert_allclose(
        dox["auc_doxorubicin_mg_h_per_L"], tq["auc_doxorubicin_mg_h_per_L"], rtol=0.02
    )
    # …and costs T-cell memory in every patient.
    assert (tq["cd8_memory_ratio"] < dox["cd8_memory_ratio"]).all()
    traj = TrialStore(tmp_path).read("trajectories")
    assert set(traj["patient"]) == {0, 1}


def test_covariates_set_the_patient() -> None:
    sim = _plan().simulator
    assert isinstance(sim, ts.ScenarioSimulator)
    pm = sim.model
    patients = pd.DataFrame(
        {
            "patient": [0, 1],
            "seed": np.zeros(2, dtype=np.uint64),
            "bsa_m2": [pm.reference_bsa, 2 * pm.reference_bsa],
            "mdr1_high_fraction": [0.0, 0.1],
            "tumour_cells_1e9": [5.0, 20.0],
        }
    )
    inputs = sim.inputs(patients)
    names = pm.compiled.state_names
    clones = [names.index(c) for c in pm.clones]
    np.testing.assert_allclose(inputs.y0[:, clones].sum(axis=1), [5.0, 20.0])
    assert inputs.y0[0, clones[-1]] == 0.0
    assert inputs.y0[1, clones[-1]] == pytest.approx(2.0)
    cl = pm.compiled.parameter_names.index("CL_doxorubicin")
    assert inputs.params[1, cl] == pytest.approx(2 * inputs.params[0, cl])
    assert list(inputs.bsa_m2) == [pm.reference_bsa, 2 * pm.reference_bsa]


def test_bad_arms_and_names_fail_clearly() -> None:
    with pytest.raises(TrialSpecError, match=r"arms\[1\]: unknown field"):
        _plan(arms=[{"name": "a"}, {"name": "b", "parameters": {"x": 1}}])
    bad_line = {
        "name": "b",
        "lines": [
            {
                "name": "x",
                "cycle_length_days": 21,
                "n_cycles": 1,
                "doses": [{"drug": "doxorubicine", "dose": 75}],
            }
        ],
    }
    with pytest.raises(TrialSpecError, match=r"arms\[1\]\.lines\[0\]\.doses\[0\]\.drug"):
        _plan(arms=[{"name": "a"}, bad_line])
    with pytest.raises(TrialSpecError, match="not a name the simulator takes"):
        _plan(population={"parameters": {"tum_rr": {"dist": "uniform", "low": 0, "high": 1}}})
    with pytest.raises(TrialSpecError, match="does not exist"):
        _plan(simulator={"scenario": "missing.yaml"})


def test_bsa_cancels_out_under_doses_per_m2() -> None:
    """Doses in mg/m² × BSA over PK volumes and clearances ∝ BSA: concentrations and rate
    constants do not depend on BSA, so no endpoint does (docs/trials.md explains why the
    example trial does not vary bsa_m2). Two patients identical but for BSA 1.4 vs 2.4."""
    sim = _plan().simulator
    patients = pd.DataFrame(
        {
            "patient": [0, 1],
            "seed": [1, 1],
            "tum_r": [0.003, 0.003],
            "mdr1_high_fraction": [0.01, 0.01],
            "bsa_m2": [1.4, 2.4],
        }
    )
    ep = sim.simulate_chunk("dox", patients).endpoints
    assert (ep["status"] == "ok").all()
    numeric = [c for c in ep.columns if c not in ("patient", "arm", "status", "reason")]
    a, b = ep.iloc[0], ep.iloc[1]
    for c in numeric:
        if isinstance(a[c], float | np.floating) and not (np.isnan(a[c]) and np.isnan(b[c])):
            assert a[c] == pytest.approx(b[c], rel=1e-6, abs=1e-12), c
        elif not isinstance(a[c], float | np.floating):
            assert a[c] == b[c], c


def test_physical_bounds_refuse_a_negative_clearance_law() -> None:
    """normal(20, 40) puts 31 % of the clearances below 0: refused before any patient is
    drawn, naming the field; with physical_bounds: truncate the trial runs on CL > 0 only."""
    from mdrsim.errors import PhysicalBoundsError

    pop = {"parameters": {"CL_doxorubicin": {"dist": "normal", "mean": 20, "sd": 40}}}
    with pytest.raises(
        PhysicalBoundsError, match=r"population.parameters.CL_doxorubicin.*> ?0|CL_doxorubicin"
    ):
        _plan(population=pop)
    plan = _plan(population={**pop, "physical_bounds": "truncate"})
    drawn = plan.population.sample(np.arange(200))
    assert (drawn["CL_doxorubicin"] > 0).all()
    assert drawn["n_implausible"].sum() > 0  # some draws were redrawn


def test_physical_bounds_tumour_below_carrying_capacity_and_bsa_positive() -> None:
    from mdrsim.errors import PhysicalBoundsError

    tum = {"covariates": {"tumour_cells_1e9": {"dist": "uniform", "low": 500, "high": 5000}}}
    with pytest.raises(PhysicalBoundsError, match="tumour_cells_1e9"):
        _plan(population=tum).population.sample(np.arange(50))
    bsa = {"covariates": {"bsa_m2": {"dist": "normal", "mean": 0.2, "sd": 0.5}}}
    with pytest.raises(PhysicalBoundsError, match="bsa_m2"):
        _plan(population=bsa)


def test_physical_bounds_are_the_declared_ranges_of_the_patient_model() -> None:
    """The sampler's bounds are what the biology modules declared (nothing from names)."""
    sim = _plan().simulator
    assert isinstance(sim, ts.ScenarioSimulator)
    bounds = sim.physical_bounds()
    model = sim.model.compiled.model
    for name in [*sim.model.compiled.parameter_names, *sim.model.compiled.state_names]:
        assert name in bounds, name
        assert bounds[name].why == model.domain_of(name).why  # type: ignore[union-attr]
    assert bounds["tum_mu_up"].upper == 1.0 and not bounds["tum_mu_up"].upper_inclusive
    assert bounds["T_parental"].upper == model.value_of("tum_K")


def test_a_patient_input_outside_its_declared_range_is_refused() -> None:
    """Whoever sets a patient's numbers (a scan, a caller, a population): a negative
    clearance or a fraction of 1.2 is refused before any solve, naming name, value, range."""
    from mdrsim.errors import PhysicalBoundsError
    from mdrsim.patient.runner import default_inputs, run_patients

    sim = _plan().simulator
    assert isinstance(sim, ts.ScenarioSimulator)
    pm = sim.model
    names = pm.compiled.parameter_names
    for name, value, shown in [
        ("CL_doxorubicin", -5.0, r"CL_doxorubicin: -5 is outside its physical range 0 < x"),
        ("mdr1_genotype_cd8", 1.2, r"mdr1_genotype_cd8: 1\.2 is outside .*0 <= x <= 1"),
    ]:
        inputs = default_inputs(pm, 2)
        inputs.params[1, names.index(name)] = value
        with pytest.raises(PhysicalBoundsError, match=shown + r".*\(patient 1\)"):
            run_patients(pm, inputs, record=())
    inputs = default_inputs(pm, 1)
    inputs.bsa_m2[:] = -1.8
    with pytest.raises(PhysicalBoundsError, match=r"bsa_m2: -1\.8 is outside"):
        run_patients(pm, inputs, record=())


def test_a_flat_or_per_kg_dose_of_a_label_limited_drug_is_refused_in_a_trial() -> None:
    # Review finding: 1.07 mg/kg doxorubicin is 75 mg/m2 for the scenario's 70 kg, 1.8 m2
    # patient, so one check passed; sampled patients convert it with their own weight and BSA
    # and a heavy, small patient exceeds the label unnoticed. A trial needs mg/m2 here.
    per_kg = {
        "name": "per_kg",
        "lines": [
            {
                "name": "dox per kg",
                "cycle_length_days": 21,
                "n_cycles": 6,
                "doses": [{"drug": "doxorubicin", "dose": 1.07, "unit": "mg/kg"}],
            }
        ],
    }
    with pytest.raises(TrialSpecError, match=r"arms\[1\]\.lines\[0\]\.doses\[0\]\.unit: "
                       r"doxorubicin in 'mg/kg' has a labelled maximum per m2"):
        _plan(arms=[{"name": "dox"}, per_kg])
