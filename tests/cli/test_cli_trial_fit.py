"""`mdrsim trial-fit` end to end on the shipped EORTC 62012 calibration (tiny budget): the
engine simulates the arm, the files named in the help are written, --json is one document,
and a bad file exits 2 with the field named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mdrsim.cli import app
from mdrsim.cli.trial_fit import FILES

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
runner = CliRunner()


@pytest.mark.slow
def test_trial_fit_writes_its_files(tmp_path: Path) -> None:
    out = tmp_path / "fit"
    res = runner.invoke(
        app,
        ["trial-fit", str(EXAMPLES / "calibration_eortc62012.yaml"), "--out", str(out),
         "--patients", "40", "--max-evaluations", "3", "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["evaluations"] == 3 and doc["patients"] == 40
    assert {t["kind"] for t in doc["targets"]} == {"fitted", "check"}
    assert sorted(Path(f).name for f in doc["files"]) == sorted(FILES)
    for name in FILES:
        assert (out / name).stat().st_size > 0, name
    # The fitted trial is a valid trial whose scenario path still resolves.
    fitted = yaml.safe_load((out / "fitted_trial.yaml").read_text())
    assert Path(fitted["simulator"]["scenario"]).is_file()
    free = doc["free"]["population.parameters.tum_r.median"]
    assert fitted["population"]["parameters"]["tum_r"]["median"] == pytest.approx(free)


def test_a_bad_calibration_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "cal.yaml"
    bad.write_text(
        "trial: trial.yaml\narm: a\nfree: [{path: population.parameters.x.median, lower: 2,"
        " upper: 1}]\nsurvival: [{endpoint: pfs, points: [[4, 0.5]], n: 10, source: made up}]\n"
    )
    res = runner.invoke(app, ["trial-fit", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "lower (2) must be < upper (1)" in res.output
    assert "Traceback" not in res.output
