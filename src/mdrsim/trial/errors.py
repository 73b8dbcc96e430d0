"""Typed errors of the trial machinery (all are :class:`mdrsim.errors.MdrsimError`)."""

from __future__ import annotations

from mdrsim.errors import MdrsimError


class TrialSpecError(MdrsimError, ValueError):
    """A trial file or trial argument is invalid; the message names the field path."""


class PopulationError(MdrsimError, ValueError):
    """A population could not be sampled (e.g. a plausibility bound rejects nearly all draws)."""


class TrialStoreError(MdrsimError, RuntimeError):
    """A trial directory is unusable: a different trial is stored there, or files are missing."""
