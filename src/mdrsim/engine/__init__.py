"""Compiled, batched simulation: code generation, the Rosenbrock engine, events, results."""

from mdrsim.engine.compiled import CompiledModel, cache_dir, compile_model
from mdrsim.engine.events import EventTable
from mdrsim.engine.result import Result
from mdrsim.engine.solve import SolverOptions, run_batch, simulate
from mdrsim.engine.stochastic import simulate_stochastic
from mdrsim.engine.stochastic_codegen import compile_stochastic

__all__ = [
    "CompiledModel",
    "EventTable",
    "Result",
    "SolverOptions",
    "cache_dir",
    "compile_model",
    "compile_stochastic",
    "run_batch",
    "simulate",
    "simulate_stochastic",
]
