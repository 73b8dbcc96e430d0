"""A fit's files and its HTML report from Python, without the CLI.

:func:`write_fit_outputs` writes everything ``mdrsim fit`` writes after a multi-start fit;
:func:`write_profile_outputs` everything ``mdrsim profile`` writes; :func:`write_fit_report`
(called by both) renders ``fit_report.html`` from the files of a fit directory, so the report
always shows what the tables say::

    from mdrsim.io.petab import load_petab
    from mdrsim.fit import Objective
    from mdrsim.fit.multistart import multistart
    from mdrsim.report.fit_report import write_fit_outputs

    objective = Objective(load_petab("problem.yaml"))
    result = multistart(objective, n_starts=20, seed=1)
    outputs = write_fit_outputs(Path("results/fit"), objective, result, seed=1)
    outputs.converged          # False when no start converged: then there is no best.json

A fit where no start converged writes the starts table and the report (saying so), and no
best parameters: never a silent best guess.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mdrsim import __version__
from mdrsim.errors import FitError, ReportError
from mdrsim.fit.parameters import fit_block
from mdrsim.io.petab import from_scale, to_scale
from mdrsim.report.html import Section, format_number, write_html

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from mdrsim.fit import Objective
    from mdrsim.fit.multistart import MultistartResult, ProfileResult
    from mdrsim.io.petab import PetabProblem

__all__ = [
    "FIT_FILES",
    "STARTS_SHOWN",
    "FitOutputs",
    "ProfileOutputs",
    "problem_sha256",
    "read_best",
    "write_fit_outputs",
    "write_fit_report",
    "write_profile_outputs",
]

#: Files of a fit directory, in the order written (data_vs_fit*.png: one per 9 observables).
FIT_FILES = (
    "fit.json",
    "starts.parquet",
    "starts.csv",
    "best.json",
    "data_vs_fit.csv",
    "waterfall.png",
    "data_vs_fit.png",
    "fit_report.html",
)
#: Starts listed in the report's convergence table (all are in starts.csv).
STARTS_SHOWN = 200
#: Columns of the starts table before the parameter columns.
START_COLUMNS = ("start", "status", "reason", "objective", "evaluations", "seconds")
_PROFILE_SUFFIXES = (".json", ".parquet", ".csv", ".png")


@dataclass(frozen=True)
class FitOutputs:
    """What :func:`write_fit_outputs` wrote; ``summary`` is the ``--json`` document."""

    converged: bool
    files: list[Path]
    summary: dict[str, Any]


@dataclass(frozen=True)
class ProfileOutputs:
    """What :func:`write_profile_outputs` wrote; ``summary`` is the ``--json`` document."""

    files: list[Path]
    summary: dict[str, Any]
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Identity of a problem


def problem_sha256(problem: PetabProblem) -> str:
    """sha256 over the problem's YAML file and every file it lists (model and tables), so that
    parameters fitted to one problem are not profiled on another."""
    import yaml

    path = Path(problem.path)
    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    names: list[str] = []
    pf = spec.get("parameter_file")
    names += pf if isinstance(pf, list) else ([pf] if pf else [])
    for entry in spec.get("problems") or []:
        for key in sorted(entry):
            value = entry[key]
            names += [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
    h = hashlib.sha256(path.read_bytes())
    for name in names:
        h.update(b"\0" + name.encode() + b"\0")
        h.update((path.parent / name).read_bytes())
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# The fit


def _json_number(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _parameter_rows(objective: Objective, theta: np.ndarray) -> list[dict[str, Any]]:
    ptab = objective.problem.parameters
    rows = []
    for k, pid in enumerate(objective.theta_ids):
        scale = objective.scales[k]
        rows.append(
            {
                "id": pid,
                "scale": scale,
                "estimate_scaled": float(theta[k]),
                "estimate": float(from_scale(theta[k], scale)),
                "lower": float(ptab.loc[pid, "lower"]),
                "upper": float(ptab.loc[pid, "upper"]),
            }
        )
    return rows


def _clear_stale(out: Path) -> None:
    """Remove what an earlier fit into ``out`` left that this one would not overwrite: best
    parameters, data vs fit and profiles belong to the earlier optimum."""
    for name in ("best.json", "data_vs_fit.csv"):
        (out / name).unlink(missing_ok=True)
    for pattern in ("data_vs_fit*.png", "profile_*"):
        for p in out.glob(pattern):
            if p.is_file() and (pattern != "profile_*" or p.suffix in _PROFILE_SUFFIXES):
                p.unlink()


def write_fit_outputs(
    out: Path,
    objective: Objective,
    result: MultistartResult,
    *,
    seed: int,
) -> FitOutputs:
    """Write the starts table (Parquet and CSV), the waterfall plot, and — when at least one
    start converged — best.json (the best converged start, on the parameter scale and
    linear), data_vs_fit.csv and data_vs_fit*.png; then fit_report.html."""
    from mdrsim.report import fit_plots

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _clear_stale(out)
    files: list[Path] = []

    def written(p: Path) -> Path:
        files.append(p)
        return p

    table = result.table
    table.to_parquet(written(out / "starts.parquet"), index=False)
    table.to_csv(written(out / "starts.csv"), index=False)
    problem = objective.problem
    n_conv = int((table["status"] == "converged").sum())
    base: dict[str, Any] = {
        "problem": str(problem.path),
        "problem_sha256": problem_sha256(problem),
        "mdrsim_version": __version__,
        "seed": int(seed),
        "n_starts": len(table),
        "n_converged": n_conv,
        "priors_included": bool(objective.options.include_priors),
    }
    summary: dict[str, Any] = {**base, "out": str(out)}
    if n_conv:
        theta = result.best_theta
        ok = result.converged
        best_row = ok.loc[ok["objective"].idxmin()]
        params = _parameter_rows(objective, theta)
        llh = float(objective.llh(theta))
        best = {
            **base,
            "status": "converged",
            "start": int(best_row["start"]),
            "objective": float(best_row["objective"]),
            "llh": llh,
            "parameter_scale": {p["id"]: p["estimate_scaled"] for p in params},
            "linear": {p["id"]: p["estimate"] for p in params},
            "parameters": params,
        }
        if any(pid in problem.model.parameters for pid in problem.parameters.index):
            best["model"] = fit_block(
                problem,
                best["linear"],
                {"problem": str(problem.path), "problem_sha256": base["problem_sha256"],
                 "llh": llh, "start": best["start"]},
            )  # fmt: skip
        written(out / "best.json").write_text(json.dumps(best, indent=2) + "\n")
        m = problem.measurements
        points = pd.DataFrame(
            {
                "observableId": m["observableId"],
                "simulationConditionId": m["simulationConditionId"],
                "preequilibrationConditionId": m["preequilibrationConditionId"],
                "time": m["time"].astype(float),
                "measurement": m["measurement"].astype(float),
                "simulation": objective.simulated_measurements(theta),
            }
        )
        points.to_csv(written(out / "data_vs_fit.csv"), index=False)
        summary.update(
            status="converged",
            best_objective=best["objective"],
            best_llh=llh,
            best_start=best["start"],
            parameters=best["linear"],
            parameters_scaled=best["parameter_scale"],
        )
    else:
        summary.update(
            status="no start converged",
            reasons=sorted(set(table["reason"].astype(str))),
        )
    written(out / "fit.json").write_text(json.dumps(summary, indent=2) + "\n")
    fig = fit_plots.plot_waterfall(table)
    try:
        fig.savefig(written(out / "waterfall.png"), dpi=120)
    finally:
        fit_plots.close(fig)
    if n_conv:
        figs = fit_plots.plot_data_vs_fit(pd.read_csv(out / "data_vs_fit.csv"))
        try:
            for i, f in enumerate(figs):
                name = "data_vs_fit.png" if i == 0 else f"data_vs_fit_{i + 1}.png"
                f.savefig(written(out / name), dpi=120)
        finally:
            for f in figs:
                fit_plots.close(f)
    written(write_fit_report(out))
    summary["files"] = [str(f) for f in files]
    return FitOutputs(converged=n_conv > 0, files=files, summary=summary)


def read_best(path: Path, objective: Objective) -> np.ndarray:
    """θ (parameter scale, in the objective's order) from a best.json written by
    :func:`write_fit_outputs` for the same problem; :class:`FitError` otherwise."""
    path = Path(path)
    if not path.is_file():
        raise FitError(f"{path}: no such file (run `mdrsim fit` first, or give --from)")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise FitError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(doc, dict) or doc.get("status") != "converged":
        raise FitError(f"{path}: not the best.json of a converged fit (status must be 'converged')")
    sha = problem_sha256(objective.problem)
    if doc.get("problem_sha256") != sha:
        raise FitError(
            f"{path} was fitted to another problem (problem_sha256 "
            f"{str(doc.get('problem_sha256'))[:12]}…, this problem {sha[:12]}…): refit first"
        )
    values = doc.get("parameter_scale")
    ids = list(objective.theta_ids)
    if not isinstance(values, dict) or sorted(values) != sorted(ids):
        raise FitError(f"{path}: parameter_scale must give exactly the estimated parameters {ids}")
    theta = np.array([float(values[p]) for p in ids])
    if not np.all(np.isfinite(theta)):
        raise FitError(f"{path}: parameter_scale has a value that is not a finite number")
    return theta


# ---------------------------------------------------------------------------------------------
# Profiles


def _ci_text(lo: float, hi: float) -> str:
    if math.isfinite(lo) and math.isfinite(hi):
        return "closed"
    if math.isfinite(lo):
        return "open above"
    if math.isfinite(hi):
        return "open below"
    return "open on both sides"


def write_profile_outputs(
    out: Path,
    objective: Objective,
    prof: ProfileResult,
    *,
    fit_dir: Path,
) -> ProfileOutputs:
    """Write profile_NAME.parquet, .csv (value, objective, delta, status, reason per point),
    .json (the interval on the parameter scale and linear) and .png into ``out``; then
    ``out``/fit_report.html when ``fit_dir`` holds the fit's starts table."""
    from mdrsim.report import fit_plots

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    name = prof.parameter
    k = list(objective.theta_ids).index(name)
    scale = objective.scales[k]
    lo, hi = prof.ci
    stem = out / f"profile_{name}"
    files: list[Path] = []
    prof.table.to_parquet(stem.with_suffix(".parquet"), index=False)
    files.append(stem.with_suffix(".parquet"))
    prof.table.to_csv(stem.with_suffix(".csv"), index=False)
    files.append(stem.with_suffix(".csv"))
    failed = int((~prof.table["status"].isin(["converged", "optimum"])).sum())
    doc = {
        "parameter": name,
        "scale": scale,
        "level": prof.level,
        "threshold": prof.threshold,
        "ci_scaled": [_json_number(lo), _json_number(hi)],
        "ci": [
            _json_number(float(from_scale(lo, scale))) if math.isfinite(lo) else None,
            _json_number(float(from_scale(hi, scale))) if math.isfinite(hi) else None,
        ],
        "interval": _ci_text(lo, hi),
        "points": len(prof.table),
        "points_not_converged": failed,
        "problem_sha256": problem_sha256(objective.problem),
        "mdrsim_version": __version__,
    }
    stem.with_suffix(".json").write_text(json.dumps(doc, indent=2) + "\n")
    files.append(stem.with_suffix(".json"))
    fig = fit_plots.plot_profile(
        prof.table, parameter=name, threshold=prof.threshold, ci=prof.ci, level=prof.level,
        scale=scale,
    )  # fmt: skip
    try:
        fig.savefig(stem.with_suffix(".png"), dpi=120)
    finally:
        fit_plots.close(fig)
    files.append(stem.with_suffix(".png"))
    notes = []
    if failed:
        notes.append(
            f"{failed} profile point(s) did not converge (see {stem.with_suffix('.csv').name}); "
            "they do not define the interval"
        )
    if (Path(fit_dir) / "starts.parquet").is_file():
        files.append(write_fit_report(out, fit_dir=Path(fit_dir)))
    else:
        notes.append(f"no starts.parquet in {fit_dir}: fit_report.html not written")
    return ProfileOutputs(
        files=files, summary={**doc, "files": [str(f) for f in files]}, notes=notes
    )


def _profiles(folder: Path) -> list[tuple[dict[str, Any], pd.DataFrame]]:
    found = []
    for js in sorted(folder.glob("profile_*.json")):
        table_path = js.with_suffix(".parquet")
        if not table_path.is_file():
            continue
        doc = json.loads(js.read_text(encoding="utf-8"))
        found.append((doc, pd.read_parquet(table_path)))
    return found


# ---------------------------------------------------------------------------------------------
# The report


def _at_bound(p: dict[str, Any]) -> str:
    """'lower' / 'upper' when the estimate sits on a bound (1e-6 of the range, parameter
    scale): the optimum there is not an interior one and its value says little."""
    lo, hi = to_scale(p["lower"], p["scale"]), to_scale(p["upper"], p["scale"])
    tol = 1e-6 * (hi - lo)
    if p["estimate_scaled"] <= lo + tol:
        return "lower"
    if p["estimate_scaled"] >= hi - tol:
        return "upper"
    return ""


def _parameter_table(best: dict[str, Any], profiles: Iterable[dict[str, Any]]) -> pd.DataFrame:
    by_id = {p["parameter"]: p for p in profiles}
    rows = []
    for p in best["parameters"]:
        prof = by_id.get(p["id"])
        ci_s = prof["ci_scaled"] if prof else [None, None]
        ci = prof["ci"] if prof else [None, None]
        rows.append(
            {
                "parameter": p["id"],
                "estimate (linear)": p["estimate"],
                "CI low (linear)": ci[0],
                "CI high (linear)": ci[1],
                "at bound": _at_bound(p),
                "profile CI": f"{prof['level']:.0%} {prof['interval']}" if prof else "not profiled",
                "scale": p["scale"],
                "estimate (scale)": p["estimate_scaled"],
                "CI low (scale)": ci_s[0],
                "CI high (scale)": ci_s[1],
                "bounds (linear)": f"{format_number(p['lower'])} – {format_number(p['upper'])}",
            }
        )
    columns = ("CI low (scale)", "CI high (scale)", "CI low (linear)", "CI high (linear)")
    return pd.DataFrame(rows).astype(dict.fromkeys(columns, float))


def write_fit_report(out: Path, *, fit_dir: Path | None = None) -> Path:
    """Render ``out``/fit_report.html from the fit in ``fit_dir`` (default ``out``: its
    starts.parquet, best.json, data_vs_fit.csv) and the profiles in ``out``
    (profile_*.json / .parquet). Self-contained: figures are embedded PNGs."""
    from mdrsim.report import fit_plots

    out = Path(out)
    fit_dir = Path(fit_dir) if fit_dir is not None else out
    starts_path = fit_dir / "starts.parquet"
    if not starts_path.is_file():
        raise ReportError(f"{starts_path}: no starts table (not a fit directory)")
    starts = pd.read_parquet(starts_path)
    best_path = fit_dir / "best.json"
    best = json.loads(best_path.read_text(encoding="utf-8")) if best_path.is_file() else None
    fit_json = fit_dir / "fit.json"
    meta = json.loads(fit_json.read_text(encoding="utf-8")) if fit_json.is_file() else {}
    sha = best["problem_sha256"] if best else None
    profiles = [
        (doc, t) for doc, t in _profiles(out) if sha is None or doc.get("problem_sha256") == sha
    ]
    n = len(starts)
    n_conv = int((starts["status"] == "converged").sum())
    figures: list[Figure] = []
    try:
        waterfall = fit_plots.plot_waterfall(starts)
        figures.append(waterfall)
        if best is None:
            status = (
                f"NO START CONVERGED ({n} tried): there are no fitted parameters. The starts "
                "table below gives each start's reason. Try more starts, other bounds, or look "
                "for a failing simulation."
            )
        else:
            status = (
                f"{n_conv} of {n} starts converged. Best objective {best['objective']:.8g} "
                f"(log-likelihood {best['llh']:.8g}) from start {best['start']}. A plateau of "
                "several converged starts at the lowest value in the waterfall is the evidence "
                "that the global optimum was found; a single start there is not."
            )
        sections = [
            Section("Fit status", status),
            Section(
                "Waterfall of the starts",
                "Final objective of every start, sorted. Circles converged; crosses failed.",
                figures=[("Waterfall: final objective per start, sorted", waterfall)],
            ),
        ]
        if best is not None:
            points_path = fit_dir / "data_vs_fit.csv"
            data_figs = fit_plots.plot_data_vs_fit(pd.read_csv(points_path))
            figures.extend(data_figs)
            sections.append(
                Section(
                    "Data vs fit",
                    "Measurements (dots) and the model at the best parameters, simulated at the "
                    "measurement times (lines join them), one colour per simulation condition. "
                    "Values are in the units of the measurement table, untransformed.",
                    figures=[
                        (f"Data vs fit ({i + 1} of {len(data_figs)})", f)
                        for i, f in enumerate(data_figs)
                    ],
                )
            )
            docs = [d for d, _ in profiles]
            sections.append(
                Section(
                    "Parameters",
                    "Estimates of the best converged start on the PEtab parameter scale and "
                    "linear. Confidence intervals come from profile likelihoods (the other "
                    "parameters re-optimised at each point; threshold chi2(level, 1)/2) and "
                    "are shown only for profiled parameters (mdrsim profile); an open side "
                    "means the profile stayed under the threshold up to a bound (not "
                    "identifiable on that side within the bounds). An estimate at a bound "
                    "(column 'at bound') is not an interior optimum.",
                    tables=[("Fitted parameters", _parameter_table(best, docs))],
                )
            )
            if profiles:
                prof_figs: list[tuple[str, Figure | bytes | Path]] = []
                for doc, table in profiles:
                    f = fit_plots.plot_profile(
                        table,
                        parameter=doc["parameter"],
                        threshold=doc["threshold"],
                        ci=(
                            doc["ci_scaled"][0] if doc["ci_scaled"][0] is not None else -math.inf,
                            doc["ci_scaled"][1] if doc["ci_scaled"][1] is not None else math.inf,
                        ),
                        level=doc["level"],
                        scale=doc["scale"],
                    )
                    figures.append(f)
                    prof_figs.append((f"Profile likelihood of {doc['parameter']}", f))
                sections.append(Section("Profile likelihoods", figures=prof_figs))
        shown = starts[[c for c in START_COLUMNS if c in starts.columns]].head(STARTS_SHOWN)
        sections.append(
            Section(
                "Convergence per start",
                "converged: fides stopped on its function, step or gradient tolerance; failed: "
                "any other stop (the reason column names it)."
                + (
                    f" First {STARTS_SHOWN} of {n} shown; all in starts.csv."
                    if n > STARTS_SHOWN
                    else ""
                ),
                tables=[("Starts, sorted by final objective", shown)],
            )
        )
        provenance: dict[str, Any] = {"fit directory": str(fit_dir)}
        for key in ("problem", "problem_sha256", "seed", "n_starts", "priors_included"):
            if key in meta:
                provenance[key] = meta[key]
        provenance.update(optimiser="fides trust region, BFGS", mdrsim_version=__version__)
        return write_html(
            out / "fit_report.html",
            "Fit report" + (f": {Path(meta['problem']).stem}" if "problem" in meta else ""),
            sections,
            provenance=provenance,
            subtitle=f"{n_conv} of {n} starts converged",
            sig_digits=7,
        )
    finally:
        for f in figures:
            fit_plots.close(f)
