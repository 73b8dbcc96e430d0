"""A negative whole power of zero is infinite, never a silent 0.

numba evaluates ``x**(-2)`` with integer-power code that raises ZeroDivisionError at x = 0
even under error_model="numpy"; inside the generated cfuncs that exception was swallowed and
the right-hand side came back as 0, so a model whose rate is ``x^(-2)`` at x = 0 ran "ok"
with a constant state (found in an Elowitz fit, where the kernel printed "Exception ignored"
150,000 times). Code generation now prints such powers as divisions (1/0 → inf under the
numpy error model), and the patient fails as non-finite.
"""

from __future__ import annotations

import numpy as np
import sympy

from mdrsim.engine import Status, compile_model, simulate
from mdrsim.engine.codegen import _code
from mdrsim.io import load_model


def test_negative_whole_powers_print_as_divisions() -> None:
    x, y = sympy.symbols("x y")
    assert _code(x**-2) == "(1.0/(x)**2)"
    assert _code(sympy.Pow(x + y, -1, evaluate=False)) == "(1.0/(x + y))"
    # Positive and fractional powers are untouched.
    assert _code(x**3) == "x**3"
    assert _code(x ** sympy.Rational(-3, 2)) == "x**(-1.5)"


def test_rate_with_a_negative_power_of_zero_fails_the_patient() -> None:
    model = load_model("model m\n  x = 0\n  y = 1\n  y' = x^(-2)\nend\n")
    result = simulate(compile_model(model), np.linspace(0.0, 1.0, 3))
    assert int(result.status[0]) == int(Status.NONFINITE)
    assert np.isnan(result.to_wide()["y"].to_numpy()[1:]).all()


def test_the_same_power_away_from_zero_is_exact() -> None:
    model = load_model("model m\n  x = 2\n  y = 1\n  y' = x^(-2)\nend\n")
    result = simulate(compile_model(model), np.linspace(0.0, 1.0, 3))
    assert int(result.status[0]) == 0
    np.testing.assert_allclose(result.to_wide()["y"].to_numpy(), [1.0, 1.125, 1.25], rtol=1e-9)
