"""Reading SBML written by other tools: what is supported, and clear errors for the rest."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import sympy

from mdrsim.errors import ModelImportError, ModelValidationError, UnsupportedFeatureError
from mdrsim.io import read_sbml, read_sbml_string
from mdrsim.model import TIME

from .io_helpers import assignment_rule, parameters, sbml_document
from .io_helpers import math as mathml

x, y, k = sympy.symbols("x y k")

COMPARTMENT = (
    '<listOfCompartments><compartment id="c" size="2" constant="true"/></listOfCompartments>'
)


def rule_value(body_math: str, *params: str) -> sympy.Basic:
    """Import a document with ``out = body_math`` and return the expression."""
    xml = sbml_document(parameters(*params, "out~0") + assignment_rule("out", body_math))
    return read_sbml_string(xml).assignment_rules["out"].expression


# -- math -------------------------------------------------------------------------------------


def test_arithmetic_and_numbers() -> None:
    expr = rule_value(
        "<apply><plus/><apply><minus/><ci>x</ci><ci>y</ci></apply>"
        "<apply><divide/><ci>x</ci><cn type='integer'>4</cn></apply>"
        "<apply><power/><ci>y</ci><cn type='rational'>1<sep/>3</cn></apply>"
        "<apply><times/><cn type='e-notation'>1.5<sep/>-3</cn><ci>x</ci></apply>"
        "<apply><minus/><cn>0.25</cn></apply></apply>",
        "x=1", "y=2",
    )  # fmt: skip
    expected = x - y + x / 4 + y ** sympy.Rational(1, 3) + sympy.Float(1.5e-3) * x - 0.25
    assert sympy.simplify(expr - expected) == 0


def test_log_follows_mathml_base_10_and_ln_natural() -> None:
    expr = rule_value(
        "<apply><plus/><apply><log/><ci>x</ci></apply><apply><ln/><ci>x</ci></apply>"
        "<apply><log/><logbase><cn type='integer'>2</cn></logbase><ci>x</ci></apply></apply>",
        "x=8",
    )
    assert float(expr.subs(x, 8)) == pytest.approx(math.log10(8) + math.log(8) + 3)


def test_functions_constants_and_time() -> None:
    expr = rule_value(
        "<apply><plus/><apply><exp/><ci>x</ci></apply><apply><abs/><ci>x</ci></apply>"
        "<apply><floor/><ci>x</ci></apply><apply><ceiling/><ci>x</ci></apply>"
        "<apply><root/><ci>x</ci></apply><apply><root/><degree><cn>3</cn></degree><ci>x</ci></apply>"
        "<apply><sin/><ci>x</ci></apply><apply><arctan/><ci>x</ci></apply><exponentiale/><pi/>"
        "<apply><max/><ci>x</ci><cn>1</cn></apply><apply><min/><ci>x</ci><cn>1</cn></apply>"
        "<csymbol encoding='text' definitionURL='http://www.sbml.org/sbml/symbols/time'>t</csymbol>"
        "<csymbol encoding='text' definitionURL='http://www.sbml.org/sbml/symbols/avogadro'>N</csymbol>"
        "</apply>",
        "x=1.5",
    )
    assert TIME in expr.free_symbols
    value = float(expr.subs({x: 1.5, TIME: 0}))
    expected = (
        math.exp(1.5) + 1.5 + 1 + 2 + math.sqrt(1.5) + 1.5 ** (1 / 3) + math.sin(1.5)
        + math.atan(1.5) + math.e + math.pi + 1.5 + 1 + 6.02214076e23
    )  # fmt: skip
    assert value == pytest.approx(expected)


def test_piecewise_relations_and_logic() -> None:
    expr = rule_value(
        "<piecewise><piece><cn>1</cn><apply><and/><apply><gt/><ci>x</ci><cn>0</cn></apply>"
        "<apply><not/><apply><eq/><ci>y</ci><cn>2</cn></apply></apply></apply></piece>"
        "<piece><cn>2</cn><apply><xor/><apply><leq/><ci>x</ci><cn>1</cn></apply><true/></apply>"
        "</piece><piece><cn>3</cn><apply><lt/><ci>x</ci><ci>y</ci><cn>10</cn></apply></piece>"
        "<otherwise><cn>4</cn></otherwise></piecewise>",
        "x=1", "y=2",
    )  # fmt: skip
    assert isinstance(expr, sympy.Piecewise)
    assert float(expr.subs({x: 1, y: 3})) == 1
    assert float(expr.subs({x: 5, y: 2})) == 2
    assert float(expr.subs({x: -1, y: 20})) == 4
    assert float(expr.subs({x: -1, y: 2})) == 3


def test_function_definitions_are_inlined() -> None:
    functions = (
        "<listOfFunctionDefinitions>"
        '<functionDefinition id="mm">' + mathml(
            "<lambda><bvar><ci>s</ci></bvar><bvar><ci>km</ci></bvar>"
            "<apply><divide/><ci>s</ci><apply><plus/><ci>km</ci><ci>s</ci></apply></apply></lambda>"
        ) + "</functionDefinition>"
        '<functionDefinition id="twice">' + mathml(
            "<lambda><bvar><ci>v</ci></bvar><apply><times/><cn type='integer'>2</cn>"
            "<apply><ci>mm</ci><ci>v</ci><ci>v</ci></apply></apply></lambda>"
        ) + "</functionDefinition>"
        "</listOfFunctionDefinitions>"
    )  # fmt: skip
    body = (
        functions
        + parameters("x=3", "k=1", "out~0")
        + assignment_rule("out", "<apply><plus/><apply><ci>mm</ci><ci>x</ci><ci>k</ci></apply>"
                                 "<apply><ci>twice</ci><ci>k</ci></apply></apply>")
    )  # fmt: skip
    expr = read_sbml_string(sbml_document(body)).assignment_rules["out"].expression
    # Arguments are substituted simultaneously: mm(x, k) = x/(k + x), twice(k) = 2*k/(k + k).
    assert sympy.simplify(expr - (x / (k + x) + 1)) == 0


def _function_document(call: str, definition: str) -> str:
    functions = (
        '<listOfFunctionDefinitions><functionDefinition id="f">'
        + mathml(definition)
        + "</functionDefinition></listOfFunctionDefinitions>"
    )
    return sbml_document(functions + parameters("x=1", "out~0") + assignment_rule("out", call))


def test_function_arity_mismatch_is_an_error() -> None:
    xml = _function_document(
        "<apply><ci>f</ci><ci>x</ci><ci>x</ci></apply>",
        "<lambda><bvar><ci>a</ci></bvar><ci>a</ci></lambda>",
    )
    with pytest.raises(ModelImportError, match=r"function 'f' takes 1 argument\(s\), got 2"):
        read_sbml_string(xml)


def test_recursive_function_definition_is_an_error_not_a_hang() -> None:
    xml = _function_document(
        "<apply><ci>f</ci><ci>x</ci></apply>",
        "<lambda><bvar><ci>a</ci></bvar><apply><ci>f</ci><ci>a</ci></apply></lambda>",
    )
    with pytest.raises(ModelImportError, match="call themselves: f -> f"):
        read_sbml_string(xml)


def test_unsupported_math_is_named() -> None:
    xml = sbml_document(
        parameters("x=1", "out~0")
        + assignment_rule(
            "out",
            "<apply><csymbol encoding='text' definitionURL='http://www.sbml.org/sbml/symbols/"
            "delay'>delay</csymbol><ci>x</ci><cn>1</cn></apply>",
        )
    )
    with pytest.raises(UnsupportedFeatureError, match=r"assignment rule for 'out'.*delay\(\)"):
        read_sbml_string(xml)


def test_rem_is_read() -> None:  # refused before issue 12; see test_sbml_features.py
    xml = sbml_document(
        parameters("x=1", "out~0")
        + assignment_rule("out", "<apply><rem/><ci>x</ci><cn>2</cn></apply>")
    )
    rule = read_sbml_string(xml).assignment_rules["out"].expression
    assert float(rule.subs(sympy.Symbol("x"), 5)) == 1.0


# -- components -------------------------------------------------------------------------------


def test_species_initial_values_follow_sbml_semantics() -> None:
    species = (
        "<listOfSpecies>"
        '<species id="conc" compartment="c" initialConcentration="3" hasOnlySubstanceUnits="false"'
        ' boundaryCondition="false" constant="false"/>'
        '<species id="amt_as_conc" compartment="c" initialAmount="3" hasOnlySubstanceUnits="false"'
        ' boundaryCondition="false" constant="false"/>'
        '<species id="amt" compartment="c" initialAmount="3" hasOnlySubstanceUnits="true"'
        ' boundaryCondition="true" constant="false"/>'
        '<species id="conc_as_amt" compartment="c" initialConcentration="3"'
        ' hasOnlySubstanceUnits="true" boundaryCondition="false" constant="true"/>'
        "</listOfSpecies>"
    )
    model = read_sbml_string(sbml_document(COMPARTMENT + species))
    assert model.species["conc"].initial == 3.0
    assert model.species["amt_as_conc"].initial == 1.5  # amount 3 in a compartment of size 2
    assert model.species["amt"].initial == 3.0 and model.species["amt"].amount_based
    assert model.species["amt"].boundary
    assert model.species["conc_as_amt"].initial == 6.0 and model.species["conc_as_amt"].constant


def test_local_parameters_become_prefixed_globals() -> None:
    body = (
        COMPARTMENT
        + "<listOfSpecies>"
        '<species id="S" compartment="c" initialConcentration="1" hasOnlySubstanceUnits="false"'
        ' boundaryCondition="false" constant="false"/></listOfSpecies>'
        + parameters("k=5", "R1_k=7")
        + '<listOfReactions><reaction id="R1" reversible="false">'
        '<listOfReactants><speciesReference species="S" stoichiometry="2" constant="true"/>'
        "</listOfReactants><kineticLaw>"
        + mathml("<apply><times/><ci>k</ci><ci>S</ci></apply>")
        + '<listOfLocalParameters><localParameter id="k" value="0.5"/></listOfLocalParameters>'
        "</kineticLaw></reaction>"
        '<reaction id="R2" reversible="false">'
        '<listOfProducts><speciesReference species="S" constant="true"/></listOfProducts>'
        "<kineticLaw>" + mathml("<ci>k</ci>") + "</kineticLaw></reaction></listOfReactions>"
    )  # fmt: skip
    model = read_sbml_string(sbml_document(body))
    # "R1_k" is taken by a global, so the local k of R1 gets the next free name.
    assert model.parameters["R1_k_2"].value == 0.5
    assert model.reactions["R1"].rate == sympy.Symbol("R1_k_2") * sympy.Symbol("S")
    assert model.reactions["R1"].reactants == {"S": 2.0}
    assert model.reactions["R2"].rate == k  # the global k, untouched outside R1
    assert model.reactions["R2"].products == {"S": 1.0}  # missing stoichiometry means 1


def test_reaction_id_in_math_means_its_rate() -> None:
    body = (
        COMPARTMENT
        + "<listOfSpecies>"
        '<species id="S" compartment="c" initialConcentration="1" hasOnlySubstanceUnits="false"'
        ' boundaryCondition="false" constant="false"/></listOfSpecies>'
        + parameters("k=5", "flux~0")
        + assignment_rule("flux", "<ci>R1</ci>")
        + '<listOfReactions><reaction id="R1" reversible="false">'
        '<listOfReactants><speciesReference species="S" constant="true"/></listOfReactants>'
        "<kineticLaw>" + mathml("<apply><times/><ci>k</ci><ci>S</ci></apply>")
        + "</kineticLaw></reaction></listOfReactions>"
    )  # fmt: skip
    model = read_sbml_string(sbml_document(body))
    assert model.assignment_rules["flux"].expression == k * sympy.Symbol("S")


def test_units_names_and_notes_become_readable_text() -> None:
    body = (
        "<listOfUnitDefinitions>"
        '<unitDefinition id="per_day"><listOfUnits>'
        '<unit kind="second" exponent="-1" scale="0" multiplier="86400"/></listOfUnits>'
        "</unitDefinition>"
        '<unitDefinition id="mM"><listOfUnits>'
        '<unit kind="mole" exponent="1" scale="-3" multiplier="1"/>'
        '<unit kind="litre" exponent="-1" scale="0" multiplier="1"/></listOfUnits>'
        "</unitDefinition>"
        '<unitDefinition id="odd"><listOfUnits>'
        '<unit kind="second" exponent="1" scale="0" multiplier="7"/></listOfUnits>'
        "</unitDefinition></listOfUnitDefinitions>"
        '<listOfParameters><parameter id="k" name="rate constant" value="1" units="per_day"'
        ' constant="true"><notes><body xmlns="http://www.w3.org/1999/xhtml"><p>from a fit</p>'
        "</body></notes></parameter>"
        '<parameter id="c" value="1" units="mM" constant="true"/>'
        '<parameter id="w" value="1" units="odd" constant="true"/>'
        '<parameter id="v" value="1" units="litre" constant="true"/></listOfParameters>'
    )
    model = read_sbml_string(sbml_document(body))
    assert model.parameters["k"].unit == "1/d"
    assert model.parameters["k"].description == "rate constant\n\nfrom a fit"
    assert model.parameters["c"].unit == "mmol/L"
    assert model.parameters["w"].unit == "odd"  # not expressible: the definition's id
    assert model.parameters["v"].unit == "litre"


def test_events_read_flags() -> None:
    # (Priorities and non-persistent triggers with several events are refused: see
    # test_sbml_conformance_fixes.py.)
    body = parameters("x~1") + (
        '<listOfEvents><event id="e" useValuesFromTriggerTime="true">'
        '<trigger initialValue="false" persistent="true">'
        + mathml("<apply><lt/><ci>x</ci><cn>0.5</cn></apply>")
        + "</trigger>"
        '<listOfEventAssignments><eventAssignment variable="x">' + mathml("<cn>2</cn>")
        + "</eventAssignment></listOfEventAssignments></event>"
        '<event useValuesFromTriggerTime="true"><trigger initialValue="true" persistent="true">'
        + mathml("<apply><geq/><csymbol encoding='text' definitionURL="
                 "'http://www.sbml.org/sbml/symbols/time'>t</csymbol><cn>5</cn></apply>")
        + '</trigger><delay>' + mathml("<cn>0</cn>") + "</delay>"
        '<listOfEventAssignments><eventAssignment variable="x">' + mathml("<cn>3</cn>")
        + "</eventAssignment></listOfEventAssignments></event></listOfEvents>"
    )  # fmt: skip
    model = read_sbml_string(sbml_document(body))
    e = model.events["e"]
    assert (e.initial_value, e.persistent) == (False, True)
    assert e.trigger == sympy.Lt(x, sympy.Float(0.5))
    unnamed = model.events["event_2"]  # an event without id gets a name; a zero delay is fine
    assert unnamed.trigger == sympy.Ge(TIME, sympy.Float(5))


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "xml",
    [
        "",
        "   ",
        "this is not xml",
        "<sbml",
        '<?xml version="1.0" encoding="UTF-8"?><html><body/></html>',
        sbml_document(parameters("k=1")).replace("</model>", ""),
    ],
    ids=["empty", "blank", "text", "truncated", "not-sbml", "unclosed-model"],
)
def test_malformed_documents_raise_model_import_error(xml: str) -> None:
    with pytest.raises(ModelImportError) as info:
        read_sbml_string(xml)
    message = str(info.value)
    assert "SBML" in message
    assert "line" in message or "empty" in message


def test_read_errors_carry_libsbml_messages_and_lines() -> None:
    xml = sbml_document('<listOfParameters><parameter id="k" value="abc" constant="true"/>'
                        "</listOfParameters>")  # fmt: skip
    with pytest.raises(ModelImportError, match=r"line 3, column \d+: .*must be a double"):
        read_sbml_string(xml)


def test_document_without_model() -> None:
    xml = sbml_document("").replace('<model id="m"></model>', "")
    with pytest.raises(ModelImportError, match="no <model>"):
        read_sbml_string(xml)


def test_event_with_delay_is_read() -> None:
    body = parameters("x~1") + (
        '<listOfEvents><event id="late" useValuesFromTriggerTime="true">'
        '<trigger initialValue="true" persistent="true">'
        + mathml("<apply><lt/><ci>x</ci><cn>0.5</cn></apply>")
        + "</trigger><delay>" + mathml("<cn>2</cn>") + "</delay>"
        '<listOfEventAssignments><eventAssignment variable="x">' + mathml("<cn>2</cn>")
        + "</eventAssignment></listOfEventAssignments></event></listOfEvents>"
    )  # fmt: skip
    event = read_sbml_string(sbml_document(body)).events["late"]
    assert float(event.delay) == 2.0 and event.use_values_from_trigger_time is True
    negative = body.replace(mathml("<cn>2</cn>") + "</delay>", mathml("<cn>-2</cn>") + "</delay>")
    with pytest.raises(UnsupportedFeatureError, match="must be a finite number >= 0"):
        read_sbml_string(sbml_document(negative))


def test_algebraic_rule_is_unsupported() -> None:
    body = parameters("x~1", "y~1") + (
        "<listOfRules><algebraicRule>"
        + mathml("<apply><minus/><ci>x</ci><ci>y</ci></apply>")
        + "</algebraicRule></listOfRules>"
    )
    with pytest.raises(UnsupportedFeatureError, match="algebraic rule 0 = x - y"):
        read_sbml_string(sbml_document(body))


def test_non_constant_compartment_that_nothing_changes_is_read() -> None:
    body = (
        '<listOfCompartments><compartment id="c" size="1" constant="false"/></listOfCompartments>'
    )
    assert read_sbml_string(sbml_document(body)).compartments["c"].size == 1.0


def test_stoichiometry_set_by_a_rule_becomes_a_rate_rule() -> None:
    body = (
        COMPARTMENT
        + "<listOfSpecies>"
        '<species id="S" compartment="c" initialConcentration="1" hasOnlySubstanceUnits="false"'
        ' boundaryCondition="false" constant="false"/></listOfSpecies>'
        + '<listOfRules><assignmentRule variable="st">' + mathml("<cn>3</cn>")
        + "</assignmentRule></listOfRules>"
        '<listOfReactions><reaction id="R" reversible="false"><listOfReactants>'
        '<speciesReference id="st" species="S" constant="false"/></listOfReactants>'
        "<kineticLaw>" + mathml("<cn>1</cn>") + "</kineticLaw></reaction></listOfReactions>"
    )  # fmt: skip
    model = read_sbml_string(sbml_document(body))
    assert model.reactions["R"].reactants == {}
    # d[S]/dt = -st * rate / size, with the reaction id replaced by its rate (1).
    expected = -sympy.Symbol("st") / sympy.Symbol("c")
    assert sympy.simplify(model.rate_rules["S"].expression - expected) == 0


def test_reaction_without_kinetic_law_is_an_error() -> None:
    body = (
        COMPARTMENT + "<listOfSpecies>"
        '<species id="S" compartment="c" initialConcentration="1" hasOnlySubstanceUnits="false"'
        ' boundaryCondition="false" constant="false"/></listOfSpecies>'
        '<listOfReactions><reaction id="R" reversible="false"><listOfReactants>'
        '<speciesReference species="S" constant="true"/></listOfReactants></reaction>'
        "</listOfReactions>"
    )
    with pytest.raises(ModelImportError, match="reaction 'R' has no kinetic law"):
        read_sbml_string(sbml_document(body))


def test_undefined_symbol_is_a_validation_error() -> None:
    xml = sbml_document(parameters("k=1", "out~0") + assignment_rule("out", "<ci>kk</ci>"))
    with pytest.raises(ModelValidationError, match=r"undefined symbol 'kk'.*did you mean: k"):
        read_sbml_string(xml)


def test_dangerous_names_are_only_names() -> None:
    # In text form these would be Python; here they are symbols and never run.
    xml = sbml_document(
        parameters("out~0")
        + assignment_rule("out", "<apply><plus/><ci>__import__</ci><ci>os</ci></apply>")
    )
    with pytest.raises(ModelValidationError, match="undefined symbol '__import__'"):
        read_sbml_string(xml)


def test_call_of_an_undefined_function_is_never_executed() -> None:
    xml = sbml_document(
        parameters("out~0")
        + assignment_rule("out", "<apply><ci>__import__</ci><ci>os</ci></apply>")
    )
    with pytest.raises(ModelImportError, match="undefined function '__import__'"):
        read_sbml_string(xml)


def test_read_sbml_names_the_missing_file() -> None:
    with pytest.raises(ModelImportError, match="not found"):
        read_sbml("/nonexistent/model.xml")


def test_read_sbml_reads_a_file_and_names_it_in_errors(tmp_path: Path) -> None:
    good = tmp_path / "good.xml"
    good.write_text(sbml_document(parameters("k=2")))
    assert read_sbml(good).parameters["k"].value == 2.0
    bad = tmp_path / "bad.xml"
    bad.write_text("<sbml")
    with pytest.raises(ModelImportError, match=r"bad\.xml"):
        read_sbml(bad)


def test_level_2_documents_are_read() -> None:
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<sbml xmlns="http://www.sbml.org/sbml/level2/version4" level="2" version="4">
<model id="old">
<listOfCompartments><compartment id="c" size="2"/></listOfCompartments>
<listOfSpecies><species id="S" compartment="c" initialAmount="2"/>
<species id="P" compartment="c" initialAmount="0"/></listOfSpecies>
<listOfReactions><reaction id="R" reversible="false">
<listOfReactants><speciesReference species="S"/></listOfReactants>
<listOfProducts><speciesReference species="P" stoichiometry="2"/></listOfProducts>
<kineticLaw>{mathml("<apply><times/><ci>k</ci><ci>S</ci></apply>")}
<listOfParameters><parameter id="k" value="0.1"/></listOfParameters></kineticLaw>
</reaction></listOfReactions></model></sbml>"""
    model = read_sbml_string(xml)
    assert model.species["S"].initial == 1.0  # amount 2 in a compartment of size 2
    assert model.parameters["R_k"].value == 0.1
    assert model.reactions["R"].reactants == {"S": 1.0}
    assert model.reactions["R"].products == {"P": 2.0}


