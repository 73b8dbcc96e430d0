"""A resistant line the library cannot calibrate, simulated from the user's own measurement.

Issue 17: `mdrsim assay ic50 --cell-line KB-V1` was refused (no fold values in the library).
The user gives the line's measured fold to one drug or its relative P-gp density; every output
records it as user-supplied; bad values are refused with a typed error naming the field.

References: the only "expected" numbers are the user's own (a fold given must come back as the
simulated fold of that drug, within the 2 % the library's calibrated pairs are held to) and the
library's own MES-SA/Dx5 density (1 by definition, cell_lines.yaml).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdrsim.data import Library, load_library
from mdrsim.errors import (
    InputValueError,
    MdrsimError,
    MissingLibraryDataError,
    UserSuppliedValueError,
)
from mdrsim.experiments.pharmacology import (
    UserResistance,
    ic50_assay,
    largest_library_fold,
    pgp_density,
    pgp_density_record,
)

LIB = load_library()


def _uncalibrated(lib: Library, line_id: str) -> Library:
    """``lib`` with ``line_id`` stripped of any calibration (whatever the packaged YAML holds
    for it by the time this runs), as KB-V1 was when issue 17 was filed."""
    line = lib.cell_lines[line_id].model_copy(
        update={"pgp_density": None, "calibration_drug": None, "fold_resistance": {}}
    )
    return lib.model_copy(update={"cell_lines": {**lib.cell_lines, line_id: line}})


BARE = _uncalibrated(LIB, "KB-V1")


def test_an_uncalibrated_line_is_refused_and_the_message_says_how_to_run_it() -> None:
    with pytest.raises(MissingLibraryDataError, match="--fold DRUG:FOLD"):
        pgp_density("KB-V1", library=BARE)


def test_the_users_fold_comes_back_as_the_simulated_fold() -> None:
    """Reference: the user's fold (200 to vinblastine); tolerance 2 % (the calibration
    tolerance of the library's own pairs). Would fail if the user's number were ignored or
    mis-applied (e.g. taken as a density: 200 gives a fold in the thousands)."""
    user = UserResistance(fold_drug="vinblastine", fold=200.0)
    report = ic50_assay("vinblastine", "KB-V1", library=BARE, user=user)
    assert report.fold_resistance == pytest.approx(200.0, rel=0.02)
    assert report.user_supplied == {
        "fold": {"drug": "vinblastine", "value": 200.0},
        "basis": "user-supplied",
    }
    assert report.pgp_density_source.startswith("user-supplied: fold resistance 200")
    doc = report.as_dict()
    assert doc["user_supplied"] == report.user_supplied
    assert "user-supplied" in str(doc["pgp_density_source"])
    # Taken as a density instead, 200 is a different line altogether.
    as_density = ic50_assay(
        "vinblastine", "KB-V1", library=BARE, user=UserResistance(pgp_density=200.0)
    )
    assert as_density.fold_resistance > 2 * report.fold_resistance


def test_fold_and_density_paths_agree() -> None:
    """The density a fold implies, given directly, reproduces the same IC50 on another drug."""
    fold_user = UserResistance(fold_drug="vinblastine", fold=200.0)
    density = pgp_density("KB-V1", library=BARE, user=fold_user)
    by_fold = ic50_assay("doxorubicin", "KB-V1", library=BARE, user=fold_user)
    by_density = ic50_assay(
        "doxorubicin", "KB-V1", library=BARE, user=UserResistance(pgp_density=density)
    )
    assert by_density.ic50_uM == pytest.approx(by_fold.ic50_uM, rel=1e-6)
    assert by_density.user_supplied == {"pgp_density": density, "basis": "user-supplied"}
    assert by_fold.fold_resistance > 1.0


def test_a_user_density_equal_to_the_librarys_gives_the_librarys_numbers() -> None:
    """A calibrated line (MES-SA/Dx5) given its own calibrated density by the user gives the
    library's IC50 exactly; only the recorded source differs."""
    library = ic50_assay("doxorubicin", "MES-SA/Dx5")
    density = pgp_density("MES-SA/Dx5")
    user = ic50_assay("doxorubicin", "MES-SA/Dx5", user=UserResistance(pgp_density=density))
    assert user.ic50_uM == library.ic50_uM
    assert library.user_supplied is None and library.pgp_density_source.startswith("library")
    assert "replaces the library's own value" in user.pgp_density_source


def test_a_fold_beyond_the_library_is_run_but_marked_as_an_extrapolation() -> None:
    """Above the largest published fold in the library (KB/VCR, 472 to vincristine) the cell
    model has not been checked: the run goes ahead, and its source says so."""
    top, _, _ = largest_library_fold(LIB)
    inside = pgp_density_record(
        "KB-V1", library=BARE, user=UserResistance(fold_drug="vinblastine", fold=200.0)
    )
    beyond = pgp_density_record(
        "KB-V1", library=BARE, user=UserResistance(fold_drug="vinblastine", fold=2 * top)
    )
    assert "extrapolation" not in inside.source
    assert "extrapolation" in beyond.source and f"{top:g}" in beyond.source


