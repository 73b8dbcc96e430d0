"""Systemic PK, drug–drug interactions and the Friberg 2002 myelosuppression model.

Sources: PK parameters from the drug library (each with its source: Perez-Blanco 2016 adult
doxorubicin, Crombag 2019 saturable paclitaxel, FDA labels); the label ranges and PK tables the
reference tests compare with are named in each test; measured DDI magnitudes — each pair's
publication is named next to its number below (typed from the abstracts, not read from the
library); Friberg et al., J Clin Oncol 2002;20:4713 (docetaxel: ANC nadir around day 9,
rebound above baseline by day ~20, as summarised in docs/science_notes.md §5); Taxol label,
Adverse Reactions (grade-4 and < 2.0e9/L neutropenia rates at 175 mg/m² over 3 h, worst course).
"""

from __future__ import annotations

import functools
from dataclasses import replace

import numpy as np
import pytest

from mdrsim.biology.marrow import (
    FRIBERG_DOCETAXEL,
    add_friberg,
    add_marrow,
    nadir,
    neutropenia_grade,
)
from mdrsim.biology.pk import (
    PKParameters,
    add_pk,
    body_surface_area,
    two_compartment_from_half_lives,
)
from mdrsim.data.library import load_library
from mdrsim.engine import EventTable, simulate
from mdrsim.model import ModelBuilder
from mdrsim.patient.library_bridge import interaction, pk_from_library
from mdrsim.patient.model import marrow_from_library
from mdrsim.regimen.schedule import Patient

LIB = load_library()


def _pk_model(pk: PKParameters, **kw):
    b = ModelBuilder("pk")
    if kw.get("inhibitor"):
        b.parameter(kw["inhibitor"], 0.0, constant=False, unit="uM")
    add_pk(b, "drug", pk, **kw)
    return b.build()


def test_one_compartment_auc_equals_dose_over_clearance():
    pk = PKParameters(cl=20.0, v1=50.0, molecular_weight=500.0)
    dose_mg = 100.0
    events = EventTable().bolus(0.0, "drug_central", dose_mg / pk.v1)
    r = simulate(_pk_model(pk), [0.0, 30.0], events=events, rtol=1e-10, atol=1e-14, check=True)
    auc_mg_h_per_l = r["AUC_drug"][0][-1] * 24
    assert auc_mg_h_per_l == pytest.approx(dose_mg / pk.cl, rel=1e-6)


def test_infusion_gives_the_same_auc():
    pk = PKParameters(cl=20.0, v1=50.0, q=(30.0,), v=(200.0,))
    dose_mg, hours = 100.0, 3.0
    events = EventTable().infusion(0.0, hours / 24, "drug_central", dose_mg / pk.v1 / (hours / 24))
    r = simulate(_pk_model(pk), [0.0, 60.0], events=events, rtol=1e-10, atol=1e-14, check=True)
    assert r["AUC_drug"][0][-1] * 24 == pytest.approx(dose_mg / pk.cl, rel=1e-5)


def test_doxorubicin_three_compartment_follows_its_implied_half_life():
    """Perez-Blanco 2016's three-compartment doxorubicin (library) decays, after distribution,
    at the rate its parameters imply (slowest eigenvalue, ~46 h)."""
    pk_lib = LIB.drug("doxorubicin").pk
    pk = PKParameters(
        cl=pk_lib.clearance.value,
        v1=pk_lib.V1.value,
        q=(pk_lib.Q2.value, pk_lib.Q3.value),
        v=(pk_lib.V2.value, pk_lib.V3.value),
        molecular_weight=543.52,
    )
    t_half = pk.terminal_half_life_h()
    # The simulated terminal slope matches the eigenvalue.
    events = EventTable().bolus(0.0, "drug_central", 60 * 1.8 / pk.v1)
    t = np.array([0.0, 40.0, 45.0])
    r = simulate(_pk_model(pk), t, events=events, rtol=1e-10, atol=1e-16, check=True)
    c = r["drug_central"][0]
    slope_half_life_h = np.log(2) / (np.log(c[1] / c[2]) / (5 * 24))
    assert slope_half_life_h == pytest.approx(t_half, rel=0.02)


