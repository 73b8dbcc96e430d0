"""Safe parsing of formulas into sympy expressions.

Formulas come from users and files, so they are never handed to ``eval``, ``exec`` or
``sympify``. The text is parsed by :func:`ast.parse` (which only builds a syntax tree and runs
nothing) and the tree is walked against a whitelist: numbers, names, arithmetic, comparisons,
boolean logic and a fixed set of mathematical functions. Anything else — attribute access,
subscripts, strings, lambdas, keyword arguments, unknown functions — is rejected with an
:class:`~mdrsim.errors.ExpressionError` that says what was found and what is allowed.

Conventions (the same as Antimony and SBML's L3 infix syntax where they agree):

- ``^`` and ``**`` are powers; ``&&``/``||``/``!`` may be used for and/or/not.
- ``log(x)`` and ``ln(x)`` are the natural logarithm; ``log10(x)`` is base 10.
- ``time`` is the simulation time (days in mdrsim's own models).
- ``piecewise(v1, c1, v2, c2, ..., otherwise)`` chooses the first ``v`` whose ``c`` holds.
"""

from __future__ import annotations

import ast
import keyword
import math
import re
from collections.abc import Callable

import sympy

from mdrsim.errors import ExpressionError, did_you_mean

#: The symbol that stands for simulation time in every mdrsim expression.
TIME = sympy.Symbol("time")

#: Names that cannot be used for model components.
RESERVED_NAMES = frozenset({"time"})

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_FORMULA_LENGTH = 100_000
#: Deepest nesting of a formula's syntax tree (``((((x))))``, ``-(-(-x))``, ``a^b^c^…``).
MAX_DEPTH = 250
#: Most syntax-tree nodes in one formula.
MAX_NODES = 20_000
#: Largest magnitude of a number in a formula: the largest double (a model runs in doubles).
MAX_MAGNITUDE = 1.7976931348623157e308
#: Integers up to this magnitude stay exact (2^53: every such integer is a double).
_EXACT_INT = 2**53


