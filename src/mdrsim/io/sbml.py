"""SBML import and export through python-libsbml.

Why it is built this way:

- **Math goes through libsbml's ASTNode, never through text.** Reading walks the AST node by
  node against a whitelist and builds sympy objects directly, so nothing in a file is ever
  evaluated (no ``eval``/``sympify``/``parse_expr``); a construct that is not in the whitelist
  raises :class:`~mdrsim.errors.UnsupportedFeatureError` naming it. Writing builds ASTNodes from
  the sympy tree, so there are no precedence or ``log``-meaning ambiguities of infix text: in
  MathML ``<ln/>`` is the natural log and ``<log/>`` without ``<logbase>`` is base 10, and that is
  what this module follows.
- **Export must round-trip exactly.** ``read_sbml_string(write_sbml(m)) == m`` compares sympy
  trees structurally, so each expression is first written in a readable form (``a - b``,
  ``a / b``) and read straight back; when sympy does not rebuild the identical tree from it, the
  literal form of the tree (``plus``/``times``/``power``) is written instead.
- **Numbers keep full precision.** libsbml prints doubles with 15 significant digits, which is
  not enough to restore every float. Floats inside math are therefore written as unique
  ``<ci>`` placeholders and replaced by ``<cn>`` with ``repr(value)`` in the final text (so every
  tool sees the exact number); attribute values (sizes, initial values, stoichiometries) that 15
  digits would change are also stored exactly in the mdrsim annotation.
- **mdrsim-only metadata** (units as written, sources, descriptions, bounds, ``non_negative``,
  which parameters are observables) lives in an annotation in the namespace :data:`MDRSIM_NS`.
  Other tools ignore it; observables are ordinary assignment-rule parameters to them.
"""

from __future__ import annotations

import itertools
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, Decimal, localcontext
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import libsbml
import sympy

from mdrsim.errors import (
    ExpressionError,
    MdrsimError,
    ModelImportError,
    ModelValidationError,
    UnsupportedFeatureError,
)
from mdrsim.model.expressions import TIME, did_you_mean, free_names
from mdrsim.model.ir import (
    AssignmentRule,
    Compartment,
    Event,
    EventAssignment,
    InitialAssignment,
    Model,
    Observable,
    Parameter,
    RateRule,
    Reaction,
    Species,
)

__all__ = ["MDRSIM_NS", "read_sbml", "read_sbml_string", "write_sbml"]

#: XML namespace of the annotation that carries mdrsim-only metadata.
MDRSIM_NS = "https://mdrsim.org/ns/model/1"
_NS_PREFIX = "mdrsim"
_META_ELEMENT = "meta"

SBML_LEVEL = 3
SBML_VERSION = 2

_AVOGADRO = 6.02214076e23
_MAX_MESSAGES = 20
# libsbml stores MathML integers as C ``int``; larger ones are written as reals.
_INT32 = 2**31

Node = Any  # a libsbml.ASTNode (libsbml ships no type information)
SBase = Any  # any libsbml SBase subclass
Env = Mapping[str, sympy.Basic]

# =============================================================================================
# Math: libsbml ASTNode -> sympy
# =============================================================================================

_AST_TYPE_NAMES: dict[int, str] = {
    value: name
    for name in dir(libsbml)
    if name.startswith("AST_") and isinstance(value := getattr(libsbml, name), int)
}

_CONSTANTS: dict[int, sympy.Basic] = {
    libsbml.AST_CONSTANT_E: sympy.E,
    libsbml.AST_CONSTANT_PI: sympy.pi,
    libsbml.AST_CONSTANT_TRUE: sympy.true,
    libsbml.AST_CONSTANT_FALSE: sympy.false,
    libsbml.AST_NAME_TIME: TIME,
    libsbml.AST_NAME_AVOGADRO: sympy.Float(_AVOGADRO),
}

#: One-argument MathML functions and their sympy counterparts (used both ways).
_UNARY: dict[int, Callable[[sympy.Basic], sympy.Basic]] = {
    libsbml.AST_FUNCTION_EXP: sympy.exp,
    libsbml.AST_FUNCTION_LN: sympy.log,
    libsbml.AST_FUNCTION_ABS: sympy.Abs,
    libsbml.AST_FUNCTION_FLOOR: sympy.floor,
    libsbml.AST_FUNCTION_CEILING: sympy.ceiling,
    libsbml.AST_FUNCTION_FACTORIAL: sympy.factorial,
    libsbml.AST_FUNCTION_SIN: sympy.sin,
    libsbml.AST_FUNCTION_COS: sympy.cos,
    libsbml.AST_FUNCTION_TAN: sympy.tan,
    libsbml.AST_FUNCTION_SEC: sympy.sec,
    libsbml.AST_FUNCTION_CSC: sympy.csc,
    libsbml.AST_FUNCTION_COT: sympy.cot,
    libsbml.AST_FUNCTION_SINH: sympy.sinh,
    libsbml.AST_FUNCTION_COSH: sympy.cosh,
    libsbml.AST_FUNCTION_TANH: sympy.tanh,
    libsbml.AST_FUNCTION_SECH: sympy.sech,
    libsbml.AST_FUNCTION_CSCH: sympy.csch,
    libsbml.AST_FUNCTION_COTH: sympy.coth,
    libsbml.AST_FUNCTION_ARCSIN: sympy.asin,
    libsbml.AST_FUNCTION_ARCCOS: sympy.acos,
    libsbml.AST_FUNCTION_ARCTAN: sympy.atan,
    libsbml.AST_FUNCTION_ARCSEC: sympy.asec,
    libsbml.AST_FUNCTION_ARCCSC: sympy.acsc,
    libsbml.AST_FUNCTION_ARCCOT: sympy.acot,
    libsbml.AST_FUNCTION_ARCSINH: sympy.asinh,
    libsbml.AST_FUNCTION_ARCCOSH: sympy.acosh,
    libsbml.AST_FUNCTION_ARCTANH: sympy.atanh,
    libsbml.AST_FUNCTION_ARCSECH: sympy.asech,
    libsbml.AST_FUNCTION_ARCCSCH: sympy.acsch,
    libsbml.AST_FUNCTION_ARCCOTH: sympy.acoth,
    libsbml.AST_LOGICAL_NOT: sympy.Not,
}

#: Operators taking any number of arguments (zero included: the empty sum is 0, etc.).
_NARY: dict[int, Callable[..., sympy.Basic]] = {
    libsbml.AST_PLUS: sympy.Add,
    libsbml.AST_TIMES: sympy.Mul,
    libsbml.AST_LOGICAL_AND: sympy.And,
    libsbml.AST_LOGICAL_OR: sympy.Or,
    libsbml.AST_LOGICAL_XOR: sympy.Xor,
}

#: Operators that need at least one argument.
_NARY_NONEMPTY: dict[int, Callable[..., sympy.Basic]] = {
    libsbml.AST_FUNCTION_MAX: sympy.Max,
    libsbml.AST_FUNCTION_MIN: sympy.Min,
}

_RELATIONAL: dict[int, Callable[[sympy.Basic, sympy.Basic], sympy.Basic]] = {
    libsbml.AST_RELATIONAL_EQ: sympy.Eq,
    libsbml.AST_RELATIONAL_NEQ: sympy.Ne,
    libsbml.AST_RELATIONAL_LT: sympy.Lt,
    libsbml.AST_RELATIONAL_LEQ: sympy.Le,
    libsbml.AST_RELATIONAL_GT: sympy.Gt,
    libsbml.AST_RELATIONAL_GEQ: sympy.Ge,
}

