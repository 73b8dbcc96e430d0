"""One input front for every engine: time grids, named values to matrices, event rows,
thread chunks and the assembly of a :class:`~mdrsim.engine.result.Result`.

The ODE engine (:mod:`mdrsim.engine.ode`), the scipy reference path
(:mod:`mdrsim.engine.scipy_ref`) and the stochastic engines (:mod:`mdrsim.engine.stochastic`)
take the same inputs — ``params[n, n_params]``, ``y0[n, n_states]``, an
:class:`~mdrsim.engine.events.EventTable`, an output grid — and give the same result. Checking
and converting them here, once, means a bad input gets the same typed error whichever engine
it was meant for, and the engines only integrate.
"""

from __future__ import annotations

import math
import os
import platform
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

import numba
import numpy as np

from mdrsim import __version__
from mdrsim.engine.events import EventTable
from mdrsim.engine.result import Result
from mdrsim.engine.status import ODE_STATS, Status
from mdrsim.errors import SimulationInputError
from mdrsim.model.expressions import did_you_mean
from mdrsim.model.ir import Model

#: A value given by name: one number for every patient, or one per patient.
Values = Mapping[str, float | Sequence[float] | np.ndarray]


class ModelShape(Protocol):
    """What the front reads from a compiled model (ODE or stochastic)."""

    @property
    def model(self) -> Model: ...

    @property
    def state_names(self) -> list[str]: ...

    @property
    def parameter_names(self) -> list[str]: ...

    @property
    def output_names(self) -> list[str]: ...


class Defaults(Protocol):
    """A compiled ODE model's default values and initial assignments (see CompiledModel)."""

    @property
    def state_names(self) -> list[str]: ...

    @property
    def parameter_names(self) -> list[str]: ...

    @property
    def flat(self) -> Any: ...

    def default_parameters(self) -> np.ndarray: ...

    def default_initial_state(self) -> np.ndarray: ...


def check_times(t_eval: Sequence[float] | np.ndarray) -> np.ndarray:
    """The output grid as a contiguous float array: 1-D, at least 2 finite, increasing times."""
    t = np.ascontiguousarray(t_eval, dtype=np.float64)
    if t.ndim != 1 or t.size < 2:
        raise SimulationInputError("t_eval must be a 1-D array of at least 2 times")
    if not np.all(np.isfinite(t)):
        raise SimulationInputError("t_eval contains non-finite times")
    if np.any(np.diff(t) <= 0):
        raise SimulationInputError("t_eval must be strictly increasing")
    return t


def time_grid(
    t_eval: Sequence[float] | np.ndarray | None, until: float | None, points: int
) -> np.ndarray:
    """``t_eval`` checked, or ``points + 1`` evenly spaced times from 0 to ``until``."""
    if t_eval is not None:
        return check_times(np.asarray(t_eval, dtype=float))
    if until is None:
        raise SimulationInputError("give t_eval or until")
    if not (math.isfinite(until) and until > 0):
        raise SimulationInputError(f"until must be a positive number, got {until}")
    if points < 1:
        raise SimulationInputError(f"points must be >= 1, got {points}")
    return np.linspace(0.0, float(until), int(points) + 1)


def value_matrix(
    names: list[str],
    defaults: np.ndarray,
    overrides: Values,
    n: int,
    what: str,
) -> tuple[np.ndarray, np.ndarray]:
    """``[n, len(names)]`` from defaults plus overrides; also which columns were given."""
    out = np.tile(defaults, (n, 1))
    given = np.zeros(len(names), dtype=bool)
    for name, value in overrides.items():
        if name not in names:
            raise SimulationInputError(
                f"unknown {what} {name!r}"
                + did_you_mean(name, names)
                + (f"; {what}s: {', '.join(names)}" if len(names) <= 30 else "")
            )
        v = np.asarray(value, dtype=float)
        j = names.index(name)
        if v.ndim == 0:
            out[:, j] = float(v)
        elif v.shape == (n,):
            out[:, j] = v
        else:
            raise SimulationInputError(
                f"{what} {name!r}: expected a number or {n} values, got shape {v.shape}"
            )
        if not np.all(np.isfinite(out[:, j])):
            bad = int(np.flatnonzero(~np.isfinite(out[:, j]))[0])
            raise SimulationInputError(
                f"{what} {name!r} is not finite for patient {bad} (value {out[bad, j]})"
            )
        given[j] = True
    return out, given


class NamedInputs(NamedTuple):
    """Per-patient matrices built from values given by name."""

    params: np.ndarray
    y0: np.ndarray
    #: [n, n_initial_assignments]: 1 where the caller set the target (its assignment is skipped)
    skip_init: np.ndarray
    #: the names the caller set, sorted (recorded in provenance)
    overrides: list[str]


