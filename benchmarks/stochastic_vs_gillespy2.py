"""mdrsim's stochastic engines against GillesPy2 on a birth–death–mutation model.

Model (the Goldie–Coldman setting of ``tests/reference/test_goldie_coldman.py``, with cell
loss): sensitive cells ``S`` divide at ``b`` — a daughter is resistant with probability
``alpha`` — and die at ``d``; resistant cells ``R`` divide at ``b`` and die at ``d``::

    S -> 2S   b (1 - alpha) S        S -> S + R   b alpha S        S -> 0   d S
    R -> 2R   b R                     R -> 0       d R

``S(0) = 100, R(0) = 0, b = 1/d, d = 0.5/d, alpha = 1e-3``, output every 0.1 day to day 5
(51 points); ~3,400 reactions per trajectory; 10,000 trajectories.

Rows (each the best of ``--repeats`` runs, the end-to-end call a user makes, results in
memory; compilation is reported apart):

* mdrsim exact SSA with 1 and with 2 worker threads, and tau-leaping (eps = 0.03, 2 workers);
* GillesPy2's fastest SSA available here, ``SSACSolver`` (C++, compiled once per model by
  GillesPy2 with g++ and SCons; its ``.run`` time is measured), and ``TauLeapingCSolver``;
  ``NumPySSASolver`` (pure Python) is timed on ``--numpy-trajectories`` only and scaled.

Agreement: final ``S`` and ``R`` of each row against mdrsim SSA (1 worker): difference of means
and of variances in standard errors (two-sample), and the two-sample Kolmogorov–Smirnov
p-value. Exact methods must agree within sampling error; tau-leaping has an O(eps) bias.

Run: ``.venv/bin/python benchmarks/stochastic_vs_gillespy2.py [--json out.json]``.
Needs ``pip install gillespy2`` (and g++) for the GillesPy2 rows; without it only mdrsim
rows are timed. Each row records the CPU that other processes used while it ran
(``other cores``): the machine may be shared, and a second worker thread only helps when a
second core is free.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

S0, B, D, ALPHA, T_END, POINTS = 100, 1.0, 0.5, 1e-3, 5.0, 51
SEED = 2024
REACTIONS: tuple[tuple[str, str, dict[str, int], dict[str, int]], ...] = (
    # name, propensity, reactants, products
    ("divide_S", "b*(1 - alpha)*S", {"S": 1}, {"S": 2}),
    ("mutate_S", "b*alpha*S", {"S": 1}, {"S": 1, "R": 1}),
    ("die_S", "d*S", {"S": 1}, {}),
    ("divide_R", "b*R", {"R": 1}, {"R": 2}),
    ("die_R", "d*R", {"R": 1}, {}),
)


def times() -> np.ndarray:
    return np.linspace(0.0, T_END, POINTS)


# --------------------------------------------------------------------------- timing


def _machine_busy() -> float | None:
    """CPU seconds used by everything on the machine so far (None off Linux)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_cpu() -> float:
    """This process's CPU plus its finished children's (GillesPy2 runs a subprocess)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@dataclass
class Timing:
    wall: float = 0.0
    other_cores: float | None = None


@contextmanager
def timed() -> Iterator[Timing]:
    timing = Timing()
    busy0, cpu0, t0 = _machine_busy(), _own_cpu(), time.perf_counter()
    yield timing
    timing.wall = time.perf_counter() - t0
    busy1, cpu1 = _machine_busy(), _own_cpu()
    if busy0 is not None and busy1 is not None and timing.wall > 0:
        timing.other_cores = max(0.0, (busy1 - busy0 - (cpu1 - cpu0)) / timing.wall)


@dataclass
class Row:
    name: str
    seconds: float
    n: int
    final_s: np.ndarray
    final_r: np.ndarray
    all_seconds: list[float] = field(default_factory=list)
    other_cores: float | None = None
    scaled_from: int | None = None  # timed on this many trajectories, then scaled to n
    exact: bool = True
    reactions: float | None = None  # mean reactions per trajectory (mdrsim rows)


def best_of(
    repeats: int, fn: Callable[[], tuple[np.ndarray, np.ndarray, float | None]]
) -> tuple[Timing, tuple[np.ndarray, np.ndarray, float | None], list[float]]:
    runs = []
    for _ in range(max(1, repeats)):
        with timed() as tm:
            out = fn()
        runs.append((tm, out))
    best = min(runs, key=lambda r: r[0].wall)
    return best[0], best[1], [r[0].wall for r in runs]


# --------------------------------------------------------------------------- mdrsim


def mdrsim_model() -> Any:
    from mdrsim.model import ModelBuilder

    m = ModelBuilder("birth_death_mutation")
    m.species("S", S0, amount_based=True, unit="cells")
    m.species("R", 0, amount_based=True, unit="cells")
    m.parameter("b", B, unit="1/d").parameter("d", D, unit="1/d").parameter("alpha", ALPHA)
    for name, law, reactants, products in REACTIONS:
        m.reaction(name, law, reactants=reactants, products=products)
    return m.build()


def mdrsim_rows(n: int, repeats: int) -> tuple[list[Row], dict[str, float]]:
    from mdrsim.engine.stochastic import simulate_stochastic
    from mdrsim.engine.stochastic_codegen import compile_stochastic

    t0 = time.perf_counter()
    sm = compile_stochastic(mdrsim_model())
    simulate_stochastic(sm, times(), n_trajectories=2, seed=1)  # kernel load
    compile_s = time.perf_counter() - t0
    rows = []
    for label, method, workers in (
        ("mdrsim SSA, 1 worker", "ssa", 1),
        ("mdrsim SSA, 2 workers", "ssa", 2),
        ("mdrsim tau-leaping (eps 0.03), 2 workers", "tau", 2),
    ):

        def run(
            method: Any = method, workers: int = workers, label: str = label
        ) -> tuple[Any, Any, float]:
            r = simulate_stochastic(
                sm, times(), method=method, n_trajectories=n, seed=SEED, workers=workers
            )
            if not r.ok:
                raise RuntimeError(f"{label}: {len(r.failures())} trajectories failed")
            return r.final("S"), r.final("R"), float(r.stats[:, 2].mean())

        tm, (s, rr, fired), walls = best_of(repeats, run)
        rows.append(
            Row(
                label,
                tm.wall,
                n,
                s,
                rr,
                walls,
                tm.other_cores,
                exact=method == "ssa",
                reactions=fired,
            )
        )
    return rows, {"mdrsim load (cached compile) s": compile_s}


# --------------------------------------------------------------------------- GillesPy2


def gillespy2_model() -> Any:
    import gillespy2

    model = gillespy2.Model(name="birth_death_mutation")
    model.add_parameter(
        [
            gillespy2.Parameter(name="b", expression=B),
            gillespy2.Parameter(name="d", expression=D),
            gillespy2.Parameter(name="alpha", expression=ALPHA),
        ]
    )
    species = {
        "S": gillespy2.Species(name="S", initial_value=S0, mode="discrete"),
        "R": gillespy2.Species(name="R", initial_value=0, mode="discrete"),
    }
    model.add_species(list(species.values()))
    for name, law, reactants, products in REACTIONS:
        model.add_reaction(
            gillespy2.Reaction(
                name=name,
                reactants={species[k]: v for k, v in reactants.items()},
                products={species[k]: v for k, v in products.items()},
                propensity_function=law,
            )
        )
    model.timespan(times())
    return model


def gillespy2_rows(
    n: int, repeats: int, tau_n: int, numpy_n: int
) -> tuple[list[Row], dict[str, Any]]:
    # GillesPy2 runs SCons with the resolved interpreter, which is outside a virtual
    # environment; its 'scons' script in the environment's bin/ is found on PATH instead.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    import gillespy2

    info: dict[str, Any] = {"gillespy2 version": gillespy2.__version__}
    rows: list[Row] = []
    model = gillespy2_model()

    def finals(results: Any) -> tuple[np.ndarray, np.ndarray]:
        s = np.array([traj["S"][-1] for traj in results], dtype=float)
        r = np.array([traj["R"][-1] for traj in results], dtype=float)
        return s, r

    for label, cls_name, exact, count, reps in (
        ("GillesPy2 SSACSolver (C++)", "SSACSolver", True, n, repeats),
        ("GillesPy2 TauLeapingCSolver (C++)", "TauLeapingCSolver", False, tau_n, 1),
    ):
        if count <= 0:
            continue
        cls = getattr(gillespy2, cls_name)
        t0 = time.perf_counter()
        solver = cls(model=model)
        info[f"{cls_name} build s"] = time.perf_counter() - t0

        def run(solver: Any = solver, count: int = count) -> tuple[Any, Any, None]:
            s, r = finals(solver.run(number_of_trajectories=count, seed=SEED))
            return s, r, None

        tm, (s, r, _), walls = best_of(reps, run)
        rows.append(
            Row(
                label,
                tm.wall * n / count,
                n,
                s,
                r,
                walls,
                tm.other_cores,
                scaled_from=count if count != n else None,
                exact=exact,
            )
        )

    if numpy_n > 0:
        solver = gillespy2.NumPySSASolver(model=model)

        def run_numpy() -> tuple[Any, Any, None]:
            s, r = finals(solver.run(number_of_trajectories=numpy_n, seed=SEED))
            return s, r, None

        tm, (s, r, _), walls = best_of(1, run_numpy)
        rows.append(
            Row(
                "GillesPy2 NumPySSASolver (Python)",
                tm.wall * n / numpy_n,
                n,
                s,
                r,
                walls,
                tm.other_cores,
                scaled_from=numpy_n,
            )
        )
    return rows, info


# --------------------------------------------------------------------------- agreement


def _se_var(x: np.ndarray) -> float:
    c = x - x.mean()
    return float(np.sqrt(max(np.mean(c**4) - np.mean(c**2) ** 2, 0.0) / x.size))


def agreement(ref: Row, row: Row) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, a, b in (("S", ref.final_s, row.final_s), ("R", ref.final_r, row.final_r)):
        se_m = np.hypot(a.std(ddof=1) / np.sqrt(a.size), b.std(ddof=1) / np.sqrt(b.size))
        out[f"{name} mean"] = float(b.mean())
        out[f"{name} var"] = float(b.var(ddof=1))
        out[f"{name} mean diff (se)"] = float((b.mean() - a.mean()) / se_m) if se_m else 0.0
        se_v = np.hypot(_se_var(a), _se_var(b))
        out[f"{name} var diff (se)"] = (
            float((b.var(ddof=1) - a.var(ddof=1)) / se_v) if se_v else 0.0
        )
        out[f"{name} KS p"] = float(stats.ks_2samp(a, b).pvalue) if row is not ref else 1.0
    return out


# --------------------------------------------------------------------------- report


def table(rows: list[Row], ref: Row, gillespy2_ssa: Row | None) -> str:
    lines = [
        "| row | s (best) | trajectories/s | vs GillesPy2 C++ SSA | other cores | "
        "S mean (diff, se) | S var (diff, se) | R mean (diff, se) | KS p (S, R) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        a = agreement(ref, row)
        speed = f"{gillespy2_ssa.seconds / row.seconds:.1f}x" if gillespy2_ssa else "-"
        scaled = f" (timed on {row.scaled_from}, scaled)" if row.scaled_from else ""
        other = f"{row.other_cores:.2f}" if row.other_cores is not None else "-"
        lines.append(
            f"| {row.name}{scaled} | {row.seconds:.3f} | {row.n / row.seconds:,.0f} | {speed} | "
            f"{other} | {a['S mean']:.1f} ({a['S mean diff (se)']:+.1f}) | "
            f"{a['S var']:.0f} ({a['S var diff (se)']:+.1f}) | "
            f"{a['R mean']:.2f} ({a['R mean diff (se)']:+.1f}) | "
            f"{a['S KS p']:.2f}, {a['R KS p']:.2f} |"
        )
    return "\n".join(lines)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("mdrsim", "numba", "numpy", "scipy", "gillespy2"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trajectories", type=int, default=10_000)
    p.add_argument("--repeats", type=int, default=3, help="timed runs per row; best is kept")
    p.add_argument(
        "--tau-trajectories",
        type=int,
        default=1000,
        help="GillesPy2 TauLeapingCSolver (slow here) is timed once on this many "
        "and scaled (0 skips it)",
    )
    p.add_argument(
        "--numpy-trajectories",
        type=int,
        default=100,
        help="GillesPy2 NumPySSASolver is timed on this many (0 skips it)",
    )
    p.add_argument("--no-gillespy2", action="store_true", help="time mdrsim only")
    p.add_argument("--json", type=Path, help="write every number to this JSON file")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    rows, info = mdrsim_rows(args.trajectories, args.repeats)
    ref = rows[0]
    g_ssa = None
    if not args.no_gillespy2:
        try:
            g_rows, g_info = gillespy2_rows(
                args.trajectories, args.repeats, args.tau_trajectories, args.numpy_trajectories
            )
        except ImportError:
            print("gillespy2 is not installed: only mdrsim rows are timed", file=sys.stderr)
        else:
            rows += g_rows
            info.update(g_info)
            g_ssa = g_rows[0]
    text = table(rows, ref, g_ssa)
    print(
        f"birth–death–mutation: S0={S0}, b={B}, d={D}, alpha={ALPHA}, t=0..{T_END} "
        f"({POINTS} points), {args.trajectories} trajectories, "
        f"{ref.reactions:.0f} reactions per trajectory on average; agreement vs mdrsim SSA"
    )
    print(text)
    for k, v in info.items():
        print(f"{k}: {v:.2f}" if isinstance(v, float) else f"{k}: {v}")
    if args.json:
        payload = {
            "started": started,
            "machine": {
                "platform": platform.platform(),
                "python": platform.python_version(),
                "cpu_count": os.cpu_count(),
                "processor": platform.processor(),
                "versions": _versions(),
            },
            "model": {
                "S0": S0,
                "b": B,
                "d": D,
                "alpha": ALPHA,
                "t_end": T_END,
                "points": POINTS,
                "seed": SEED,
            },
            "trajectories": args.trajectories,
            "repeats": args.repeats,
            "info": info,
            "rows": [
                {
                    "name": r.name,
                    "seconds": r.seconds,
                    "all_seconds": r.all_seconds,
                    "trajectories_per_s": r.n / r.seconds,
                    "speedup_vs_gillespy2_ssa": (g_ssa.seconds / r.seconds) if g_ssa else None,
                    "other_cores": r.other_cores,
                    "scaled_from": r.scaled_from,
                    "exact": r.exact,
                    "reactions_per_trajectory": r.reactions,
                    "agreement_vs_mdrsim_ssa": agreement(ref, r),
                }
                for r in rows
            ],
            "table": text,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2))
    bad = [
        r.name
        for r in rows
        if r.exact
        and r is not ref
        and (
            abs(agreement(ref, r)["S mean diff (se)"]) > 4
            or abs(agreement(ref, r)["R mean diff (se)"]) > 4
        )
    ]
    if bad:
        print(f"exact rows disagree with mdrsim SSA beyond 4 se: {bad}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
