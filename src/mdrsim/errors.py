"""Typed errors raised by mdrsim.

Every error names what was wrong (the field, the symbol, the patient) and, where it helps,
what is allowed. Callers catch :class:`MdrsimError` to handle all of them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "AnalysisError",
    "ConcentrationError",
    "ExampleNotFoundError",
    "ExpressionError",
    "FitError",
    "InputFileError",
    "InputValueError",
    "InvalidOptionError",
    "LibraryError",
    "LibraryGapError",
    "MdrsimError",
    "MissingLibraryDataError",
    "ModelImportError",
    "ModelValidationError",
    "OutputPathError",
    "ParameterFileError",
    "ParameterFileMismatchError",
    "PetabError",
    "PhysicalBoundsError",
    "PopulationError",
    "PreequilibrationError",
    "QueryError",
    "RegimenError",
    "ReportError",
    "ScenarioError",
    "SchemaFieldError",
    "SchemaVersionError",
    "SimulationError",
    "SimulationInputError",
    "TrialSpecError",
    "TrialStoreError",
    "UnitError",
    "UnitMismatchError",
    "UnknownNameError",
    "UnsupportedFeatureError",
    "UnsupportedPetabFeatureError",
    "UnsupportedSBMLFeatureError",
    "UserSuppliedValueError",
    "did_you_mean",
]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A ' (did you mean: a, b?)' suffix listing close matches, or an empty string."""
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    return f" (did you mean: {', '.join(close)}?)" if close else ""


class MdrsimError(Exception):
    """Base class of every error mdrsim raises on purpose."""


class ExpressionError(MdrsimError, ValueError):
    """A formula could not be parsed, or uses something that is not allowed."""


class ModelValidationError(MdrsimError, ValueError):
    """A model is inconsistent: undefined or duplicate names, rule cycles, non-finite values.

    ``problems`` lists every problem found, so a user can fix them all at once.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"model is invalid ({len(self.problems)} problem(s)):\n{lines}")


class ModelImportError(MdrsimError, ValueError):
    """An Antimony or SBML document could not be read or uses an unsupported feature."""


class UnsupportedFeatureError(ModelImportError):
    """The model uses a feature mdrsim does not simulate (named in the message)."""


class SimulationInputError(MdrsimError, ValueError):
    """Arguments to a simulation are malformed (shapes, tolerances, times, unknown names)."""


class SimulationError(MdrsimError, RuntimeError):
    """One or more patients failed; ``failures`` maps patient index to the reason."""

    def __init__(self, failures: dict[int, str]) -> None:
        self.failures = dict(failures)
        shown = list(self.failures.items())[:10]
        lines = "\n".join(f"  patient {i}: {why}" for i, why in shown)
        more = "" if len(self.failures) <= 10 else f"\n  … and {len(self.failures) - 10} more"
        super().__init__(f"{len(self.failures)} patient(s) failed:\n{lines}{more}")


class UnknownNameError(MdrsimError, KeyError):
    """A name that is not defined: a library drug, inhibitor or cell line, or a model symbol.

    The message names the kind, the name, close matches and the known names (the first 30).
    It is also a :class:`KeyError`, so code that looked names up in a mapping keeps working.
    """

    #: Beyond this many known names the message lists the first ones and a count.
    MAX_LISTED = 30

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        self.kind = kind
        self.name = name
        self.known = sorted(known)
        listed = ", ".join(self.known[: self.MAX_LISTED])
        if len(self.known) > self.MAX_LISTED:
            listed += f", … ({len(self.known) - self.MAX_LISTED} more)"
        self.message = (
            f"unknown {kind} '{name}'{did_you_mean(name, self.known)}; known {kind}s: {listed}"
        )
        super().__init__(self.message)

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return self.message


# --------------------------------------------------------------------------- drug library


class LibraryError(MdrsimError, ValueError):
    """The library files are malformed; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"drug library is invalid ({len(self.problems)} problem(s)):\n{lines}")


class MissingLibraryDataError(MdrsimError, ValueError):
    """A library entry lacks a value a computation needs; the message names the entry, the
    missing field and what to add (e.g. a drug without ``ic50_parental`` cannot be killed)."""


class UnitError(MdrsimError, ValueError):
    """A unit is unknown, or two units cannot be converted into each other."""


class ConcentrationError(UnitError):
    """A concentration string could not be read (bad number, unknown unit, missing MW)."""


class SchemaFieldError(ValueError):
    """Raised inside the library schema's pydantic validators; ``sub`` extends the field path.

    Not an :class:`MdrsimError` on purpose: a ``ValueError`` is pydantic's protocol for a failed
    validator, and pydantic wraps it into the :class:`LibraryError` the user sees, which names
    the file, the entry and the field path (``sub`` appended).
    """

    def __init__(self, sub: str, message: str) -> None:
        super().__init__(f"{sub}: {message}" if sub else message)
        self.sub = sub
        self.message = message


# ------------------------------------------------------------------------- regimen, scenario


class RegimenError(MdrsimError, ValueError):
    """A regimen is invalid; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("regimen is invalid:\n" + "\n".join(f"  - {p}" for p in problems))


class ScenarioError(MdrsimError, ValueError):
    """A scenario file is invalid; ``problems`` lists every reason with its field path."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            f"scenario {source} is invalid:\n" + "\n".join(f"  - {p}" for p in problems)
        )


# ------------------------------------------------------------------------------------ trials


class TrialSpecError(MdrsimError, ValueError):
    """A trial file or trial argument is invalid; the message names the field path."""


