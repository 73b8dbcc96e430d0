"""States checked after every solve (mdrsim.engine.batch.check_states): a solution that takes a
state declared non-negative meaningfully below zero is a failed patient whose reason names the
state, its value and the time — never "ok"."""

from __future__ import annotations

import numpy as np
import pytest

from mdrsim.engine import simulate
from mdrsim.engine.status import Status
from mdrsim.model import Model, ModelBuilder


def _zero_order(*, non_negative: bool = True) -> Model:
    """x' = -k whatever x: x = 1 - k t crosses zero at t = 1/k and keeps falling — a wrong
    model (the rate does not vanish with the amount) that a solver integrates happily."""
    b = ModelBuilder("zero_order")
    b.parameter("k", 1.0, unit="1/d")
    b.species("x", 1.0, non_negative=non_negative)
    b.species("y", 1.0)
    b.reaction("drain", "k", reactants={"x": 1})
    b.reaction("decay", "k*y", reactants={"y": 1})  # proportional: stays positive
    return b.build()


@pytest.mark.parametrize("method", ["rodas4", "scipy-lsoda"])
def test_a_state_declared_non_negative_that_goes_negative_fails_the_patient(method: str) -> None:
    times = np.linspace(0.0, 3.0, 31)
    r = simulate(_zero_order(), times, method=method)  # type: ignore[arg-type]
    assert not r.ok
    assert int(r.status[0]) == int(Status.NEGATIVE_STATE)
    reason = r.failures()[0]
    assert "state 'x' = -0.1" in reason and "t=1.1" in reason, reason
    assert "non-negative" in reason
    # From the failure on, the values are NaN (and flagged), before it they are kept.
    x = r["x"][0]
    assert np.isnan(x[times >= 1.1 - 1e-12]).all()
    assert x[10] == pytest.approx(0.0, abs=1e-6)


def test_the_same_solution_is_ok_when_the_state_is_not_declared_non_negative() -> None:
    r = simulate(_zero_order(non_negative=False), np.linspace(0.0, 3.0, 31))
    assert r.ok
    assert r.final("x")[0] == pytest.approx(-2.0, rel=1e-6)


def test_only_the_patient_that_goes_negative_fails() -> None:
    r = simulate(_zero_order(), np.linspace(0.0, 3.0, 31), params={"k": [0.1, 1.0, 0.2]})
    assert list(r.status) == [0, int(Status.NEGATIVE_STATE), 0]
    assert set(r.failures()) == {1}


def test_a_dip_within_the_solver_tolerance_is_not_a_failure() -> None:
    # Fast first-order decay to ~0: RODAS may undershoot by about atol; that is no failure.
    b = ModelBuilder("fast_decay")
    b.parameter("k", 50.0)
    b.species("y", 1.0)
    b.reaction("decay", "k*y", reactants={"y": 1})
    r = simulate(b.build(), np.linspace(0.0, 10.0, 1001), rtol=1e-3, atol=1e-6)
    assert r.ok, r.failures()
