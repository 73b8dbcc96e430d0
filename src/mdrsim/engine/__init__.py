"""Compiled, batched simulation: code generation, the Rosenbrock engine, events, results.

Layout (docs/engine.md): ``status`` (codes, messages, named statistics), ``options``
(solver settings), ``batch`` (one input front for every engine), ``cache`` (generated
modules on disk), ``segments`` (numba pieces both engines share), ``codegen``/``sparse_lu``/
``compiled`` (model → numba functions), ``rodas``/``ode``/``scipy_ref``/``solve`` (the ODE
engines and their front), ``random``/``stochastic_codegen``/``stochastic_kernel``/
``stochastic`` (the stochastic engines), ``events`` and ``result``.
"""

from typing import TYPE_CHECKING, Any

from mdrsim.engine.compiled import CompiledModel, cache_dir, compile_model
from mdrsim.engine.events import EventTable
from mdrsim.engine.options import SolverOptions, StochasticOptions, options_provenance
from mdrsim.engine.result import Result
from mdrsim.engine.solve import run_batch, simulate
from mdrsim.engine.status import SolverStats, Status

if TYPE_CHECKING:
    from mdrsim.engine.stochastic import simulate_stochastic
    from mdrsim.engine.stochastic_codegen import compile_stochastic

#: The stochastic engines are imported on first use: their numba kernels are compiled when
#: their module is imported (about half of a first run's compile time, measured in
#: docs/benchmarks.md), which an ODE-only first run should not pay.
_LAZY = {
    "simulate_stochastic": "mdrsim.engine.stochastic",
    "compile_stochastic": "mdrsim.engine.stochastic_codegen",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CompiledModel",
    "EventTable",
    "Result",
    "SolverOptions",
    "SolverStats",
    "Status",
    "StochasticOptions",
    "cache_dir",
    "compile_model",
    "compile_stochastic",
    "options_provenance",
    "run_batch",
    "simulate",
    "simulate_stochastic",
]
