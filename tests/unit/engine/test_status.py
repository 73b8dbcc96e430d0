"""Status codes and named solver statistics (mdrsim.engine.status)."""

from __future__ import annotations

import numpy as np
import pytest

from mdrsim.engine import (
    SolverOptions,
    Status,
    compile_model,
    rodas,
    simulate,
    simulate_stochastic,
    stochastic_kernel,
)
from mdrsim.engine.result import STATUS_MESSAGES
from mdrsim.engine.status import ODE_STATS, STOCHASTIC_STATS, SolverStats, status_message
from mdrsim.errors import SimulationInputError

from ..stochastic.models import birth_death
from .models import one_compartment_pk, robertson


def test_status_round_trips_through_its_integer_code():
    for status in Status:
        assert Status(int(status)) is status
        assert STATUS_MESSAGES[int(status)] == status.message
        assert status_message(int(status)) == status.message
    messages = [s.message for s in Status]
    assert len(set(messages)) == len(messages)  # every code says something different
    assert Status.OK.ok and not Status.MAX_STEPS.ok


def test_unknown_code_is_named_not_hidden():
    assert status_message(99) == "status 99"


def test_kernels_use_the_enum_values():
    # The numba kernels hold plain-int copies; they must be the enum's values.
    for name in ("OK", "STEP_UNDERFLOW", "NONFINITE", "MAX_STEPS", "SINGULAR"):
        assert getattr(rodas, f"STATUS_{name}") == Status[name]
    for name in ("BAD_COUNT", "BAD_PROPENSITY", "MAX_EVENTS", "BAD_INITIAL", "TAU_STUCK"):
        assert getattr(stochastic_kernel, f"STATUS_{name}") == Status[name]


def test_rodas_statistics_by_name():
    r = simulate(robertson(), until=40.0, points=4)
    s = r.solver_stats(0)
    assert r.stats_columns == ODE_STATS
    assert s.status is Status.OK and s.failure_time is None
    assert s.accepted_steps is not None and s.accepted_steps > 5
    assert s.steps == s.accepted_steps + s.rejected_steps
    # One Jacobian per accepted step (RODAS recomputes it after each), one LU per attempt.
    assert s.jacobian_evaluations is not None and s.jacobian_evaluations >= s.accepted_steps
    assert s.lu_decompositions is not None and s.lu_decompositions >= s.steps
    assert s.rhs_evaluations is not None and s.rhs_evaluations >= 6 * s.accepted_steps
    assert s.reactions_fired is None  # not an ODE statistic
    np.testing.assert_array_equal(r.stat("accepted_steps"), [s.accepted_steps])


@pytest.mark.parametrize("method", ["scipy-radau", "scipy-bdf", "scipy-lsoda"])
def test_scipy_path_fills_its_step_counts(method):
    r = simulate(robertson(), until=40.0, points=4, method=method)  # type: ignore[arg-type]
    s = r.solver_stats(0)
    assert s.status is Status.OK
    assert s.accepted_steps is not None and s.accepted_steps > 5
    assert s.steps == s.accepted_steps
    assert s.rejected_steps is None  # scipy does not report them: unknown, not 0
    assert s.rhs_evaluations is not None and s.rhs_evaluations > s.accepted_steps
    assert s.jacobian_evaluations is not None and s.jacobian_evaluations >= 1
    assert s.lu_decompositions is not None and s.lu_decompositions >= 1


def test_scipy_path_counts_events():
    cm = compile_model(one_compartment_pk())
    from mdrsim.engine import EventTable

    ev = EventTable().bolus(1.0, "C", 2.0).bolus(2.0, "C", 2.0)
    for method in ("rodas4", "scipy-radau"):
        r = simulate(cm, until=3.0, points=3, events=ev, method=method)  # type: ignore[arg-type]
        assert r.solver_stats(0).events == 2


def test_a_failure_has_its_status_and_time():
    r = simulate(robertson(), until=1e5, points=2, options=SolverOptions(max_steps=3))
    s = r.solver_stats(0)
    assert s.status is Status.MAX_STEPS
    assert s.failure_time is not None and 0 < s.failure_time < 1e5
    assert "maximum number of steps" in r.failures()[0]


def test_stochastic_statistics_by_name():
    r = simulate_stochastic(birth_death(20, 1.0, 0.5), [0.0, 1.0], n_trajectories=3, seed=2)
    assert r.stats_columns == STOCHASTIC_STATS
    s = r.solver_stats(2)
    assert s.reactions_fired is not None and s.reactions_fired > 0
    assert s.propensity_evaluations is not None and s.propensity_evaluations > 0
    assert s.accepted_steps is None  # not a stochastic statistic


def test_unknown_statistic_and_patient_are_typed_errors():
    r = simulate(one_compartment_pk(), until=1.0, points=2)
    with pytest.raises(SimulationInputError, match=r"unknown solver statistic .step..*steps"):
        r.stat("step")
    with pytest.raises(SimulationInputError, match="patient 3 is out of range"):
        r.solver_stats(3)


def test_solver_stats_from_a_row():
    row = np.array([3.0, 7.5, 10, 8, 2, 1, 60, 8, 10])
    s = SolverStats.from_row(row, ODE_STATS)
    assert s.status is Status.MAX_STEPS and s.failure_time == 7.5
    assert (s.steps, s.accepted_steps, s.rejected_steps, s.lu_decompositions) == (10, 8, 2, 10)
