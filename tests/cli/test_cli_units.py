"""``--param NAME=VALUE UNIT`` at the CLI: converted to the model's declared unit with pint, or
refused naming the parameter, the value, the unit given and the unit expected; ``mdrsim info``
shows the declared units and their dimensions."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from mdrsim.cli import app

runner = CliRunner()

# Antimony unit statements: k_el is per day, C in µM. 0.02 per hour = 0.48 per day.
MODEL = """
model pk()
  unit day = 86400 second;
  unit per_day = 1 / day;
  unit uM = 1e-6 mole / litre;
  unit volume = litre;
  unit substance = 1e-6 mole;
  unit time_unit = day;
  unit extent = 1e-6 mole;
  compartment central = 1.0;
  central has volume;
  species C in central = 10.0;
  C has uM;
  k_el = 0.5;
  k_el has per_day;
  elimination: C -> ; k_el*C*central;
end
"""


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "pk.ant"
    path.write_text(MODEL)
    return path


def _final_c(model_file: Path, out: Path, *params: str) -> float:
    args = ["simulate", str(model_file), "--until", "2", "--points", "4", "--out", str(out)]
    for p in params:
        args += ["--param", p]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    return float(pd.read_csv(out / "trajectories.csv")["C"].iloc[-1])


def test_param_with_a_unit_is_converted(model_file: Path, tmp_path: Path) -> None:
    plain = _final_c(model_file, tmp_path / "a", "k_el=0.48")
    per_hour = _final_c(model_file, tmp_path / "b", "k_el=0.02 1/h")
    assert per_hour == pytest.approx(plain, rel=1e-9)
    # The initial amount in nM: 5000 nM = 5 µM, half the default 10 µM.
    half = _final_c(model_file, tmp_path / "c", "k_el=0.48", "C=5000 nM")
    assert half == pytest.approx(plain / 2, rel=1e-6)


def test_param_with_a_wrong_dimension_is_refused(model_file: Path, tmp_path: Path) -> None:
    r = runner.invoke(
        app,
        ["simulate", str(model_file), "--until", "1", "--out", str(tmp_path / "o"),
         "--param", "k_el=2 L"],
    )  # fmt: skip
    assert r.exit_code == 2
    text = " ".join(r.output.split())
    assert "--param k_el" in text and "2 'L'" in text and "86400" in text


def test_info_shows_declared_units(model_file: Path) -> None:
    r = runner.invoke(app, ["info", str(model_file), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    units = {u["id"]: u for u in doc["units"]}
    assert units["per_day"]["dimension"] == "1 / time"
    assert units["uM"]["dimension"] == "substance / length ** 3"
    rows = {c["name"]: c for c in doc["components"]}
    assert rows["k_el"]["dimension"] == "1 / time"


def test_info_checks_the_declared_units_of_the_equations(model_file: Path, tmp_path: Path) -> None:
    """libSBML's unit check: the model above is consistent; declaring k_el in µM instead of per
    day makes its kinetic law µM·µM·L instead of µmol/d, and info names the kinetic law."""
    doc = json.loads(runner.invoke(app, ["info", str(model_file), "--json"]).stdout)
    assert doc["unit_consistency"]["problems"] == []
    wrong = tmp_path / "wrong.ant"
    wrong.write_text(MODEL.replace("k_el has per_day;", "k_el has uM;"))
    r = runner.invoke(app, ["info", str(wrong), "--json"])
    assert r.exit_code == 0, r.output
    (problem,) = json.loads(r.stdout)["unit_consistency"]["problems"]
    assert "kineticLaw" in problem and "substance per time" in problem


def test_scan_param_fixes_a_value_in_another_unit(model_file: Path, tmp_path: Path) -> None:
    def final(param: str, out: str) -> float:
        r = runner.invoke(
            app,
            ["scan", str(model_file), "--vary", "C=5,10", "--output", "final(C)",
             "--until", "2", "--points", "4", "--out", str(tmp_path / out), "--json",
             "--param", param],
        )  # fmt: skip
        assert r.exit_code == 0, r.output
        return float(json.loads(r.stdout)["rows"][1]["final(C)"])

    assert final("k_el=0.02 1/h", "a") == pytest.approx(final("k_el=0.48", "b"), rel=1e-9)
    r = runner.invoke(
        app,
        ["scan", str(model_file), "--vary", "C=5,10", "--output", "final(C)", "--until", "2",
         "--out", str(tmp_path / "c"), "--param", "k_el=1 mg"],
    )  # fmt: skip
    assert r.exit_code == 2 and "k_el" in r.output and "'mg'" in r.output


def test_run_param_converts_to_the_patient_model_unit(tmp_path: Path) -> None:
    """CL_doxorubicin is declared in L/h: 500 mL/min is 30 L/h (× 60 min/h ÷ 1000 mL/L)."""
    example = Path(__file__).resolve().parents[2] / "examples" / "doxorubicin.yaml"

    def run(param: str, out: str) -> dict:  # type: ignore[type-arg]
        r = runner.invoke(
            app,
            ["run", str(example), "--no-figures", "--no-progress", "--json",
             "--out", str(tmp_path / out), "--param", param],
        )  # fmt: skip
        assert r.exit_code == 0, r.output
        return json.loads(r.stdout)  # type: ignore[no-any-return]

    per_min = run("CL_doxorubicin=500 mL/min", "a")
    per_hour = run("CL_doxorubicin=30", "b")
    assert per_min["provenance"]["parameter_overrides"] == {"CL_doxorubicin": pytest.approx(30.0)}

    # Everything but the provenance (creation time) and the output folder is the same.
    def endpoints(doc: dict) -> dict:  # type: ignore[type-arg]
        return {k: v for k, v in doc.items() if k not in ("provenance", "out")}

    assert endpoints(per_min) == endpoints(per_hour) and len(endpoints(per_hour)) > 3
    r = runner.invoke(
        app,
        ["run", str(example), "--no-figures", "--no-progress", "--out", str(tmp_path / "c"),
         "--param", "CL_doxorubicin=30 mg"],
    )  # fmt: skip
    assert r.exit_code == 2
    text = " ".join(r.output.split())
    assert "--param CL_doxorubicin" in text and "'mg'" in text and "'L/h'" in text
