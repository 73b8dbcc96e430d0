"""Compiled, batched simulation: code generation, the Rosenbrock engine, events, results.

Layout (docs/engine.md): ``status`` (codes, messages, named statistics), ``options``
(solver settings), ``batch`` (one input front for every engine), ``cache`` (generated
modules on disk), ``segments`` (numba pieces both engines share), ``codegen``/``sparse_lu``/
``compiled`` (model → numba functions), ``rodas``/``ode``/``scipy_ref``/``solve`` (the ODE
engines and their front), ``random``/``stochastic_codegen``/``stochastic_kernel``/
``stochastic`` (the stochastic engines), ``events`` and ``result``.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mdrsim.engine.compiled import CompiledModel, cache_dir, compile_model
    from mdrsim.engine.events import EventTable
    from mdrsim.engine.options import SolverOptions, StochasticOptions, options_provenance
    from mdrsim.engine.result import Result
    from mdrsim.engine.solve import run_batch, simulate
    from mdrsim.engine.status import SolverStats, Status
    from mdrsim.engine.stochastic import simulate_stochastic
    from mdrsim.engine.stochastic_codegen import compile_stochastic

# Names are imported on first use (PEP 562): importing one engine module (say, the options)
# must not load numba kernels, the stochastic engines or scipy.
_API: dict[str, str] = {
    "CompiledModel": "mdrsim.engine.compiled",
    "EventTable": "mdrsim.engine.events",
    "Result": "mdrsim.engine.result",
    "SolverOptions": "mdrsim.engine.options",
    "SolverStats": "mdrsim.engine.status",
    "Status": "mdrsim.engine.status",
    "StochasticOptions": "mdrsim.engine.options",
    "cache_dir": "mdrsim.engine.compiled",
    "compile_model": "mdrsim.engine.compiled",
    "compile_stochastic": "mdrsim.engine.stochastic_codegen",
    "options_provenance": "mdrsim.engine.options",
    "run_batch": "mdrsim.engine.solve",
    "simulate": "mdrsim.engine.solve",
    "simulate_stochastic": "mdrsim.engine.stochastic",
}

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


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'mdrsim.engine' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