#: Friendlier names for constructs users are likely to meet and mdrsim does not simulate.
_UNSUPPORTED_NAMES: dict[int, str] = {
    libsbml.AST_FUNCTION_DELAY: "the delay() csymbol",
    libsbml.AST_FUNCTION_RATE_OF: "the rateOf() csymbol",
    libsbml.AST_FUNCTION_REM: "rem()",
    libsbml.AST_FUNCTION_QUOTIENT: "quotient()",
    libsbml.AST_LAMBDA: "a lambda outside a function definition",
}


def _describe_node(node: Node) -> str:
    kind = _AST_TYPE_NAMES.get(node.getType(), f"type {node.getType()}")
    friendly = _UNSUPPORTED_NAMES.get(node.getType())
    if friendly is None:
        name = node.getName()
        friendly = f"MathML construct {name!r}" if name else "this MathML construct"
    return f"{friendly} ({kind})"


def _real(value: float) -> sympy.Basic:
    if math.isnan(value):
        return sympy.nan
    if math.isinf(value):
        return sympy.oo if value > 0 else -sympy.oo
    return sympy.Float(value)


def _exactly(args: list[sympy.Basic], n: int, what: str, where: str) -> None:
    if len(args) != n:
        raise ModelImportError(f"{where}: {what} takes {n} argument(s), got {len(args)}")


class MathReader:
    """Converts libsbml ASTNodes into sympy expressions by walking the tree.

    ``functions`` are the document's function definitions; calls are inlined by converting the
    definition's body with its bound variables bound to the (already converted) arguments, so
    inlining never goes through text and a recursive definition is reported, not followed.
    """

    def __init__(self, functions: Mapping[str, Any] | None = None) -> None:
        self._functions = dict(functions or {})
        self._calls: list[str] = []

    def read(self, node: Node | None, where: str, env: Env | None = None) -> sympy.Basic:
        """Convert ``node``; ``where`` names the place for error messages, ``env`` renames."""
        if node is None:
            raise ModelImportError(f"{where}: the math is missing")
        try:
            return self._convert(node, env or {}, where)
        except MdrsimError:
            raise
        except RecursionError:
            raise ModelImportError(f"{where}: the expression is nested too deeply") from None
        except (TypeError, ValueError, AttributeError) as exc:
            formula = libsbml.formulaToL3String(node)
            raise ModelImportError(f"{where}: cannot convert {formula!r}: {exc}") from None

    def _convert(self, node: Node, env: Env, where: str) -> sympy.Basic:
        kind = node.getType()
        if kind in _CONSTANTS:
            return _CONSTANTS[kind]
        if kind == libsbml.AST_INTEGER:
            return sympy.Integer(node.getInteger())
        if kind in (libsbml.AST_REAL, libsbml.AST_REAL_E):
            return _real(node.getReal())
        if kind == libsbml.AST_RATIONAL:
            return sympy.Rational(node.getNumerator(), node.getDenominator())
        if kind == libsbml.AST_NAME:
            name = node.getName()
            return env[name] if name in env else sympy.Symbol(name)
        if kind == libsbml.AST_FUNCTION:
            return self._call(node, env, where)
        if not self._handles(kind):
            raise UnsupportedFeatureError(f"{where}: {_describe_node(node)} is not supported")
        args = [self._convert(node.getChild(i), env, where) for i in range(node.getNumChildren())]
        return self._apply(kind, args, where)

    @staticmethod
    def _handles(kind: int) -> bool:
        return (
            kind in _UNARY
            or kind in _NARY
            or kind in _NARY_NONEMPTY
            or kind in _RELATIONAL
            or kind in _SPECIAL
        )

    @staticmethod
    def _apply(kind: int, args: list[sympy.Basic], where: str) -> sympy.Basic:
        name = _AST_TYPE_NAMES[kind]
        if kind in _UNARY:
            _exactly(args, 1, name, where)
            return _UNARY[kind](args[0])
        if kind in _NARY:
            return _NARY[kind](*args)
        if kind in _NARY_NONEMPTY:
            if not args:
                raise ModelImportError(f"{where}: {name} needs at least one argument")
            return _NARY_NONEMPTY[kind](*args)
        if kind in _RELATIONAL:
            return _relational(_RELATIONAL[kind], args, name, where)
        return _SPECIAL[kind](args, where)

    def _call(self, node: Node, env: Env, where: str) -> sympy.Basic:
        name = node.getName()
        definition = self._functions.get(name)
        if definition is None:
            raise ModelImportError(f"{where}: call of undefined function {name!r}")
        if name in self._calls:
            cycle = " -> ".join([*self._calls[self._calls.index(name) :], name])
            raise ModelImportError(f"{where}: function definitions call themselves: {cycle}")
        n_params, n_args = definition.getNumArguments(), node.getNumChildren()
        if n_params != n_args:
            raise ModelImportError(
                f"{where}: function {name!r} takes {n_params} argument(s), got {n_args}"
            )
        body = definition.getBody()
        if body is None:
            raise ModelImportError(f"function definition {name!r} has no body")
        args = [self._convert(node.getChild(i), env, where) for i in range(n_args)]
        bound = {definition.getArgument(i).getName(): args[i] for i in range(n_params)}
        self._calls.append(name)
        try:
            return self._convert(body, bound, f"{where} (in function {name!r})")
        finally:
            self._calls.pop()


def _relational(
    op: Callable[[sympy.Basic, sympy.Basic], sympy.Basic],
    args: list[sympy.Basic],
    name: str,
    where: str,
) -> sympy.Basic:
    # MathML relations are n-ary: lt(a, b, c) means a < b and b < c.
    if len(args) < 2:
        raise ModelImportError(f"{where}: {name} needs at least two arguments")
    parts = [op(a, b) for a, b in itertools.pairwise(args)]
    return parts[0] if len(parts) == 1 else sympy.And(*parts)


def _minus(args: list[sympy.Basic], where: str) -> sympy.Basic:
    if len(args) == 1:
        return -args[0]
    _exactly(args, 2, "minus", where)
    return args[0] - args[1]


def _divide(args: list[sympy.Basic], where: str) -> sympy.Basic:
    _exactly(args, 2, "divide", where)
    return args[0] / args[1]


def _power(args: list[sympy.Basic], where: str) -> sympy.Basic:
    _exactly(args, 2, "power", where)
    return sympy.Pow(args[0], args[1])


def _log(args: list[sympy.Basic], where: str) -> sympy.Basic:
    # MathML <log/> without <logbase> is base 10; libsbml puts the base first when present.
    if len(args) == 1:
        return sympy.log(args[0], 10)
    _exactly(args, 2, "log", where)
    return sympy.log(args[1], args[0])


def _root(args: list[sympy.Basic], where: str) -> sympy.Basic:
    if len(args) == 1:
        return sympy.sqrt(args[0])
    _exactly(args, 2, "root", where)
    degree, radicand = args
    return sympy.sqrt(radicand) if degree == 2 else sympy.Pow(radicand, 1 / degree)


def _implies(args: list[sympy.Basic], where: str) -> sympy.Basic:
    _exactly(args, 2, "implies", where)
    return sympy.Implies(args[0], args[1])


def _piecewise(args: list[sympy.Basic], where: str) -> sympy.Basic:
    # Children are value, condition, value, condition, ..., [otherwise].
    if not args:
        raise ModelImportError(f"{where}: piecewise needs at least one argument")
    pieces = [(args[i], args[i + 1]) for i in range(0, len(args) - 1, 2)]
    if len(args) % 2 == 1:
        pieces.append((args[-1], sympy.true))
    return sympy.Piecewise(*pieces)


