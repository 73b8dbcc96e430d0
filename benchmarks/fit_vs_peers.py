"""Fitting PEtab problems: mdrsim against pyPESTO + AMICI, the same starts side by side.

Protocol (docs/benchmarks.md, "Fitting: mdrsim vs pyPESTO + AMICI"):

* Problems: PEtab benchmark collection (``--benchmark-dir``, default ``$MDRSIM_PETAB_BENCHMARK``
  or ``../shared/petab-benchmark``; read in place, never copied).
* Starts: ``numpy.random.default_rng(seed)``, ``n`` points uniform on the parameter scale inside
  the bounds (one ``rng.random((n, K))`` call), the same points for both tools. A start whose
  objective cannot be evaluated is reported as failed by both (no resampling, so the two
  tools see exactly the same points).
* Optimiser: fides for both (same version where both environments have it), the same Hessian
  (``--hessian fim``: the Fisher information from forward sensitivities, pyPESTO's default with
  AMICI; ``hybrid``: the FIM, then BFGS from iteration 20; or ``bfgs``), the same options:
  at most 500 iterations, fatol 1e-8, frtol 1e-10, gatol 1e-6.
* Integration tolerances: rtol 1e-8, atol 1e-12 for both (mdrsim's ObjectiveOptions default;
  AMICI's solver set to the same), forward sensitivities for both.
* Reported per problem and tool: model compile/import time (cold), wall time and objective
  evaluations per start, the number of starts reaching the reference optimum (−llh within 0.1
  of the collection's reference at its nominal parameters, ``reference_llh.tsv``; priors
  included when the problem has them), the wall time until the first start reached it, and the
  gradient agreement at the nominal parameters (max relative difference, with an absolute floor
  of 1e-6·max|g|). Speed is given as a ratio pyPESTO+AMICI / mdrsim.

The pyPESTO side runs in the peers' virtual environment (``--peer-python``, default the
``MDRSIM_PEER_PYTHON`` environment variable), as a subprocess of this script (``--side peer``);
mdrsim runs in this interpreter. Both sides write JSON; the driver prints a Markdown table
and writes every number with the machine to ``--json``.

Run: ``.venv/bin/python benchmarks/fit_vs_peers.py --problems Boehm_JProteomeRes2014
--starts 10 --json results/fit_vs_peers.json`` (``--side mdrsim`` or ``--side peer`` runs one
side only).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_BENCHMARK = Path(
    os.environ.get("MDRSIM_PETAB_BENCHMARK", HERE.parent.parent / "shared" / "petab-benchmark")
)
DEFAULT_PROBLEMS = (
    "Boehm_JProteomeRes2014",
    "Elowitz_Nature2000",
    "Schwen_PONE2014",
    "Brannmark_JBC2010",
    "Fujita_SciSignal2010",
    "Crauste_CellSystems2017",
)
RTOL, ATOL = 1e-8, 1e-12
MAX_ITER = 500
FATOL, FRTOL, GATOL = 1e-8, 1e-10, 1e-6
#: A start "reaches the optimum" when its final objective is within this of −reference llh.
REACH = 0.1


def reference_llh(benchmark: Path) -> dict[str, float]:
    import csv

    with (benchmark / "reference_llh.tsv").open(encoding="utf-8") as fh:
        return {
            r["problem"]: float(r["llh_at_nominal"]) for r in csv.DictReader(fh, delimiter="\t")
        }


def starts_for(lower: np.ndarray, upper: np.ndarray, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return lower + (upper - lower) * rng.random((n, lower.size))


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return info


# ---------------------------------------------------------------------------------------------
# mdrsim side


def run_mdrsim(problem_yaml: Path, starts: np.ndarray, hessian: str) -> dict[str, Any]:
    import fides

    from mdrsim.fit import Objective, ObjectiveOptions
    from mdrsim.fit.multistart import _fides_minimize
    from mdrsim.io.petab import load_petab

    t0 = time.perf_counter()
    problem = load_petab(problem_yaml)
    objective = Objective(problem, ObjectiveOptions(rtol=RTOL, atol=ATOL))
    nominal = problem.nominal_theta()
    value, grad = objective.value_and_gradient(nominal)  # compiles the sensitivity model
    compile_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    objective.value_and_gradient(nominal)
    eval_s = time.perf_counter() - t1
    fun = objective.value_and_gradient if hessian == "bfgs" else objective.value_gradient_fim
    lb, ub = np.asarray(objective.lower), np.asarray(objective.upper)
    rows = []
    for i, x0 in enumerate(starts):
        ts = time.perf_counter()
        fval, _, status, calls, reason = _fides_minimize(
            fun, x0, lb, ub, max_iter=MAX_ITER, max_time=3600.0, gatol=GATOL, hessian=hessian
        )
        rows.append(
            {
                "start": i,
                "objective": fval if math.isfinite(fval) else None,
                "status": status,
                "reason": reason,
                "evaluations": calls,
                "seconds": time.perf_counter() - ts,
            }
        )
    return {
        "tool": "mdrsim",
        "version": __import__("mdrsim").__version__,
        "fides": fides.__version__,
        "compile_seconds": compile_s,
        "nominal_objective": float(value),
        "nominal_gradient": [float(g) for g in grad],
        "objective_gradient_seconds": eval_s,
        "starts": rows,
    }


# ---------------------------------------------------------------------------------------------
# pyPESTO + AMICI side (runs in the peers' environment)


def run_peer(problem_yaml: Path, starts: np.ndarray, hessian: str, build: Path) -> dict[str, Any]:
    import amici
    import fides
    import petab.v1 as petab
    import pypesto
    import pypesto.optimize
    import pypesto.petab

    t0 = time.perf_counter()
    petab_problem = petab.Problem.from_yaml(str(problem_yaml))
    importer = pypesto.petab.PetabImporter(
        petab_problem, output_folder=str(build / problem_yaml.stem), model_name=problem_yaml.stem
    )
    objective = importer.create_objective()
    compile_s = time.perf_counter() - t0
    try:  # AMICI >= 1.0
        from amici.sim.sundials import SensitivityMethod
    except ImportError:  # AMICI 0.x
        SensitivityMethod = amici.SensitivityMethod
    solver = objective.amici_solver
    for camel, snake, value in (
        ("setRelativeTolerance", "set_relative_tolerance", RTOL),
        ("setAbsoluteTolerance", "set_absolute_tolerance", ATOL),
        ("setSensitivityMethod", "set_sensitivity_method", SensitivityMethod.forward),
    ):
        (getattr(solver, camel, None) or getattr(solver, snake))(value)
    problem = importer.create_problem(objective)
    nominal = np.asarray(petab_problem.x_nominal_free_scaled, dtype=float)
    t1 = time.perf_counter()
    value, grad = problem.objective(nominal, sensi_orders=(0, 1))
    eval_s = time.perf_counter() - t1
    update = {"bfgs": fides.BFGS(), "fim": None, "hybrid": fides.HybridFixed()}[hessian]
    optimizer = pypesto.optimize.FidesOptimizer(
        hessian_update=update,
        verbose=40,
        options={
            fides.Options.MAXITER: MAX_ITER,
            fides.Options.FATOL: FATOL,
            fides.Options.FRTOL: FRTOL,
            fides.Options.GATOL: GATOL,
        },
    )
    rows = []
    for i, x0 in enumerate(starts):
        ts = time.perf_counter()
        problem.set_x_guesses(np.atleast_2d(problem.get_full_vector(x0)))
        result = pypesto.optimize.minimize(
            problem, optimizer=optimizer, n_starts=1, progress_bar=False
        )
        seconds = time.perf_counter() - ts
        best = result.optimize_result.list[0]
        fval = float(best.fval)
        rows.append(
            {
                "start": i,
                "objective": fval if math.isfinite(fval) else None,
                "status": "converged" if best.exitflag in (1, 2, 3) else "failed",
                "reason": str(best.message),
                "evaluations": int(best.n_fval),
                "seconds": seconds,
            }
        )
    return {
        "tool": "pyPESTO+AMICI",
        "version": f"pypesto {pypesto.__version__}, amici {amici.__version__}",
        "fides": fides.__version__,
        "compile_seconds": compile_s,
        "nominal_objective": float(value),
        "nominal_gradient": [float(g) for g in grad],
        "objective_gradient_seconds": eval_s,
        "starts": rows,
    }


# ---------------------------------------------------------------------------------------------
# Summary


def summarise(side: dict[str, Any], reference: float) -> dict[str, Any]:
    rows = side["starts"]
    target = -reference + REACH
    reached = [r for r in rows if r["objective"] is not None and r["objective"] <= target]
    elapsed, to_optimum = 0.0, None
    for r in rows:
        elapsed += r["seconds"]
        if r in reached and to_optimum is None:
            to_optimum = elapsed
    evals = sum(r["evaluations"] for r in rows)
    total = sum(r["seconds"] for r in rows)
    finite = [r["objective"] for r in rows if r["objective"] is not None]
    return {
        "starts": len(rows),
        "converged": sum(r["status"] == "converged" for r in rows),
        "reached": len(reached),
        "best": min(finite) if finite else None,
        "seconds_per_start": total / len(rows) if rows else None,
        "evaluations_per_second": evals / total if total > 0 else None,
        "seconds_to_optimum": to_optimum,
    }


def gradient_agreement(a: list[float], b: list[float]) -> float:
    ga, gb = np.asarray(a), np.asarray(b)
    floor = 1e-6 * max(float(np.abs(gb).max()), 1e-12)
    return float(np.max(np.abs(ga - gb) / np.maximum(np.abs(gb), floor)))


def _fmt(x: float | None, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}g}"


def table(results: dict[str, Any]) -> str:
    lines = [
        "| problem | tool | compile (s) | s/start | evals/s | converged | reached optimum | "
        "best −llh (ref) | time to optimum (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, entry in results["problems"].items():
        for key in ("mdrsim", "peer"):
            side = entry.get(key)
            if side is None or "summary" not in side:
                continue
            s = side["summary"]
            lines.append(
                f"| {name} | {side['tool']} | {side['compile_seconds']:.1f} | "
                f"{_fmt(s['seconds_per_start'])} | {_fmt(s['evaluations_per_second'])} | "
                f"{s['converged']}/{s['starts']} | {s['reached']}/{s['starts']} | "
                f"{_fmt(s['best'], 9)} ({-entry['reference_llh']:.6f}) | "
                f"{_fmt(s['seconds_to_optimum'])} |"
            )
        if "ratios" in entry:
            r = entry["ratios"]
            lines.append(
                f"| {name} | **ratio peer/mdrsim** | {_fmt(r.get('compile'))} | "
                f"{_fmt(r.get('seconds_per_start'))} | | | | gradient max rel. diff "
                f"{_fmt(entry.get('gradient_max_rel_diff'))} | {_fmt(r.get('to_optimum'))} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--problems", nargs="+", default=list(DEFAULT_PROBLEMS))
    ap.add_argument("--starts", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hessian", choices=("fim", "bfgs", "hybrid"), default="fim")
    ap.add_argument("--benchmark-dir", type=Path, default=DEFAULT_BENCHMARK)
    ap.add_argument("--peer-python", default=os.environ.get("MDRSIM_PEER_PYTHON"))
    ap.add_argument("--side", choices=("both", "mdrsim", "peer"), default="both")
    ap.add_argument("--build", type=Path, default=HERE / ".cache" / "amici")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--child-out", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--starts-dir", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument(
        "--merge", type=Path, nargs="+", default=None, help="combine one-side --json results"
    )
    args = ap.parse_args(argv)
    if args.merge:
        return finish(merge(args.merge), args.json)
    if not 1 <= args.starts <= 10_000:
        ap.error("--starts must be between 1 and 10,000")
    refs = reference_llh(args.benchmark_dir)
    if args.child_out is not None:  # one side, in this interpreter, for the driver
        out: dict[str, Any] = {}
        for name in args.problems:
            path = args.benchmark_dir / name / f"{name}.yaml"
            starts = np.load(args.starts_dir / f"starts.{name}.npy")
            try:
                if args.side == "peer":
                    out[name] = run_peer(path, starts, args.hessian, args.build)
                else:
                    out[name] = run_mdrsim(path, starts, args.hessian)
            except Exception as exc:  # a tool that cannot run a problem says why
                out[name] = {"error": f"{type(exc).__name__}: {exc}"}
        args.child_out.write_text(json.dumps(out))
        return 0

    from mdrsim.io.petab import load_petab

    results: dict[str, Any] = {
        "protocol": {
            "starts": args.starts,
            "seed": args.seed,
            "hessian": args.hessian,
            "rtol": RTOL,
            "atol": ATOL,
            "max_iter": MAX_ITER,
            "fatol": FATOL,
            "frtol": FRTOL,
            "gatol": GATOL,
            "reach": REACH,
        },
        "machine": machine(),
        "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "problems": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        for name in args.problems:
            problem = load_petab(args.benchmark_dir / name / f"{name}.yaml")
            lo, hi = problem.bounds()
            np.save(base / f"starts.{name}.npy", starts_for(lo, hi, args.starts, args.seed))
            results["problems"][name] = {"reference_llh": refs[name]}
        if not args.peer_python:
            ap.error("give --peer-python (or set MDRSIM_PEER_PYTHON): a Python with pyPESTO+AMICI")
        sides = [("mdrsim", sys.executable), ("peer", args.peer_python)]
        for key, python in sides:
            if args.side not in ("both", key):
                continue
            child = base / f"{key}.json"
            cmd = [python, __file__, "--side", key, "--child-out", str(child),
                   "--starts-dir", str(base),
                   "--benchmark-dir", str(args.benchmark_dir), "--hessian", args.hessian,
                   "--build", str(args.build), "--problems", *args.problems]  # fmt: skip
            env = dict(os.environ)
            if key == "peer":
                # AMICI compiles each model with SWIG and CMake from the peers' environment.
                env["PATH"] = f"{Path(python).parent}{os.pathsep}{env.get('PATH', '')}"
                env.pop("PYTHONPATH", None)
            proc = subprocess.run(cmd, check=False, env=env)
            if proc.returncode != 0 or not child.exists():
                for name in args.problems:
                    results["problems"][name][key] = {"error": f"exit {proc.returncode}"}
                continue
            for name, side in json.loads(child.read_text()).items():
                if "error" not in side:
                    side["summary"] = summarise(side, refs[name])
                results["problems"][name][key] = side
    return finish(results, args.json)


def finish(results: dict[str, Any], json_path: Path | None) -> int:
    """Ratios where both sides ran, the table on stdout, every number to ``json_path``."""
    for entry in results["problems"].values():
        m, p = entry.get("mdrsim", {}), entry.get("peer", {})
        if "summary" in m and "summary" in p:
            ms, ps = m["summary"], p["summary"]
            ratios = {"compile": p["compile_seconds"] / m["compile_seconds"]}
            if ms["seconds_per_start"] and ps["seconds_per_start"]:
                ratios["seconds_per_start"] = ps["seconds_per_start"] / ms["seconds_per_start"]
            if ms["seconds_to_optimum"] and ps["seconds_to_optimum"]:
                ratios["to_optimum"] = ps["seconds_to_optimum"] / ms["seconds_to_optimum"]
            entry["ratios"] = ratios
            entry["gradient_max_rel_diff"] = gradient_agreement(
                m["nominal_gradient"], p["nominal_gradient"]
            )
    print(table(results))
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(results, indent=2))
    return 0


def merge(paths: list[Path]) -> dict[str, Any]:
    """One result from runs of one side each (``--side mdrsim`` and ``--side peer`` with the
    same problems, starts, seed and Hessian)."""
    docs = [json.loads(p.read_text()) for p in paths]
    first = docs[0]
    for d in docs[1:]:
        if d["protocol"] != first["protocol"]:
            raise SystemExit(f"--merge: protocols differ: {d['protocol']} vs {first['protocol']}")
    out = {**first, "machine": [d["machine"] for d in docs], "problems": {}}
    for d in docs:
        for name, entry in d["problems"].items():
            out["problems"].setdefault(name, {}).update(entry)
    return out


if __name__ == "__main__":
    sys.exit(main())
