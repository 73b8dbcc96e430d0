"""Scenario files: every example loads; every kind of mistake is reported with its field path
(and line), all at once, without evaluating anything from the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from mdrsim.patient.scenario import Scenario, ScenarioError, load_scenario, parse_scenario

EXAMPLES = sorted((Path(__file__).parents[3] / "examples").glob("*.yaml"))
SCENARIO_EXAMPLES = [p for p in EXAMPLES if not p.name.startswith("trial")]

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
    assert sc.lines and sc.infections, "each example has an infection during cycle 2"
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