_SPECIAL: dict[int, Callable[[list[sympy.Basic], str], sympy.Basic]] = {
    libsbml.AST_MINUS: _minus,
    libsbml.AST_DIVIDE: _divide,
    libsbml.AST_POWER: _power,
    libsbml.AST_FUNCTION_POWER: _power,
    libsbml.AST_FUNCTION_LOG: _log,
    libsbml.AST_FUNCTION_ROOT: _root,
    libsbml.AST_LOGICAL_IMPLIES: _implies,
    libsbml.AST_FUNCTION_PIECEWISE: _piecewise,
}

# =============================================================================================
# Math: sympy -> libsbml ASTNode
# =============================================================================================

_SYMPY_UNARY: dict[type, int] = {
    type(fn(sympy.Symbol("x"))): kind
    for kind, fn in _UNARY.items()
    if kind != libsbml.AST_LOGICAL_NOT
}
_SYMPY_UNARY[sympy.Not] = libsbml.AST_LOGICAL_NOT

_SYMPY_NARY: dict[type, int] = {
    sympy.And: libsbml.AST_LOGICAL_AND,
    sympy.Or: libsbml.AST_LOGICAL_OR,
    sympy.Xor: libsbml.AST_LOGICAL_XOR,
    sympy.Max: libsbml.AST_FUNCTION_MAX,
    sympy.Min: libsbml.AST_FUNCTION_MIN,
    sympy.Implies: libsbml.AST_LOGICAL_IMPLIES,
}

_SYMPY_RELATIONAL: dict[type, int] = {
    sympy.Equality: libsbml.AST_RELATIONAL_EQ,
    sympy.Unequality: libsbml.AST_RELATIONAL_NEQ,
    sympy.StrictLessThan: libsbml.AST_RELATIONAL_LT,
    sympy.LessThan: libsbml.AST_RELATIONAL_LEQ,
    sympy.StrictGreaterThan: libsbml.AST_RELATIONAL_GT,
    sympy.GreaterThan: libsbml.AST_RELATIONAL_GEQ,
}


def _ast(kind: int, *children: Node) -> Node:
    node = libsbml.ASTNode(kind)
    for child in children:
        node.addChild(child)
    return node


def _ast_name(name: str) -> Node:
    node = libsbml.ASTNode(libsbml.AST_NAME)
    node.setName(name)
    return node


def _ast_integer(value: int) -> Node:
    node = libsbml.ASTNode(libsbml.AST_INTEGER)
    node.setValue(int(value))
    return node


def _ast_real(value: float) -> Node:
    node = libsbml.ASTNode(libsbml.AST_REAL)
    node.setValue(float(value))
    return node


def _fold(kind: int, children: list[Node]) -> Node:
    return children[0] if len(children) == 1 else _ast(kind, *children)


class FloatPlaceholders:
    """Stands in for floats in math until the document text is final.

    libsbml writes doubles with 15 significant digits; a placeholder ``<ci>`` that is replaced
    by ``<cn>repr(value)</cn>`` in the written text keeps all 17. ``prefix`` is chosen so that no
    model name can be mistaken for a placeholder.
    """

    def __init__(self, taken_names: Iterable[str]) -> None:
        taken = set(taken_names)
        prefix = "mdrsim_float_"
        while any(re.fullmatch(re.escape(prefix) + r"\d+", n) for n in taken):
            prefix = "_" + prefix
        self.prefix = prefix
        self._by_repr: dict[str, str] = {}
        self.values: dict[str, float] = {}
        self._env: dict[str, sympy.Basic] = {}

    def node(self, value: float) -> Node:
        text = repr(float(value))
        name = self._by_repr.get(text)
        if name is None:
            name = f"{self.prefix}{len(self._by_repr)}"
            self._by_repr[text] = name
            self.values[name] = float(value)
            self._env[name] = sympy.Float(value)
        return _ast_name(name)

    def env(self) -> Mapping[str, sympy.Basic]:
        """Placeholder name -> Float, for reading a not yet substituted AST back."""
        return self._env

    def substitute(self, text: str) -> str:
        pattern = re.compile(r"<ci>\s*(" + re.escape(self.prefix) + r"\d+)\s*</ci>")
        return pattern.sub(lambda m: f"<cn> {self.values[m.group(1)]!r} </cn>", text)


class MathWriter:
    """Converts sympy expressions into libsbml ASTNodes that read back to the same tree."""

    def __init__(self, floats: FloatPlaceholders) -> None:
        self._floats = floats
        self._reader = MathReader()

    def write(self, expr: sympy.Basic, where: str) -> Node:
        """Readable form when it reads back identically, else the literal form of the tree."""
        if not isinstance(expr, sympy.Basic):
            raise ExpressionError(f"{where}: expected a sympy expression, got {expr!r}")
        node = _AstBuilder(self._floats, where, readable=True).build(expr)
        if self._reads_back(node, expr, where):
            return node
        return _AstBuilder(self._floats, where, readable=False).build(expr)

    def _reads_back(self, node: Node, expr: sympy.Basic, where: str) -> bool:
        try:
            return bool(self._reader.read(node, where, self._floats.env()) == expr)
        except MdrsimError:
            return False