def _checked_number(value: sympy.Basic, what: str) -> sympy.Basic:
    """``value`` when it is a finite real number a double can hold; else ExpressionError."""
    if value in (sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
        raise ExpressionError(f"{what} is not a finite number ({value})")
    if value.is_Number:
        if value.is_Integer and abs(int(value)) <= _EXACT_INT:
            return value
        if abs(float(value)) > MAX_MAGNITUDE:  # float() of a huge sympy number is inf
            raise ExpressionError(f"{what} is out of the range of a double (> {MAX_MAGNITUDE:g})")
        if value.is_Integer:
            return sympy.Float(float(value))
    return value


def safe_pow(base: sympy.Basic, exponent: sympy.Basic, what: str = "power") -> sympy.Basic:
    """``base ** exponent`` without exact arithmetic on huge integers (``9^9^9`` would take
    hours and gigabytes): numeric powers are computed in double precision and must be finite
    and real; symbolic ones are left to sympy."""
    if base.is_Number and exponent.is_Number:
        b, e = float(base), float(exponent)
        if b == 0 and e < 0:
            raise ExpressionError(f"{what}: ({base})^({exponent}) divides by zero")
        if b < 0 and not exponent.is_Integer:
            raise ExpressionError(f"{what}: ({base})^({exponent}) is not a real number")
        try:
            value = math.pow(b, e)
        except OverflowError:
            raise ExpressionError(
                f"{what}: ({base})^({exponent}) is out of the range of a double"
            ) from None
        if base.is_Integer and exponent.is_Integer and e >= 0 and abs(value) <= _EXACT_INT:
            return sympy.Integer(int(base) ** int(exponent))  # small: exact is cheap
        if base.is_Rational and exponent.is_Integer and abs(e) <= 64 and abs(value) < 1e15:
            return sympy.Pow(base, exponent)  # keeps 1/2, 2^-1 exact
        if (
            base.is_Rational
            and b > 0
            and exponent.is_Rational
            and abs(e) <= 64
            and 1e-15 < abs(value) < 1e15
            and max(abs(base.p), abs(base.q), abs(exponent.p), abs(exponent.q)) < 10**6
        ):
            # a small rational power (2^(2/3), 9^(1/2)) stays exact: cheap for sympy, and a
            # model read back from its own SBML export then equals the original
            return sympy.Pow(base, exponent)
        return _checked_number(sympy.Float(value), what)
    return sympy.Pow(base, exponent)


def check_real_finite(expr: sympy.Basic, what: str) -> sympy.Basic:
    """Refuse an expression holding nan, an infinity, the imaginary unit, a number beyond a
    double's range, or a negative number raised to a non-integer power (``0/0``, ``1/0``,
    ``sqrt(-1)``, ``log(0)``, ``exp(1e300)``): each is an error in the model, not a value."""
    for bad in (sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
        if expr.has(bad):
            raise ExpressionError(
                f"{what}: evaluates to {bad} (0/0, division by zero, log(0) or an infinity)"
            )
    for atom in expr.atoms(sympy.Number):
        _checked_number(atom, what)
    if expr.has(sympy.I):
        raise ExpressionError(f"{what}: evaluates to a complex number (e.g. sqrt of a negative)")
    for p in expr.atoms(sympy.Pow):
        if p.base.is_number and p.base.is_negative and p.exp.is_number and not p.exp.is_integer:
            raise ExpressionError(f"{what}: {p} is not a real number")
    return expr


def _log(*args: sympy.Expr) -> sympy.Expr:
    if len(args) == 1:
        return sympy.log(args[0])
    if len(args) == 2:  # log(base, x), as in SBML's two-argument log
        return sympy.log(args[1]) / sympy.log(args[0])
    raise ExpressionError(f"log takes 1 or 2 arguments, got {len(args)}")


def _piecewise(*args: sympy.Basic) -> sympy.Expr:
    if len(args) < 1:
        raise ExpressionError("piecewise needs at least one argument")
    pieces: list[tuple[sympy.Basic, sympy.Basic]] = []
    for i in range(0, len(args) - 1, 2):
        pieces.append((args[i], args[i + 1]))
    if len(args) % 2 == 1:
        pieces.append((args[-1], sympy.true))
    return sympy.Piecewise(*pieces)


def _fixed(name: str, n: int, fn: Callable[..., sympy.Basic]) -> Callable[..., sympy.Basic]:
    def call(*args: sympy.Basic) -> sympy.Basic:
        if len(args) != n:
            raise ExpressionError(f"{name} takes {n} argument(s), got {len(args)}")
        return fn(*args)

    return call


def _at_least(name: str, n: int, fn: Callable[..., sympy.Basic]) -> Callable[..., sympy.Basic]:
    def call(*args: sympy.Basic) -> sympy.Basic:
        if len(args) < n:
            raise ExpressionError(f"{name} takes at least {n} argument(s), got {len(args)}")
        return fn(*args)

    return call


#: Functions a formula may call, by name.
FUNCTIONS: dict[str, Callable[..., sympy.Basic]] = {
    "exp": _fixed("exp", 1, sympy.exp),
    "log": _log,
    "ln": _fixed("ln", 1, sympy.log),
    "log10": _fixed("log10", 1, lambda x: sympy.log(x, 10)),
    "sqrt": _fixed("sqrt", 1, sympy.sqrt),
    "abs": _fixed("abs", 1, sympy.Abs),
    "pow": _fixed("pow", 2, safe_pow),
    "sin": _fixed("sin", 1, sympy.sin),
    "cos": _fixed("cos", 1, sympy.cos),
    "tan": _fixed("tan", 1, sympy.tan),
    "sinh": _fixed("sinh", 1, sympy.sinh),
    "cosh": _fixed("cosh", 1, sympy.cosh),
    "tanh": _fixed("tanh", 1, sympy.tanh),
    "asin": _fixed("asin", 1, sympy.asin),
    "acos": _fixed("acos", 1, sympy.acos),
    "atan": _fixed("atan", 1, sympy.atan),
    "floor": _fixed("floor", 1, sympy.floor),
    "ceil": _fixed("ceil", 1, sympy.ceiling),
    "ceiling": _fixed("ceiling", 1, sympy.ceiling),
    "min": _at_least("min", 1, sympy.Min),
    "max": _at_least("max", 1, sympy.Max),
    "piecewise": _piecewise,
}

_BINOPS: dict[type[ast.operator], Callable[[sympy.Basic, sympy.Basic], sympy.Basic]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: safe_pow,
}

_COMPARE: dict[type[ast.cmpop], Callable[[sympy.Basic, sympy.Basic], sympy.Basic]] = {
    ast.Lt: sympy.Lt,
    ast.LtE: sympy.Le,
    ast.Gt: sympy.Gt,
    ast.GtE: sympy.Ge,
    ast.Eq: sympy.Eq,
    ast.NotEq: sympy.Ne,
}


def is_model_name(name: str) -> bool:
    """True when ``name`` can name a model component: an SBML SId (letters, digits, ``_``).

    Python keywords (``lambda``, ``def``, ``True``) are SBML ids in curated models; names are
    never written into generated Python source (the code generator indexes states and
    parameters), so they are accepted. Formula *text* cannot use them: see
    :func:`is_valid_identifier`.
    """
    return bool(_IDENTIFIER.match(name))


def is_valid_identifier(name: str) -> bool:
    """True when ``name`` can name a model component (SBML SId rules, not a Python keyword)."""
    return bool(_IDENTIFIER.match(name)) and not keyword.iskeyword(name)


def _normalise(text: str) -> str:
    # SBML/Antimony infix spellings onto Python's. There are no string literals in a formula,
    # so plain text substitution cannot change the meaning of anything quoted.
    text = text.replace("^", "**").replace("&&", " and ").replace("||", " or ")
    text = re.sub(r"!(?!=)", " not ", text)
    return text


class _Converter:
    def __init__(self, context: str) -> None:
        self.context = context

    def fail(self, node: ast.AST, what: str) -> ExpressionError:
        col = getattr(node, "col_offset", None)
        where = f" (at column {col + 1})" if col is not None else ""
        return ExpressionError(f"{self.context}: {what}{where}")

    def convert(self, node: ast.AST) -> sympy.Basic:
        if isinstance(node, ast.Expression):
            return self.convert(node.body)
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self.fail(node, f"only numbers are allowed as constants, found {value!r}")
            if isinstance(value, float) and not math.isfinite(value):
                raise self.fail(node, f"non-finite number {value!r} (beyond a double's range)")
            if isinstance(value, int) and abs(value) > MAX_MAGNITUDE:
                raise self.fail(node, "integer beyond a double's range")
            number = sympy.Integer(value) if isinstance(value, int) else sympy.Float(value)
            return _checked_number(number, "number")
        if isinstance(node, ast.Name):
            if node.id in ("true", "True"):
                return sympy.true
            if node.id in ("false", "False"):
                return sympy.false
            if node.id.startswith("__") or not _IDENTIFIER.match(node.id):
                raise self.fail(
                    node, f"name {node.id!r} is not allowed (ASCII letters, digits and _ only)"
                )
            return TIME if node.id == "time" else sympy.Symbol(node.id)
        if isinstance(node, ast.BinOp):
            op = _BINOPS.get(type(node.op))
            if op is None:
                raise self.fail(
                    node, f"operator {type(node.op).__name__} is not allowed; use + - * / ^"
                )
            left, right = self.convert(node.left), self.convert(node.right)
            for side in (left, right):
                if isinstance(side, sympy.logic.boolalg.Boolean) and not isinstance(
                    side, sympy.Symbol
                ):
                    raise self.fail(node, "arithmetic on a truth value (true/false/comparison)")
            result = op(left, right)
            if result.is_Number:
                return _checked_number(result, f"{self.context}: {ast.unparse(node)}")
            return result
        if isinstance(node, ast.UnaryOp):
            operand = self.convert(node.operand)
            if isinstance(node.op, ast.USub):
                return -operand
            if isinstance(node.op, ast.UAdd):
                return operand
            if isinstance(node.op, ast.Not):
                if not isinstance(operand, sympy.logic.boolalg.Boolean):
                    raise self.fail(node, f"not/! needs a condition, found {operand}")
                return sympy.Not(operand)
            raise self.fail(node, f"unary operator {type(node.op).__name__} is not allowed")
        if isinstance(node, ast.BoolOp):
            values = [self.convert(v) for v in node.values]
            for v in values:
                if not isinstance(v, sympy.logic.boolalg.Boolean):
                    raise self.fail(
                        node, f"and/or need conditions (comparisons, true, false), found {v}"
                    )
            return sympy.And(*values) if isinstance(node.op, ast.And) else sympy.Or(*values)
        if isinstance(node, ast.Compare):
            parts = []
            left = self.convert(node.left)
            for cmp_op, right_node in zip(node.ops, node.comparators, strict=True):
                cmp = _COMPARE.get(type(cmp_op))
                if cmp is None:
                    raise self.fail(node, f"comparison {type(cmp_op).__name__} is not allowed")
                right = self.convert(right_node)
                parts.append(cmp(left, right))
                left = right
            return parts[0] if len(parts) == 1 else sympy.And(*parts)
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                raise self.fail(node, "only calls of named mathematical functions are allowed")
            name = node.func.id
            fn = FUNCTIONS.get(name)
            if fn is None:
                raise self.fail(
                    node,
                    f"function {name!r} is not allowed{did_you_mean(name, FUNCTIONS)}; "
                    f"allowed functions: {', '.join(sorted(FUNCTIONS))}",
                )
            if node.keywords:
                raise self.fail(node, f"keyword arguments are not allowed in {name}()")
            args = [self.convert(a) for a in node.args]
            try:
                return fn(*args)
            except ExpressionError as exc:
                raise self.fail(node, str(exc)) from None
        raise self.fail(node, f"{type(node).__name__} is not allowed in a formula")


def parse_expression(text: str, *, context: str = "formula") -> sympy.Basic:
    """Parse a formula into a sympy expression without evaluating any of it as Python.

    ``context`` names where the formula came from (``"rate of reaction 'R1'"``) so that
    errors point at the right place.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"{context}: expected a formula as text, got {type(text).__name__}")
    if not text.strip():
        raise ExpressionError(f"{context}: the formula is empty")
    if len(text) > _MAX_FORMULA_LENGTH:
        raise ExpressionError(f"{context}: formula longer than {_MAX_FORMULA_LENGTH} characters")
    try:
        tree = ast.parse(_normalise(text).strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"{context}: cannot parse {_short(text)}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:  # huge int literal, deep nesting
        raise ExpressionError(f"{context}: cannot parse {_short(text)}: {exc}") from None
    _check_size(tree, context)
    try:
        expr = _Converter(context).convert(tree)
    except ExpressionError:
        raise
    except RecursionError:
        raise ExpressionError(f"{context}: the formula is nested too deeply") from None
    except (TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        # sympy refusing a combination the whitelist lets through (``5 || 3``, ``true + 2``).
        raise ExpressionError(f"{context}: cannot use {_short(text)}: {exc}") from None
    return check_real_finite(expr, context)


def _short(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _check_size(tree: ast.AST, context: str) -> None:
    """Refuse trees deeper than MAX_DEPTH or larger than MAX_NODES (iteratively: no recursion)."""
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise ExpressionError(f"{context}: the formula is nested deeper than {MAX_DEPTH}")
        if count > MAX_NODES:
            raise ExpressionError(f"{context}: the formula has more than {MAX_NODES} parts")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def as_expression(value: str | float | int | sympy.Basic, *, context: str) -> sympy.Basic:
    """Accept a formula as text, a number or an already-built sympy expression."""
    if isinstance(value, sympy.Basic):
        return value
    if isinstance(value, bool):
        return sympy.true if value else sympy.false
    if isinstance(value, int):
        return sympy.Integer(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ExpressionError(f"{context}: non-finite number {value!r}")
        return sympy.Float(value)
    return parse_expression(value, context=context)


def free_names(expr: sympy.Basic) -> set[str]:
    """Names of the symbols an expression depends on (``time`` included when used)."""
    return {s.name for s in expr.free_symbols if isinstance(s, sympy.Symbol)}