def batch_size(params: Values, initial: Values, n: int | None, what: str = "n_patients") -> int:
    """``n`` if given, else the common length of the per-patient arrays (or 1)."""
    if n is not None:
        if isinstance(n, bool) or not isinstance(n, int | np.integer):
            raise SimulationInputError(f"{what} must be an integer, got {n!r}")
        if n < 1:
            raise SimulationInputError(f"{what} must be >= 1, got {n}")
        return int(n)
    lengths = {
        np.asarray(v).shape[0] for v in [*params.values(), *initial.values()] if np.ndim(v) == 1
    }
    if len(lengths) > 1:
        raise SimulationInputError(f"per-patient arrays have different lengths: {sorted(lengths)}")
    return lengths.pop() if lengths else 1


def named_inputs(
    compiled: Defaults, params: Values | None, initial: Values | None, n: int
) -> NamedInputs:
    """Model defaults overridden by name → ``params``, ``y0`` and the initial-assignment skips.

    A value given for a species that is a parameter-vector entry (a constant species) is
    accepted in either mapping. Initial assignments are re-evaluated per patient, except for
    the values the caller set.
    """
    params = dict(params or {})
    initial = dict(initial or {})
    for name in list(initial):
        if name not in compiled.state_names and name in compiled.parameter_names:
            params[name] = initial.pop(name)
    p, p_given = value_matrix(
        compiled.parameter_names, compiled.default_parameters(), params, n, "parameter"
    )
    y0, y_given = value_matrix(
        compiled.state_names, compiled.default_initial_state(), initial, n, "state"
    )
    # Every value given by name is checked against the range its model declares (a
    # negative clearance, a fraction of 1.2): refused naming the name, value and range.
    model = getattr(compiled, "model", None)
    if isinstance(model, Model):
        given = {
            name: p[:, j] for j, name in enumerate(compiled.parameter_names) if name in params
        }
        given |= {name: y0[:, j] for j, name in enumerate(compiled.state_names) if name in initial}
        model.check_values(given, "value of")
    skip = np.zeros((n, len(compiled.flat.initial)), dtype=np.float64)
    for k, (kind, index, _) in enumerate(compiled.flat.initial):
        skip[:, k] = p_given[index] if kind == "p" else y_given[index]
    return NamedInputs(p, y0, skip, sorted([*params, *initial]))


def check_arrays(
    shape: ModelShape,
    params: np.ndarray,
    y0: np.ndarray,
    unit: str = "patient",
    *,
    allow_empty: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """``params[n, n_params]`` and ``y0[n, n_states]`` as contiguous floats, all finite.

    ``allow_empty``: a batch of zero patients is valid (the ODE engine returns an empty
    result; a trial chunk may be empty).
    """
    n_s = len(shape.state_names)
    n_p = len(shape.parameter_names)
    params = np.ascontiguousarray(params, dtype=np.float64)
    y0 = np.ascontiguousarray(y0, dtype=np.float64)
    if params.ndim != 2 or params.shape[1] != n_p:
        raise SimulationInputError(
            f"params must have shape (number of {unit}s, {n_p}), got {params.shape}"
        )
    n = params.shape[0]
    if n < 1 and not allow_empty:
        raise SimulationInputError(f"at least one {unit} is needed")
    if y0.shape != (n, n_s):
        raise SimulationInputError(f"y0 must have shape ({n}, {n_s}), got {y0.shape}")
    for arr, what, names in (
        (params, "parameter", shape.parameter_names),
        (y0, "initial state", shape.state_names),
    ):
        bad = np.argwhere(~np.isfinite(arr))
        if bad.size:
            i, j = bad[0]
            raise SimulationInputError(
                f"{what} {names[j]!r} is not finite for {unit} {i} (value {arr[i, j]})"
            )
    return params, y0


def skip_matrix(skip_init: np.ndarray | None, n: int, n_init: int) -> np.ndarray:
    """The initial-assignment skip flags as the kernels' float matrix ``[n, n_init]``."""
    if skip_init is None:
        return np.zeros((n, n_init), dtype=np.float64)
    skip = np.ascontiguousarray(skip_init, dtype=np.float64)
    if skip.shape != (n, n_init):
        raise SimulationInputError(f"skip_init must have shape ({n}, {n_init}), got {skip.shape}")
    return skip


class EventRows(NamedTuple):
    """An event table as the kernels read it (codes of :mod:`mdrsim.engine.events`)."""

    time: np.ndarray  # [n, m]
    kind: np.ndarray  # [m]: 0 state, 1 parameter, 2 input
    target: np.ndarray  # [m]: index of the state/parameter
    op: np.ndarray  # [m]: 0 set, 1 add, 2 multiply
    value: np.ndarray  # [n, m]


def event_rows(events: EventTable | None, n: int, shape: ModelShape) -> EventRows:
    """The rows of ``events`` (none if ``None``) resolved against the model's names."""
    ev = events or EventTable()
    return EventRows(*ev.to_arrays(n, shape.state_names, shape.parameter_names))


def run_in_threads(n: int, workers: int | None, run: Callable[[int, int], None]) -> None:
    """Call ``run(start, stop)`` on contiguous chunks of ``range(n)``, one per thread.

    The kernels release the GIL; a patient's arithmetic does not depend on its chunk, so the
    results are the same for any number of workers.
    """
    workers = workers or min(os.cpu_count() or 1, max(n, 1))
    workers = max(1, min(int(workers), n))
    bounds = np.linspace(0, n, workers + 1).astype(int)
    if workers == 1:
        run(0, n)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda k: run(int(bounds[k]), int(bounds[k + 1])), range(workers)))


