"""A Sobol analysis of the reference model with mdrsim, beside a plain libroadrunner loop doing
the same runs.

* Model: ``src/mdrsim/examples/trial_reference_model.ant`` (10 states, 17 bolus doses, 365 d).
* Factors: the first ten parameters of the engine benchmark's list (:data:`FACTORS`), each
  log-uniform from half to twice its nominal value.
* Plan: Saltelli's plan for first- and total-order indices with ``2N`` base samples
  (``--n N``, the indices at ``N`` and ``2N`` are both computed for the convergence check), so
  ``2N·(10 + 2)`` runs: 24,576 for ``--n 1024``. Outputs: final ``Ts`` and ``Tr`` (day 365).
* mdrsim: :func:`mdrsim.analysis.sobol` end to end — sampling, one engine batch with every row,
  SALib's analysis with bootstrap intervals. Tolerances rtol 1e-6, atol 1e-9.
* libroadrunner (CVODE, same tolerances, per-state atol list): one RoadRunner, a Python loop
  over the same rows (reset, set the ten parameters, simulate 0..365), serial — the loop a
  user would write. ``--rr-runs`` times it on the first rows only (the rate is per run).
* Agreement: the final ``Ts + Tr`` of both on the rows both ran, relative to
  ``max(|x|, 1e-9)`` (one tumour cell).

Run: ``nice .venv/bin/python benchmarks/sobol_vs_roadrunner.py --n 1024 [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from engine_vs_peers import (  # noqa: E402  (the engine benchmark's libroadrunner helpers)
    antimony_to_sbml,
    make_roadrunner,
    roadrunner_patients,
)

from mdrsim.examples import example_path  # noqa: E402

FACTORS = ("r_s", "r_r", "K_T", "mu_sr", "k_el", "Vmax_s", "Emax", "EC50", "k_elI", "Ki")
T_END = 365.0
RTOL, ATOL = 1e-6, 1e-9
FLOOR = 1e-9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1024, help="Sobol base samples N (power of 2)")
    ap.add_argument("--rr-runs", type=int, default=None, help="libroadrunner: first K rows")
    ap.add_argument("--workers", type=int, default=None, help="mdrsim engine threads")
    ap.add_argument("--json", type=Path, default=None, help="write the numbers as JSON")
    args = ap.parse_args()

    from mdrsim.analysis import ModelProblem, Range, sobol
    from mdrsim.engine import SolverOptions, compile_model
    from mdrsim.io import load_model

    path = example_path("trial_reference_model")
    t0 = time.perf_counter()
    cm = compile_model(load_model(path))
    compile_s = time.perf_counter() - t0
    problem = ModelProblem(
        cm, FACTORS, ["final(Ts)", "final(Tr)"], until=T_END, points=1,
        options=SolverOptions(rtol=RTOL, atol=ATOL, atol_scaling="none"), workers=args.workers,
    )  # fmt: skip
    nominal = {f.name: f.nominal for f in problem.factors}
    ranges = [Range(n, nominal[n] / 2, nominal[n] * 2, log=True) for n in FACTORS]

    t0 = time.perf_counter()
    res = sobol(problem, ranges, n=args.n, seed=0)
    mdrsim_s = time.perf_counter() - t0
    runs = res.runs
    values = runs[list(FACTORS)].to_numpy(dtype=float)
    total_md = (runs["final(Ts)"] + runs["final(Tr)"]).to_numpy(dtype=float)

    rr = make_roadrunner(antimony_to_sbml(path.read_text()), RTOL, ATOL)
    k = len(values) if args.rr_runs is None else min(args.rr_runs, len(values))
    t0 = time.perf_counter()
    total_rr = roadrunner_patients(rr, FACTORS, values[:k])
    rr_s = time.perf_counter() - t0

    both = np.isfinite(total_rr)
    err = np.abs(total_md[:k][both] - total_rr[both]) / np.maximum(np.abs(total_rr[both]), FLOOR)
    out = {
        "n_base": args.n,
        "runs": res.n_runs,
        "cores": os.cpu_count(),
        "load_avg": os.getloadavg()[0],
        "compile_s": compile_s,
        "mdrsim_sobol_s": mdrsim_s,
        "mdrsim_runs_per_s": res.n_runs / mdrsim_s,
        "roadrunner_runs": k,
        "roadrunner_s": rr_s,
        "roadrunner_runs_per_s": k / rr_s,
        "roadrunner_failed": int((~both).sum()),
        "roadrunner_full_plan_estimate_s": res.n_runs * rr_s / k,
        "agreement_median_rel": float(np.median(err)),
        "agreement_p99_rel": float(np.quantile(err, 0.99)),
        "converged": res.convergence.to_dict(orient="records")
        if res.convergence is not None
        else None,
        "indices": res.indices[["output", "factor", "S1", "S1_conf", "ST", "ST_conf"]]
        .round(4)
        .to_dict(orient="records"),
    }
    print(
        f"Sobol, {len(FACTORS)} factors, 2N = {2 * args.n} base samples, {res.n_runs} runs\n"
        f"  mdrsim (sampling + one batch + SALib): {mdrsim_s:.1f} s "
        f"({out['mdrsim_runs_per_s']:.0f} runs/s; compile/load {compile_s:.1f} s)\n"
        f"  libroadrunner loop: {k} runs in {rr_s:.1f} s ({out['roadrunner_runs_per_s']:.0f} "
        f"runs/s; the full plan ≈ {out['roadrunner_full_plan_estimate_s']:.0f} s)\n"
        f"  agreement on final Ts + Tr: median {out['agreement_median_rel']:.1e}, "
        f"99th percentile {out['agreement_p99_rel']:.1e} (relative)\n"
        f"  load average {out['load_avg']:.1f} on {out['cores']} cores"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1, default=float))


if __name__ == "__main__":
    main()
