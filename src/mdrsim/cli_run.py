"""``mdrsim run`` and ``mdrsim compare``: one patient from scenario files, with its report."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from mdrsim.patient import PatientRun

console = Console(stderr=True)
out_console = Console()

#: Variables plotted side by side by ``mdrsim compare``.
COMPARE_VARIABLES = ("tumour_total", "mdr1_high_fraction", "E_cd8", "M_cd8", "ANC")


def _fail(message: str, code: int = 2) -> None:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code=code)


def _load(path: Path) -> tuple[Any, str]:
    from mdrsim.patient.scenario import ScenarioError, parse_scenario

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror}")
    try:
        return parse_scenario(text, source=str(path)), text
    except ScenarioError as exc:
        _fail(str(exc))
    raise AssertionError("unreachable")


def _run(path: Path, show_progress: bool) -> PatientRun:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from mdrsim.errors import MdrsimError
    from mdrsim.patient import run_scenario

    scenario, text = _load(path)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("day {task.completed:.0f}/{task.total:.0f}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not show_progress,
    ) as bar:
        task = bar.add_task(scenario.name, total=scenario.horizon_days)
        try:
            return run_scenario(
                scenario,
                scenario_text=text,
                progress=lambda f: bar.update(task, completed=f * scenario.horizon_days),
            )
        except MdrsimError as exc:
            _fail(str(exc), code=1)
    raise AssertionError("unreachable")


def _save_figures(run: PatientRun, out: Path) -> dict[str, Path]:
    import matplotlib.pyplot as plt

    from mdrsim.report import patient_plots as pp

    traj = run.trajectories
    lines = [
        {"name": r["regimen"], "start_day": r["start_day"], "progression_day": r["progression_day"]}
        for r in run.summary["lines"]
    ]
    figures = {
        "tumour_by_clone": pp.plot_tumour_by_clone(traj, lines),
        "drug_levels": pp.plot_drug_levels(traj),
        "cd8": pp.plot_cd8(traj),
        "anc": pp.plot_anc(traj),
        "infection": pp.plot_infection(traj, list(run.model.pathogens) or None),
    }
    paths = {}
    for name, fig in figures.items():
        if fig is None:
            continue
        p = out / f"{name}.png"
        fig.savefig(p, dpi=150)
        plt.close(fig)
        paths[name] = p
    return paths


def _write_report(run: PatientRun, out: Path, figures: dict[str, Path]) -> Path:
    import pandas as pd

    from mdrsim.patient import summary_table
    from mdrsim.report.html import Section, write_html

    s = run.summary
    captions = {
        "tumour_by_clone": "Tumour burden by MDR1 clone, with treatment lines and progression",
        "drug_levels": "Plasma and intracellular drug per clone (µM)",
        "cd8": "Pathogen-specific CD8 T cells: naive, activated, effector, memory",
        "anc": "Absolute neutrophil count with the grade 3 and 4 thresholds",
        "infection": "Infection load",
    }
    table = pd.DataFrame(summary_table(s), columns=["quantity", "value"])
    lines = run.lines.copy()
    sections = [
        Section(
            "Summary",
            text=(run.scenario.description or "").strip(),
            tables=[("Outcome of the scenario", table), ("Treatment lines", lines)],
        ),
        Section(
            "Tumour and resistance",
            text="Clones are indexed by MDR1 expression; each is killed by its own "
            "intracellular drug level. Progression and response follow RECIST 1.1 on scans "
            f"every {run.scenario.scan_interval_days:g} days.",
            figures=[
                (captions[k], figures[k])
                for k in ("tumour_by_clone", "drug_levels")
                if k in figures
            ],
        ),
        Section(
            "T cells and infections",
            text="CD8 T cells need MDR1 for their early survival after activation; an MDR1 "
            "inhibitor removes it, and chemotherapy reaches inside T cells whose P-gp is "
            "blocked. Memory is compared with the same patient untreated.",
            figures=[(captions[k], figures[k]) for k in ("cd8", "infection") if k in figures],
        ),
        Section(
            "Marrow",
            text="Friberg semi-mechanistic neutrophil model driven by every drug."
            + (
                " No marrow data for: " + ", ".join(s["anc"]["drugs_without_marrow_data"]) + "."
                if s["anc"]["drugs_without_marrow_data"]
                else ""
            ),
            figures=[(captions["anc"], figures["anc"])] if "anc" in figures else [],
        ),
    ]
    return write_html(
        out / "report.html",
        f"mdrsim: {run.scenario.name}",
        sections,
        provenance=s["provenance"],
        subtitle=f"{run.scenario.horizon_days:g}-day horizon",
    )


def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    out: Annotated[Path, typer.Option(help="Directory for the files listed below.")] = Path(
        "results/run"
    ),
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Run one patient's scenario: PK, tumour clones, T cells, marrow, infections.

    Writes OUT/trajectories.parquet (time, variable, value), OUT/lines.csv, OUT/summary.json,
    OUT/tumour_by_clone.png, OUT/drug_levels.png, OUT/cd8.png, OUT/anc.png,
    OUT/infection.png (when the scenario has infections) and OUT/report.html (self-contained).
    """
    result = _run(scenario, progress and not as_json)
    out.mkdir(parents=True, exist_ok=True)
    result.trajectories.to_parquet(out / "trajectories.parquet", index=False)
    result.lines.to_csv(out / "lines.csv", index=False)
    (out / "summary.json").write_text(json.dumps(result.summary, indent=2) + "\n")
    figures = _save_figures(result, out)
    _write_report(result, out, figures)
    if as_json:
        sys.stdout.write(json.dumps({**result.summary, "out": str(out)}) + "\n")
        return
    from mdrsim.patient import summary_table

    t = Table(title=result.scenario.name)
    t.add_column("quantity")
    t.add_column("value")
    for k, v in summary_table(result.summary):
        t.add_row(k, v)
    out_console.print(t)
    out_console.print(f"wrote {out}/ (report.html, summary.json, trajectories.parquet, figures)")


