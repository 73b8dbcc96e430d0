"""``mdrsim scan``, ``mdrsim sensitivity`` and ``mdrsim frontier``: the analyses of
:mod:`mdrsim.analysis` on a model file (Antimony/SBML) or a scenario (YAML), with their tables
and figures (:mod:`mdrsim.report.analysis_plots`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from mdrsim.cli.common import console, emit_json, fail, fmt
from mdrsim.errors import MdrsimError

if TYPE_CHECKING:
    import pandas as pd

    from mdrsim.analysis.problems import Problem

_SCENARIO_SUFFIXES = (".yaml", ".yml")

Target = Annotated[
    Path, typer.Argument(help="A model file (.ant, .xml) or a scenario file (.yaml).")
]
Outputs = Annotated[
    list[str] | None,
    typer.Option(
        "--output",
        help="An output (repeatable). Scenario: an endpoint (best_response, pfs, anc_nadir, "
        "cd8_memory_ratio, auc, tumour_end, ...; default: the first five). Model: X@TIME, "
        "max(X), min(X), final(X) or auc(X).",
    ),
]
Until = Annotated[
    float | None, typer.Option(help="Model files: end time of each run (model time units).")
]
Points = Annotated[int, typer.Option(help="Model files: intervals of the output time grid.")]
Workers = Annotated[int | None, typer.Option(help="Engine threads (default: all cores).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
Params = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        help="Fix a model parameter for every run: NAME=VALUE in the model's unit, or "
        'NAME=VALUE UNIT, converted to it with pint (--param "CL_doxorubicin=40 L/h"; '
        "repeatable).",
    ),
]


def param_texts(items: list[str] | None) -> dict[str, str]:
    """``--param`` items as name → value text (the unit, if any, is converted where the
    model's unit is known: :func:`mdrsim.analysis.problems.resolve_fixed`)."""
    from mdrsim.data.units import parse_assignment

    out: dict[str, str] = {}
    for item in items or []:
        try:
            name, _, _ = parse_assignment(item)
        except MdrsimError as exc:
            fail(exc)
        if name in out:
            fail(f"--param {name!r} is given twice")
        out[name] = item.partition("=")[2].strip()
    return out


def _is_scenario(path: Path) -> bool:
    return path.suffix.lower() in _SCENARIO_SUFFIXES


def _problem(
    target: Path,
    factors: list[str],
    outputs: list[str] | None,
    until: float | None,
    points: int,
    workers: int | None,
    params: list[str] | None = None,
) -> Problem:
    from mdrsim.analysis import ModelProblem, ScenarioProblem

    if not target.exists():
        fail(f"file {str(target)!r} does not exist")
    fixed = param_texts(params)
    try:
        if _is_scenario(target):
            from mdrsim.patient.scenario import load_scenario

            if until is not None:
                fail("--until is for model files; a scenario runs to its horizon_days")
            scenario = load_scenario(target)
            kwargs: dict[str, Any] = {"outputs": outputs} if outputs else {}
            return ScenarioProblem(scenario, factors, workers=workers, fixed=fixed, **kwargs)
        from mdrsim.engine import compile_model
        from mdrsim.io import load_model

        if until is None:
            fail("--until is required for a model file (the end time of each run)")
        if not outputs:
            fail("give at least one --output for a model file, e.g. --output 'max(x)'")
        try:
            model = load_model(target)
        except MdrsimError as exc:
            fail(f"cannot read {target}: {exc}")
        if fixed:
            # The model file's declared units (Antimony unit statements, SBML unit
            # definitions) are read for pint here, at the boundary.
            from mdrsim.cli.model import _sbml_text
            from mdrsim.data.units import resolve_values
            from mdrsim.io.units import unit_resolver

            unit_of = unit_resolver(model, _sbml_text(target))
            known = [*model.parameters, *model.species, *model.compartments]
            fixed = resolve_values(fixed, known, unit_of)  # type: ignore[assignment]
        return ModelProblem(
            compile_model(model), factors, outputs, until=until, points=points, workers=workers,
            fixed=fixed,
        )  # fmt: skip
    except MdrsimError as exc:
        fail(exc)


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in table.to_dict(orient="records")]


def _print_table(title: str, table: pd.DataFrame, columns: list[str], limit: int = 60) -> None:
    t = Table(title=title)
    for c in columns:
        t.add_column(c)
    for _, row in table.head(limit).iterrows():
        t.add_row(*[fmt(_cell(row[c])) for c in columns])
    console.print(t)
    if len(table) > limit:
        console.print(f"({len(table) - limit} more rows in the files)")