class _AstBuilder:
    """One sympy -> ASTNode conversion; ``readable`` chooses minus/divide over -1*x and x^-1."""

    def __init__(self, floats: FloatPlaceholders, where: str, *, readable: bool) -> None:
        self._floats = floats
        self._where = where
        self._readable = readable

    def build(self, e: sympy.Basic) -> Node:
        if isinstance(e, sympy.Symbol):
            return self._symbol(e)
        if isinstance(e, sympy.Number) or e in (sympy.E, sympy.pi):
            return self._number(e)
        if e is sympy.true or e is sympy.false:
            return libsbml.ASTNode(
                libsbml.AST_CONSTANT_TRUE if e is sympy.true else libsbml.AST_CONSTANT_FALSE
            )
        if isinstance(e, sympy.Add):
            return self._add(e) if self._readable else self._nary(libsbml.AST_PLUS, e.args)
        if isinstance(e, sympy.Mul):
            return self._mul(e) if self._readable else self._nary(libsbml.AST_TIMES, e.args)
        if isinstance(e, sympy.Pow):
            return self._pow(e)
        if isinstance(e, sympy.Piecewise):
            return self._piecewise(e)
        return self._function(e)

    def _symbol(self, e: sympy.Symbol) -> Node:
        if e == TIME:
            node = libsbml.ASTNode(libsbml.AST_NAME_TIME)
            node.setName("time")
            return node
        return _ast_name(e.name)

    def _number(self, e: sympy.Basic) -> Node:
        if e is sympy.E:
            return libsbml.ASTNode(libsbml.AST_CONSTANT_E)
        if e is sympy.pi:
            return libsbml.ASTNode(libsbml.AST_CONSTANT_PI)
        if e.is_Integer and -_INT32 <= int(e) < _INT32:
            return _ast_integer(int(e))
        if e.is_Rational and not e.is_Integer:
            return self._rational(e)
        value = float(e)
        if math.isfinite(value):
            return self._floats.node(value)
        if e.is_finite:
            raise ExpressionError(f"{self._where}: the number {e} is beyond the range of a double")
        return _ast_real(value)  # libsbml writes <infinity/> / <notanumber/>

    def _rational(self, e: sympy.Rational) -> Node:
        p, q = int(e.p), int(e.q)
        if not (-_INT32 <= p < _INT32 and q < _INT32):
            return self._floats.node(float(e))
        if self._readable:
            return _ast(libsbml.AST_DIVIDE, _ast_integer(p), _ast_integer(q))
        node = libsbml.ASTNode(libsbml.AST_RATIONAL)
        node.setValue(p, q)
        return node

    def _nary(self, kind: int, args: Iterable[sympy.Basic]) -> Node:
        return _ast(kind, *(self.build(a) for a in args))

    def _add(self, e: sympy.Add) -> Node:
        positive = [t for t in e.args if not _is_negative_term(t)]
        negative = [-t for t in e.args if _is_negative_term(t)]
        if positive:
            node = _fold(libsbml.AST_PLUS, [self.build(t) for t in positive])
        else:
            node = _ast(libsbml.AST_MINUS, self.build(negative.pop(0)))
        for term in negative:
            node = _ast(libsbml.AST_MINUS, node, self.build(term))
        return node

    def _mul(self, e: sympy.Mul) -> Node:
        coeff, rest = e.as_coeff_Mul()
        negate = coeff == -1
        numerator: list[sympy.Basic] = []
        denominator: list[sympy.Basic] = []
        if coeff.is_Rational and not coeff.is_Integer:
            numerator += [] if abs(coeff.p) == 1 else [sympy.Integer(abs(coeff.p))]
            denominator.append(sympy.Integer(coeff.q))
            negate = coeff.p < 0
        elif coeff not in (1, -1):
            numerator.append(coeff)
        for factor in sympy.Mul.make_args(rest):
            base, exponent = factor.as_base_exp()
            if isinstance(factor, sympy.Pow) and exponent.is_Rational and exponent.is_negative:
                denominator.append(sympy.Pow(base, -exponent))
            else:
                numerator.append(factor)
        node = _fold(libsbml.AST_TIMES, [self.build(f) for f in numerator or [sympy.Integer(1)]])
        if denominator:
            below = _fold(libsbml.AST_TIMES, [self.build(f) for f in denominator])
            node = _ast(libsbml.AST_DIVIDE, node, below)
        return _ast(libsbml.AST_MINUS, node) if negate else node

    def _pow(self, e: sympy.Pow) -> Node:
        base, exponent = e.args
        if self._readable:
            if exponent == sympy.Rational(1, 2):
                return _ast(libsbml.AST_FUNCTION_ROOT, self.build(base))
            if exponent.is_Rational and exponent.is_negative:
                inverse = base if exponent == -1 else sympy.Pow(base, -exponent)
                return _ast(libsbml.AST_DIVIDE, _ast_integer(1), self.build(inverse))
        return _ast(libsbml.AST_POWER, self.build(base), self.build(exponent))

    def _piecewise(self, e: sympy.Piecewise) -> Node:
        node = libsbml.ASTNode(libsbml.AST_FUNCTION_PIECEWISE)
        for value, condition in e.args:
            node.addChild(self.build(value))
            if condition is not sympy.true:
                node.addChild(self.build(condition))
        return node

    def _function(self, e: sympy.Basic) -> Node:
        kind = (
            _SYMPY_UNARY.get(type(e)) or _SYMPY_NARY.get(type(e)) or _SYMPY_RELATIONAL.get(type(e))
        )
        if kind is None:
            raise ExpressionError(
                f"{self._where}: {type(e).__name__} ({e}) has no SBML MathML equivalent"
            )
        return self._nary(kind, e.args)


def _is_negative_term(term: sympy.Basic) -> bool:
    coeff = term.as_coeff_Mul()[0]
    return bool(coeff.is_negative)


# =============================================================================================
# The mdrsim annotation
# =============================================================================================


@dataclass(frozen=True)
class _Meta:
    """mdrsim metadata read from one element's annotation: short attributes and free texts."""

    attributes: dict[str, str] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)

    def flag(self, key: str, default: bool) -> bool:
        value = self.attributes.get(key)
        return default if value is None else value == "true"

    def number(self, key: str) -> float | None:
        value = self.attributes.get(key)
        if value is None:
            return None
        try:
            return float(value)
        except ValueError:
            raise ModelImportError(f"mdrsim annotation: {key}={value!r} is not a number") from None


def _triple(name: str) -> Any:
    return libsbml.XMLTriple(name, MDRSIM_NS, _NS_PREFIX)


def _set_meta(sbase: SBase, attributes: Mapping[str, str], texts: Mapping[str, str]) -> None:
    """Attach ``<mdrsim:meta>`` with ``attributes`` and one child element per non-empty text.

    Texts go into elements rather than attributes because XML parsers normalise newlines in
    attribute values, and descriptions may span lines.
    """
    texts = {k: v for k, v in texts.items() if v}
    if not attributes and not texts:
        return
    xml_attributes = libsbml.XMLAttributes()
    for key, value in attributes.items():
        xml_attributes.add(key, value)
    namespaces = libsbml.XMLNamespaces()
    namespaces.add(MDRSIM_NS, _NS_PREFIX)
    meta = libsbml.XMLNode(_triple(_META_ELEMENT), xml_attributes, namespaces)
    for key, value in texts.items():
        child = libsbml.XMLNode(_triple(key), libsbml.XMLAttributes())
        child.addChild(libsbml.XMLNode(value))
        meta.addChild(child)
    _check(sbase.setAnnotation(meta), f"annotation of {sbase.getElementName()} {sbase.getId()!r}")


def _read_meta(sbase: SBase) -> _Meta | None:
    annotation = sbase.getAnnotation()
    if annotation is None:
        return None
    for i in range(annotation.getNumChildren()):
        node = annotation.getChild(i)
        if node.getURI() == MDRSIM_NS and node.getName() == _META_ELEMENT:
            return _meta_from_node(node)
    return None


def _meta_from_node(node: Any) -> _Meta:
    attributes = node.getAttributes()
    attrs = {attributes.getName(i): attributes.getValue(i) for i in range(attributes.getLength())}
    texts = {}
    for i in range(node.getNumChildren()):
        child = node.getChild(i)
        if child.isElement():
            texts[child.getName()] = "".join(
                child.getChild(k).getCharacters() for k in range(child.getNumChildren())
            )
    return _Meta(attrs, texts)


_SMALLEST_NORMAL = 2.2250738585072014e-308


def _lossy(value: float) -> bool:
    """True when libsbml's 15-digit printing would not give back ``value`` when read.

    Subnormal numbers count as lossy: libsbml rejects them when reading a document.
    """
    if not math.isfinite(value) or value == 0.0:
        return False
    return abs(value) < _SMALLEST_NORMAL or float(f"{value:.15g}") != value


def _exact_attribute(value: float) -> dict[str, str]:
    return {"value": repr(float(value))} if _lossy(value) else {}


def _printable(value: float) -> float:
    """The value to put in an SBML attribute: one that libsbml prints and reads back.

    Rounding to 15 digits toward zero keeps the largest doubles finite; subnormal numbers
    become 0. The exact value goes into the annotation (see :func:`_restore_exact`).
    """
    value = float(value)
    if not _lossy(value):
        return value
    if abs(value) < _SMALLEST_NORMAL:
        return 0.0
    with localcontext() as context:
        context.prec = 15
        context.rounding = ROUND_DOWN
        return float(+Decimal(value))


def _restore_exact(written: float, meta: _Meta | None) -> float:
    """The annotation's exact value when it agrees with the SBML attribute to 15 digits.

    If another tool changed the attribute since, the (stale) annotation value is ignored.
    """
    exact = meta.number("value") if meta is not None else None
    if exact is None:
        return written
    if math.isclose(exact, written, rel_tol=1e-13, abs_tol=0.0) or _printable(exact) == written:
        return exact
    return written


# =============================================================================================
# Reading a document
# =============================================================================================


def read_sbml_string(xml: str) -> Model:
    """Read an SBML document (any level/version libsbml reads) into a validated Model.

    Raises :class:`ModelImportError` for unreadable documents (with libsbml's messages and
    line numbers), :class:`UnsupportedFeatureError` for features mdrsim does not simulate and
    :class:`ModelValidationError` when the imported model is inconsistent.
    """
    if not isinstance(xml, str):
        raise ModelImportError(f"expected SBML as text, got {type(xml).__name__}")
    if not xml.strip():
        raise ModelImportError("the SBML document is empty")
    document = libsbml.readSBMLFromString(xml)
    _raise_read_errors(document)
    sbml_model = document.getModel()
    if sbml_model is None:
        raise ModelImportError("the SBML document contains no <model> element")
    _reject_required_packages(document)
    return _Importer(sbml_model).run().validate()


