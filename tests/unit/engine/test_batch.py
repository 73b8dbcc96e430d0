"""Batches: bitwise independence from batch size/threads, failures reported per patient."""

import numpy as np
import pytest

from mdrsim.engine import EventTable, compile_model, simulate
from mdrsim.errors import SimulationError, SimulationInputError
from mdrsim.model import ModelBuilder

from .models import logistic, one_compartment_pk


def _population(n, seed=7):
    rng = np.random.default_rng(seed)
    return {
        "r": 0.3 * np.exp(0.3 * rng.standard_normal(n)),
        "K": 100 * np.exp(0.2 * rng.standard_normal(n)),
    }


def test_same_patient_alone_and_in_a_batch_of_1000_is_bitwise_equal():
    cm = compile_model(logistic())
    params = _population(1000)
    t = np.linspace(0, 50, 26)
    batch = simulate(cm, t, params=params, workers=2, check=True)
    for i in (0, 1, 517, 999):
        alone = simulate(cm, t, params={k: v[i] for k, v in params.items()}, workers=1, check=True)
        assert np.array_equal(alone.states[0], batch.states[i])


def test_results_do_not_depend_on_worker_count():
    cm = compile_model(logistic())
    params = _population(101)
    t = np.linspace(0, 50, 11)
    one = simulate(cm, t, params=params, workers=1)
    many = simulate(cm, t, params=params, workers=7)
    assert np.array_equal(one.states, many.states)


def _blow_up_model():
    # dy/dt = a*y^2 blows up at t = 1/(a*y0): finite for a = 0, NaN/inf for a > 0.
    b = ModelBuilder("blowup")
    b.species("y", 1.0).parameter("a", 0.0).parameter("d", 0.1)
    b.reaction("grow", "a*y^2", products={"y": 1})
    b.reaction("die", "d*y", reactants={"y": 1})
    return b.build()


def test_failed_patient_is_reported_and_others_finish():
    r = simulate(_blow_up_model(), np.linspace(0, 5, 11), params={"a": [0.0, 1.0, 0.0]})
    assert list(r.status != 0) == [False, True, False]
    failures = r.failures()
    assert set(failures) == {1}
    assert "at t=" in failures[1]
    assert np.all(np.isfinite(r["y"][0])) and np.all(np.isfinite(r["y"][2]))
    assert np.isnan(r["y"][1][-1])  # after the failure: NaN, and flagged above
    with pytest.raises(SimulationError, match="patient 1"):
        r.raise_on_failure()


def test_max_steps_is_a_reported_failure():
    r = simulate(logistic(), [0.0, 100.0], max_steps=5)
    assert r.status[0] == 3
    assert "maximum number of steps" in r.failures()[0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"params": {"k_el": float("nan")}}, "parameter 'k_el' is not finite for patient 0"),
        ({"params": {"kel": 1.0}}, "unknown parameter 'kel'.*did you mean: k_el"),
        ({"initial": {"C": [1.0, np.inf]}}, "state 'C' is not finite for patient 1"),
        ({"rtol": 0.0}, "rtol must be in"),
        ({"atol": [1e-9, 1e-9]}, "atol must be one number or 1"),
        ({"params": {"k_el": [1.0, 2.0]}, "initial": {"C": [1.0, 2.0, 3.0]}}, "different lengths"),
    ],
)
def test_bad_simulation_input(kwargs, message):
    with pytest.raises(SimulationInputError, match=message):
        simulate(one_compartment_pk(), [0.0, 1.0], **kwargs)


@pytest.mark.parametrize("t", [[0.0], [0.0, 2.0, 1.0], [0.0, float("nan")]])
def test_bad_time_grid(t):
    with pytest.raises(SimulationInputError, match="t_eval"):
        simulate(one_compartment_pk(), t)


def test_result_conversions():
    events = EventTable().bolus(0.0, "C", 3.0)
    r = simulate(
        one_compartment_pk(), np.linspace(0, 2, 5), params={"k_el": [0.5, 1.0]}, events=events
    )
    df = r.to_dataframe()
    assert list(df.columns) == ["patient", "time", "variable", "value"]
    assert len(df) == 2 * 5 * len(r.variable_names)
    row = df[(df.patient == 1) & (df.variable == "C") & (df.time == 2.0)]
    assert row.value.item() == pytest.approx(3.0 * np.exp(-2.0), rel=1e-5)
    ds = r.to_xarray()
    assert ds["C"].sel(patient=0).values.shape == (5,)
    assert ds.attrs["model_hash"] == r.provenance["model_hash"]
    wide = r.to_wide(1)
    assert list(wide.columns) == ["time", "C", "amount"]
    assert r.provenance["mdrsim_version"]


def test_division_by_zero_in_the_model_is_a_reported_failure_not_an_exception(capfd):
    # 1/(A - 1) is infinite at A = 1; inside compiled code this must become inf/NaN that the
    # engine reports for that patient, not an exception lost inside a C callback.
    b = ModelBuilder("pole")
    b.species("A", 2.0).parameter("k", 1.0)
    b.reaction("r", "k/(A - 1)", reactants={"A": 1})
    r = simulate(b.build(), [0.0, 5.0], initial={"A": [2.0, 1.0]})
    assert r.status[0] != 0 or np.isfinite(r["A"][0][-1])
    assert r.status[1] != 0
    assert "non-finite" in r.failures()[1]
    assert "ZeroDivisionError" not in capfd.readouterr().err


def test_power_with_parameter_exponent_has_a_finite_jacobian_at_zero():
    b = ModelBuilder("hill")
    b.species("C", 0.0).species("X", 1.0)
    b.parameter("n", 2.0).parameter("K", 1.0).parameter("kin", 1.0)
    b.reaction("influx", "kin", products={"C": 1})
    b.reaction("kill", "C^n/(K^n + C^n)*X", reactants={"X": 1})
    r = simulate(b.build(), [0.0, 1.0], rtol=1e-10, atol=1e-12, check=True)
    # C = t, dX/dt = -t^2/(1+t^2) X  =>  X(1) = exp(-(1 - atan(1)))
    assert r["X"][0][-1] == pytest.approx(np.exp(-(1 - np.arctan(1.0))), rel=1e-8)
