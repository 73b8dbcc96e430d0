"""Run a trial: sample each chunk's patients once, simulate them in every arm, store.

The runner reports progress through a callback (the CLI draws the progress bar) and never
holds more than the in-flight chunks in memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mdrsim import __version__
from mdrsim.trial.endpoints import STATUS_FAILED, STATUS_OK, Endpoint
from mdrsim.trial.errors import TrialSpecError
from mdrsim.trial.executors import Executor, LocalExecutor
from mdrsim.trial.population import BOOKKEEPING_COLUMNS, Population
from mdrsim.trial.simulator import (
    ChunkOutput,
    Simulator,
    SimulatorContext,
    build_simulator,
    conform_endpoints,
)
from mdrsim.trial.spec import TrialSpec
from mdrsim.trial.store import TrialStore, n_chunks

#: Most virtual patients of one trial (per arm).
MAX_PATIENTS = 10_000_000
#: Most patients in one chunk (a chunk is held in memory).
MAX_CHUNK_SIZE = 100_000


@dataclass
class TrialPlan:
    """A validated trial, its simulator and its population sampler."""

    spec: TrialSpec
    simulator: Simulator
    population: Population

    @classmethod
    def from_spec(cls, spec: TrialSpec, base_dir: str | Path = ".") -> TrialPlan:
        ctx = SimulatorContext(
            config=spec.simulator,
            arms=[a.model_dump() for a in spec.arms],
            base_dir=Path(base_dir),
            horizon_days=spec.horizon_days,
            scan_interval_days=spec.scan_interval_days,
            trajectories_first=spec.trajectories_first,
        )
        sim = build_simulator(ctx)
        allowed = set(sim.parameter_names())
        for name in spec.population.parameters:
            if name not in allowed:
                shown = ", ".join(sorted(allowed)) if len(allowed) <= 60 else "see the model"
                raise TrialSpecError(
                    f"population.parameters.{name}: not a name the simulator takes "
                    f"(put free covariates under population.covariates); allowed: {shown}"
                )
        # Optional hook: names a simulator cannot run without (e.g. the model simulator's
        # split of the initial tumour) must be sampled, or every chunk would fail later.
        required = getattr(sim, "required_population_names", None)
        if required is not None:
            sampled = set(spec.population.variable_names)
            for name, field_path in required().items():
                if name not in sampled:
                    raise TrialSpecError(
                        f"{field_path}: {name!r} must be sampled under population.parameters "
                        "or population.covariates"
                    )
        # Optional hook: physical bounds of the names a population may sample (a clearance is
        # > 0, a fraction in [0, 1], a tumour below its carrying capacity), from the model's
        # metadata and the library. Checked at sampling time (refused or truncated).
        bounds_of = getattr(sim, "physical_bounds", None)
        physical = {}
        if bounds_of is not None:
            sampled = set(spec.population.variable_names)
            physical = {k: b for k, b in bounds_of().items() if k in sampled}
        return cls(spec, sim, Population(spec.population, spec.seed, physical))

    @classmethod
    def from_file(cls, path: str | Path) -> TrialPlan:
        from mdrsim.trial.spec import load_trial

        spec, base = load_trial(path)
        return cls.from_spec(spec, base)


@dataclass
class ChunkJob:
    """What every worker needs (sent once per worker)."""

    population: Population
    simulator: Simulator
    arms: list[str]
    n_patients: int
    chunk_size: int


@dataclass
class ChunkResult:
    chunk: int
    patients: pd.DataFrame
    endpoints: dict[str, pd.DataFrame]
    trajectories: dict[str, pd.DataFrame | None]
    seconds: float


def run_chunk(job: ChunkJob, chunk: int) -> ChunkResult:
    """Sample chunk ``chunk``'s patients and simulate them in every arm (paired design)."""
    start = time.perf_counter()
    lo = chunk * job.chunk_size
    hi = min(job.n_patients, lo + job.chunk_size)
    patients = job.population.sample(np.arange(lo, hi, dtype=np.int64))
    inputs = patients.drop(columns=list(BOOKKEEPING_COLUMNS))
    endpoints: dict[str, pd.DataFrame] = {}
    trajectories: dict[str, pd.DataFrame | None] = {}
    for arm in job.arms:
        ep, out = simulate_arm(job.simulator, arm, patients, inputs, f"chunk {chunk}")
        endpoints[arm] = ep
        trajectories[arm] = out.trajectories
    return ChunkResult(chunk, patients, endpoints, trajectories, time.perf_counter() - start)


