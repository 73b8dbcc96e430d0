"""Notebook use (issue 13): rich displays, a scenario changed in code and re-run, and a batch
result converted to tables without dropping patients."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdrsim.engine import simulate
from mdrsim.errors import ScenarioError
from mdrsim.examples import example_path
from mdrsim.model import ModelBuilder
from mdrsim.patient.scenario import load_scenario
from mdrsim.report.trial_report import TrialSummary


def _decay_result(n_patients: int) -> object:
    b = ModelBuilder("decay")
    b.compartment("c", 1.0, unit="L", source="assumed: test")
    b.species("A", 1.0, compartment="c", unit="mg/L")
    b.parameter("k", 1.0, unit="1/d", source="assumed: test")
    b.reaction("loss", "k * A * c", reactants={"A": 1})
    model = b.build()
    ks = np.linspace(0.5, 2.0, n_patients)
    return simulate(model, until=2, points=4, params={"k": ks}, check=True)


def test_to_wide_returns_every_patient() -> None:
    r = _decay_result(3)
    wide = r.to_wide()  # type: ignore[attr-defined]
    assert list(wide.columns[:2]) == ["patient", "time"]
    assert sorted(wide["patient"].unique()) == [0, 1, 2]
    # Patient 2 decays at k = 2: A(t) = exp(-2 t), the analytic solution (rtol 1e-5).
    p2 = wide[wide["patient"] == 2]
    assert p2["A"].to_numpy() == pytest.approx(np.exp(-2.0 * p2["time"].to_numpy()), rel=1e-5)
    one = r.to_wide(1)  # type: ignore[attr-defined]
    assert "patient" not in one.columns and len(one) == 5
    with pytest.raises(Exception, match="patients 0 to 2"):
        r.to_wide(3)  # type: ignore[attr-defined]


def test_to_dataframe_matches_to_wide() -> None:
    r = _decay_result(2)
    tidy = r.to_dataframe()  # type: ignore[attr-defined]
    wide = r.to_wide()  # type: ignore[attr-defined]
    back = tidy.pivot_table(index=["patient", "time"], columns="variable", values="value",
                            observed=True).reset_index()  # fmt: skip
    for name in r.variable_names:  # type: ignore[attr-defined]
        assert back[name].to_numpy() == pytest.approx(wide[name].to_numpy())
    assert isinstance(tidy["variable"].dtype, pd.CategoricalDtype)


def test_result_repr_html() -> None:
    html = _decay_result(2)._repr_html_()  # type: ignore[attr-defined]
    assert "<table" in html and "patients" in html and "data:image/png;base64," in html


def test_trial_summary_repr_html() -> None:
    arm = {
        "arm": "control", "n": 10, "n_failed": 0, "n_events": 8, "median_pfs_reached": True,
        "median_pfs_days": 120.0, "median_pfs_lower": 90.0, "median_pfs_upper": 150.0,
        "hr_vs_control": None, "hr_lower": None, "hr_upper": None, "hr_p": None,
        "logrank_chi2": None, "logrank_p": None, "orr": 0.3, "orr_lower": 0.1,
        "orr_upper": 0.6, "grade4_neutropenia_rate": None, "infection_not_cleared_rate": None,
        "cd8_memory_ratio_median": None, "n_deaths": 2, "median_os_reached": False,
        "median_os_days": None, "median_os_lower": None, "median_os_upper": None,
        "os_1y": None, "os_1y_lower": None, "os_1y_upper": None, "early_death_rate": None,
        "early_death_rate_lower": None, "early_death_rate_upper": None,
        "febrile_neutropenia_rate": None, "febrile_neutropenia_rate_lower": None,
        "febrile_neutropenia_rate_upper": None,
    }  # fmt: skip
    treated = {**arm, "arm": "<b>x</b>", "hr_vs_control": 0.5, "hr_lower": 0.3,
               "hr_upper": 0.8, "logrank_p": 0.004}  # fmt: skip
    s = TrialSummary.model_validate(
        {
            "name": "t", "n_patients": 10, "seed": 1, "spec_hash": "h",
            "control_arm": "control", "arms": [arm, treated], "n_failed_total": 0,
            "population": {"implausible_draws": 0, "unmatched_draws": 0},
        }
    )  # fmt: skip
    html = s._repr_html_()
    assert "HR 0.5 [0.3, 0.8]" in html and "log-rank p 0.004" in html
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


def test_with_changes_validates_and_leaves_the_original() -> None:
    s = load_scenario(example_path("doxorubicin"))
    t = s.with_changes({"lines[0].n_cycles": 4, "patient.tumour.diameter_mm": 40.0},
                       horizon_days=200)  # fmt: skip
    assert (t.lines[0].n_cycles, t.patient.tumour.diameter_mm, t.horizon_days) == (4, 40.0, 200)
    assert s.lines[0].n_cycles == 6 and s.horizon_days == 365
    with pytest.raises(ScenarioError, match=r"patient\.tumor"):
        s.with_changes({"patient.tumor.diameter_mm": 1})
    with pytest.raises(ScenarioError, match="horizon_days"):
        s.with_changes(horizon_days=-1)
    with pytest.raises(ScenarioError, match=r"no item \[3\]"):
        s.with_changes({"lines[3].n_cycles": 1})


@settings(max_examples=15, deadline=None)
@given(st.integers(min_value=-3, max_value=40))
def test_with_changes_cycles_property(n: int) -> None:
    s = load_scenario(example_path("doxorubicin"))
    try:
        t = s.with_changes({"lines[0].n_cycles": n})
    except ScenarioError as exc:
        # refused values are reported with their field: n_cycles itself, or (6 x 75 mg/m2 is
        # 450 of doxorubicin's labelled 550 mg/m2 lifetime limit) the dose whose planned
        # cumulative total the extra cycles push over it
        # — or, below 2 cycles, the example's infection, which is set on cycle 2
        cumulative = "planned cumulative dose" in str(exc) and "lines[0].doses[0]" in str(exc)
        infection = "infections[0].cycle" in str(exc)
        assert (
            "lines[0].n_cycles" in str(exc)
            or (cumulative and n * 75 > 550)
            or (infection and n < 2)
        ), str(exc)
    else:
        assert t.lines[0].n_cycles == n and t.model_dump(exclude={"lines"}) == s.model_dump(
            exclude={"lines"}
        )


@pytest.mark.slow
def test_patient_run_repr_html_after_a_change() -> None:
    from mdrsim.patient import run_scenario

    s = load_scenario(example_path("doxorubicin")).with_changes(horizon_days=60)
    run = run_scenario(s)
    html = run._repr_html_()
    assert "doxorubicin alone" in html and "<table" in html and "data:image/png" in html


@pytest.mark.slow
def test_best_change_excludes_the_baseline_scan() -> None:
    """A tumour that only grows has a best change above zero (the waterfall bar of a
    progressing patient points up): the baseline scan is not a response (issue 13)."""
    from mdrsim.patient import run_scenario

    s = load_scenario(example_path("doxorubicin")).with_changes(
        {"lines[0].doses[0].dose": 1.0, "lines[0].n_cycles": 2}, horizon_days=200
    )
    summary = run_scenario(s).summary
    assert summary["best_change_pct"] is not None and summary["best_change_pct"] > 0
