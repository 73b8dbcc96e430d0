"""Stochastic simulation: exact SSA, tau-leaping and a hybrid SSA/ODE method, in numba.

Where the ODE engine follows expected values, these engines follow one realisation of the
underlying jump process per trajectory: what matters when populations are small — the
emergence of a rare resistant clone, extinction of a tumour, a small T-cell precursor pool.
The model is the same :class:`~mdrsim.model.ir.Model`; :mod:`.stochastic_codegen` reads its
discrete reactions as propensities ``a_j(t, x, p)`` in counts per unit time.

Methods (``method=``):

``"ssa"``
    Gillespie's direct method (J Phys Chem 1977;81:2340): the time to the next reaction is
    exponential with rate ``a0 = sum_j a_j``; reaction ``j`` is chosen with probability
    ``a_j / a0``. Exact. Propensities must be constant between reactions (no continuous
    variables, no explicit time dependence); timed events stop the clock exactly, which is
    exact because the exponential waiting time has no memory.
``"tau"``
    Explicit tau-leaping with the step selection of Cao, Gillespie & Petzold (J Chem Phys
    2006;124:044109): the step bounds the expected relative change of every propensity by
    ``tau_epsilon``; *critical* reactions (within 10 firings of exhausting a reactant) fire
    at most once per step, by an exact exponential clock; when the bound allows fewer than
    ten SSA steps' worth of time, 100 exact SSA steps are taken instead; a step that would
    drive a count negative is halved and redrawn. Counts are never negative.
``"hybrid"``
    Continuous variables (rate rules; species listed in ``continuous``) follow their ODE,
    integrated by Dormand–Prince 5(4) with error control, together with the integrated
    propensity ``Lambda(t) = int a0 dt``; a reaction fires when ``Lambda`` reaches an
    Exp(1) threshold (the random-time-change representation; e.g. Alfonsi et al., ESAIM Proc
    2005;14:1), located on the step's cubic Hermite interpolant and then stepped to exactly.
    Exact for the discrete part up to the ODE tolerance, with time-varying propensities
    (a drug concentration that decays between doses).

Events: rows of an :class:`~mdrsim.engine.events.EventTable` and the model's timed events are
applied exactly at their time; state-triggered model events are checked after every reaction
(inside the SSA loop: exact for triggers on counts) and after every leap or continuous step.
On a discrete species, ``set`` and ``add`` need whole numbers and ``multiply`` by ``f`` is
binomial thinning for ``f <= 1`` (each cell survives with probability ``f``) and unbiased
stochastic rounding of ``n*f`` above.

Reproducibility: each trajectory owns a xoshiro256** stream seeded from (seed, trajectory
index) (:mod:`mdrsim.engine.random`). Trajectories are split into contiguous chunks run by
threads (the kernel releases the GIL); nothing depends on the chunk, so results are bitwise
identical for any ``workers``.

Layout: this module is the Python front (inputs, options, provenance); the numba kernels are
in :mod:`mdrsim.engine.stochastic_kernel`, the random numbers in :mod:`mdrsim.engine.random`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

import numpy as np

from mdrsim.engine.batch import (
    batch_result,
    batch_size,
    check_arrays,
    check_times,
    event_rows,
    named_inputs,
    run_in_threads,
    skip_matrix,
)
from mdrsim.engine.events import EventTable
from mdrsim.engine.options import StochasticOptions, options_provenance
from mdrsim.engine.random import sample_into, seed_sequence, trajectory_seeds
from mdrsim.engine.result import Result
from mdrsim.engine.status import STOCHASTIC_STATS
from mdrsim.engine.stochastic_codegen import StochasticModel, compile_stochastic
from mdrsim.engine.stochastic_kernel import stochastic_range
from mdrsim.errors import SimulationInputError, UnsupportedFeatureError
from mdrsim.model.ir import Model

StochasticMethod = Literal["ssa", "tau", "hybrid"]
METHODS: dict[str, int] = {"ssa": 0, "tau": 1, "hybrid": 2}

#: Names of the statistics columns (see :mod:`mdrsim.engine.status`).
STATS_COLUMNS = STOCHASTIC_STATS


def _whole(v: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(v)) and np.all(v == np.round(v)))


def _check_events(
    events: EventTable,
    sm: StochasticModel,
    ext_kind: np.ndarray,
    ext_idx: np.ndarray,
    ext_op: np.ndarray,
    ext_val: np.ndarray,
) -> None:
    unit_params = {k: name for k, name in sm.unit_compartments}
    for j, row in enumerate(events.rows):
        kind, idx, op = int(ext_kind[j]), int(ext_idx[j]), int(ext_op[j])
        vals = ext_val[:, j]
        if kind == 1 and idx in unit_params:
            raise SimulationInputError(
                f"event row {j}: {row.name!r} is the compartment of discrete species "
                f"{unit_params[idx]!r}, whose size must stay 1 in a stochastic simulation"
            )
        if kind in (0, 2) and sm.discrete[idx]:
            if kind == 2:
                raise SimulationInputError(
                    f"event row {j}: an infusion (input) into {row.name!r}, a discrete "
                    "species, is not supported; model the inflow as a reaction"
                )
            if op in (0, 1) and not _whole(vals):
                raise SimulationInputError(
                    f"event row {j}: {row.op} of {row.name!r}, a count, needs whole numbers "
                    f"(got {vals[~(vals == np.round(vals))][:3]})"
                )
            if op == 0 and np.any(vals < 0):
                raise SimulationInputError(
                    f"event row {j}: setting the count {row.name!r} needs values >= 0"
                )
            if op == 2 and np.any(vals < 0):
                raise SimulationInputError(
                    f"event row {j}: multiplying the count {row.name!r} needs a factor >= 0"
                )


def _check_method(method: str) -> int:
    if method not in METHODS:
        raise SimulationInputError(
            f"unknown stochastic method {method!r}; allowed: {', '.join(METHODS)}"
        )
    return METHODS[method]


def _stochastic_options(
    options: StochasticOptions | None, shorthand: Mapping[str, Any]
) -> StochasticOptions:
    """``options`` (or the defaults) with the keyword shorthands that were given."""
    given = {k: v for k, v in shorthand.items() if v is not None}
    base = options or StochasticOptions()
    return replace(base, **given) if given else base


def simulate_stochastic(
    model: Model | StochasticModel,
    t_eval: Sequence[float] | np.ndarray,
    *,
    method: StochasticMethod = "ssa",
    n_trajectories: int = 1,
    seed: int | np.random.SeedSequence | None = None,
    params: Mapping[str, float | Sequence[float] | np.ndarray] | None = None,
    initial: Mapping[str, float | Sequence[float] | np.ndarray] | None = None,
    events: EventTable | None = None,
    workers: int | None = None,
    continuous: Sequence[str] = (),
    options: StochasticOptions | None = None,
    check: bool = False,
    tau_epsilon: float | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    max_events: int | None = None,
) -> Result:
    """Simulate ``n_trajectories`` realisations of the model's jump process on ``t_eval``.

    ``params``/``initial`` override values by name (a number, or one value per trajectory).
    Discrete species' values are counts (whole numbers); ``states[trajectory, time, state]``.
    ``seed`` fixes every trajectory (``None`` draws fresh entropy, recorded in the
    provenance so the run can be repeated). ``continuous`` names reaction-changed species to
    integrate as ODEs (hybrid/tau). ``options`` (:class:`StochasticOptions`) holds the
    tau-leaping bound, the hybrid method's tolerances and the event limit; ``tau_epsilon``,
    ``rtol``, ``atol`` and ``max_events`` are shorthands that replace those fields.
    ``check=True`` raises if any trajectory failed.
    """
    _check_method(method)
    if isinstance(n_trajectories, bool) or not isinstance(n_trajectories, int | np.integer):
        raise SimulationInputError(f"n_trajectories must be an integer, got {n_trajectories!r}")
    if n_trajectories < 1:
        raise SimulationInputError(f"n_trajectories must be >= 1, got {n_trajectories}")
    opts = _stochastic_options(
        options,
        {"tau_epsilon": tau_epsilon, "rtol": rtol, "atol": atol, "max_events": max_events},
    )
    if isinstance(model, StochasticModel):
        sm = model
        if continuous and sorted(set(continuous)) != sm.continuous_names:
            sm = compile_stochastic(model.model, continuous=continuous)
    else:
        sm = compile_stochastic(model, continuous=continuous)
    if method == "ssa":
        why = []
        if sm.continuous_names:
            why.append(f"continuous variables {sm.continuous_names}")
        if sm.uses_time:
            why.append("propensities that depend on time")
        if why:
            raise UnsupportedFeatureError(
                f"method 'ssa' needs propensities that stay constant between reactions, but "
                f"the model has {' and '.join(why)}; use method='hybrid' (exact firing times "
                "with time-varying propensities) or 'tau'"
            )
    n = batch_size({}, {}, int(n_trajectories), "n_trajectories")
    t = check_times(np.asarray(t_eval, dtype=float))
    inputs = named_inputs(sm.ode, params, initial, n)
    seq, seed_record = seed_sequence(seed)
    result = run_stochastic_batch(
        sm,
        inputs.params,
        inputs.y0,
        t,
        method=method,
        rng_states=trajectory_seeds(seq, n),
        events=events,
        skip_init=inputs.skip_init,
        workers=workers,
        options=opts,
    )
    result.provenance.update({"seed": seed_record, "overrides": inputs.overrides})
    if check:
        result.raise_on_failure()
    return result


def run_stochastic_batch(
    sm: StochasticModel,
    params: np.ndarray,
    y0: np.ndarray,
    t_eval: np.ndarray,
    *,
    method: StochasticMethod = "ssa",
    rng_states: np.ndarray,
    events: EventTable | None = None,
    skip_init: np.ndarray | None = None,
    workers: int | None = None,
    options: StochasticOptions | None = None,
    tau_epsilon: float | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    max_events: int | None = None,
) -> Result:
    """The engine: ``params[n, n_params]``, ``y0[n, n_states]``, one generator state
    ``rng_states[n, 4]`` (uint64, see :func:`trajectory_seeds`) per trajectory.

    The array-level counterpart of :func:`mdrsim.engine.ode.run_batch`: a trial runner
    that splits patients into chunks passes each chunk its rows of
    ``trajectory_seeds(seed, n_total)`` (or ``trajectory_seeds(seed, k, start=i0)``), and
    every patient gets the same trajectory whatever the chunking. Trajectories are split
    into contiguous ranges run by ``workers`` threads.
    """
    code = _check_method(method)
    opts = _stochastic_options(
        options,
        {"tau_epsilon": tau_epsilon, "rtol": rtol, "atol": atol, "max_events": max_events},
    )
    t = check_times(t_eval)
    params, y0 = check_arrays(sm, params, y0, unit="trajectory")
    n, n_s = y0.shape
    for i, name in enumerate(sm.state_names):
        if sm.discrete[i] and not (_whole(y0[:, i]) and np.all(y0[:, i] >= 0)):
            bad = y0[:, i][~((y0[:, i] == np.round(y0[:, i])) & (y0[:, i] >= 0))][0]
            raise SimulationInputError(
                f"initial value of {name!r} is {bad:g}, but a discrete species is a count "
                "(a whole number >= 0); integrate concentrations with continuous=[...]"
            )
    for k, name in sm.unit_compartments:
        if np.any(params[:, k] != 1.0):
            raise SimulationInputError(
                f"compartment {sm.parameter_names[k]!r} of discrete species {name!r} must "
                "have size 1 in a stochastic simulation"
            )
    rng_states = np.ascontiguousarray(rng_states, dtype=np.uint64)
    if rng_states.shape != (n, 4):
        raise SimulationInputError(f"rng_states must have shape ({n}, 4), got {rng_states.shape}")
    skip = skip_matrix(skip_init, n, len(sm.ode.flat.initial))
    ev = events or EventTable()
    rows = event_rows(ev, n, sm)
    _check_events(ev, sm, rows.kind, rows.target, rows.op, rows.value)

    out_y = np.empty((n, t.size, n_s))
    out_o = np.empty((n, t.size, len(sm.output_names)))
    stats = np.zeros((n, len(STOCHASTIC_STATS)))
    kernel_args = sm.kernel_arguments()
    kernel: Any = stochastic_range  # numba dispatcher: its signature is the njit one
    settings, limits = opts.kernel_settings()

    def run(start: int, stop: int) -> None:
        kernel(
            kernel_args[0],
            kernel_args[1],
            code,
            *kernel_args[2:],
            start,
            stop,
            t,
            y0,
            params,
            skip,
            *rows,
            rng_states,
            settings,
            limits,
            out_y,
            out_o,
            stats,
        )

    run_in_threads(n, workers, run)
    engine = f"stochastic-{method}"
    return batch_result(
        sm,
        t,
        out_y,
        out_o,
        params,
        stats,
        stats_columns=STOCHASTIC_STATS,
        provenance={
            **options_provenance(opts, engine),
            "method": method,
            "seeding": "SeedSequence(seed).generate_state(4n, uint64), words 4i..4i+3 "
            "-> xoshiro256** of trajectory i",
            "n_trajectories": n,
            "discrete": sm.discrete_names,
            "continuous": sm.continuous_names,
            "stats_columns": list(STOCHASTIC_STATS),
        },
    )


__all__ = [
    "METHODS",
    "STATS_COLUMNS",
    "StochasticModel",
    "StochasticOptions",
    "compile_stochastic",
    "run_stochastic_batch",
    "sample_into",
    "simulate_stochastic",
    "trajectory_seeds",
]
