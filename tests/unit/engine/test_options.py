"""Solver options: checked where they are made, the one source of what provenance records."""

from __future__ import annotations

import math
from dataclasses import asdict

import numpy as np
import pytest

from mdrsim.engine import (
    SolverOptions,
    StochasticOptions,
    options_provenance,
    simulate,
    simulate_stochastic,
)
from mdrsim.errors import InvalidOptionError, MdrsimError

from ..stochastic.models import birth_death
from .models import logistic


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("rtol", 0.0, "in (0, 1)"),
        ("rtol", 1.0, "in (0, 1)"),
        ("rtol", math.nan, "in (0, 1)"),
        ("rtol", "1e-6", "in (0, 1)"),
        ("atol", 0.0, "> 0"),
        ("atol", -1e-9, "> 0"),
        ("atol", (1e-9, math.inf), "> 0"),
        ("max_steps", 0, ">= 1"),
        ("max_steps", 2.5, "integer"),
        ("max_steps", True, "integer"),
        ("h_max", 0.0, "> 0"),
        ("h_fixed", -1.0, ">= 0"),
        ("atol_scaling", "auto", "magnitude or none"),
    ],
)
def test_solver_options_refuse_bad_values_naming_field_value_and_range(field, value, allowed):
    with pytest.raises(InvalidOptionError) as info:
        SolverOptions(**{field: value})
    err = info.value
    assert isinstance(err, MdrsimError) and isinstance(err, ValueError)
    assert err.field == field
    assert err.value is value
    assert allowed in err.allowed
    assert str(err).startswith(f"{field} must be ")


@pytest.mark.parametrize(
    ("field", "value"),
    [("tau_epsilon", 0.0), ("tau_epsilon", 1.5), ("rtol", 0.0), ("atol", -1.0), ("max_events", 0)],
)
def test_stochastic_options_refuse_bad_values(field, value):
    with pytest.raises(InvalidOptionError, match=field) as info:
        StochasticOptions(**{field: value})
    assert info.value.field == field


def test_atol_per_state_must_match_the_model():
    opts = SolverOptions(atol=[1e-8, 1e-9])  # type: ignore[arg-type]
    assert opts.atol == (1e-8, 1e-9)
    with pytest.raises(InvalidOptionError, match="atol must be one number or 1 numbers"):
        simulate(logistic(), until=1.0, options=opts)


def test_provenance_is_written_from_the_options_object():
    opts = SolverOptions(rtol=1e-8, atol=1e-11, max_steps=1234)
    r = simulate(logistic(), until=1.0, points=2, options=opts)
    assert r.provenance["engine"] == "rodas4"
    assert r.provenance["solver_options"] == asdict(opts)
    assert options_provenance(opts, "rodas4") == {
        "engine": "rodas4",
        "solver_options": asdict(opts),
    }
    assert opts.provenance()["solver_options"]["max_steps"] == 1234


def test_options_change_the_solution_and_shorthands_replace_fields():
    loose = simulate(logistic(), until=30.0, points=2, options=SolverOptions(rtol=1e-2, atol=1e-2))
    tight = simulate(logistic(), until=30.0, points=2, options=SolverOptions(rtol=1e-10))
    assert loose.stat("accepted_steps")[0] < tight.stat("accepted_steps")[0]
    mixed = simulate(logistic(), until=1.0, points=2, options=SolverOptions(rtol=1e-3), rtol=1e-7)
    assert mixed.provenance["solver_options"]["rtol"] == 1e-7


def test_the_ode_path_takes_no_seed():
    # A deterministic solver has nothing to seed; recording one would claim it mattered.
    with pytest.raises(TypeError, match="seed"):
        simulate(logistic(), until=1.0, seed=3)  # type: ignore[call-arg]
    r = simulate(logistic(), until=1.0, points=2)
    assert "seed" not in r.provenance


def test_stochastic_provenance_from_its_options():
    opts = StochasticOptions(tau_epsilon=0.05, max_events=10_000)
    r = simulate_stochastic(
        birth_death(10, 1.0, 0.5), [0.0, 1.0], method="tau", seed=3, options=opts
    )
    assert r.provenance["engine"] == "stochastic-tau"
    assert r.provenance["solver_options"] == asdict(opts)
    assert r.provenance["seed"] == 3  # the stochastic path keeps its seed
    short = simulate_stochastic(birth_death(), [0.0, 1.0], seed=3, tau_epsilon=0.07)
    assert short.provenance["solver_options"]["tau_epsilon"] == 0.07


def test_atol_scales_follow_magnitudes_with_median_fill_cap_and_floor():
    from mdrsim.engine.options import atol_scales

    scales = atol_scales(np.array([1e-6, 0.0, 4e-6, 50.0, 1e-300, math.nan]))
    # non-zero magnitudes 1e-6, 4e-6, 50, 1e-300: median 2.5e-6 fills the zero and the NaN
    assert scales.tolist() == pytest.approx([1e-6, 2.5e-6, 4e-6, 1.0, 1e-15, 2.5e-6])
    assert atol_scales(np.zeros(3)).tolist() == [1.0, 1.0, 1.0]