def test_two_compartment_from_half_lives_reproduces_them():
    pk = two_compartment_from_half_lives(21.0 * 1.8, 113.0, 36 / 60, 11.1)
    assert pk.terminal_half_life_h() == pytest.approx(11.1, rel=1e-9)
    assert pk.v1 + pk.v[0] == pytest.approx(113.0)


def _clearance_with(drug: str, inhibitor: str, *, rule_only: bool = False) -> tuple[float, float]:
    """AUC of a unit linear PK model without and with ``inhibitor`` at its clinical level, the
    blocked fraction chosen as the patient model chooses it (``interaction``) — or, with
    ``rule_only``, by the drug's P-gp share alone (the pre-issue-17 behaviour)."""
    d = LIB.drug(drug)
    inh = LIB.inhibitor(inhibitor)
    pk = PKParameters(cl=10.0, v1=20.0)
    if rule_only:
        blocked = d.pk.pgp_dependent_clearance_fraction.value
    else:
        blocked = interaction(inhibitor, drug, LIB).blocked_fraction
    model = _pk_model(
        pk,
        pgp_clearance_fraction=blocked,
        inhibitor=inhibitor,
        inhibitor_ic50=inh.ki.value,
    )
    aucs = []
    for conc in (0.0, inh.clinical_concentration.value):
        events = EventTable().bolus(0.0, "drug_central", 5.0)
        r = simulate(
            model,
            [0.0, 30.0],
            params={inhibitor: conc},
            events=events,
            rtol=1e-10,
            atol=1e-14,
            check=True,
        )
        aucs.append(r["AUC_drug"][0][-1])
    return aucs[0], aucs[1]


#: Measured change in clearance (negative: slower) with the inhibitor at its clinical level.
MEASURED_DDI = [
    # Minami H et al. Jpn J Cancer Res 2001;92:220, PMID 11223552: CL 24.3 vs 49.0 L/h/m2.
    ("valspodar", "doxorubicin", 24.3 / 49.0 - 1),
    # Bartlett NL et al. J Clin Oncol 1994;12:835 (dose-adjusted AUC +55 %) and Rushing DA et
    # al. Cancer 1994;74:834, PMID 8039111 (CL -37 %): -35 to -37 %.
    ("ciclosporin", "doxorubicin", -0.36),
    # Lacayo NJ et al. Leukemia 2002;16:920 (children with AML): etoposide CL -71 %.
    ("ciclosporin", "etoposide", -0.71),
    # Advani R et al. Blood 1999;93:787 (vs historical controls): etoposide CL -57 %.
    ("valspodar", "etoposide", -0.57),
    # Callies S et al. Cancer Chemother Pharmacol 2004: daunorubicin CL -10 %.
    ("zosuquidar", "daunorubicin", -0.10),
]


@pytest.mark.parametrize(("inhibitor", "drug", "published"), MEASURED_DDI)
def test_measured_interaction_pairs_within_ten_points(inhibitor, drug, published):
    """Tolerance: ±10 percentage points of the published change in clearance."""
    if LIB.drug(drug).pk is None or LIB.drug(drug).pk.clearance is None:
        # no PK to run the patient model with, but the interaction is still the measured one
        assert interaction(inhibitor, drug, LIB).clearance_change == pytest.approx(
            published, abs=0.10
        )
        return
    auc_alone, auc_with = _clearance_with(drug, inhibitor)
    assert auc_alone / auc_with - 1 == pytest.approx(published, abs=0.10)
    assert interaction(inhibitor, drug, LIB).basis == "measured"


def test_the_interaction_check_fails_for_the_old_rule():
    """The check can fail: the per-drug P-gp share alone (pre-issue-17) gives ciclosporin +
    doxorubicin no interaction at all, 36 points from the measured -36 %."""
    auc_alone, auc_with = _clearance_with("doxorubicin", "ciclosporin", rule_only=True)
    assert auc_alone / auc_with - 1 != pytest.approx(-0.36, abs=0.10)


