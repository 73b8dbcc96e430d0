"""Fitting a virtual population to a published arm (mdrsim.fit.vpop).

The search is tested on a stand-in arm simulator with a known answer (exponential survival
whose median is set by one population law), so it runs in milliseconds; the engine path is
tested through the CLI in tests/cli/test_cli_trial_fit.py.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdrsim.errors import MdrsimError
from mdrsim.fit.vpop import (
    DAYS_PER_MONTH,
    CalibrationSpec,
    compare,
    fit_population,
    km_at,
    objective,
    parse_calibration,
    trial_with,
)
from mdrsim.trial.spec import TrialSpec, load_trial

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _trial() -> TrialSpec:
    spec, _ = load_trial(EXAMPLES / "trial_eortc62012.yaml")
    return spec


def _doc(**changes: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "trial": "trial_eortc62012.yaml",
        "arm": "doxorubicin",
        "patients": 400,
        "free": [{"path": "population.parameters.tum_r.median", "lower": 0.001, "upper": 0.05}],
        "survival": [
            {"endpoint": "pfs", "points": [[4.6, 0.5]], "n": 228, "source": "Judson 2014"}
        ],
    }
    doc.update(changes)
    return doc


def _exponential_arm(n: int) -> object:
    """Stand-in simulator: PFS ~ Exp with median 0.03 / tum_r.median months (same U each call),
    OS twice PFS; ORR 30 %."""
    rng = np.random.default_rng(7)
    u = rng.random(n)
    responders = rng.random(n) < 0.3

    def simulate(trial: TrialSpec) -> pd.DataFrame:
        r = trial.population.parameters["tum_r"].median  # type: ignore[union-attr]
        median_days = 0.03 / r * DAYS_PER_MONTH
        pfs = -np.log(u) * median_days / math.log(2)
        return pd.DataFrame(
            {
                "status": "ok",
                "pfs_days": pfs,
                "pfs_event": True,
                "os_days": 2 * pfs,
                "os_event": True,
                "best_response": np.where(responders, "PR", "SD"),
                "febrile_neutropenia": False,
            }
        )

    return simulate


def test_recovers_a_planted_median() -> None:
    # Published median PFS 4.6 months ⇔ tum_r median 0.03 / 4.6 in the stand-in.
    spec = parse_calibration(_doc(max_evaluations=40))
    fit = fit_population(spec, _trial(), _exponential_arm(4000))  # type: ignore[arg-type]
    assert fit.free_values["population.parameters.tum_r.median"] == pytest.approx(
        0.03 / 4.6, rel=0.03
    )
    assert fit.targets[0].inside_95
    assert fit.objective < 1.0
    # The fitted trial carries the value, and is a valid trial.
    assert fit.fitted_trial.population.parameters["tum_r"].median == pytest.approx(  # type: ignore[union-attr]
        fit.free_values["population.parameters.tum_r.median"]
    )


def test_a_wrong_fit_is_visible() -> None:
    # A box that excludes the answer: the best point sits at the edge and misses the target.
    doc = _doc(free=[{"path": "population.parameters.tum_r.median", "lower": 0.02, "upper": 0.05}])
    fit = fit_population(parse_calibration(doc), _trial(), _exponential_arm(2000))  # type: ignore[arg-type]
    assert not fit.targets[0].inside_95
    assert fit.objective > 10


def test_failed_patients_make_an_evaluation_infeasible() -> None:
    good = _exponential_arm(500)

    def sometimes_failing(trial: TrialSpec) -> pd.DataFrame:
        ep = good(trial)  # type: ignore[operator]
        if trial.population.parameters["tum_r"].median > 0.01:  # type: ignore[union-attr]
            ep.loc[0, "status"] = "failed"
        return ep

    fit = fit_population(parse_calibration(_doc(max_evaluations=20)), _trial(), sometimes_failing)
    assert fit.n_infeasible > 0
    assert math.isfinite(fit.objective)
    assert (fit.evaluations["failed_patients"] > 0).sum() == fit.n_infeasible


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0.5, 400.0), min_size=2, max_size=60),
    st.lists(st.booleans(), min_size=60, max_size=60),
    st.floats(0.1, 500.0),
)
def test_km_at_matches_lifelines(durations: list[float], events: list[bool], t: float) -> None:
    from lifelines import KaplanMeierFitter

    d = np.asarray(durations)
    e = np.asarray(events[: len(d)])
    kmf = KaplanMeierFitter().fit(d, e)
    expected = float(kmf.survival_function_at_times(t).iloc[0])
    assert km_at(d, e, t) == pytest.approx(expected, abs=1e-12)


def test_rates_and_checks_are_compared_but_checks_not_fitted() -> None:
    spec = parse_calibration(
        _doc(
            rates=[{"endpoint": "orr", "events": 30, "n": 100, "source": "made-up arm"}],
            check_rates=[
                {"endpoint": "febrile_neutropenia", "events": 20, "n": 100, "source": "made up"}
            ],
        )
    )
    ep = _exponential_arm(1000)(trial_with(_trial(), spec.free, np.array([0.03 / 4.6])))  # type: ignore[operator]
    rows = compare(ep, spec)
    orr = next(r for r in rows if r.endpoint == "orr")
    assert orr.simulated == pytest.approx(ep["best_response"].eq("PR").mean())
    fn = next(r for r in rows if r.endpoint == "febrile_neutropenia")
    assert fn.kind == "check" and fn.simulated == 0.0 and abs(fn.z) > 4
    # The check's large miss does not enter the objective.
    assert objective(rows) == pytest.approx(sum(r.z**2 for r in rows if r.kind == "fitted"))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"survival": [{"endpoint": "pfs", "points": [[4.6, 1.2]], "n": 228, "source": "Judson"}]},
         "strictly between 0 and 1"),
        ({"survival": [], "rates": []}, "at least one fitted target"),
        ({"free": [{"path": "simulator.scenario", "lower": 1, "upper": 2}]},
         "field of a population law"),
        ({"free": [{"path": "population.parameters.tum_r.median", "lower": 0, "upper": 1}]},
         "scale log needs lower > 0"),
        ({"rates": [{"endpoint": "orr", "events": 12, "n": 10, "source": "made up"}]},
         "cannot exceed n"),
        ({"rates": [{"endpoint": "response", "events": 1, "n": 10, "source": "made up"}]},
         "orr"),
        ({"patients": 5}, "patients"),
        ({"schema_version": 2}, "schema_version"),
    ],
)  # fmt: skip
def test_bad_calibration_files_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(MdrsimError, match=message):
        parse_calibration(_doc(**changes))


def test_a_free_path_the_trial_lacks_is_refused() -> None:
    spec = parse_calibration(
        _doc(free=[{"path": "population.parameters.tum_growth.median", "lower": 0.1, "upper": 1}])
    )
    with pytest.raises(MdrsimError, match="tum_growth"):
        fit_population(spec, _trial(), _exponential_arm(10))  # type: ignore[arg-type]
    spec = parse_calibration(
        _doc(free=[{"path": "population.parameters.tum_r.mean", "lower": 0.1, "upper": 1}])
    )
    with pytest.raises(MdrsimError, match="has no field 'mean'"):
        fit_population(spec, _trial(), _exponential_arm(10))  # type: ignore[arg-type]
    assert isinstance(spec, CalibrationSpec)


def test_an_unknown_arm_is_refused() -> None:
    spec = parse_calibration(_doc(arm="placebo"))
    with pytest.raises(MdrsimError, match="placebo"):
        fit_population(spec, _trial(), _exponential_arm(10))  # type: ignore[arg-type]


def test_the_fitted_trial_is_exactly_the_best_evaluation_even_for_tiny_values() -> None:
    # A law whose scale is 1e-8: rounding the evaluation key to 12 decimals once kept only
    # 4 significant digits, so the written trial differed from the best run.
    base = _exponential_arm(500)

    def scaled(trial: TrialSpec) -> pd.DataFrame:
        r = trial.population.parameters["tum_r"].median  # type: ignore[union-attr]
        doc = trial.model_dump()
        doc["population"]["parameters"]["tum_r"]["median"] = r * 1e6
        return base(TrialSpec.model_validate(doc))  # type: ignore[operator]

    doc = _doc(
        free=[{"path": "population.parameters.tum_r.median", "lower": 1e-9, "upper": 5e-8}],
        max_evaluations=12,
    )
    fit = fit_population(parse_calibration(doc), _trial(), scaled)
    value = fit.free_values["population.parameters.tum_r.median"]
    assert fit.fitted_trial.population.parameters["tum_r"].median == value  # type: ignore[union-attr]
    best_row = fit.evaluations.loc[fit.evaluations["objective_chi2"].idxmin()]
    assert best_row["population.parameters.tum_r.median"] == value


def test_a_target_the_simulator_does_not_report_is_refused() -> None:
    base = _exponential_arm(200)

    def no_response(trial: TrialSpec) -> pd.DataFrame:
        ep = base(trial)  # type: ignore[operator]
        ep["best_response"] = pd.Series([None] * len(ep), dtype=object)
        return ep

    spec = parse_calibration(
        _doc(rates=[{"endpoint": "orr", "events": 30, "n": 100, "source": "made-up arm"}])
    )
    with pytest.raises(MdrsimError, match="no 'best_response'"):
        fit_population(spec, _trial(), no_response)


def test_impossible_patients_are_failed_on_the_shared_arm_path() -> None:
    # The engine path of the fit goes through the trial runner's simulate_arm, which marks an
    # "ok" patient with a negative PFS as failed (so the evaluation is infeasible).
    from mdrsim.trial.runner import simulate_arm
    from mdrsim.trial.simulator import ChunkOutput

    patients = pd.DataFrame({"patient": np.arange(3, dtype=np.int64)})

    class Stub:
        def simulate_chunk(self, arm: str, inputs: pd.DataFrame) -> ChunkOutput:
            ep = pd.DataFrame(
                {"patient": np.arange(3), "status": "ok", "pfs_days": [10.0, -1.0, 30.0],
                 "pfs_event": True}
            )  # fmt: skip
            return ChunkOutput(endpoints=ep, trajectories=None)

    ep, _ = simulate_arm(Stub(), "a", patients, patients, "test")  # type: ignore[arg-type]
    assert list(ep["status"]) == ["ok", "failed", "ok"]
