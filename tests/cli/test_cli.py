"""The CLI end to end, through Typer's runner (same code path as the installed script)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from mdrsim import __version__
from mdrsim.cli import app

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tumour_mdr1.ant"
runner = CliRunner()

PK_MODEL = """
model pk()
  compartment central = 2.0;
  species C in central = 10.0;
  k_el = 0.5;
  elimination: C -> ; k_el*C*central;
  at (time >= 3): C = C + 4;
end
"""


@pytest.fixture
def pk_file(tmp_path: Path) -> Path:
    path = tmp_path / "pk.ant"
    path.write_text(PK_MODEL)
    return path


def test_version():
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0
    assert r.stdout.strip() == f"mdrsim {__version__}"


def test_simulate_writes_every_file_on_the_requested_grid(pk_file: Path, tmp_path: Path):
    out = tmp_path / "out"
    r = runner.invoke(
        app, ["simulate", str(pk_file), "--until", "6", "--points", "12", "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    for name in ("trajectories.parquet", "trajectories.csv", "plot.png", "provenance.json"):
        assert (out / name).stat().st_size > 0
    csv = pd.read_csv(out / "trajectories.csv")
    assert list(csv.columns)[:2] == ["time", "C"]
    np.testing.assert_allclose(csv["time"], np.linspace(0, 6, 13))
    # C(t) = 10 exp(-0.5 t), plus a bolus of 4 at t = 3 (reported just after it).
    t = csv["time"].to_numpy()
    expected = 10 * np.exp(-0.5 * t) + np.where(t >= 3, 4 * np.exp(-0.5 * (t - 3)), 0.0)
    np.testing.assert_allclose(csv["C"], expected, rtol=1e-5)
    table = pq.read_table(out / "trajectories.parquet")
    assert table.num_rows == 13
    assert b"mdrsim.provenance" in table.schema.metadata
    assert (out / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_simulate_json_is_one_document(pk_file: Path, tmp_path: Path):
    r = runner.invoke(
        app,
        [
            "simulate",
            str(pk_file),
            "--until",
            "2",
            "--out",
            str(tmp_path / "o"),
            "--param",
            "k_el=1.0",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["status"] == "ok"
    final_c = next(v["final"] for v in doc["variables"] if v["variable"] == "C")
    assert final_c == pytest.approx(10 * np.exp(-2.0), rel=1e-5)
    assert set(doc["files"]) == {
        "trajectories.parquet",
        "trajectories.csv",
        "plot.png",
        "provenance.json",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--param", "k_el"], "expected NAME=VALUE"),
        (["--param", "k_el=abc"], "is not a number"),
        (["--param", "kel=1"], "unknown parameter 'kel'"),
        (["--points", "0"], "--points must be between 1 and"),
        (["--rtol", "2"], "rtol must be in"),
    ],
)
def test_simulate_bad_arguments_are_clear_errors(pk_file, tmp_path, args, message):
    r = runner.invoke(
        app, ["simulate", str(pk_file), "--until", "1", "--out", str(tmp_path / "o"), *args]
    )
    assert r.exit_code == 2
    assert message in r.output


def test_missing_and_malformed_model_files(tmp_path: Path):
    r = runner.invoke(
        app, ["simulate", str(tmp_path / "nope.ant"), "--until", "1", "--out", str(tmp_path)]
    )
    assert r.exit_code == 2 and "does not exist" in r.output
    bad = tmp_path / "bad.ant"
    bad.write_text("model m()\n  x = = 3;\nend\n")
    r = runner.invoke(app, ["simulate", str(bad), "--until", "1", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "cannot read" in r.output


def test_export_sbml_then_simulate_the_export(pk_file: Path, tmp_path: Path):
    xml = tmp_path / "pk.xml"
    r = runner.invoke(app, ["export-sbml", str(pk_file), "-o", str(xml)])
    assert r.exit_code == 0, r.output
    assert 'level="3"' in xml.read_text() and 'version="2"' in xml.read_text()
    r = runner.invoke(
        app,
        [
            "simulate",
            str(xml),
            "--until",
            "6",
            "--points",
            "6",
            "--out",
            str(tmp_path / "x"),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output


def test_info_json(tmp_path: Path):
    model = tmp_path / "m.ant"
    shutil.copy(EXAMPLE, model)
    r = runner.invoke(app, ["info", str(model), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert len(doc["states"]) == 10 and len(doc["events"]) == 17
    assert {"Ts", "Tr", "Cp"} <= set(doc["states"])


def test_drugs_and_cell_lines_commands():
    r = runner.invoke(app, ["drugs", "list", "--json"])
    assert r.exit_code == 0, r.output
    drugs = json.loads(r.stdout)["drugs"]
    assert len(drugs) >= 16 and all(d["sources"] for d in drugs)
    r = runner.invoke(app, ["drugs", "show", "doxorubicin", "--json"])
    assert r.exit_code == 0 and "pgp_km" in json.loads(r.stdout)
    r = runner.invoke(app, ["drugs", "show", "doxorubicine"])
    assert r.exit_code == 2 and "did you mean" in r.output and "doxorubicin" in r.output
    r = runner.invoke(app, ["cell-lines", "list", "--json"])
    assert r.exit_code == 0 and any(c["id"] == "KB-3-1" for c in json.loads(r.stdout)["cell_lines"])
    r = runner.invoke(app, ["inhibitors", "list", "--json"])
    assert r.exit_code == 0 and len(json.loads(r.stdout)["inhibitors"]) == 6


def test_assay_ic50_json_and_files(tmp_path: Path):
    out = tmp_path / "assay"
    args = [
        "assay",
        "ic50",
        "--drug",
        "doxorubicin",
        "--cell-line",
        "MES-SA/Dx5",
        "--out",
        str(out),
    ]
    r = runner.invoke(app, [*args, "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    for key in (
        "drug",
        "cell_line",
        "ic50_uM",
        "parental_ic50_uM",
        "fold_resistance",
        "inhibitor",
        "reversal_factor",
    ):
        assert key in doc
    assert doc["reversal_factor"] is None and doc["inhibitor"] is None
    assert doc["fold_resistance"] == pytest.approx(9.0, rel=0.02)  # the calibration target
    assert (out / "ic50_curve.csv").stat().st_size > 0 and (
        out / "ic50_curve.png"
    ).stat().st_size > 0
    r = runner.invoke(app, [*args, "--inhibitor", "tariquidar:270 nM", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["reversal_factor"] > 3 and doc["inhibitor_uM"] == pytest.approx(0.27)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--inhibitor", "tariquidar"], "expected NAME:CONCENTRATION"),
        (["--inhibitor", "tariquidar:5 furlongs"], "unit"),
        (["--inhibitor", "tariquidr:1uM"], "did you mean"),
        (["--exposure", "-1h"], "must be > 0"),
    ],
)
def test_assay_bad_input(tmp_path: Path, extra, message):
    r = runner.invoke(
        app,
        [
            "assay",
            "ic50",
            "--drug",
            "doxorubicin",
            "--cell-line",
            "MES-SA/Dx5",
            "--out",
            str(tmp_path),
            *extra,
        ],
    )
    assert r.exit_code == 2
    assert message in r.output


def test_assay_accumulation(tmp_path: Path):
    r = runner.invoke(
        app,
        [
            "assay",
            "accumulation",
            "--probe",
            "rhodamine123",
            "--cell-line",
            "MES-SA/Dx5",
            "--concentration",
            "1 uM",
            "--out",
            str(tmp_path),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["end_of_efflux_uM"] < doc["peak_intracellular_uM"]
    r = runner.invoke(
        app,
        [
            "assay",
            "accumulation",
            "--probe",
            "rhodamine123",
            "--cell-line",
            "MES-SA",
            "--out",
            str(tmp_path),
            "--json",
        ],
    )
    parental = json.loads(r.stdout)
    assert (
        parental["peak_intracellular_uM"] > 3 * doc["peak_intracellular_uM"]
    )  # MDR cells retain less
    assert (tmp_path / "accumulation.csv").exists() and (tmp_path / "accumulation.png").exists()


def test_experiment_mdr1_tcells(tmp_path: Path):
    r = runner.invoke(
        app,
        ["experiment", "mdr1-tcells", "--schedule", "days0-3", "--out", str(tmp_path), "--json"],
    )
    assert r.exit_code == 0, r.output
    groups = {g["group"]: g for g in json.loads(r.stdout)["groups"]}
    assert len(groups) == 4
    assert groups["MDR1-deficient"]["peak_cells"] < groups["wild type"]["peak_cells"]
    for name in ("groups.csv", "trajectories.csv", "cd8_response.png"):
        assert (tmp_path / name).stat().st_size > 0
    r = runner.invoke(
        app, ["experiment", "mdr1-tcells", "--schedule", "weekly", "--out", str(tmp_path)]
    )
    assert r.exit_code == 2 and "allowed" in r.output
