"""Compiled, batched simulation: code generation, the Rosenbrock engine, events, results.

Layout (docs/engine.md): ``status`` (codes, messages, named statistics), ``options``
(solver settings), ``batch`` (one input front for every engine), ``cache`` (generated
modules on disk), ``segments`` (numba pieces both engines share), ``codegen``/``sparse_lu``/
``compiled`` (model → numba functions), ``rodas``/``ode``/``scipy_ref``/``solve`` (the ODE
engines and their front), ``random``/``stochastic_codegen``/``stochastic_kernel``/
``stochastic`` (the stochastic engines), ``events`` and ``result``.
"""

from mdrsim.engine.compiled import CompiledModel, cache_dir, compile_model
from mdrsim.engine.events import EventTable
from mdrsim.engine.options import SolverOptions, StochasticOptions, options_provenance
from mdrsim.engine.result import Result
from mdrsim.engine.solve import run_batch, simulate
from mdrsim.engine.status import SolverStats, Status
from mdrsim.engine.stochastic import simulate_stochastic
from mdrsim.engine.stochastic_codegen import compile_stochastic

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
