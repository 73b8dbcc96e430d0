"""`mdrsim trial` and `mdrsim query` end to end (small trial on a tiny model)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mdrsim.cli import app
from tests.unit.trial.conftest import make_trial

runner = CliRunner()


@pytest.fixture
def trial_file(tmp_path: Path) -> Path:
    path = tmp_path / "trial.yaml"
    path.write_text(yaml.safe_dump(make_trial(tmp_path)))
    return path


def _help_files() -> list[str]:
    text = app.registered_commands[[c.name for c in app.registered_commands].index("trial")]
    doc = text.callback.__doc__ or ""  # type: ignore[union-attr]
    return re.findall(r"([a-z_]+\.(?:json|csv|png|html))", doc)


def test_trial_writes_every_file_named_in_its_help(trial_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["trial", str(trial_file), "--patients", "40", "--chunk-size", "15", "--workers", "1",
         "--out", str(out), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    named = _help_files()
    assert {"manifest.json", "summary.json", "report.html", "km.png"} <= set(named)
    for name in named:
        assert (out / name).is_file(), name
    for folder in ("patients", "endpoints/control", "endpoints/treated", "trajectories/treated"):
        assert list((out / folder).glob("chunk-*.parquet")), folder
    assert doc["n_patients"] == 40 and doc["control_arm"] == "control"
    assert [a["arm"] for a in doc["arms"]] == ["control", "treated"]
    assert doc["arms"][1]["hr_vs_control"] < 1.0  # the treated arm progresses later
    # The fixture bounds r above at 0.05 (lognormal median 0.01, cv 0.5): a few redraws.
    assert set(doc["population"]) == {"implausible_draws", "unmatched_draws"}
    assert doc["population"]["unmatched_draws"] == 0
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "treated" in html
    # Re-running into the same directory resumes: nothing left to do, same summary.
    again = runner.invoke(
        app,
        ["trial", str(trial_file), "--patients", "40", "--chunk-size", "15", "--workers", "1",
         "--out", str(out), "--json"],
    )  # fmt: skip
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["arms"] == doc["arms"]

    q = runner.invoke(
        app,
        ["query", str(out), "SELECT arm, count(*) AS n FROM endpoints GROUP BY arm ORDER BY arm",
         "--json"],
    )  # fmt: skip
    assert q.exit_code == 0, q.output
    rows = [["control", 40], ["treated", 40]]
    assert json.loads(q.stdout) == {"columns": ["arm", "n"], "rows": rows}
    table = runner.invoke(app, ["query", str(out), "SELECT count(*) AS n FROM patients"])
    assert table.exit_code == 0 and "40" in table.stdout


def test_trial_table_output(trial_file: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["trial", str(trial_file), "--patients", "12", "--workers", "1",
              "--out", str(tmp_path / "o")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "treated" in result.stdout and "ran 1 chunk(s)" in result.stdout


def test_bad_inputs_are_clear_errors(trial_file: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    doc = yaml.safe_load(trial_file.read_text())
    doc["population"]["parameters"]["r"]["cv"] = -1
    bad.write_text(yaml.safe_dump(doc))
    r = runner.invoke(app, ["trial", str(bad), "--patients", "5", "--out", str(tmp_path / "x")])
    assert r.exit_code == 2
    assert "population.parameters.r.cv: must be > 0" in r.output
    r = runner.invoke(
        app, ["trial", str(trial_file), "--patients", "0", "--out", str(tmp_path / "y")]
    )
    assert r.exit_code == 2 and "--patients must be between 1 and" in r.output
    r = runner.invoke(app, ["query", str(tmp_path), "SELECT 1"])
    assert r.exit_code == 2 and "not a trial directory" in r.output
