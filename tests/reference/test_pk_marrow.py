"""Systemic PK, drug–drug interactions and the Friberg 2002 myelosuppression model.

Sources: PK parameters from the drug library (each with its source: Kunarajah 2017 doxorubicin,
FDA labels); DDI magnitudes — valspodar cut etoposide clearance 57 % (Advani et al., Blood
1999;93:787), tariquidar left docetaxel disposition unchanged (Kelly et al., Clin Cancer Res
2011;17:569); Friberg et al., J Clin Oncol 2002;20:4713 (docetaxel: ANC nadir around day 9,
rebound above baseline by day ~20, as summarised in docs/science_notes.md §5).
"""

from __future__ import annotations

import numpy as np
import pytest

from mdrsim.biology.marrow import FRIBERG_DOCETAXEL, add_friberg, nadir, neutropenia_grade
from mdrsim.biology.pk import (
    PKParameters,
    add_pk,
    body_surface_area,
    two_compartment_from_half_lives,
)
from mdrsim.data.library import load_library
from mdrsim.engine import EventTable, simulate
from mdrsim.model import ModelBuilder

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
    """Kunarajah 2017's three-compartment doxorubicin (library) decays, after distribution, at
    the rate its parameters imply. Its deep compartment (3810 L) gives a terminal half-life of
    ~120 h, longer than the label's 20-48 h (FDA label 12.3, which reflects shorter sampling):
    recorded in docs/pk_marrow.md, not hidden by the test."""
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


def _clearance_with(drug: str, inhibitor: str) -> tuple[float, float]:
    d = LIB.drug(drug)
    inh = LIB.inhibitor(inhibitor)
    pk = PKParameters(cl=10.0, v1=20.0)
    model = _pk_model(
        pk,
        pgp_clearance_fraction=d.pk.pgp_dependent_clearance_fraction.value,
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


def test_second_generation_inhibitor_cuts_etoposide_clearance_as_published():
    auc_alone, auc_with = _clearance_with("etoposide", "valspodar")
    clearance_change = auc_alone / auc_with - 1
    published = LIB.ddi("valspodar", "etoposide").value  # -0.57 (Advani 1999)
    assert clearance_change == pytest.approx(published, abs=0.1)


def test_tariquidar_leaves_docetaxel_pk_nearly_unchanged():
    auc_alone, auc_with = _clearance_with("docetaxel", "tariquidar")
    assert auc_with / auc_alone == pytest.approx(1.0, abs=0.05)


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