# ---------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"fold_drug": "vinblastine", "fold": 1.0}, "fold"),
        ({"fold_drug": "vinblastine", "fold": 0.5}, "fold"),
        ({"fold_drug": "vinblastine", "fold": -200.0}, "fold"),
        ({"fold_drug": "vinblastine", "fold": math.nan}, "fold"),
        ({"fold_drug": "vinblastine", "fold": math.inf}, "fold"),
        ({"fold_drug": "vinblastine", "fold": "200"}, "fold"),
        ({"fold_drug": "vinblastine", "fold": True}, "fold"),
        ({"fold_drug": "", "fold": 200.0}, "fold drug"),
        ({"fold": 200.0}, "fold drug"),
        ({"pgp_density": 0.0}, "pgp_density"),
        ({"pgp_density": -3.5}, "pgp_density"),
        ({"pgp_density": math.nan}, "pgp_density"),
        ({"pgp_density": "3.5"}, "pgp_density"),
        ({}, "fold / pgp_density"),
        ({"fold_drug": "vinblastine", "fold": 200.0, "pgp_density": 3.5}, "fold / pgp_density"),
    ],
)
def test_bad_values_are_refused_naming_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(UserSuppliedValueError) as info:
        UserResistance(**kwargs)
    assert info.value.field == field
    assert str(info.value).startswith(field)
    assert isinstance(info.value, InputValueError)  # field, value, allowed as attributes


@pytest.mark.parametrize(
    ("line", "user", "field", "says"),
    [
        ("KB-3-1", UserResistance(pgp_density=3.5), "pgp_density", "parental line"),
        ("KB-3-1", UserResistance(fold_drug="vinblastine", fold=200.0), "fold", "parental"),
        ("H69AR", UserResistance(pgp_density=3.5), "pgp_density", "misattribute"),
        ("KB-V1", UserResistance(fold_drug="vinblastin", fold=200.0), "fold drug", "vinblastine"),
        ("KB-V1", UserResistance(fold_drug="cisplatin", fold=20.0), "fold drug", "P-gp substrate"),
        ("KB-V1", UserResistance(fold_drug="vinblastine", fold=1e12), "fold", "reproduce"),
    ],
)
def test_values_that_cannot_describe_the_line_are_refused(
    line: str, user: UserResistance, field: str, says: str
) -> None:
    with pytest.raises(UserSuppliedValueError) as info:
        pgp_density_record(line, library=BARE, user=user)
    assert info.value.field == field
    assert says in str(info.value)


def test_a_density_too_high_to_measure_is_refused_naming_the_field() -> None:
    with pytest.raises(UserSuppliedValueError, match=r"^--pgp-density .*measurable"):
        ic50_assay("vinblastine", "KB-V1", library=BARE, user=UserResistance.parse_density("1e9"))


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("vinblastine", "DRUG:FOLD"),
        ("vinblastine:", "DRUG:FOLD"),
        (":200", "DRUG:FOLD"),
        ("vinblastine:abc", "finite number > 1"),
        ("vinblastine:200x", "finite number > 1"),
        ("vinblastine:1", "finite number > 1"),
        ("vinblastine:-5", "finite number > 1"),
        ("vinblastine:nan", "finite number > 1"),
    ],
)
def test_command_line_folds_are_parsed_strictly(text: str, says: str) -> None:
    with pytest.raises(UserSuppliedValueError) as info:
        UserResistance.parse_fold(text)
    assert str(info.value).startswith("--fold")
    assert says in str(info.value)


@pytest.mark.parametrize("text", ["abc", "0", "-1", "inf", ""])
def test_command_line_densities_are_parsed_strictly(text: str) -> None:
    with pytest.raises(UserSuppliedValueError, match=r"^--pgp-density"):
        UserResistance.parse_density(text)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 10)))
def test_every_fold_is_either_accepted_above_one_or_refused(value: float) -> None:
    if math.isfinite(value) and value > 1:
        assert UserResistance(fold_drug="vinblastine", fold=value).fold == value
    else:
        with pytest.raises(UserSuppliedValueError):
            UserResistance(fold_drug="vinblastine", fold=value)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=20))
def test_any_density_text_parses_to_a_positive_finite_value_or_a_typed_error(text: str) -> None:
    try:
        user = UserResistance.parse_density(text)
    except MdrsimError as exc:
        assert isinstance(exc, UserSuppliedValueError)
        return
    assert user.pgp_density is not None
    assert math.isfinite(user.pgp_density) and user.pgp_density > 0
