"""Physical ranges declared where a quantity is defined (mdrsim.model.domain): every value
given for it — a sampled patient, a ``--param`` override, a scenario field — is checked
against that one declaration, and the refusal names the field, the value and the range."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import mdrsim.patient.model as patient_model
from mdrsim.data.library import load_library
from mdrsim.errors import ModelValidationError, PhysicalBoundsError, ScenarioError
from mdrsim.model import Model, ModelBuilder
from mdrsim.model.domain import below, fraction, positive
from mdrsim.patient.scenario import parse_scenario

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _model(**defaults: float) -> Model:
    v = {"CL": 5.0, "f": 0.3, "K": 100.0, "T": 10.0, **defaults}
    b = ModelBuilder("declared")
    b.parameter("CL", v["CL"], unit="L/h", domain=positive("a clearance"))
    b.parameter("f", v["f"], unit="fraction", domain=fraction("a fraction"))
    b.parameter("K", v["K"], domain=positive("a carrying capacity"))
    b.species("T", v["T"], domain=below("K", 100.0, "cells below the capacity K"))
    b.species("D", 1.0)  # built here: declared non-negative
    b.reaction("growth", "T*(1 - T/K)", products={"T": 1})
    b.reaction("clearance", "CL*(1 - f)*D", reactants={"D": 1})
    return b.build()


@pytest.mark.parametrize(
    ("values", "field", "shown"),
    [
        ({"CL": -2.0}, "CL", r"-2 is outside its physical range 0 < x \(a clearance\)"),
        ({"CL": 0.0}, "CL", r"0 is outside .*0 < x"),
        ({"f": 1.2}, "f", r"1\.2 is outside its physical range 0 <= x <= 1 \(a fraction\)"),
        ({"T": 150.0}, "T", r"150 is outside .*x <= K.*K = 100"),
        ({"T": 50.0, "K": 40.0}, "T", r"50 is outside .*K = 40"),  # the bound given with it
        ({"D": -1.0}, "D", r"-1 is outside .*0 <= x \(declared non-negative\)"),
        ({"CL": np.array([1.0, float("nan")])}, "CL", r"nan is outside .*\(patient 1\)"),
    ],
)
def test_a_value_outside_its_declared_range_is_refused_naming_field_value_and_range(
    values: dict[str, Any], field: str, shown: str
) -> None:
    with pytest.raises(PhysicalBoundsError, match=rf"value {field}: {shown}"):
        _model().check_values(values, "value")


def test_values_inside_the_declared_range_pass() -> None:
    _model().check_values({"CL": 1e-9, "f": 1.0, "T": 100.0, "D": 0.0, "K": 1.0e3})


def test_a_default_outside_its_declared_range_is_a_model_error() -> None:
    with pytest.raises(ModelValidationError, match=r"parameter 'f': 1\.5 is outside"):
        _model(f=1.5)
    with pytest.raises(ModelValidationError, match=r"species 'T': 200 is outside .*K = 100"):
        _model(T=200.0)


def _assembled(monkeypatch: pytest.MonkeyPatch, scenario: Path) -> Model:
    """The patient model's IR as build_patient_model assembles it (compilation skipped)."""
    built: list[Model] = []

    class _Stub:
        def __init__(self, model: Model) -> None:
            self.model = model

    def capture(model: Model) -> _Stub:
        built.append(model)
        return _Stub(model)

    monkeypatch.setattr(patient_model, "compile_model", capture)
    library = load_library()
    sc = parse_scenario(scenario.read_text(), source=str(scenario), library=library)
    patient_model.build_patient_model(sc, library)
    return built[0]


def _undeclared(model: Model) -> list[str]:
    samplable = [*model.parameter_names(), *model.state_names()]
    return [n for n in samplable if model.domain_of(n) is None]


@pytest.mark.parametrize(
    "scenario",
    # scenario examples (trial and calibration files are other kinds of example)
    sorted(
        p.name for p in EXAMPLES.glob("*.yaml") if not p.name.startswith(("trial", "calibration"))
    ),
)
def test_every_samplable_name_of_the_patient_model_declares_its_range(
    monkeypatch: pytest.MonkeyPatch, scenario: str
) -> None:
    model = _assembled(monkeypatch, EXAMPLES / scenario)
    assert _undeclared(model) == []
    # Spot checks of what is declared (by the definition, not by the name).
    assert model.domain_of("CL_doxorubicin") is not None
    assert model.domain_of("CL_doxorubicin").problem("CL", -1.0) is not None  # type: ignore[union-attr]
    assert model.domain_of("T_parental").upper_name == "tum_K"  # type: ignore[union-attr]


def test_the_undeclared_check_can_fail() -> None:
    b = ModelBuilder("m")
    b.parameter("k", 1.0)  # nothing declared
    b.species("x", 1.0)
    b.reaction("decay", "k*x", reactants={"x": 1})
    assert _undeclared(b.build()) == ["k"]


