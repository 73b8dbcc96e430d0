"""A trial's summary and report from Python (no Typer) on a small stored trial."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mdrsim.report.trial_report import TrialSummary, read_trial_summary, write_trial_report
from mdrsim.trial import LocalExecutor, TrialPlan, TrialStoreError, run_trial
from mdrsim.trial.endpoints import ENDPOINT_COLUMNS, ENDPOINTS, Endpoint
from tests.unit.trial.conftest import make_trial


def test_endpoint_schema_is_one_typed_list() -> None:
    assert list(ENDPOINT_COLUMNS) == [str(c.name) for c in ENDPOINTS]
    assert len(set(ENDPOINT_COLUMNS)) == len(ENDPOINTS) == len(Endpoint)
    assert set(ENDPOINT_COLUMNS.values()) <= {"int64", "string", "Float64", "boolean"}
    assert ENDPOINT_COLUMNS["pfs_days"] == "Float64" and Endpoint.PFS_DAYS == "pfs_days"


def test_write_trial_report(tmp_path: Path) -> None:
    import yaml

    spec_file = tmp_path / "trial.yaml"
    spec_file.write_text(yaml.safe_dump(make_trial(tmp_path)))
    plan = TrialPlan.from_file(spec_file)
    run = run_trial(plan, 30, tmp_path / "t", chunk_size=15, executor=LocalExecutor(workers=1))
    report = write_trial_report(run.store.root)
    names = [p.name for p in report.files]
    assert names == [
        "summary.json", "summary.csv", "failures.csv",
        "km.png", "waterfall.png", "swimmer.png", "report.html",
    ]  # fmt: skip
    s = report.summary
    assert isinstance(s, TrialSummary) and s.n_patients == 30
    manifest = json.loads((run.store.root / "manifest.json").read_text())
    assert [a.arm for a in s.arms] == manifest["arms"] and len(s.arms) >= 2
    assert s.control_arm == s.arms[0].arm
    doc = json.loads((run.store.root / "summary.json").read_text())
    assert doc == s.to_dict() and read_trial_summary(run.store.root) == s
    rows = s.table()
    assert len(rows) == len(s.arms) and all(len(r) == len(s.TABLE_COLUMNS) for r in rows)
    assert rows[0][4] == "control"


def test_not_a_trial_directory(tmp_path: Path) -> None:
    with pytest.raises(TrialStoreError):
        write_trial_report(tmp_path)
