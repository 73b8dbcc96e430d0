"""Export to SBML and import back gives the same model; other tools can read the export."""

from __future__ import annotations

import math

import libsbml
import pytest
import sympy
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mdrsim.errors import ExpressionError, ModelValidationError, UnsupportedFeatureError
from mdrsim.io import models_equivalent, read_antimony, read_sbml_string, write_sbml
from mdrsim.io.sbml import MDRSIM_NS
from mdrsim.model import Model, ModelBuilder, parse_expression

from .io_helpers import REFERENCE_MODEL, full_model


def roundtrip(model: Model) -> Model:
    return read_sbml_string(write_sbml(model))


def serious_problems(xml: str) -> list[str]:
    document = libsbml.readSBMLFromString(xml)
    document.checkInternalConsistency()
    document.checkConsistency()
    return [
        document.getError(i).getMessage()
        for i in range(document.getNumErrors())
        if document.getError(i).getSeverity()
        in (libsbml.LIBSBML_SEV_ERROR, libsbml.LIBSBML_SEV_FATAL)
    ]


def minimal_model() -> Model:
    return ModelBuilder("minimal").parameter("k", 1.0).build()


def decay_model() -> Model:
    b = ModelBuilder("decay")
    b.species("S", 10.0, unit="uM")
    b.parameter("k", 0.3, unit="1/d")
    b.reaction("elimination", "k * S * default", reactants={"S": 1.0})
    return b.build()


@pytest.fixture(scope="module")
def reference() -> Model:
    return read_antimony(REFERENCE_MODEL.read_text())


@pytest.mark.parametrize("build", [minimal_model, decay_model, full_model])
def test_builder_models_round_trip_exactly(build: type) -> None:
    model = build()
    assert roundtrip(model) == model


def test_full_model_round_trip_keeps_each_part() -> None:
    model = full_model()
    back = roundtrip(model)
    # Field by field, so that a failure says which part was lost.
    for part in (
        "compartments", "species", "parameters", "reactions", "assignment_rules",
        "rate_rules", "initial_assignments", "observables", "events", "description", "name",
    ):  # fmt: skip
        assert getattr(back, part) == getattr(model, part), part
    assert back.state_names() == model.state_names()
    assert back.parameter_names() == model.parameter_names()


def test_content_hash_survives_round_trip(reference: Model) -> None:
    assert roundtrip(reference).content_hash() == reference.content_hash()
    model = decay_model()
    assert roundtrip(model).structure_hash() == model.structure_hash()


def test_content_hash_with_integer_stoichiometry() -> None:
    # The builder keeps {"A": 2} as an int; import gives 2.0. The hash must not care.
    model = full_model()
    assert roundtrip(model).content_hash() == model.content_hash()


def test_reference_model_round_trips(reference: Model) -> None:
    assert roundtrip(reference) == reference


@pytest.mark.parametrize("build", [minimal_model, decay_model, full_model])
def test_export_passes_libsbml_consistency_checks(build: type) -> None:
    assert serious_problems(write_sbml(build())) == []


def test_reference_export_passes_libsbml_consistency_checks(reference: Model) -> None:
    assert serious_problems(write_sbml(reference)) == []


def test_floats_keep_full_precision() -> None:
    tricky = [0.1 + 0.2, 1 / 3, 2 / 3 * 1e-12, 6.02214076e23, 1.7976931348623157e308, 5e-324]
    b = ModelBuilder("precise")
    b.compartment("c", 1 / 7)
    b.species("S", tricky[0], compartment="c")
    b.species("T", tricky[1], compartment="c", amount_based=True)
    for i, value in enumerate(tricky):
        b.parameter(f"p{i}", value, bounds=(value / 2, value))
        b.parameter(f"q{i}", 0.0, constant=False)
        b.assignment_rule(f"q{i}", sympy.Float(value) * sympy.Symbol(f"p{i}"))
    b.reaction("R", "p0 * S", reactants={"S": tricky[1]})
    model = b.build()
    xml = write_sbml(model)
    assert "0.30000000000000004" in xml  # exact in the math, not only in the annotation
    assert roundtrip(model) == model


def test_metadata_is_kept_in_the_mdrsim_annotation() -> None:
    xml = write_sbml(full_model())
    assert MDRSIM_NS in xml
    back = read_sbml_string(xml)
    assert back.parameters["k1"].source == "Smith 2020, table 2"
    assert back.parameters["k1"].bounds == (0.1, 2.0)
    assert back.parameters["k2"].bounds == (0.0, math.inf)
    assert back.species["B"].non_negative is False
    assert back.species["A"].unit == "uM"
    assert back.description == "every feature\nwith <xml> & 'quotes'"


