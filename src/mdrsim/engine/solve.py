"""Run a compiled model for a batch of patients: the public simulation entry points."""

from __future__ import annotations

import math
import os
import platform
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Literal

import numba
import numpy as np

from mdrsim import __version__
from mdrsim.engine import rodas
from mdrsim.engine.compiled import CompiledModel, compile_model
from mdrsim.engine.events import EventTable
from mdrsim.engine.result import Result
from mdrsim.errors import SimulationInputError
from mdrsim.model.expressions import did_you_mean
from mdrsim.model.ir import Model

Method = Literal["rodas4", "scipy-radau", "scipy-bdf", "scipy-lsoda"]


@dataclass(frozen=True)
class SolverOptions:
    """Tolerances and limits. ``atol`` may be one number or one per state.

    ``h_fixed`` > 0 switches error control off and takes steps of that size (used to measure
    the convergence order; not for production runs).
    """

    rtol: float = 1e-6
    atol: float | tuple[float, ...] = 1e-9
    max_steps: int = 200_000
    h_max: float = math.inf
    h_fixed: float = 0.0

    def check(self, n_states: int) -> np.ndarray:
        if not (math.isfinite(self.rtol) and 0 < self.rtol < 1):
            raise SimulationInputError(f"rtol must be in (0, 1), got {self.rtol}")
        atol = (
            np.broadcast_to(np.asarray(self.atol, dtype=float), (n_states,)).copy()
            if (
                np.ndim(self.atol) == 0 or len(self.atol) == n_states  # type: ignore[arg-type]
            )
            else None
        )
        if atol is None:
            raise SimulationInputError(
                f"atol must be one number or {n_states} numbers (one per state)"
            )
        if not np.all(np.isfinite(atol)) or np.any(atol <= 0):
            raise SimulationInputError(f"atol must be finite and > 0, got {self.atol}")
        if self.max_steps < 1:
            raise SimulationInputError(f"max_steps must be >= 1, got {self.max_steps}")
        if not self.h_max > 0:
            raise SimulationInputError(f"h_max must be > 0, got {self.h_max}")
        if not (self.h_fixed >= 0 and math.isfinite(self.h_fixed)):
            raise SimulationInputError(f"h_fixed must be >= 0, got {self.h_fixed}")
        return atol


def _check_times(t_eval: np.ndarray) -> np.ndarray:
    t = np.ascontiguousarray(t_eval, dtype=np.float64)
    if t.ndim != 1 or t.size < 2:
        raise SimulationInputError("t_eval must be a 1-D array of at least 2 times")
    if not np.all(np.isfinite(t)):
        raise SimulationInputError("t_eval contains non-finite times")
    if np.any(np.diff(t) <= 0):
        raise SimulationInputError("t_eval must be strictly increasing")
    return t


def _matrix(
    names: list[str],
    defaults: np.ndarray,
    overrides: Mapping[str, float | Sequence[float] | np.ndarray],
    n_patients: int,
    what: str,
) -> tuple[np.ndarray, np.ndarray]:
    """[n_patients, len(names)] from defaults plus overrides; also which columns were given."""
    out = np.tile(defaults, (n_patients, 1))
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
        elif v.shape == (n_patients,):
            out[:, j] = v
        else:
            raise SimulationInputError(
                f"{what} {name!r}: expected a number or {n_patients} values, got shape {v.shape}"
            )
        if not np.all(np.isfinite(out[:, j])):
            bad = int(np.flatnonzero(~np.isfinite(out[:, j]))[0])
            raise SimulationInputError(
                f"{what} {name!r} is not finite for patient {bad} (value {out[bad, j]})"
            )
        given[j] = True
    return out, given