def compare(
    scenarios: Annotated[list[Path], typer.Argument(help="Two or more scenario YAML files.")],
    out: Annotated[Path, typer.Option(help="Directory for the files listed below.")] = Path(
        "results/compare"
    ),
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """The same patient under several regimens, side by side.

    Writes OUT/comparison.csv (one row per scenario), OUT/summaries.json,
    OUT/compare_<variable>.png for tumour_total, mdr1_high_fraction, E_cd8, M_cd8 and ANC,
    and OUT/report.html (self-contained).
    """
    import matplotlib.pyplot as plt
    import pandas as pd

    from mdrsim.report.html import Section, write_html
    from mdrsim.report.patient_plots import plot_compare

    if len(scenarios) < 2:
        _fail("give at least two scenario files to compare")
    runs = [_run(p, progress and not as_json) for p in scenarios]
    names = [r.scenario.name for r in runs]
    if len(set(names)) != len(names):
        names = [f"{r.scenario.name} ({p.name})" for r, p in zip(runs, scenarios, strict=True)]
    rows = []
    for name, r in zip(names, runs, strict=True):
        s = r.summary
        rows.append(
            {
                "scenario": name,
                "best_response": s["best_response"],
                "best_change_pct": s["best_change_pct"],
                "pfs_days": s["progression_free_survival_days"],
                "progressed": s["progressed"],
                "lines_started": len(s["lines"]),
                "anc_nadir": s["anc"]["nadir_1e9_per_L"],
                "worst_neutropenia_grade": s["anc"]["worst_grade"],
                "cd8_effector_peak": s["cd8"]["effector_peak_cells"],
                "cd8_memory": s["cd8"]["memory_cells_at_horizon"],
                "cd8_memory_vs_untreated": s["cd8"]["memory_relative_to_untreated"],
                "infection_cleared_day": (
                    s["infections"][0]["cleared_day"] if s["infections"] else None
                ),
                "mdr1_high_fraction_at_progression": s["tumour"][
                    "mdr1_high_fraction_at_first_progression"
                ],
            }
        )
    table = pd.DataFrame(rows)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "comparison.csv", index=False)
    (out / "summaries.json").write_text(
        json.dumps({n: r.summary for n, r in zip(names, runs, strict=True)}, indent=2) + "\n"
    )
    trajs = {n: r.trajectories for n, r in zip(names, runs, strict=True)}
    figures: list[tuple[str, Any]] = []
    for var in COMPARE_VARIABLES:
        fig = plot_compare(trajs, var)
        if fig is None:
            continue
        p = out / f"compare_{var}.png"
        fig.savefig(p, dpi=150)
        plt.close(fig)
        figures.append((var, p))
    write_html(
        out / "report.html",
        "mdrsim: " + " vs ".join(names),
        [
            Section("Side by side", tables=[("One row per scenario", table)]),
            Section("Trajectories", figures=figures),
        ],
        provenance={
            n: r.summary["provenance"]["scenario_sha256"] for n, r in zip(names, runs, strict=True)
        },
    )
    if as_json:
        sys.stdout.write(json.dumps({"out": str(out), "scenarios": rows}, default=str) + "\n")
        return
    # One row per quantity, one column per scenario: readable for any number of quantities.
    t = Table(title="comparison")
    t.add_column("quantity")
    for name in table["scenario"]:
        t.add_column(str(name))
    for col in table.columns[1:]:
        t.add_row(col, *[f"{v:.3g}" if isinstance(v, float) else str(v) for v in table[col]])
    out_console.print(t)
    out_console.print(f"wrote {out}/ (report.html, comparison.csv, summaries.json, figures)")