def test_observables_are_plain_assignment_rules_for_other_tools() -> None:
    document = libsbml.readSBMLFromString(write_sbml(full_model()))
    model = document.getModel()
    total = model.getParameter("total")
    assert total is not None and not total.getConstant()
    assert model.getAssignmentRuleByVariable("total") is not None


def test_model_name_that_is_not_an_sbml_id_is_kept() -> None:
    model = ModelBuilder("TIMC model (v2)").parameter("k", 1.0).build()
    xml = write_sbml(model)
    assert 'id="TIMC_model__v2_"' in xml
    assert roundtrip(model) == model


def test_large_integers_round_trip_up_to_equivalence() -> None:
    # libsbml keeps MathML integers in a C int, so this one comes back as a Float.
    b = ModelBuilder("big").parameter("k", 1.0).parameter("y", 0.0, constant=False)
    model = b.assignment_rule("y", "k + 12345678901234").build()
    back = roundtrip(model)
    assert back != model
    assert models_equivalent(back, model)


FORMULAS = [
    "x**-2", "1/sqrt(x)", "x**-0.5", "-x/2", "3*x/(4*y)", "exp(-x)", "log10(x)", "log(2, x)",
    "x**(1/3)", "x**(-1/3)", "-x*y", "-0.5*x + y", "x - y - 1", "-(x+y)/3", "1/(x+y)**2",
    "abs(x) + floor(y) + ceil(x)", "sin(x)*cos(y)*tan(x)", "asin(x) + acos(y) + atan(x)",
    "piecewise(x, x > 1, piecewise(y, y < 2, 0))", "max(x, y, 3) - min(x, 1)", "2**-x",
    "2**(2/3)/2",  # a constant rational power stays exact (found by hypothesis in CI)
    "exp(1) * x", "x*0.30000000000000004", "1e-300*x", "x**2.5", "pow(x, y)", "time * x",
]  # fmt: skip


def _rule_model(expr: str | sympy.Basic) -> Model:
    b = ModelBuilder("f").parameter("x", 2.0).parameter("y", 3.0)
    return b.parameter("out", 0.0, constant=False).assignment_rule("out", expr).build()


@pytest.mark.parametrize("formula", FORMULAS)
def test_expressions_round_trip_exactly(formula: str) -> None:
    model = _rule_model(formula)
    assert roundtrip(model) == model


_X, _Y = sympy.symbols("x y")
SYMPY_ONLY = [
    sympy.acosh(_X) + sympy.asinh(_Y) + sympy.atanh(_X / 10),
    sympy.sec(_X) + sympy.csc(_X) + sympy.cot(_Y) + sympy.sech(_X) + sympy.coth(_Y),
    sympy.asec(_X) + sympy.acsc(_Y) + sympy.acot(_X),
    sympy.factorial(_X) + sympy.root(_X, 3) + sympy.pi * _Y,
]


@pytest.mark.parametrize("expr", SYMPY_ONLY, ids=str)
def test_sympy_functions_without_formula_syntax_round_trip(expr: sympy.Basic) -> None:
    model = _rule_model(expr)
    assert roundtrip(model) == model


CONDITIONS = [
    "(x > 1) and (y < 2) or not (x == y)", "x != y", "(x >= 1) and (x <= 2)", "time >= 5",
    "not (x > 1)", "x <= y",
]  # fmt: skip


@pytest.mark.parametrize("condition", CONDITIONS)
def test_triggers_round_trip_exactly(condition: str) -> None:
    b = ModelBuilder("t").parameter("x", 2.0).parameter("y", 3.0, constant=False)
    model = b.event("e", condition, {"y": "y + 1"}).build()
    assert roundtrip(model) == model


_x, _y = sympy.symbols("x y")
_leaves = st.one_of(
    st.sampled_from([_x, _y, sympy.Integer(2), sympy.Integer(-3), sympy.Rational(1, 3)]),
    st.floats(min_value=-1e3, max_value=1e3, allow_nan=False).filter(bool).map(sympy.Float),
)


_EXPONENTS = [
    sympy.Integer(2), sympy.Integer(-1), sympy.Integer(-2), sympy.Rational(1, 2),
    sympy.Rational(-1, 3), sympy.Float(2.5), sympy.Float(-0.5),
]  # fmt: skip


