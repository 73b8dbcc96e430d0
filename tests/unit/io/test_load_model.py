"""load_model picks the reader from the extension, or takes model text directly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mdrsim.errors import ModelImportError
from mdrsim.io import load_model, write_sbml

from .io_helpers import REFERENCE_MODEL, full_model


@pytest.mark.parametrize("suffix", [".ant", ".antimony", ".txt"])
def test_antimony_extensions(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"model{suffix}"
    shutil.copy(REFERENCE_MODEL, path)
    assert len(load_model(path).events) == 17


@pytest.mark.parametrize("suffix", [".xml", ".sbml", ".XML"])
def test_sbml_extensions(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"model{suffix}"
    path.write_text(write_sbml(full_model()))
    assert load_model(str(path)) == full_model()


def test_text_is_read_directly() -> None:
    assert load_model(write_sbml(full_model())) == full_model()
    assert len(load_model(REFERENCE_MODEL.read_text()).rate_rules) == 10


def test_format_overrides_the_extension(tmp_path: Path) -> None:
    path = tmp_path / "model.model"
    shutil.copy(REFERENCE_MODEL, path)
    assert len(load_model(path, format="antimony").rate_rules) == 10


def test_unknown_extension_lists_allowed_ones(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text("{}")
    with pytest.raises(ModelImportError, match=r"\.json.*\.ant, \.antimony, \.txt, \.xml, \.sbml"):
        load_model(path)


def test_unknown_format_is_an_error() -> None:
    with pytest.raises(ModelImportError, match="unknown model format 'cellml'"):
        load_model(REFERENCE_MODEL, format="cellml")


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelImportError, match=r"model file not found: .*missing\.ant"):
        load_model(tmp_path / "missing.ant")


def test_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.ant"
    path.write_text("model m\n  x = = 1\nend\n")
    with pytest.raises(ModelImportError, match=r"broken\.ant: cannot read the Antimony text"):
        load_model(path)
