"""The experiments use the library they are given, and raise typed errors for missing data."""

from __future__ import annotations

import pytest

from mdrsim.data import Library, load_library
from mdrsim.errors import MdrsimError, MissingLibraryDataError
from mdrsim.experiments.mouse_mdr1 import INHIBITOR, mouse_model
from mdrsim.experiments.pharmacology import ic50_assay, kill_parameters, pgp_density

DRUG, PARENTAL, RESISTANT = "doxorubicin", "MES-SA", "MES-SA/Dx5"


def _with_drug(lib: Library, name: str, **update: object) -> Library:
    drugs = {**lib.drugs, name: lib.drugs[name].model_copy(update=update)}
    return lib.model_copy(update={"drugs": drugs})


def _scaled_ic50(lib: Library, factor: float) -> Library:
    ic50 = lib.drugs[DRUG].ic50_parental
    assert ic50 is not None
    return _with_drug(
        lib, DRUG, ic50_parental=ic50.model_copy(update={"value": ic50.value * factor})
    )


def test_ic50_assay_uses_the_library_passed_to_it() -> None:
    lib = load_library()
    # The packaged library first: it fills every calibration cache, which must not leak into
    # the run with the modified library below.
    packaged = ic50_assay(DRUG, PARENTAL)
    modified_lib = _scaled_ic50(lib, 10.0)
    modified = ic50_assay(DRUG, PARENTAL, library=modified_lib)
    published = lib.drugs[DRUG].ic50_parental.value  # type: ignore[union-attr]
    # The parental IC50 is calibrated to the library's value, whichever library that is.
    assert packaged.ic50_uM == pytest.approx(published, rel=1e-3)
    assert modified.ic50_uM == pytest.approx(10 * published, rel=1e-3)
    # The default is the packaged library, so passing it changes nothing.
    assert ic50_assay(DRUG, PARENTAL, library=lib).ic50_uM == pytest.approx(packaged.ic50_uM)


def test_resistant_line_calibration_follows_the_library() -> None:
    lib = load_library()
    line = lib.cell_lines[RESISTANT]
    fold = line.fold_resistance[DRUG]
    folds = {**line.fold_resistance, DRUG: fold.model_copy(update={"value": 2 * fold.value})}
    lines = {**lib.cell_lines, RESISTANT: line.model_copy(update={"fold_resistance": folds})}
    modified = lib.model_copy(update={"cell_lines": lines})
    # The resistant line's density is calibrated so the fold to its calibration drug matches
    # the library's fold (tests/reference/test_pgp_library.py checks the packaged one).
    report = ic50_assay(DRUG, RESISTANT, library=modified)
    assert report.fold_resistance == pytest.approx(2 * fold.value, rel=1e-3)
    assert pgp_density(RESISTANT, library=modified) > pgp_density(RESISTANT, library=lib)


def test_mouse_model_takes_the_inhibitor_ki_from_the_library() -> None:
    lib = load_library()
    inh = lib.inhibitors[INHIBITOR]
    changed = inh.model_copy(update={"ki": inh.ki.model_copy(update={"value": 3 * inh.ki.value})})
    modified = lib.model_copy(update={"inhibitors": {**lib.inhibitors, INHIBITOR: changed}})
    ki = "Ki_cd8_inhibitor_conc"
    assert mouse_model().parameters[ki].value == pytest.approx(inh.ki.value)
    assert mouse_model(library=modified).parameters[ki].value == pytest.approx(3 * inh.ki.value)


def test_drug_without_parental_ic50_is_a_typed_error() -> None:
    lib = load_library()
    assert lib.drugs["cyclophosphamide"].ic50_parental is None  # a prodrug
    with pytest.raises(MissingLibraryDataError) as info:
        kill_parameters("cyclophosphamide", PARENTAL, library=lib)
    assert isinstance(info.value, MdrsimError)
    assert "cyclophosphamide" in str(info.value) and "ic50_parental" in str(info.value)


def test_line_without_calibration_is_a_typed_error() -> None:
    lib = load_library()
    line = lib.cell_lines[RESISTANT].model_copy(update={"calibration_drug": None})
    modified = lib.model_copy(update={"cell_lines": {**lib.cell_lines, RESISTANT: line}})
    with pytest.raises(MissingLibraryDataError, match="calibration_drug") as info:
        pgp_density(RESISTANT, library=modified)
    assert RESISTANT in str(info.value)


def test_unknown_names_suggest_the_right_one() -> None:
    with pytest.raises(MdrsimError, match="did you mean: doxorubicin"):
        ic50_assay("doxorubicine", PARENTAL)