def read_sbml(path: str | os.PathLike[str]) -> Model:
    """Read an SBML file; errors name the file."""
    file = Path(path)
    if not file.is_file():
        raise ModelImportError(f"SBML file not found: {file}")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelImportError(f"cannot read SBML file {file}: {exc}") from None
    try:
        return read_sbml_string(text)
    except ModelImportError as exc:
        raise type(exc)(f"{file}: {exc}") from None


def _raise_read_errors(document: Any) -> None:
    serious = (libsbml.LIBSBML_SEV_ERROR, libsbml.LIBSBML_SEV_FATAL)
    errors = [
        document.getError(i)
        for i in range(document.getNumErrors())
        if document.getError(i).getSeverity() in serious
    ]
    if not errors:
        return
    lines = [
        f"  line {e.getLine()}, column {e.getColumn()}: {' '.join(e.getMessage().split())}"
        for e in errors[:_MAX_MESSAGES]
    ]
    if len(errors) > _MAX_MESSAGES:
        lines.append(f"  … and {len(errors) - _MAX_MESSAGES} more")
    raise ModelImportError("cannot read the SBML document:\n" + "\n".join(lines))


def _reject_required_packages(document: Any) -> None:
    # A package marked required changes the meaning of core elements; optional ones (layout,
    # render, ...) only add information and are ignored.
    # Packages exist from Level 3 on (Level 2 layout lives in annotations). libsbml represents
    # L3V2 core math as the internal package "l3v2extendedmath".
    if document.getLevel() < 3:
        return
    for i in range(document.getNumPlugins()):
        package = document.getPlugin(i).getPackageName()
        if (
            package
            and package != "l3v2extendedmath"
            and document.isPackageEnabled(package)
            and document.getPackageRequired(package)
        ):
            raise UnsupportedFeatureError(f"the SBML package {package!r} is not supported")
    for i in range(document.getNumUnknownPackages()):
        uri = document.getUnknownPackageURI(i)
        if document.getPackageRequired(uri):
            raise UnsupportedFeatureError(f"the SBML package {uri!r} is not supported")


def _notes_text(sbase: SBase) -> str:
    if not sbase.isSetNotes():
        return ""
    parts: list[str] = []

    def collect(node: Any) -> None:
        if node.isText():
            parts.append(node.getCharacters())
        for i in range(node.getNumChildren()):
            collect(node.getChild(i))

    collect(sbase.getNotes())
    return " ".join(" ".join(parts).split())


def _foreign_description(sbase: SBase) -> str:
    name = sbase.getName() if sbase.isSetName() else ""
    if name == sbase.getId():
        name = ""
    return "\n\n".join(p for p in (name, _notes_text(sbase)) if p)


_UNIT_SYMBOLS = {
    "litre": "L", "liter": "L", "mole": "mol", "second": "s", "gram": "g", "metre": "m",
    "meter": "m", "kilogram": "kg", "item": "item", "kelvin": "K", "ampere": "A",
    "candela": "cd", "joule": "J", "newton": "N", "watt": "W", "volt": "V", "pascal": "Pa",
    "hertz": "Hz", "katal": "kat", "becquerel": "Bq", "gray": "Gy", "sievert": "Sv",
}  # fmt: skip
_SCALE_PREFIXES = {-15: "f", -12: "p", -9: "n", -6: "u", -3: "m", -2: "c", -1: "d", 3: "k"}
_TIME_MULTIPLIERS = {60.0: "min", 3600.0: "h", 86400.0: "d", 604800.0: "wk"}


class _UnitNamer:
    """Turns SBML unit references into readable strings (``mmol/L``, ``1/d``) where it can.

    A unit definition whose factors are not simple (odd multipliers, offsets) falls back to
    its id, which is still a meaningful name.
    """

    def __init__(self, model: Any) -> None:
        self._model = model

    def name(self, ref: str) -> str | None:
        if not ref:
            return None
        definition = self._model.getUnitDefinition(ref)
        if definition is None:
            return ref  # a base unit kind such as "second" or "dimensionless"
        return self._render(definition) or ref

    def _render(self, definition: Any) -> str | None:
        numerator: list[str] = []
        denominator: list[str] = []
        for i in range(definition.getNumUnits()):
            unit = definition.getUnit(i)
            symbol = self._symbol(unit)
            exponent = unit.getExponentAsDouble()
            if symbol is None or exponent == 0 or exponent != int(exponent):
                return None
            if symbol == "dimensionless":
                continue
            power = abs(int(exponent))
            text = symbol if power == 1 else f"{symbol}^{power}"
            (numerator if exponent > 0 else denominator).append(text)
        top = "*".join(numerator) or ("1" if denominator else "dimensionless")
        if not denominator:
            return top
        bottom = denominator[0] if len(denominator) == 1 else f"({'*'.join(denominator)})"
        return f"{top}/{bottom}"

    @staticmethod
    def _symbol(unit: Any) -> str | None:
        kind = libsbml.UnitKind_toString(unit.getKind())
        multiplier, scale = unit.getMultiplier(), unit.getScale()
        if kind == "second" and scale == 0 and multiplier in _TIME_MULTIPLIERS:
            return _TIME_MULTIPLIERS[multiplier]
        if multiplier != 1.0 or (scale != 0 and scale not in _SCALE_PREFIXES):
            return None
        if kind == "dimensionless":
            return kind if scale == 0 else None
        return _SCALE_PREFIXES.get(scale, "") + _UNIT_SYMBOLS.get(kind, kind)


def _unique(base: str, taken: set[str]) -> str:
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    taken.add(name)
    return name


