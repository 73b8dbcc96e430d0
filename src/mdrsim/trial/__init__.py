"""Virtual trials: populations, arms, endpoints, a chunked Parquet store, local and Dask runs.

The core never imports the CLI or plotting. A patient model plugs in through
:class:`~mdrsim.trial.simulator.Simulator` and :func:`~mdrsim.trial.simulator.register_simulator`.
"""

from mdrsim.trial.errors import PopulationError, TrialSpecError, TrialStoreError
from mdrsim.trial.executors import DaskExecutor, Executor, LocalExecutor
from mdrsim.trial.population import Population
from mdrsim.trial.runner import Progress, TrialPlan, TrialRun, run_chunk, run_trial
from mdrsim.trial.simulator import (
    ENDPOINT_COLUMNS,
    ChunkOutput,
    Simulator,
    SimulatorContext,
    build_simulator,
    conform_endpoints,
    register_simulator,
)
from mdrsim.trial.spec import TrialSpec, load_trial, parse_trial
from mdrsim.trial.store import TrialStore, query

__all__ = [
    "ENDPOINT_COLUMNS",
    "ChunkOutput",
    "DaskExecutor",
    "Executor",
    "LocalExecutor",
    "Population",
    "PopulationError",
    "Progress",
    "Simulator",
    "SimulatorContext",
    "TrialPlan",
    "TrialRun",
    "TrialSpec",
    "TrialSpecError",
    "TrialStore",
    "TrialStoreError",
    "build_simulator",
    "conform_endpoints",
    "load_trial",
    "parse_trial",
    "query",
    "register_simulator",
    "run_chunk",
    "run_trial",
]