def run_batch(
    compiled: CompiledModel,
    params: np.ndarray,
    y0: np.ndarray,
    t_eval: np.ndarray,
    *,
    events: EventTable | None = None,
    options: SolverOptions | None = None,
    skip_init: np.ndarray | None = None,
    workers: int | None = None,
) -> Result:
    """The engine: integrate ``params[n, n_params]`` / ``y0[n, n_states]`` on ``t_eval``.

    Patients are independent; they are split into contiguous chunks run by threads (the
    compiled kernel releases the GIL). Each patient's arithmetic is the same whatever the
    chunking, so results are bitwise identical alone or in any batch.
    """
    options = options or SolverOptions()
    t = _check_times(t_eval)
    n_s = len(compiled.state_names)
    n_p = len(compiled.parameter_names)
    params = np.ascontiguousarray(params, dtype=np.float64)
    y0 = np.ascontiguousarray(y0, dtype=np.float64)
    if params.ndim != 2 or params.shape[1] != n_p:
        raise SimulationInputError(
            f"params must have shape (n_patients, {n_p}), got {params.shape}"
        )
    n = params.shape[0]
    if y0.shape != (n, n_s):
        raise SimulationInputError(f"y0 must have shape ({n}, {n_s}), got {y0.shape}")
    for arr, what in ((params, "parameter"), (y0, "initial state")):
        bad = np.argwhere(~np.isfinite(arr))
        if bad.size:
            i, j = bad[0]
            names = compiled.parameter_names if what == "parameter" else compiled.state_names
            raise SimulationInputError(
                f"{what} {names[j]!r} is not finite for patient {i} (value {arr[i, j]})"
            )
    atol = options.check(n_s)
    n_init = len(compiled.flat.initial)
    if skip_init is None:
        skip_init = np.zeros((n, n_init), dtype=np.bool_)
    ev = events or EventTable()
    ext_t, ext_kind, ext_idx, ext_op, ext_val = ev.to_arrays(
        n, compiled.state_names, compiled.parameter_names
    )

    out_y = np.empty((n, t.size, n_s))
    out_o = np.empty((n, t.size, len(compiled.output_names)))
    stats = np.zeros((n, 7))
    kernel_args = compiled.kernel_arguments()
    skip = np.ascontiguousarray(skip_init, dtype=np.float64)
    workers = workers or min(os.cpu_count() or 1, max(n, 1))
    workers = max(1, min(workers, n))
    bounds = np.linspace(0, n, workers + 1).astype(int)

    def run(k: int) -> None:
        rodas.solve_range(  # type: ignore[call-arg]
            *kernel_args,
            int(bounds[k]),
            int(bounds[k + 1]),
            t,
            y0,
            params,
            skip,
            ext_t,
            ext_kind,
            ext_idx,
            ext_op,
            ext_val,
            float(options.rtol),
            atol,
            float(options.h_max),
            float(options.h_fixed),
            int(options.max_steps),
            out_y,
            out_o,
            stats,
        )

    if workers == 1:
        run(0)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(run, range(workers)))

    return batch_result(compiled, t, out_y, out_o, params, stats, engine="rodas4", options=options)


