"""Scenario files: every example loads; every kind of mistake is reported with its field path
(and line), all at once, without evaluating anything from the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from mdrsim.patient.scenario import Scenario, ScenarioError, load_scenario, parse_scenario

EXAMPLES = sorted((Path(__file__).parents[3] / "examples").glob("*.yaml"))
SCENARIO_EXAMPLES = [p for p in EXAMPLES if not p.name.startswith(("trial", "calibration"))]

GOOD = """\
name: test
horizon_days: 200
patient:
  bsa_m2: 1.8
  tumour: {cells_1e9: 10, mdr1_high_fraction: 0.001}
lines:
  - name: dox
    cycle_length_days: 21
    n_cycles: 4
    doses:
      - {drug: doxorubicin, dose: 75, unit: mg/m2}
infections:
  - {pathogen: virus, cycle: 2, day: 8}
"""


def _problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(text, source="test.yaml")
    assert "test.yaml" in str(exc.value)
    return exc.value.problems


@pytest.mark.parametrize("path", SCENARIO_EXAMPLES, ids=lambda p: p.name)
def test_every_example_loads(path: Path) -> None:
    sc = load_scenario(path)
    assert isinstance(sc, Scenario)
    assert sc.lines
    if path.stem == "sarcoma_doxorubicin":
        # the typical patient of the EORTC 62012 trial of record: no infection challenge
        assert not sc.infections
        return
    assert sc.infections, "each tour example has an infection during cycle 2"
    assert sc.infections[0].cycle == 2


def test_examples_cover_the_issue() -> None:
    drugs = {frozenset(load_scenario(p).drugs) for p in SCENARIO_EXAMPLES}
    inhibitors = {load_scenario(p).inhibitor for p in SCENARIO_EXAMPLES}
    assert frozenset({"doxorubicin"}) in drugs
    assert frozenset({"doxorubicin", "cisplatin"}) in drugs
    assert "tariquidar" in inhibitors


def test_infection_day_from_cycle_and_day() -> None:
    sc = parse_scenario(GOOD)
    # cycle 2 starts on day 21 (0-based), its day 8 is day 28.
    assert sc.infection_days() == [28.0]


def test_wrong_type_names_the_field_and_line() -> None:
    problems = _problems(GOOD.replace("dose: 75", "dose: lots"))
    assert len(problems) == 1
    assert problems[0].startswith("lines[0].doses[0].dose (line 11)")
    assert "number" in problems[0]


def test_negative_bsa() -> None:
    (p,) = _problems(GOOD.replace("bsa_m2: 1.8", "bsa_m2: -1.8"))
    assert p.startswith("patient.bsa_m2 (line 4)") and "greater than 0" in p


def test_unknown_drug_with_suggestion() -> None:
    (p,) = _problems(GOOD.replace("drug: doxorubicin", "drug: doxorubicine"))
    assert p.startswith("lines[0].doses[0].drug")
    assert "doxorubicin" in p  # did-you-mean


def test_unknown_field_is_rejected_not_ignored() -> None:
    (p,) = _problems(GOOD.replace("horizon_days: 200", "horizon_days: 200\nhorizont: 3"))
    assert p.startswith("horizont") and "not permitted" in p


def test_lines_must_not_overlap_or_repeat() -> None:
    twice = GOOD.replace(
        "infections:",
        "  - name: dox\n    cycle_length_days: 21\n    n_cycles: 2\n"
        "    doses: [{drug: cisplatin, dose: 75}]\ninfections:",
    )
    assert any("line names must be unique" in p for p in _problems(twice))
    overlapping = GOOD.replace(
        "{drug: doxorubicin, dose: 75, unit: mg/m2}",
        "{drug: doxorubicin, dose: 75, unit: mg/m2, infusion_h: 48, days: [1, 2]}",
    )
    assert any("overlap" in p for p in _problems(overlapping))


def test_several_problems_reported_together() -> None:
    bad = GOOD.replace("bsa_m2: 1.8", "bsa_m2: 0").replace("n_cycles: 4", "n_cycles: -1")
    problems = _problems(bad)
    assert len(problems) == 2
    assert {p.split(" ")[0] for p in problems} == {"patient.bsa_m2", "lines[0].n_cycles"}


def test_infection_outside_line_one() -> None:
    (p,) = _problems(GOOD.replace("cycle: 2, day: 8", "cycle: 9, day: 8"))
    assert "infections[0].cycle" in p and "4 cycles" in p


def test_one_inhibitor_per_scenario() -> None:
    two = GOOD.replace(
        "      - {drug: doxorubicin, dose: 75, unit: mg/m2}",
        "      - {drug: doxorubicin, dose: 75, unit: mg/m2}\n"
        "    inhibitors: [{inhibitor: tariquidar}, {inhibitor: zosuquidar}]",
    )
    (p,) = _problems(two)
    assert "one MDR1 inhibitor" in p


def test_yaml_is_never_executed(tmp_path: Path) -> None:
    # A python tag would run code under yaml.load; safe_load refuses it.
    (p,) = _problems("!!python/object/apply:os.system ['echo hacked']\n")
    assert "YAML" in p


def test_not_a_mapping_and_missing_file(tmp_path: Path) -> None:
    (p,) = _problems("- just\n- a list\n")
    assert "mapping" in p
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "missing.yaml")


def test_bsa_from_height_and_weight() -> None:
    sc = parse_scenario(GOOD.replace("bsa_m2: 1.8", "height_cm: 170\n  weight_kg: 70"))
    # Mosteller: sqrt(170*70/3600) = 1.818 m²
    assert sc.patient.body_surface_area() == pytest.approx(1.8181, abs=1e-4)
    both = GOOD.replace("bsa_m2: 1.8", "bsa_m2: 1.8\n  height_cm: 170")
    (p,) = _problems(both)
    assert "not both" in p


# -- what the patient model needs of the library ----------------------------------------------


def test_a_drug_without_pk_fails_validation_naming_the_field_and_what_is_missing():
    text = GOOD.replace(
        "      - {drug: doxorubicin, dose: 75, unit: mg/m2}",
        "      - {drug: doxorubicin, dose: 75, unit: mg/m2}\n"
        "      - {drug: gemcitabine, dose: 1000, unit: mg/m2}",
    )
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, source="gem.yaml")
    problems = info.value.problems
    assert len(problems) == 1, problems
    assert problems[0].startswith("lines[0].doses[1].drug: gemcitabine has no clearance")
    assert "add pk.clearance" in problems[0]
    # It offers the drugs that can be used, and gemcitabine is not among them.
    offered = problems[0].split("choose one of ")[1].split(", ")
    assert "doxorubicin" in offered and "gemcitabine" not in offered


def test_the_library_given_is_the_one_validated_against():
    from mdrsim.data.library import load_library

    lib = load_library()
    dox = lib.drug("doxorubicin")
    no_pk = lib.model_copy(
        update={"drugs": {**lib.drugs, "doxorubicin": dox.model_copy(update={"pk": None})}}
    )
    assert parse_scenario(GOOD, library=lib).drugs == ("doxorubicin",)
    with pytest.raises(ScenarioError, match=r"lines\[0\]\.doses\[0\]\.drug: doxorubicin has no"):
        parse_scenario(GOOD, library=no_pk)


def test_build_patient_model_refuses_a_library_the_scenario_does_not_fit():
    from mdrsim.data.library import load_library
    from mdrsim.patient import build_patient_model

    lib = load_library()
    no_ic50 = lib.model_copy(
        update={
            "drugs": {
                **lib.drugs,
                "doxorubicin": lib.drug("doxorubicin").model_copy(update={"ic50_parental": None}),
            }
        }
    )
    with pytest.raises(ScenarioError, match="no parental IC50"):
        build_patient_model(parse_scenario(GOOD, library=lib), no_ic50)


# -- schema_version, seed, solver -------------------------------------------------------------


def test_schema_version_1_is_read_and_is_optional():
    assert parse_scenario("schema_version: 1\n" + GOOD).schema_version == 1
    assert parse_scenario(GOOD).schema_version == 1


@pytest.mark.parametrize("version", ["2", "0", "'1'", "true"])
def test_another_schema_version_is_refused_naming_field_value_and_supported(version):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(f"schema_version: {version}\n" + GOOD, source="v.yaml")
    (problem,) = info.value.problems
    assert problem.startswith("schema_version (line 1): got ")
    assert "reads schema_version 1" in problem


def test_a_seed_is_refused_because_the_patient_model_is_deterministic():
    with pytest.raises(ScenarioError) as info:
        parse_scenario("seed: 3\n" + GOOD)
    (problem,) = info.value.problems
    assert problem.startswith("seed (line 1):") and "deterministic" in problem


def test_solver_block_sets_the_engine_options():
    from mdrsim.engine import SolverOptions

    sc = parse_scenario(GOOD + "solver: {rtol: 1.0e-8, atol: 1.0e-12, max_steps: 1000}\n")
    assert sc.solver.options() == SolverOptions(rtol=1e-8, atol=1e-12, max_steps=1000)
    default = parse_scenario(GOOD).solver.options()
    assert (default.rtol, default.atol, default.max_steps) == (1e-6, 1e-10, 500_000)
    with pytest.raises(ScenarioError, match=r"solver\.rtol \(line \d+\)"):
        parse_scenario(GOOD + "solver: {rtol: 2}\n")


def test_adaptive_rule_must_resume_above_where_it_pauses():
    text = GOOD.replace(
        "    n_cycles: 4\n",
        "    n_cycles: 4\n"
        "    adaptive: {stop_below_fraction_of_baseline: 0.6, resume_at_fraction: 0.5}\n",
    )
    with pytest.raises(ScenarioError, match=r"lines\[0\]\.adaptive.*resume_at_fraction"):
        parse_scenario(text)


def test_mdrsim_run_on_a_drug_without_pk_exits_with_the_problem_and_no_traceback(tmp_path):
    import os
    import subprocess
    import sys

    path = tmp_path / "gem.yaml"
    path.write_text(GOOD.replace("drug: doxorubicin, dose: 75", "drug: gemcitabine, dose: 1000"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run(
        [sys.executable, "-c", "from mdrsim.cli import app; app()", "run", str(path), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "lines[0].doses[0].drug: gemcitabine has no clearance" in proc.stderr


def test_duplicate_keys_and_aliases_are_refused() -> None:
    # The scenario loader is the limited safe loader (as for trial files): a repeated key
    # would silently take the last value; an alias bomb exhausts memory.
    from mdrsim.examples import example_path

    text = example_path("doxorubicin").read_text()
    with pytest.raises(ScenarioError, match="key 'horizon_days' is given twice"):
        parse_scenario(text + "\nhorizon_days: 400\n")
    with pytest.raises(ScenarioError, match="aliases"):
        parse_scenario("a: &x [1]\nb: *x\n")