class _Importer:
    """Builds a Model from one libsbml Model, section by section."""

    def __init__(self, model: Any) -> None:
        self.m = model
        self.units = _UnitNamer(model)
        functions = {fd.getId(): fd for fd in model.getListOfFunctionDefinitions()}
        self.math = MathReader(functions)
        self.compartments: dict[str, Compartment] = {}
        self.species: dict[str, Species] = {}
        self.parameters: dict[str, Parameter] = {}
        self.reactions: dict[str, Reaction] = {}
        self.assignment_rules: dict[str, AssignmentRule] = {}
        self.rate_rules: dict[str, RateRule] = {}
        self.initial_assignments: dict[str, InitialAssignment] = {}
        self.observables: dict[str, Observable] = {}
        self.events: dict[str, Event] = {}
        self.taken = self._all_ids()
        self.stoichiometry_ids = {
            sr.getId()
            for r in model.getListOfReactions()
            for group in (r.getListOfReactants(), r.getListOfProducts())
            for sr in group
            if sr.isSetId()
        }
        self.observable_ids = self._observable_ids()
        self.without_value: list[tuple[str, str]] = []

    def _all_ids(self) -> set[str]:
        groups = (
            self.m.getListOfCompartments(), self.m.getListOfSpecies(),
            self.m.getListOfParameters(), self.m.getListOfReactions(),
            self.m.getListOfEvents(), self.m.getListOfFunctionDefinitions(),
        )  # fmt: skip
        return {x.getId() for group in groups for x in group if x.isSetId()}

    def _observable_ids(self) -> set[str]:
        ids = set()
        for p in self.m.getListOfParameters():
            meta = _read_meta(p)
            rule = self.m.getRuleByVariable(p.getId())
            flagged = meta is not None and meta.flag("observable", False)
            if flagged and rule is not None and rule.isAssignment():
                ids.add(p.getId())
        return ids

    def run(self) -> Model:
        self._check_model_level()
        for c in self.m.getListOfCompartments():
            self.compartments[c.getId()] = self._compartment(c)
        for s in self.m.getListOfSpecies():
            self.species[s.getId()] = self._species(s)
        for p in self.m.getListOfParameters():
            if p.getId() not in self.observable_ids:
                self.parameters[p.getId()] = self._parameter(p)
        for r in self.m.getListOfReactions():
            self.reactions[r.getId()] = self._reaction(r)
        for rule in self.m.getListOfRules():
            self._rule(rule)
        for ia in self.m.getListOfInitialAssignments():
            self._initial_assignment(ia)
        for i, e in enumerate(self.m.getListOfEvents()):
            event = self._event(e, i)
            if event is not None:
                self.events[event.name] = event
        self._check_values_defined()
        return self._model()

    def _check_values_defined(self) -> None:
        """A parameter or compartment with no value, rule or initial assignment is an error.

        SBML leaves its value undefined; Antimony produces one for every name it does not know,
        so this is how a misspelt name in an Antimony model shows up. (Species without an
        initial value start at 0, the convention of Antimony and SBML simulators.)
        """
        defined = set(self.assignment_rules) | set(self.initial_assignments)
        known = set(self.parameters) | set(self.species) | set(self.compartments)
        problems = [
            f"{kind} {name!r} has no value, initial assignment or assignment rule"
            + did_you_mean(name, known - {name})
            for kind, name in self.without_value
            if name not in defined
        ]
        if problems:
            raise ModelValidationError(problems)

    # -- model level -------------------------------------------------------------------------

    def _check_model_level(self) -> None:
        if self.m.isSetConversionFactor():
            raise UnsupportedFeatureError("the model-wide conversionFactor is not supported")

    def _model(self) -> Model:
        meta = _read_meta(self.m)
        name = self.m.getId() or self.m.getName() or "model"
        if meta is not None:
            name = meta.texts.get("name", name)
            description = meta.texts.get("description", "")
        else:
            description = _foreign_description(self.m)
        return _substitute_reaction_ids(
            Model(
                name=name,
                compartments=self.compartments,
                species=self.species,
                parameters=self.parameters,
                reactions=self.reactions,
                assignment_rules=self.assignment_rules,
                rate_rules=self.rate_rules,
                initial_assignments=self.initial_assignments,
                observables=self.observables,
                events=self.events,
                description=description,
            )
        )

    def _texts(self, sbase: SBase, meta: _Meta | None) -> tuple[str, str]:
        """(description, source): from the mdrsim annotation, else from name and notes."""
        if meta is None:
            return _foreign_description(sbase), ""
        return meta.texts.get("description", ""), meta.texts.get("source", "")

    @staticmethod
    def _unit(meta: _Meta | None, fallback: str | None, default: str = "dimensionless") -> str:
        """The unit as written in the annotation, else as SBML declares it, else ``default``."""
        written = meta.texts.get("unit") if meta is not None else None
        return written or fallback or default

    # -- components ----------------------------------------------------------------------------

    def _compartment(self, c: Any) -> Compartment:
        cid = c.getId()
        if not c.getConstant():
            raise UnsupportedFeatureError(
                f"compartment {cid!r} is not constant; mdrsim supports only compartments "
                "of constant size"
            )
        meta = _read_meta(c)
        description, source = self._texts(c, meta)
        volume_units = self.m.getVolumeUnits() if c.getSpatialDimensions() == 3 else ""
        unit_ref = c.getUnits() or volume_units
        if not c.isSetSize():
            self.without_value.append(("compartment", cid))
        size = _restore_exact(c.getSize(), meta) if c.isSetSize() else 1.0
        unit = self._unit(meta, self.units.name(unit_ref), default="L")
        return Compartment(cid, size, unit, description, source)

    def _species(self, s: Any) -> Species:
        sid = s.getId()
        if s.isSetConversionFactor():
            raise UnsupportedFeatureError(
                f"species {sid!r} has a conversionFactor, which is not supported"
            )
        meta = _read_meta(s)
        description, source = self._texts(s, meta)
        amount_based = bool(s.getHasOnlySubstanceUnits())
        return Species(
            sid,
            self._initial_value(s, meta, amount_based),
            s.getCompartment(),
            non_negative=meta.flag("nonNegative", True) if meta is not None else True,
            amount_based=amount_based,
            boundary=bool(s.getBoundaryCondition()),
            constant=bool(s.getConstant()),
            description=description,
            source=source,
            unit=self._unit(meta, self._species_unit(s, amount_based)),
        )

    def _initial_value(self, s: Any, meta: _Meta | None, amount_based: bool) -> float:
        """The species' initial concentration, or amount when ``amount_based``."""
        compartment = self.compartments.get(s.getCompartment())
        size = compartment.size if compartment is not None else 1.0
        if s.isSetInitialAmount():
            amount = _restore_exact(s.getInitialAmount(), meta)
            return amount if amount_based else amount / size
        if s.isSetInitialConcentration():
            concentration = _restore_exact(s.getInitialConcentration(), meta)
            return concentration * size if amount_based else concentration
        return 0.0  # set by an initial assignment or rule, or undefined in SBML

    def _species_unit(self, s: Any, amount_based: bool) -> str | None:
        substance = self.units.name(s.getSubstanceUnits() or self.m.getSubstanceUnits())
        if amount_based or substance is None:
            return substance
        compartment = self.m.getCompartment(s.getCompartment())
        volume_ref = compartment.getUnits() if compartment is not None else ""
        volume = self.units.name(volume_ref or self.m.getVolumeUnits())
        if volume is None:
            return None
        if "/" in volume or "*" in volume:
            volume = f"({volume})"
        return f"{substance}/{volume}"

    def _parameter(self, p: Any) -> Parameter:
        meta = _read_meta(p)
        description, source = self._texts(p, meta)
        bounds = None
        if meta is not None:
            lower, upper = meta.number("lower"), meta.number("upper")
            if lower is not None and upper is not None:
                bounds = (lower, upper)
        if not p.isSetValue():
            self.without_value.append(("parameter", p.getId()))
        value = _restore_exact(p.getValue(), meta) if p.isSetValue() else 0.0
        return Parameter(
            p.getId(), value, self._unit(meta, self.units.name(p.getUnits())), bounds, source,
            description, bool(p.getConstant()),
        )  # fmt: skip

    # -- reactions -----------------------------------------------------------------------------

    def _reaction(self, r: Any) -> Reaction:
        rid = r.getId()
        if r.isSetFast() and r.getFast():
            raise UnsupportedFeatureError(
                f"reaction {rid!r} is marked fast, which is not supported"
            )
        law = r.getKineticLaw()
        if law is None or not law.isSetMath():
            raise ModelImportError(f"reaction {rid!r} has no kinetic law; mdrsim needs a rate")
        env = self._local_parameters(rid, law)
        meta = _read_meta(r)
        description = meta.texts.get("description", "") if meta else _foreign_description(r)
        return Reaction(
            rid,
            self.math.read(law.getMath(), f"rate of reaction {rid!r}", env),
            self._stoichiometries(r.getListOfReactants(), rid),
            self._stoichiometries(r.getListOfProducts(), rid),
            reversible=bool(r.getReversible()),
            description=description,
        )

    def _local_parameters(self, rid: str, law: Any) -> dict[str, sympy.Basic]:
        """Make each local parameter a global ``<reaction>_<id>`` and rename it in this law."""
        level3 = self.m.getLevel() >= 3
        local = law.getListOfLocalParameters() if level3 else law.getListOfParameters()
        env: dict[str, sympy.Basic] = {}
        for lp in local:
            name = _unique(f"{rid}_{lp.getId()}", self.taken)
            self.parameters[name] = Parameter(
                name,
                lp.getValue() if lp.isSetValue() else 0.0,
                self._unit(None, self.units.name(lp.getUnits())),
                description=_foreign_description(lp)
                or f"local parameter {lp.getId()!r} of reaction {rid!r}",
            )
            env[lp.getId()] = sympy.Symbol(name)
        return env

    def _stoichiometries(self, references: Any, rid: str) -> dict[str, float]:
        result: dict[str, float] = {}
        for sr in references:
            if sr.isSetId() and self._is_changed(sr.getId()):
                raise UnsupportedFeatureError(
                    f"reaction {rid!r}: the stoichiometry of {sr.getSpecies()!r} is set by a "
                    "rule, initial assignment or event, which is not supported"
                )
            if self.m.getLevel() < 3 and sr.isSetStoichiometryMath():
                raise UnsupportedFeatureError(
                    f"reaction {rid!r}: stoichiometryMath for {sr.getSpecies()!r} is not supported"
                )
            value = _restore_exact(sr.getStoichiometry(), _read_meta(sr))
            if self.m.getLevel() >= 3 and not sr.isSetStoichiometry():
                value = 1.0
            species = sr.getSpecies()
            result[species] = result.get(species, 0.0) + value
        return result

    def _is_changed(self, sid: str) -> bool:
        m = self.m
        if m.getRuleByVariable(sid) is not None or m.getInitialAssignmentBySymbol(sid) is not None:
            return True
        return any(e.getEventAssignment(sid) is not None for e in m.getListOfEvents())

    # -- rules and assignments -----------------------------------------------------------------

    def _check_target(self, variable: str, what: str) -> None:
        if variable in self.stoichiometry_ids:
            raise UnsupportedFeatureError(
                f"{what} sets the stoichiometry {variable!r}, which is not supported"
            )
        if variable in self.compartments and not what.startswith("initial"):
            raise UnsupportedFeatureError(
                f"{what} changes the size of compartment {variable!r}; mdrsim supports only "
                "compartments of constant size"
            )

    def _rule(self, rule: Any) -> None:
        if rule.isAlgebraic():
            formula = libsbml.formulaToL3String(rule.getMath()) if rule.isSetMath() else ""
            raise UnsupportedFeatureError(
                f"algebraic rule 0 = {formula} is not supported (mdrsim solves ODEs, not DAEs)"
            )
        variable = rule.getVariable()
        kind = "assignment rule" if rule.isAssignment() else "rate rule"
        where = f"{kind} for {variable!r}"
        self._check_target(variable, where)
        expression = self.math.read(rule.getMath(), where)
        if rule.isRate():
            self.rate_rules[variable] = RateRule(variable, expression)
        elif variable in self.observable_ids:
            self.observables[variable] = self._observable(variable, expression)
        else:
            self.assignment_rules[variable] = AssignmentRule(variable, expression)

    def _observable(self, name: str, expression: sympy.Basic) -> Observable:
        p = self.m.getParameter(name)
        meta = _read_meta(p)
        description, _ = self._texts(p, meta)
        unit = self._unit(meta, self.units.name(p.getUnits()))
        return Observable(name, expression, unit, description)

    def _initial_assignment(self, ia: Any) -> None:
        symbol = ia.getSymbol()
        where = f"initial assignment for {symbol!r}"
        self._check_target(symbol, where)
        self.initial_assignments[symbol] = InitialAssignment(
            symbol, self.math.read(ia.getMath(), where)
        )

    # -- events --------------------------------------------------------------------------------

    def _event(self, e: Any, index: int) -> Event | None:
        name = e.getId() if e.isSetId() else _unique(f"event_{index + 1}", self.taken)
        self._check_no_delay(e, name)
        trigger = e.getTrigger()
        if trigger is None or not trigger.isSetMath():
            raise ModelImportError(f"event {name!r} has no trigger")
        assignments = tuple(
            self._event_assignment(a, name) for a in e.getListOfEventAssignments() if a.isSetMath()
        )
        if not assignments:
            return None  # an event that assigns nothing has no effect
        meta = _read_meta(e)
        description = meta.texts.get("description", "") if meta else _foreign_description(e)
        return Event(
            name,
            self.math.read(trigger.getMath(), f"trigger of event {name!r}"),
            assignments,
            initial_value=bool(trigger.getInitialValue()),
            persistent=bool(trigger.getPersistent()),
            description=description,
        )

    def _check_no_delay(self, e: Any, name: str) -> None:
        if not e.isSetDelay() or not e.getDelay().isSetMath():
            return
        delay = self.math.read(e.getDelay().getMath(), f"delay of event {name!r}")
        if delay.is_zero is not True:
            raise UnsupportedFeatureError(
                f"event {name!r} has a delay ({delay}); mdrsim carries out event assignments "
                "at the instant the trigger becomes true"
            )

    def _event_assignment(self, a: Any, event: str) -> EventAssignment:
        variable = a.getVariable()
        where = f"event {event!r} assignment to {variable!r}"
        self._check_target(variable, where)
        return EventAssignment(variable, self.math.read(a.getMath(), where))


