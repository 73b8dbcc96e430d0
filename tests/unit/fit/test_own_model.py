"""Problems stated on mdrsim's own models, written as PEtab (mdrsim.fit.own_model).

Oracle: the log-likelihood of the written problem equals the one computed here by hand from the
closed-form solution of the same model (normal noise with the table's standard deviations), so the
PEtab files say what the user stated; bad input is refused naming the row/column/parameter.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mdrsim.errors import PetabError
from mdrsim.fit import Objective
from mdrsim.fit.own_model import FreeParameter, ObservableMap, write_petab_problem
from mdrsim.model import ModelBuilder


def _decay_model():
    b = ModelBuilder("decay")
    b.parameter("k", 0.3, unit="1/d", source="assumed: test")
    b.parameter("prod", 2.0, unit="cells/d", source="assumed: test")
    b.species("X", 10.0, unit="cells")
    b.reaction("make", "prod", products={"X": 1})
    b.reaction("loss", "k*X", reactants={"X": 1})
    return b.build()


def _data():
    return pd.DataFrame(
        {
            "observableId": "x_obs",
            "simulationConditionId": ["c1", "c1", "c2", "c2"],
            "time": [1.0, 4.0, 1.0, 4.0],
            "measurement": [9.0, 8.0, 30.0, 20.0],
            "noiseParameters": [0.5, 0.7, 1.0, 2.0],
        }
    )


def test_written_problem_reproduces_hand_likelihood(tmp_path):
    model = _decay_model()
    problem = write_petab_problem(
        model,
        tmp_path,
        measurements=_data(),
        observables=[ObservableMap("x_obs", "X")],
        free=[FreeParameter("k", 1e-3, 10.0), FreeParameter("prod", 1e-2, 1e2)],
        conditions={"c1": {"X": 10.0}, "c2": {"X": 40.0}},
    )
    for name in ("model.xml", "conditions.tsv", "measurements.tsv", "observables.tsv",
                 "parameters.tsv", "problem.yaml"):  # fmt: skip
        assert (tmp_path / name).is_file()
    assert problem.estimated == ["k", "prod"]
    llh = Objective(problem).llh()

    # Closed form of dX/dt = prod − k·X: X(t) = prod/k + (X0 − prod/k)·exp(−k·t).
    d = _data()
    x0 = np.where(d["simulationConditionId"] == "c1", 10.0, 40.0)
    sim = 2.0 / 0.3 + (x0 - 2.0 / 0.3) * np.exp(-0.3 * d["time"].to_numpy())
    sd = d["noiseParameters"].to_numpy()
    hand = -0.5 * np.sum(np.log(2 * math.pi * sd**2) + ((sim - d["measurement"]) / sd) ** 2)
    assert llh == pytest.approx(hand, rel=1e-7)


def test_condition_parameter_can_be_free(tmp_path):
    problem = write_petab_problem(
        _decay_model(),
        tmp_path,
        measurements=_data(),
        observables=[ObservableMap("x_obs", "X", noise=1.0)],
        free=[FreeParameter("prod_c2", 1e-2, 1e2, nominal=5.0)],
        conditions={"c1": {"prod": 2.0}, "c2": {"prod": "prod_c2"}},
    )
    assert problem.estimated == ["prod_c2"]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d.assign(observableId="nope"), "row 1, column observableId"),
        (lambda d: d.assign(simulationConditionId="c9"), "row 1, column simulationConditionId"),
        (
            lambda d: d.assign(measurement=[1.0, float("nan"), 1.0, 1.0]),
            "row 2, column measurement",
        ),
        (
            lambda d: d.assign(noiseParameters=[1.0, 1.0, -1.0, 1.0]),
            "row 3, column noiseParameters",
        ),
        (lambda d: d.drop(columns="time"), "missing column"),
    ],
)
def test_bad_measurements_are_refused(tmp_path, change, words):
    with pytest.raises(PetabError, match=words):
        write_petab_problem(
            _decay_model(),
            tmp_path,
            measurements=change(_data()),
            observables=[ObservableMap("x_obs", "X")],
            free=[FreeParameter("k", 1e-3, 10.0)],
            conditions={"c1": {}, "c2": {}},
        )


@pytest.mark.parametrize(
    ("free", "words"),
    [
        (FreeParameter("kk", 1e-3, 10.0), "'kk' is neither a parameter"),
        (FreeParameter("k", 0.0, 10.0), "log10 scale needs lower > 0"),
        (FreeParameter("k", 1.0, 10.0), "nominal 0.3 outside"),
        (FreeParameter("k", 1e-3, 10.0, scale="ln"), "scale 'ln'"),
    ],
)
def test_bad_free_parameters_are_refused(tmp_path, free, words):
    with pytest.raises(PetabError, match=words):
        write_petab_problem(
            _decay_model(),
            tmp_path,
            measurements=_data(),
            observables=[ObservableMap("x_obs", "X")],
            free=[free],
            conditions={"c1": {}, "c2": {}},
        )


def test_unknown_condition_target_is_refused(tmp_path):
    with pytest.raises(PetabError, match="'Y' is neither a species nor a parameter"):
        write_petab_problem(
            _decay_model(),
            tmp_path,
            measurements=_data(),
            observables=[ObservableMap("x_obs", "X")],
            free=[FreeParameter("k", 1e-3, 10.0)],
            conditions={"c1": {"Y": 1.0}, "c2": {}},
        )
