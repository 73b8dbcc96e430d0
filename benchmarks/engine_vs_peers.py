"""mdrsim's RODAS4 engine against libroadrunner (CVODE) and scipy on the shared reference model.

Protocol (docs/benchmarks.md; the model ships with mdrsim as the example
``trial_reference_model``, ``src/mdrsim/examples/trial_reference_model.ant``):

* Model: 10-state tumour / MDR1 / chemotherapy / CD8 model with 17 bolus doses over 365 days.
* Tolerances: rtol 1e-6, atol 1e-9 for every state (libroadrunner gets a per-state list, because
  a scalar absolute tolerance is rescaled per state there).
* Virtual patients: ``numpy.random.default_rng(2024)``; for each parameter of
  :data:`PERTURBED`, in that order, ``n`` standard normals are drawn (one call per parameter)
  and patient ``i`` gets ``nominal * exp(0.25 * z[i])``. Patient 0 is nominal: its ``n`` draws
  are made like everybody else's and then overwritten by factor 1.0, so patient ``i >= 1`` has
  the same values as in a protocol that perturbs every patient. The values depend on ``n``
  (parameter ``k`` uses draws ``k*n .. k*n+n-1``), so compare runs with the same ``--patients``.
* Output: the final tumour ``Ts + Tr`` at day 365 for every patient.
* Accuracy: relative error ``|x - ref| / max(|ref|, 1e-9)`` (floor: one tumour cell, = atol;
  many patients end with an eradicated tumour of 1e-323..1e-9, whose relative error is
  meaningless) against (a) scipy Radau at rtol 1e-10 / atol 1e-13 on a subset
  (every ``n // N``-th patient, ``--reference-patients N``, cached in ``benchmarks/.cache``) and
  (b) mdrsim RODAS4 at rtol 1e-11 / atol 1e-14 for every patient, itself validated against (a).

Every row is timed in this one process run on the same patients, best of ``--repeats`` runs.
Model loading / compilation is reported separately (cold and warm, each in a fresh subprocess).
The machine may be shared: each row also records how much CPU *other* processes used while it
ran (from ``/proc/stat``), so disturbed numbers can be spotted.

Run: ``.venv/bin/python benchmarks/engine_vs_peers.py [--patients 1000] [--json out.json]``.
Exit status 1 if any mdrsim patient failed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from mdrsim.examples import example_path

HERE = Path(__file__).resolve().parent
DEFAULT_MODEL = example_path("trial_reference_model")  # the one copy in the project
CACHE_DIR = HERE / ".cache"

PERTURBED: tuple[str, ...] = (
    "r_s",
    "r_r",
    "K_T",
    "mu_sr",
    "k_el",
    "Vmax_s",
    "Emax",
    "EC50",
    "k_elI",
    "Ki",
    "K_IE",
    "K_A",
    "rho_E",
    "K_E",
    "q_in",
    "d_kill",
    "s_kill",
)
SEED = 2024
SIGMA = 0.25
T_END = 365.0
RTOL = 1e-6
ATOL = 1e-9
RR_TIGHT_RTOL = 1e-8
RADAU_RTOL = 1e-10
RADAU_ATOL = 1e-13
TIGHT_RTOL = 1e-11
TIGHT_ATOL = 1e-14
TIGHT_MAX_STEPS = 50_000_000
OUTPUT = ("Ts", "Tr")
#: Error floor: one tumour cell (units are 10⁹ cells), equal to the protocol's atol. A quarter
#: of the patients end with a tumour of 1e-323..1e-9 (eradicated); a relative error of such
#: a number says nothing, so errors are |x - ref| / max(|ref|, FLOOR).
FLOOR = 1e-9


def _plain_atol() -> Any:
    """The protocol's tolerance: atol the same number for every state, not scaled per state
    (mdrsim's default scales a scalar atol by each state's magnitude since issue 14)."""
    from mdrsim.engine import SolverOptions

    return SolverOptions(atol_scaling="none")


PLAIN_ATOL = _plain_atol()

Params = dict[str, np.ndarray]


# --------------------------------------------------------------------------- patients, model


def virtual_patients(nominal: dict[str, float], n: int, seed: int = SEED) -> Params:
    """The protocol's parameter sets: one array of ``n`` values per perturbed parameter."""
    rng = np.random.default_rng(seed)
    out: Params = {}
    for name in PERTURBED:
        factor = np.exp(SIGMA * rng.standard_normal(n))
        factor[0] = 1.0  # patient 0 is nominal
        out[name] = nominal[name] * factor
    return out