def batch_result(
    compiled: CompiledModel,
    t: np.ndarray,
    out_y: np.ndarray,
    out_o: np.ndarray,
    params: np.ndarray,
    stats: np.ndarray,
    *,
    engine: str,
    options: SolverOptions,
) -> Result:
    """Wrap an engine's output arrays in a :class:`Result` with status and provenance."""
    return Result(
        times=t,
        states=out_y,
        outputs=out_o,
        state_names=list(compiled.state_names),
        output_names=list(compiled.output_names),
        parameters=params,
        parameter_names=list(compiled.parameter_names),
        status=stats[:, 0].astype(np.int64),
        failure_time=np.where(stats[:, 0] != 0, stats[:, 1], np.nan),
        stats=stats,
        provenance={
            "model": compiled.model.name,
            "model_hash": compiled.model.content_hash(),
            "structure_hash": compiled.model.structure_hash(),
            "engine": engine,
            "solver_options": asdict(options),
            "mdrsim_version": __version__,
            "numba_version": numba.__version__,
            "python": platform.python_version(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )


def simulate(
    model: Model | CompiledModel,
    t_eval: Sequence[float] | np.ndarray | None = None,
    *,
    until: float | None = None,
    points: int = 200,
    params: Mapping[str, float | Sequence[float] | np.ndarray] | None = None,
    initial: Mapping[str, float | Sequence[float] | np.ndarray] | None = None,
    n_patients: int | None = None,
    events: EventTable | None = None,
    rtol: float = 1e-6,
    atol: float | Sequence[float] = 1e-9,
    method: Method = "rodas4",
    workers: int | None = None,
    max_steps: int = 200_000,
    seed: int | None = None,
    check: bool = False,
) -> Result:
    """Simulate one patient or a batch.

    Give either ``t_eval`` or ``until`` (then ``points + 1`` evenly spaced times from 0).
    ``params``/``initial`` override model values by name, with a number (all patients) or one
    value per patient; ``n_patients`` defaults to the length of those arrays (or 1).
    Initial assignments of the model are re-evaluated per patient, except for values you set.
    ``check=True`` raises :class:`~mdrsim.errors.SimulationError` if any patient failed.
    """
    compiled = model if isinstance(model, CompiledModel) else compile_model(model)
    if t_eval is None:
        if until is None:
            raise SimulationInputError("give t_eval or until")
        if not (math.isfinite(until) and until > 0):
            raise SimulationInputError(f"until must be a positive number, got {until}")
        if points < 1:
            raise SimulationInputError(f"points must be >= 1, got {points}")
        t = np.linspace(0.0, float(until), int(points) + 1)
    else:
        t = _check_times(np.asarray(t_eval, dtype=float))
    params = dict(params or {})
    initial = dict(initial or {})
    lengths = {
        np.asarray(v).shape[0] for v in [*params.values(), *initial.values()] if np.ndim(v) == 1
    }
    if n_patients is None:
        if len(lengths) > 1:
            raise SimulationInputError(
                f"per-patient arrays have different lengths: {sorted(lengths)}"
            )
        n_patients = lengths.pop() if lengths else 1
    if n_patients < 1:
        raise SimulationInputError(f"n_patients must be >= 1, got {n_patients}")
    # A value given for a species that is a parameter-vector entry (constant species) is
    # accepted in either mapping.
    for name in list(initial):
        if name not in compiled.state_names and name in compiled.parameter_names:
            params[name] = initial.pop(name)
    p, p_given = _matrix(
        compiled.parameter_names, compiled.default_parameters(), params, n_patients, "parameter"
    )
    y0, y_given = _matrix(
        compiled.state_names, compiled.default_initial_state(), initial, n_patients, "state"
    )
    skip = np.zeros((n_patients, len(compiled.flat.initial)), dtype=np.bool_)
    for k, (kind, index, _) in enumerate(compiled.flat.initial):
        skip[:, k] = p_given[index] if kind == "p" else y_given[index]
    options = SolverOptions(
        rtol=rtol,
        atol=tuple(atol) if isinstance(atol, Sequence | np.ndarray) else float(atol),
        max_steps=max_steps,
    )
    if method == "rodas4":
        result = run_batch(
            compiled, p, y0, t, events=events, options=options, skip_init=skip, workers=workers
        )
    elif method in ("scipy-radau", "scipy-bdf", "scipy-lsoda"):
        from mdrsim.engine.scipy_ref import run_scipy

        result = run_scipy(
            compiled,
            p,
            y0,
            t,
            events=events,
            options=options,
            skip_init=skip,
            method=method.split("-", 1)[1].upper(),
        )
    else:
        raise SimulationInputError(
            f"unknown method {method!r}; allowed: rodas4, scipy-radau, scipy-bdf, scipy-lsoda"
        )
    result.provenance["seed"] = seed
    result.provenance["overrides"] = sorted([*params, *initial])
    if check:
        result.raise_on_failure()
    return result
