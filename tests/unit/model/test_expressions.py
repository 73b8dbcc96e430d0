import pytest
import sympy

from mdrsim.errors import ExpressionError
from mdrsim.model.expressions import TIME, as_expression, parse_expression

x, y, k = sympy.symbols("x y k")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("k*x^2", k * x**2),
        ("k*x**2", k * x**2),
        ("-x + 3", -x + 3),
        ("exp(-k*time)", sympy.exp(-k * TIME)),
        ("log(x)", sympy.log(x)),
        ("ln(x)", sympy.log(x)),
        ("log10(x)", sympy.log(x) / sympy.log(10)),
        ("pow(x, 2)", x**2),
        ("max(x, y)", sympy.Max(x, y)),
        ("x/(k + x)", x / (k + x)),
    ],
)
def test_parses_arithmetic(text, expected):
    assert sympy.simplify(parse_expression(text) - expected) == 0


def test_power_binds_tighter_than_plus():
    # '^' must be power with maths precedence, not Python's XOR.
    assert parse_expression("1 + x^2") == 1 + x**2


def test_piecewise_and_logic():
    e = parse_expression("piecewise(1, x > 2 && y < 3, 0)")
    assert isinstance(e, sympy.Piecewise)
    assert e.subs({x: 3, y: 1}) == 1
    assert e.subs({x: 1, y: 1}) == 0


def test_chained_comparison_is_and():
    e = parse_expression("0 < x < 1")
    assert e.subs(x, 0.5) == sympy.true
    assert e.subs(x, 2) == sympy.false


@pytest.mark.parametrize(
    "attack",
    [
        "__import__('os').system('echo pwned')",
        "__import__",
        "x.__class__",
        "().__class__.__bases__[0]",
        "open('/etc/passwd')",
        "eval('1')",
        "lambda: 1",
        "[x for x in y]",
        "'text'",
        "exp(x=1)",
        "x if y else k",
    ],
)
def test_code_injection_is_rejected_not_run(attack, tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    monkeypatch.setenv("MARKER", str(marker))
    with pytest.raises(ExpressionError) as info:
        parse_expression(attack, context="rate of reaction 'R1'")
    assert "rate of reaction 'R1'" in str(info.value)
    assert not marker.exists()


def test_unknown_function_suggests_close_names():
    with pytest.raises(ExpressionError, match="did you mean: exp"):
        parse_expression("exq(x)")


@pytest.mark.parametrize("bad", ["", "   ", "1 +", "x y"])
def test_malformed_text(bad):
    with pytest.raises(ExpressionError):
        parse_expression(bad)


def test_non_finite_numbers_rejected():
    with pytest.raises(ExpressionError, match="non-finite"):
        as_expression(float("nan"), context="parameter")
    with pytest.raises(ExpressionError, match="non-finite"):
        parse_expression("1e999 * x")


# --- hostile formulas (issue 16): bounded work, no nan/zoo/I, typed errors ---------------


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("9^9^9", "out of the range of a double"),
        ("pow(10, 400)", "out of the range of a double"),
        ("0/0", "not a finite number"),
        ("1/0", "zoo"),
        ("x/0", "zoo"),
        ("log(0)", "zoo"),
        ("sqrt(-1)", "complex"),
        ("(-8)^(1/3)", "not a real number"),
        ("exp(1e300)", "range of a double"),
        ("5||3", "and/or need conditions"),
        ("2+true", "arithmetic on a truth value"),
        ("!3", "needs a condition"),
        ("é + 1", "ASCII"),
        ("(" * 300 + "x" + ")" * 300, "parse|nested"),
        ("-" * 5000 + "x", "nested deeper|recursion"),
        ("-" * 260 + "x", "nested deeper than 250"),
        ("1" * 5000, "cannot parse"),
    ],
)
def test_hostile_formulas_are_refused(text: str, match: str) -> None:
    from mdrsim.model.expressions import ExpressionError, parse_expression

    with pytest.raises(ExpressionError, match=match):
        parse_expression(text)


def test_small_exact_numbers_stay_exact() -> None:
    import sympy

    from mdrsim.model.expressions import parse_expression

    assert parse_expression("2^10") == sympy.Integer(1024)
    assert parse_expression("2^-1") == sympy.Rational(1, 2)
    assert parse_expression("(1/2)^3") == sympy.Rational(1, 8)
    assert parse_expression("x^2") == sympy.Symbol("x") ** 2
