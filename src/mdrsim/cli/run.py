"""``mdrsim run`` and ``mdrsim compare``: one patient from scenario files, with its report.

The files and the report come from :mod:`mdrsim.report.patient_report`; this module parses
arguments, draws the progress bar and prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from mdrsim.cli.common import console, emit_json, err_console, fail, print_rows

if TYPE_CHECKING:
    from mdrsim.patient import PatientRun


def _load(path: Path) -> tuple[Any, str]:
    from mdrsim.patient.scenario import ScenarioError, parse_scenario

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")
    try:
        return parse_scenario(text, source=str(path)), text
    except ScenarioError as exc:
        fail(exc)


def _fitted(path: Path | None) -> Any:
    """The parameter file of --params, read (checked against the model when it is built)."""
    if path is None:
        return None
    from mdrsim.errors import MdrsimError
    from mdrsim.fit.parameters import read_parameter_file

    try:
        return read_parameter_file(path)
    except MdrsimError as exc:
        fail(exc)


def _run(
    path: Path,
    show_progress: bool,
    params: list[str] | None = None,
    params_file: Path | None = None,
) -> PatientRun:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from mdrsim.cli.analysis import param_texts
    from mdrsim.errors import MdrsimError
    from mdrsim.patient import run_scenario

    scenario, text = _load(path)
    fixed = param_texts(params)
    fitted = _fitted(params_file)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("day {task.completed:.0f}/{task.total:.0f}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not show_progress,
    ) as bar:
        task = bar.add_task(scenario.name, total=scenario.horizon_days)
        try:
            return run_scenario(
                scenario,
                scenario_text=text,
                progress=lambda f: bar.update(task, completed=f * scenario.horizon_days),
                params=fixed,
                parameters=fitted,
            )
        except MdrsimError as exc:
            # A failed patient exits 1, a scenario the model cannot be built from exits 2.
            fail(exc)


def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    out: Annotated[Path, typer.Option(help="Directory for the files listed below.")] = Path(
        "results/run"
    ),
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    figures: Annotated[
        bool,
        typer.Option(
            help="Draw the figures and report.html (after the summary is printed); "
            "--no-figures writes the data files only, in about half the time."
        ),
    ] = True,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            help="Set a parameter of the patient model: NAME=VALUE in its unit, or NAME=VALUE "
            'UNIT, converted with pint (--param "CL_doxorubicin=40 L/h"; repeatable).',
        ),
    ] = None,
    params_file: Annotated[
        Path | None,
        typer.Option(
            "--params",
            help="Fitted parameters (best.json of `mdrsim fit`, or a parameter file) for the "
            "patient model; refused unless fitted to this scenario's patient model.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Run one patient's scenario: PK, tumour clones, T cells, marrow, infections.

    Writes OUT/trajectories.parquet (time, variable, value), OUT/lines.csv, OUT/summary.json
    (its provenance names the --params file, its sha256 and the values used) and, unless
    --no-figures, OUT/tumour_by_clone.png, OUT/drug_levels.png, OUT/cd8.png, OUT/anc.png,
    OUT/infection.png (when the scenario has infections) and OUT/report.html (self-contained).
    """
    from mdrsim.errors import MdrsimError
    from mdrsim.report.patient_report import write_patient_data, write_patient_figures

    result = _run(scenario, progress and not as_json, param, params_file)
    try:
        report = write_patient_data(result, out)
    except MdrsimError as exc:
        fail(exc)
    if as_json:
        emit_json({**report.summary.to_dict(), "out": str(out), "figures": figures})
    else:
        # The summary first: the numbers are on screen while the figures are drawn.
        print_rows(result.scenario.name, report.summary.rows())
        console.file.flush()
    if figures:
        try:
            write_patient_figures(result, report)
        except MdrsimError as exc:
            fail(exc)
    if not as_json:
        what = "report.html, summary.json, trajectories.parquet, figures"
        if not figures:
            what = "summary.json, lines.csv, trajectories.parquet; no figures"
        console.print(f"wrote {out}/ ({what})")


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
    from mdrsim.errors import MdrsimError
    from mdrsim.report.patient_report import scenario_names, write_compare_report

    if len(scenarios) < 2:
        fail("give at least two scenario files to compare")
    runs = [_run(p, progress and not as_json) for p in scenarios]
    try:
        report = write_compare_report(runs, out, names=scenario_names(runs, scenarios))
    except MdrsimError as exc:
        fail(exc)
    table = report.table
    if as_json:
        rows = [s.compare_row(n) for n, s in zip(report.names, report.summaries, strict=True)]
        emit_json({"out": str(out), "scenarios": rows})
        return
    # One row per quantity, one column per scenario: readable for any number of quantities.
    t = Table(title="comparison")
    t.add_column("quantity")
    for name in table["scenario"]:
        t.add_column(str(name))
    for col in table.columns[1:]:
        t.add_row(col, *[f"{v:.3g}" if isinstance(v, float) else str(v) for v in table[col]])
    console.print(t)
    console.print(f"wrote {out}/ (report.html, comparison.csv, summaries.json, figures)")