def subset(params: Params, indices: np.ndarray) -> Params:
    return {k: v[indices] for k, v in params.items()}


def reference_indices(n: int, count: int) -> np.ndarray:
    """Every ``n // count``-th patient (0, 20, 40, ... for 1000 patients and 50)."""
    count = max(1, min(count, n))
    return np.arange(0, n, max(1, n // count))[:count]


def describe_indices(indices: np.ndarray) -> str:
    if indices.size < 2:
        return f"patient {int(indices[0])}"
    return f"every {int(indices[1] - indices[0])}th from 0"


def antimony_to_sbml(text: str) -> str:
    import antimony

    antimony.clearPreviousLoads()
    if antimony.loadAntimonyString(text) < 0:
        raise RuntimeError(f"antimony cannot read the model: {antimony.getLastError()}")
    return str(antimony.getSBMLString(antimony.getMainModuleName()))


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tumour(result: Any) -> np.ndarray:
    """Final ``Ts + Tr`` of an mdrsim Result (NaN for failed patients)."""
    return np.asarray(sum(result.final(name) for name in OUTPUT), dtype=float)


# --------------------------------------------------------------------------- timing helpers


def _proc_stat_busy() -> float | None:
    """Seconds of CPU time used by everything on the machine so far (None off Linux)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


@dataclass
class Timing:
    """Wall time of a measured block, and the CPU other processes used meanwhile (cores)."""

    wall: float = 0.0
    other_cores: float | None = None


@contextmanager
def timed(own_cpu: Callable[[], float] = time.process_time) -> Iterator[Timing]:
    """Time a block; ``other_cores`` = (machine CPU - this run's CPU) / wall time.

    ``own_cpu`` must count every thread/process doing the measured work; for worker
    processes the caller corrects ``other_cores`` itself (see :func:`run_roadrunner_parallel`).
    """
    timing = Timing()
    busy0, cpu0, t0 = _proc_stat_busy(), own_cpu(), time.perf_counter()
    yield timing
    timing.wall = time.perf_counter() - t0
    busy1, cpu1 = _proc_stat_busy(), own_cpu()
    if busy0 is not None and busy1 is not None and timing.wall > 0:
        timing.other_cores = max(0.0, (busy1 - busy0 - (cpu1 - cpu0)) / timing.wall)


def best_of(repeats: int, fn: Callable[[], tuple[Timing, Any]]) -> tuple[Timing, Any, list[float]]:
    """Run ``fn`` ``repeats`` times; keep the fastest run (its timing and its output)."""
    runs = [fn() for _ in range(max(1, repeats))]
    best = min(runs, key=lambda r: r[0].wall)
    return best[0], best[1], [r[0].wall for r in runs]


# --------------------------------------------------------------------------- rows


@dataclass
class Row:
    """One measured engine configuration."""

    engine: str
    seconds: float
    indices: np.ndarray
    values: np.ndarray
    notes: list[str] = field(default_factory=list)
    all_seconds: list[float] = field(default_factory=list)
    other_cores: float | None = None
    failures: int = 0
    is_mdrsim: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.indices.size)

    @property
    def ms_per_patient(self) -> float:
        return 1e3 * self.seconds / self.n

    @property
    def patients_per_s(self) -> float:
        return self.n / self.seconds


def mdrsim_row(cm: Any, params: Params, workers: int, repeats: int) -> Row:
    from mdrsim.engine import simulate

    n = len(next(iter(params.values())))

    def once() -> tuple[Timing, Any]:
        with timed() as t:
            r = simulate(
                cm,
                [0.0, T_END],
                params=params,
                options=PLAIN_ATOL,
                rtol=RTOL,
                atol=ATOL,
                workers=workers,
            )
        return t, r

    timing, r, walls = best_of(repeats, once)
    failed = int(np.count_nonzero(r.status))
    steps = r.stats[:, 3]
    row = Row(
        f"mdrsim RODAS4, {workers} worker{'s' if workers > 1 else ''}"
        + (" (threads)" if workers > 1 else ""),
        timing.wall,
        np.arange(n),
        tumour(r),
        all_seconds=walls,
        other_cores=timing.other_cores,
        failures=failed,
        is_mdrsim=True,
        extra={
            "mean_accepted_steps": float(steps.mean()),
            "max_accepted_steps": float(steps.max()),
            "mean_rejected_steps": float(r.stats[:, 4].mean()),
            "mean_rhs_calls": float(r.stats[:, 6].mean()),
        },
    )
    row.notes.append(f"{steps.mean():.0f} accepted steps/patient")
    if failed:
        row.notes.append(f"{failed} FAILED: {dict(list(r.failures().items())[:3])}")
    return row


def scipy_row(cm: Any, params: Params, indices: np.ndarray, method: str) -> Row:
    """scipy through mdrsim's reference path (numba RHS, analytic Jacobian except LSODA)."""
    from mdrsim.engine import simulate

    with timed() as t:
        r = simulate(
            cm,
            [0.0, T_END],
            params=subset(params, indices),
            options=PLAIN_ATOL,
            rtol=RTOL,
            atol=ATOL,
            method=method,  # type: ignore[arg-type]
        )
    failed = int(np.count_nonzero(r.status))
    row = Row(
        f"scipy {method.split('-')[1].upper()} (mdrsim scipy path)",
        t.wall,
        indices,
        tumour(r),
        all_seconds=[t.wall],
        other_cores=t.other_cores,
        failures=failed,
    )
    row.notes.append(f"{describe_indices(indices)} only (too slow for all); numba RHS, one run")
    if failed:
        row.notes.append(f"{failed} failed")
    return row


# --------------------------------------------------------------------------- libroadrunner

_RR: Any = None  # the RoadRunner of this (worker) process


def make_roadrunner(sbml: str, rtol: float, atol: float) -> Any:
    """A RoadRunner with CVODE at ``rtol`` and a per-state absolute tolerance list."""
    import roadrunner

    rr = roadrunner.RoadRunner(sbml)
    n_states = rr.model.getNumFloatingSpecies() + rr.model.getNumRateRules()
    rr.integrator.relative_tolerance = rtol
    rr.integrator.absolute_tolerance = [atol] * n_states  # a list: not rescaled per state
    rr.integrator.maximum_num_steps = 1_000_000
    rr.timeCourseSelections = ["time", *OUTPUT]
    return rr


def roadrunner_patients(rr: Any, names: Sequence[str], values: np.ndarray) -> np.ndarray:
    """Simulate each row of ``values`` (one column per name); final Ts + Tr, NaN on failure.

    ``reset()`` restores time, the state (here rate-rule variables) and the event triggers to
    the model's initial values but keeps parameters; every perturbed parameter is set for
    every patient, and nothing else is ever changed, so no patient inherits another's values.
    """
    ids = list(rr.model.getGlobalParameterIds())
    index = np.array([ids.index(name) for name in names], dtype=np.int32)
    out = np.full(values.shape[0], np.nan)
    for i in range(values.shape[0]):
        rr.reset()
        rr.model.setGlobalParameterValues(index, values[i])
        try:
            res = rr.simulate(0.0, T_END, 2)
        except RuntimeError:
            continue
        out[i] = res[-1, 1] + res[-1, 2]
    return out


def check_roadrunner(rr: Any, cm: Any, params: Params, mdrsim_patient0: float) -> list[str]:
    """Initial state is the model's, events fire, patient 0 agrees with mdrsim."""
    rr.reset()
    rr_y0 = np.array([rr[s] for s in cm.state_names])
    if not np.allclose(rr_y0, cm.default_initial_state(), rtol=1e-14, atol=0):
        raise RuntimeError(f"libroadrunner initial state {rr_y0} is not the model's")
    ids = list(rr.model.getGlobalParameterIds())
    nominal_rr = rr.model.getGlobalParameterValues(
        np.array([ids.index(p) for p in PERTURBED], dtype=np.int32)
    )
    nominal_md = np.array([params[p][0] for p in PERTURBED])
    if not np.allclose(nominal_rr, nominal_md, rtol=1e-14):
        raise RuntimeError("libroadrunner and mdrsim disagree on the nominal parameters")
    values = np.array([[params[p][0] for p in PERTURBED]] * 2)
    first, second = roadrunner_patients(rr, PERTURBED, values)
    rr.reset()
    rr.model.setGlobalParameterValues(
        np.array([ids.index(p) for p in PERTURBED], dtype=np.int32), values[0]
    )
    rr.timeCourseSelections = ["time", "Ip"]
    ip_end = rr.simulate(0.0, T_END, 2)[-1, 1]
    rr.timeCourseSelections = ["time", *OUTPUT]
    # Last dose (2.0) at day 357, first-order elimination k_elI: Ip(365) = 2 exp(-8 k_elI) + tail.
    expected_ip = 2.0 * np.exp(-8.0 * params["k_elI"][0])
    if not (first == second and abs(ip_end - expected_ip) < 0.01 * expected_ip):
        raise RuntimeError(f"libroadrunner events did not fire as expected (Ip(365)={ip_end})")
    rel = abs(first - mdrsim_patient0) / abs(mdrsim_patient0)
    if rel > 1e-2:
        raise RuntimeError(f"libroadrunner patient 0 {first} vs mdrsim {mdrsim_patient0}")
    return [f"checked: model's initial state, doses fire, patient 0 within {rel:.1e} of mdrsim"]


def _rr_worker_init(sbml: str, rtol: float, atol: float, barrier: Any) -> None:
    global _RR
    _RR = make_roadrunner(sbml, rtol, atol)
    barrier.wait()


def _rr_worker_run(values: np.ndarray) -> tuple[np.ndarray, float]:
    cpu0 = time.process_time()
    out = roadrunner_patients(_RR, PERTURBED, values)
    return out, time.process_time() - cpu0


def run_roadrunner_serial(sbml: str, params: Params, rtol: float, repeats: int) -> Row:
    rr = make_roadrunner(sbml, rtol, ATOL)
    values = np.column_stack([params[p] for p in PERTURBED])

    def once() -> tuple[Timing, Any]:
        with timed() as t:
            out = roadrunner_patients(rr, PERTURBED, values)
        return t, out

    timing, out, walls = best_of(repeats, once)
    failed = int(np.count_nonzero(~np.isfinite(out)))
    row = Row(
        f"libroadrunner CVODE, serial, rtol {rtol:g}",
        timing.wall,
        np.arange(len(out)),
        out,
        all_seconds=walls,
        other_cores=timing.other_cores,
        failures=failed,
    )
    if failed:
        row.notes.append(f"{failed} failed")
    return row


def run_roadrunner_parallel(sbml: str, params: Params, processes: int, repeats: int) -> Row:
    """One RoadRunner per process (spawned, built before timing); dynamic chunks of patients."""
    values = np.column_stack([params[p] for p in PERTURBED])
    chunks = np.array_split(values, 8 * processes)
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(processes + 1)
    with ctx.Pool(
        processes, initializer=_rr_worker_init, initargs=(sbml, RTOL, ATOL, barrier)
    ) as pool:
        barrier.wait()  # every worker has built its RoadRunner

        def once() -> tuple[Timing, Any]:
            with timed() as t:
                parts = pool.map(_rr_worker_run, chunks, chunksize=1)
            worker_cpu = sum(p[1] for p in parts)
            if t.other_cores is not None:
                t.other_cores = max(0.0, t.other_cores - worker_cpu / t.wall)
            return t, np.concatenate([p[0] for p in parts])

        timing, out, walls = best_of(repeats, once)
    failed = int(np.count_nonzero(~np.isfinite(out)))
    row = Row(
        f"libroadrunner CVODE, {processes} processes, rtol {RTOL:g}",
        timing.wall,
        np.arange(len(out)),
        out,
        all_seconds=walls,
        other_cores=timing.other_cores,
        failures=failed,
    )
    row.notes.append("multiprocessing, one RoadRunner per process")
    if failed:
        row.notes.append(f"{failed} failed")
    return row


# --------------------------------------------------------------------------- compile times

_PROBE = """
import json, time
t0 = time.perf_counter()
from mdrsim.engine import compile_model
from mdrsim.io import load_model
t1 = time.perf_counter()
model = load_model({path!r})
t2 = time.perf_counter()
cm = compile_model(model)
print(json.dumps({{"import_s": t1 - t0, "load_model_s": t2 - t1,
                  "compile_model_s": cm.compile_seconds}}))
"""


def compile_probe(model_path: Path, env_overrides: dict[str, str]) -> dict[str, float]:
    """``compile_model`` time in a fresh interpreter (nothing preloaded)."""
    env = {**os.environ, **env_overrides}
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE.format(path=str(model_path))],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def compile_times(model_path: Path) -> dict[str, dict[str, float]]:
    """Cold (fresh MDRSIM_CACHE_DIR), warm (same dir again) and fully cold (fresh numba cache
    too: a first run after installation; the engine kernel, declared with an explicit
    signature, is then compiled while ``mdrsim.engine`` is imported, so see ``import_s``)."""
    with tempfile.TemporaryDirectory(prefix="mdrsim_bench_") as tmp:
        cache = {"MDRSIM_CACHE_DIR": str(Path(tmp) / "mdrsim")}
        cold = compile_probe(model_path, cache)
        warm = compile_probe(model_path, cache)
        fresh = {
            "MDRSIM_CACHE_DIR": str(Path(tmp) / "mdrsim2"),
            "NUMBA_CACHE_DIR": str(Path(tmp) / "numba"),
        }
        first_ever = compile_probe(model_path, fresh)
    return {"cold": cold, "warm": warm, "cold_including_engine": first_ever}


# --------------------------------------------------------------------------- references

_WORKER_CM: Any = None


def _radau_worker(model_path: str, values: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    global _WORKER_CM
    from mdrsim.engine import compile_model, simulate
    from mdrsim.io import load_model

    if _WORKER_CM is None:
        _WORKER_CM = compile_model(load_model(model_path))
    r = simulate(
        _WORKER_CM,
        [0.0, T_END],
        params=values,
        options=PLAIN_ATOL,
        rtol=RADAU_RTOL,
        atol=RADAU_ATOL,
        method="scipy-radau",
    )
    return tumour(r), r.status


def radau_reference(
    model_path: Path, params: Params, indices: np.ndarray, processes: int, use_cache: bool
) -> tuple[np.ndarray, dict[str, Any]]:
    """scipy Radau (rtol 1e-10, atol 1e-13) on the subset, in ``processes`` processes, cached.

    The cache key hashes the model file, the subset's parameter values and indices, and the
    tolerances, so any change of protocol recomputes.
    """
    sub = subset(params, indices)
    key = hashlib.sha256()
    key.update(file_hash(model_path).encode())
    key.update(indices.astype(np.int64).tobytes())
    for name in PERTURBED:
        key.update(name.encode() + sub[name].tobytes())
    key.update(f"radau {RADAU_RTOL!r} {RADAU_ATOL!r} {T_END!r}".encode())
    path = CACHE_DIR / f"radau_{key.hexdigest()[:20]}.npz"
    if use_cache and path.exists():
        data = np.load(path)
        return data["values"], {
            "cached": str(path.relative_to(HERE.parent)),
            "seconds": float(data["seconds"]),
        }
    t0 = time.perf_counter()
    with ProcessPoolExecutor(processes, mp_context=mp.get_context("spawn")) as pool:
        futures = [
            pool.submit(_radau_worker, str(model_path), subset(sub, np.array([i])))
            for i in range(indices.size)
        ]
        parts = [f.result() for f in futures]
    seconds = time.perf_counter() - t0
    values = np.concatenate([p[0] for p in parts])
    status = np.concatenate([p[1] for p in parts])
    if np.any(status != 0):
        raise RuntimeError(f"Radau reference failed for patients {indices[status != 0]}")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.savez(path, values=values, indices=indices, seconds=seconds)
    return values, {"cached": None, "seconds": seconds, "file": str(path.relative_to(HERE.parent))}


def tight_reference(cm: Any, params: Params, workers: int) -> tuple[np.ndarray, dict[str, Any]]:
    """mdrsim RODAS4 at rtol 1e-11 / atol 1e-14 for every patient."""
    from mdrsim.engine import simulate

    t0 = time.perf_counter()
    r = simulate(
        cm,
        [0.0, T_END],
        params=params,
        options=PLAIN_ATOL,
        rtol=TIGHT_RTOL,
        atol=TIGHT_ATOL,
        workers=workers,
        max_steps=TIGHT_MAX_STEPS,
    )
    info = {
        "seconds": time.perf_counter() - t0,
        "failures": int(np.count_nonzero(r.status)),
        "mean_accepted_steps": float(r.stats[:, 3].mean()),
    }
    return tumour(r), info


# --------------------------------------------------------------------------- errors, report


def rel_errors(values: np.ndarray, ref: np.ndarray, floor: float = FLOOR) -> np.ndarray:
    """Relative error with an absolute floor (see :data:`FLOOR`); NaN where x failed."""
    return np.abs(values - ref) / np.maximum(np.abs(ref), floor)


def error_stats(
    row: Row, radau_idx: np.ndarray, radau: np.ndarray, tight: np.ndarray
) -> dict[str, float]:
    """Median / 95th percentile relative error vs Radau (subset) and vs the tight reference.

    A failed patient (NaN) counts as an infinite error.
    """
    pos = {int(i): k for k, i in enumerate(row.indices)}
    common = np.array([i for i in radau_idx if int(i) in pos], dtype=int)
    mine_sub = np.array([row.values[pos[int(i)]] for i in common])
    ref_sub = radau[np.searchsorted(radau_idx, common)]
    e_radau = np.nan_to_num(rel_errors(mine_sub, ref_sub), nan=np.inf)
    e_tight = np.nan_to_num(rel_errors(row.values, tight[row.indices]), nan=np.inf)
    above = np.abs(tight[row.indices]) >= FLOOR
    return {
        "median_vs_radau": float(np.median(e_radau)),
        "p95_vs_radau": float(np.percentile(e_radau, 95)),
        "max_vs_radau": float(np.max(e_radau)),
        "n_vs_radau": int(common.size),
        "median_vs_tight": float(np.median(e_tight)),
        "p95_vs_tight": float(np.percentile(e_tight, 95)),
        "max_vs_tight": float(np.max(e_tight)),
        "n_above_floor": int(above.sum()),
        "median_vs_tight_above_floor": float(np.median(e_tight[above])) if above.any() else 0.0,
    }


def format_table(rows: list[Row], errors: list[dict[str, float]], baseline_ms: float) -> str:
    head = (
        "| engine | ms/patient | patients/s | speed vs libroadrunner serial | "
        "median err. vs Radau | p95 vs Radau | median vs tight | p95 vs tight | notes |"
    )
    lines = [head, "|" + "---|" * 9]
    for row, err in zip(rows, errors, strict=True):
        notes = list(row.notes)
        if row.n != rows[0].n:
            notes.insert(0, f"{row.n} patients")
        if len(row.all_seconds) > 1:
            notes.insert(
                0,
                f"best of {len(row.all_seconds)} runs "
                f"({min(row.all_seconds):.2f}–{max(row.all_seconds):.2f} s)",
            )
        if row.other_cores is not None and row.other_cores > 0.25:
            notes.append(f"other processes used ≈{row.other_cores:.1f} core meanwhile")
        lines.append(
            f"| {row.engine} | {row.ms_per_patient:.3g} | {row.patients_per_s:,.0f} | "
            f"{baseline_ms / row.ms_per_patient:.2f}× | {err['median_vs_radau']:.1e} | "
            f"{err['p95_vs_radau']:.1e} | {err['median_vs_tight']:.1e} | "
            f"{err['p95_vs_tight']:.1e} | {'; '.join(notes)} |"
        )
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor()
    info: dict[str, Any] = {
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    for mod in ("numpy", "scipy", "numba", "roadrunner", "mdrsim"):
        try:
            info[mod] = __import__(mod).__version__
        except Exception:  # versions are informative only
            info[mod] = None
    return info


def to_json(rows: list[Row], errors: list[dict[str, float]], extra: dict[str, Any]) -> str:
    out_rows = []
    for row, err in zip(rows, errors, strict=True):
        d = {k: v for k, v in asdict(row).items() if k not in ("indices", "values")}
        d.update(
            n_patients=row.n,
            ms_per_patient=row.ms_per_patient,
            patients_per_s=row.patients_per_s,
            **err,
        )
        out_rows.append(d)
    return json.dumps({**extra, "rows": out_rows}, indent=2, default=float)


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="Antimony model file")
    p.add_argument("--patients", type=int, default=1000, help="virtual patients (default 1000)")
    p.add_argument(
        "--reference-patients",
        type=int,
        default=50,
        help="patients in the Radau reference subset (default 50: every 20th)",
    )
    p.add_argument(
        "--scipy-patients",
        type=int,
        default=50,
        help="patients timed with scipy LSODA (same subset rule; 0 to skip)",
    )
    p.add_argument("--processes", type=int, default=2, help="processes / workers (default 2)")
    p.add_argument("--repeats", type=int, default=5, help="timed runs per row; best kept")
    p.add_argument("--no-cache", action="store_true", help="recompute the Radau reference")
    p.add_argument("--json", type=Path, help="write all numbers to this JSON file")
    return p.parse_args(argv)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@dataclass
class References:
    """The two accuracy references and how they were made."""

    radau_idx: np.ndarray
    radau: np.ndarray
    radau_info: dict[str, Any]
    tight: np.ndarray
    tight_info: dict[str, Any]


def measure_rows(cm: Any, sbml: str, params: Params, args: argparse.Namespace) -> list[Row]:
    """Every timed row, on the same patients, in this process (workers where stated)."""
    procs = args.processes
    rows: list[Row] = []
    for workers in (1, procs):
        log(f"mdrsim RODAS4, {workers} worker(s)")
        rows.append(mdrsim_row(cm, params, workers, args.repeats))
    t0 = time.perf_counter()
    rr = make_roadrunner(sbml, RTOL, ATOL)
    rr_load = time.perf_counter() - t0
    checks = check_roadrunner(rr, cm, params, float(rows[0].values[0]))
    log("libroadrunner serial")
    serial = run_roadrunner_serial(sbml, params, RTOL, args.repeats)
    serial.notes += [*checks, f"model load {rr_load:.2f} s not timed"]
    rows.append(serial)
    log(f"libroadrunner serial, rtol {RR_TIGHT_RTOL:g}")
    rows.append(run_roadrunner_serial(sbml, params, RR_TIGHT_RTOL, args.repeats))
    log(f"libroadrunner, {procs} processes")
    rows.append(run_roadrunner_parallel(sbml, params, procs, args.repeats))
    if args.scipy_patients > 0:
        log(f"scipy LSODA on {args.scipy_patients} patients")
        idx = reference_indices(args.patients, args.scipy_patients)
        rows.append(scipy_row(cm, params, idx, "scipy-lsoda"))
    return rows


def make_references(
    cm: Any, model_path: Path, params: Params, args: argparse.Namespace
) -> References:
    """Radau on the subset (cached), tight RODAS4 on everybody, and their agreement."""
    idx = reference_indices(args.patients, args.reference_patients)
    log(f"Radau reference on {idx.size} patients ({args.processes} processes; cached)")
    radau, radau_info = radau_reference(model_path, params, idx, args.processes, not args.no_cache)
    log("tight RODAS4 reference, all patients")
    tight, tight_info = tight_reference(cm, params, args.processes)
    dev = rel_errors(tight[idx], radau)
    above = np.abs(radau) >= FLOOR
    tight_info.update(
        max_dev_vs_radau=float(np.max(dev)),
        median_dev_vs_radau=float(np.median(dev)),
        max_plain_rel_dev_vs_radau_above_floor=float(
            np.max(np.abs(tight[idx] - radau)[above] / np.abs(radau[above]))
        ),
        radau_patients_above_floor=int(above.sum()),
    )
    return References(idx, radau, radau_info, tight, tight_info)


def report(
    rows: list[Row], errors: list[dict[str, float]], compile_info: dict[str, Any], refs: References
) -> str:
    """The printed table and the lines under it."""
    baseline = next(r for r in rows if r.engine.startswith("libroadrunner CVODE, serial"))
    c = compile_info
    ri, ti, tight = refs.radau_info, refs.tight_info, refs.tight
    lines = [
        format_table(rows, errors, baseline.ms_per_patient),
        "",
        f"compile_model: cold {c['cold']['compile_model_s']:.2f} s (fresh MDRSIM_CACHE_DIR), "
        f"warm {c['warm']['compile_model_s']:.2f} s (same cache, new process); "
        f"import mdrsim {c['warm']['import_s']:.1f} s. First run after installation (fresh "
        f"NUMBA_CACHE_DIR too): import {c['cold_including_engine']['import_s']:.1f} s (the "
        f"engine kernel compiles at import) + compile_model "
        f"{c['cold_including_engine']['compile_model_s']:.2f} s",
        f"Radau reference: {refs.radau_idx.size} patients ({describe_indices(refs.radau_idx)}), "
        f"rtol {RADAU_RTOL:g}, atol {RADAU_ATOL:g}, {ri['seconds']:.0f} s"
        + (f" (cached: {ri['cached']})" if ri["cached"] else ""),
        f"Tight RODAS4 reference: rtol {TIGHT_RTOL:g}, atol {TIGHT_ATOL:g}, all patients, "
        f"{ti['seconds']:.1f} s, {ti['mean_accepted_steps']:.0f} steps/patient, "
        f"{ti['failures']} failed; deviation from Radau max {ti['max_dev_vs_radau']:.1e}, "
        f"median {ti['median_dev_vs_radau']:.1e} (plain relative error on the "
        f"{ti['radau_patients_above_floor']} patients above the floor: max "
        f"{ti['max_plain_rel_dev_vs_radau_above_floor']:.1e})",
        f"Errors are |x - ref| / max(|ref|, {FLOOR:g}); final Ts+Tr (tight reference): min "
        f"{tight.min():.3g}, median {np.median(tight):.3g}, max {tight.max():.3g}; "
        f"{int(np.sum(np.abs(tight) < FLOOR))} of {tight.size} below the floor (eradicated)",
    ]
    return "\n".join(lines)


def write_json(
    path: Path,
    rows: list[Row],
    errors: list[dict[str, float]],
    compile_info: dict[str, Any],
    refs: References,
    model_path: Path,
    args: argparse.Namespace,
    started: str,
    text: str,
) -> None:
    tight = refs.tight
    extra = {
        "started": started,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine(),
        "model": str(model_path),
        "model_sha256": file_hash(model_path),
        "patients": args.patients,
        "repeats": args.repeats,
        "processes": args.processes,
        "protocol": {
            "seed": SEED,
            "sigma": SIGMA,
            "perturbed": PERTURBED,
            "rtol": RTOL,
            "atol": ATOL,
            "t_end": T_END,
            "patient0": "nominal (its draws are made, factor overwritten by 1.0)",
            "error": f"|x - ref| / max(|ref|, {FLOOR:g})",
        },
        "compile": compile_info,
        "radau_reference": {
            "indices": refs.radau_idx.tolist(),
            "rtol": RADAU_RTOL,
            "atol": RADAU_ATOL,
            **refs.radau_info,
        },
        "tight_reference": {"rtol": TIGHT_RTOL, "atol": TIGHT_ATOL, **refs.tight_info},
        "final_tumour": {
            "min": float(tight.min()),
            "median": float(np.median(tight)),
            "max": float(tight.max()),
            "below_floor": int(np.sum(np.abs(tight) < FLOOR)),
        },
        "report": text,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_json(rows, errors, extra))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    model_path = args.model.resolve()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    log(f"compile times (fresh subprocesses) for {model_path.name}")
    compile_info = compile_times(model_path)

    from mdrsim.engine import compile_model
    from mdrsim.io import load_model

    cm = compile_model(load_model(model_path))
    nominal = dict(zip(cm.parameter_names, cm.default_parameters(), strict=True))
    params = virtual_patients(nominal, args.patients)
    sbml = antimony_to_sbml(model_path.read_text())

    rows = measure_rows(cm, sbml, params, args)
    refs = make_references(cm, model_path, params, args)
    errors = [error_stats(r, refs.radau_idx, refs.radau, refs.tight) for r in rows]
    text = report(rows, errors, compile_info, refs)
    print(text)
    if args.json:
        write_json(args.json, rows, errors, compile_info, refs, model_path, args, started, text)
    failed = sum(r.failures for r in rows if r.is_mdrsim) + refs.tight_info["failures"]
    if failed:
        log(f"{failed} mdrsim patient run(s) failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