#: Endpoints that cannot physically be negative (days, cell counts, ratios of counts); the
#: diameter change cannot go below -100 %.
_NON_NEGATIVE = (
    Endpoint.PFS_DAYS, Endpoint.TTF_LINE1_DAYS, Endpoint.ANC_NADIR,
    Endpoint.INFECTION_CLEARANCE_DAY, Endpoint.CD8_MEMORY, Endpoint.CD8_MEMORY_RATIO,
)  # fmt: skip


def simulate_arm(
    simulator: Simulator, arm: str, patients: pd.DataFrame, inputs: pd.DataFrame, where: str
) -> tuple[pd.DataFrame, ChunkOutput]:
    """One arm's endpoints for ``patients`` (one row each, in order, checked), with every
    physically impossible "ok" patient marked failed — the one path from a simulator to
    endpoints, shared by the trial runner and population fitting (mdrsim.fit.vpop)."""
    out: ChunkOutput = simulator.simulate_chunk(arm, inputs.copy())
    ep = conform_endpoints(out.endpoints, arm)
    if len(ep) != len(patients) or not np.array_equal(
        ep["patient"].to_numpy(), patients["patient"].to_numpy()
    ):
        raise TrialSpecError(
            f"simulator returned {len(ep)} endpoint rows for arm {arm!r}, {where}; "
            f"expected one per patient ({len(patients)}) in the same order"
        )
    return fail_impossible(ep), out


