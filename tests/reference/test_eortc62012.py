"""EORTC 62012 control arm reproduced by a 1,000-patient virtual trial.

Source: Judson et al., Lancet Oncol 2014;15:415-423, doi:10.1016/S1470-2045(14)70063-4,
PMID 24618336 — doxorubicin 75 mg/m² q3w, at most 6 cycles, first line in advanced soft-tissue
sarcoma, 228 patients: median PFS 4.6 months, median OS 12.8 months (both as reported in the
trial's press summaries, Oncology Nurse Advisor 2014 / ASCO Post 2012), 1-year OS 51 % (Cancer
Research UK trial summary).

Tolerance: the published 95 % CIs were not reachable here, so each is derived from the trial's
size (stated, not read): a median from ~200 events has CI ≈ median·exp(±1.96/√200) (exponential
approximation), i.e. PFS 4.0–5.3 months and OS 11.1–14.8 months; the 1-year rate, binomial with
n = 228, 44.5–57.5 %. The virtual trial's point estimates must lie inside these intervals.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from mdrsim.trial import TrialPlan, run_trial
from mdrsim.trial.analysis import analyse_store

EXAMPLE = Path(__file__).parents[2] / "examples" / "trial_eortc62012.yaml"
MONTH = 365.25 / 12


def _ci_median(median: float, events: int) -> tuple[float, float]:
    half = 1.96 / math.sqrt(events)
    return median * math.exp(-half), median * math.exp(half)


PFS_CI = _ci_median(4.6, 200)
OS_CI = _ci_median(12.8, 200)
OS_1Y_CI = (0.51 - 1.96 * math.sqrt(0.51 * 0.49 / 228), 0.51 + 1.96 * math.sqrt(0.51 * 0.49 / 228))


@pytest.mark.slow
def test_control_arm_lands_inside_the_published_intervals(tmp_path: Path) -> None:
    trial = run_trial(TrialPlan.from_file(EXAMPLE), 1000, tmp_path / "trial", chunk_size=250)
    row = analyse_store(trial.store).summary.iloc[0]
    assert row["n_failed"] == 0
    pfs = row["median_pfs_days"] / MONTH
    os_ = row["median_os_days"] / MONTH
    assert PFS_CI[0] <= pfs <= PFS_CI[1], f"median PFS {pfs:.2f} months, allowed {PFS_CI}"
    assert OS_CI[0] <= os_ <= OS_CI[1], f"median OS {os_:.2f} months, allowed {OS_CI}"
    assert OS_1Y_CI[0] <= row["os_1y"] <= OS_1Y_CI[1], f"1-year OS {row['os_1y']:.3f}"
    # Endpoints that respond like a trial's: a KM median with a real interval, some deaths
    # within 60 days, febrile neutropenia in a minority.
    assert row["median_pfs_lower"] < row["median_pfs_days"] < row["median_pfs_upper"]
    assert 0 < row["febrile_neutropenia_rate"] < 0.3
