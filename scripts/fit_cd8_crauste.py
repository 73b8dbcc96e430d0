"""Fit mdrsim's own CD8 module to Crauste et al. 2017 (and the LCMV targets of science notes §4).

    python scripts/fit_cd8_crauste.py [--data DIR] [--starts 12] [--seed 0] [--no-lcmv]
                                      [--no-profiles] [--out results/cd8_crauste]

DIR is the benchmark problem folder ``Crauste_CellSystems2017`` (default:
``$MDRSIM_PETAB_BENCHMARK/Crauste_CellSystems2017``; the data are read there, never copied).
Writes into OUT: ``problem/`` (the PEtab problem: the CD8 module exported as SBML plus the
tables — ``mdrsim fit OUT/problem/problem.yaml`` re-runs the fit from the command line), the
files of ``mdrsim fit`` (starts table, best.json, waterfall, fit_report.html), one profile per
CD8 parameter (``profile_<id>.*``, as ``mdrsim profile`` writes them), ``data_vs_fit_log.png``
(the data with their standard deviations and the fitted curves, log scale) and
``cd8_fit_summary.json`` (fitted values, 95 % profile intervals, the log-likelihood of the
Crauste part beside the one of Crauste's own model, and the LCMV read-outs).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mdrsim.experiments.cd8_crauste import CD8_FREE, LCMV_TARGETS, write_crauste_problem
from mdrsim.fit import Objective
from mdrsim.fit.multistart import MultistartResult, multistart, profile
from mdrsim.io.petab import from_scale, to_scale
from mdrsim.report.fit_report import read_best, write_fit_outputs, write_profile_outputs

#: Log-likelihood of Crauste's own model (12 parameters) on the same 21 measurements at the
#: collection's optimum, as AMICI's test suite records it (reference_llh.tsv of the benchmark).
CRAUSTE_OWN_MODEL_LLH = -190.96521897435176


def _starts(objective: Objective, n: int, seed: int) -> np.ndarray:
    lb, ub = np.asarray(objective.lower), np.asarray(objective.upper)
    rng = np.random.default_rng(seed)
    return np.vstack(
        [objective.problem.nominal_theta(), lb + (ub - lb) * rng.random((n - 1, lb.size))]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", default=None)
    ap.add_argument("--starts", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-iter", type=int, default=1500)
    ap.add_argument("--no-lcmv", action="store_true")
    ap.add_argument("--no-profiles", action="store_true")
    ap.add_argument("--profile-step", type=float, default=0.1, help="log10 units")
    ap.add_argument("--profile-points", type=int, default=40, help="per direction")
    ap.add_argument("--profile", nargs="*", default=None, help="ids (default: every CD8 one)")
    ap.add_argument(
        "--profiles-only",
        action="store_true",
        help="profile around OUT/best.json of an earlier run (same problem)",
    )
    ap.add_argument(
        "--extra-start",
        default=None,
        help="best.json of another fit whose values (by id) are one more start",
    )
    ap.add_argument("--out", default="results/cd8_crauste")
    args = ap.parse_args()
    out = Path(args.out)
    problem = write_crauste_problem(out / "problem", args.data, lcmv=not args.no_lcmv)
    objective = Objective(problem)
    ids = list(objective.theta_ids)

    if args.profiles_only:
        theta = read_best(out / "best.json", objective)
        table = pd.read_csv(out / "starts.csv")
        best_obj = float(objective.value_and_gradient(theta)[0])
    else:
        # Start 0 is the module's current (assumed) values; the others are seeded uniform draws.
        starts = _starts(objective, args.starts, args.seed)
        if args.extra_start:
            linear = json.loads(Path(args.extra_start).read_text())["linear"]
            scales = problem.parameters.loc[ids, "scale"]
            lb, ub = np.asarray(objective.lower), np.asarray(objective.upper)
            x = [to_scale(linear[i], s) for i, s in zip(ids, scales, strict=True)]
            starts = np.vstack([np.clip(x, lb, ub), starts])
        tables = []
        for i, x0 in enumerate(starts):
            t0 = time.perf_counter()
            r = multistart(
                objective, starts=x0[None, :], max_iter=args.max_iter, max_time_per_start=900
            )
            row = r.table.assign(start=i)
            tables.append(row)
            seconds = time.perf_counter() - t0
            print(
                f"start {i}: {row['status'][0]} {row['reason'][0]} "
                f"objective {row['objective'][0]:.4f} ({seconds:.0f} s)",
                flush=True,
            )
        table = pd.concat(tables).sort_values("objective", kind="stable").reset_index(drop=True)
        fit = MultistartResult(table=table, theta_ids=ids)
        write_fit_outputs(out, objective, fit, seed=args.seed)
        theta = fit.best_theta
        best_obj = fit.best_objective
        n_conv = int((table["status"] == "converged").sum())
        n_best = int(
            ((table["status"] == "converged") & (table["objective"] < best_obj + 0.1)).sum()
        )
        print(f"best objective {best_obj:.4f}; {n_conv} of {len(table)} starts converged, {n_best} "
              "within 0.1 of the best", flush=True)  # fmt: skip

    n_conv = int((table["status"] == "converged").sum())
    n_best = int(((table["status"] == "converged") & (table["objective"] < best_obj + 0.1)).sum())
    intervals: dict[str, list[float | None]] = {}
    if not args.no_profiles:
        for pid in args.profile or CD8_FREE:
            prof = profile(
                objective, pid, theta, step=args.profile_step, max_points=args.profile_points
            )
            write_profile_outputs(out, objective, prof, fit_dir=out)
            scale = problem.parameters.loc[pid, "scale"]
            intervals[pid] = [
                float(from_scale(v, scale)) if math.isfinite(v) else None for v in prof.ci
            ]
            print(f"profile {pid}: {intervals[pid]}", flush=True)

    sim = objective.simulated_measurements(theta)
    meas = problem.measurements.assign(simulation=sim)
    crauste_rows = meas["simulationConditionId"] == "crauste2017"
    llh_crauste = _normal_llh(meas[crauste_rows])
    scales = problem.parameters.loc[ids, "scale"]
    fitted = {pid: float(from_scale(v, s)) for pid, v, s in zip(ids, theta, scales, strict=True)}
    summary = {
        "objective": best_obj,
        "starts": len(table),
        "converged": n_conv,
        "within_0.1_of_best": n_best,
        "llh_crauste_part": llh_crauste,
        "llh_crauste_own_model": CRAUSTE_OWN_MODEL_LLH,
        "fitted": fitted,
        "profile_95ci": intervals,
        "lcmv": [
            {"day": t, "target": v, "simulated": float(s)}
            for (t, v), s in zip(LCMV_TARGETS, meas.loc[~crauste_rows, "simulation"], strict=False)
        ],
        "crauste_points": [
            {
                "observable": r.observableId,
                "day": float(r.time),
                "data": float(r.measurement),
                "sd": float(r.noiseParameters[0]),
                "simulated": float(r.simulation),
            }
            for r in meas[crauste_rows].itertuples()
        ],
    }
    (out / "cd8_fit_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    _figure(objective, theta, meas, out / "data_vs_fit_log.png")
    print(
        json.dumps({k: summary[k] for k in ("objective", "llh_crauste_part", "fitted")}, indent=1)
    )


def _normal_llh(rows: pd.DataFrame) -> float:
    sd = np.array([float(v[0]) for v in rows["noiseParameters"]])
    r = (rows["simulation"].to_numpy(float) - rows["measurement"].to_numpy(float)) / sd
    return float(-0.5 * np.sum(np.log(2 * np.pi * sd**2) + r**2))


def _figure(objective: Objective, theta: np.ndarray, meas: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mdrsim.experiments.cd8_crauste import fitted_trajectories

    curves = fitted_trajectories(objective, theta)
    panels = [
        ("observable_Naive", "naive (N)"),
        ("observable_EarlyEffector", "early effector (A, activated)"),
        ("observable_LateEffector", "late effector (E, effector)"),
        ("observable_Memory", "memory (M)"),
        ("lcmv_antigen_experienced", "LCMV targets (A+E+M, 150 precursors)"),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.0 * len(panels), 3.6), sharex=False)
    for ax, (obs, title) in zip(axes, panels, strict=True):
        rows = meas[meas["observableId"] == obs]
        t, y = curves[obs]
        ax.plot(t, np.maximum(y, 1e-1), color="C0", label="mdrsim CD8 module, fitted")
        if len(rows):
            sd = np.array([float(v[0]) for v in rows["noiseParameters"]])
            m = rows["measurement"].to_numpy(float)
            if obs.startswith("lcmv"):
                lo, hi = m / 10**sd, m * 10**sd
                label = "target (σ 0.2 log10)"
            else:
                lo, hi = np.maximum(m - sd, m / 100), m + sd
                label = "Crauste 2017 (± SD)"
            ax.errorbar(rows["time"], m, yerr=[m - lo, hi - m], fmt="o", color="C3", label=label)
        ax.set_yscale("log")
        ax.set_ylim(1, 1e8 if obs.startswith("lcmv") else 1e6)
        ax.set_xlabel("days after infection")
        ax.set_title(title, fontsize=9)
    axes[0].set_ylabel("cells")
    axes[0].legend(fontsize=7, loc="lower left")
    axes[-1].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
