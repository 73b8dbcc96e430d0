"""``mdrsim trial`` and ``mdrsim query`` (registered on the main app by mdrsim.cli).

The trial core (:mod:`mdrsim.trial`) knows nothing of the terminal: this module draws the
progress bar from the runner's callback, prints tables and writes the plots and the report.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from mdrsim.cli_common import json_default
from mdrsim.errors import MdrsimError

console = Console()
err_console = Console(stderr=True, soft_wrap=True)

#: Patients shown in the waterfall (per arm) and the swimmer plot: the first by index, so the
#: figures are the same whatever the trial size and never read the whole store.
WATERFALL_PATIENTS = 1000
SWIMMER_PATIENTS = 30


def _fail(message: str) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    raise typer.Exit(code=2)


def _clean(obj: Any) -> Any:
    """JSON has no NaN/infinity: those become null."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, str | bytes):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if isinstance(v, float):
        return "not reached" if math.isinf(v) else f"{v:.{digits}g}"
    return str(v)


def trial(
    trial_path: Annotated[Path, typer.Argument(help="Trial file (YAML); see docs/trials.md.")],
    patients: Annotated[int, typer.Option("--patients", help="Number of virtual patients.")],
    out: Annotated[
        Path | None,
        typer.Option(
            help="Trial directory (default results/trial_NAME); resumed if it holds "
            "the same unfinished trial."
        ),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Local worker processes (default: all cores).")
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Run chunks on a Dask cluster at this address (tcp://HOST:PORT)."),
    ] = None,
    chunk_size: Annotated[
        int, typer.Option("--chunk-size", help="Patients per chunk (unit of work and of files).")
    ] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Run a virtual trial: every patient in every arm, then analyse and report.

    Files written to OUT: manifest.json; patients/, endpoints/ARM/ and trajectories/ARM/
    (Parquet, one file per chunk, queryable with `mdrsim query OUT "SELECT …"`);
    summary.json and summary.csv (per arm: median PFS with CI, HR vs the first arm with CI,
    log-rank, ORR with CI, safety rates); failures.csv (patient, arm, reason); km.png,
    waterfall.png, swimmer.png; report.html (self-contained).
    """
    from mdrsim.trial import DaskExecutor, LocalExecutor, TrialPlan, run_trial
    from mdrsim.trial import Progress as RunProgress

    if workers is not None and scheduler is not None:
        _fail("give --workers or --scheduler, not both")
    try:
        plan = TrialPlan.from_file(trial_path)
    except MdrsimError as exc:
        _fail(str(exc))
    out_dir = out or Path("results") / f"trial_{plan.spec.name}"
    executor: Any
    try:
        if scheduler is not None:
            executor = DaskExecutor(address=scheduler)
        else:
            executor = LocalExecutor(workers=workers or (os.cpu_count() or 1))
    except MdrsimError as exc:
        _fail(str(exc))

    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err_console,
        disable=not err_console.is_terminal,
    )
    task = bar.add_task("patients", total=patients, rate="")

    def on_progress(p: RunProgress) -> None:
        t = bar.tasks[task]
        done_now = p.patients_done - t.completed
        bar.update(task, advance=done_now)
        speed = bar.tasks[task].speed
        bar.update(task, rate=f"{speed:,.0f} patients/s" if speed else "")

    try:
        with bar:
            run = run_trial(
                plan, patients, out_dir, chunk_size=chunk_size, executor=executor,
                progress=on_progress,
            )  # fmt: skip
    except MdrsimError as exc:
        _fail(str(exc))
    finally:
        if isinstance(executor, DaskExecutor):
            executor.close()
    files = write_outputs(run.store.root)
    summary = json.loads((run.store.root / "summary.json").read_text())
    if as_json:
        doc = {**summary, "out": str(out_dir), "files": [str(f) for f in files]}
        sys.stdout.write(json.dumps(_clean(doc), default=json_default, allow_nan=False) + "\n")
        return
    _print_summary(summary)
    console.print(
        f"{'resumed' if run.resumed else 'ran'} {run.chunks_run} chunk(s)"
        f"{f', {run.chunks_skipped} already stored' if run.chunks_skipped else ''} in "
        f"{run.seconds:.1f} s; wrote {out_dir}/ (report.html, summary.json, plots)",
        highlight=False,
    )


def _print_summary(summary: dict[str, Any]) -> None:
    t = Table(title=f"{summary['name']}: {summary['n_patients']} patients per arm")
    t.add_column("arm", no_wrap=True)  # arm names are identifiers: keep them readable
    for col in ("n", "failed", "median PFS (d) [95% CI]", "HR [95% CI]", "log-rank p",
                "ORR [95% CI]"):  # fmt: skip
        t.add_column(col)
    for r in summary["arms"]:
        t.add_row(
            r["arm"],
            str(r["n"]),
            str(r["n_failed"]),
            f"{_fmt(r['median_pfs_days']) if r['median_pfs_reached'] else 'not reached'} "
            f"[{_fmt(r['median_pfs_lower'])}, "
            f"{_fmt(r['median_pfs_upper'])}]",
            "control"
            if r["arm"] == summary["control_arm"]
            else f"{_fmt(r['hr_vs_control'])} [{_fmt(r['hr_lower'])}, {_fmt(r['hr_upper'])}]",
            _fmt(r["logrank_p"]),
            f"{_fmt(r['orr'])} [{_fmt(r['orr_lower'])}, {_fmt(r['orr_upper'])}]",
        )
    console.print(t)
    if summary["n_failed_total"]:
        console.print(
            f"[yellow]{summary['n_failed_total']} patient-arm(s) failed; see failures.csv[/]"
        )


def write_outputs(root: Path) -> list[Path]:
    """Analyse a stored trial and write summary, failures, plots and report.html."""
    from mdrsim.report import trial_plots
    from mdrsim.trial.analysis import analyse_store
    from mdrsim.trial.store import TrialStore

    store = TrialStore(root)
    manifest = store.read_manifest()
    arms: list[str] = manifest["arms"]
    analysis = analyse_store(store, arms)
    failures = store.failures()
    summary = {
        "name": manifest["name"],
        "n_patients": manifest["n_patients"],
        "seed": manifest["seed"],
        "spec_hash": manifest["spec_hash"],
        **analysis.to_dict(),
        "n_failed_total": len(failures),
        # Draws rejected by the plausibility bounds / by matching, over all patients.
        "population": {
            k: int(v or 0)
            for k, v in store.query(
                "SELECT sum(n_implausible) AS implausible_draws, "
                "sum(n_unmatched) AS unmatched_draws FROM patients"
            )
            .iloc[0]
            .items()
        },
    }
    files: list[Path] = []

    def written(p: Path) -> Path:
        files.append(p)
        return p

    (written(root / "summary.json")).write_text(json.dumps(_clean(summary), indent=2) + "\n")
    analysis.summary.to_csv(written(root / "summary.csv"), index=False)
    failures.to_csv(written(root / "failures.csv"), index=False)
    cols = (
        "patient, arm, status, pfs_days, pfs_event, best_response, best_change_pct, ttf_line1_days"
    )
    first = store.query(
        f"SELECT {cols} FROM endpoints WHERE patient < {WATERFALL_PATIENTS} ORDER BY arm, patient"
    )
    figures = {
        "km.png": ("Progression-free survival (Kaplan–Meier, 95 % bands)",
                   trial_plots.plot_km(analysis.curves)),
        "waterfall.png": (f"Best response, first {WATERFALL_PATIENTS} patients per arm",
                          trial_plots.plot_waterfall(first, arms)),
        "swimmer.png": (f"Swimmer plot, first {SWIMMER_PATIENTS} patients",
                        trial_plots.plot_swimmer(first, arms, first=SWIMMER_PATIENTS)),
    }  # fmt: skip
    for name, (_, fig) in figures.items():
        fig.savefig(written(root / name), dpi=120)
    written(_report(root, manifest, analysis.summary, failures, figures))
    for _, fig in figures.values():
        trial_plots.close(fig)
    return files


def _report(
    root: Path, manifest: dict[str, Any], summary: Any, failures: Any, figures: dict[str, Any]
) -> Path:
    from mdrsim.report.html import Section, write_html

    sim = manifest.get("simulator", {})
    provenance = {
        "trial": manifest["name"],
        "spec_sha256": manifest["spec_hash"],
        "seed": manifest["seed"],
        "patients": manifest["n_patients"],
        "chunk_size": manifest["chunk_size"],
        "arms": ", ".join(manifest["arms"]),
        "simulator": sim.get("kind", ""),
        "model_sha256": sim.get("model_sha256", ""),
        "mdrsim_version": manifest["mdrsim_version"],
        "executor": json.dumps(manifest.get("executor", {})),
    }
    sections = [
        Section(
            "Summary",
            f"{manifest['n_patients']} virtual patients, the same in every arm (paired design). "
            f"Hazard ratios and log-rank tests compare each arm with the first arm "
            f"({manifest['arms'][0]}); the Cox model clusters on the patient.",
            tables=[("Per arm", summary)],
        ),
        *[Section(caption, figures=[(caption, fig)]) for caption, fig in figures.values()],
        Section(
            "Failures",
            "Patients whose simulation failed are excluded from the statistics above."
            if len(failures)
            else "No patient failed.",
            tables=[("First 50 failures", failures.head(50))] if len(failures) else [],
        ),
    ]
    return write_html(
        root / "report.html", f"Virtual trial: {manifest['name']}", sections, provenance=provenance
    )


def query(
    trial_dir: Annotated[Path, typer.Argument(help="A trial directory written by mdrsim trial.")],
    sql: Annotated[
        str,
        typer.Argument(help="DuckDB SQL over views patients, endpoints, trajectories, failures."),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    limit: Annotated[int, typer.Option(help="Rows printed in the table (not with --json).")] = 50,
) -> None:
    """Query a trial directory with SQL (DuckDB), e.g. `SELECT arm, avg(pfs_days) FROM
    endpoints GROUP BY arm`. Writes no files."""
    from mdrsim.trial.store import query as run_query

    try:
        df = run_query(trial_dir, sql)
    except MdrsimError as exc:
        _fail(str(exc))
    if as_json:
        doc = {
            "columns": [str(c) for c in df.columns],
            "rows": _clean(df.astype(object).where(df.notna(), None).values.tolist()),
        }
        sys.stdout.write(json.dumps(doc, default=json_default, allow_nan=False) + "\n")
        return
    t = Table()
    for c in df.columns:
        t.add_column(str(c))
    for row in df.head(limit).itertuples(index=False):
        t.add_row(*(_fmt(v, 6) for v in row))
    console.print(t)
    if len(df) > limit:
        console.print(f"… {len(df) - limit} more row(s); use --json or LIMIT")