def _substitute_reaction_ids(model: Model) -> Model:
    """Replace reaction ids used as symbols (SBML: the reaction's rate) by the rate itself."""
    used = model.referenced_names() & set(model.reactions)
    if not used:
        return model
    subs = {sympy.Symbol(name): model.reactions[name].rate for name in used}
    return _map_expressions(model, lambda e: e.xreplace(subs))


def _map_expressions(model: Model, fn: Callable[[sympy.Basic], sympy.Basic]) -> Model:
    """A copy of ``model`` with ``fn`` applied to every rule, observable and event expression."""

    def exprs(group: Mapping[str, Any]) -> dict[str, Any]:
        return {k: replace(v, expression=fn(v.expression)) for k, v in group.items()}

    events = {
        k: replace(
            e,
            trigger=fn(e.trigger),
            assignments=tuple(replace(a, expression=fn(a.expression)) for a in e.assignments),
        )
        for k, e in model.events.items()
    }
    return replace(
        model,
        assignment_rules=exprs(model.assignment_rules),
        rate_rules=exprs(model.rate_rules),
        initial_assignments=exprs(model.initial_assignments),
        observables=exprs(model.observables),
        events=events,
    )


# =============================================================================================
# Writing a document
# =============================================================================================

#: Unit spellings mdrsim uses that are SBML base units under another name.
_SBML_UNIT_ALIASES = {"L": "litre", "l": "litre", "mol": "mole", "s": "second", "g": "gram",
                      "kg": "kilogram", "m": "metre", "K": "kelvin"}  # fmt: skip


def _sbml_unit(unit: str) -> str | None:
    """The SBML base unit for ``unit`` when there is one; other units live in the annotation."""
    kind = _SBML_UNIT_ALIASES.get(unit, unit)
    return kind if libsbml.UnitKind_isValidUnitKindString(kind, SBML_LEVEL, SBML_VERSION) else None


def _check(status: int, what: str) -> None:
    if status != libsbml.LIBSBML_OPERATION_SUCCESS:
        reason = libsbml.OperationReturnValue_toString(status) or f"code {status}"
        raise ModelValidationError([f"cannot write {what} to SBML: {reason}"])


def _sbml_id(name: str) -> str:
    """A valid SBML SId for the model's name (the original is kept in the annotation)."""
    sid = re.sub(r"[^A-Za-z0-9_]", "_", name) or "model"
    return sid if not sid[0].isdigit() else f"_{sid}"


def write_sbml(model: Model) -> str:
    """Write ``model`` as an SBML Level 3 Version 2 document (see the module docstring)."""
    return _Exporter(model).write()


