"""SBML semantics the Test Suite found wrong or crashing (issue 12): each fix, on a tiny model.

Every test here failed before its fix: a wrong number, an untyped exception, or an event that
silently never fired.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from mdrsim.engine.compiled import compile_model
from mdrsim.engine.solve import simulate
from mdrsim.errors import UnsupportedFeatureError, UnsupportedSBMLFeatureError
from mdrsim.io import read_sbml_string
from mdrsim.model import TIME

from .io_helpers import math, parameters, sbml_document

TIME_CSYMBOL = (
    "<csymbol encoding='text' definitionURL='http://www.sbml.org/sbml/symbols/time'>t</csymbol>"
)
AVOGADRO_CSYMBOL = (
    "<csymbol encoding='text' definitionURL='http://www.sbml.org/sbml/symbols/avogadro'>N</csymbol>"
)


def _compartment(cid: str = "c", size: str = "1") -> str:
    return (
        f'<listOfCompartments><compartment id="{cid}" size="{size}" constant="true"/>'
        "</listOfCompartments>"
    )


def _species(sid: str, attrs: str, *, amount_only: bool = False) -> str:
    return (
        f'<species id="{sid}" compartment="c" {attrs} '
        f'hasOnlySubstanceUnits="{"true" if amount_only else "false"}" '
        'boundaryCondition="false" constant="false"/>'
    )


def _event(
    eid: str,
    trigger: str,
    variable: str,
    value: str,
    *,
    priority: str | None = None,
    persistent: bool = True,
    initial_value: bool = True,
) -> str:
    prio = f"<priority>{math(priority)}</priority>" if priority is not None else ""
    return (
        f'<event id="{eid}" useValuesFromTriggerTime="true">'
        f'<trigger initialValue="{str(initial_value).lower()}" '
        f'persistent="{str(persistent).lower()}">{math(trigger)}</trigger>{prio}'
        f'<listOfEventAssignments><eventAssignment variable="{variable}">{math(value)}'
        "</eventAssignment></listOfEventAssignments></event>"
    )


def _events(*events: str) -> str:
    return "<listOfEvents>" + "".join(events) + "</listOfEvents>"


def _rate_rule(variable: str, content: str) -> str:
    return f'<listOfRules><rateRule variable="{variable}">{math(content)}</rateRule></listOfRules>'


def _time_geq(value: str) -> str:
    return f"<apply><geq/>{TIME_CSYMBOL}<cn>{value}</cn></apply>"


# -- Avogadro's constant --------------------------------------------------------------------


def test_avogadro_csymbol_has_the_sbml_level_3_value() -> None:
    xml = sbml_document(
        parameters("out~0")
        + f'<listOfRules><assignmentRule variable="out">{math(AVOGADRO_CSYMBOL)}'
        "</assignmentRule></listOfRules>"
    )
    value = read_sbml_string(xml).assignment_rules["out"].expression
    assert float(value) == 6.02214179e23  # SBML L3, not the 2019 SI 6.02214076e23


# -- initial amounts and compartment sizes set by initial assignments ---------------------


def _sized_by_assignment(species_attrs: str, *, amount_only: bool) -> str:
    return sbml_document(
        _compartment("c", "1")
        + "<listOfSpecies>"
        + _species("S", species_attrs, amount_only=amount_only)
        + "</listOfSpecies>"
        + f'<listOfInitialAssignments><initialAssignment symbol="c">{math("<cn>4</cn>")}'
        "</initialAssignment></listOfInitialAssignments>"
    )


def test_initial_amount_is_converted_with_the_assigned_compartment_size() -> None:
    model = read_sbml_string(_sized_by_assignment('initialAmount="2"', amount_only=False))
    assignment = model.initial_assignments["S"].expression
    assert assignment == sympy.Float(2) / sympy.Symbol("c")
    assert assignment.subs(sympy.Symbol("c"), 4) == pytest.approx(0.5)


def test_initial_concentration_of_amount_species_uses_the_assigned_size() -> None:
    model = read_sbml_string(_sized_by_assignment('initialConcentration="2"', amount_only=True))
    assert model.initial_assignments["S"].expression == sympy.Float(2) * sympy.Symbol("c")


def test_species_own_initial_assignment_wins_over_its_initial_amount() -> None:
    xml = _sized_by_assignment('initialAmount="2"', amount_only=False).replace(
        "</listOfInitialAssignments>",
        f'<initialAssignment symbol="S">{math("<cn>7</cn>")}</initialAssignment>'
        "</listOfInitialAssignments>",
    )
    assert float(read_sbml_string(xml).initial_assignments["S"].expression) == 7.0


def test_initial_amount_after_assigned_size_simulates_to_the_right_concentration() -> None:
    xml = _sized_by_assignment('initialAmount="2"', amount_only=False).replace(
        "</model>",
        '<listOfReactions><reaction id="r" reversible="false"><listOfProducts>'
        '<speciesReference species="S" stoichiometry="1" constant="true"/></listOfProducts>'
        f"<kineticLaw>{math('<cn>0</cn>')}</kineticLaw></reaction></listOfReactions></model>",
    )
    result = simulate(read_sbml_string(xml), [0.0, 1.0], rtol=1e-10, atol=1e-12)
    s = result.states[0, :, result.state_names.index("S")]
    np.testing.assert_allclose(s, 0.5)  # amount 2 in the assigned size 4, not the declared 1


# -- event priorities and persistence --------------------------------------------------------


def _two_events(**first: object) -> str:
    return sbml_document(
        parameters("x~0", "y~0")
        + _events(
            _event("a", _time_geq("1"), "x", "<cn>1</cn>", **first),  # type: ignore[arg-type]
            # b reads what a sets, so the order of the two matters (and is refused).
            _event("b", _time_geq("1"), "y", "<apply><plus/><ci>x</ci><cn>1</cn></apply>"),
        )
    )


def test_priorities_where_order_matters_go_to_the_engine_and_a_tie_is_a_named_failure() -> None:
    # Third round of issue 12: no longer refused; the engine orders by priority, and b has
    # none, so the order of a and b at t = 1 is SBML's "random": the patient fails by name.
    model = read_sbml_string(_two_events(priority="<cn>1</cn>"))
    assert model.events["a"].priority is not None and float(model.events["a"].priority) == 1.0
    assert model.events["b"].priority is None
    result = simulate(model, [0.0, 2.0])
    assert not result.ok
    assert "chance" in next(iter(result.failures().values()))


def test_non_persistent_trigger_with_several_events_is_refused() -> None:
    with pytest.raises(UnsupportedSBMLFeatureError) as info:
        read_sbml_string(_two_events(persistent=False))
    assert info.value.feature == "non-persistent event trigger"


def test_priority_and_persistence_of_a_single_event_cannot_matter_and_are_accepted() -> None:
    xml = sbml_document(
        parameters("x~0")
        + _events(
            _event("a", _time_geq("1"), "x", "<cn>1</cn>", priority="<cn>5</cn>", persistent=False)
        )
    )
    assert set(read_sbml_string(xml).events) == {"a"}


def test_delay_inside_a_priority_is_refused() -> None:
    delay = (
        "<apply><csymbol encoding='text' definitionURL='http://www.sbml.org/sbml/symbols/delay'>"
        "d</csymbol><ci>x</ci><cn>1</cn></apply>"
    )
    with pytest.raises(UnsupportedFeatureError, match="delay"):
        read_sbml_string(_two_events(priority=delay))


# -- triggers true only at an instant --------------------------------------------------------


def _eq_time(value: str) -> str:
    return f"<apply><eq/>{TIME_CSYMBOL}<cn>{value}</cn></apply>"


def test_time_equals_constant_becomes_a_timed_event() -> None:
    xml = sbml_document(
        parameters("x~0") + _events(_event("dose", _eq_time("57"), "x", "<cn>1</cn>"))
    )
    trigger = read_sbml_string(xml).events["dose"].trigger
    assert trigger == sympy.Ge(TIME, sympy.Float(57))


def test_time_equals_constant_event_fires_at_that_time() -> None:
    xml = sbml_document(
        parameters("x~0", "k=1")
        + _rate_rule("x", "<ci>k</ci>")
        + _events(_event("reset", _eq_time("2.5"), "x", "<cn>100</cn>"))
    )
    result = simulate(read_sbml_string(xml), [0.0, 2.0, 3.0, 4.0], rtol=1e-10, atol=1e-12)
    x = result.states[0, :, result.state_names.index("x")]
    np.testing.assert_allclose(x, [0.0, 2.0, 100.5, 101.5], rtol=1e-8)


def test_time_equals_with_initial_value_false_is_refused_not_dropped() -> None:
    xml = sbml_document(
        parameters("x~0")
        + _events(_event("dose", _eq_time("0"), "x", "<cn>1</cn>", initial_value=False))
    )
    with pytest.raises(UnsupportedSBMLFeatureError) as info:
        read_sbml_string(xml)
    assert "instant" in str(info.value)


def test_equality_of_a_state_in_a_trigger_is_refused_with_the_reason() -> None:
    trigger = f"<apply><and/><apply><eq/><ci>x</ci><cn>1</cn></apply>{_time_geq('0')}</apply>"
    xml = sbml_document(
        parameters("x~0", "y~0", "k=1")
        + _rate_rule("x", "<ci>k</ci>")
        + _events(_event("e", trigger, "y", "<cn>1</cn>"))
    )
    with pytest.raises(UnsupportedSBMLFeatureError, match="true only at an instant") as info:
        read_sbml_string(xml)
    assert info.value.feature.startswith("event trigger true only at an instant")


def test_equality_of_an_event_set_flag_is_kept() -> None:
    # A flag changed only by events is constant between them: flag == 1 holds over intervals.
    trigger = f"<apply><and/><apply><eq/><ci>flag</ci><cn>1</cn></apply>{_time_geq('2')}</apply>"
    xml = sbml_document(
        parameters("flag~0", "y~0")
        + _events(
            _event("set", _time_geq("1"), "flag", "<cn>1</cn>"),
            _event("use", trigger, "y", "<cn>1</cn>"),
        )
    )
    model = read_sbml_string(xml)
    assert model.events["use"].trigger.has(sympy.Eq)


# -- true / false and conditions where a number is expected ---------------------------------


def _reaction_with_rate(content: str) -> str:
    return sbml_document(
        _compartment()
        + "<listOfSpecies>" + _species("S", 'initialConcentration="1"') + "</listOfSpecies>"
        + '<listOfReactions><reaction id="r" reversible="false"><listOfProducts>'
        '<speciesReference species="S" stoichiometry="1" constant="true"/></listOfProducts>'
        f"<kineticLaw>{math(content)}</kineticLaw></reaction></listOfReactions>"
    )  # fmt: skip


@pytest.mark.parametrize(("content", "value"), [("<true/>", 1), ("<false/>", 0)])
def test_true_and_false_as_kinetic_laws_are_one_and_zero(content: str, value: int) -> None:
    model = read_sbml_string(_reaction_with_rate(content))
    assert model.reactions["r"].rate == value


def test_condition_as_a_rate_is_one_where_true() -> None:
    rate = read_sbml_string(_reaction_with_rate(_time_geq("1"))).reactions["r"].rate
    assert rate.subs(TIME, 2) == 1 and rate.subs(TIME, 0) == 0


def test_true_kinetic_law_simulates() -> None:
    result = simulate(read_sbml_string(_reaction_with_rate("<true/>")), [0.0, 2.0])
    s = result.states[0, :, result.state_names.index("S")]
    np.testing.assert_allclose(s, [1.0, 3.0], rtol=1e-6)


# -- piecewise-constant functions in rates (Jacobian) ---------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        "<apply><floor/><ci>S</ci></apply>",
        "<apply><factorial/><apply><ceiling/><ci>S</ci></apply></apply>",
        "<apply><abs/><apply><minus/><cn>1</cn><ci>S</ci></apply></apply>",
        f"<apply><abs/><apply><minus/><cn>1</cn>{TIME_CSYMBOL}</apply></apply>",
        "<apply><max/><ci>S</ci><cn>2</cn></apply>",
    ],
    ids=["floor", "factorial-ceiling", "abs-state", "abs-time", "max"],
)
def test_rates_with_piecewise_functions_compile(content: str) -> None:
    compiled = compile_model(read_sbml_string(_reaction_with_rate(content)))
    assert compiled.state_names == ["S"]
