"""libsbml ASTNode <-> sympy conversion for SBML math.

Why it is built this way:

- **Math goes through libsbml's ASTNode, never through text.** Reading walks the AST node by
  node against a whitelist and builds sympy objects directly, so nothing in a file is ever
  evaluated (no ``eval``/``sympify``/``parse_expr``); a construct that is not in the whitelist
  raises :class:`~mdrsim.errors.UnsupportedFeatureError` naming it. Writing builds ASTNodes from
  the sympy tree, so there are no precedence or ``log``-meaning ambiguities of infix text: in
  MathML ``<ln/>`` is the natural log and ``<log/>`` without ``<logbase>`` is base 10, and that is
  what this module follows.
- **Written math reads back to the identical tree.** Each expression is first written in a
  readable form (``a - b``, ``a / b``) and read straight back; when sympy does not rebuild the
  identical tree from it, the literal form of the tree (``plus``/``times``/``power``) is written
  instead.
- **Floats keep full precision.** libsbml prints doubles with 15 significant digits, which is
  not enough to restore every float, so floats inside math are written as unique ``<ci>``
  placeholders (:class:`FloatPlaceholders`) and replaced by ``<cn>`` with ``repr(value)`` in the
  final text.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import libsbml
import sympy

from mdrsim.errors import ExpressionError, MdrsimError, ModelImportError, UnsupportedFeatureError
from mdrsim.io.sbml_rates import RATE_OF
from mdrsim.model.expressions import TIME, safe_pow

__all__ = [
    "Env", "FloatPlaceholders", "MathReader", "MathWriter", "Node", "as_condition", "as_number",
]  # fmt: skip

#: The value SBML Level 3 defines for the ``avogadro`` csymbol (L3V1 and L3V2, section 3.4.6:
#: "6.02214179 x 10^23", the CODATA 2006 value). Not the 2019 SI value 6.02214076e23: models
#: and their reference results use the SBML one. Levels 1 and 2 have no such csymbol.
_AVOGADRO = 6.02214179e23
# libsbml stores MathML integers as C ``int``; larger ones are written as reals.
_INT32 = 2**31

Node = Any  # a libsbml.ASTNode (libsbml ships no type information)
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
        # SBML L3V2 (section 3.4.9) lets Booleans and numbers stand for each other: true is 1,
        # false 0, and a number is true when it is not 0.
        if kind in _LOGICAL:
            args = [as_condition(a) for a in args]
        elif kind != libsbml.AST_FUNCTION_PIECEWISE:
            args = [as_number(a) for a in args]
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


#: Operators whose arguments are conditions.
_LOGICAL = frozenset(
    {
        libsbml.AST_LOGICAL_AND,
        libsbml.AST_LOGICAL_OR,
        libsbml.AST_LOGICAL_XOR,
        libsbml.AST_LOGICAL_NOT,
        libsbml.AST_LOGICAL_IMPLIES,
    }
)


def as_number(expr: sympy.Basic) -> sympy.Basic:
    """A value where SBML expects a number: ``true``/``false`` and conditions count as 1/0.

    SBML Level 3 Version 2 (section 3.4.9) lets a Boolean stand where a number is expected,
    with the value 1 for true and 0 for false (the test suite's case 01288).
    """
    if expr is sympy.true:
        return sympy.Integer(1)
    if expr is sympy.false:
        return sympy.Integer(0)
    if _is_condition(expr):
        return sympy.Piecewise((sympy.Integer(1), expr), (sympy.Integer(0), True))
    return expr


def as_condition(expr: sympy.Basic) -> sympy.Basic:
    """A condition where SBML expects one: a number is true when it is not zero (L3V2)."""
    if expr is sympy.true or expr is sympy.false or _is_condition(expr):
        return expr
    return sympy.Ne(expr, 0)


def _is_condition(expr: sympy.Basic) -> bool:
    # Not isinstance(expr, Boolean): a sympy Symbol is a Boolean too, and SBML symbols are
    # numbers.
    return isinstance(expr, sympy.core.relational.Relational | sympy.logic.boolalg.BooleanFunction)


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
    return safe_pow(args[0], args[1], where)  # no exact arithmetic on huge integers (9^9^9)


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
    pieces = [(as_number(args[i]), as_condition(args[i + 1])) for i in range(0, len(args) - 1, 2)]
    if len(args) % 2 == 1:
        pieces.append((as_number(args[-1]), sympy.true))
    return sympy.Piecewise(*pieces)


def _quotient(args: list[sympy.Basic], where: str) -> sympy.Basic:
    # MathML quotient: the integer part of a / b, rounded towards zero (C's truncation).
    _exactly(args, 2, "quotient", where)
    ratio = args[0] / args[1]
    return sympy.Piecewise((sympy.floor(ratio), ratio >= 0), (sympy.ceiling(ratio), True))


def _rem(args: list[sympy.Basic], where: str) -> sympy.Basic:
    # MathML rem: a - b * quotient(a, b), so the remainder has the sign of a (C's fmod).
    _exactly(args, 2, "rem", where)
    return args[0] - args[1] * _quotient(args, where)


def _rate_of(args: list[sympy.Basic], where: str) -> sympy.Basic:
    # A placeholder; the importer replaces it by the rate (mdrsim.io.sbml_rates).
    _exactly(args, 1, "rateOf", where)
    return RATE_OF(args[0])


_SPECIAL: dict[int, Callable[[list[sympy.Basic], str], sympy.Basic]] = {
    libsbml.AST_FUNCTION_RATE_OF: _rate_of,
    libsbml.AST_FUNCTION_QUOTIENT: _quotient,
    libsbml.AST_FUNCTION_REM: _rem,
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