@pytest.mark.parametrize("inhibitor", ["tariquidar", "zosuquidar"])
@pytest.mark.parametrize("drug", ["docetaxel", "doxorubicin", "etoposide"])
def test_third_generation_inhibitors_barely_change_clearance(inhibitor, drug):
    """Tariquidar + docetaxel: no significant change (Kelly RJ et al. Clin Cancer Res
    2011;17:569, PMID 21081657); zosuquidar + doxorubicin: PK unaffected (Rubin EH et al. Clin
    Cancer Res 2002;8:3710). Issue 17's rule: third-generation inhibitors change docetaxel or
    doxorubicin clearance by < 15 % (etoposide included: it is not measured, the rule applies)."""
    auc_alone, auc_with = _clearance_with(drug, inhibitor)
    assert abs(auc_alone / auc_with - 1) < 0.15


def test_unmeasured_pairs_are_marked_as_the_mechanistic_rule():
    ddi = interaction("tariquidar", "etoposide", LIB)
    assert ddi.basis == "mechanistic rule"
    assert ddi.source.startswith("assumed:")
    assert interaction("valspodar", "paclitaxel", LIB).basis == "measured"  # Chico 2001


def _simulate_dose(drug: str, dose_mg_m2: float, hours: float, bsa: float = 1.8):
    pk = pk_from_library(drug, Patient(bsa_m2=bsa, weight_kg=70.0), LIB)
    b = ModelBuilder(f"{drug}_pk")
    names = add_pk(b, drug, pk)
    dose = dose_mg_m2 * bsa
    if hours > 0:
        events = EventTable().infusion(0.0, hours / 24, names.central, dose / pk.v1 / (hours / 24))
    else:
        events = EventTable().bolus(0.0, names.central, dose / pk.v1)
    t = np.concatenate([np.linspace(0.0, 1.0, 24 * 12 + 1), np.linspace(1.05, 60.0, 1200)])
    r = simulate(b.build(), t, events=events, rtol=1e-10, atol=1e-14, check=True)
    return t, r[names.central][0], 24.0 * r[names.auc][0][-1], dose


def test_doxorubicin_75_mg_m2_auc_and_half_life_in_the_adult_range():
    """FDA label, Doxorubicin HCl (Pfizer) 12.3: plasma clearance 324-809 mL/min/m² (so the AUC
    of 75 mg/m² lies between 75/48.5 and 75/19.4 mg·h/L) and terminal half-life 20-48 h.
    Tolerance: inside those ranges."""
    t, c, auc, _ = _simulate_dose("doxorubicin", 75.0, 0.0)
    assert 75.0 / (0.809 * 60) <= auc <= 75.0 / (0.324 * 60)
    i, j = np.searchsorted(t, [5.0, 10.0])
    t_half = np.log(2) * (t[j] - t[i]) * 24 / np.log(c[i] / c[j])
    assert 20.0 <= t_half <= 48.0


def test_paclitaxel_175_mg_m2_3h_matches_the_label_pk_table():
    """Taxol label, Clinical Pharmacology, Table 1 (175 mg/m² over 3 h, n = 5): Cmax 3650 ng/mL,
    AUC0-inf 15007 ng·h/mL. Tolerance ±25 % (issue 17)."""
    _, c, auc, _ = _simulate_dose("paclitaxel", 175.0, 3.0)
    assert c.max() == pytest.approx(3.65, rel=0.25)
    assert auc == pytest.approx(15.0, rel=0.25)


def test_paclitaxel_exposure_rises_more_than_the_dose():
    """Taxol label: over 3 h, 135 -> 175 mg/m² (+30 %) raised AUC by 89 % (non-linear PK).
    Tolerance: more than proportional."""
    _, _, auc_135, _ = _simulate_dose("paclitaxel", 135.0, 3.0)
    _, _, auc_175, _ = _simulate_dose("paclitaxel", 175.0, 3.0)
    assert auc_175 / auc_135 > 1.3 * 1.05


