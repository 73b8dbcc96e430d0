"""``mdrsim scan``, ``mdrsim sensitivity`` and ``mdrsim frontier``: files, one JSON document,
and the CLI's error contract (exit 2, one ``error:`` line on stderr, nothing on stdout)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mdrsim.cli import app

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "examples" / "doxorubicin_tariquidar.yaml"
runner = CliRunner()

DECAY = """
model decay()
  y' = -k*y;
  y = 2;
  k = 0.3;
  c = 1;
end
"""


@pytest.fixture
def model(tmp_path: Path) -> Path:
    p = tmp_path / "decay.ant"
    p.write_text(DECAY)
    return p


def _json(argv: list[str]) -> dict:
    r = runner.invoke(app, argv)
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert len(lines) == 1
    return json.loads(lines[0], parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))


def test_scan_of_a_model_two_factors(model: Path, tmp_path: Path) -> None:
    out = tmp_path / "scan"
    doc = _json(
        ["scan", str(model), "--vary", "k=0.1:0.4:4", "--vary", "y=1,2", "--output", "y@3",
         "--output", "auc(y)", "--until", "3", "--out", str(out), "--json"]
    )  # fmt: skip
    assert doc["n_points"] == 8 and doc["n_failed"] == 0
    row = doc["rows"][0]
    assert row["k"] == pytest.approx(0.1) and row["y"] == 1.0
    assert row["y@3"] == pytest.approx(1.0 * 2.718281828459045 ** (-0.3), rel=1e-5)
    for name in ("scan.csv", "scan.parquet", "scan_y_3.png", "scan_auc_y.png"):
        assert (out / name).is_file(), name


def test_local_sensitivity_of_a_model(model: Path, tmp_path: Path) -> None:
    doc = _json(
        ["sensitivity", str(model), "--method", "local", "--factor", "k", "--output", "y@3",
         "--until", "3", "--out", str(tmp_path / "s"), "--json"]
    )  # fmt: skip
    (row,) = doc["indices"]
    assert row["coefficient"] == pytest.approx(-0.3 * 3, abs=1e-4)  # d ln y / d ln k = -k t
    assert row["method"] == "forward sensitivities" and doc["runs"] == 1
    assert (tmp_path / "s" / "tornado.png").is_file()
    # Time courses: d ln y(t)/d ln k = -k t at every time of the grid.
    import pandas as pd

    courses = pd.read_csv(tmp_path / "s" / "time_courses.csv")
    y = courses[courses["variable"] == "y"]
    assert len(y) > 10
    assert (y["coefficient"] - (-0.3 * y["time"])).abs().max() < 1e-4


def test_sobol_of_a_model_writes_convergence(model: Path, tmp_path: Path) -> None:
    out = tmp_path / "sob"
    r = runner.invoke(
        app,
        ["sensitivity", str(model), "--factor", "k=0.1:1", "--factor", "y=1:3", "--n", "16",
         "--output", "y@2", "--until", "2", "--out", str(out)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "largest change from N=16 to 2N" in r.stdout
    for name in ("sensitivity.csv", "runs.parquet", "convergence.csv", "tornado.png"):
        assert (out / name).is_file(), name


def test_frontier_of_a_scenario(tmp_path: Path) -> None:
    out = tmp_path / "fr"
    doc = _json(
        ["frontier", str(SCENARIO), "--vary", "lines[0].doses[0].dose=60,75",
         "--vary", "lines[0].inhibitors[0].concentration_uM=0.01,0.27", "--out", str(out),
         "--json"]
    )  # fmt: skip
    assert doc["n_points"] == 4
    front = doc["fronts"]["cd8_memory_ratio"]
    assert front and all(p["status"] == "ok" for p in front)
    assert (out / "frontier.png").is_file() and (out / "frontier.csv").is_file()


# Command lines (split on spaces) and the text the error must contain.
BAD = [
    ("scan {model} --vary kk=1,2 --output y@1 --until 1", "did you mean"),
    ("scan {model} --vary k=1,2 --output y@1", "--until"),
    ("scan {model} --vary k=1:2 --output y@1 --until 1", "--vary"),
    ("scan {model} --vary k=1,2 --output mean(y) --until 1", "--output"),
    ("scan {model} --vary k=1,2 --output y@5 --until 1", "after the end"),
    ("sensitivity {model} --factor k --method fast --until 1", "allowed"),
    ("sensitivity {model} --factor k --factor c --n 10 --output y@1 --until 1 --json", "power"),
    ("scan {scenario} --vary lines[0].doses[0].dos=1,2 --json", "did you mean"),
    ("scan {scenario} --vary lines[0].doses[0].dose=-1,2", "greater than 0"),
    ("scan {scenario} --vary d_ox=1,2 --output pfss", "not a numeric endpoint"),
    ("frontier {scenario} --vary lines[0].doses[0].dose=60,75 --tumour-output anc", "objective"),
]


@pytest.mark.parametrize(("argv", "text"), BAD, ids=lambda v: str(v)[:50])
def test_bad_input_fails_with_one_error_line(
    model: Path, tmp_path: Path, argv: str, text: str
) -> None:
    args = [a.format(model=model, scenario=SCENARIO) for a in argv.split()]
    args += ["--out", str(tmp_path / "o")]
    r = runner.invoke(app, args)
    assert r.exit_code == 2, (args, r.output)
    assert r.stdout == ""
    assert r.stderr.startswith("error: "), r.stderr
    assert text in r.stderr
    assert "Traceback" not in r.output
