"""Typed errors of the trial machinery, re-exported from :mod:`mdrsim.errors` (where every
mdrsim error class now lives). Kept so ``from mdrsim.trial.errors import …`` keeps working."""

from __future__ import annotations

from mdrsim.errors import PopulationError, TrialSpecError, TrialStoreError

__all__ = ["PopulationError", "TrialSpecError", "TrialStoreError"]