#: A state declared non-negative fails when it goes below ``-NEGATIVE_SLACK·(atol + rtol·peak)``
#: (``peak``: its largest magnitude so far): a dip the error control allows is not a failure,
#: one ten times larger is a solution that is wrong, not a rounding.
NEGATIVE_SLACK = 10.0


def check_states(
    shape: ModelShape,
    t: np.ndarray,
    out_y: np.ndarray,
    out_o: np.ndarray,
    stats: np.ndarray,
    rtol: float,
    atol: np.ndarray,
) -> dict[int, str]:
    """Fail every finished patient whose states leave their declared range on the output grid.

    A non-finite state fails with ``NONFINITE``; a state whose model declares a lower bound
    (a species ``non_negative``, a parameter's ``domain``) and that goes below it by more
    than the solver tolerance fails with ``NEGATIVE_STATE``. The status and failure time are
    written into ``stats`` (columns 0 and 1), the values from the failure on become NaN, and
    the returned dict says which state and what value, per failed patient."""
    model = shape.model
    names = list(shape.state_names)
    lower = np.full(len(names), -np.inf)
    for j, name in enumerate(names):
        domain = model.domain_of(name)
        if domain is not None and domain.lower is not None:
            lower[j] = domain.lower
    checked = np.flatnonzero(np.isfinite(lower))
    detail: dict[int, str] = {}
    if out_y.size == 0:
        return detail
    for i in np.flatnonzero(stats[:, 0] == 0):
        y = out_y[i]  # (t, s)
        bad_value = ~np.isfinite(y)
        if checked.size:
            ys = y[:, checked]
            with np.errstate(invalid="ignore"):
                peak = np.maximum.accumulate(np.abs(np.nan_to_num(ys, nan=0.0)), axis=0)
                slack = NEGATIVE_SLACK * (atol[checked] + rtol * peak)
                bad_value[:, checked] |= ys < lower[checked] - slack
        if not bad_value.any():
            continue
        k = int(np.flatnonzero(bad_value.any(axis=1))[0])
        j = int(np.flatnonzero(bad_value[k])[0])
        value = float(y[k, j])
        finite = bool(np.isfinite(value))
        stats[i, 0] = int(Status.NEGATIVE_STATE) if finite else int(Status.NONFINITE)
        stats[i, 1] = t[k]
        detail[int(i)] = (
            f"state {names[j]!r} = {value:.6g} (declared >= {lower[j]:g})"
            if finite
            else f"state {names[j]!r} = {value}"
        )
        out_y[i, k:] = np.nan
        out_o[i, k:] = np.nan
    return detail


def batch_result(
    shape: ModelShape,
    t: np.ndarray,
    out_y: np.ndarray,
    out_o: np.ndarray,
    params: np.ndarray,
    stats: np.ndarray,
    *,
    provenance: Mapping[str, Any],
    stats_columns: tuple[str, ...] = ODE_STATS,
    tolerance: tuple[float, np.ndarray] | None = None,
) -> Result:
    """Wrap an engine's output arrays in a :class:`Result` with status and provenance.

    ``provenance`` holds what the engine adds (``engine``, ``solver_options`` — from the
    options object, see :func:`mdrsim.engine.options.options_provenance` — and the like).
    ``tolerance`` (``rtol``, per-state ``atol``) of an ODE engine turns on
    :func:`check_states`: a patient whose solution leaves its declared range fails.
    """
    detail: dict[int, str] = {}
    if tolerance is not None:
        detail = check_states(shape, t, out_y, out_o, stats, *tolerance)
    status = stats[:, 0].astype(np.int64)
    return Result(
        times=t,
        states=out_y,
        outputs=out_o,
        state_names=list(shape.state_names),
        output_names=list(shape.output_names),
        parameters=params,
        parameter_names=list(shape.parameter_names),
        status=status,
        failure_time=np.where(status != 0, stats[:, 1], np.nan),
        stats=stats,
        stats_columns=stats_columns,
        failure_detail=detail,
        provenance={
            "model": shape.model.name,
            "model_hash": shape.model.content_hash(),
            "structure_hash": shape.model.structure_hash(),
            **provenance,
            "mdrsim_version": __version__,
            "numba_version": numba.__version__,
            "python": platform.python_version(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )


__all__ = [
    "EventRows",
    "ModelShape",
    "NamedInputs",
    "batch_result",
    "batch_size",
    "check_arrays",
    "check_times",
    "event_rows",
    "named_inputs",
    "run_in_threads",
    "skip_matrix",
    "time_grid",
    "value_matrix",
]
