"""``mdrsim tumour resistance-at-diagnosis`` through Typer's runner."""

from __future__ import annotations

import json
import math

from typer.testing import CliRunner

from mdrsim.cli import app

runner = CliRunner()
ARGS = ["tumour", "resistance-at-diagnosis", "--cells", "1e5", "--mutation-rate", "1e-5"]


def test_json_document():
    res = runner.invoke(app, [*ARGS, "--trajectories", "300", "--seed", "1", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    # Goldie & Coldman 1979: 1 - exp(-mu (N - 1)).
    assert math.isclose(doc["analytic_probability"], 1 - math.exp(-1e-5 * (1e5 - 1)), rel_tol=1e-4)
    assert doc["ci_low"] <= doc["probability"] <= doc["ci_high"]
    assert doc["n_trajectories"] == 300 and doc["seed"] == 1
    assert set(doc["resistant_cells_quantiles"]) == {"0.5", "0.9", "0.99"}
    again = runner.invoke(app, [*ARGS, "--trajectories", "300", "--seed", "1", "--json"])
    assert json.loads(again.stdout) == doc  # a seed repeats the run


def test_table_with_death_and_large_tumour():
    res = runner.invoke(
        app,
        [
            "tumour",
            "resistance-at-diagnosis",
            "--cells",
            "1e9",
            "--mutation-rate",
            "1e-6",
            "--birth",
            "0.5",
            "--death",
            "0.1",
            "--trajectories",
            "100",
            "--seed",
            "2",
        ],
    )
    assert res.exit_code == 0, res.output
    for text in ("probability (simulated)", "probability (analytic)", "CI", "mean resistant"):
        assert text in res.output


def test_bad_input_is_a_clear_error():
    res = runner.invoke(app, [*ARGS, "--method", "euler"])
    assert res.exit_code == 2
    assert "method" in res.output and "tau" in res.output
