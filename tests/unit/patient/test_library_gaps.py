"""What a library drug lacks for the whole-patient model (patient.library_bridge).

The bridge is the one place that knows what the patient model reads from the library, so the
gap check lives beside it; scenario validation reports each gap with its field path.
"""

from __future__ import annotations

import pytest

from mdrsim.data import Library, load_library
from mdrsim.errors import MdrsimError, UnknownNameError
from mdrsim.patient.library_bridge import drug_gaps, drug_kill, pk_from_library, usable_drugs
from mdrsim.regimen.schedule import Patient


@pytest.fixture(scope="module")
def lib() -> Library:
    return load_library()


def test_doxorubicin_has_everything(lib: Library) -> None:
    assert drug_gaps("doxorubicin", lib) == []
    assert drug_gaps("Adriamycin", lib) == []  # aliases work as everywhere
    assert "doxorubicin" in usable_drugs(lib)


def test_gemcitabine_lacks_clearance_and_says_what_to_add(lib: Library) -> None:
    gaps = drug_gaps("gemcitabine", lib)
    assert any("no clearance" in g and "add pk.clearance" in g for g in gaps)
    assert "gemcitabine" not in usable_drugs(lib)


def test_a_prodrug_also_lacks_its_parental_ic50(lib: Library) -> None:
    assert any("parental IC50" in g for g in drug_gaps("cyclophosphamide", lib))


def test_adding_the_missing_pk_closes_the_clearance_gap(lib: Library) -> None:
    dox_pk = lib.drugs["doxorubicin"].pk
    gem = lib.drugs["gemcitabine"].model_copy(update={"pk": dox_pk})
    patched = lib.model_copy(update={"drugs": {**lib.drugs, "gemcitabine": gem}})
    assert not any("clearance" in g for g in drug_gaps("gemcitabine", patched))


def test_unknown_drug_is_a_typed_error(lib: Library) -> None:
    with pytest.raises(UnknownNameError, match="did you mean: gemcitabine"):
        drug_gaps("gemcitabin", lib)


def test_gaps_agree_with_what_the_patient_model_reads(lib: Library) -> None:
    # The bridge must succeed exactly for the drugs without gaps, so a scenario validated with
    # the gaps cannot crash later (issue 11: gemcitabine passed validation, then `mdrsim run`
    # failed with a raw ValueError).
    patient = Patient(bsa_m2=1.8, weight_kg=70.0)
    complete = set(usable_drugs(lib))
    assert len(complete) >= 4  # the examples' drugs, at least
    for name in lib.drugs:
        if name in complete:
            pk_from_library(name, patient, lib)
            drug_kill(name, lib, "plasma_uM")
            continue
        # a drug with a gap fails in at least one of the two, and only with a typed error
        failures = 0
        try:
            pk_from_library(name, patient, lib)
        except MdrsimError:
            failures += 1
        try:
            drug_kill(name, lib, "plasma_uM")
        except MdrsimError:
            failures += 1
        assert failures >= 1, name


def test_absolute_clearance_scales_with_bsa_whatever_its_unit(lib: Library) -> None:
    # Review finding: the multi-compartment path scaled an absolute clearance by BSA only when
    # written in L/h; the same clearance in mL/min was left unscaled while the volumes scaled.
    dox = lib.drugs["doxorubicin"]
    assert dox.pk is not None and dox.pk.clearance is not None
    cl = dox.pk.clearance
    in_ml_min = cl.model_copy(update={"value": cl.value * 1000 / 60, "unit": "mL/min"})
    pk2 = dox.pk.model_copy(update={"clearance": in_ml_min})
    patched = lib.model_copy(
        update={"drugs": {**lib.drugs, "doxorubicin": dox.model_copy(update={"pk": pk2})}}
    )
    big = Patient(bsa_m2=2.2, weight_kg=90.0)
    a = pk_from_library("doxorubicin", big, lib)
    b = pk_from_library("doxorubicin", big, patched)
    assert b.cl == pytest.approx(a.cl, rel=1e-9)
    assert a.cl == pytest.approx(cl.value * 2.2 / 1.8, rel=1e-9)


@pytest.mark.parametrize("change", [+0.2, -0.99])
def test_a_measured_interaction_the_model_cannot_represent_is_refused(
    lib: Library, change: float
) -> None:
    # Review finding: a measured increase in clearance, or a fall beyond full block at the
    # inhibitor's occupancy, was clamped silently while the summary reported the measured value.
    from mdrsim.errors import LibraryGapError
    from mdrsim.patient.library_bridge import interaction

    vals = lib.inhibitors["valspodar"]
    measured = vals.ddi["doxorubicin"].model_copy(update={"value": change})
    patched_inh = vals.model_copy(update={"ddi": {**vals.ddi, "doxorubicin": measured}})
    patched = lib.model_copy(
        update={"inhibitors": {**lib.inhibitors, "valspodar": patched_inh}}
    )
    assert interaction("valspodar", "doxorubicin", lib).basis == "measured"
    with pytest.raises(LibraryGapError, match="valspodar \\+ doxorubicin: the measured"):
        interaction("valspodar", "doxorubicin", patched)