class PopulationError(MdrsimError, ValueError):
    """A population could not be sampled (e.g. a plausibility bound rejects nearly all draws)."""


class TrialStoreError(MdrsimError, RuntimeError):
    """A trial directory is unusable: a different trial is stored there, or files are missing."""


class QueryError(MdrsimError, ValueError):
    """SQL given to ``mdrsim query`` is refused (not a single SELECT, or it reaches outside the
    trial's folders) or fails; the message says which."""


# --- packaging ---


class ExampleNotFoundError(MdrsimError, KeyError):
    """``load_example`` was given a name that is not one of the shipped examples."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else ""


# --- cli / report ---


class ReportError(MdrsimError, ValueError):
    """A figure, table or report was given something it cannot draw or embed (named in the
    message with what is allowed)."""


# --- patient ---


class InputValueError(MdrsimError, ValueError):
    """A value given to a model-building function is outside what it allows.

    The message names the field, the value given and what is allowed; the three are kept as
    attributes so callers (a scenario reader, a fit) can report them their own way.
    """

    def __init__(self, field: str, value: object, allowed: str) -> None:
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"{field} {value!r}: allowed {allowed}")


class LibraryGapError(MdrsimError, ValueError):
    """The library lacks a number the patient model needs (a drug's clearance, its IC50…)."""


class SchemaVersionError(MdrsimError, ValueError):
    """A document (scenario, trial, store manifest) declares a schema version this mdrsim does
    not read."""

    def __init__(self, document: str, value: object, supported: int) -> None:
        self.document, self.value, self.supported = document, value, supported
        super().__init__(
            f"{document}: schema_version {value!r} is not supported; this mdrsim reads "
            f"schema_version {supported}"
        )


# --- engine ---


class InvalidOptionError(SimulationInputError):
    """A solver option is outside what the engine allows.

    ``field``, ``value`` and ``allowed`` say which option, what it was and what it may be, so
    a caller that read the options from a file (a scenario's ``solver:`` block) can point at
    the line.
    """

    def __init__(self, field: str, value: object, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field} must be {allowed}, got {value!r}")


# --- sbml ---


class UnsupportedSBMLFeatureError(UnsupportedFeatureError):
    """An SBML construct mdrsim does not simulate (or not safely); ``feature`` names it.

    ``feature`` is a short, stable name ("event priority", "event delay", ...) by which
    conformance reports group refusals; the message says why and where.
    """

    def __init__(self, message: str, feature: str = "") -> None:
        super().__init__(message)
        self.feature = feature

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (str(self), self.feature))


# --- fit ---


class PetabError(MdrsimError, ValueError):
    """A PEtab problem could not be read or is invalid; the message names file, row and column."""


class UnsupportedPetabFeatureError(PetabError, UnsupportedFeatureError):
    """A PEtab problem uses a feature mdrsim does not support (named in the message).

    Raised instead of returning a number that might be wrong.
    """


class FitError(MdrsimError, RuntimeError):
    """An objective could not be evaluated (a simulation failed, a steady state was not found)."""


class PreequilibrationError(FitError):
    """Pre-equilibration did not reach a steady state within the allowed time."""


# --- reliability ---


class InputFileError(MdrsimError, ValueError):
    """An input file cannot be read safely: not UTF-8, too large, YAML aliases, nesting deeper
    than allowed, duplicate keys. The message names the file, the line and the limit."""


class OutputPathError(MdrsimError, OSError):
    """An output folder or file cannot be written (it is a file, read-only, or the disk is
    full); the message names the path and the cause, and the store is left resumable."""


class PhysicalBoundsError(MdrsimError, ValueError):
    """A sampled, overridden or given value lies outside the physical range its model declares
    (a negative clearance, a tumour beyond its carrying capacity, a fraction above 1); the
    message names the field, the value and the range."""


# --- analysis ---


class AnalysisError(MdrsimError, ValueError):
    """A scan, sensitivity analysis or frontier cannot be done as asked: an unknown factor or
    output, a range that is not allowed, or failed runs that would make the indices wrong.
    The message names the factor, output or run and says what is allowed."""


# --- user-supplied cell lines ---


class UserSuppliedValueError(InputValueError):
    """A user-supplied description of a resistant line's P-gp (its measured fold resistance to
    one drug, or its relative P-gp density) that cannot be used: the message names the field
    (``--fold``, ``--pgp-density`` or the Python argument), the value and what is allowed."""


# --- analysis (units) ---


class UnitMismatchError(UnitError):
    """A number came with a unit that does not fit where it goes (another dimension, an
    unreadable unit, or a unit for a quantity whose declared unit is a free-text label). The
    message and the attributes name the field, the value, the unit given and the unit
    expected."""

    def __init__(self, field: str, value: float, unit: str, expected: str, why: str) -> None:
        self.field, self.value, self.unit, self.expected = field, value, unit, expected
        super().__init__(
            f"{field}: {value:g} {unit!r} cannot be used where {expected!r} is expected ({why})"
        )
        self._args = (field, value, unit, expected, why)

    def __reduce__(self) -> tuple[type, tuple[str, float, str, str, str]]:
        return (type(self), self._args)


# --- fit: parameter files ---


class ParameterFileError(MdrsimError, ValueError):
    """A parameter file (``--params``; the best.json of a fit) is malformed: the message names
    the file and the field."""


class ParameterFileMismatchError(ParameterFileError):
    """A parameter file was fitted to another model (its structure hash differs) or names
    parameters the model does not have; the message says which."""