def test_required_package_is_unsupported() -> None:
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<sbml xmlns="http://www.sbml.org/sbml/level3/version1/core" '
        'xmlns:qual="http://www.sbml.org/sbml/level3/version1/qual/version1" '
        'level="3" version="1" qual:required="true"><model id="m"/></sbml>'
    )  # comp, once refused here, is flattened now (test_sbml_features.py)
    with pytest.raises(UnsupportedFeatureError, match="package 'qual'"):
        read_sbml_string(xml)


@pytest.mark.parametrize("required", ["true", "false"])
def test_required_package_unknown_to_libsbml_is_refused_by_name(required: str) -> None:
    # libsbml records unknown packages only under sbml.org URIs: this one it would ignore.
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" '
        'xmlns:foo="http://www.example.org/foo/version1" '
        f'level="3" version="2" foo:required="{required}"><model id="m"/></sbml>'
    )
    if required == "false":
        assert read_sbml_string(xml).name == "m"  # an optional package only adds information
        return
    with pytest.raises(UnsupportedFeatureError, match=r"'http://www\.example\.org/foo/version1'"):
        read_sbml_string(xml)


def test_parameter_without_any_value_is_an_error() -> None:
    xml = sbml_document('<listOfParameters><parameter id="k" constant="true"/></listOfParameters>')
    with pytest.raises(ModelValidationError, match="parameter 'k' has no value"):
        read_sbml_string(xml)
