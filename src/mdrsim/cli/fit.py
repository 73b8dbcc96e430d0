"""``mdrsim fit`` and ``mdrsim profile``: calibrate a PEtab problem, profile its parameters.

The fitting core (:mod:`mdrsim.fit`) and the files and report
(:mod:`mdrsim.report.fit_report`) know nothing of the terminal: this module parses arguments,
prints and sets the exit code. A fit where no start converged exits 1 and says so (its starts
table and report are still written; best.json is not).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from mdrsim.cli.common import EXIT_SIMULATION, console, emit_json, err_console, fail, fmt
from mdrsim.errors import MdrsimError

if TYPE_CHECKING:
    from mdrsim.fit import Objective

#: Upper limit of --starts (each start is a local optimisation of up to minutes).
MAX_STARTS = 10_000


def _objective(problem_path: Path) -> Objective:
    from mdrsim.fit import Objective, ObjectiveOptions
    from mdrsim.io.petab import load_petab

    try:
        return Objective(load_petab(problem_path), ObjectiveOptions())
    except MdrsimError as exc:
        fail(exc)


def fit(
    problem: Annotated[Path, typer.Argument(help="PEtab v1 problem (YAML file).")],
    starts: Annotated[
        int, typer.Option("--starts", help=f"Number of random starts, 1 to {MAX_STARTS:,}.")
    ] = 10,
    seed: Annotated[int, typer.Option(help="Seed of the random starts (>= 0).")] = 0,
    out: Annotated[Path, typer.Option(help="Directory for the files listed below.")] = Path(
        "results/fit"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Fit a PEtab problem by multi-start local optimisation (fides, forward-sensitivity
    gradients; starts uniform on the parameter scale inside the bounds).

    Writes OUT/fit.json (status, counts, best objective), OUT/starts.parquet and
    OUT/starts.csv (one row per start: status, reason, objective, evaluations, seconds, final
    and start parameters on the parameter scale), OUT/best.json (the best converged start, on
    the PEtab parameter scale and linear), OUT/data_vs_fit.csv (each measurement with its
    simulation at the best parameters), OUT/waterfall.png, OUT/data_vs_fit.png
    (data_vs_fit_2.png, … beyond 9 observables) and OUT/fit_report.html (self-contained).
    Earlier best.json, data_vs_fit and profile_* files in OUT are removed.

    Exit code 1 when no start converged: best.json, data_vs_fit.csv and data_vs_fit.png are
    then not written, never a silent best guess.
    """
    from mdrsim.fit.multistart import multistart
    from mdrsim.report.fit_report import write_fit_outputs

    if not 1 <= starts <= MAX_STARTS:
        fail(f"--starts must be between 1 and {MAX_STARTS:,}, got {starts}")
    if seed < 0:
        fail(f"--seed must be >= 0, got {seed}")
    objective = _objective(problem)
    if not as_json:
        err_console.print(
            f"fitting {problem.name}: {len(objective.theta_ids)} parameters, {starts} start(s)",
            highlight=False,
        )
    try:
        result = multistart(objective, n_starts=starts, seed=seed)
        outputs = write_fit_outputs(out, objective, result, seed=seed)
    except MdrsimError as exc:
        fail(exc)
    summary = outputs.summary
    if as_json:
        emit_json(summary)
    else:
        t = Table(title=f"{problem.name}: {summary['n_converged']} of {starts} starts converged")
        for col in ("start", "status", "objective", "evaluations", "seconds", "reason"):
            t.add_column(col, no_wrap=col != "reason")
        for row in result.table.head(20).itertuples(index=False):
            t.add_row(
                str(row.start), str(row.status),
                fmt(float(row.objective), 8) if math.isfinite(row.objective) else "not finite",
                str(row.evaluations), f"{row.seconds:.1f}", str(row.reason),
            )  # fmt: skip
        console.print(t)
        if len(result.table) > 20:
            console.print(f"… {len(result.table) - 20} more start(s) in {out / 'starts.csv'}")
        if outputs.converged:
            p = Table(title=f"best start {summary['best_start']}: llh {summary['best_llh']:.8g}")
            p.add_column("parameter")
            p.add_column("parameter scale")
            p.add_column("linear")
            for pid, v in summary["parameters_scaled"].items():
                p.add_row(pid, fmt(v, 6), fmt(summary["parameters"][pid], 6))
            console.print(p)
        console.print(f"wrote {', '.join(f.name for f in outputs.files)} in {out}/")
    if not outputs.converged:
        reasons = "; ".join(summary["reasons"][:5])
        fail(
            f"no start converged ({starts} tried): {reasons}. No parameters are reported; "
            f"see {out / 'starts.csv'} and {out / 'fit_report.html'}",
            code=EXIT_SIMULATION,
        )


def profile(
    problem: Annotated[Path, typer.Argument(help="PEtab v1 problem (YAML file).")],
    parameter: Annotated[str, typer.Option("--parameter", help="Estimated parameter to profile.")],
    from_best: Annotated[
        Path | None,
        typer.Option("--from", help="best.json of a fit of this problem (default: OUT/best.json)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Directory for the files listed below.")] = Path(
        "results/fit"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Profile likelihood of one parameter around a fit's optimum (the other parameters
    re-optimised at each point) and its 95 % confidence interval.

    Writes OUT/profile_NAME.parquet and OUT/profile_NAME.csv (value, objective, delta, status,
    reason per point), OUT/profile_NAME.json (the interval on the parameter scale and linear),
    OUT/profile_NAME.png, and OUT/fit_report.html (the fit of the --from directory with every
    profile in OUT) when that directory holds the fit's starts.parquet.
    """
    from mdrsim.fit.multistart import profile as run_profile
    from mdrsim.report.fit_report import read_best, write_profile_outputs

    best_path = from_best if from_best is not None else out / "best.json"
    objective = _objective(problem)
    if parameter not in objective.theta_ids:
        fail(
            f"--parameter {parameter!r} is not an estimated parameter of {problem.name}; "
            f"estimated: {', '.join(objective.theta_ids)}"
        )
    try:
        theta = read_best(best_path, objective)
        if not as_json:
            err_console.print(f"profiling {parameter} from {best_path}", highlight=False)
        prof = run_profile(objective, parameter, theta)
        outputs = write_profile_outputs(out, objective, prof, fit_dir=best_path.parent)
    except MdrsimError as exc:
        fail(exc)
    for note in outputs.notes:
        err_console.print(f"[yellow]note:[/] {note}", highlight=False)
    doc = outputs.summary
    if as_json:
        emit_json(doc)
        return
    lo, hi = prof.ci
    t = Table(title=f"profile of {parameter}: {doc['level']:.0%} interval {doc['interval']}")
    t.add_column("")
    t.add_column("low")
    t.add_column("high")
    t.add_row(
        f"parameter scale ({doc['scale']})",
        fmt(lo, 6) if math.isfinite(lo) else "open",
        fmt(hi, 6) if math.isfinite(hi) else "open",
    )
    t.add_row(
        "linear",
        fmt(doc["ci"][0], 6) if doc["ci"][0] is not None else "open",
        fmt(doc["ci"][1], 6) if doc["ci"][1] is not None else "open",
    )
    console.print(t)
    console.print(f"wrote {', '.join(Path(f).name for f in outputs.files)} in {out}/")
