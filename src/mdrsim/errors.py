"""Typed errors raised by mdrsim.

Every error names what was wrong (the field, the symbol, the patient) and, where it helps,
what is allowed. Callers catch :class:`MdrsimError` to handle all of them.
"""

from __future__ import annotations


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
