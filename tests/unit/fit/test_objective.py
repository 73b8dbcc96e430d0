"""The PEtab objective against closed-form answers, and its gradient against finite differences."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mdrsim.errors import PetabError, UnsupportedFeatureError
from mdrsim.fit import Objective
from mdrsim.io.petab import load_petab

from .conftest import DECAY, analytic, decay_tables, write_problem


def _manual_llh(theta: dict[str, float], tables: dict[str, pd.DataFrame]) -> float:
    m = tables["measurements"]
    total = 0.0
    for _, row in m.iterrows():
        a0 = 1.0 if row["simulationConditionId"] == "c1" else 2.0
        a, b = analytic(a0, theta["k1"], theta["k2"], np.array([row["time"]]))
        if row["observableId"] == "obs_B":
            h, sigma = theta["scale"] * b[0], 0.05
            total += (
                -0.5 * math.log(2 * math.pi * sigma**2)
                - 0.5 * ((h - row["measurement"]) / sigma) ** 2
            )
        else:
            h, sigma, y = a[0], theta["sd_A"], row["measurement"]
            r = (math.log(h) - math.log(y)) / sigma
            total += -0.5 * math.log(2 * math.pi * sigma**2) - 0.5 * r**2 - math.log(y)
    return total


def test_llh_at_nominal_matches_closed_form(decay_objective: Objective) -> None:
    nominal = {"k1": 0.4, "k2": 0.3, "scale": 1.5, "sd_A": 0.1}
    expected = _manual_llh(nominal, decay_tables())
    assert decay_objective.llh() == pytest.approx(expected, rel=1e-8)


def test_laplace_and_log10_noise(tmp_path) -> None:  # type: ignore[no-untyped-def]
    tables = decay_tables(noise_b="laplace", transformation_a="log10")
    obj = Objective(load_petab(write_problem(tmp_path, DECAY, **tables)))
    m = tables["measurements"]
    total = 0.0
    for _, row in m.iterrows():
        a0 = 1.0 if row["simulationConditionId"] == "c1" else 2.0
        a, b = analytic(a0, 0.4, 0.3, np.array([row["time"]]))
        y = row["measurement"]
        if row["observableId"] == "obs_B":
            total += -math.log(2 * 0.05) - abs(1.5 * b[0] - y) / 0.05
        else:
            r = (math.log10(a[0]) - math.log10(y)) / 0.1
            total += -0.5 * math.log(2 * math.pi * 0.01) - 0.5 * r**2 - math.log(y * math.log(10))
    assert obj.llh() == pytest.approx(total, rel=1e-8)


@pytest.mark.parametrize("noise_b", ["normal", "laplace"])
def test_gradient_matches_central_differences(tmp_path, noise_b: str) -> None:  # type: ignore[no-untyped-def]
    from mdrsim.fit import ObjectiveOptions

    problem = load_petab(write_problem(tmp_path, DECAY, **decay_tables(noise_b=noise_b)))
    obj = Objective(problem, ObjectiveOptions(rtol=1e-12, atol=1e-14))
    theta = problem.nominal_theta()
    f, g = obj.value_and_gradient(theta)
    assert f == pytest.approx(obj(theta), rel=1e-8)
    h = 1e-5
    fd = np.array([(obj(theta + h * e) - obj(theta - h * e)) / (2 * h) for e in np.eye(theta.size)])
    np.testing.assert_allclose(g, fd, rtol=1e-4, atol=1e-6)


def test_measurement_errors_name_file_row_and_column(tmp_path) -> None:  # type: ignore[no-untyped-def]
    tables = decay_tables()
    m = tables["measurements"].copy()
    m.loc[3, "measurement"] = -1.0  # an obs_A row: log-normal noise
    tables["measurements"] = m
    path = write_problem(tmp_path, DECAY, **tables)
    with pytest.raises(PetabError, match=r"measurements.tsv, row 5, column measurement"):
        load_petab(path, lint=False)


def test_unknown_observable_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    tables = decay_tables()
    m = tables["measurements"].copy()
    m.loc[0, "observableId"] = "obs_C"
    tables["measurements"] = m
    with pytest.raises(PetabError, match="obs_C"):
        load_petab(write_problem(tmp_path, DECAY, **tables))


def test_events_are_refused_for_gradients(tmp_path) -> None:  # type: ignore[no-untyped-def]
    model = DECAY.replace("end", "  E1: at time >= 3: A = A + 1\nend")
    problem = load_petab(write_problem(tmp_path, model, **decay_tables()))
    obj = Objective(problem)
    assert math.isfinite(obj.llh())  # the objective itself is fine
    with pytest.raises(UnsupportedFeatureError, match="event"):
        obj.value_and_gradient(problem.nominal_theta())


PREEQ = """
model prod
  compartment cell = 1
  species X in cell = 0
  ks = 1; kd = 0.5
  R1: -> X; ks
  R2: X -> ; kd * X
end
"""


def test_preequilibration_matches_closed_form_and_has_right_gradient(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from mdrsim.fit import ObjectiveOptions

    times = np.array([0.0, 1.0, 3.0])
    kd = 0.5
    x = 2 / kd + (1 / kd - 2 / kd) * np.exp(-kd * times)
    tables = {
        "conditions": pd.DataFrame({"conditionId": ["pre", "on"], "ks": [1.0, 2.0]}),
        "measurements": pd.DataFrame(
            {
                "observableId": "obs_X",
                "preequilibrationConditionId": "pre",
                "simulationConditionId": "on",
                "measurement": x * 1.1,
                "time": times,
            }
        ),
        "observables": pd.DataFrame(
            {"observableId": ["obs_X"], "observableFormula": ["X"], "noiseFormula": ["0.2"]}
        ),
        "parameters": pd.DataFrame(
            {
                "parameterId": ["kd"],
                "parameterScale": ["log10"],
                "lowerBound": [0.01],
                "upperBound": [10.0],
                "nominalValue": [kd],
                "estimate": [1],
            }
        ),
    }
    problem = load_petab(write_problem(tmp_path, PREEQ, **tables))
    obj = Objective(problem, ObjectiveOptions(rtol=1e-12, atol=1e-14))
    np.testing.assert_allclose(obj.simulated_measurements(), x, rtol=1e-8)
    theta = problem.nominal_theta()
    _, g = obj.value_and_gradient(theta)
    h = 1e-5
    fd = (obj(theta + h) - obj(theta - h)) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-4)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("estimate", 2, "column estimate: must be 0 or 1"),
        ("objectivePriorParameters", "0;0", "scale \\(second number\\) must be > 0"),
        ("objectivePriorParameters", "0;-1", "scale \\(second number\\) must be > 0"),
        ("lowerBound", 10.0, "must be below upper"),
    ],
)
def test_bad_parameter_rows_are_refused_when_read(  # type: ignore[no-untyped-def]
    tmp_path, column, value, message
) -> None:
    # Review finding: these reached the objective as a bare ValueError / ZeroDivisionError in
    # the middle of a fit, or (estimate 2, negative prior sd) were silently reinterpreted.
    tables = decay_tables()
    p = tables["parameters"].copy()
    if column == "objectivePriorParameters":
        p["objectivePriorType"] = ["normal"] + [""] * (len(p) - 1)
        p["objectivePriorParameters"] = [value] + [""] * (len(p) - 1)
    else:
        p[column] = p[column].astype(object)
        p.loc[p.index[0], column] = value
    tables["parameters"] = p
    with pytest.raises(PetabError, match=message):
        load_petab(write_problem(tmp_path, DECAY, **tables), lint=False)
