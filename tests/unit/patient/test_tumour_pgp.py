"""The scenario path for a user-supplied line (issue 17): ``patient.tumour.mdr1_high_pgp``.

The patient's MDR1-high clone gets the P-gp density of a library line, of a line the library
cannot calibrate described by the user's measured fold, or the user's own density; the run's
summary records it (user-supplied when it is); bad values are refused at parse time with the
field path and line. Expected values: the density the assay layer gives for the same input
(one calibration for both paths), and the tumour module's default 0.3 : 1 level ratio.
"""

from __future__ import annotations

import pytest

from mdrsim.data import Library, load_library
from mdrsim.experiments.pharmacology import UserResistance, pgp_density
from mdrsim.patient.model import MDR1_LOW_RATIO, mdr1_high_pgp, tumour_spec
from mdrsim.patient.run import summary_table
from mdrsim.patient.scenario import ScenarioError, TumourInput, parse_scenario

LIB = load_library()


def _uncalibrated(lib: Library, line_id: str) -> Library:
    line = lib.cell_lines[line_id].model_copy(
        update={"pgp_density": None, "calibration_drug": None, "fold_resistance": {}}
    )
    return lib.model_copy(update={"cell_lines": {**lib.cell_lines, line_id: line}})


BARE = _uncalibrated(LIB, "KB-V1")

SCENARIO = """\
name: user line
horizon_days: 120
patient:
  bsa_m2: 1.8
  tumour:
    mdr1_high_fraction: 0.01
    mdr1_high_pgp: {PGP}
lines:
  - name: dox
    cycle_length_days: 21
    n_cycles: 2
    doses: [{drug: doxorubicin, dose: 75, unit: mg/m2}]
"""


def _tumour(**pgp: object) -> TumourInput:
    return TumourInput.model_validate({"mdr1_high_pgp": pgp})


def test_the_default_tumour_is_unchanged() -> None:
    default = tumour_spec(TumourInput())
    assert dict(default.levels) == {"parental": 0.0, "mdr1_low": 0.3, "mdr1_high": 1.0}
    assert mdr1_high_pgp(TumourInput()) is None
    assert "mdr1_high_density" not in default.sources


def test_a_user_density_sets_the_high_clone_and_is_recorded_as_user_supplied() -> None:
    spec = tumour_spec(_tumour(pgp_density=22.0), LIB)
    assert dict(spec.levels) == {
        "parental": 0.0,
        "mdr1_low": pytest.approx(MDR1_LOW_RATIO * 22.0),
        "mdr1_high": 22.0,
    }
    assert spec.sources["mdr1_high_density"].startswith("user-supplied: P-gp density 22")
    result = mdr1_high_pgp(_tumour(pgp_density=22.0), LIB)
    assert result is not None
    assert result[1]["user_supplied"] == {"pgp_density": 22.0, "basis": "user-supplied"}


def test_a_users_fold_gives_the_same_density_as_the_assay() -> None:
    result = mdr1_high_pgp(_tumour(cell_line="KB-V1", fold={"vinblastine": 200.0}), BARE)
    assert result is not None
    density, record = result
    assay = pgp_density(
        "KB-V1", library=BARE, user=UserResistance(fold_drug="vinblastine", fold=200.0)
    )
    assert density == assay
    assert record["user_supplied"] == {
        "fold": {"drug": "vinblastine", "value": 200.0},
        "basis": "user-supplied",
    }
    assert "KB-V1: user-supplied" in str(record["source"])


def test_a_library_line_gives_its_library_density_and_is_not_user_supplied() -> None:
    result = mdr1_high_pgp(_tumour(cell_line="MES-SA/Dx5"), LIB)
    assert result is not None
    assert result[0] == pgp_density("MES-SA/Dx5")
    assert result[1]["user_supplied"] is None
    assert str(result[1]["source"]).startswith("MES-SA/Dx5: library")


def test_the_summary_table_shows_it() -> None:
    summary = {
        "best_response": "PR",
        "best_change_pct": -40.0,
        "progression_free_survival_days": 100.0,
        "progressed": True,
        "lines": [],
        "drug_auc_mg_h_per_L": {},
        "anc": {"nadir_1e9_per_L": 1.0, "nadir_day": 8.0, "worst_grade": 2},
        "cd8": {
            "effector_peak_cells": 1.0,
            "effector_peak_day": 8.0,
            "memory_cells_at_horizon": 1.0,
            "memory_relative_to_untreated": 1.0,
        },
        "infections": [],
        "tumour": {
            "mdr1_high_fraction_at_first_progression": 0.5,
            "burden_at_horizon_1e9_cells": 1.0,
        },
        "provenance": {
            "tumour_mdr1_high_pgp": {
                "pgp_density": 22.0,
                "source": "user-supplied: P-gp density 22 (MES-SA/Dx5 = 1), not from the library",
            }
        },
    }
    rows = dict(summary_table(summary))
    assert "user-supplied" in rows["MDR1-high clone P-gp density"]


def test_a_scenario_with_a_user_density_parses() -> None:
    scenario = parse_scenario(SCENARIO.replace("{PGP}", "{pgp_density: 22}"), library=LIB)
    assert scenario.patient.tumour.mdr1_high_pgp is not None


@pytest.mark.parametrize(
    ("pgp", "says"),
    [
        ("{pgp_density: -1}", "patient.tumour.mdr1_high_pgp.pgp_density -1.0: allowed"),
        ("{pgp_density: .nan}", "patient.tumour.mdr1_high_pgp.pgp_density nan: allowed"),
        ("{cell_line: KB-V1, fold: {vinblastine: 1}}", "mdr1_high_pgp.fold 1.0: allowed"),
        ("{cell_line: KB-V1, fold: {vinblastin: 200}}", "did you mean"),
        ("{cell_line: KB-3-1, pgp_density: 3}", "parental line"),
        ("{cell_line: H69AR, pgp_density: 3}", "misattribute"),
        ("{cell_line: KB-V1}", "--fold DRUG:FOLD"),
        ("{fold: {vinblastine: 200}}", "fold needs the cell_line"),
        ("{cell_line: KB-V1, fold: {vinblastine: 200, doxorubicin: 30}}", "exactly one drug"),
        ("{pgp_density: 3, fold: {vinblastine: 200}}", "not both"),
        ("{}", "give a cell_line"),
        ("{pgp_density: 3, colour: red}", "colour"),
    ],
)
def test_bad_values_are_refused_with_the_field_path_and_line(pgp: str, says: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(SCENARIO.replace("{PGP}", pgp), source="user.yaml", library=BARE)
    text = "\n".join(info.value.problems)
    assert "mdr1_high_pgp" in text
    assert says in text
    assert "line 7" in text  # where mdr1_high_pgp is in the file
