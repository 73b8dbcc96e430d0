"""Antimony import/export, which goes through the SBML converter."""

from __future__ import annotations

from dataclasses import replace

import pytest
import sympy

from mdrsim.errors import ModelImportError, ModelValidationError
from mdrsim.io import models_equivalent, read_antimony, write_antimony
from mdrsim.io.compare import expressions_equivalent
from mdrsim.model import TIME, Model

from .io_helpers import REFERENCE_MODEL, full_model


@pytest.fixture(scope="module")
def reference() -> Model:
    return read_antimony(REFERENCE_MODEL.read_text())


def test_reference_model_counts(reference: Model) -> None:
    assert reference.name == "timc_mdr1"
    assert len(reference.rate_rules) == 10
    assert len(reference.events) == 17
    assert reference.state_names()[:2] == ["Ts", "Tr"]
    assert len(reference.state_names()) == 10
    assert reference.parameters["k_el"].value == 4.0
    assert reference.parameters["Mm"].value == 1e-05


def test_reference_model_expressions(reference: Model) -> None:
    Cp, k_el, dose = sympy.symbols("Cp k_el dose")
    assert reference.rate_rules["Cp"].expression == -Cp * k_el
    event = reference.events["dose17"]
    assert event.trigger == sympy.Ge(TIME, 357)
    assert event.assignments[0].variable == "Cp"
    assert event.assignments[0].expression == Cp + dose
    Cs, Cp_, P_in, k_met, Vmax_s, Km_e, Ip, Ki = sympy.symbols("Cs Cp P_in k_met Vmax_s Km_e Ip Ki")
    expected = P_in * (Cp_ - Cs) - Cs * k_met - Cs * Vmax_s / (Cs + Km_e * (1 + Ip / Ki))
    assert sympy.expand(reference.rate_rules["Cs"].expression - expected) == 0


def test_reference_model_round_trips_through_antimony(reference: Model) -> None:
    text = write_antimony(reference)
    assert "Cp' =" in text and "dose17: at time >= 357" in text
    back = read_antimony(text)
    assert models_equivalent(back, reference)


def test_write_antimony_keeps_the_structure_of_the_full_model() -> None:
    # Antimony text carries no mdrsim annotation, so its events get SBML's meaning; a
    # non-persistent trigger among several events is refused on import (mdrsim does not
    # cancel it), hence the persistent copy here.
    model = full_model()
    model = replace(
        model, events={k: replace(e, persistent=True) for k, e in model.events.items()}
    )
    back = read_antimony(write_antimony(model))
    assert set(back.species) == set(model.species)
    assert back.state_names() == model.state_names()
    assert set(back.events) == set(model.events)
    for name, reaction in model.reactions.items():
        assert expressions_equivalent(back.reactions[name].rate, reaction.rate)
    # Antimony has no notion of an observable: it comes back as an assignment-rule parameter.
    assert "total" in back.assignment_rules


def test_log_in_antimony_is_natural() -> None:
    model = read_antimony("x = 2\ny := log(x) + log10(x)\n")
    expr = model.assignment_rules["y"].expression
    assert float(expr.subs(sympy.Symbol("x"), 100)) == pytest.approx(4.605170185988092 + 2)


def test_undeclared_rate_rule_variable_becomes_a_parameter() -> None:
    model = read_antimony("z' = -0.5 * z\nz = 1\n")
    assert "z" in model.parameters and not model.parameters["z"].constant
    assert model.state_names() == ["z"]


@pytest.mark.parametrize(
    "text",
    ["model m\n  x = = 3\nend", "garbage (((", "model m\n  A -> B; \nend extra"],
    ids=["double-equals", "garbage", "trailing"],
)
def test_malformed_antimony_raises_model_import_error(text: str) -> None:
    with pytest.raises(ModelImportError, match=r"cannot read the Antimony text: .*line"):
        read_antimony(text)


def test_empty_antimony_is_an_error() -> None:
    with pytest.raises(ModelImportError, match="empty"):
        read_antimony("   \n")


def test_antimony_misspelt_name_is_a_validation_error() -> None:
    # Antimony turns every unknown name into a parameter without a value.
    with pytest.raises(ModelValidationError, match=r"parameter 'k_eI' has no value.*k_el"):
        read_antimony("x' = -k_eI * x\nx = 1\nk_el = 2\n")


def test_antimony_undefined_function_is_an_error() -> None:
    with pytest.raises(ModelImportError, match="undefined_thing"):
        read_antimony("x' = undefined_thing(3)\nx = 1\n")


def test_species_without_initial_value_start_at_zero() -> None:
    model = read_antimony("A -> B; k*A\nA = 1\nk = 1\n")
    assert model.species["B"].initial == 0.0


def test_antimony_event_delay_is_read() -> None:
    event = read_antimony("x = 1\nE1: at 2 after time > 1: x = 3\n").events["E1"]
    assert event.delay is not None and float(event.delay) == 2.0
