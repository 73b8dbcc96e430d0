"""``mdrsim fit`` and ``mdrsim profile`` end to end on a small PEtab problem written here.

The problem: A → (k) with A(0) = a0 in two conditions, A measured without noise at five times
with an estimated noise sd (log10 scale) and an output scale ``scale·A``. The truth (k = 0.3,
scale = 2) comes from the closed form ``a0·exp(−k t)``, not from mdrsim. A second problem whose
observable is 0 everywhere under a log-normal noise model cannot be evaluated at any start:
its fit must fail with exit 1 and no parameters.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mdrsim.cli import app
from mdrsim.io import read_antimony, write_sbml

runner = CliRunner()
TRUTH = {"k": 0.3, "scale": 2.0}
TIMES = np.array([0.5, 1.0, 2.0, 4.0, 6.0])
FIT_FILES = [
    "fit.json",
    "starts.parquet",
    "starts.csv",
    "best.json",
    "data_vs_fit.csv",
    "waterfall.png",
    "data_vs_fit.png",
    "fit_report.html",
]
PROFILE_SUFFIXES = [".parquet", ".csv", ".json", ".png"]

MODEL = """
model decay
  compartment cell = 1
  species A in cell = 1; species B in cell = 0
  k = 0.5
  R1: A -> ; k * A
