"""A sanity check against the clinical record of MDR1 inhibitors (docs/science_notes.md §6).

Randomised trials of P-gp inhibitors added to chemotherapy found no benefit: ECOG 3999
(Cripe et al., Blood 2010, as quoted in docs/science_notes.md §6) — zosuquidar with
daunorubicin/cytarabine in older AML, median OS 7.2 vs 9.4 months, CR 51.9 % vs 48.9 %;
HOVON/SAKK with valspodar — CR 54 % vs 48 %, 5-year OS 10 % in both arms; the tariquidar
phase III in NSCLC was terminated. A credible model must not predict a large benefit where
trials saw none: in a virtual trial of the example population, adding tariquidar to
doxorubicin gives no large PFS benefit — tolerance: HR above 0.8 — while it does lower the
MDR1-high fraction at progression (the mechanism works) and costs T-cell memory (the effect
the trials never measured).
"""

from __future__ import annotations

from pathlib import Path

from mdrsim.trial import TrialPlan, run_trial
from mdrsim.trial.analysis import analyse_store

EXAMPLE = Path(__file__).parents[2] / "examples" / "trial_tariquidar.yaml"


def test_tariquidar_gives_no_large_pfs_benefit(tmp_path: Path) -> None:
    plan = TrialPlan.from_file(EXAMPLE)
    trial = run_trial(plan, 40, tmp_path / "trial", chunk_size=20)
    summary = analyse_store(trial.store).summary.set_index("arm")
    hr = summary.loc["doxorubicin_tariquidar", "hr_vs_control"]
    assert hr > 0.8, f"HR {hr:.2f}: a large benefit the clinical record does not support"
    ep = trial.store.endpoints()
    by_arm = ep.groupby("arm")
    high = by_arm["mdr1_high_fraction_at_progression"].median()
    memory = by_arm["cd8_memory_ratio"].median()
    assert high["doxorubicin_tariquidar"] < 0.5 * high["doxorubicin"]
    assert memory["doxorubicin_tariquidar"] < memory["doxorubicin"]
