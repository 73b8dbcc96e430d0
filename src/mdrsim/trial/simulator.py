"""The seam between the trial machinery and a patient model: the :class:`Simulator` protocol.

Any object with these four methods can be run as a trial — the generic
:class:`~mdrsim.trial.model_simulator.ModelSimulator` (any Antimony/SBML model) or the full
patient model. Simulators are sent to worker processes and Dask workers, so they must pickle
(hold text and numbers; compile lazily in the worker).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from mdrsim.trial.endpoints import ENDPOINT_COLUMNS, STATUS_FAILED, STATUS_OK, Endpoint
from mdrsim.trial.errors import TrialSpecError

# The endpoint schema lives in mdrsim.trial.endpoints; re-exported here, where simulators
# have always imported it from.
__all__ = [
    "ENDPOINT_COLUMNS",
    "STATUS_FAILED",
    "STATUS_OK",
    "ChunkOutput",
    "Simulator",
    "SimulatorContext",
    "SimulatorFactory",
    "build_simulator",
    "conform_endpoints",
    "patient_seeds",
    "register_simulator",
    "registered_kinds",
    "simulator_kind",
]


@dataclass
class ChunkOutput:
    """What a simulator returns for one arm and one chunk of patients."""

    endpoints: pd.DataFrame  # one row per patient, ENDPOINT_COLUMNS (+ extra numeric columns)
    trajectories: pd.DataFrame | None = None  # long: patient, arm, time, variable, value


@runtime_checkable
class Simulator(Protocol):
    """A patient model the trial runner can drive, one (arm, chunk) at a time."""

    def arm_names(self) -> list[str]: ...

    def parameter_names(self) -> list[str]:
        """Names a population may sample (model parameters, initial states, covariates)."""
        ...

    def simulate_chunk(self, arm: str, patients: pd.DataFrame) -> ChunkOutput:
        """Simulate ``patients`` (columns ``patient``, ``seed`` and one float column per sampled
        name) under ``arm``; a failed patient keeps its row with status "failed" and a reason."""
        ...

    def describe(self) -> dict[str, Any]:
        """Provenance: model hash, versions, options — stored in the trial manifest."""
        ...


def conform_endpoints(df: pd.DataFrame, arm: str | None = None) -> pd.DataFrame:
    """Return ``df`` with every ENDPOINT_COLUMNS column (missing ones null) in schema order and
    dtype, then any extra numeric columns. Raises if a row is failed without a reason."""
    out = pd.DataFrame(index=pd.RangeIndex(len(df)))
    for name, dtype in ENDPOINT_COLUMNS.items():
        if name in df.columns:
            out[name] = df[name].to_numpy()
        elif name == Endpoint.ARM and arm is not None:
            out[name] = arm
        elif name == Endpoint.REASON:
            out[name] = ""
        elif name in (Endpoint.PATIENT, Endpoint.STATUS):
            raise TrialSpecError(f"simulator endpoints: column {name!r} is required")
        else:
            out[name] = pd.NA
        out[name] = out[name].astype(dtype)
    status = out[Endpoint.STATUS]
    bad_status = ~status.isin([STATUS_OK, STATUS_FAILED])
    if bool(bad_status.any()):
        raise TrialSpecError(
            f"simulator endpoints: status must be 'ok' or 'failed', got "
            f"{status[bad_status].iloc[0]!r}"
        )
    silent = (status == STATUS_FAILED) & (out[Endpoint.REASON].fillna("") == "")
    if bool(silent.any()):
        raise TrialSpecError(
            f"simulator endpoints: patient {int(out[Endpoint.PATIENT][silent].iloc[0])} failed "
            "without a reason"
        )
    for name in df.columns:
        if name in ENDPOINT_COLUMNS:
            continue
        col = df[name]
        if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)):
            raise TrialSpecError(
                f"simulator endpoints: extra column {name!r} must be numeric or boolean"
            )
        out[name] = col.to_numpy()
    return out


def patient_seeds(trial_seed: int, patients: np.ndarray) -> np.ndarray:
    """uint64 seed of each patient, from SeedSequence((trial_seed, patient_index)): the
    simulator's own randomness (if any) then never depends on chunking."""
    return np.array(
        [
            np.random.SeedSequence([trial_seed, int(i)]).generate_state(1, np.uint64)[0]
            for i in patients
        ],
        dtype=np.uint64,
    )


@dataclass
class SimulatorContext:
    """Everything a simulator factory gets from the trial file."""

    config: Mapping[str, Any]  # the `simulator:` section, as written
    arms: list[Mapping[str, Any]]  # the `arms:` list, as written (each has a unique `name`)
    base_dir: Path  # directory of the trial file: relative paths resolve here
    horizon_days: float
    scan_interval_days: float
    trajectories_first: int  # keep trajectories of patients 0..K-1 (0: none)
    extra: dict[str, Any] = field(default_factory=dict)


SimulatorFactory = Callable[[SimulatorContext], Simulator]
_REGISTRY: dict[str, SimulatorFactory] = {}


def register_simulator(kind: str, factory: SimulatorFactory) -> None:
    """Make ``simulator: {kind: KIND, ...}`` — or ``simulator: {KIND: ...}``, the key naming
    the kind — build a simulator with ``factory``. A module of a new simulator calls this at
    import; re-registering a kind replaces it."""
    if not kind.isidentifier():
        raise TrialSpecError(f"simulator kind {kind!r} must be an identifier")
    _REGISTRY[kind] = factory


#: Simulator kinds shipped with mdrsim → the module that registers the kind when imported.
#: Imported on first use of that kind only, so `import mdrsim.trial` stays light and a kind
#: that is not used cannot break the others.
BUILTIN_SIMULATOR_MODULES: dict[str, str] = {
    "model": "mdrsim.trial.model_simulator",
    "scenario": "mdrsim.patient.trial_simulator",
}


def registered_kinds() -> list[str]:
    return sorted(set(_REGISTRY) | set(BUILTIN_SIMULATOR_MODULES))


def simulator_kind(config: Mapping[str, Any]) -> str:
    """The kind named by ``kind:``, else the one known kind whose name is a key."""
    known = registered_kinds()
    kind = config.get("kind")
    if kind is None:
        found = [k for k in known if k in config]
        if len(found) != 1:
            raise TrialSpecError(
                f"simulator: say which simulator with `kind:` or one of the keys {', '.join(known)}"
            )
        kind = found[0]
    if kind not in known:
        raise TrialSpecError(
            f"simulator.kind: {kind!r} is not registered; allowed: {', '.join(known)}"
        )
    if kind not in _REGISTRY:
        import importlib

        importlib.import_module(BUILTIN_SIMULATOR_MODULES[kind])
        if kind not in _REGISTRY:
            raise TrialSpecError(
                f"simulator.kind: module {BUILTIN_SIMULATOR_MODULES[kind]} "
                f"did not register {kind!r}"
            )
    return str(kind)


def build_simulator(context: SimulatorContext) -> Simulator:
    """The simulator named by ``context.config`` (see :func:`simulator_kind`)."""
    factory = _REGISTRY[simulator_kind(context.config)]
    sim = factory(context)
    missing = sorted(set(sim.arm_names()) ^ {str(a["name"]) for a in context.arms})
    if missing:
        raise TrialSpecError(f"arms: simulator arms do not match the trial's: {missing}")
    return sim
