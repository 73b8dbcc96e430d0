"""Shared builders for the io tests: small SBML documents and mdrsim models."""

from __future__ import annotations

from mdrsim.examples import example_path
from mdrsim.model import Model, ModelBuilder

REFERENCE_MODEL = example_path("trial_reference_model")  # the one copy of the reference model

MATHML = 'xmlns="http://www.w3.org/1998/Math/MathML"'


def sbml_document(body: str, *, version: int = 2) -> str:
    """An SBML Level 3 document whose <model id="m"> contains ``body``."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<sbml xmlns="http://www.sbml.org/sbml/level3/version{version}/core" '
        f'level="3" version="{version}">\n'
        f'<model id="m">{body}</model>\n</sbml>\n'
    )


def math(content: str) -> str:
    return f"<math {MATHML}>{content}</math>"


def parameters(*specs: str) -> str:
    """``"k=2"`` is a constant parameter, ``"x~0"`` a non-constant one."""
    items = []
    for spec in specs:
        constant = "=" in spec
        name, value = spec.split("=" if constant else "~")
        items.append(
            f'<parameter id="{name}" value="{value}" constant="{"true" if constant else "false"}"/>'
        )
    return "<listOfParameters>" + "".join(items) + "</listOfParameters>"


def assignment_rule(variable: str, content: str) -> str:
    return (
        f'<listOfRules><assignmentRule variable="{variable}">{math(content)}'
        "</assignmentRule></listOfRules>"
    )


def full_model() -> Model:
    """A model that uses every feature of the IR."""
    b = ModelBuilder("full_model", description="every feature\nwith <xml> & 'quotes'")
    b.compartment("cell", 2.0, unit="L", description="the cell", source="assumed: illustrative")
    b.compartment("blood", 5.0, unit="L")
    b.species("A", 1.0, compartment="cell", unit="uM", description="substrate")
    b.species(
        "B", 0.1 + 0.2, compartment="cell", unit="umol", amount_based=True, non_negative=False
    )
    b.species("C", 0.5, compartment="blood", unit="uM", boundary=True)
    b.species("D", 2.0, compartment="blood", unit="uM", constant=True, source="measured")
    b.parameter("k1", 0.5, unit="1/d", bounds=(0.1, 2.0), source="Smith 2020, table 2")
    b.parameter("k2", 1 / 3, unit="1/d", bounds=(0.0, float("inf")))
    b.parameter("Km", 1e-7, unit="uM", description="half-saturation")
    b.parameter("x", 1.0, constant=False)
    b.parameter("y", 0.0, constant=False)
    b.parameter("z", 0.0, constant=False)
    b.parameter("dose", 3.0, unit="umol")
    b.parameter("counter", 0.0, constant=False)
    b.reaction(
        "conversion",
        "k1 * A * cell / (Km + A) - k2 * B",
        reactants={"A": 2},
        products={"B": 1},
        reversible=True,
        description="2 A -> B",
    )
    b.reaction("influx", "k2 * C * blood", products={"A": 1})
    b.assignment_rule("y", "exp(-k1 * x) + log(A + 1)")
    b.assignment_rule("z", "max(y, 0.5) * min(A, B, D) + piecewise(1, time > 10, 0)")
    b.rate_rule("x", "-k2 * x + 0.1")
    b.initial_assignment("counter", "2 * dose")
    b.observable("total", "A * cell + B", unit="umol", description="all of it")
    b.event("dosing", "time >= 5", {"B": "B + dose", "counter": "counter + 1"}, description="bolus")
    b.event("depleted", "A < 0.5", {"counter": "0"}, initial_value=False, persistent=False)
    return b.build()
