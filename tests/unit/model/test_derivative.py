"""Derivatives for the generated Jacobian: piecewise functions give printable, exact terms."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from mdrsim.errors import UnsupportedFeatureError
from mdrsim.model.derivative import derivative

x, y, t = sympy.symbols("x y t")


def test_floor_and_ceiling_are_constant_between_jumps() -> None:
    assert derivative(3 * sympy.floor(x), x) == 0
    assert derivative(x * sympy.ceiling(2 * x), x) == sympy.ceiling(2 * x)
    assert derivative(sympy.floor(x + sympy.floor(x)) * x, x) == sympy.floor(x + sympy.floor(x))


def test_factorial_of_a_whole_number_argument_is_constant() -> None:
    assert derivative(sympy.factorial(sympy.ceiling(x)) / y, x) == 0


def test_factorial_of_a_continuous_argument_is_refused() -> None:
    with pytest.raises(UnsupportedFeatureError, match="factorial"):
        derivative(sympy.factorial(x), x)


@pytest.mark.parametrize(
    ("expr", "point", "slope"),
    [
        (sympy.Abs(1 - t), {t: 0.5}, -1.0),
        (sympy.Abs(1 - t), {t: 2.0}, 1.0),
        (sympy.Max(x, 2 * y), {x: 3.0, y: 1.0}, 1.0),
        (sympy.Max(x, 2 * y), {x: 1.0, y: 1.0}, 0.0),
        (sympy.Min(x, y, 5), {x: 1.0, y: 2.0}, 1.0),
    ],
)
def test_kinks_have_the_one_sided_slope(expr: sympy.Basic, point: dict, slope: float) -> None:
    var = t if t in expr.free_symbols else x
    d = derivative(expr, var)
    assert not d.has(sympy.Derivative, sympy.Heaviside, sympy.re, sympy.im)
    assert float(d.subs(point)) == slope


def test_smooth_expressions_match_sympy() -> None:
    expr = sympy.exp(-x * y) + sympy.sin(x) ** 2
    assert sympy.simplify(derivative(expr, x) - sympy.diff(expr, x)) == 0


@pytest.mark.parametrize("h", [1.0, 2.0, 3.5])
def test_hill_term_slope_is_finite_at_zero(h: float) -> None:
    # d/dp 1/(1 + (p/K)^h) at p = 0: -1/K for h = 1, 0 for h > 1 (issue 12, case 01395);
    # sympy's own form h*(p/K)^h/p/... is 0/0 there.
    # Evaluated in floating point, as the generated code does (sympy's subs would simplify).
    p, k, n = sympy.symbols("p K n")
    d = derivative(1 / (1 + (p / k) ** n), p)
    with np.errstate(all="ignore"):
        value = sympy.lambdify((p, k, n), d, modules="numpy")(np.float64(0.0), 2.0, h)
    assert value == pytest.approx(-0.5 if h == 1.0 else 0.0)


def test_symbolic_power_derivative_matches_sympy_away_from_zero() -> None:
    expr = (x / y) ** t + x**t * sympy.exp(x)
    for var in (x, y, t):
        d = derivative(expr, var) - sympy.diff(expr, var)
        assert abs(float(d.subs({x: 1.3, y: 0.7, t: 2.2}))) < 1e-12