def _combine(children: st.SearchStrategy[sympy.Expr]) -> st.SearchStrategy[sympy.Expr]:
    pair = st.tuples(children, children)
    symbolic = children.filter(lambda e: bool(e.free_symbols))
    return st.one_of(
        pair.map(lambda ab: ab[0] + ab[1]),
        pair.map(lambda ab: ab[0] - ab[1]),
        pair.map(lambda ab: ab[0] * ab[1]),
        pair.filter(lambda ab: ab[1] != 0).map(lambda ab: ab[0] / ab[1]),
        # Exponents from a small set: integer towers would make sympy compute huge numbers.
        st.tuples(children, st.sampled_from(_EXPONENTS)).map(lambda ab: ab[0] ** ab[1]),
        st.tuples(st.sampled_from([_x, _y]), children).map(lambda ab: ab[0] ** ab[1]),
        # Only of symbolic arguments: sympy would evaluate exp(exp(...)) of numbers eagerly.
        symbolic.map(sympy.exp),
        symbolic.map(sympy.log),
        children.map(lambda a: -a),
        pair.filter(lambda ab: ab[1].is_extended_real is not False).map(
            lambda ab: sympy.Piecewise((ab[0], _x > ab[1]), (ab[1], True))
        ),
    )


@settings(max_examples=60, deadline=None)
@given(st.recursive(_leaves, _combine, max_leaves=8))
def test_random_expressions_round_trip(expr: sympy.Expr) -> None:
    assume(not expr.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo, sympy.I))
    # SBML numbers are doubles; sympy can hold floats a double cannot (e.g. exp(-711.0)).
    assume(all(sympy.Float(float(f)) == f for f in expr.atoms(sympy.Float)))
    try:
        model = _rule_model(expr)
    except ModelValidationError:  # e.g. a float that overflowed to infinity
        assume(False)
    try:
        xml = write_sbml(model)
    except ExpressionError:  # a sympy Float beyond the range of a double, e.g. exp(710.0)
        assume(False)
    back = read_sbml_string(xml)
    assert back == model or models_equivalent(back, model)
    assert back.assignment_rules["out"].expression == expr or _only_big_integers(expr)


def _only_big_integers(expr: sympy.Basic) -> bool:
    return any(abs(int(n)) >= 2**31 for n in expr.atoms(sympy.Integer))


def test_libroadrunner_simulates_the_export_like_the_original(reference: Model) -> None:
    roadrunner = pytest.importorskip("roadrunner")
    import antimony

    antimony.clearPreviousLoads()
    antimony.loadAntimonyString(REFERENCE_MODEL.read_text())
    original = roadrunner.RoadRunner(antimony.getSBMLString(antimony.getMainModuleName()))
    exported = roadrunner.RoadRunner(write_sbml(reference))
    for rr in (original, exported):  # tight, so that solver noise is far below the check
        rr.integrator.relative_tolerance = 1e-10
        rr.integrator.absolute_tolerance = 1e-14
    a = original.simulate(0, 30, 31, ["time", "Ts", "Cp", "Ef"])
    b = exported.simulate(0, 30, 31, ["time", "Ts", "Cp", "Ef"])
    assert b.shape == a.shape
    assert (abs(b - a) <= 1e-9 + 1e-6 * abs(a)).all()


def test_libroadrunner_reads_observables_and_events_of_the_full_model() -> None:
    roadrunner = pytest.importorskip("roadrunner")
    rr = roadrunner.RoadRunner(write_sbml(full_model()))
    result = rr.simulate(0, 6, 7, ["time", "counter", "total"])
    assert result[-1, 1] >= 1.0  # the dosing event at t = 5 fired
    assert math.isfinite(result[-1, 2])


def test_parse_expression_and_export_agree_on_log_meaning() -> None:
    # mdrsim's log(x) is natural; the export must say <ln/>, not <log/> (base 10).
    b = ModelBuilder("l").parameter("x", 2.0).parameter("out", 0.0, constant=False)
    xml = write_sbml(b.assignment_rule("out", parse_expression("log(x)")).build())
    assert "<ln/>" in xml and "<log/>" not in xml


def test_compartment_with_a_rule_exports_validly_but_is_not_imported() -> None:
    # The IR can express a growing compartment; SBML gets constant="false", and mdrsim's
    # importer refuses it as documented.
    b = ModelBuilder("growing").compartment("c", 1.0).parameter("g", 0.1)
    model = b.species("S", 1.0, compartment="c").rate_rule("c", "g * c").build()
    xml = write_sbml(model)
    assert serious_problems(xml) == []
    with pytest.raises(UnsupportedFeatureError, match="compartment 'c'"):
        read_sbml_string(xml)
