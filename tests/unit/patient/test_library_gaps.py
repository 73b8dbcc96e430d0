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
