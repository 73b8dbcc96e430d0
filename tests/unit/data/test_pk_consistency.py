"""The library's PK summary numbers (terminal half-life, Vss) agree with the compartment model
the patient model builds from the same entry.

For every drug with ``pk.compartments``, the model of :func:`pk_from_library` at the entry's
reference BSA (1.8 m² where it has none) gives a terminal half-life — the slowest eigenvalue of
its linear system (of the low-concentration limit for saturable paclitaxel) — and a Vss (the sum
of its volumes). The stated values must agree within 2 % (issue 17: the paediatric doxorubicin
set had a 122 h eigenvalue behind a stated 31 h). A saturable model's stated terminal half-life
is the label's observed value at one dose, so there only the label range is required.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mdrsim.biology.pk import PKParameters
from mdrsim.data.library import load_library
from mdrsim.patient.library_bridge import pk_from_library
from mdrsim.regimen.schedule import Patient

LIB = load_library()
COMPARTMENTAL = sorted(
    name for name, d in LIB.drugs.items() if d.pk is not None and d.pk.compartments is not None
)


def _model(name: str) -> tuple[PKParameters, float]:
    pk = LIB.drug(name).pk
    assert pk is not None
    bsa = float(pk.reference_bsa.value) if pk.reference_bsa is not None else 1.8
    return pk_from_library(name, Patient(bsa_m2=bsa, weight_kg=70.0), LIB), bsa


def _half_life_by_eigen(pk: PKParameters) -> float:
    """Independent of PKParameters.terminal_half_life_h: the rate matrix written out here."""
    lin = pk.linear_limit()
    vols = [lin.v1, *lin.v]
    n = len(vols)
    k = np.zeros((n, n))
    k[0, 0] -= lin.cl / lin.v1
    for i, (q, v) in enumerate(zip(lin.q, lin.v, strict=True), start=1):
        k[0, 0] -= q / lin.v1
        k[i, i] -= q / v
        k[0, i] += q / v
        k[i, 0] += q / lin.v1
    rates = -np.linalg.eigvals(k).real
    return math.log(2) / float(rates.min())


def test_every_pk_drug_with_compartments_is_checked():
    assert {"doxorubicin", "paclitaxel", "docetaxel", "vincristine", "etoposide"} <= set(
        COMPARTMENTAL
    )


@pytest.mark.parametrize("name", COMPARTMENTAL)
def test_stated_terminal_half_life_matches_the_compartments(name):
    pk_lib = LIB.drug(name).pk
    stated = pk_lib.t_half_terminal or pk_lib.t_half_gamma
    assert stated is not None, f"{name}: compartments without a terminal half-life"
    model, _ = _model(name)
    derived = _half_life_by_eigen(model)
    if model.saturable is not None:
        assert stated.range is not None and stated.unit == "h"
        low, high = stated.range
        assert low <= derived <= high, (
            f"{name}: low-concentration t1/2 {derived:.1f} h outside the label range"
        )
        return
    assert derived == pytest.approx(stated.to("h"), rel=0.02), (
        f"{name}: compartments give t1/2 {derived:.3g} h, the library states "
        f"{stated.value} {stated.unit}"
    )
    if stated.range is not None:
        assert stated.range[0] <= stated.value <= stated.range[1]


@pytest.mark.parametrize("name", COMPARTMENTAL)
def test_stated_vss_matches_the_compartments(name):
    pk_lib = LIB.drug(name).pk
    if pk_lib.Vss is None:
        pytest.skip(f"{name} states no Vss")
    model, bsa = _model(name)
    vss_l = model.volume_ss_l()
    stated = pk_lib.Vss.value * (bsa if pk_lib.Vss.unit == "L/m2" else 1.0)
    assert vss_l == pytest.approx(stated, rel=0.02), (
        f"{name}: compartments sum to {vss_l:.4g} L, the library states {stated:.4g} L"
    )


def test_doxorubicin_is_the_adult_model_inside_the_label():
    """Perez-Blanco 2016 adults (doi:10.1111/bcp.13070): CL 62.4 L/h; the label (FDA
    Doxorubicin HCl 12.3) gives terminal t1/2 20-48 h and Vss 809-1214 L/m²."""
    model, bsa = _model("doxorubicin")
    assert model.cl == pytest.approx(62.4)
    assert 20.0 <= _half_life_by_eigen(model) <= 48.0
    assert 809.0 <= model.volume_ss_l() / bsa <= 1214.0


def test_the_check_fails_for_the_paediatric_set():
    """The test can fail: the Kunarajah 2017 paediatric set previously in the library (CL 58.7,
    V1 32.2, Q2 35.8, V2 3810, Q3 65.1, V3 705 at 1.8 m²) against its stated 31 h."""
    old = PKParameters(cl=58.7, v1=32.2, q=(35.8, 65.1), v=(3810.0, 705.0))
    assert _half_life_by_eigen(old) != pytest.approx(31.0, rel=0.02)
    assert _half_life_by_eigen(old) > 100.0
