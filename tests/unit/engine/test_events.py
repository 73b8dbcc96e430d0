"""Timed and state-triggered events, and the external event table."""

import math

import numpy as np
import pytest

from mdrsim.engine import EventTable, simulate
from mdrsim.errors import SimulationInputError, UnsupportedFeatureError
from mdrsim.model import ModelBuilder

from .models import one_compartment_pk


def _decay_with_refill(initial_value: bool = False, A0: float = 5.0):
    b = ModelBuilder("refill")
    b.species("A", A0)
    b.parameter("k", 0.3).parameter("th", 2.0).parameter("n_refills", 0.0, constant=False)
    b.reaction("decay", "k*A", reactants={"A": 1})
    b.event(
        "refill",
        "A < th",
        {"A": "A + 10", "n_refills": "n_refills + 1"},
        initial_value=initial_value,
    )
    return b.build()


def test_state_event_is_located_exactly():
    """A decays from 5 with rate 0.3; it crosses 2 at ln(5/2)/0.3, then jumps by 10."""
    k, th = 0.3, 2.0
    t_cross = math.log(5.0 / th) / k
    t_second = t_cross + math.log((th + 10.0) / th) / k
    t = np.array([0.0, t_cross - 1e-6, t_cross + 1e-6, t_second - 1e-6, t_second + 1e-6, 20.0])
    r = simulate(_decay_with_refill(), t, rtol=1e-10, atol=1e-12, check=True)
    a = r["A"][0]
    assert a[1] == pytest.approx(th, abs=1e-5)
    assert a[2] == pytest.approx(th + 10.0, abs=1e-5)
    assert a[3] == pytest.approx(th, abs=1e-5)
    assert a[4] == pytest.approx(th + 10.0, abs=1e-5)
    assert r.parameters.shape[0] == 1
    assert r.stats[0, 5] >= 2  # events fired


def test_trigger_true_at_start_fires_only_when_initial_value_false():
    t = [0.0, 0.001]
    fired = simulate(_decay_with_refill(initial_value=False, A0=1.0), t, check=True)
    not_fired = simulate(_decay_with_refill(initial_value=True, A0=1.0), t, check=True)
    assert fired["A"][0][0] == pytest.approx(11.0)
    assert not_fired["A"][0][0] == pytest.approx(1.0)


def test_timed_model_event_time_from_parameter_per_patient():
    b = ModelBuilder("timed")
    b.species("C", 0.0)
    b.parameter("k", 1.0).parameter("t_dose", 2.0).parameter("dose", 5.0)
    b.reaction("el", "k*C", reactants={"C": 1})
    b.event("dose_event", "time >= t_dose", {"C": "C + dose"})
    t = np.linspace(0, 6, 61)
    t_dose = np.array([1.0, 2.5, 4.0])
    r = simulate(b.build(), t, params={"t_dose": t_dose}, rtol=1e-10, atol=1e-12, check=True)
    for i, td in enumerate(t_dose):
        expected = np.where(t >= td, 5.0 * np.exp(-(t - td)), 0.0)
        np.testing.assert_allclose(r["C"][i], expected, rtol=1e-8, atol=1e-12)


def test_event_assignments_use_pre_event_values():
    b = ModelBuilder("swap")
    b.parameter("a", 1.0, constant=False).parameter("b", 2.0, constant=False)
    b.rate_rule("a", "0").rate_rule("b", "0")
    b.event("swap", "time >= 1", {"a": "b", "b": "a"})
    r = simulate(b.build(), [0.0, 2.0], check=True)
    assert (r["a"][0][-1], r["b"][0][-1]) == (2.0, 1.0)


def test_event_on_parameter_changes_dynamics():
    b = ModelBuilder("switch")
    b.species("C", 10.0)
    b.parameter("k", 0.0, constant=False)
    b.reaction("el", "k*C", reactants={"C": 1})
    b.event("start", "time >= 1", {"k": "0.5"})
    t = np.array([0.0, 1.0, 3.0])
    r = simulate(b.build(), t, rtol=1e-10, atol=1e-12, check=True)
    np.testing.assert_allclose(r["C"][0], [10.0, 10.0, 10.0 * np.exp(-1.0)], rtol=1e-8)


def test_equality_trigger_is_refused():
    b = ModelBuilder("eq")
    b.species("A", 1.0).parameter("k", 1.0)
    b.reaction("d", "k*A", reactants={"A": 1})
    b.event("e", "A == 0.5", {"A": "1"})
    with pytest.raises(UnsupportedFeatureError, match="== or !="):
        simulate(b.build(), [0.0, 1.0])


def test_event_table_errors_name_the_problem():
    model = one_compartment_pk()
    with pytest.raises(SimulationInputError, match=r"'Cx' is not a state.*did you mean: C"):
        simulate(model, [0.0, 1.0], events=EventTable().bolus(0.5, "Cx", 1.0))
    with pytest.raises(SimulationInputError, match="stop must be after start"):
        EventTable().infusion(2.0, 1.0, "C", 1.0)
    with pytest.raises(SimulationInputError, match="expected a number or 2 values"):
        simulate(
            model,
            [0.0, 1.0],
            params={"k_el": [0.1, 0.2]},
            events=EventTable().bolus([0.1, 0.2, 0.3], "C", 1.0),
        )


def test_simultaneous_doses_apply_in_order():
    events = EventTable().bolus(1.0, "C", 2.0).add(1.0, "C", 3.0, op="multiply")
    r = simulate(one_compartment_pk(k_el=1e-9), [0.0, 1.0, 1.5], events=events, check=True)
    assert r["C"][0][1] == pytest.approx(6.0, rel=1e-6)


def test_parameters_changed_by_events_are_reported():
    """Issue 12: a parameter an event sets (a counter, a drug switch) is in the Result."""
    k, th = 0.3, 2.0
    t_cross = math.log(5.0 / th) / k
    t_second = t_cross + math.log((th + 10.0) / th) / k
    t = np.array([0.0, t_cross - 1e-6, t_cross + 1e-6, t_second + 1e-6])
    r = simulate(_decay_with_refill(), t, rtol=1e-10, atol=1e-12, check=True)
    assert "n_refills" in r.output_names and "k" not in r.output_names
    assert list(r["n_refills"][0]) == [0.0, 0.0, 1.0, 2.0]
