import pytest

from mdrsim.errors import ModelValidationError
from mdrsim.model import ModelBuilder


def _base() -> ModelBuilder:
    b = ModelBuilder("m")
    b.compartment("cell", 1.0)
    b.species("A", 1.0, compartment="cell")
    b.parameter("k", 0.1, unit="1/d", source="assumed: test")
    return b


def test_valid_model_builds():
    b = _base()
    b.reaction("decay", "k*A*cell", reactants={"A": 1})
    m = b.build()
    assert m.state_names() == ["A"]
    assert "k" in m.parameter_names()


def test_undefined_symbol_is_named_with_suggestion():
    b = _base()
    b.reaction("decay", "kk*A", reactants={"A": 1})
    with pytest.raises(ModelValidationError) as info:
        b.build()
    msg = str(info.value)
    assert "rate of reaction 'decay' uses undefined symbol 'kk'" in msg
    assert "did you mean: k" in msg


def test_duplicate_names_rejected_at_once():
    b = _base()
    with pytest.raises(ModelValidationError, match="duplicate name 'k'"):
        b.species("k", 1.0)


def test_cycle_in_assignment_rules_is_reported_as_a_path():
    b = _base()
    b.parameter("a", 0.0, constant=False).parameter("c", 0.0, constant=False)
    b.assignment_rule("a", "c + 1").assignment_rule("c", "a * 2")
    with pytest.raises(ModelValidationError, match="cycle: a -> c -> a"):
        b.build()


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_parameter(value):
    b = _base()
    b.parameter("bad", value)
    with pytest.raises(ModelValidationError, match="parameter 'bad' value must be a finite number"):
        b.build()


def test_value_outside_bounds():
    b = _base()
    b.parameter("f", 2.0, bounds=(0.0, 1.0))
    with pytest.raises(ModelValidationError, match="outside bounds"):
        b.build()


def test_all_problems_listed_together():
    b = _base()
    b.parameter("bad", float("nan"))
    b.reaction("r", "q*A", reactants={"B": 1})
    with pytest.raises(ModelValidationError) as info:
        b.build()
    assert len(info.value.problems) >= 3


def test_rate_rule_on_reacting_species_rejected():
    b = _base()
    b.reaction("decay", "k*A", reactants={"A": 1})
    b.rate_rule("A", "-k*A")
    with pytest.raises(ModelValidationError, match="rate rule and is changed by reactions"):
        b.build()


def test_event_assigning_rule_variable_rejected():
    b = _base()
    b.parameter("x", 0.0, constant=False)
    b.assignment_rule("x", "2*A")
    b.event("e", "time >= 1", {"x": "3"})
    with pytest.raises(ModelValidationError, match="assignment rule defines"):
        b.build()


def test_hashes_separate_structure_from_numbers():
    m1 = _base().reaction("decay", "k*A", reactants={"A": 1}).build()
    b2 = _base()
    b2.reaction("decay", "k*A", reactants={"A": 1})
    m2 = b2.build()
    assert m1.structure_hash() == m2.structure_hash()
    assert m1.content_hash() == m2.content_hash()
    b3 = ModelBuilder("m")
    b3.compartment("cell", 1.0).species("A", 5.0, compartment="cell").parameter("k", 0.7)
    m3 = b3.reaction("decay", "k*A", reactants={"A": 1}).build()
    assert m3.structure_hash() == m1.structure_hash()  # only numbers changed: no recompile
    assert m3.content_hash() != m1.content_hash()
    m4 = _base().reaction("decay", "k*A^2", reactants={"A": 1}).build()
    assert m4.structure_hash() != m1.structure_hash()
