"""``mdrsim trial`` and ``mdrsim query`` (registered on the main app by mdrsim.cli.app).

The trial core (:mod:`mdrsim.trial`) knows nothing of the terminal: this module draws the
progress bar from the runner's callback and prints; the summary, plots and report come from
:func:`mdrsim.report.trial_report.write_trial_report`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
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

from mdrsim.cli.common import console, emit_json, err_console, fail, fmt
from mdrsim.errors import MdrsimError


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
        int | None,
        typer.Option(help="Local worker processes, >= 1 (default: all cores)."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Run chunks on a Dask cluster at this address (tcp://HOST:PORT)."),
    ] = None,
    chunk_size: Annotated[
        int, typer.Option("--chunk-size", help="Patients per chunk (unit of work and of files).")
    ] = 1000,
    params_file: Annotated[
        Path | None,
        typer.Option(
            "--params",
            help="Fitted parameters (best.json of `mdrsim fit`, or a parameter file) given to "
            "every patient; refused unless fitted to the trial's model.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Run a virtual trial: every patient in every arm, then analyse and report.

    Files written to OUT: manifest.json (with the --params file, its sha256 and values);
    patients/, endpoints/ARM/ and trajectories/ARM/
    (Parquet, one file per chunk, queryable with `mdrsim query OUT "SELECT …"`);
    summary.json and summary.csv (per arm: median PFS with CI, HR vs the first arm with CI,
    log-rank, ORR with CI, safety rates); failures.csv (patient, arm, reason); km.png,
    waterfall.png, swimmer.png; report.html (self-contained).
    """
    from mdrsim.trial import DaskExecutor, LocalExecutor, TrialPlan, run_trial
    from mdrsim.trial import Progress as RunProgress
    from mdrsim.trial.runner import MAX_CHUNK_SIZE, MAX_PATIENTS

    if workers is not None and scheduler is not None:
        fail("give --workers or --scheduler, not both")
    if not 1 <= patients <= MAX_PATIENTS:
        fail(f"--patients must be between 1 and {MAX_PATIENTS:,}, got {patients}")
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        fail(f"--chunk-size must be between 1 and {MAX_CHUNK_SIZE:,}, got {chunk_size}")
    try:
        plan = TrialPlan.from_file(trial_path)
        if params_file is not None:
            from mdrsim.fit.parameters import apply_to_plan, read_parameter_file

            plan = apply_to_plan(plan, read_parameter_file(params_file))
    except MdrsimError as exc:
        fail(exc)
    out_dir = out or Path("results") / f"trial_{plan.spec.name}"
    executor: Any
    try:
        if scheduler is not None:
            executor = DaskExecutor(address=scheduler)
        else:
            # --workers 0 is refused (it used to mean "all cores" silently); leave it out.
            executor = LocalExecutor(workers=workers)
    except MdrsimError as exc:
        fail(exc)

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
        fail(exc)
    finally:
        if isinstance(executor, DaskExecutor):
            executor.close()
    from mdrsim.report.trial_report import (
        TrialReport,
        read_trial_summary,
        report_is_current,
        write_trial_report,
    )

    try:
        if run.chunks_run == 0 and report_is_current(run.store.root):
            # Nothing new was simulated and the report is newer than every stored result:
            # show it instead of analysing and drawing everything again (issue 13).
            root = run.store.root
            names = ("summary.json", "summary.csv", "failures.csv", "km.png", "waterfall.png",
                     "swimmer.png", "report.html")  # fmt: skip
            report = TrialReport(summary=read_trial_summary(root), files=[root / n for n in names])
        else:
            report = write_trial_report(run.store.root)
    except MdrsimError as exc:
        fail(exc)
    for note in run.repairs:
        err_console.print(f"[yellow]store:[/] {note}", highlight=False)
    summary = report.summary
    if as_json:
        emit_json(
            {
                **summary.to_dict(),
                "out": str(out_dir),
                "files": [str(f) for f in report.files],
                "store_repairs": run.repairs,
            }
        )
        return
    t = Table(title=f"{summary.name}: {summary.n_patients} patients per arm")
    for col in summary.TABLE_COLUMNS:
        # arm names are identifiers: keep them readable
        t.add_column(col, no_wrap=col == "arm")
    for row in summary.table():
        t.add_row(*row)
    console.print(t)
    if summary.n_failed_total:
        console.print(
            f"[yellow]{summary.n_failed_total} patient-arm(s) failed; see failures.csv[/]"
        )
    console.print(
        f"{'resumed' if run.resumed else 'ran'} {run.chunks_run} chunk(s)"
        f"{f', {run.chunks_skipped} already stored' if run.chunks_skipped else ''} in "
        f"{run.seconds:.1f} s; wrote {out_dir}/ (report.html, summary.json, plots)",
        highlight=False,
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
        fail(exc)
    from mdrsim.trial.store import TrialStore

    strays = TrialStore(trial_dir).check(deep=False).strays
    if strays:
        err_console.print(
            f"[yellow]store:[/] ignored {len(strays)} stray file(s) not in the manifest "
            f"(e.g. {strays[0]})",
            highlight=False,
        )
    if as_json:
        emit_json(
            {
                "columns": [str(c) for c in df.columns],
                "rows": df.astype(object).where(df.notna(), None).values.tolist(),
            }
        )
        return
    t = Table()
    for c in df.columns:
        t.add_column(str(c))
    for row in df.head(limit).itertuples(index=False):
        t.add_row(*(fmt(v, 6) for v in row))
    console.print(t)
    if len(df) > limit:
        console.print(f"… {len(df) - limit} more row(s); use --json or LIMIT")
