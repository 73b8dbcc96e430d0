"""The P-gp model with the drug/cell-line library: cross-resistance, inhibitors, validation.

Sources: cross-resistance classes — Gottesman, Fojo & Bates, Nat Rev Cancer 2002;2:48 and
Cancer Res 1986;46:3099 (KB/VCR: cross-resistant to vincas, anthracyclines, etoposide,
colchicine; not to platinum, 5-FU, cytarabine, methotrexate); inhibitor potencies and
clinically achievable concentrations — see docs/library.md for each number's source.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mdrsim.data import tables
from mdrsim.data.library import load_library
from mdrsim.experiments.pharmacology import ic50_assay, pgp_density

LIB = load_library()
PGP_LINES = [
    r["id"] for r in tables.cell_line_rows(LIB) if r["pgp_mechanism"] and r["calibration_drug"]
]
SUBSTRATES = [
    r["name"]
    for r in tables.drug_rows(LIB)
    if r["substrate"] == "yes" and r["ic50_parental_uM"] is not None  # probes have no IC50
]
NON_SUBSTRATES = [
    r["name"]
    for r in tables.drug_rows(LIB)
    if r["substrate"] == "no" and r["ic50_parental_uM"] is not None
]


def _fold(drug: str, line: str, **kw: object) -> float:
    return ic50_assay(drug, line, **kw).fold_resistance  # type: ignore[arg-type]


def test_library_has_enough_calibrated_mdr_lines():
    assert len(PGP_LINES) >= 4


@pytest.mark.parametrize("line", PGP_LINES)
def test_calibrated_line_reproduces_its_published_fold(line):
    entry = LIB.cell_line(line)
    published = entry.fold_resistance[entry.calibration_drug].value
    target = (
        published if not isinstance(published, list) else math.sqrt(published[0] * published[1])
    )
    assert _fold(entry.calibration_drug, line) == pytest.approx(target, rel=0.01)
    assert pgp_density(line) > 0


@pytest.mark.parametrize("line", PGP_LINES)
def test_cross_resistance_pattern_over_the_whole_library(line):
    """Every MDR line is cross-resistant to the substrates and not to the non-substrates."""
    for drug in SUBSTRATES:
        assert _fold(drug, line) > 1.5, f"{line} should be cross-resistant to {drug}"
    for drug in NON_SUBSTRATES:
        assert _fold(drug, line) == pytest.approx(1.0, abs=0.02), f"{line} vs {drug}"


def _clinical(name: str) -> float:
    return float(LIB.inhibitor(name).clinical_concentration.value)


@pytest.mark.parametrize("inhibitor", ["tariquidar", "zosuquidar", "elacridar"])
def test_third_generation_inhibitors_at_clinical_levels_restore_sensitivity(inhibitor):
    line, drug = "MES-SA/Dx5", "doxorubicin"
    fold = _fold(drug, line, inhibitor=inhibitor, inhibitor_uM=_clinical(inhibitor))
    assert fold < 3.0  # within a few-fold of parental (from 9-fold)


def test_verapamil_at_plasma_levels_does_much_less_than_at_ten_micromolar():
    line, drug = "VJ-300", "vincristine"
    at_plasma = _fold(drug, line, inhibitor="verapamil", inhibitor_uM=_clinical("verapamil"))
    at_10 = _fold(drug, line, inhibitor="verapamil", inhibitor_uM=10.0)
    untreated = _fold(drug, line)
    assert at_plasma > 2 * at_10
    assert at_plasma > 0.2 * untreated  # a modest effect at achievable levels


def test_fast_permeating_anthracycline_is_less_affected():
    """Idarubicin crosses membranes fastest of the anthracyclines (library permeabilities)."""
    line = "MES-SA/Dx5"
    assert _fold("idarubicin", line) < _fold("daunorubicin", line) < _fold("doxorubicin", line)


def validation_table() -> list[dict[str, object]]:
    """Predicted vs published fold for every pair the library reserves for validation."""
    rows = []
    for pair in LIB.validation_pairs():
        if not pair["pgp_line"] or pair["line"] not in PGP_LINES:
            continue
        published = (
            pair["fold"]
            if pair["fold"] is not None
            else math.sqrt(pair["range"][0] * pair["range"][1])
        )
        predicted = _fold(pair["drug"], pair["line"])
        rows.append({**pair, "published": published, "predicted": predicted})
    return rows


def test_validation_table_against_published_fold_resistance():
    """At least eight (line, drug) pairs never used in calibration: the resistant /
    not-resistant call is right for every pair, and the median fold error is at most 3.

    Sources per pair are in the library (K562r: Hu & Chen; DLKPA: doi:10.1038/bjc.2013.537;
    BRO/mdr1: Lincke et al. Cancer Res 1990;50:1779); all are abstract-level values flagged
    `verify` — the table in docs/cellular_pharmacology.md lists them.
    """
    rows = validation_table()
    assert len(rows) >= 8
    for r in rows:
        assert (r["predicted"] > 2) == (r["published"] > 2), r
    errors = [max(r["predicted"] / r["published"], r["published"] / r["predicted"]) for r in rows]
    assert float(np.median(errors)) <= 3.0


def test_control_pairs_are_not_resistant():
    """Non-substrates in P-gp lines (e.g. cisplatin, cytarabine in BRO/mdr1): fold ~1."""
    controls = [
        (line, drug)
        for line in PGP_LINES
        for drug, entry in LIB.cell_line(line).fold_resistance.items()
        if entry.use == "control"
    ]
    assert controls
    for line, drug in controls:
        assert _fold(drug, line) == pytest.approx(1.0, abs=0.05), (line, drug)


REFERENCE_PAIRS = [
    (drug, fold.value)
    for drug, fold in LIB.cell_line("MES-SA/Dx5").fold_resistance.items()
    if fold.use in ("calibration", "efficiency")
]


def test_reference_line_calibrates_to_density_one():
    """MES-SA/Dx5 defines P-gp density 1 (drugs.yaml header); its calibration on doxorubicin
    must return 1 within 2 % (issue 17: it returned 1.372)."""
    assert pgp_density("MES-SA/Dx5") == pytest.approx(1.0, rel=0.02)


@pytest.mark.parametrize(("drug", "published"), REFERENCE_PAIRS)
def test_every_calibration_pair_reproduces_its_fold(drug, published):
    """Every (MES-SA/Dx5, drug) pair used to set a drug's efficiency reproduces its published
    fold (Traunecker HCL et al. Br J Cancer 1999;81:942, 72 h) within 2 %."""
    assert _fold(drug, "MES-SA/Dx5") == pytest.approx(published, rel=0.02)
