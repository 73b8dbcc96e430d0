"""CD8 T cells that need MDR1: kinetics targets and the mouse study in silico.

Targets and sources (science.md §4): 100–200 precursors reach ~1e7 epitope-specific cells in
about a week and ~5 % survive as memory (Blattman et al., J Exp Med 2002;195:657, PMID 11877489)
— tolerance: within a factor of 3, peak between days 6 and 11; memory 3–10 % of the peak and
stable over 60 days; contraction 0.3–0.7 /d around the 0.5 /d death phase (De Boer et al., J Virol
2001;75:10663, PMID 11602708). MDR1-deficient mice: same naive pool, lower peak, fewer
memory cells, worse protection on challenge; the damage is early
(Chen et al., J Exp Med 2020;217:e20191388).
"""

from __future__ import annotations

import numpy as np
import pytest

from mdrsim.experiments.mouse_mdr1 import CHALLENGE_DAY, DEFAULT_GROUPS, Group, run_study


@pytest.fixture(scope="module")
def study():
    groups = (
        *DEFAULT_GROUPS,
        Group("days 0-3", 1.0, "days0-3"),
        Group("after day 8", 1.0, "after-day8"),
    )
    s = run_study(groups)
    return s, {row["group"]: row for row in s.table()}


def test_wild_type_kinetics(study):
    s, rows = study
    wt = rows["wild type"]
    assert 1e7 / 3 <= wt["peak_cells"] <= 1e7 * 3
    assert 6.0 <= wt["peak_day"] <= 11.0
    t = s.result.times
    day8 = s.result["cd8_antigen_experienced"][0][np.searchsorted(t, 8.0)]
    assert 1e7 / 3 <= day8 <= 1e7 * 3  # ~1e7 at day 8, within a factor of 3
    assert 0.3 <= wt["contraction_rate_per_day"] <= 0.7
    assert 0.03 <= wt["memory_fraction_of_peak"] <= 0.10
    cells = s.result["cd8_antigen_experienced"][0]
    day30, day59 = cells[np.searchsorted(t, 30.0)], cells[np.searchsorted(t, CHALLENGE_DAY - 1)]
    assert day59 == pytest.approx(day30, rel=0.25)  # memory is stable
    virus = s.result["virus"][0]
    assert virus[np.searchsorted(t, 15.0)] < 1.0  # the acute infection resolves
    assert virus[np.searchsorted(t, 25.0)] == 0.0  # and the virus goes extinct


def test_mdr1_deficiency_lowers_peak_memory_and_protection(study):
    s, rows = study
    wt, ko = rows["wild type"], rows["MDR1-deficient"]
    assert s.result["N_cd8"][1][0] == s.result["N_cd8"][0][0]  # same naive pool
    assert ko["peak_cells"] < 0.5 * wt["peak_cells"]
    assert ko["memory_day60_cells"] < 0.5 * wt["memory_day60_cells"]
    assert ko["bacteria_3d_after_challenge"] > 10 * wt["bacteria_3d_after_challenge"]
    inh = rows["wild type + inhibitor"]
    assert inh["peak_cells"] < 0.5 * wt["peak_cells"]
    assert inh["bacteria_3d_after_challenge"] > wt["bacteria_3d_after_challenge"]


def test_the_damage_is_early(study):
    _, rows = study
    wt = np.log(rows["wild type"]["peak_cells"])
    full = wt - np.log(rows["wild type + inhibitor"]["peak_cells"])
    early = wt - np.log(rows["days 0-3"]["peak_cells"])
    late = wt - np.log(rows["after day 8"]["peak_cells"])
    assert early > 0.6 * full  # days 0-3 cause most of the loss of the full course
    assert late < 0.2 * full  # given only after day 8 it causes little
    mem_late = rows["after day 8"]["memory_day60_cells"] / rows["wild type"]["memory_day60_cells"]
    assert mem_late > 0.8


def test_bad_schedule_is_rejected():
    from mdrsim.errors import SimulationInputError

    with pytest.raises(SimulationInputError, match="allowed"):
        run_study((Group("x", 1.0, "weekly"),))  # type: ignore[arg-type]
