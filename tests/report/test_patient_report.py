"""A patient's report from Python (no Typer), on a real scenario run: the typed summary, the
files, and the infection figure drawn from the model's own pathogen names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mdrsim.errors import ReportError
from mdrsim.patient import PatientRun, run_scenario
from mdrsim.patient.scenario import parse_scenario
from mdrsim.report import patient_plots as pp
from mdrsim.report.patient_report import (
    PatientSummary,
    patient_figures,
    write_compare_report,
    write_patient_report,
)

EXAMPLE = Path(__file__).parents[2] / "examples" / "doxorubicin.yaml"


@pytest.fixture(scope="module")
def run() -> PatientRun:
    text = EXAMPLE.read_text()
    return run_scenario(parse_scenario(text, source=str(EXAMPLE)), scenario_text=text)


def test_infection_panel_from_a_real_run(run: PatientRun) -> None:
    # The names come from the model; the figure must find them in the trajectory table
    # (a hard-coded name that drifted from the immune module drew nothing, silently).
    assert run.scenario.infections, "the example has an infection"
    assert run.model.pathogens
    traj = run.trajectories
    assert set(run.model.pathogens) <= set(traj["variable"])
    fig = pp.plot_infection(traj, run.model.pathogens)
    assert fig is not None
    (ax,) = fig.axes
    drawn = [str(line.get_label()) for line in ax.get_lines()]
    assert drawn == [p.replace("_", " ") for p in run.model.pathogens]
    assert all(len(line.get_xdata()) > 10 for line in ax.get_lines())
    assert "infection" in patient_figures(run)


def test_summary_is_typed_and_round_trips(run: PatientRun) -> None:
    s = PatientSummary.from_dict(run.summary)
    assert s.scenario == run.scenario.name
    assert s.lines[0].regimen == run.summary["lines"][0]["regimen"]
    # to_dict is summary.json: the same document the patient code produced, key for key.
    assert json.dumps(s.to_dict()) == json.dumps(run.summary)
    rows = dict(s.rows())
    assert rows["best response (line 1)"].startswith(run.summary["best_response"])
    assert any(k.startswith("infection (") for k in rows)
    row = s.compare_row("x")
    assert row["scenario"] == "x" and row["lines_started"] == len(run.summary["lines"])
    with pytest.raises(ValueError, match="unexpected"):
        PatientSummary.from_dict({**run.summary, "unexpected": 1})  # a drifted key is loud


def test_a_user_supplied_tumour_pgp_is_a_row_of_the_table(run: PatientRun) -> None:
    """Issue 17: patient.tumour.mdr1_high_pgp from the user shows in the printed summary."""
    assert run.summary["provenance"]["tumour_mdr1_high_pgp"] is None  # the example: default
    assert "MDR1-high clone P-gp density" not in dict(PatientSummary.from_dict(run.summary).rows())
    record = {
        "pgp_density": 22.1,
        "source": "KB-V1: user-supplied: fold resistance 200 to vinblastine, not from the library",
    }
    summary = {**run.summary, "provenance": {**run.summary["provenance"]}}
    summary["provenance"]["tumour_mdr1_high_pgp"] = record
    rows = dict(PatientSummary.from_dict(summary).rows())
    assert rows["MDR1-high clone P-gp density"] == f"22.1 ({record['source']})"


def test_write_patient_report(run: PatientRun, tmp_path: Path) -> None:
    report = write_patient_report(run, tmp_path)
    names = {p.name for p in report.files}
    assert {"trajectories.parquet", "lines.csv", "summary.json", "report.html"} <= names
    assert {"tumour_by_clone.png", "infection.png", "anc.png"} <= names
    assert all(p.stat().st_size > 0 for p in report.files)
    assert json.loads((tmp_path / "summary.json").read_text())["scenario"] == run.scenario.name
    assert "infection.png" in {p.name for p in report.figures.values()}


def test_compare_needs_two_unique_runs(run: PatientRun, tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="at least two"):
        write_compare_report([run], tmp_path)
    with pytest.raises(ReportError, match="unique"):
        write_compare_report([run, run], tmp_path)  # same scenario name twice
    report = write_compare_report([run, run], tmp_path, names=["a", "b"])
    assert list(report.table["scenario"]) == ["a", "b"]
    assert (tmp_path / "compare_ANC.png").is_file() and (tmp_path / "report.html").is_file()
