"""Bad input is refused with a clear, typed error that names what is wrong."""

from __future__ import annotations

import numpy as np
import pytest

from mdrsim.engine import EventTable
from mdrsim.engine.stochastic import simulate_stochastic
from mdrsim.errors import PhysicalBoundsError, SimulationInputError, UnsupportedFeatureError
from mdrsim.model import ModelBuilder

from .models import birth_death, drug_kill

T = [0.0, 1.0]


def test_concentration_species_in_a_non_unit_compartment_is_refused_by_name():
    m = ModelBuilder("conc")
    m.compartment("tumour", 2.5)
    m.species("cells", 10, compartment="tumour")
    m.parameter("r", 0.1)
    m.reaction("grow", "r*cells*tumour", reactants={"cells": 1}, products={"cells": 2})
    with pytest.raises(UnsupportedFeatureError, match=r"'cells'.*'tumour'.*size 2\.5"):
        simulate_stochastic(m.build(), T, seed=1)


def test_the_compartment_of_a_discrete_species_must_stay_one():
    m = ModelBuilder("conc1")
    m.compartment("dish", 1.0)
    m.species("cells", 10, compartment="dish")
    m.parameter("r", 0.1)
    m.reaction("grow", "r*cells", reactants={"cells": 1}, products={"cells": 2})
    model = m.build()
    assert simulate_stochastic(model, T, seed=1).ok  # size 1: counts
    with pytest.raises(SimulationInputError, match=r"'dish'.*'cells'"):
        simulate_stochastic(model, T, seed=1, params={"dish": 2.0})


@pytest.mark.parametrize("n", [0, -3])
def test_n_trajectories_must_be_at_least_one(n):
    with pytest.raises(SimulationInputError, match="n_trajectories must be >= 1"):
        simulate_stochastic(birth_death(), T, n_trajectories=n, seed=1)


def test_n_trajectories_must_be_an_integer():
    with pytest.raises(SimulationInputError, match="n_trajectories must be an integer"):
        simulate_stochastic(birth_death(), T, n_trajectories=2.5, seed=1)  # type: ignore[arg-type]


def test_unknown_method_lists_the_allowed_ones():
    with pytest.raises(SimulationInputError, match=r"'gillespie'.*ssa, tau, hybrid"):
        simulate_stochastic(birth_death(), T, method="gillespie", seed=1)  # type: ignore[arg-type]


def test_ssa_refuses_continuous_variables_and_points_to_hybrid():
    with pytest.raises(UnsupportedFeatureError, match=r"continuous variables \['C'\].*hybrid"):
        simulate_stochastic(drug_kill(), T, method="ssa", seed=1)


def test_a_count_must_start_whole_and_non_negative():
    with pytest.raises(SimulationInputError, match=r"'X' is 2\.5"):
        simulate_stochastic(birth_death(), T, initial={"X": 2.5}, seed=1)
    # -1 is refused by the species' declared range (ModelBuilder: non-negative) first.
    with pytest.raises(PhysicalBoundsError, match=r"X: -1 is outside its physical range 0 <= x"):
        simulate_stochastic(birth_death(), T, initial={"X": [3, -1]}, n_trajectories=2, seed=1)


def test_event_rows_on_counts_must_be_whole_and_not_infusions():
    with pytest.raises(SimulationInputError, match="whole numbers"):
        simulate_stochastic(birth_death(), T, events=EventTable().bolus(0.5, "X", 0.5), seed=1)
    with pytest.raises(SimulationInputError, match="infusion"):
        simulate_stochastic(
            birth_death(), T, events=EventTable().infusion(0.1, 0.5, "X", 3.0), seed=1
        )
    with pytest.raises(SimulationInputError, match="factor >= 0"):
        simulate_stochastic(
            birth_death(), T, events=EventTable().add(0.5, "X", -1.0, op="multiply"), seed=1
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tau_epsilon": 0.0}, "tau_epsilon"),
        ({"tau_epsilon": 1.5}, "tau_epsilon"),
        ({"rtol": 0.0}, "rtol"),
        ({"atol": -1.0}, "atol"),
        ({"max_events": 0}, "max_events"),
        ({"seed": -4}, "seed"),
        ({"continuous": ["Y"]}, "continuous='Y'"),
    ],
)
def test_bad_options_are_named(kwargs, message):
    with pytest.raises(SimulationInputError, match=message):
        simulate_stochastic(birth_death(), T, **kwargs)


def test_bad_times_are_refused():
    with pytest.raises(SimulationInputError, match="strictly increasing"):
        simulate_stochastic(birth_death(), [0.0, 2.0, 1.0], seed=1)


def test_event_budget_is_a_readable_failure():
    r = simulate_stochastic(
        birth_death(1000), np.linspace(0, 5, 6), n_trajectories=2, seed=1, max_events=500
    )
    assert not r.ok
    assert "maximum number of reaction events" in r.failures()[0]
    assert np.isnan(r.states[0, -1, 0])


def test_setting_a_count_below_zero_is_refused():
    with pytest.raises(SimulationInputError, match="values >= 0"):
        simulate_stochastic(
            birth_death(), T, events=EventTable().add(0.5, "X", -2.0, op="set"), seed=1
        )
