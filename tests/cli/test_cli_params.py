"""Fitted parameters fed into simulations: ``mdrsim simulate|run|trial --params FILE``.

``simulate`` gets the best.json of a real ``mdrsim fit`` (noise-free data of ``a0·exp(−k t)``
with k = 0.3, closed form, in tests/cli/test_cli_fit.py); ``run`` and ``trial`` get parameter
files written for their model. Each records the file (path, sha256, values) in its provenance,
and a file fitted to another model, naming unknown parameters or clashing with another source
of the same value is refused (exit 2, the message says why)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from mdrsim.cli import app
from mdrsim.fit.parameters import write_parameter_file
from mdrsim.io import load_model, read_antimony, write_sbml
from tests.cli.test_cli_fit import MODEL, TRUTH, write_problem
from tests.unit.trial.conftest import make_trial

runner = CliRunner()
EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture(scope="module")
def best(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    problem = write_problem(tmp_path_factory.mktemp("petab"))
    out = tmp_path_factory.mktemp("fit")
    result = runner.invoke(
        app, ["fit", str(problem), "--starts", "2", "--seed", "1", "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    return problem.parent / "model.xml", out / "best.json"


def test_best_json_holds_the_model_parameters(best: tuple[Path, Path]) -> None:
    model_path, best_path = best
    doc = json.loads(best_path.read_text())
    block = doc["model"]
    # k is the model's parameter; scale and sd belong to the observable table, not the model.
    assert set(block["parameters"]) == {"k"}
    assert block["parameters"]["k"] == doc["linear"]["k"]
    assert block["structure_hash"] == load_model(model_path).structure_hash()
    assert block["source"]["problem_sha256"] == doc["problem_sha256"]


def test_simulate_with_fitted_parameters(best: tuple[Path, Path], tmp_path: Path) -> None:
    model_path, best_path = best
    out = tmp_path / "sim"
    result = runner.invoke(
        app,
        ["simulate", str(model_path), "--until", "6", "--points", "6", "--out", str(out),
         "--params", str(best_path), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    traj = pd.read_csv(out / "trajectories.csv")
    # The model's own k is 0.5; the fit's is the truth 0.3 (closed form a0·exp(−k t), A0 = 1).
    expected = np.exp(-TRUTH["k"] * traj["time"].to_numpy())
    np.testing.assert_allclose(traj["A"], expected, rtol=2e-3)
    prov = json.loads((out / "provenance.json").read_text())
    fitted = prov["fitted_parameters"]
    assert fitted["file"] == str(best_path) and len(fitted["sha256"]) == 64
    assert prov["parameters"]["k"] == pytest.approx(fitted["values"]["k"], rel=1e-15)
    assert fitted["values"]["k"] == pytest.approx(TRUTH["k"], rel=1e-3)


def test_simulate_refuses_another_model(best: tuple[Path, Path], tmp_path: Path) -> None:
    _, best_path = best
    other = tmp_path / "other.xml"
    other.write_text(write_sbml(read_antimony(MODEL.replace("R1: A -> ;", "R1: A -> B;"))))
    result = runner.invoke(
        app,
        ["simulate", str(other), "--until", "1", "--out", str(tmp_path / "o"),
         "--params", str(best_path)],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "belong to another model" in result.stderr
    assert not (tmp_path / "o").exists()


def test_simulate_refuses_a_parameter_given_twice(best: tuple[Path, Path], tmp_path: Path) -> None:
    model_path, best_path = best
    result = runner.invoke(
        app,
        ["simulate", str(model_path), "--until", "1", "--out", str(tmp_path / "o"),
         "--params", str(best_path), "--param", "k=1"],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "--param k: also set by --params" in result.stderr


# -- mdrsim run: the whole-patient model --------------------------------------------------


@pytest.fixture(scope="module")
def patient_model():  # type: ignore[no-untyped-def]
    from mdrsim.data.library import load_library
    from mdrsim.patient.model import build_patient_model
    from mdrsim.patient.scenario import load_scenario

    return build_patient_model(load_scenario(EXAMPLES / "doxorubicin.yaml"), load_library())


def test_run_with_fitted_parameters(patient_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    names = list(patient_model.compiled.parameter_names)
    r0 = float(patient_model.compiled.default_parameters()[names.index("tum_r")])
    params = write_parameter_file(
        tmp_path / "p.json", patient_model.model, {"tum_r": 2 * r0}, {"note": "test"}
    )
    docs = []
    for extra in ([], ["--params", str(params)]):
        out = tmp_path / f"run{len(extra)}"
        result = runner.invoke(
            app,
            ["run", str(EXAMPLES / "doxorubicin.yaml"), "--no-figures", "--out", str(out),
             "--json", *extra],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        docs.append(json.loads((out / "summary.json").read_text()))
    plain, fitted = docs
    assert "fitted_parameters" not in plain["provenance"]
    record = fitted["provenance"]["fitted_parameters"]
    assert record["values"] == {"tum_r": 2 * r0} and record["file"] == str(params)
    # A tumour growing twice as fast ends larger.
    assert (
        fitted["tumour"]["burden_at_horizon_1e9_cells"]
        > plain["tumour"]["burden_at_horizon_1e9_cells"]
    )


def test_run_refuses_parameters_of_another_model(tmp_path: Path) -> None:
    params = write_parameter_file(tmp_path / "p.json", read_antimony(MODEL), {"k": 0.3})
    result = runner.invoke(
        app,
        ["run", str(EXAMPLES / "doxorubicin.yaml"), "--no-figures", "--out", str(tmp_path / "o"),
         "--params", str(params)],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "belong to another model" in result.stderr and str(params) in result.stderr


def test_run_refuses_a_malformed_file(tmp_path: Path) -> None:
    bad = tmp_path / "p.json"
    bad.write_text('{"format": "mdrsim-parameters/1"}')
    result = runner.invoke(
        app, ["run", str(EXAMPLES / "doxorubicin.yaml"), "--params", str(bad),
              "--out", str(tmp_path / "o")],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "name must be a string" in result.stderr


# -- mdrsim trial: every virtual patient -------------------------------------------------


def _trial(tmp_path: Path) -> Path:
    path = tmp_path / "trial.yaml"
    simulator = {"model": "tiny.ant", "burden": ["T"], "trajectory_variables": ["T", "C"]}
    path.write_text(yaml.safe_dump(make_trial(tmp_path, simulator=simulator)))
    return path


def test_trial_with_fitted_parameters(tmp_path: Path) -> None:
    trial = _trial(tmp_path)
    tiny = load_model(tmp_path / "tiny.ant")
    params = write_parameter_file(tmp_path / "p.json", tiny, {"k_el": 0.1})
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["trial", str(trial), "--patients", "10", "--chunk-size", "10", "--workers", "1",
         "--out", str(out), "--json", "--params", str(params)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    record = manifest["simulator"]["fitted_parameters"]
    assert record["values"] == {"k_el": 0.1} and record["file"] == str(params)
    # The drug now decays at k_el = 0.1 (model: 0.5): doses of 2 every 21 days from day 0
    # (8 doses), so C(t) = Σ_{dose days d < t} 2·exp(−0.1 (t − d)) (closed form; times that
    # fall on a dose day are left out).
    traj = pd.concat(
        pd.read_parquet(p) for p in (out / "trajectories" / "treated").glob("*.parquet")
    )
    c = traj[(traj["variable"] == "C") & (traj["time"] % 21 != 0)]
    assert len(c) >= 10
    doses = 21.0 * np.arange(8)
    t = c["time"].to_numpy()[:, None]
    expected = np.sum(np.where(doses < t, 2 * np.exp(-0.1 * (t - doses)), 0.0), axis=1)
    np.testing.assert_allclose(c["value"], expected, rtol=1e-4)
    # Resuming the same directory with other fitted values is refused (trial identity).
    other = write_parameter_file(tmp_path / "q.json", tiny, {"k_el": 0.2})
    again = runner.invoke(
        app,
        ["trial", str(trial), "--patients", "10", "--chunk-size", "10", "--workers", "1",
         "--out", str(out), "--params", str(other)],
    )  # fmt: skip
    assert again.exit_code == 2, again.output


@pytest.mark.parametrize(
    ("values", "message"),
    [({"r": 0.02}, "also sampled by the trial's population"), ({"nope": 1.0}, "parameters.nope")],
)
def test_trial_refuses_clashing_or_unknown_names(
    values: dict[str, float], message: str, tmp_path: Path
) -> None:
    trial = _trial(tmp_path)
    path = tmp_path / "p.json"
    if "nope" in values:  # hand-edited: the right model, a name it does not have
        write_parameter_file(path, load_model(tmp_path / "tiny.ant"), {"k_el": 0.1})
        doc = json.loads(path.read_text())
        doc["parameters"] = values
        path.write_text(json.dumps(doc))
    else:
        write_parameter_file(path, load_model(tmp_path / "tiny.ant"), values)
    result = runner.invoke(
        app,
        ["trial", str(trial), "--patients", "5", "--workers", "1", "--out", str(tmp_path / "o"),
         "--params", str(path)],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_trial_refuses_parameters_of_another_model(tmp_path: Path) -> None:
    trial = _trial(tmp_path)
    params = write_parameter_file(tmp_path / "p.json", read_antimony(MODEL), {"k": 0.3})
    result = runner.invoke(
        app,
        ["trial", str(trial), "--patients", "5", "--workers", "1", "--out", str(tmp_path / "o"),
         "--params", str(params)],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "belong to another model" in result.stderr
