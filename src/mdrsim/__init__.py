"""mdrsim: multidrug resistance (MDR1/P-gp), chemotherapy and CD8 T cells, simulated.

The public API, in the order of the data flow::

    import mdrsim

    model = mdrsim.load_model("my_model.ant")            # Antimony or SBML → model IR
    compiled = mdrsim.compile_model(model)                # numba, cached on disk
    result = mdrsim.simulate(compiled, until=365, points=365,
                             options=mdrsim.SolverOptions(rtol=1e-8))
    scenario = mdrsim.load_example("doxorubicin")         # or mdrsim.load_scenario(path)
    run = mdrsim.run_scenario(scenario)                   # one whole patient
    spec, folder = mdrsim.load_trial("trial.yaml")        # a virtual trial: mdrsim.run_trial

Names are imported on first use (PEP 562), so ``import mdrsim`` stays fast and pulls in
neither numba, sympy nor the plotting and trial stacks until they are needed. Everything else
lives in the subpackages (``mdrsim.engine``, ``mdrsim.patient``, ``mdrsim.trial`` …).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name → the module that defines it
_API: dict[str, str] = {
    "MdrsimError": "mdrsim.errors",
    "load_model": "mdrsim.io",
    "compile_model": "mdrsim.engine",
    "simulate": "mdrsim.engine",
    "EventTable": "mdrsim.engine",
    "SolverOptions": "mdrsim.engine",
    "Result": "mdrsim.engine",
    "Library": "mdrsim.data",
    "load_library": "mdrsim.data",
    "Scenario": "mdrsim.patient.scenario",
    "load_scenario": "mdrsim.patient.scenario",
    "run_scenario": "mdrsim.patient",
    "load_trial": "mdrsim.trial",
    "run_trial": "mdrsim.trial",
    "load_example": "mdrsim.examples",
    "list_examples": "mdrsim.examples",
}

__all__ = [
    "EventTable",
    "Library",
    "MdrsimError",
    "Result",
    "Scenario",
    "SolverOptions",
    "__version__",
    "compile_model",
    "list_examples",
    "load_example",
    "load_library",
    "load_model",
    "load_scenario",
    "load_trial",
    "run_scenario",
    "run_trial",
    "simulate",
]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time the names load lazily
    from mdrsim.data import Library, load_library
    from mdrsim.engine import EventTable, Result, SolverOptions, compile_model, simulate
    from mdrsim.errors import MdrsimError
    from mdrsim.examples import list_examples, load_example
    from mdrsim.io import load_model
    from mdrsim.patient import run_scenario
    from mdrsim.patient.scenario import Scenario, load_scenario
    from mdrsim.trial import load_trial, run_trial


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'mdrsim' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
