"""``mdrsim trial-fit``: fit a virtual population's laws to a published trial arm.

The fitting is :mod:`mdrsim.fit.vpop`; this module prints, writes the files and draws
the figure (:mod:`mdrsim.report.vpop_plots`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from mdrsim.cli.common import console, emit_json, err_console, fail, fmt
from mdrsim.errors import MdrsimError

FILES = ("fit.json", "targets.csv", "evaluations.csv", "fitted_trial.yaml", "km_fit.png")


def _fitted_trial_document(fit: Any, trial_dir: Path) -> dict[str, Any]:
    doc: dict[str, Any] = fit.fitted_trial.model_dump(mode="json", exclude_none=True)
    # The fitted trial is written elsewhere: its file references must still find their files.
    sim = doc.get("simulator", {})
    for key in ("scenario", "model"):
        if isinstance(sim.get(key), str) and not Path(sim[key]).is_absolute():
            sim[key] = str((trial_dir / sim[key]).resolve())
    return doc


def trial_fit(
    calibration: Annotated[
        Path, typer.Argument(help="Calibration file (YAML): trial, arm, free laws, targets.")
    ],
    out: Annotated[Path, typer.Option(help="Folder for the files listed below.")] = Path(
        "results/trial_fit"
    ),
    patients: Annotated[
        int | None, typer.Option(help="Patients per evaluation (overrides the file).")
    ] = None,
    max_evaluations: Annotated[
        int | None,
        typer.Option("--max-evaluations", help="Trial simulations in all (overrides the file)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Fit a virtual population to a published trial arm (Kaplan–Meier points and rates).

    Each evaluation simulates the same patients (common random numbers); a design over the
    free box, then Nelder–Mead. Files written to OUT: fit.json (values, chi-square, targets),
    targets.csv (published beside simulated, z, inside the 95 % interval), evaluations.csv
    (every simulation), fitted_trial.yaml (the trial with the fitted laws: run it with
    `mdrsim trial`), km_fit.png. See docs/trials.md.
    """
    import yaml

    from mdrsim.fit.vpop import load_calibration, run_calibration

    try:
        spec, base = load_calibration(calibration)
        fit = run_calibration(
            calibration,
            patients=patients,
            max_evaluations=max_evaluations,
            progress=None
            if as_json
            else lambda i, v: err_console.print(
                f"evaluation {i}: chi-square {v:.4g}", highlight=False
            ),
        )
    except MdrsimError as exc:
        fail(exc)
    out.mkdir(parents=True, exist_ok=True)
    trial_dir = (base / spec.trial).resolve().parent
    (out / "fit.json").write_text(json.dumps(fit.to_json(), indent=2), encoding="utf-8")
    fit.targets_table().to_csv(out / "targets.csv", index=False)
    fit.evaluations.to_csv(out / "evaluations.csv", index=False)
    header = (
        f"# Written by mdrsim trial-fit from {calibration}: the trial {spec.trial} with its\n"
        f"# population laws fitted to arm {spec.arm!r} (chi-square {fit.objective:.3f}).\n"
    )
    (out / "fitted_trial.yaml").write_text(
        header + yaml.safe_dump(_fitted_trial_document(fit, trial_dir), sort_keys=False),
        encoding="utf-8",
    )
    from mdrsim.report.vpop_plots import plot_population_fit

    fig = plot_population_fit(fit)
    fig.savefig(out / "km_fit.png", dpi=120)
    import matplotlib.pyplot as plt

    plt.close(fig)
    files = [str(out / f) for f in FILES]
    if as_json:
        emit_json({**fit.to_json(), "out": str(out), "files": files})
        return
    t = Table(title=f"{spec.arm}: published vs simulated ({spec.patients} patients per evaluation)")
    for col in ("kind", "endpoint", "what", "published", "simulated", "z", "inside 95 %", "source"):
        t.add_column(col)
    for r in fit.targets:
        t.add_row(
            r.kind,
            r.endpoint,
            r.what,
            fmt(r.published, 4),
            fmt(r.simulated, 4),
            f"{r.z:+.2f}",
            "yes" if r.inside_95 else "no",
            r.source,
        )
    console.print(t)
    for path, value in fit.free_values.items():
        console.print(f"{path} = {value:.4g}", highlight=False)
    console.print(
        f"chi-square {fit.objective:.3f} after {len(fit.evaluations)} evaluations "
        f"({fit.n_infeasible} infeasible); {fit.message}; wrote {out}/ ({', '.join(FILES)})",
        highlight=False,
    )