def _paclitaxel_marrow(fraction_unbound: float | None = None):
    pk = pk_from_library("paclitaxel", Patient(bsa_m2=1.8, weight_kg=70.0), LIB)
    system, slopes = marrow_from_library(("paclitaxel",), LIB)
    slope = slopes["paclitaxel"]
    if fraction_unbound is not None:
        slope = replace(slope, fraction_unbound=fraction_unbound)
    system = replace(system, circ0=5.05)
    b = ModelBuilder("paclitaxel_marrow")
    names = add_pk(b, "paclitaxel", pk)
    circ, _ = add_marrow(
        b, {"paclitaxel": names.plasma_uM}, slopes={"paclitaxel": slope}, system=system
    )
    events = EventTable().infusion(0.0, 3 / 24, names.central, 175 * 1.8 / pk.v1 / (3 / 24))
    return b.build(), circ, events, pk


def test_paclitaxel_typical_patient_nadir():
    """Taxol label: neutrophil nadir around day 11 (median); the typical patient is not
    grade-4 neutropenic (the pre-issue-17 chain gave 0.002e9/L). Tolerance: nadir day 7-12,
    nadir above 0.5e9/L and below the baseline 5.05."""
    model, circ, events, _ = _paclitaxel_marrow()
    t = np.linspace(0.0, 21.0, 21 * 24 + 1)
    anc = simulate(model, t, events=events, rtol=1e-8, atol=1e-11, check=True)[circ][0]
    day, low = nadir(t, anc)
    assert 7.0 <= day <= 12.0
    assert 0.5 < low < 5.05


def test_paclitaxel_slope_on_total_drug_is_the_old_defect():
    """The exposure choice matters and the test can fail: the same slope on total drug (the
    pre-issue-17 chain) drives the typical patient to an ANC nadir far below 0.5e9/L."""
    model, circ, events, _ = _paclitaxel_marrow(fraction_unbound=1.0)
    t = np.linspace(0.0, 21.0, 21 * 24 + 1)
    anc = simulate(model, t, events=events, rtol=1e-8, atol=1e-11, check=True)[circ][0]
    assert anc.min() < 0.05


#: Taxol (paclitaxel) US label, Adverse Reactions (read on a label mirror, 120ty.net, pages 11-12),
#: "based on worst course analysis", every course 3-weekly, 175 mg/m² over 3 h:
#: - Phase 3 ovarian study: neutrophils below 500/mm³ in 27 % (135 mg/m²: 14 %, p = 0.05);
#: - Phase 3 breast study, Table 6 (n = 229): neutropenia < 2,000/mm³ in 90 %, < 500/mm³ in 28 %
#:   (135 mg/m²: 81 % and 19 %).
LABEL_GRADE4_175_3H = (0.27, 0.28)
LABEL_BELOW_2_175_3H_BREAST = 0.90


@functools.lru_cache(maxsize=1)
def _paclitaxel_population(n: int = 300, seed: int = 17) -> tuple[np.ndarray, np.ndarray]:
    """(baseline, nadir) of ``n`` virtual patients after one 175 mg/m² 3-h course, with the
    published between-patient variability: PK (Crombag 2019 via Janssen 2023 Table 1, read via
    nlmixr2lib Janssen_2023_paclitaxel.R) VM_EL 27 %, VM_TR 26.7 %, KM_TR 66 %, Q2 49.5 %,
    V3 36.2 % CV; marrow (Friberg 2002, DDMORE DDMODEL00000186, log-scale variances 0.176,
    0.0296, 0.107) slope 44 %, MTT 17 %, baseline 34 % CV, around the ANC baseline 5.05e9/L."""
    model, circ, events, pk = _paclitaxel_marrow()
    assert pk.saturable is not None
    rng = np.random.default_rng(seed)

    def lognormal(cv: float) -> np.ndarray:
        return np.exp(rng.normal(0.0, np.sqrt(np.log1p(cv * cv)), n))

    baseline = 5.05 * lognormal(0.34)
    params = {
        "VMEL_paclitaxel": pk.saturable.vmax_el * lognormal(0.27),
        "VMTR_paclitaxel": pk.saturable.vmax_tr * lognormal(0.267),
        "KMTR_paclitaxel": pk.saturable.km_tr * lognormal(0.66),
        "Q2_paclitaxel": pk.q[0] * lognormal(0.495),
        "paclitaxel_V2": pk.v[0] * lognormal(0.362),
        "marrow_slope_paclitaxel": 28.9 * lognormal(0.44),
        "neut_mtt": 124.0 * lognormal(0.17),
        "neut_circ0": baseline,
    }
    initial = {
        s: baseline for s in ("neut_prol", "neut_transit1", "neut_transit2", "neut_transit3")
    }
    initial[circ] = baseline
    t = np.linspace(0.0, 21.0, 21 * 24 + 1)
    r = simulate(model, t, events=events, params=params, initial=initial, rtol=1e-7, atol=1e-10)
    return baseline, r[circ].min(axis=1)


