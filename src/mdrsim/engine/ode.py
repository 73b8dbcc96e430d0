"""The array-level ODE engine: a batch of patients through the RODAS4 kernel.

:func:`run_batch` takes matrices (``params[n, n_params]``, ``y0[n, n_states]``) and a checked
:class:`~mdrsim.engine.options.SolverOptions`; the name-based front is
:func:`mdrsim.engine.solve.simulate`. This module imports no model compiler, so
:meth:`CompiledModel.warm_up` can use it without an import circle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mdrsim.engine import rodas
from mdrsim.engine.batch import (
    batch_result,
    check_arrays,
    check_times,
    event_rows,
    run_in_threads,
    skip_matrix,
)
from mdrsim.engine.events import EventTable
from mdrsim.engine.options import SolverOptions, options_provenance
from mdrsim.engine.result import Result
from mdrsim.engine.status import ODE_STATS

if TYPE_CHECKING:
    from mdrsim.engine.compiled import CompiledModel


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
    t = check_times(t_eval)
    params, y0 = check_arrays(compiled, params, y0, allow_empty=True)
    n, n_s = y0.shape
    atol = options.atol_vector(n_s, compiled.default_initial_state())
    skip = skip_matrix(skip_init, n, len(compiled.flat.initial))
    rows = event_rows(events, n, compiled)

    out_y = np.empty((n, t.size, n_s))
    out_o = np.empty((n, t.size, len(compiled.output_names)))
    stats = np.zeros((n, len(ODE_STATS)))
    kernel_args = compiled.kernel_arguments()
    settings, limits = options.kernel_settings()

    def run(start: int, stop: int) -> None:
        rodas.solve_range(  # type: ignore[call-arg]
            *kernel_args,
            start,
            stop,
            t,
            y0,
            params,
            skip,
            *rows,
            settings,
            atol,
            limits,
            out_y,
            out_o,
            stats,
        )

    run_in_threads(n, workers, run)
    return batch_result(
        compiled,
        t,
        out_y,
        out_o,
        params,
        stats,
        provenance=options_provenance(options, "rodas4"),
        tolerance=(options.rtol, atol),
    )


__all__ = ["run_batch"]
