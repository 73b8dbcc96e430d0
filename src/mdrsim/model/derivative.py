"""Derivatives for the generated Jacobian and ∂f/∂t, for every function SBML math allows.

sympy's own ``diff`` leaves unevaluated ``Derivative(floor(x), x)``, gives ``re``/``im`` terms
for ``Abs`` of an unrestricted symbol, ``polygamma`` for ``factorial`` and ``Heaviside`` for
``Max``/``Min`` — none of which the code printer (or numba) can compute. Here:

- ``floor``, ``ceiling`` and ``sign`` are piecewise constant: their derivative is 0 between
  their jumps (the jumps themselves are discontinuities of the right-hand side, which the
  integrator's error control steps through, as for a ``piecewise``);
- ``factorial`` of an integer-valued argument (a number, ``floor`` or ``ceiling``) is piecewise
  constant too; of anything else that changes it is refused (SBML defines it on integers);
- ``Abs``, ``Max`` and ``Min`` are rewritten as ``Piecewise`` before differentiating, which
  gives the exact one-sided derivative on each side of the kink;
- a power ``b**e`` with a symbolic exponent is differentiated as ``e * b**(e - 1) * b'``,
  not sympy's ``e * b**e * b' / b``, which is 0/0 = NaN at ``b = 0`` (Hill terms
  ``(p/Kd)**h`` at p = 0: the Test Suite's case 01395).
"""

from __future__ import annotations

import sympy

from mdrsim.errors import UnsupportedFeatureError

__all__ = ["derivative"]

_PIECEWISE_CONSTANT = (sympy.floor, sympy.ceiling, sympy.sign)


class _Power(sympy.Function):
    """``b**e`` while differentiating: the chain rule without dividing by ``b``."""

    nargs = 2

    def fdiff(self, argindex: int = 1) -> sympy.Basic:
        base, exponent = self.args
        if argindex == 1:
            return exponent * _Power(base, exponent - 1)
        return _Power(base, exponent) * sympy.log(base)


def _symbolic_power(e: sympy.Basic) -> bool:
    return isinstance(e, sympy.Pow) and not e.exp.is_Number


def _as_piecewise(expr: sympy.Basic) -> sympy.Basic:
    if isinstance(expr, sympy.Abs):
        (g,) = expr.args
        return sympy.Piecewise((g, g >= 0), (-g, True))
    if isinstance(expr, sympy.Max | sympy.Min):
        first, *rest = expr.args
        result = first
        for other in rest:
            pick = result >= other if isinstance(expr, sympy.Max) else result <= other
            result = sympy.Piecewise((result, pick), (other, True))
        return result
    return expr


def derivative(expr: sympy.Basic, var: sympy.Symbol) -> sympy.Basic:
    """``d expr / d var``, in terms the code printer can compute."""
    if var not in expr.free_symbols:
        return sympy.Integer(0)
    held: dict[sympy.Symbol, sympy.Basic] = {}

    def hold(e: sympy.Basic) -> sympy.Basic:
        if var not in e.free_symbols:
            return e
        if isinstance(e, sympy.factorial):
            raise UnsupportedFeatureError(
                f"factorial({e.args[0]}) of a continuously changing quantity: SBML defines "
                "factorial on whole numbers; use factorial(floor(...)) or ceiling(...)"
            )
        dummy = sympy.Dummy("held")
        held[dummy] = e
        return dummy

    prepared = expr.replace(lambda e: isinstance(e, (*_PIECEWISE_CONSTANT, sympy.factorial)), hold)
    prepared = prepared.replace(
        lambda e: isinstance(e, sympy.Abs | sympy.Max | sympy.Min) and var in e.free_symbols,
        _as_piecewise,
    )
    prepared = prepared.replace(_symbolic_power, lambda e: _Power(e.base, e.exp))
    result = sympy.diff(prepared, var).replace(
        lambda e: isinstance(e, _Power), lambda e: sympy.Pow(*e.args)
    )
    while held and result.free_symbols & set(held):
        result = result.xreplace(held)
    if result.has(sympy.Derivative, sympy.Subs):
        raise UnsupportedFeatureError(
            f"cannot differentiate {expr} with respect to {var}: {result}"
        )
    return result
