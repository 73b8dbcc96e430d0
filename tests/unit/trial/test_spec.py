"""Trial files: valid ones load; bad ones raise TrialSpecError naming the field path."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from mdrsim.errors import MdrsimError
from mdrsim.trial import TrialPlan, TrialSpecError, load_trial, parse_trial


def _plan(doc: dict[str, Any], tmp_path: Path) -> TrialPlan:
    return TrialPlan.from_spec(parse_trial(doc), tmp_path)


def test_valid_trial_builds_a_plan(trial_doc: dict[str, Any], tmp_path: Path) -> None:
    plan = _plan(trial_doc, tmp_path)
    assert plan.simulator.arm_names() == ["control", "treated"]
    assert plan.population.names == ["r", "kill", "T", "age"]


def test_spec_hash_ignores_key_order(trial_doc: dict[str, Any]) -> None:
    reordered = dict(reversed(list(trial_doc.items())))
    assert parse_trial(trial_doc).spec_hash() == parse_trial(reordered).spec_hash()
    changed = copy.deepcopy(trial_doc)
    changed["seed"] = 43
    assert parse_trial(changed).spec_hash() != parse_trial(trial_doc).spec_hash()


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("population", "parameters", "r", "cv"), 0, "population.parameters.r.cv: must be > 0"),
        (("population", "parameters", "r", "dist"), "gamma", "population.parameters.r: dist"),
        (("population", "parameters", "r", "shape"), 2, "population.parameters.r.shape: unknown"),
        (("horizon_days",), -1, "horizon_days: must be > 0"),
        (("seed",), "x", "seed:"),
        (("population", "correlations", 0, "rho"), 1.5, "population.correlations[0].rho"),
    ],
)
def test_field_errors_name_the_path(
    trial_doc: dict[str, Any], path: tuple[Any, ...], value: Any, expected: str
) -> None:
    doc = copy.deepcopy(trial_doc)
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(TrialSpecError) as info:
        parse_trial(doc)
    assert expected in str(info.value)
    assert isinstance(info.value, MdrsimError)


def test_lognormal_needs_exactly_one_spread(trial_doc: dict[str, Any]) -> None:
    trial_doc["population"]["parameters"]["r"] = {"dist": "lognormal", "median": 1.0}
    with pytest.raises(TrialSpecError, match=r"population\.parameters\.r: give exactly one"):
        parse_trial(trial_doc)


def test_duplicate_arm_and_bad_arm_name(trial_doc: dict[str, Any]) -> None:
    doc = copy.deepcopy(trial_doc)
    doc["arms"][1]["name"] = "control"
    with pytest.raises(TrialSpecError, match=r"arms\[1\]\.name: 'control' is used twice"):
        parse_trial(doc)
    doc["arms"][1]["name"] = "../escape"
    with pytest.raises(TrialSpecError, match=r"arms\[1\]\.name"):
        parse_trial(doc)


def test_unknown_names_against_the_model(trial_doc: dict[str, Any], tmp_path: Path) -> None:
    doc = copy.deepcopy(trial_doc)
    doc["simulator"]["burden"] = ["T", "Tumour"]
    with pytest.raises(TrialSpecError, match=r"simulator\.burden\[1\]: 'Tumour' is not in"):
        _plan(doc, tmp_path)
    doc = copy.deepcopy(trial_doc)
    doc["arms"][1]["dosing"][0]["state"] = "Cx"
    with pytest.raises(TrialSpecError, match=r"arms\[1\]\.dosing\[0\]\.state"):
        _plan(doc, tmp_path)
    doc = copy.deepcopy(trial_doc)
    doc["arms"][1]["dosing"][0]["every_days"] = 0
    with pytest.raises(TrialSpecError, match=r"arms\[1\]\.dosing\[0\]\.every_days: must be > 0"):
        _plan(doc, tmp_path)
    doc = copy.deepcopy(trial_doc)
    doc["population"]["parameters"]["weight"] = {"dist": "normal", "mean": 70, "sd": 10}
    with pytest.raises(TrialSpecError, match=r"population\.parameters\.weight: not a name"):
        _plan(doc, tmp_path)


def test_references_to_unsampled_names(trial_doc: dict[str, Any]) -> None:
    doc = copy.deepcopy(trial_doc)
    doc["population"]["plausibility"]["zzz"] = {"lower": 0}
    with pytest.raises(TrialSpecError, match=r"plausibility\.zzz: not a sampled name"):
        parse_trial(doc)
    doc = copy.deepcopy(trial_doc)
    doc["population"]["correlations"] = [{"between": ["r", "q"], "rho": 0.1}]
    with pytest.raises(TrialSpecError, match=r"correlations\[0\]\.between: 'q'"):
        parse_trial(doc)


def test_correlation_matrix_must_be_positive_definite(
    trial_doc: dict[str, Any], tmp_path: Path
) -> None:
    trial_doc["population"]["correlations"] = [
        {"between": ["r", "kill"], "rho": 0.9},
        {"between": ["r", "T"], "rho": 0.9},
        {"between": ["kill", "T"], "rho": -0.9},
    ]
    with pytest.raises(TrialSpecError, match="not positive definite"):
        _plan(trial_doc, tmp_path)


def test_unknown_simulator_kind(trial_doc: dict[str, Any], tmp_path: Path) -> None:
    trial_doc["simulator"] = {"kind": "nope"}
    with pytest.raises(TrialSpecError, match=r"simulator\.kind: 'nope' is not registered"):
        _plan(trial_doc, tmp_path)
    trial_doc["simulator"] = {"burden": ["T"]}
    with pytest.raises(TrialSpecError, match="simulator: say which simulator"):
        _plan(trial_doc, tmp_path)


def test_missing_model_file(trial_doc: dict[str, Any], tmp_path: Path) -> None:
    trial_doc["simulator"]["model"] = "missing.ant"
    with pytest.raises(TrialSpecError, match=r"simulator\.model: file .*missing\.ant"):
        _plan(trial_doc, tmp_path)


def test_load_trial_file_errors(tmp_path: Path, trial_doc: dict[str, Any]) -> None:
    with pytest.raises(TrialSpecError, match="does not exist"):
        load_trial(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(TrialSpecError, match="not valid YAML"):
        load_trial(bad)
    bad.write_text("- just\n- a list\n")
    with pytest.raises(TrialSpecError, match="top level must be a mapping"):
        load_trial(bad)
    # A YAML tag that would build a Python object is refused by safe_load, never executed.
    bad.write_text("name: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(TrialSpecError, match="not valid YAML"):
        load_trial(bad)
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(trial_doc))
    spec, base = load_trial(good)
    assert spec.name == "tiny" and base == tmp_path.resolve()


def test_example_trial_file_runs(tmp_path: Path) -> None:
    from mdrsim.trial import run_trial

    root = Path(__file__).resolve().parents[3]
    plan = TrialPlan.from_file(root / "examples" / "trial_reference.yaml")
    assert plan.simulator.arm_names()[0] == "chemo"
    store = run_trial(plan, 12, tmp_path / "ex", chunk_size=12).store
    ep = store.endpoints()
    assert (ep["status"] == "ok").all() and len(ep) == 24
    # The untreated twin gives every patient a CD8 memory ratio.
    assert ep["cd8_memory_ratio"].notna().all() and (ep["cd8_memory_ratio"] > 0).all()
    # The split: Tr(0) = f_mdr1 * T0 and Ts(0) = (1 - f_mdr1) * T0.
    pts = store.read("patients").set_index("patient")
    t0 = store.query(
        "SELECT patient, variable, value FROM trajectories WHERE time = 0 AND arm = 'chemo'"
    ).pivot(index="patient", columns="variable", values="value")
    assert t0["Tr"].to_numpy() == pytest.approx((pts["f_mdr1"] * pts["T0"]).to_numpy())
    assert t0["Ts"].to_numpy() == pytest.approx(((1 - pts["f_mdr1"]) * pts["T0"]).to_numpy())


def test_simulator_kind_from_key_or_kind() -> None:
    from mdrsim.trial.simulator import registered_kinds, simulator_kind

    assert {"model", "scenario"} <= set(registered_kinds())
    assert simulator_kind({"model": "m.ant", "burden": ["T"]}) == "model"
    # The patient model's module is imported on first use and registers itself.
    assert simulator_kind({"scenario": "patient.yaml"}) == "scenario"
    with pytest.raises(TrialSpecError, match="say which simulator"):
        simulator_kind({"model": "m.ant", "scenario": "p.yaml"})


def test_split_names_must_be_sampled() -> None:
    """The model simulator's split of the initial tumour needs both of its names sampled: a
    plan without them is refused up front, not with a KeyError in every chunk."""
    root = Path(__file__).resolve().parents[3] / "examples"
    doc = yaml.safe_load((root / "trial_reference.yaml").read_text())
    del doc["population"]["parameters"]["f_mdr1"]
    with pytest.raises(TrialSpecError, match=r"simulator\.split\.fraction: 'f_mdr1' must be"):
        TrialPlan.from_spec(parse_trial(doc), root)
