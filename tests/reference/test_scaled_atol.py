"""Accuracy by default on a model whose states are ~1e-6 (issue 14).

A receptor model in molar units, on the scale of Edelstein et al. 1996 (BIOMD0000000001,
concentrations ~1e-5 M and below): R + L <-> C -> A -> D -> R. With a plain absolute
tolerance of 1e-9 the error control accepts errors of ~1e-3 of every state, so the default
run was visibly wrong; with the per-state scaled default (``atol_scaling="magnitude"``)
every state must agree with a tight, independent reference (scipy's Radau at rtol 1e-11,
atol 1e-22) to 1e-4 relative.

Tolerance of the check: 1e-4 relative (the issue's target for default settings), with a floor
of 1e-6 of each state's largest value for states passing through 0 (C, A, D start at 0).
The model's numbers are assumed: chosen to be stiff-ish and on the 1e-6 M scale, not a fit.
"""

from __future__ import annotations

import numpy as np
import pytest

from mdrsim.engine import SolverOptions, compile_model, simulate
from mdrsim.model import Model, ModelBuilder

T = np.linspace(0.0, 20.0, 81)


def _receptor_model() -> Model:
    b = ModelBuilder("receptor_micromolar")
    b.compartment("cell", 1.0, unit="L")
    b.species("R", 2e-6, compartment="cell", unit="M")
    b.species("L", 5e-6, compartment="cell", unit="M")
    b.species("C", 0.0, compartment="cell", unit="M")
    b.species("A", 0.0, compartment="cell", unit="M")
    b.species("D", 0.0, compartment="cell", unit="M")
    src = "assumed: test value on the 1e-6 M scale of Edelstein 1996 (BIOMD0000000001)"
    for name, value, unit in (
        ("kon", 1e6, "1/(M*s)"),
        ("koff", 0.5, "1/s"),
        ("kact", 2.0, "1/s"),
        ("kdes", 0.3, "1/s"),
        ("krec", 0.05, "1/s"),
    ):
        b.parameter(name, value, unit=unit, source=src)
    b.reaction("bind", "(kon*R*L - koff*C)*cell", reactants={"R": 1, "L": 1}, products={"C": 1})
    b.reaction("activate", "kact*C*cell", reactants={"C": 1}, products={"A": 1})
    b.reaction("desensitise", "kdes*A*cell", reactants={"A": 1}, products={"D": 1})
    b.reaction("recover", "krec*D*cell", reactants={"D": 1}, products={"R": 1})
    return b.build()


@pytest.fixture(scope="module")
def compiled():  # type: ignore[no-untyped-def]
    return compile_model(_receptor_model())


@pytest.fixture(scope="module")
def reference(compiled) -> np.ndarray:  # type: ignore[no-untyped-def]
    tight = SolverOptions(rtol=1e-11, atol=1e-22, atol_scaling="none", max_steps=10**7)
    r = simulate(compiled, T, options=tight, method="scipy-radau")
    assert int(r.status[0]) == 0
    return np.asarray(r.states[0])


def _max_rel_error(states: np.ndarray, ref: np.ndarray) -> float:
    floor = 1e-6 * np.abs(ref).max(axis=0)
    return float(np.max(np.abs(states - ref) / np.maximum(np.abs(ref), floor)))


def test_default_settings_are_accurate_on_micromolar_states(compiled, reference) -> None:  # type: ignore[no-untyped-def]
    r = simulate(compiled, T)  # the defaults a newcomer gets
    assert int(r.status[0]) == 0
    err = _max_rel_error(np.asarray(r.states[0]), reference)
    assert err < 1e-4, f"default run off by {err:.2e} relative"


def test_a_plain_absolute_tolerance_would_fail_this_check(compiled, reference) -> None:  # type: ignore[no-untyped-def]
    """The check can fail: the old default (atol 1e-9 for every state) misses it by far."""
    r = simulate(compiled, T, options=SolverOptions(atol_scaling="none"))
    err = _max_rel_error(np.asarray(r.states[0]), reference)
    assert err > 1e-3, f"unscaled atol 1e-9 unexpectedly accurate ({err:.2e})"


def test_scaled_tolerances_follow_the_initial_state(compiled) -> None:  # type: ignore[no-untyped-def]
    y0 = compiled.default_initial_state()
    opts = SolverOptions(atol=1e-6)
    named = dict(zip(compiled.state_names, opts.atol_vector(len(y0), y0), strict=True))
    assert named["R"] == pytest.approx(1e-6 * 2e-6)
    assert named["L"] == pytest.approx(1e-6 * 5e-6)
    # states starting at 0 take the median non-zero magnitude of the model (of R and L)
    assert named["C"] == named["A"] == named["D"] == pytest.approx(1e-6 * 3.5e-6)
    # scaling stops at 1e-12 (the default 1e-9 here), and never undercuts a smaller atol
    default = SolverOptions().atol_vector(len(y0), y0)
    assert default.tolist() == [1e-12] * len(y0)
    assert SolverOptions(atol=1e-14).atol_vector(len(y0), y0).tolist() == [1e-14] * len(y0)
    # an explicit vector and atol_scaling="none" are used as given
    assert SolverOptions(atol_scaling="none").atol_vector(2, np.array([1e-6, 1e3])).tolist() == [
        1e-9,
        1e-9,
    ]
    assert SolverOptions(atol=(1e-3, 1e-4)).atol_vector(2, np.array([1e-6, 1e-6])).tolist() == [
        1e-3,
        1e-4,
    ]
