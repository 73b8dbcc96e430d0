"""Per-patient status codes, their messages, and the named solver statistics.

One table for every engine: the numba kernels write the integer value of a :class:`Status`
into column 0 of their statistics row (numba reads the module-level ``int`` copies in
:mod:`mdrsim.engine.rodas` and :mod:`mdrsim.engine.stochastic_kernel` as compile-time
constants), and :class:`~mdrsim.engine.result.Result` turns it back into a reason. The
statistics columns are named here too, so no consumer reads ``stats[:, 3]`` and guesses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import IntEnum
from types import MappingProxyType

import numpy as np


class Status(IntEnum):
    """Why a patient (or trajectory) stopped. 0 is success; every other value is a failure."""

    OK = 0
    # ODE engines (RODAS4 and the scipy reference path):
    STEP_UNDERFLOW = 1
    NONFINITE = 2
    MAX_STEPS = 3
    SINGULAR = 4
    # The pending-event queue of delayed SBML events (mdrsim.engine.pending):
    EVENT_QUEUE_FULL = 5
    BAD_EVENT_DELAY = 6
    EVENT_LOOP = 7
    EVENT_TIE = 8
    #: Set after the solve (mdrsim.engine.batch.check_states), not by a kernel.
    NEGATIVE_STATE = 9
    # Stochastic engines:
    BAD_COUNT = 10
    BAD_PROPENSITY = 11
    MAX_EVENTS = 12
    BAD_INITIAL = 13
    TAU_STUCK = 14

    @property
    def message(self) -> str:
        """A readable reason, with what to try."""
        return _MESSAGES[self]

    @property
    def ok(self) -> bool:
        return self is Status.OK


_MESSAGES: dict[Status, str] = {
    Status.OK: "ok",
    Status.STEP_UNDERFLOW: (
        "step size underflow (the problem may be too stiff or discontinuous for rtol/atol)"
    ),
    Status.NONFINITE: "non-finite state (NaN or infinity in the right-hand side; check parameters)",
    Status.MAX_STEPS: "maximum number of steps reached (raise max_steps or check the model)",
    Status.SINGULAR: "singular iteration matrix (check the Jacobian / parameters)",
    Status.EVENT_QUEUE_FULL: (
        "more delayed event executions pending at once than the queue holds (1,000 per "
        "patient); check the event delays and triggers"
    ),
    Status.BAD_EVENT_DELAY: "an event delay evaluated to a negative or non-finite number",
    Status.EVENT_LOOP: (
        "events kept triggering each other at one instant (10,000 executions without time "
        "advancing); check the event triggers and delays"
    ),
    Status.EVENT_TIE: (
        "two events were due at the same instant with equal priorities (or one without a "
        "priority); SBML leaves their order to chance and mdrsim could not show that it "
        "does not matter, so neither is picked"
    ),
    Status.NEGATIVE_STATE: (
        "a state declared non-negative went below zero beyond the solver tolerance (the "
        "model or its parameters give an impossible solution)"
    ),
    Status.BAD_COUNT: "an event made a species count negative or not a whole number",
    Status.BAD_PROPENSITY: (
        "a propensity (reaction rate) was negative or not finite (check the rate laws)"
    ),
    Status.MAX_EVENTS: "maximum number of reaction events or steps reached (raise max_events)",
    Status.BAD_INITIAL: (
        "an initial assignment gave a species count that is negative or not a whole number"
    ),
    Status.TAU_STUCK: "tau-leaping could not find a step that keeps every count non-negative",
}

#: Code -> message, for code that holds plain integers (a read-only view of the enum's table).
STATUS_MESSAGES: Mapping[int, str] = MappingProxyType({int(s): m for s, m in _MESSAGES.items()})


def status_message(code: int) -> str:
    """The message of a status code; an unknown code is named rather than hidden."""
    try:
        return Status(int(code)).message
    except ValueError:
        return f"status {int(code)}"


# ---------------------------------------------------------------------------------------------
# Solver statistics: the per-patient row every kernel fills, by name.
# ---------------------------------------------------------------------------------------------

#: Columns of the ODE engines' statistics rows (RODAS4 and the scipy reference path).
#: ``steps`` counts attempted steps (accepted + rejected); the scipy solvers do not report
#: rejected steps, so there ``steps == accepted_steps`` and ``rejected_steps`` is NaN.
ODE_STATS: tuple[str, ...] = (
    "status",
    "failure_time",
    "steps",
    "accepted_steps",
    "rejected_steps",
    "events",
    "rhs_evaluations",
    "jacobian_evaluations",
    "lu_decompositions",
)

#: Columns of the stochastic engines' statistics rows.
STOCHASTIC_STATS: tuple[str, ...] = (
    "status",
    "failure_time",
    "reactions_fired",
    "steps",
    "rejected_steps",
    "events",
    "propensity_evaluations",
)


class OdeStat(IntEnum):
    """Column index of each ODE statistic (what the kernels write to)."""

    STATUS = 0
    FAILURE_TIME = 1
    STEPS = 2
    ACCEPTED_STEPS = 3
    REJECTED_STEPS = 4
    EVENTS = 5
    RHS_EVALUATIONS = 6
    JACOBIAN_EVALUATIONS = 7
    LU_DECOMPOSITIONS = 8


class StochasticStat(IntEnum):
    """Column index of each stochastic statistic."""

    STATUS = 0
    FAILURE_TIME = 1
    REACTIONS_FIRED = 2
    STEPS = 3
    REJECTED_STEPS = 4
    EVENTS = 5
    PROPENSITY_EVALUATIONS = 6


@dataclass(frozen=True)
class SolverStats:
    """One patient's statistics, by name. A field is ``None`` when the engine does not
    record it (e.g. ``reactions_fired`` for an ODE engine, ``rejected_steps`` for scipy)."""

    status: Status
    failure_time: float | None
    steps: int | None = None
    accepted_steps: int | None = None
    rejected_steps: int | None = None
    events: int | None = None
    rhs_evaluations: int | None = None
    jacobian_evaluations: int | None = None
    lu_decompositions: int | None = None
    reactions_fired: int | None = None
    propensity_evaluations: int | None = None

    @classmethod
    def from_row(cls, row: np.ndarray, columns: tuple[str, ...]) -> SolverStats:
        """Read one statistics row whose columns are named by ``columns``."""
        known = {f.name for f in fields(cls)}
        values: dict[str, object] = {}
        for name, v in zip(columns, row.tolist(), strict=True):
            if name not in known:
                continue
            if name == "status":
                values[name] = Status(int(v))
            elif name == "failure_time":
                values[name] = float(v) if int(row[0]) != Status.OK else None
            else:
                values[name] = None if not np.isfinite(v) else int(v)
        return cls(**values)  # type: ignore[arg-type]


__all__ = [
    "ODE_STATS",
    "STATUS_MESSAGES",
    "STOCHASTIC_STATS",
    "OdeStat",
    "SolverStats",
    "Status",
    "StochasticStat",
    "status_message",
]
