"""Comparing models up to mathematical equivalence of their expressions.

``Model`` compares with ``==`` structurally, and SBML export is built so that
``read_sbml_string(write_sbml(m)) == m`` holds exactly. A few things cannot be restored as the
identical sympy tree, only as an equal value, and for those use :func:`models_equivalent`:

- integers beyond 32 bits: libsbml keeps MathML integers in a C ``int``, so they are written as
  reals and come back as ``Float`` (same value, different node type);
- ``Float`` objects that are not exactly a double (more precision, or a magnitude outside the
  double range such as ``exp(-711.0)``): SBML numbers are doubles;
- documents that went through another tool (e.g. Antimony), which may rewrite formulas into an
  equivalent but differently structured form (``-(a*b)`` vs ``-a*b`` after re-canonicalisation,
  ``21.0`` written as the integer ``21``).

Everything that is not an expression (names, numbers, flags, units, texts) must still be equal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import sympy

from mdrsim.model.ir import Model

__all__ = ["expressions_equivalent", "models_equivalent"]


def expressions_equivalent(a: sympy.Basic, b: sympy.Basic) -> bool:
    """True when ``a`` and ``b`` are the same tree, or provably equal after simplification."""
    if a == b:
        return True
    if isinstance(a, sympy.Expr) and isinstance(b, sympy.Expr):
        return _simplifies_to_zero(a - b)
    if isinstance(a, sympy.core.relational.Relational) and isinstance(
        b, sympy.core.relational.Relational
    ):
        return _relations_equivalent(a, b)
    if isinstance(a, sympy.logic.boolalg.BooleanFunction) and type(a) is type(b):
        return len(a.args) == len(b.args) and all(
            any(expressions_equivalent(x, y) for y in b.args) for x in a.args
        )
    return False


def _relations_equivalent(a: sympy.Basic, b: sympy.Basic) -> bool:
    ca, cb = a.canonical, b.canonical
    if type(ca) is not type(cb):
        return False
    return _simplifies_to_zero((ca.lhs - ca.rhs) - (cb.lhs - cb.rhs))


def _simplifies_to_zero(difference: sympy.Basic) -> bool:
    # simplify can fail on extreme numbers (mpmath raises ZeroDivisionError, OverflowError);
    # what cannot be shown equal is reported as different.
    try:
        return bool(sympy.simplify(difference) == 0)
    except (ArithmeticError, TypeError, ValueError):
        return False


def _equivalent(a: object, b: object) -> bool:
    if isinstance(a, sympy.Basic) and isinstance(b, sympy.Basic):
        return expressions_equivalent(a, b)
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        if type(a) is not type(b):
            return False
        return all(
            _equivalent(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a)
        )
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_equivalent(a[k], b[k]) for k in a)
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return len(a) == len(b) and all(_equivalent(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def models_equivalent(a: Model, b: Model) -> bool:
    """True when ``a`` and ``b`` agree in everything, expressions compared mathematically."""
    return a == b or _equivalent(a, b)
