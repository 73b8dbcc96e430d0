"""Solver settings: the one place each engine's options are declared, checked and recorded.

:class:`SolverOptions` (the ODE engines) and :class:`StochasticOptions` (SSA, tau-leaping,
hybrid) are frozen dataclasses checked when they are made, so a bad value fails where it was
written, with an :class:`~mdrsim.errors.InvalidOptionError` naming the field, the value and
what is allowed. Provenance is written from the object itself (:meth:`SolverOptions.provenance`),
never from a hand-written string, so what a result says it used is what it used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from mdrsim.errors import InvalidOptionError

# Layout of the settings arrays the kernels take (one float64 array, one int64 array, so that
# adding an option changes the packing below and the kernel that reads it, not every
# signature between them). numba reads these module-level ints as constants.
ODE_RTOL, ODE_H_MAX, ODE_H_FIXED = 0, 1, 2
ODE_MAX_STEPS = 0
SSA_TAU_EPSILON, SSA_RTOL, SSA_ATOL = 0, 1, 2
SSA_MAX_EVENTS = 0


def _check_fraction(field: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
        raise InvalidOptionError(field, value, "in (0, 1)")
    if not (math.isfinite(value) and 0.0 < value < 1.0):
        raise InvalidOptionError(field, value, "in (0, 1)")


def _check_positive_int(field: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise InvalidOptionError(field, value, "an integer >= 1")


def _check_atol(value: float | Sequence[float]) -> float | tuple[float, ...]:
    """``atol`` as a float or a tuple of floats, each finite and > 0."""
    allowed = "a finite number > 0, or one such number per state"
    if isinstance(value, bool):
        raise InvalidOptionError("atol", value, allowed)
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise InvalidOptionError("atol", value, allowed) from None
    if arr.ndim > 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise InvalidOptionError("atol", value, allowed)
    return float(arr) if arr.ndim == 0 else tuple(float(v) for v in arr)


#: How a single ``atol`` number is applied per state (``SolverOptions.atol_scaling``).
ATOL_SCALINGS = ("magnitude", "none")
#: Smallest per-state factor of :func:`atol_scales`.
ATOL_SCALE_FLOOR = 1e-15
#: Smallest absolute tolerance that scaling produces (see :meth:`SolverOptions.atol_vector`).
SCALED_ATOL_MIN = 1e-12


def atol_scales(magnitudes: np.ndarray) -> np.ndarray:
    """Per-state factors for a scalar ``atol``: ``min(1, |value|)`` of each state.

    ``magnitudes`` are the states' nominal values (the model's initial state). A state that
    starts at 0 has no magnitude of its own; it gets the median of the model's non-zero
    magnitudes (a complex formed from species is on their scale; a drug compartment empty
    until the first dose in a model of cells and mg/L stays at ``atol``), or 1 if every state
    starts at 0.
    Factors lie in [1e-15, 1], so scaling only ever tightens ``atol``: a state of magnitude 1e-6
    is controlled to ``atol * 1e-6`` and keeps ``rtol``-relative accuracy, where a plain
    ``atol`` of 1e-9 would allow errors of 1e-3 of its value.
    """
    m = np.abs(np.asarray(magnitudes, dtype=np.float64)).ravel()
    known = np.isfinite(m) & (m > 0.0)
    fill = float(np.median(m[known])) if known.any() else 1.0
    # Floor 1e-15: a state that starts at, say, 1e-300 would otherwise get a subnormal atol
    # and fail with a step-size underflow as it decays to 0.
    return np.clip(np.where(known, m, fill), ATOL_SCALE_FLOOR, 1.0)


@dataclass(frozen=True)
class SolverOptions:
    """Tolerances and limits of the ODE engines (RODAS4 and the scipy reference path).

    ``atol`` may be one number or one per state. One number is scaled per state by default
    (``atol_scaling="magnitude"``: state ``i`` gets ``atol * min(1, |y0_i|)`` from the model's
    initial state, see :func:`atol_scales`, but not below 1e-12 or ``atol`` if smaller), as
    libroadrunner scales its scalar absolute tolerance by each state's value;
    ``atol_scaling="none"`` applies the number as it is. A tuple (one value per state) is
    always used as given. ``h_max`` caps the step size;
    ``h_fixed`` > 0 switches error control off and takes steps of that size (used to measure
    the convergence order; not for production runs; RODAS4 only).
    """

    rtol: float = 1e-6
    atol: float | tuple[float, ...] = 1e-9
    max_steps: int = 200_000
    h_max: float = math.inf
    h_fixed: float = 0.0
    atol_scaling: str = "magnitude"

    def __post_init__(self) -> None:
        _check_fraction("rtol", self.rtol)
        object.__setattr__(self, "rtol", float(self.rtol))
        object.__setattr__(self, "atol", _check_atol(self.atol))
        if self.atol_scaling not in ATOL_SCALINGS:
            raise InvalidOptionError("atol_scaling", self.atol_scaling, " or ".join(ATOL_SCALINGS))
        _check_positive_int("max_steps", self.max_steps)
        object.__setattr__(self, "max_steps", int(self.max_steps))
        if isinstance(self.h_max, bool) or not (
            isinstance(self.h_max, int | float | np.floating) and self.h_max > 0
        ):
            raise InvalidOptionError("h_max", self.h_max, "a number > 0 (inf for no cap)")
        object.__setattr__(self, "h_max", float(self.h_max))
        if isinstance(self.h_fixed, bool) or not (
            isinstance(self.h_fixed, int | float | np.floating)
            and math.isfinite(self.h_fixed)
            and self.h_fixed >= 0
        ):
            raise InvalidOptionError("h_fixed", self.h_fixed, "a finite number >= 0")
        object.__setattr__(self, "h_fixed", float(self.h_fixed))

    def atol_vector(self, n_states: int, magnitudes: np.ndarray | None = None) -> np.ndarray:
        """``atol`` as one value per state (the kernels' form).

        ``magnitudes``: the states' nominal values; with them a scalar ``atol`` is scaled per
        state (``atol_scaling``). The engines pass the model's initial state, never a batch's,
        so a patient's tolerances do not depend on who else is in the batch.
        """
        if isinstance(self.atol, tuple):
            if len(self.atol) != n_states:
                raise InvalidOptionError(
                    "atol", self.atol, f"one number or {n_states} numbers (one per state)"
                )
            return np.asarray(self.atol, dtype=np.float64).copy()
        vec = np.full(n_states, self.atol, dtype=np.float64)
        if self.atol_scaling == "magnitude" and magnitudes is not None and n_states:
            scaled = vec * atol_scales(np.asarray(magnitudes, dtype=np.float64).reshape(n_states))
            # Scaling tightens atol down to SCALED_ATOL_MIN at most (never below a smaller
            # number the caller chose): RODAS's error control on a state decaying to ~0 with an
            # absolute tolerance of ~1e-18 ends in a step-size underflow (seen on the tumour
            # example at atol 1e-14 x a magnitude of 1e-4).
            vec = np.maximum(scaled, min(self.atol, SCALED_ATOL_MIN))
        return vec

    def kernel_settings(self) -> tuple[np.ndarray, np.ndarray]:
        """(real, integer) settings arrays for :func:`mdrsim.engine.rodas.solve_range`."""
        real = np.empty(3, dtype=np.float64)
        real[ODE_RTOL] = self.rtol
        real[ODE_H_MAX] = self.h_max
        real[ODE_H_FIXED] = self.h_fixed
        ints = np.empty(1, dtype=np.int64)
        ints[ODE_MAX_STEPS] = self.max_steps
        return real, ints

    def check(self, n_states: int) -> np.ndarray:
        """Kept for callers of the earlier API: the same as :meth:`atol_vector`."""
        return self.atol_vector(n_states)

    def provenance(self, engine: str = "rodas4") -> dict[str, Any]:
        """What a result records about how it was solved (JSON-ready)."""
        return options_provenance(self, engine)


@dataclass(frozen=True)
class StochasticOptions:
    """Settings of the stochastic engines.

    ``tau_epsilon`` bounds the relative change of each propensity in one leap (Cao,
    Gillespie & Petzold 2006); ``rtol``/``atol`` control the hybrid method's ODE steps (``atol``
    also floors the tau method's bound on continuous variables); ``max_events`` bounds the
    reactions plus steps of one trajectory.
    """

    tau_epsilon: float = 0.03
    rtol: float = 1e-6
    atol: float = 1e-9
    max_events: int = 100_000_000

    def __post_init__(self) -> None:
        _check_fraction("tau_epsilon", self.tau_epsilon)
        object.__setattr__(self, "tau_epsilon", float(self.tau_epsilon))
        _check_fraction("rtol", self.rtol)
        object.__setattr__(self, "rtol", float(self.rtol))
        atol = _check_atol(self.atol)
        if isinstance(atol, tuple):
            raise InvalidOptionError("atol", self.atol, "one finite number > 0")
        object.__setattr__(self, "atol", atol)
        _check_positive_int("max_events", self.max_events)
        object.__setattr__(self, "max_events", int(self.max_events))

    def kernel_settings(self) -> tuple[np.ndarray, np.ndarray]:
        """(real, integer) settings arrays for the stochastic kernel."""
        real = np.empty(3, dtype=np.float64)
        real[SSA_TAU_EPSILON] = self.tau_epsilon
        real[SSA_RTOL] = self.rtol
        real[SSA_ATOL] = self.atol
        ints = np.empty(1, dtype=np.int64)
        ints[SSA_MAX_EVENTS] = self.max_events
        return real, ints

    def provenance(self, engine: str) -> dict[str, Any]:
        """What a result records about how it was simulated (JSON-ready)."""
        return options_provenance(self, engine)


def options_provenance(options: SolverOptions | StochasticOptions, engine: str) -> dict[str, Any]:
    """``{"engine": ..., "solver_options": {...}}`` from an options object: the provenance
    entries of every result, and what a caller (the patient runner) records for a run."""
    values = asdict(options)
    if isinstance(values.get("atol"), tuple):
        values["atol"] = list(values["atol"])
    return {"engine": engine, "solver_options": values}


__all__ = [
    "ATOL_SCALINGS",
    "SolverOptions",
    "StochasticOptions",
    "atol_scales",
    "options_provenance",
]