_GAP = (
    "known gap (docs/pk_marrow.md 'Known gap'): the only paclitaxel marrow fit reachable is "
    "Friberg 2002's LEUKOCYTE fit (DDMODEL00000186); with published variability its typical "
    "relative nadir (0.43 x baseline) is too shallow for neutrophils, so ~2-3 % fall below "
    "0.5e9/L (label 27-28 %) and ~49 % below 2.0e9/L (label 90 %). The variability is not the "
    "cause: the whole distribution sits too high. The neutrophil-arm parameters were not found"
)


@pytest.mark.xfail(strict=True, reason=_GAP)
def test_paclitaxel_grade4_fraction_in_a_virtual_population():
    """Issue 17 target: 15-40 % with ANC < 0.5e9/L after 175 mg/m² over 3 h. Reference: the
    Taxol label's 27 % (ovarian) and 28 % (breast), :data:`LABEL_GRADE4_175_3H`. Tolerance: the
    issue's 15-40 % band around them."""
    _, nadirs = _paclitaxel_population()
    fraction = float(np.mean(nadirs < 0.5))
    assert 0.15 <= fraction <= 0.40


@pytest.mark.xfail(strict=True, reason=_GAP)
def test_paclitaxel_fraction_below_2e9_in_a_virtual_population():
    """The same population against the label's 90 % with ANC < 2.0e9/L (breast, 175 mg/m² 3 h,
    :data:`LABEL_BELOW_2_175_3H_BREAST`). Tolerance ±15 points (a worst-course rate over
    several courses vs one simulated course). Fails with ~49 %: the gap is the depth of the
    typical nadir, not the tail of the distribution."""
    _, nadirs = _paclitaxel_population()
    assert float(np.mean(nadirs < 2.0)) == pytest.approx(LABEL_BELOW_2_175_3H_BREAST, abs=0.15)


def test_friberg_docetaxel_nadir_and_rebound():
    lib_pk = LIB.drug("docetaxel").pk
    bsa = body_surface_area(170, 70)
    pk = two_compartment_from_half_lives(
        lib_pk.clearance.value * bsa,
        lib_pk.Vss.value,
        36 / 60,
        lib_pk.t_half_gamma.value,
        molecular_weight=807.9,
    )
    b = ModelBuilder("docetaxel_marrow")
    c_uM = add_pk(b, "docetaxel", pk).plasma_uM
    circ = add_friberg(b, FRIBERG_DOCETAXEL, drug_uM=c_uM)
    dose_mg = 100 * bsa  # 100 mg/m2, 1-h infusion
    events = EventTable().infusion(0.0, 1 / 24, "docetaxel_central", dose_mg / pk.v1 * 24)
    t = np.linspace(0, 28, 28 * 24 + 1)
    r = simulate(b.build(), t, events=events, rtol=1e-8, atol=1e-12, check=True)
    anc = r[circ][0]
    day, low = nadir(t, anc)
    assert 7.0 <= day <= 11.0  # nadir around day 9
    assert neutropenia_grade(low) >= 3  # deep neutropenia at 100 mg/m2
    above = t[(t > day) & (anc > FRIBERG_DOCETAXEL.circ0)]
    assert above.size and 15.0 <= above[0] <= 24.0  # rebound above baseline by day ~20