def test_scenario_fields_use_the_declared_ranges() -> None:
    text = (EXAMPLES / "doxorubicin.yaml").read_text()
    for old, new, field in [
        ("bsa_m2: 1.8", "bsa_m2: 4.0", "bsa_m2"),
        ("bsa_m2: 1.8", "bsa_m2: -1.8", "bsa_m2"),
    ]:
        assert old in text
        with pytest.raises(ScenarioError, match=field):
            parse_scenario(text.replace(old, new, 1), source="t", library=load_library())


def test_the_declared_range_survives_sbml_export_and_import() -> None:
    from mdrsim.io.sbml import read_sbml_string, write_sbml

    back = read_sbml_string(write_sbml(_model()))
    assert back.domain_of("CL") == _model().domain_of("CL")
    assert back.domain_of("T") == _model().domain_of("T")
    with pytest.raises(PhysicalBoundsError, match=r"value f: 1\.2"):
        back.check_values({"f": 1.2}, "value")


def test_an_sbml_species_without_mdrsim_metadata_declares_no_sign() -> None:
    from mdrsim.io.antimony import read_antimony

    model = read_antimony("model m()\n  species x = 1;\n  decay: x -> ; 2;\nend\n")
    assert model.species["x"].non_negative is False
    assert model.domain_of("x") is None


def test_simulate_and_param_refuse_a_value_outside_the_declared_range(tmp_path: Path) -> None:
    from mdrsim.cli import app
    from mdrsim.engine import simulate
    from mdrsim.io.sbml import write_sbml

    with pytest.raises(PhysicalBoundsError, match=r"value of CL: -1 is outside .*0 < x"):
        simulate(_model(), until=1.0, points=2, params={"CL": -1.0})
    path = tmp_path / "declared.xml"
    path.write_text(write_sbml(_model()))
    out = CliRunner().invoke(
        app, ["simulate", str(path), "--until", "1", "--out", str(tmp_path / "o"), "--param",
              "f=1.2"],
    )  # fmt: skip
    assert out.exit_code == 2, out.output
    assert "f: 1.2 is outside its physical range 0 <= x <= 1" in out.output


def test_the_library_schema_and_the_model_agree_on_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    """A library number that passes the library schema can enter the model (the model's
    declared range is never narrower), and a negative one is refused by both."""
    from pydantic import TypeAdapter, ValidationError

    from mdrsim.data import schema

    model = _assembled(monkeypatch, EXAMPLES / "doxorubicin_tariquidar.yaml")
    pairs = [  # model name ← library field type (unit)
        ("CL_doxorubicin", schema.Clearance, "L/h"),
        ("Q2_doxorubicin", schema.Flow, "L/h"),
        ("doxorubicin_V1", schema.Volume, "L"),
        ("MW_doxorubicin", schema.MolarMass, "g/mol"),
        ("fpgp_doxorubicin", schema.Fraction, "fraction"),
        ("marrow_slope_doxorubicin", schema.PerMicromolar, "L/umol"),
        ("neut_mtt", schema.Hours, "h"),
        ("neut_gamma", schema.PositiveNumber, "1"),
        ("neut_circ0", schema.CellsPerLitre, "1e9/L"),
        ("tum_EC50_doxorubicin", schema.ConcUM, "uM"),
    ]
    for name, kind, unit in pairs:
        domain = model.domain_of(name)
        assert domain is not None, name
        adapter = TypeAdapter(kind)
        for v in (-1.0, 0.0, 1e-9, 0.5, 1.0, 2.0, 1e6):
            try:
                adapter.validate_python({"value": v, "unit": unit, "source": "test"})
            except ValidationError:
                library_ok = False
            else:
                library_ok = True
            if library_ok:
                assert domain.inside(v), (name, v, domain.describe())
            if v < 0:
                assert not library_ok and not domain.inside(v), (name, v)


def test_every_library_drug_builds_pk_whose_numbers_lie_in_their_declared_ranges() -> None:
    """Each drug of the library with systemic PK (linear or saturable, 1-3 compartments):
    the PK module declares every name it adds, and validation finds the library's numbers
    inside those ranges (paclitaxel's linear clearance is 0 beside saturable elimination)."""
    from mdrsim.biology.pk import add_pk
    from mdrsim.errors import LibraryGapError
    from mdrsim.patient.library_bridge import pk_from_library
    from mdrsim.regimen.schedule import Patient

    library = load_library()
    built = 0
    for drug in library.drugs:
        try:
            pk = pk_from_library(drug, Patient(bsa_m2=1.8, weight_kg=70.0), library)
        except LibraryGapError:
            continue  # no systemic PK in the library: not a model drug
        b = ModelBuilder(f"pk_{drug}")
        add_pk(b, drug, pk)
        model = b.build()  # validation: every default inside its declared range
        assert _undeclared(model) == [], drug
        built += 1
    assert built >= 3
