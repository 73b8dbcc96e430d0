"""Antimony import and export, by way of SBML.

Antimony is a text front end to SBML, so this module only moves text between the ``antimony``
library and :mod:`mdrsim.io.sbml`: there is exactly one converter of model content (the SBML
one), and Antimony documents get the same checks, error types and unsupported-feature messages
as SBML documents.

The ``antimony`` library keeps loaded modules in process-wide state; a lock makes each load and
read of that state one indivisible step, so threads cannot see each other's models.
"""

from __future__ import annotations

import math
import re
import threading

import antimony

from mdrsim.errors import ModelImportError
from mdrsim.io.sbml import read_sbml_string, write_sbml
from mdrsim.model.ir import Model

__all__ = ["read_antimony", "write_antimony"]

_LOCK = threading.Lock()


def _last_error() -> str:
    try:
        raw = antimony.getLastError() or ""
    except UnicodeDecodeError as exc:
        # The library cuts its message inside a multi-byte character (non-ASCII input).
        raw = exc.object.decode("utf-8", errors="replace") if isinstance(exc.object, bytes) else ""
    message = " ".join(raw.split())
    return message or "no details given by the antimony library"


# A number literal with an exponent, outside comments and quoted text (see _check_numbers).
_NUMBER = re.compile(r"(?<![A-Za-z0-9_.])(\d+\.?\d*|\.\d+)[eE]([+-]?\d+)")
_COMMENT_OR_STRING = re.compile(r'//[^\n]*|#[^\n]*|/\*.*?\*/|"(?:[^"\\]|\\.)*"', re.DOTALL)


def _check_numbers(text: str) -> None:
    """Refuse number literals a double cannot hold.

    The antimony library reads ``1e400`` as the number 1 with a unit named ``e400`` (a unit
    that exists nowhere), so ``k = 1e400`` would silently simulate with k = 1.
    """
    code = _COMMENT_OR_STRING.sub(" ", text)
    for m in _NUMBER.finditer(code):
        try:
            value = float(m.group(0))
        except ValueError:  # pragma: no cover - the pattern only matches numbers
            continue
        if not math.isfinite(value) or (value == 0.0 and float(m.group(1)) != 0.0):
            line = code.count("\n", 0, m.start()) + 1
            raise ModelImportError(
                f"Antimony line {line}: the number {m.group(0)} is out of the range of a "
                "double (about 1e-308 to 1.8e308)"
            )


def antimony_to_sbml(text: str) -> str:
    """Translate Antimony text to an SBML string (of the main, i.e. last defined, model)."""
    if not isinstance(text, str):
        raise ModelImportError(f"expected Antimony as text, got {type(text).__name__}")
    if not text.strip():
        raise ModelImportError("the Antimony text is empty")
    _check_numbers(text)
    with _LOCK:
        antimony.clearPreviousLoads()
        try:
            if antimony.loadAntimonyString(text) < 0:
                raise ModelImportError(f"cannot read the Antimony text: {_last_error()}")
            main = antimony.getMainModuleName()
            sbml = antimony.getSBMLString(main) if main else None
            if not sbml:
                raise ModelImportError(f"Antimony produced no SBML model: {_last_error()}")
            return str(sbml)
        finally:
            antimony.clearPreviousLoads()


def read_antimony(text: str) -> Model:
    """Read an Antimony model into a validated Model (see :func:`read_sbml_string`)."""
    return read_sbml_string(antimony_to_sbml(text))


def write_antimony(model: Model) -> str:
    """Write ``model`` as Antimony text.

    mdrsim-only metadata that Antimony has no syntax for (sources, bounds, observables as such)
    is not kept; use SBML for a lossless export.
    """
    sbml = write_sbml(model)
    with _LOCK:
        antimony.clearPreviousLoads()
        try:
            if antimony.loadSBMLString(sbml) < 0:
                raise ModelImportError(f"antimony cannot read the exported SBML: {_last_error()}")
            return str(antimony.getAntimonyString(antimony.getMainModuleName()))
        finally:
            antimony.clearPreviousLoads()
