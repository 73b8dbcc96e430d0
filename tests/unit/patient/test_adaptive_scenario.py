"""Adaptive therapy end to end: a scenario file with an ``adaptive:`` line, run through
``run_scenario`` and through ``mdrsim run``, pauses dosing once the tumour has halved and
resumes it when the tumour is back at baseline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mdrsim.data.library import load_library
from mdrsim.patient import run_scenario
from mdrsim.patient.scenario import load_scenario

EXAMPLE = Path(__file__).parents[3] / "examples" / "doxorubicin_adaptive.yaml"


@pytest.fixture(scope="module")
def run():
    lib = load_library()
    return run_scenario(load_scenario(EXAMPLE, library=lib), library=lib)


def _at_cycle_starts(run, variable: str, n: int) -> np.ndarray:
    traj = run.trajectories
    s = traj[traj["variable"] == variable].set_index("time")["value"]
    return np.array([float(s.loc[s.index[s.index <= 21.0 * k].max()]) for k in range(n + 1)])


def test_dosing_pauses_below_half_the_baseline_and_resumes_at_baseline(run):
    line = run.lines.iloc[0]
    sc = run.scenario
    rule = sc.lines[0].adaptive
    assert rule is not None
    n = sc.lines[0].n_cycles
    assert line["cycles_paused"] > 0
    assert line["cycles_given"] + line["cycles_paused"] == n
    # Drug given in each cycle slot (AUC gained over the slot) and the burden at its start.
    v = run.model.variables
    dosed = np.diff(_at_cycle_starts(run, v.pk["doxorubicin"].auc, n)) > 1e-3
    burden = _at_cycle_starts(run, v.tumour.total, n)[:n]
    baseline = burden[0]
    pattern = "".join("T" if d else "P" for d in dosed)
    assert "TP" in pattern and "PT" in pattern, pattern  # paused, then resumed
    for k in range(1, n):
        if dosed[k - 1] and not dosed[k]:  # a pause starts: the tumour has halved
            assert burden[k] <= rule.stop_below_fraction_of_baseline * baseline
        if not dosed[k - 1] and dosed[k]:  # dosing resumes: back at baseline
            assert burden[k] >= rule.resume_at_fraction * baseline
        if not dosed[k - 1] and not dosed[k]:  # still paused: below baseline
            assert burden[k] < rule.resume_at_fraction * baseline


def test_mdrsim_run_reports_the_paused_cycles(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from mdrsim.cli import app; app()",
            "run",
            str(EXAMPLE),
            "--json",
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    line = summary["lines"][0]
    assert line["cycles_paused"] > 0
    assert line["cycles_given"] + line["cycles_paused"] == 16
