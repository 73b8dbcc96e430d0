"""`mdrsim assay ic50|accumulation --fold DRUG:FOLD | --pgp-density D` (issue 17).

A line the library cannot calibrate runs from the user's measurement; the table, --json and the
provenance file say "user-supplied"; bad values exit 2 with the option named. The simulated
fold of the drug the user gave must be the user's number (2 %, the library's own calibration
tolerance) — the only expected value here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mdrsim.cli import app
from mdrsim.data import load_library

runner = CliRunner()


def _line_is_uncalibrated(line_id: str) -> bool:
    line = load_library().cell_lines[line_id]
    return line.pgp_density is None and (
        line.calibration_drug is None or line.calibration_drug not in line.fold_resistance
    )


def _ic50(tmp_path: Path, *extra: str) -> list[str]:
    return ["assay", "ic50", "--cell-line", "KB-V1", "--out", str(tmp_path), *extra]


def test_kb_v1_runs_from_the_users_fold_and_every_output_says_so(tmp_path: Path) -> None:
    r = runner.invoke(
        app, _ic50(tmp_path, "--drug", "vinblastine", "--fold", "vinblastine:200", "--json")
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["fold_resistance"] == pytest.approx(200.0, rel=0.02)
    assert doc["user_supplied"] == {
        "fold": {"drug": "vinblastine", "value": 200.0},
        "basis": "user-supplied",
    }
    assert doc["pgp_density_source"].startswith("user-supplied")
    provenance = json.loads((tmp_path / "ic50_provenance.json").read_text())
    assert provenance["user_supplied"] == doc["user_supplied"]
    assert provenance["command"] == "assay ic50" and provenance["exposure_h"] == 72.0
    # The printed table says it too (title and rows).
    r = runner.invoke(
        app,
        _ic50(tmp_path, "--drug", "doxorubicin", "--fold", "vinblastine:200"),
        env={"COLUMNS": "200"},
    )
    assert r.exit_code == 0, r.output
    assert "USER-SUPPLIED" in r.stdout
    assert "fold resistance 200 to vinblastine" in r.stdout
    assert "ic50_provenance.json" in r.stdout


def test_without_a_value_an_uncalibrated_line_points_to_the_options(tmp_path: Path) -> None:
    if not _line_is_uncalibrated("KB-V1"):
        pytest.skip("KB-V1 has published folds in the library now; the API test covers this")
    r = runner.invoke(app, _ic50(tmp_path, "--drug", "vinblastine"))
    assert r.exit_code == 2
    assert "--fold DRUG:FOLD" in r.output and "--pgp-density" in r.output


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--fold", "vinblastine"], "--fold 'vinblastine': allowed DRUG:FOLD"),
        (["--fold", "vinblastine:abc"], "--fold 'vinblastine:abc'"),
        (["--fold", "vinblastine:1"], "--fold 1.0: allowed a finite number > 1"),
        (["--fold", "vinblastine:-200"], "--fold -200.0"),
        (["--fold", "vinblastine:nan"], "--fold nan"),
        (["--fold", "vinblastin:200"], "did you mean"),
        (["--fold", "cisplatin:20"], "P-gp substrate"),
        (["--pgp-density", "-3.5"], "--pgp-density -3.5: allowed a finite number > 0"),
        (["--pgp-density", "three"], "--pgp-density 'three'"),
        (["--fold", "vinblastine:200", "--pgp-density", "3.5"], "give one of them"),
    ],
)
def test_bad_user_values_exit_2_naming_the_option(tmp_path: Path, extra, says) -> None:
    r = runner.invoke(app, _ic50(tmp_path, "--drug", "vinblastine", *extra), env={"COLUMNS": "300"})
    assert r.exit_code == 2, r.output
    assert says in " ".join(r.output.split())


def test_a_parental_line_refuses_a_user_density(tmp_path: Path) -> None:
    r = runner.invoke(
        app,
        [
            "assay", "ic50", "--drug", "vinblastine", "--cell-line", "KB-3-1",
            "--pgp-density", "3.5", "--out", str(tmp_path),
        ],
        env={"COLUMNS": "300"},
    )  # fmt: skip
    assert r.exit_code == 2
    assert "parental line" in r.output


def test_accumulation_takes_the_same_options(tmp_path: Path) -> None:
    r = runner.invoke(
        app,
        [
            "assay", "accumulation", "--probe", "rhodamine123", "--cell-line", "KB-V1",
            "--pgp-density", "3.5", "--out", str(tmp_path), "--json",
        ],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["pgp_density"] == 3.5
    assert doc["user_supplied"] == {"pgp_density": 3.5, "basis": "user-supplied"}
    provenance = json.loads((tmp_path / "accumulation_provenance.json").read_text())
    assert provenance["pgp_density_source"].startswith("user-supplied")