class _Exporter:
    def __init__(self, model: Model) -> None:
        self.model = model
        self.document = libsbml.SBMLDocument(SBML_LEVEL, SBML_VERSION)
        self.m = self.document.createModel()
        self.floats = FloatPlaceholders(model.defined_names() | model.referenced_names())
        self.math = MathWriter(self.floats)
        self._changed = (
            set(model.assignment_rules)
            | set(model.rate_rules)
            | {a.variable for e in model.events.values() for a in e.assignments}
        )

    def write(self) -> str:
        self._model()
        for c in self.model.compartments.values():
            self._compartment(c)
        for s in self.model.species.values():
            self._species(s)
        for p in self.model.parameters.values():
            self._parameter(p)
        for o in self.model.observables.values():
            self._observable(o)
        for ar in self.model.assignment_rules.values():
            self._rule(self.m.createAssignmentRule(), ar.variable, ar.expression, "assignment rule")
        for rr in self.model.rate_rules.values():
            self._rule(self.m.createRateRule(), rr.variable, rr.expression, "rate rule")
        for ia in self.model.initial_assignments.values():
            self._initial_assignment(ia)
        for r in self.model.reactions.values():
            self._reaction(r)
        for e in self.model.events.values():
            self._event(e)
        return self.floats.substitute(libsbml.writeSBMLToString(self.document))

    def _set_math(self, sbase: SBase, expr: sympy.Basic, where: str) -> None:
        _check(sbase.setMath(self.math.write(expr, where)), where)

    @staticmethod
    def _describe(sbase: SBase, description: str) -> None:
        if description:
            body = f'<body xmlns="http://www.w3.org/1999/xhtml"><p>{escape(description)}</p></body>'
            _check(sbase.setNotes(body), f"notes of {sbase.getId()!r}")

    def _model(self) -> None:
        model = self.model
        sid = _sbml_id(model.name)
        _check(self.m.setId(sid), f"model id {sid!r}")
        self._describe(self.m, model.description)
        texts = {"description": model.description}
        if sid != model.name:
            texts["name"] = model.name
        _set_meta(self.m, {}, texts)

    def _compartment(self, c: Compartment) -> None:
        sc = self.m.createCompartment()
        _check(sc.setId(c.name), f"compartment {c.name!r}")
        # The IR allows rules on compartments; SBML then needs constant="false" (mdrsim's own
        # import rejects such compartments, but other tools can simulate them).
        sc.setConstant(c.name not in self._changed)
        sc.setSpatialDimensions(3)
        _check(sc.setSize(_printable(c.size)), f"size of compartment {c.name!r}")
        self._units(sc, c.unit)
        self._describe(sc, c.description)
        _set_meta(sc, _exact_attribute(c.size), {
            "unit": c.unit, "description": c.description, "source": c.source,
        })  # fmt: skip

    def _species(self, s: Species) -> None:
        ss = self.m.createSpecies()
        _check(ss.setId(s.name), f"species {s.name!r}")
        _check(ss.setCompartment(s.compartment), f"compartment of species {s.name!r}")
        if s.amount_based:
            _check(ss.setInitialAmount(_printable(s.initial)), f"initial amount of {s.name!r}")
            unit = _sbml_unit(s.unit)
            if unit is not None:
                ss.setSubstanceUnits(unit)
        else:
            _check(
                ss.setInitialConcentration(_printable(s.initial)), f"initial value of {s.name!r}"
            )
        ss.setHasOnlySubstanceUnits(bool(s.amount_based))
        ss.setBoundaryCondition(bool(s.boundary))
        ss.setConstant(bool(s.constant))
        self._describe(ss, s.description)
        attributes = {"nonNegative": "true" if s.non_negative else "false"}
        _set_meta(ss, attributes | _exact_attribute(s.initial), {
            "unit": s.unit, "description": s.description, "source": s.source,
        })  # fmt: skip

    def _parameter(self, p: Parameter) -> None:
        sp = self.m.createParameter()
        _check(sp.setId(p.name), f"parameter {p.name!r}")
        _check(sp.setValue(_printable(p.value)), f"value of parameter {p.name!r}")
        sp.setConstant(bool(p.constant))
        self._units(sp, p.unit)
        self._describe(sp, p.description)
        attributes = _exact_attribute(p.value)
        if p.bounds is not None:
            attributes |= {"lower": repr(float(p.bounds[0])), "upper": repr(float(p.bounds[1]))}
        _set_meta(sp, attributes, {
            "unit": p.unit, "description": p.description, "source": p.source,
        })  # fmt: skip

    def _observable(self, o: Observable) -> None:
        sp = self.m.createParameter()
        _check(sp.setId(o.name), f"observable {o.name!r}")
        sp.setConstant(False)
        self._units(sp, o.unit)
        self._describe(sp, o.description)
        _set_meta(sp, {"observable": "true"}, {"unit": o.unit, "description": o.description})
        self._rule(self.m.createAssignmentRule(), o.name, o.expression, "observable")

    @staticmethod
    def _units(sbase: SBase, unit: str) -> None:
        sbml_unit = _sbml_unit(unit)
        if sbml_unit is not None:
            sbase.setUnits(sbml_unit)

    def _rule(self, rule: Any, variable: str, expr: sympy.Basic, kind: str) -> None:
        where = f"{kind} for {variable!r}"
        _check(rule.setVariable(variable), where)
        self._set_math(rule, expr, where)

    def _initial_assignment(self, ia: InitialAssignment) -> None:
        where = f"initial assignment for {ia.variable!r}"
        sia = self.m.createInitialAssignment()
        _check(sia.setSymbol(ia.variable), where)
        self._set_math(sia, ia.expression, where)

    def _reaction(self, r: Reaction) -> None:
        sr = self.m.createReaction()
        _check(sr.setId(r.name), f"reaction {r.name!r}")
        sr.setReversible(bool(r.reversible))
        for species, coeff in r.reactants.items():
            self._reference(sr.createReactant(), species, coeff, r.name)
        for species, coeff in r.products.items():
            self._reference(sr.createProduct(), species, coeff, r.name)
        # SBML wants every other species the rate uses declared as a modifier.
        involved = set(r.reactants) | set(r.products)
        for name in sorted((free_names(r.rate) & set(self.model.species)) - involved):
            _check(sr.createModifier().setSpecies(name), f"modifier {name!r} of {r.name!r}")
        self._set_math(sr.createKineticLaw(), r.rate, f"rate of reaction {r.name!r}")
        self._describe(sr, r.description)
        _set_meta(sr, {}, {"description": r.description})

    @staticmethod
    def _reference(ref: Any, species: str, coeff: float, reaction: str) -> None:
        where = f"reaction {reaction!r} stoichiometry of {species!r}"
        _check(ref.setSpecies(species), where)
        _check(ref.setStoichiometry(_printable(coeff)), where)
        ref.setConstant(True)
        _set_meta(ref, _exact_attribute(float(coeff)), {})

    def _event(self, e: Event) -> None:
        se = self.m.createEvent()
        _check(se.setId(e.name), f"event {e.name!r}")
        se.setUseValuesFromTriggerTime(True)
        trigger = se.createTrigger()
        trigger.setInitialValue(bool(e.initial_value))
        trigger.setPersistent(bool(e.persistent))
        self._set_math(trigger, e.trigger, f"trigger of event {e.name!r}")
        for a in e.assignments:
            sa = se.createEventAssignment()
            where = f"event {e.name!r} assignment to {a.variable!r}"
            _check(sa.setVariable(a.variable), where)
            self._set_math(sa, a.expression, where)
        self._describe(se, e.description)
        _set_meta(se, {}, {"description": e.description})
