"""A :class:`~mdrsim.trial.simulator.Simulator` for any Antimony/SBML model.

Arms are parameter overrides plus an optional bolus schedule. Endpoints come from the model on
a scan grid (every ``scan_interval_days`` up to the horizon): tumour burden is the sum of named
states/outputs (names only — nothing is evaluated), the sum of diameters is ∝ burden^(1/3)
(:func:`mdrsim.regimen.recist.diameter_mm`) and RECIST 1.1 gives best response and progression.
PFS is the time of the first PD scan, censored at the last scan. Endpoints the model lacks
(neutropenia, infection, CD8 memory, lines) are null unless configured below.

The simulator holds the model *text* and compiles lazily (numba, disk-cached) in whichever
process runs it, so it pickles to process and Dask workers.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mdrsim import __version__
from mdrsim.engine import CompiledModel, EventTable, compile_model, simulate
from mdrsim.errors import MdrsimError
from mdrsim.regimen.recist import classify, diameter_mm
from mdrsim.trial.endpoints import STATUS_FAILED, STATUS_OK, Endpoint
from mdrsim.trial.errors import TrialSpecError
from mdrsim.trial.population import PhysicalBound
from mdrsim.trial.simulator import (
    ChunkOutput,
    SimulatorContext,
    conform_endpoints,
    register_simulator,
)
from mdrsim.trial.spec import format_validation_error


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Diameter(_Strict):
    """Sum of diameters ``reference_mm`` at burden ``reference_burden`` (∝ volume^(1/3))."""

    reference_burden: float = Field(default=10.0, gt=0)
    reference_mm: float = Field(default=50.0, gt=0)


class Split(_Strict):
    """Initial tumour split: ``resistant = fraction · total``, ``sensitive = (1-fraction) ·
    total``; ``fraction``/``total`` name sampled variables (e.g. the MDR1-high fraction)."""

    fraction: str
    total: str
    resistant: str
    sensitive: str


class MemoryEndpoint(_Strict):
    variable: str  # memory CD8 T cells; value at the horizon
    # Overrides that make the patient's untreated twin (e.g. doses and drug states 0); when
    # given, cd8_memory_ratio = memory / memory of the same patient untreated.
    untreated: dict[str, float] | None = None


class AncEndpoint(_Strict):
    variable: str  # absolute neutrophil count (10^9/L); nadir over the scan grid
    grade4_below: float = Field(default=0.5, gt=0)  # CTCAE grade 4 neutropenia: ANC < 0.5


class ModelSimulatorConfig(_Strict):
    kind: Literal["model"] = "model"
    model: str  # path to .ant / .xml / .sbml, relative to the trial file
    burden: list[str] = Field(min_length=1)
    diameter: Diameter = Field(default_factory=Diameter)
    progression_reference: Literal["nadir", "baseline"] = "nadir"
    split: Split | None = None
    anc: AncEndpoint | None = None
    cd8_memory: MemoryEndpoint | None = None
    trajectory_variables: list[str] | None = None  # default: the burden names
    rtol: float = Field(default=1e-6, gt=0, lt=1)
    atol: float = Field(default=1e-9, gt=0)
    max_steps: int = Field(default=200_000, ge=1)


class Dosing(_Strict):
    """A bolus of ``amount`` into ``state`` every ``every_days``, ``doses`` times."""

    state: str
    amount: float
    every_days: float = Field(gt=0)
    doses: int = Field(ge=1, le=10_000)
    start_day: float = Field(default=0.0, ge=0)


class ModelArm(_Strict):
    name: str
    description: str = ""
    parameters: dict[str, float] = Field(default_factory=dict)
    dosing: list[Dosing] = Field(default_factory=list)

    @model_validator(mode="after")
    def _finite(self) -> ModelArm:
        for k, v in self.parameters.items():
            if not np.isfinite(v):
                raise TrialSpecError(f"parameters.{k}: must be finite, got {v}")
        return self


_COMPILED: dict[tuple[str, str], CompiledModel] = {}


def scan_times(horizon: float, interval: float) -> np.ndarray:
    """0, interval, 2·interval, … and the horizon itself (the last scan)."""
    t = np.arange(0.0, horizon, interval)
    return np.append(t, horizon) if t[-1] < horizon else t


class ModelSimulator:
    """Generic simulator: one compiled model, arms as overrides and bolus schedules."""

    def __init__(
        self,
        model_text: str,
        model_format: str,
        config: ModelSimulatorConfig,
        arms: list[ModelArm],
        horizon_days: float,
        scan_interval_days: float,
        trajectories_first: int = 0,
    ) -> None:
        self.model_text = model_text
        self.model_format = model_format
        self.config = config
        self.arms = {a.name: a for a in arms}
        self.times = scan_times(horizon_days, scan_interval_days)
        self.trajectories_first = trajectories_first
        self._compiled: CompiledModel | None = None
        self._check_names()

    # Compiled code is process-local: drop it when pickled, rebuild (from the disk cache).
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_compiled"] = None
        state.pop("_twin_cache", None)
        return state

    @property
    def compiled(self) -> CompiledModel:
        if self._compiled is None:
            key = (hashlib.sha256(self.model_text.encode()).hexdigest(), self.model_format)
            # Per-process cache: a long-lived (Dask) worker unpickles a fresh simulator for
            # every trial; parsing and flattening the model again would cost it seconds.
            compiled = _COMPILED.get(key)
            if compiled is None:
                from mdrsim.io import load_model

                compiled = compile_model(load_model(self.model_text, format=self.model_format))
                _COMPILED[key] = compiled
            self._compiled = compiled
        return self._compiled

    def _check_names(self) -> None:
        c = self.compiled
        variables = [*c.state_names, *c.output_names]
        cfg = self.config

        def need(name: str, allowed: list[str], where: str) -> None:
            if name not in allowed:
                shown = ", ".join(allowed) if len(allowed) <= 40 else f"{len(allowed)} names"
                raise TrialSpecError(f"{where}: {name!r} is not in the model; allowed: {shown}")

        for i, b in enumerate(cfg.burden):
            need(b, variables, f"simulator.burden[{i}]")
        for i, v in enumerate(cfg.trajectory_variables or []):
            need(v, variables, f"simulator.trajectory_variables[{i}]")
        if cfg.anc:
            need(cfg.anc.variable, variables, "simulator.anc.variable")
        if cfg.cd8_memory:
            need(cfg.cd8_memory.variable, variables, "simulator.cd8_memory.variable")
            for p in cfg.cd8_memory.untreated or {}:
                need(p, [*c.parameter_names, *c.state_names], f"simulator.cd8_memory.untreated.{p}")
        if cfg.split:
            need(cfg.split.resistant, c.state_names, "simulator.split.resistant")
            need(cfg.split.sensitive, c.state_names, "simulator.split.sensitive")
        settable = [*c.parameter_names, *c.state_names]
        for k, arm in enumerate(self.arms.values()):
            for p in arm.parameters:
                need(p, settable, f"arms[{k}].parameters.{p}")
            for j, d in enumerate(arm.dosing):
                need(d.state, c.state_names, f"arms[{k}].dosing[{j}].state")

    def required_population_names(self) -> dict[str, str]:
        """Names the population must sample → the field that needs them."""
        s = self.config.split
        if s is None:
            return {}
        return {s.fraction: "simulator.split.fraction", s.total: "simulator.split.total"}

    # -- Simulator protocol -----------------------------------------------------------------
    def arm_names(self) -> list[str]:
        return list(self.arms)

    def parameter_names(self) -> list[str]:
        c = self.compiled
        extra = [self.config.split.fraction, self.config.split.total] if self.config.split else []
        return [*c.parameter_names, *c.state_names, *extra]

    def physical_bounds(self) -> dict[str, PhysicalBound]:
        """The ranges the model declares (a parameter's ``domain`` or ``bounds``, a species'
        ``domain``/``non_negative``); a species without one is sampled >= 0 (an initial amount
        or concentration of a trial patient); the split's fraction in [0, 1] and total >= 0."""
        c = self.compiled
        out: dict[str, PhysicalBound] = {}
        for name in [*c.parameter_names, *c.state_names]:
            declared = c.model.domain_of(name)
            if declared is not None:
                if declared.upper_name in c.model.defined_names():
                    upper = c.model.value_of(str(declared.upper_name))
                    declared = dataclasses.replace(declared, upper=upper)
                out[name] = declared
            elif name in c.model.species:
                out[name] = PhysicalBound(0.0, why="a species amount or concentration")
        if self.config.split:
            s = self.config.split
            out[s.fraction] = PhysicalBound(0.0, 1.0, why="simulator.split.fraction")
            out[s.total] = PhysicalBound(0.0, why="simulator.split.total")
        return out

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "model",
            "model_sha256": hashlib.sha256(self.model_text.encode()).hexdigest(),
            "compiled_key": self.compiled.key,
            "mdrsim_version": __version__,
            "config": self.config.model_dump(mode="json"),
            "arms": {k: a.model_dump(mode="json") for k, a in self.arms.items()},
            "scan_times": self.times.tolist(),
        }

    def simulate_chunk(self, arm: str, patients: pd.DataFrame) -> ChunkOutput:
        if arm not in self.arms:
            raise TrialSpecError(f"arm {arm!r} is not one of {', '.join(self.arms)}")
        spec = self.arms[arm]
        result = self._run(patients, spec.parameters, spec.dosing)
        twin = None
        if self.config.cd8_memory and self.config.cd8_memory.untreated is not None:
            twin = self._twin_memory(patients)
        return ChunkOutput(
            self._endpoints(arm, patients, result, twin),
            self._trajectories(arm, patients, result),
        )

    def _run(
        self, patients: pd.DataFrame, overrides: dict[str, float], dosing: list[Dosing]
    ) -> Any:
        c = self.compiled
        n = len(patients)
        params: dict[str, np.ndarray | float] = {}
        initial: dict[str, np.ndarray | float] = {}
        for col in patients.columns:
            if col in c.parameter_names:
                params[col] = patients[col].to_numpy(dtype=float)
            elif col in c.state_names:
                initial[col] = patients[col].to_numpy(dtype=float)
        if self.config.split:
            s = self.config.split
            f = patients[s.fraction].to_numpy(dtype=float)
            total = patients[s.total].to_numpy(dtype=float)
            initial[s.resistant] = f * total
            initial[s.sensitive] = (1.0 - f) * total
        # The arm wins over the population for a name both set (e.g. a fixed dose).
        for name, v in overrides.items():
            (params if name in c.parameter_names else initial)[name] = float(v)
        events = EventTable()
        for d in dosing:
            for j in range(d.doses):
                t = d.start_day + j * d.every_days
                if t <= self.times[-1]:
                    events.bolus(t, d.state, d.amount)
        return simulate(
            c,
            self.times,
            params=params,
            initial=initial,
            n_patients=n,
            events=events,
            rtol=self.config.rtol,
            atol=self.config.atol,
            max_steps=self.config.max_steps,
            workers=1,  # parallelism is across chunks; threads here would oversubscribe
        )

    def _twin_memory(self, patients: pd.DataFrame) -> np.ndarray:
        """Memory at the horizon of each patient's untreated twin (cached for the chunk:
        every arm of a chunk has the same patients)."""
        assert self.config.cd8_memory is not None
        ids = patients["patient"].to_numpy(dtype=np.int64)
        cache = getattr(self, "_twin_cache", None)
        if cache is not None and np.array_equal(cache[0], ids):
            return np.asarray(cache[1])
        r = self._run(patients, dict(self.config.cd8_memory.untreated or {}), [])
        mem = r[self.config.cd8_memory.variable][:, -1].copy()
        mem[r.status != 0] = np.nan
        self._twin_cache = (ids, mem)
        return mem

    # -- endpoints --------------------------------------------------------------------------
    def _endpoints(
        self, arm: str, patients: pd.DataFrame, result: Any, twin: np.ndarray | None
    ) -> pd.DataFrame:
        cfg = self.config
        n = len(patients)
        burden = np.zeros((n, self.times.size))
        for name in cfg.burden:
            burden += result[name]
        failures = result.failures()
        status = np.full(n, STATUS_OK, dtype=object)
        reason = np.full(n, "", dtype=object)
        pfs = np.full(n, np.nan)
        event = np.zeros(n, dtype=bool)
        best = np.full(n, None, dtype=object)
        change = np.full(n, np.nan)
        diam = diameter_mm(
            burden,
            reference_burden=cfg.diameter.reference_burden,
            reference_mm=cfg.diameter.reference_mm,
        )
        for i in range(n):
            if i in failures:
                status[i], reason[i] = STATUS_FAILED, f"solver: {failures[i]}"
                continue
            # Round-off within the solver tolerance may leave a cleared tumour a hair below
            # zero (diameter_mm clamps it at 0); a clearly negative burden is a model error.
            tol = 1e-6 * max(1.0, float(np.abs(burden[i, 0])))
            if not np.all(np.isfinite(burden[i])) or np.any(burden[i] < -tol):
                status[i], reason[i] = STATUS_FAILED, "tumour burden not finite or negative"
                continue
            if diam[i, 0] <= 0:
                status[i], reason[i] = STATUS_FAILED, "baseline tumour burden is zero"
                continue
            try:
                a = classify(self.times, diam[i], progression_reference=cfg.progression_reference)
            except (ValueError, MdrsimError) as exc:
                status[i], reason[i] = STATUS_FAILED, f"RECIST: {exc}"
                continue
            best[i] = str(a.best_response)
            if a.progression_time is None:
                pfs[i], event[i] = self.times[-1], False
                last = self.times.size
            else:
                pfs[i], event[i] = a.progression_time, True
                last = int(np.searchsorted(self.times, a.progression_time)) + 1
            change[i] = float(np.min(diam[i, 1:last] / diam[i, 0] - 1.0) * 100.0)
        ok = status == STATUS_OK
        df = pd.DataFrame(
            {
                Endpoint.PATIENT: patients["patient"].to_numpy(dtype=np.int64),
                Endpoint.ARM: arm,
                Endpoint.STATUS: status,
                Endpoint.REASON: reason,
                Endpoint.PFS_DAYS: pd.array(np.where(ok, pfs, np.nan), dtype="Float64"),
                Endpoint.PFS_EVENT: pd.array(event, dtype="boolean"),
                Endpoint.BEST_RESPONSE: best,
                Endpoint.BEST_CHANGE_PCT: pd.array(change, dtype="Float64"),
            }
        )
        for col in (Endpoint.PFS_DAYS, Endpoint.PFS_EVENT, Endpoint.BEST_CHANGE_PCT):
            df.loc[~ok, col] = pd.NA
        if cfg.anc:
            nadir = np.nanmin(result[cfg.anc.variable], axis=1)
            df[Endpoint.ANC_NADIR] = pd.array(np.where(ok, nadir, np.nan), dtype="Float64")
            df[Endpoint.GRADE4_NEUTROPENIA] = pd.array(
                nadir < cfg.anc.grade4_below, dtype="boolean"
            )
            df.loc[~ok, [Endpoint.ANC_NADIR, Endpoint.GRADE4_NEUTROPENIA]] = pd.NA
        if cfg.cd8_memory:
            mem = result[cfg.cd8_memory.variable][:, -1]
            df[Endpoint.CD8_MEMORY] = pd.array(mem, dtype="Float64")
            df.loc[~ok, Endpoint.CD8_MEMORY] = pd.NA
            if twin is not None:
                with np.errstate(divide="ignore", invalid="ignore"):
                    ratio = np.where(ok & (twin > 0), mem / twin, np.nan)
                df[Endpoint.CD8_MEMORY_RATIO] = pd.array(ratio, dtype="Float64")
                df.loc[np.isnan(ratio), Endpoint.CD8_MEMORY_RATIO] = pd.NA
        df["tumour_burden_final"] = np.where(ok, burden[:, -1], np.nan)
        return conform_endpoints(df)

    def _trajectories(self, arm: str, patients: pd.DataFrame, result: Any) -> pd.DataFrame | None:
        ids = patients["patient"].to_numpy(dtype=np.int64)
        keep = np.flatnonzero(ids < self.trajectories_first)
        if keep.size == 0:
            return None
        names = self.config.trajectory_variables or self.config.burden
        frames = []
        for name in names:
            v = result[name][keep]  # [k, t]
            frames.append(
                pd.DataFrame(
                    {
                        "patient": np.repeat(ids[keep], self.times.size),
                        "arm": arm,
                        "time": np.tile(self.times, keep.size),
                        "variable": name,
                        "value": v.reshape(-1),
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)


def _validate(model: type[BaseModel], data: Any, prefix: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise TrialSpecError(format_validation_error(exc, prefix)) from None


def model_simulator_factory(context: SimulatorContext) -> ModelSimulator:
    """Build a :class:`ModelSimulator` from the trial file's ``simulator:`` and ``arms:``."""
    config: ModelSimulatorConfig = _validate(
        ModelSimulatorConfig, dict(context.config), "simulator"
    )
    arms = [_validate(ModelArm, dict(a), f"arms[{i}]") for i, a in enumerate(context.arms)]
    path = Path(config.model)
    if not path.is_absolute():
        path = context.base_dir / path
    if not path.is_file():
        raise TrialSpecError(f"simulator.model: file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    fmt = "antimony" if suffix in (".ant", ".txt") else "sbml"
    return ModelSimulator(
        path.read_text(),
        fmt,
        config,
        arms,
        context.horizon_days,
        context.scan_interval_days,
        context.trajectories_first,
    )


register_simulator("model", model_simulator_factory)
