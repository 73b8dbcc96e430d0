"""Run a compiled model for a batch of patients: the public simulation entry point.

:func:`simulate` is the name-based front (values by name, a time grid, options); it builds
the matrices with :mod:`mdrsim.engine.batch` and hands them to the RODAS4 engine
(:func:`mdrsim.engine.ode.run_batch`) or to the scipy reference path
(:func:`mdrsim.engine.scipy_ref.run_scipy`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

import numpy as np

from mdrsim.engine.batch import batch_size, named_inputs, time_grid
from mdrsim.engine.compiled import CompiledModel, compile_model
from mdrsim.engine.events import EventTable
from mdrsim.engine.ode import run_batch
from mdrsim.engine.options import SolverOptions
from mdrsim.engine.result import Result
from mdrsim.errors import SimulationInputError
from mdrsim.model.ir import Model

Method = Literal["rodas4", "scipy-radau", "scipy-bdf", "scipy-lsoda"]
METHODS: tuple[str, ...] = ("rodas4", "scipy-radau", "scipy-bdf", "scipy-lsoda")


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
    options: SolverOptions | None = None,
    method: Method = "rodas4",
    workers: int | None = None,
    check: bool = False,
    rtol: float | None = None,
    atol: float | Sequence[float] | None = None,
    max_steps: int | None = None,
) -> Result:
    """Simulate one patient or a batch.

    Give either ``t_eval`` or ``until`` (then ``points + 1`` evenly spaced times from 0).
    ``params``/``initial`` override model values by name, with a number (all patients) or one
    value per patient; ``n_patients`` defaults to the length of those arrays (or 1).
    Initial assignments of the model are re-evaluated per patient, except for values you set.
    ``options`` holds the tolerances and limits (:class:`SolverOptions`); ``rtol``, ``atol``
    and ``max_steps`` are shorthands that replace those fields of ``options``.
    ``check=True`` raises :class:`~mdrsim.errors.SimulationError` if any patient failed.

    The ODE path is deterministic, so it takes no seed (the stochastic engines do:
    :func:`mdrsim.engine.stochastic.simulate_stochastic`).
    """
    if method not in METHODS:
        raise SimulationInputError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    shorthand: dict[str, Any] = {
        k: v for k, v in (("rtol", rtol), ("atol", atol), ("max_steps", max_steps)) if v is not None
    }
    if isinstance(shorthand.get("atol"), Sequence | np.ndarray):
        shorthand["atol"] = tuple(shorthand["atol"])
    options = replace(options or SolverOptions(), **shorthand)
    compiled = model if isinstance(model, CompiledModel) else compile_model(model)
    t = time_grid(t_eval, until, points)
    params = dict(params or {})
    initial = dict(initial or {})
    n = batch_size(params, initial, n_patients)
    inputs = named_inputs(compiled, params, initial, n)
    if method == "rodas4":
        result = run_batch(
            compiled,
            inputs.params,
            inputs.y0,
            t,
            events=events,
            options=options,
            skip_init=inputs.skip_init,
            workers=workers,
        )
    else:
        # Imported here: scipy.integrate costs ~0.5 s of import that the compiled path never needs.
        from mdrsim.engine.scipy_ref import run_scipy

        result = run_scipy(
            compiled,
            inputs.params,
            inputs.y0,
            t,
            events=events,
            options=options,
            skip_init=inputs.skip_init,
            method=method.split("-", 1)[1].upper(),
        )
    result.provenance["overrides"] = inputs.overrides
    if check:
        result.raise_on_failure()
    return result


__all__ = ["METHODS", "Method", "SolverOptions", "run_batch", "simulate"]
