"""Numeric evaluation of sympy expressions on numpy arrays, by walking the tree.

Observable and noise formulas of a fitting problem are evaluated once per measurement row and
parameter vector, far from the compiled engine. Walking the sympy tree (built by mdrsim's safe
parser) with a fixed table of numpy functions keeps the guarantee that nothing read from a file
is executed as code: there is no ``eval``, ``exec`` or ``lambdify`` here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import sympy

from mdrsim.errors import ExpressionError

_FUNCS: dict[Any, Callable[..., np.ndarray]] = {
    sympy.exp: np.exp,
    sympy.log: np.log,
    sympy.sin: np.sin,
    sympy.cos: np.cos,
    sympy.tan: np.tan,
    sympy.sinh: np.sinh,
    sympy.cosh: np.cosh,
    sympy.tanh: np.tanh,
    sympy.asin: np.arcsin,
    sympy.acos: np.arccos,
    sympy.atan: np.arctan,
    sympy.Abs: np.abs,
    sympy.floor: np.floor,
    sympy.ceiling: np.ceil,
    sympy.sign: np.sign,
}

_RELATIONS: dict[Any, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    sympy.Lt: np.less,
    sympy.Le: np.less_equal,
    sympy.Gt: np.greater,
    sympy.Ge: np.greater_equal,
    sympy.Eq: np.equal,
    sympy.Ne: np.not_equal,
}


def evaluate(expr: sympy.Basic, values: Mapping[str, np.ndarray | float], size: int) -> np.ndarray:
    """Evaluate ``expr`` with ``values`` (symbol name → number or array of ``size``).

    Raises :class:`ExpressionError` for a symbol without a value or an unsupported node.
    """
    cache: dict[sympy.Basic, np.ndarray] = {}

    def ev(e: sympy.Basic) -> np.ndarray:
        hit = cache.get(e)
        if hit is not None:
            return hit
        out = _ev(e)
        cache[e] = out
        return out

    def _ev(e: Any) -> np.ndarray:
        if isinstance(e, sympy.Symbol):
            if e.name not in values:
                raise ExpressionError(f"no value for symbol {e.name!r}")
            return np.broadcast_to(np.asarray(values[e.name], dtype=float), (size,))
        if e is sympy.true:
            return np.ones(size, dtype=bool)
        if e is sympy.false:
            return np.zeros(size, dtype=bool)
        if e.is_Number or isinstance(e, sympy.NumberSymbol):
            return np.full(size, float(e))
        if isinstance(e, sympy.Add):
            out = ev(e.args[0])
            for a in e.args[1:]:
                out = out + ev(a)
            return out
        if isinstance(e, sympy.Mul):
            out = ev(e.args[0])
            for a in e.args[1:]:
                out = out * ev(a)
            return out
        if isinstance(e, sympy.Pow):
            base, exp = e.args
            if exp == -1:
                return 1.0 / ev(base)
            if exp == sympy.Rational(1, 2):
                return np.sqrt(ev(base))
            if exp.is_Integer:
                return ev(base) ** int(exp)
            return np.power(ev(base), ev(exp))
        if isinstance(e, sympy.Piecewise):
            out = np.full(size, np.nan)
            done = np.zeros(size, dtype=bool)
            for value, cond in e.args:
                c = ev(cond).astype(bool) & ~done
                if c.any():
                    out = np.where(c, ev(value), out)
                done |= c
            return out
        if isinstance(e, sympy.Min | sympy.Max):
            out = ev(e.args[0])
            for a in e.args[1:]:
                out = np.minimum(out, ev(a)) if isinstance(e, sympy.Min) else np.maximum(out, ev(a))
            return out
        if isinstance(e, sympy.And | sympy.Or):
            out = ev(e.args[0]).astype(bool)
            for a in e.args[1:]:
                b = ev(a).astype(bool)
                out = np.logical_and(out, b) if isinstance(e, sympy.And) else np.logical_or(out, b)
            return out
        if isinstance(e, sympy.Not):
            return ~ev(e.args[0]).astype(bool)
        if isinstance(e, sympy.Heaviside):
            x = ev(e.args[0])
            at0 = 0.5 if len(e.args) < 2 else float(e.args[1])
            return np.where(x > 0, 1.0, np.where(x < 0, 0.0, at0))
        if isinstance(e, sympy.DiracDelta):
            return np.zeros(size)
        for kind, rel in _RELATIONS.items():
            if isinstance(e, kind):
                return rel(ev(e.args[0]), ev(e.args[1]))
        for kind, func in _FUNCS.items():
            if isinstance(e, kind):
                return func(*[ev(a) for a in e.args])
        raise ExpressionError(f"cannot evaluate {type(e).__name__} in {e}")

    with np.errstate(all="ignore"):
        return np.asarray(ev(expr), dtype=float)
