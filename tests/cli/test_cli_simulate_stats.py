"""`mdrsim simulate --json` reports the solver's step count for every method (issue 11: the
scipy path used to report 0 because the CLI read a column that path never filled)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mdrsim.cli import app

runner = CliRunner()

# Decay with a dose at t = 3: the solvers restart there, so steps are taken on both sides.
PK_MODEL = """
model pk()
  compartment central = 2.0;
  species C in central = 10.0;
  k_el = 0.5;
  elimination: C -> ; k_el*C*central;
  at (time >= 3): C = C + 4;
end
"""


@pytest.mark.parametrize("method", ["rodas4", "scipy-radau", "scipy-bdf", "scipy-lsoda"])
def test_simulate_json_reports_steps_for_every_method(tmp_path: Path, method: str):
    model = tmp_path / "pk.ant"
    model.write_text(PK_MODEL)
    r = runner.invoke(
        app,
        [
            "simulate",
            str(model),
            "--until",
            "6",
            "--points",
            "6",
            "--method",
            method,
            "--out",
            str(tmp_path / "o"),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["status"] == "ok"
    # At least one step on each side of the dose; an integrator on [0, 6] with rtol 1e-6
    # takes far more than 2, and none takes more than the model allows.
    assert isinstance(doc["steps"], int)
    assert 2 < doc["steps"] < 10_000
