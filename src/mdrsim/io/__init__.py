"""Reading and writing models: SBML (lossless) and Antimony (via SBML).

:func:`load_model` is the one entry point for files and text: it picks the format from the
file extension (or ``format=``), so callers such as the CLI need not know the readers.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mdrsim.errors import ModelImportError

if TYPE_CHECKING:
    from mdrsim.io.antimony import read_antimony, write_antimony
    from mdrsim.io.compare import models_equivalent
    from mdrsim.io.sbml import read_sbml, read_sbml_string, write_sbml
    from mdrsim.model.ir import Model

# The readers are imported on first use (PEP 562): libsbml and antimony cost ~0.5 s of import
# that a run of a scenario, which only needs `mdrsim.io.safe_yaml`, never uses.
_API: dict[str, str] = {
    "models_equivalent": "mdrsim.io.compare",
    "read_antimony": "mdrsim.io.antimony",
    "read_sbml": "mdrsim.io.sbml",
    "read_sbml_string": "mdrsim.io.sbml",
    "write_antimony": "mdrsim.io.antimony",
    "write_sbml": "mdrsim.io.sbml",
}


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'mdrsim.io' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value

__all__ = [
    "FORMATS_BY_EXTENSION",
    "load_model",
    "models_equivalent",
    "read_antimony",
    "read_sbml",
    "read_sbml_string",
    "write_antimony",
    "write_sbml",
]

#: File extensions :func:`load_model` understands, and the format each one means.
FORMATS_BY_EXTENSION: dict[str, str] = {
    ".ant": "antimony",
    ".antimony": "antimony",
    ".txt": "antimony",
    ".xml": "sbml",
    ".sbml": "sbml",
}
_FORMATS = ("antimony", "sbml")


def _check_format(format: str) -> str:
    fmt = format.lower()
    if fmt not in _FORMATS:
        allowed = ", ".join(_FORMATS)
        raise ModelImportError(f"unknown model format {format!r}; use one of: {allowed}")
    return fmt


def _looks_like_text(value: str) -> bool:
    # A path is one line; model text has line breaks or starts with XML.
    return "\n" in value or value.lstrip().startswith("<")


def _format_of(path: Path) -> str:
    fmt = FORMATS_BY_EXTENSION.get(path.suffix.lower())
    if fmt is None:
        allowed = ", ".join(FORMATS_BY_EXTENSION)
        raise ModelImportError(
            f"cannot tell the format of {path} from its extension {path.suffix!r}; "
            f"allowed extensions: {allowed} (or pass format='sbml'/'antimony')"
        )
    return fmt


def _read_text(text: str, fmt: str) -> Model:
    from mdrsim.io.antimony import read_antimony
    from mdrsim.io.sbml import read_sbml_string

    return read_sbml_string(text) if fmt == "sbml" else read_antimony(text)


def load_model(path_or_text: str | os.PathLike[str], *, format: str | None = None) -> Model:
    """Load a model from a file path, or from SBML/Antimony text.

    A string with a line break, or starting with ``<``, is taken as the model itself (SBML when
    it starts with ``<``, else Antimony, unless ``format`` says otherwise); anything else is a
    path whose extension chooses the reader.
    """
    if isinstance(path_or_text, str) and _looks_like_text(path_or_text):
        fmt = (
            _check_format(format)
            if format
            else ("sbml" if path_or_text.lstrip().startswith("<") else "antimony")
        )
        return _read_text(path_or_text, fmt)
    path = Path(path_or_text)
    fmt = _check_format(format) if format else _format_of(path)
    if not path.is_file():
        raise ModelImportError(f"model file not found: {path}")
    from mdrsim.io.antimony import read_antimony
    from mdrsim.io.sbml import read_sbml

    if fmt == "sbml":
        return read_sbml(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelImportError(f"cannot read model file {path}: {exc}") from None
    try:
        return read_antimony(text)
    except ModelImportError as exc:
        raise type(exc)(f"{path}: {exc}") from None
