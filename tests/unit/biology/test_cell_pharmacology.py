"""Cellular pharmacology of P-gp: analytic limits and qualitative laws of the assay model."""

from __future__ import annotations

import numpy as np
import pytest

from mdrsim.biology.cell import DrugTransport, Inhibition
from mdrsim.errors import SimulationInputError
from mdrsim.experiments.invitro import (
    AssayConditions,
    KillParameters,
    accumulation,
    calibrate_density,
    calibrate_ec50,
    ic50,
    survival,
)

# Fast exchange and a high Km keep the cell in the linear, quasi-steady regime where the
# closed form holds: fold = 1 + rho*Vmax/(k_pass*Km) (Lankelma & Spoelstra 2000).
LINEAR = DrugTransport("probe", k_pass=2000.0, pgp_vmax=2000.0 * 100.0 * 20.0, pgp_km=100.0)
KILL = KillParameters(emax=3.0, ec50=0.05, hill=1.0)


@pytest.mark.parametrize("density", [0.05, 0.3, 1.0, 3.0])
def test_fold_resistance_matches_closed_form_in_the_linear_regime(density):
    parental = ic50(LINEAR, KILL)
    fold = ic50(LINEAR, KILL, density=density) / parental
    expected = 1 + LINEAR.efflux_efficiency(density)
    assert fold == pytest.approx(expected, rel=0.01)


def test_ic50_rises_linearly_with_pgp_density():
    """Robertus, Kannan & Putnam, Molecules 2025;30:3014: IC50 linear in P-gp density."""
    densities = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 3.0])
    values = np.array([ic50(LINEAR, KILL, density=d) for d in densities])
    slope, intercept = np.polyfit(densities, values, 1)
    residual = values - (slope * densities + intercept)
    assert slope > 0
    assert np.max(np.abs(residual)) < 0.02 * values.max()


def test_non_substrate_is_not_affected_by_pgp():
    cisplatin_like = DrugTransport("nonsub", k_pass=5.0, pgp_vmax=0.0, pgp_km=1.0)
    assert ic50(cisplatin_like, KILL, density=5.0) == pytest.approx(
        ic50(cisplatin_like, KILL), rel=1e-6
    )


def test_fast_permeating_drug_is_barely_affected():
    slow = DrugTransport("slow", k_pass=20.0, pgp_vmax=20.0 * 1.0 * 50.0, pgp_km=1.0)
    fast = DrugTransport("fast", k_pass=20.0 * 300, pgp_vmax=20.0 * 1.0 * 50.0, pgp_km=1.0)
    fold_slow = ic50(slow, KILL, density=1.0) / ic50(slow, KILL)
    fold_fast = ic50(fast, KILL, density=1.0) / ic50(fast, KILL)
    assert fold_slow > 20
    assert fold_fast < 1.3


def test_inhibitors_restore_sensitivity_by_their_potency():
    drug = DrugTransport("substrate", k_pass=100.0, pgp_vmax=100.0 * 2.0 * 60.0, pgp_km=2.0)
    parental = ic50(drug, KILL)
    resistant = ic50(drug, KILL, density=1.0) / parental
    third_gen = Inhibition("tq", ki_noncompetitive=0.005)  # Kd ~5 nM
    verapamil = Inhibition("vpm", ki_competitive=2.0)
    with_tq = ic50(drug, KILL, density=1.0, inhibition=third_gen, inhibitor_conc=0.25) / parental
    vpm_plasma = ic50(drug, KILL, density=1.0, inhibition=verapamil, inhibitor_conc=1.5) / parental
    vpm_10 = ic50(drug, KILL, density=1.0, inhibition=verapamil, inhibitor_conc=10.0) / parental
    assert resistant > 30
    assert with_tq < 4  # within a few-fold of parental
    assert vpm_plasma > 2 * vpm_10  # achievable plasma levels do much less than 10 µM


def test_calibration_recovers_targets():
    drug = DrugTransport(
        "d", k_pass=50.0, pgp_vmax=50.0 * 1.5 * 10.0, pgp_km=1.5, binding_ratio=20.0
    )
    kill = calibrate_ec50(drug, KillParameters(emax=2.0, ec50=1.0, hill=1.5), target_ic50=0.08)
    assert ic50(drug, kill) == pytest.approx(0.08, rel=1e-3)
    density = calibrate_density(drug, kill, target_fold=25.0)
    assert ic50(drug, kill, density=density) / 0.08 == pytest.approx(25.0, rel=1e-3)


def test_survival_is_monotone_and_bounded():
    conc = np.geomspace(1e-4, 10, 25)
    s = survival(LINEAR, KILL, conc, density=1.0)
    assert np.all(np.diff(s) <= 1e-12)
    assert s[0] == pytest.approx(1.0, abs=0.01) and s[-1] < 0.05


def test_short_exposure_then_wash_out_kills_less():
    conc = np.array([0.5])
    full = survival(LINEAR, KILL, conc)
    pulse = survival(LINEAR, KILL, conc, conditions=AssayConditions(exposure_h=1.0, assay_h=72.0))
    assert pulse[0] > full[0]


def test_accumulation_lower_with_pgp_and_restored_by_inhibitor():
    drug = DrugTransport("rho123", k_pass=300.0, pgp_vmax=300.0 * 5.0 * 9.0, pgp_km=5.0)
    hours, parental = accumulation(drug, medium_conc=1.0, hours=2.0)
    _, mdr = accumulation(drug, medium_conc=1.0, hours=2.0, density=1.0)
    _, blocked = accumulation(
        drug,
        medium_conc=1.0,
        hours=2.0,
        density=1.0,
        inhibition=Inhibition("tq", ki_noncompetitive=0.005),
        inhibitor_conc=0.3,
    )
    assert hours[-1] == pytest.approx(2.0)
    assert parental[-1] == pytest.approx(1.0, rel=0.05)  # equilibrates with the medium
    assert mdr[-1] == pytest.approx(1 / (1 + 9.0), rel=0.05)  # C_in/C_out = 1/(1 + Vmax/(k Km))
    assert blocked[-1] > 0.8
    _, efflux = accumulation(drug, medium_conc=1.0, hours=2.0, density=1.0, efflux_from_h=1.0)
    assert efflux[-1] < 0.05 * mdr[-1]


def test_bad_assay_conditions():
    with pytest.raises(SimulationInputError, match="exposure_h"):
        survival(LINEAR, KILL, [1.0], conditions=AssayConditions(exposure_h=80, assay_h=72))
    with pytest.raises(SimulationInputError, match="concentrations"):
        survival(LINEAR, KILL, [-1.0])
