"""Parameter files: written for one model, read back, refused on any other model or when
malformed (each refusal names the file and the field)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mdrsim.errors import ParameterFileError, ParameterFileMismatchError
from mdrsim.fit.parameters import FORMAT, read_parameter_file, write_parameter_file
from mdrsim.io import read_antimony

from .conftest import DECAY

OTHER = DECAY.replace("R2: B -> ; k2 * B", "R2: B -> A; k2 * B")  # same names, other structure


def test_round_trip_and_check(tmp_path: Path) -> None:
    model = read_antimony(DECAY)
    path = write_parameter_file(tmp_path / "p.json", model, {"k1": 0.25}, {"note": "test"})
    fitted = read_parameter_file(path)
    assert fitted.values == {"k1": 0.25} and fitted.name == model.name
    fitted.check(model)  # the same model: accepted
    prov = fitted.provenance()
    assert prov["file"] == str(path) and len(prov["sha256"]) == 64
    assert prov["values"] == {"k1": 0.25} and prov["source"] == {"note": "test"}
    # Values do not enter the structure hash: the same model with other numbers is accepted.
    read_parameter_file(path).check(read_antimony(DECAY.replace("k1 = 0.5", "k1 = 0.9")))


def test_another_model_is_refused(tmp_path: Path) -> None:
    path = write_parameter_file(tmp_path / "p.json", read_antimony(DECAY), {"k1": 0.25})
    with pytest.raises(ParameterFileMismatchError, match="belong to another model"):
        read_parameter_file(path).check(read_antimony(OTHER))


def test_unknown_name_is_refused_even_with_the_right_hash(tmp_path: Path) -> None:
    path = write_parameter_file(tmp_path / "p.json", read_antimony(DECAY), {"k1": 0.25})
    doc = json.loads(path.read_text())
    doc["parameters"]["k9"] = 1.0  # hand-edited
    path.write_text(json.dumps(doc))
    with pytest.raises(ParameterFileMismatchError, match=r"parameters\.k9"):
        read_parameter_file(path).check(read_antimony(DECAY))


def test_writer_refuses_non_parameters_and_non_finite(tmp_path: Path) -> None:
    model = read_antimony(DECAY)
    with pytest.raises(ParameterFileError, match=r"parameters\.A"):
        write_parameter_file(tmp_path / "p.json", model, {"A": 1.0})
    with pytest.raises(ParameterFileError, match="not a finite"):
        write_parameter_file(tmp_path / "p.json", model, {"k1": float("nan")})


GOOD = {"format": FORMAT, "name": "decay", "structure_hash": "a" * 20, "parameters": {"k1": 1.0}}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("not json", "not JSON"),
        ([1, 2], "expected a JSON object"),
        ({**GOOD, "format": "other/9"}, "format 'other/9'"),
        ({**GOOD, "structure_hash": "abc"}, "structure_hash must be 16 to 64 hex"),
        ({**GOOD, "name": 3}, "name must be a string"),
        ({**GOOD, "parameters": {}}, "parameters must be a non-empty"),
        ({**GOOD, "parameters": {"k1": "1"}}, r"parameters\.k1: '1' is not a number"),
        ({**GOOD, "parameters": {"k1": True}}, r"parameters\.k1: True is not a number"),
        ({**GOOD, "source": [1]}, "source must be an object"),
        ({"status": "failed", "model": GOOD}, "only the best.json of a converged fit"),
        ({"status": "converged", "linear": {"k1": 1}}, "without a 'model' block"),
    ],
)
def test_malformed_files_are_refused(doc: object, message: str, tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    with pytest.raises(ParameterFileError, match=message) as info:
        read_parameter_file(path)
    assert str(path) in str(info.value)


def test_infinite_value_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(GOOD).replace("1.0", "Infinity"))
    with pytest.raises(ParameterFileError, match="not finite"):
        read_parameter_file(path)
    with pytest.raises(ParameterFileError, match="no such file"):
        read_parameter_file(tmp_path / "missing.json")


def test_best_json_of_a_converged_fit_is_a_parameter_file(tmp_path: Path) -> None:
    model = read_antimony(DECAY)
    block = json.loads(write_parameter_file(tmp_path / "p.json", model, {"k2": 0.3}).read_text())
    best = tmp_path / "best.json"
    best.write_text(json.dumps({"status": "converged", "linear": {"k2": 0.3}, "model": block}))
    fitted = read_parameter_file(best)
    fitted.check(model)
    assert fitted.values == {"k2": 0.3}