end
"""


def write_problem(folder: Path, observable: str = "scale * A", transformation: str = "lin") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.xml").write_text(write_sbml(read_antimony(MODEL)), encoding="utf-8")
    rows = [
        ("obs", cond, TRUTH["scale"] * a0 * math.exp(-TRUTH["k"] * t), t)
        for cond, a0 in (("c1", 1.0), ("c2", 3.0))
        for t in TIMES
    ]
    pd.DataFrame(
        rows, columns=["observableId", "simulationConditionId", "measurement", "time"]
    ).to_csv(folder / "measurements.tsv", sep="\t", index=False)
    pd.DataFrame({"conditionId": ["c1", "c2"], "A": [1.0, 3.0]}).to_csv(
        folder / "conditions.tsv", sep="\t", index=False
    )
    pd.DataFrame(
        {
            "observableId": ["obs"],
            "observableFormula": [observable],
            "noiseFormula": ["sd"],
            "observableTransformation": [transformation],
        }
    ).to_csv(folder / "observables.tsv", sep="\t", index=False)
    pd.DataFrame(
        {
            "parameterId": ["k", "scale", "sd"],
            "parameterScale": ["log10", "lin", "log10"],
            "lowerBound": [1e-2, 0.1, 1e-3],
            "upperBound": [10.0, 10.0, 1.0],
            "nominalValue": [0.5, 1.0, 0.1],
            "estimate": [1, 1, 1],
        }
    ).to_csv(folder / "parameters.tsv", sep="\t", index=False)
    (folder / "problem.yaml").write_text(
        "format_version: 1\nparameter_file: parameters.tsv\nproblems:\n"
        "- condition_files: [conditions.tsv]\n  measurement_files: [measurements.tsv]\n"
        "  observable_files: [observables.tsv]\n  sbml_files: [model.xml]\n",
        encoding="utf-8",
    )
    return folder / "problem.yaml"


@pytest.fixture(scope="module")
def problem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_problem(tmp_path_factory.mktemp("petab"))


@pytest.fixture(scope="module")
def fitted(problem: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("fit")
    result = runner.invoke(
        app, ["fit", str(problem), "--starts", "3", "--seed", "1", "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    # one strict JSON document: no NaN / Infinity
    doc = json.loads(result.stdout, parse_constant=lambda c: pytest.fail(f"non-standard {c}"))
    return out, doc


def test_help_names_every_file_written() -> None:
    fit_help = runner.invoke(app, ["fit", "--help"], terminal_width=200)
    assert fit_help.exit_code == 0
    for name in FIT_FILES:
        assert name in fit_help.output, name
    prof_help = runner.invoke(app, ["profile", "--help"], terminal_width=200)
    assert prof_help.exit_code == 0
    for suffix in PROFILE_SUFFIXES:
        assert f"profile_NAME{suffix}" in prof_help.output, suffix
    assert "fit_report.html" in prof_help.output


def test_fit_writes_every_file_and_recovers_the_truth(fitted: tuple[Path, dict]) -> None:
    out, doc = fitted
    for name in FIT_FILES:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert doc["status"] == "converged" and doc["n_starts"] == 3 and doc["n_converged"] >= 1
    assert sorted(Path(f).name for f in doc["files"]) == sorted(FIT_FILES)
    # Noise-free data: the optimum is the truth (closed form), the fit reproduces the data.
    assert doc["parameters"]["k"] == pytest.approx(TRUTH["k"], rel=1e-3)
    assert doc["parameters"]["scale"] == pytest.approx(TRUTH["scale"], rel=1e-3)
    points = pd.read_csv(out / "data_vs_fit.csv")
    assert len(points) == 2 * TIMES.size
    np.testing.assert_allclose(points["simulation"], points["measurement"], rtol=1e-3)


def test_best_json_on_both_scales(fitted: tuple[Path, dict]) -> None:
    out, doc = fitted
    best = json.loads((out / "best.json").read_text())
    assert best["status"] == "converged"
    for p in best["parameters"]:
        expected = 10 ** p["estimate_scaled"] if p["scale"] == "log10" else p["estimate_scaled"]
        assert p["estimate"] == pytest.approx(expected, rel=1e-12), p
        assert best["linear"][p["id"]] == p["estimate"]
        assert best["parameter_scale"][p["id"]] == p["estimate_scaled"]
    assert best["linear"] == doc["parameters"]
    # best.json is the best *converged* row of the starts table
    starts = pd.read_parquet(out / "starts.parquet")
    ok = starts[starts["status"] == "converged"]
    assert best["objective"] == pytest.approx(ok["objective"].min(), rel=1e-12)
    assert best["llh"] == pytest.approx(-best["objective"], rel=1e-9)  # no priors here


def test_starts_table_parquet_equals_csv(fitted: tuple[Path, dict]) -> None:
    out, _ = fitted
    parquet = pd.read_parquet(out / "starts.parquet")
    csv = pd.read_csv(out / "starts.csv", keep_default_na=False, na_values=[""])
    assert len(parquet) == 3 and list(parquet.columns) == list(csv.columns)
    for col in ("start", "status", "objective", "k", "scale", "sd", "start_k"):
        assert col in parquet.columns
    pd.testing.assert_series_equal(parquet["objective"], csv["objective"], rtol=1e-12)
    assert set(parquet["status"]) <= {"converged", "failed"}


def test_fit_report_is_self_contained(fitted: tuple[Path, dict]) -> None:
    out, _ = fitted
    text = (out / "fit_report.html").read_text(encoding="utf-8")
    assert "Content-Security-Policy" in text
    assert "http://" not in text and "https://" not in text
    assert text.count("data:image/png;base64,") >= 2  # waterfall + data vs fit
    assert "not profiled" in text


def test_profile_from_the_fit(problem: Path, fitted: tuple[Path, dict]) -> None:
    out, _ = fitted
    result = runner.invoke(
        app, ["profile", str(problem), "--parameter", "k", "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    for suffix in PROFILE_SUFFIXES:
        assert (out / f"profile_k{suffix}").is_file(), suffix
    lo, hi = doc["ci"]
    assert lo is not None and hi is not None
    assert lo < TRUTH["k"] < hi  # a closed interval around the truth
    assert doc["ci_scaled"][0] == pytest.approx(math.log10(lo), rel=1e-12)
    table = pd.read_csv(out / "profile_k.csv")
    assert (table["delta"] >= -1e-6).all()  # the fit was an optimum
    text = (out / "fit_report.html").read_text(encoding="utf-8")
    assert "95% closed" in text and "Profile likelihood of k" in text


def test_fit_where_no_start_converges_fails(tmp_path: Path) -> None:
    # The observable is B, which stays 0: log-normal noise cannot evaluate it at any start.
    bad = write_problem(tmp_path / "petab", observable="scale * B", transformation="log")
    out = tmp_path / "out"
    out.mkdir()
    (out / "best.json").write_text("{}")  # a stale result must not survive a failed fit
    result = runner.invoke(app, ["fit", str(bad), "--starts", "2", "--out", str(out), "--json"])
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout, parse_constant=lambda c: pytest.fail(f"non-standard {c}"))
    assert doc["status"] == "no start converged" and doc["n_converged"] == 0
    assert "parameters" not in doc
    assert "no start converged" in result.stderr
    assert not (out / "best.json").exists() and not (out / "data_vs_fit.csv").exists()
    starts = pd.read_csv(out / "starts.csv")
    assert (starts["status"] == "failed").all()
    assert starts["reason"].str.contains("not > 0").all()
    assert "NO START CONVERGED" in (out / "fit_report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fit", "{problem}", "--starts", "0"], "--starts must be between 1"),
        (["fit", "{problem}", "--seed", "-1"], "--seed must be >= 0"),
        (["fit", "{missing}"], "not found"),
        (["profile", "{problem}", "--parameter", "nope"], "not an estimated parameter"),
        (["profile", "{problem}", "--parameter", "k", "--from", "{missing}"], "no such file"),
    ],
)
def test_bad_input_exits_2(args: list[str], message: str, problem: Path, tmp_path: Path) -> None:
    argv = [a.format(problem=problem, missing=tmp_path / "missing.json") for a in args] + [
        "--out",
        str(tmp_path / "out"),
    ]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""  # nothing for a --json reader to misread
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert "Traceback" not in result.output


def test_profile_refuses_a_fit_of_another_problem(
    problem: Path, fitted: tuple[Path, dict], tmp_path: Path
) -> None:
    out, _ = fitted
    other = write_problem(tmp_path / "other")
    table = pd.read_csv(other.parent / "measurements.tsv", sep="\t")
    table.loc[0, "measurement"] *= 1.5  # other data: the fit is no longer its optimum
    table.to_csv(other.parent / "measurements.tsv", sep="\t", index=False)
    result = runner.invoke(
        app,
        ["profile", str(other), "--parameter", "k", "--from", str(out / "best.json"),
         "--out", str(tmp_path / "p")],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "fitted to another problem" in result.stderr


def test_failed_fit_table_says_not_finite(tmp_path: Path) -> None:
    bad = write_problem(tmp_path / "petab", observable="scale * B", transformation="log")
    result = runner.invoke(app, ["fit", str(bad), "--starts", "1", "--out", str(tmp_path / "o")])
    assert result.exit_code == 1, result.output
    assert "not finite" in result.stdout and "not reached" not in result.stdout
    assert "error: no start converged (1 tried)" in result.stderr


def test_profile_into_another_folder_reports_the_fit_of_from(
    problem: Path, fitted: tuple[Path, dict], tmp_path: Path
) -> None:
    out, _ = fitted
    other = tmp_path / "profiles"
    result = runner.invoke(
        app,
        ["profile", str(problem), "--parameter", "scale", "--from", str(out / "best.json"),
         "--out", str(other), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["ci"][0] < TRUTH["scale"] < doc["ci"][1]
    text = (other / "fit_report.html").read_text(encoding="utf-8")
    assert "Profile likelihood of scale" in text and "Waterfall" in text
    assert not (other / "best.json").exists()  # the fit stays where it was
