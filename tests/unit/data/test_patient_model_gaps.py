"""Library.patient_model_gaps: what a drug lacks for the whole-patient model."""

from __future__ import annotations

import pytest

from mdrsim.data import Library, load_library
from mdrsim.errors import UnknownNameError
from mdrsim.regimen.schedule import Patient


@pytest.fixture(scope="module")
def lib() -> Library:
    return load_library()


def test_doxorubicin_has_everything(lib: Library) -> None:
    assert lib.patient_model_gaps("doxorubicin") == []
    assert lib.patient_model_gaps("Adriamycin") == []  # aliases work as everywhere
    assert "doxorubicin" in lib.patient_model_drugs()


def test_gemcitabine_lacks_clearance_and_says_what_to_do(lib: Library) -> None:
    gaps = lib.patient_model_gaps("gemcitabine")
    clearance = [g for g in gaps if "pk.clearance" in g]
    assert len(clearance) == 1
    assert clearance[0].startswith("gemcitabine has no pk.clearance")
    assert "add pk.clearance" in clearance[0] and "doxorubicin" in clearance[0]
    assert "gemcitabine" not in lib.patient_model_drugs()


def test_a_prodrug_also_lacks_its_parental_ic50(lib: Library) -> None:
    gaps = lib.patient_model_gaps("cyclophosphamide")
    assert any(g.startswith("cyclophosphamide has no ic50_parental") for g in gaps)


def test_adding_the_missing_pk_closes_the_gaps(lib: Library) -> None:
    dox_pk = lib.drugs["doxorubicin"].pk
    gem = lib.drugs["gemcitabine"].model_copy(update={"pk": dox_pk})
    patched = lib.model_copy(update={"drugs": {**lib.drugs, "gemcitabine": gem}})
    assert patched.patient_model_gaps("gemcitabine") == []


def test_unknown_drug_is_a_typed_error(lib: Library) -> None:
    with pytest.raises(UnknownNameError, match="did you mean: gemcitabine"):
        lib.patient_model_gaps("gemcitabin")


def test_gaps_agree_with_what_the_patient_model_reads(lib: Library) -> None:
    # The bridge that builds the patient model from the library (PK, tumour kill) must succeed
    # exactly for the drugs without gaps, so a scenario validated with the gaps cannot crash
    # later (issue 11: gemcitabine passed validation and then failed in `mdrsim run`).
    from mdrsim.errors import LibraryGapError
    from mdrsim.patient.library_bridge import drug_kill, pk_from_library

    patient = Patient(bsa_m2=1.8, weight_kg=70.0)
    complete = set(lib.patient_model_drugs())
    assert len(complete) >= 4  # the examples' drugs, at least
    for name in lib.drugs:
        if name in complete:
            pk_from_library(name, patient, lib)
            drug_kill(name, lib, f"{name}_plasma_uM")
        else:
            with pytest.raises((ValueError, AttributeError, LibraryGapError)):
                pk_from_library(name, patient, lib)
                drug_kill(name, lib, f"{name}_plasma_uM")