def fail_impossible(ep: pd.DataFrame) -> pd.DataFrame:
    """Mark failed (with the reason) every "ok" patient whose endpoints left physical bounds:
    a negative day, count or ratio, an infinite value, a diameter change below -100 %.
    A patient whose state went impossible is never counted as ok."""
    ok = (ep[Endpoint.STATUS] == STATUS_OK).to_numpy(dtype=bool)
    if not ok.any():
        return ep
    reasons = pd.Series("", index=ep.index, dtype=object)
    checks: list[tuple[str, float]] = [(c, 0.0) for c in _NON_NEGATIVE]
    checks.append((Endpoint.BEST_CHANGE_PCT, -100.0))
    for col, lowest in checks:
        if col not in ep.columns:
            continue
        v = pd.to_numeric(ep[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            bad = ok & (np.isinf(v) | (v < lowest - 1e-9 * max(1.0, abs(lowest))))
        for i in np.flatnonzero(bad):
            reasons.iloc[i] += f"{col} = {v[i]:g} is physically impossible (< {lowest:g}); "
    bad_rows = reasons != ""
    if not bad_rows.any():
        return ep
    ep = ep.copy()
    ep.loc[bad_rows, Endpoint.STATUS] = STATUS_FAILED
    ep.loc[bad_rows, Endpoint.REASON] = (
        "physical bounds: " + reasons[bad_rows].str.rstrip("; ")
    ).to_numpy()
    return ep


@dataclass(frozen=True)
class Progress:
    """Passed to the progress callback after each stored chunk."""

    chunks_done: int
    chunks_total: int
    patients_done: int
    patients_total: int
    chunks_skipped: int  # already in the store when the run started (resume)


@dataclass
class TrialRun:
    out: Path
    manifest: dict[str, Any]
    resumed: bool
    chunks_run: int
    chunks_skipped: int
    patients_run: int  # patients simulated by this call (each in every arm)
    seconds: float
    store: TrialStore = field(repr=False)
    #: What the store's self-check did on resume: chunks recomputed (and why), strays ignored.
    repairs: list[str] = field(default_factory=list)

    @property
    def patients_per_second(self) -> float:
        return self.patients_run / self.seconds if self.seconds > 0 else float("nan")


def manifest_for(plan: TrialPlan, n_patients: int, chunk_size: int) -> dict[str, Any]:
    return {
        "name": plan.spec.name,
        "spec_hash": plan.spec.spec_hash(),
        "spec": plan.spec.model_dump(mode="json"),
        "seed": plan.spec.seed,
        "chunk_size": chunk_size,
        "n_patients": n_patients,
        "n_chunks": n_chunks(n_patients, chunk_size),
        "arms": [a.name for a in plan.spec.arms],
        "control_arm": plan.spec.arms[0].name,
        "variables": plan.population.names,
        "trajectories_first": plan.spec.trajectories_first,
        "simulator": plan.simulator.describe(),
        "mdrsim_version": __version__,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def run_trial(
    plan: TrialPlan,
    n_patients: int,
    out: str | Path,
    *,
    chunk_size: int = 2000,
    executor: Executor | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> TrialRun:
    """Run (or resume) ``plan`` for ``n_patients`` into directory ``out``.

    A directory holding the same trial (same manifest identity) resumes: chunks already stored
    are skipped. A directory holding another trial raises
    :class:`~mdrsim.trial.errors.TrialStoreError`.
    """
    if not 1 <= n_patients <= MAX_PATIENTS:
        raise TrialSpecError(f"--patients must be between 1 and {MAX_PATIENTS:,}, got {n_patients}")
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise TrialSpecError(
            f"--chunk-size must be between 1 and {MAX_CHUNK_SIZE:,}, got {chunk_size}"
        )
    store = TrialStore(out)
    manifest = manifest_for(plan, n_patients, chunk_size)
    resumed = store.open(manifest)
    arms = manifest["arms"]
    total = manifest["n_chunks"]
    # The store checks itself: recorded chunks whose files match their hashes are kept;
    # missing, damaged or unrecorded ones are recomputed; stray files are ignored.
    check = store.check(deep=True)
    if not isinstance(store.read_manifest().get("chunks"), dict):
        check.bad = dict.fromkeys(range(total), "written by an older mdrsim, unverified")
        check.good = []
    todo = sorted(check.bad)
    repairs = [
        f"recomputed chunk {c}: {why}"
        for c, why in sorted(check.bad.items())
        if why != "not stored"
    ]
    if check.strays:
        repairs += [n for n in check.notes() if n.startswith("ignored")]
    if todo:
        store.forget_chunks(todo)
    skipped = total - len(todo)
    job = ChunkJob(plan.population, plan.simulator, arms, n_patients, chunk_size)
    executor = executor or LocalExecutor(workers=1)
    start = time.perf_counter()
    done = skipped
    # Patients in the chunks already stored (the last chunk may be a partial one).
    todo_set = set(todo)
    patients_done = sum(
        min(chunk_size, n_patients - c * chunk_size) for c in range(total) if c not in todo_set
    )
    if progress is not None:
        progress(Progress(done, total, patients_done, n_patients, skipped))
    patients_run = 0
    for chunk, result in executor.map_chunks(run_chunk, job, todo):
        store.write_chunk(chunk, result.patients, result.endpoints, result.trajectories)
        done += 1
        patients_done += len(result.patients)
        patients_run += len(result.patients)
        if progress is not None:
            progress(Progress(done, total, patients_done, n_patients, skipped))
    seconds = time.perf_counter() - start
    store.mark_complete({"executor": executor.describe(), "run_seconds": seconds})
    return TrialRun(
        Path(out), store.read_manifest(), resumed, len(todo), skipped, patients_run, seconds,
        store, repairs,
    )  # fmt: skip