def _cell(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _write(table: pd.DataFrame, out: Path, stem: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    csv, parquet = out / f"{stem}.csv", out / f"{stem}.parquet"
    table.to_csv(csv, index=False)
    table.to_parquet(parquet, index=False)
    return [csv, parquet]


def scan(
    target: Target,
    vary: Annotated[
        list[str],
        typer.Option(
            "--vary",
            help="A factor and its values (once or twice): NAME=LO:HI:N, NAME=LO:HI:N:log or "
            "NAME=V1,V2,... NAME is a model parameter (or species), or for a scenario a "
            "field path such as lines[0].doses[0].dose.",
        ),
    ],
    output: Outputs = None,
    until: Until = None,
    points: Points = 1000,
    out: Annotated[Path, typer.Option(help="Directory for the files listed below.")] = Path(
        "results/scan"
    ),
    workers: Workers = None,
    param: Params = None,
    as_json: AsJson = False,
) -> None:
    """Scan one or two factors of a model or a scenario on a grid and tabulate outputs.

    Writes OUT/scan.csv and OUT/scan.parquet (one row per grid point: the factors, each
    output, status, reason) and OUT/scan_<output>.png (a line plot for one factor, a heat
    map for two).
    """
    from mdrsim.analysis import parse_grid
    from mdrsim.analysis import scan as run_scan
    from mdrsim.report.analysis_plots import file_stem, plot_scan

    try:
        grids = [parse_grid(v) for v in vary]
    except MdrsimError as exc:
        fail(exc)
    if not 1 <= len(grids) <= 2:
        fail(f"--vary: give one or two factors, got {len(grids)}")
    problem = _problem(target, [g.name for g in grids], output, until, points, workers, param)
    try:
        result = run_scan(problem, grids)
    except MdrsimError as exc:
        fail(exc)
    files = _write(result.table, out, "scan")
    for o in result.outputs:
        files.append(plot_scan(result, o, out / f"scan_{file_stem(o)}.png"))
    if as_json:
        emit_json(
            {
                "target": str(target),
                "factors": [{"name": g.name, "values": list(g.values)} for g in grids],
                "outputs": result.outputs,
                "n_points": len(result.table),
                "n_failed": result.n_failed,
                "rows": _records(result.table),
                "files": [str(f) for f in files],
            }
        )
        return
    cols = [*[g.name for g in grids], *result.outputs, "status"]
    _print_table(f"scan of {target.name}", result.table, cols)
    if result.n_failed:
        console.print(f"{result.n_failed} runs failed: see the reason column of scan.csv")
    console.print(f"wrote {out}/ (scan.csv, scan.parquet, scan_*.png)")


def sensitivity(
    target: Target,
    factor: Annotated[
        list[str],
        typer.Option(
            "--factor",
            help="A factor (repeatable): NAME=LO:HI or NAME=LO:HI:log for global methods, or "
            "a bare NAME (global: half to twice its nominal value, log-uniform; local: its "
            "nominal value).",
        ),
    ],
    output: Outputs = None,
    method: Annotated[str, typer.Option(help="local, sobol or morris.")] = "sobol",
    n: Annotated[int, typer.Option(help="Sobol: base samples N (a power of 2).")] = 256,
    trajectories: Annotated[int, typer.Option(help="Morris: trajectories.")] = 20,
    step: Annotated[
        float,
        typer.Option(
            help="Local: relative step of the central differences used where forward "
            "sensitivities are not available (scenario endpoints, models with state-changing "
            "events)."
        ),
    ] = 1e-3,
    seed: Annotated[int, typer.Option(help="Seed of the sampling plan.")] = 0,
    until: Until = None,
    points: Points = 1000,
    out: Annotated[Path, typer.Option(help="Directory for the files listed below.")] = Path(
        "results/sensitivity"
    ),
    workers: Workers = None,
    param: Params = None,
    as_json: AsJson = False,
) -> None:
    """Local (d ln y / d ln p) or global (Sobol, Morris) sensitivity of outputs to factors.

    Local coefficients of a model file come from its forward sensitivities (time courses
    too); scenario endpoints, and models whose events change states, use central differences
    (the method and note columns say which and why).

    Writes OUT/sensitivity.csv (one row per output and factor: coefficients or indices with
    confidence intervals), OUT/tornado.png; local on a model file with forward sensitivities:
    OUT/time_courses.csv and OUT/time_courses.parquet (d ln x(t)/d ln p of every state and
    output); global methods: OUT/runs.parquet (every run of the sampling plan) and, for Sobol,
    OUT/convergence.csv (indices at N vs 2N).
    """
    from mdrsim.analysis import local_sensitivity, local_time_courses, morris, parse_range, sobol
    from mdrsim.report.analysis_plots import plot_tornado_global, plot_tornado_local

    if method not in ("local", "sobol", "morris"):
        fail(f"--method {method!r}; allowed: local, sobol, morris")
    names = [f.partition("=")[0].strip() for f in factor]
    if method == "local" and any("=" in f for f in factor):
        fail("--factor: a local analysis takes bare names (it works at the nominal values)")
    problem = _problem(target, names, output, until, points, workers, param)
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    convergence = None
    try:
        if method == "local":
            table = local_sensitivity(problem, relative_step=step)
            files.append(plot_tornado_local(table, out / "tornado.png"))
            forward = bool((table["method"] == "forward sensitivities").all())
            # Forward: one augmented run per factor; central: 2k + 1 runs.
            n_runs = len(names) if forward else 2 * len(names) + 1
            settings: dict[str, Any] = {
                "methods": sorted(set(table["method"])),
                "relative_step": None if forward else step,
            }
            if forward:
                courses = local_time_courses(problem)
                files += _write(courses, out, "time_courses")
        else:
            nominal = {f.name: f.nominal for f in problem.factors}
            ranges = [parse_range(f, nominal) for f in factor]
            if method == "sobol":
                res = sobol(problem, ranges, n=n, seed=seed)
            else:
                res = morris(problem, ranges, trajectories=trajectories, seed=seed)
            table = res.indices
            n_runs, settings, convergence = res.n_runs, res.settings, res.convergence
            settings["ranges"] = [
                {"factor": r.name, "low": r.low, "high": r.high, "log": r.log} for r in ranges
            ]
            res.runs.to_parquet(out / "runs.parquet", index=False)
            files.append(out / "runs.parquet")
            if convergence is not None:
                convergence.to_csv(out / "convergence.csv", index=False)
                files.append(out / "convergence.csv")
            files.append(plot_tornado_global(res, out / "tornado.png"))
    except MdrsimError as exc:
        fail(exc)
    table.to_csv(out / "sensitivity.csv", index=False)
    files.insert(0, out / "sensitivity.csv")
    if as_json:
        emit_json(
            {
                "target": str(target),
                "method": method,
                "runs": n_runs,
                "settings": settings,
                "indices": _records(table),
                "convergence": None if convergence is None else _records(convergence),
                "files": [str(f) for f in files],
            }
        )
        return
    value_cols = {
        "local": ["coefficient", "method", "note"],
        "sobol": ["S1", "S1_conf", "ST", "ST_conf"],
        "morris": ["mu_star", "mu_star_conf", "sigma"],
    }[method]
    _print_table(f"{method} sensitivity ({n_runs} runs)", table, ["output", "factor", *value_cols])
    if convergence is not None:
        for _, row in convergence.iterrows():
            state = "converged" if row["converged"] else "NOT converged: raise --n"
            console.print(
                f"{row['output']}: largest change from N={n} to 2N: S1 "
                f"{row['max_change_S1']:.3f}, ST {row['max_change_ST']:.3f} ({state})"
            )
    console.print(f"wrote {out}/ ({', '.join(f.name for f in files)})")


def frontier(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    vary: Annotated[
        list[str],
        typer.Option(
            "--vary",
            help="A treatment choice and its values (one to three), e.g. "
            "lines[0].inhibitors[0].concentration_uM=0.05,0.1,0.2 or "
            "lines[0].doses[0].dose=50:90:5.",
        ),
    ],
    tumour_output: Annotated[
        str, typer.Option(help="Tumour control: best_change_pct, tumour_end_1e9 or pfs_days.")
    ] = "best_change_pct",
    against: Annotated[
        list[str] | None,
        typer.Option(
            help="What it trades against (repeatable; default cd8_memory_ratio and anc_nadir)."
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="Directory for the files listed below.")] = Path(
        "results/frontier"
    ),
    workers: Workers = None,
    as_json: AsJson = False,
) -> None:
    """Pareto front of tumour control against CD8 memory and the ANC nadir over a grid of
    treatment choices (an inhibitor's level or timing, the chemotherapy dose).

    Writes OUT/frontier.csv and OUT/frontier.parquet (every grid point, with an
    on_front_<objective> column per trade-off) and OUT/frontier.png.
    """
    from mdrsim.analysis import frontier as run_frontier
    from mdrsim.analysis import parse_grid
    from mdrsim.patient.scenario import load_scenario
    from mdrsim.report.analysis_plots import plot_frontier

    if not scenario.exists():
        fail(f"file {str(scenario)!r} does not exist")
    try:
        grids = [parse_grid(v) for v in vary]
        sc = load_scenario(scenario)
        result = run_frontier(
            sc,
            grids,
            tumour_output=tumour_output,
            against=against or ("cd8_memory_ratio", "anc_nadir"),
            workers=workers,
        )
    except MdrsimError as exc:
        fail(exc)
    files = _write(result.table, out, "frontier")
    files.append(plot_frontier(result, out / "frontier.png"))
    if as_json:
        emit_json(
            {
                "scenario": str(scenario),
                "tumour_output": result.tumour_output,
                "fronts": {o: _records(result.front(o)) for o in result.tradeoffs},
                "n_points": len(result.table),
                "files": [str(f) for f in files],
            }
        )
        return
    names = [g.name for g in grids]
    for other in result.tradeoffs:
        _print_table(
            f"Pareto front: {result.tumour_output} vs {other}",
            result.front(other),
            [*names, result.tumour_output, other],
        )
    console.print(f"wrote {out}/ (frontier.csv, frontier.parquet, frontier.png)")
