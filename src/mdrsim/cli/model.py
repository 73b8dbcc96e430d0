"""``mdrsim info``, ``mdrsim simulate`` and ``mdrsim export-sbml``: one model file
(Antimony or SBML), registered on the app by :mod:`mdrsim.cli.app`."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from mdrsim.cli.common import EXIT_SIMULATION, console, emit_json, err_console, fail, json_default
from mdrsim.errors import MdrsimError

_PLOT_POINTS = 2000


def _load(model_path: Path) -> Any:
    from mdrsim.io import load_model

    if not model_path.exists():
        fail(f"model file {str(model_path)!r} does not exist")
    try:
        return load_model(model_path)
    except MdrsimError as exc:
        message = str(exc)
        fail(message if str(model_path) in message else f"cannot read {model_path}: {message}")


def _sbml_text(model_path: Path) -> str | None:
    """The model file as SBML (Antimony converted), for its unit definitions; None when it
    cannot be read (the model itself was read already, so this is only the units)."""
    from mdrsim.io.antimony import antimony_to_sbml

    try:
        text = model_path.read_text(encoding="utf-8")
        return text if model_path.suffix.lower() in (".xml", ".sbml") else antimony_to_sbml(text)
    except (OSError, UnicodeDecodeError, MdrsimError):
        return None


def _time_unit(model_path: Path) -> str:
    """The model's declared time unit (SBML ``timeUnits``; Antimony ``unit time_unit = …``)
    as a short name (``d``, ``s``, ``h``…), or "model time unit" when the file declares none:
    the axis of a model written in seconds must not say days (issue 13)."""
    import libsbml

    from mdrsim.io.antimony import antimony_to_sbml
    from mdrsim.io.sbml_meta import UnitNamer

    try:
        text = model_path.read_text(encoding="utf-8")
        sbml = text if model_path.suffix.lower() in (".xml", ".sbml") else antimony_to_sbml(text)
    except (OSError, UnicodeDecodeError, MdrsimError):
        return "model time unit"
    doc = libsbml.readSBMLFromString(sbml)
    m = doc.getModel() if doc is not None else None
    ref = m.getTimeUnits() if m is not None and m.isSetTimeUnits() else ""
    if not ref:
        return "model time unit"
    name = UnitNamer(m).name(ref) or ref
    return {"second": "s", "86400 s": "d"}.get(name, name)


def _parse_params(items: list[str], model: Any, model_path: Path) -> dict[str, float]:
    """``NAME=VALUE`` or ``NAME=VALUE UNIT``: a unit is converted to the model's declared unit
    with pint (``--param "CL=10 L/h"``, ``--param "CL=166 mL/min"``); a unit of another
    dimension is refused, naming the parameter."""
    from mdrsim.data.units import parse_overrides
    from mdrsim.io.units import unit_resolver

    if not items:
        return {}
    known = [*model.parameters, *model.species, *model.compartments]
    try:
        return parse_overrides(items, unit_resolver(model, _sbml_text(model_path)), known)
    except MdrsimError as exc:
        fail(exc)


def _fitted(path: Path | None, model: Any, overrides: dict[str, float]) -> Any:
    """The parameter file at ``path`` checked against ``model`` (None without --params)."""
    if path is None:
        return None
    from mdrsim.fit.parameters import read_parameter_file

    try:
        fitted = read_parameter_file(path)
        fitted.check(model)
    except MdrsimError as exc:
        fail(exc)
    both = sorted(set(fitted.values) & set(overrides))
    if both:
        fail(f"--param {both[0]}: also set by --params {path}; give each parameter once")
    return fitted


#: Most output intervals of `mdrsim simulate` (a million rows of every variable).
MAX_POINTS = 1_000_000
#: Latest end time of `mdrsim simulate` (model time units; in days, 2,700 years).
MAX_UNTIL = 1e6


def _finite_or_none(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def simulate(
    model_path: Annotated[Path, typer.Argument(help="Model file: Antimony (.ant) or SBML (.xml).")],
    until: Annotated[float, typer.Option(help="End time (model time units; days in mdrsim).")],
    out: Annotated[Path, typer.Option(help="Output directory (created if missing).")],
    points: Annotated[
        int, typer.Option(help="Number of intervals: N+1 evenly spaced times.")
    ] = 200,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            help="Override a value: NAME=VALUE, in the model's unit, or NAME=VALUE UNIT, "
            'converted to it (--param "CL=10 L/h"; repeatable).',
        ),
    ] = None,
    rtol: Annotated[float, typer.Option(help="Relative tolerance.")] = 1e-6,
    atol: Annotated[float, typer.Option(help="Absolute tolerance.")] = 1e-9,
    method: Annotated[
        str, typer.Option(help="rodas4 (default) or scipy-radau / scipy-bdf / scipy-lsoda.")
    ] = "rodas4",
    params_file: Annotated[
        Path | None,
        typer.Option(
            "--params",
            help="Fitted parameters: the best.json of `mdrsim fit` (or a parameter file); "
            "refused unless fitted to this model.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Simulate MODEL from 0 to UNTIL and write trajectories and a plot.

    Files written to OUT: trajectories.parquet and trajectories.csv (wide: a `time` column,
    then one column per state, rule variable and observable, by model id, on POINTS+1 evenly
    spaced times), plot.png (one panel per variable) and provenance.json (model hash,
    parameters, tolerances, versions, and the --params file with its sha256).
    """
    from mdrsim.engine import simulate as run_simulation

    if not 1 <= points <= MAX_POINTS:
        fail(f"--points must be between 1 and {MAX_POINTS:,}, got {points}")
    if not (math.isfinite(until) and 0 < until <= MAX_UNTIL):
        fail(f"--until must be a positive number <= {MAX_UNTIL:g}, got {until}")
    model = _load(model_path)
    overrides = _parse_params(param or [], model, model_path)
    fitted = _fitted(params_file, model, overrides)
    if fitted is not None:
        overrides = {**fitted.values, **overrides}
    params = {k: v for k, v in overrides.items() if k not in model.species}
    initial = {k: v for k, v in overrides.items() if k in model.species}
    # Simulate on a grid k times finer than asked for, so the plot shows doses and fast
    # transients; the files get every k-th point, i.e. exactly the requested grid (dense
    # output makes the extra points nearly free).
    # The model's dose times are added too, so every peak shows in the plot.
    import numpy as np

    from mdrsim.engine import compile_model

    try:
        compiled = compile_model(model)
        grid = np.linspace(0.0, until, points + 1)
        k = max(1, math.ceil(_PLOT_POINTS / points))
        events = compiled.timed_event_times()
        fine_grid = np.union1d(
            np.union1d(grid, np.linspace(0.0, until, points * k + 1)), events[events < until]
        )
        fine = run_simulation(
            compiled,
            fine_grid,
            params=params,
            initial=initial,
            rtol=rtol,
            atol=atol,
            method=method,  # type: ignore[arg-type]
        )
    except MdrsimError as exc:
        fail(exc)
    result = fine.subset_times(np.isin(fine_grid, grid))
    out.mkdir(parents=True, exist_ok=True)
    table = result.to_wide(0)
    table.to_csv(out / "trajectories.csv", index=False)
    _write_parquet(table, out / "trajectories.parquet", result.provenance)
    (out / "provenance.json").write_text(
        json.dumps(
            {
                **result.provenance,
                "parameters": dict(
                    zip(result.parameter_names, result.parameters[0].tolist(), strict=True)
                ),
                "model_file": str(model_path),
                "fitted_parameters": None if fitted is None else fitted.provenance(),
            },
            default=json_default,
            indent=2,
        )
    )
    from mdrsim.report.plots import plot_trajectories

    units = {n: model.unit_of(n) for n in result.variable_names}
    plot_trajectories(
        fine,
        out / "plot.png",
        units=units,
        title=f"{model.name} ({model_path.name})",
        time_unit=_time_unit(model_path),
    )
    failures = result.failures()
    summary = fine.summary_table()  # min/max over the fine grid: peaks between output points count
    if as_json:
        emit_json(
            {
                "model": model.name,
                "status": "ok" if not failures else "failed",
                "failure": failures.get(0),
                "steps": result.solver_stats(0).accepted_steps,
                "variables": [
                    {k: (_finite_or_none(v) if isinstance(v, float) else v) for k, v in row.items()}
                    for row in summary.to_dict(orient="records")
                ],
                "files": {
                    name: str(out / name)
                    for name in (
                        "trajectories.parquet",
                        "trajectories.csv",
                        "plot.png",
                        "provenance.json",
                    )
                },
            }
        )
    else:
        t = Table(
            title=f"{model.name}: 0 → {until:g} "
            f"({points + 1} points, {result.solver_stats(0).accepted_steps} steps)"
        )
        for col in ("variable", "initial", "final", "min", "max"):
            t.add_column(col, justify="left" if col == "variable" else "right")
        for row in summary.itertuples(index=False):
            t.add_row(
                row.variable,
                *(f"{getattr(row, c):.6g}" for c in ("initial", "final", "min", "max")),
            )
        console.print(t)
        console.print(
            f"wrote {out}/trajectories.parquet, trajectories.csv, plot.png, provenance.json"
        )
    if failures:
        err_console.print(f"[bold red]simulation failed:[/] {failures[0]}")
        raise typer.Exit(code=EXIT_SIMULATION)


def _write_parquet(table: Any, path: Path, provenance: dict[str, Any]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.Table.from_pandas(table, preserve_index=False)
    meta = dict(arrow.schema.metadata or {})
    meta[b"mdrsim.provenance"] = json.dumps(provenance, default=json_default).encode()
    pq.write_table(arrow.replace_schema_metadata(meta), path)


def export_sbml(
    model_path: Annotated[Path, typer.Argument(help="Model file: Antimony (.ant) or SBML (.xml).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="SBML file to write.")],
) -> None:
    """Write MODEL as SBML Level 3 Version 2 to OUTPUT (units, sources and bounds kept in
    mdrsim annotations; other tools such as libroadrunner and COPASI read it as plain SBML)."""
    from mdrsim.io import write_sbml

    model = _load(model_path)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(write_sbml(model))
    err_console.print(f"wrote {output}")


def info(
    model_path: Annotated[Path, typer.Argument(help="Model file: Antimony (.ant) or SBML (.xml).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """List the model's states, parameters (value, unit, source), rules and events, and the
    units the file declares with their dimensions (read with pint)."""
    from mdrsim.data.units import dimension_text, is_unit, parse_unit
    from mdrsim.io.units import declared_units, unit_consistency, unit_resolver

    model = _load(model_path)
    states = set(model.state_names())
    rows = []
    for s in model.species.values():
        rows.append(
            {
                "name": s.name,
                "kind": "species",
                "value": s.initial,
                "unit": s.unit,
                "source": s.source,
                "state": s.name in states,
            }
        )
    for p in model.parameters.values():
        rows.append(
            {
                "name": p.name,
                "kind": "parameter",
                "value": p.value,
                "unit": p.unit,
                "source": p.source,
                "state": p.name in states,
            }
        )
    for c in model.compartments.values():
        rows.append(
            {
                "name": c.name,
                "kind": "compartment",
                "value": c.size,
                "unit": c.unit,
                "source": c.source,
                "state": False,
            }
        )
    sbml = _sbml_text(model_path)
    definitions = declared_units(sbml) if sbml else {}
    resolve = unit_resolver(model, sbml)
    for r in rows:
        # The dimension of each quantity's unit, or "label" where the unit is free text
        # (a --param for it must then come without a unit).
        text = resolve(r["name"])
        r["dimension"] = dimension_text(parse_unit(text)) if is_unit(text) else "label"
    unit_rows = [
        {"id": d.id, "pint": d.pint, "dimension": d.dimension, "problem": d.problem}
        for d in definitions.values()
    ]
    consistency = unit_consistency(sbml) if sbml else None
    if as_json:
        emit_json(
            {
                "model": model.name,
                "units": unit_rows,
                "unit_consistency": None
                if consistency is None
                else {
                    "problems": consistency.problems,
                    "not_fully_checked": consistency.not_fully_checked,
                },
                "structure_hash": model.structure_hash(),
                "content_hash": model.content_hash(),
                "states": model.state_names(),
                "components": rows,
                "reactions": list(model.reactions),
                "assignment_rules": list(model.assignment_rules),
                "events": list(model.events),
                "observables": list(model.observables),
            }
        )
        return
    # A parameter changed by a rate rule or an event is a state (issue 13: the 10 states of
    # the example were counted as parameters): states first, then constants.
    n_params = sum(1 for r in rows if r["kind"] == "parameter" and not r["state"])
    t = Table(
        title=f"{model.name}: {len(states)} states, {n_params} parameters, "
        f"{len(model.reactions)} reactions, {len(model.events)} events"
    )
    for col in ("name", "kind", "value", "unit", "source"):
        t.add_column(col, overflow="fold")
    for r in sorted(rows, key=lambda r: not r["state"]):
        kind = "state" if r["state"] else r["kind"]
        value = f"{r['value']:.6g}" + (" (initial)" if r["state"] else "")
        if r["name"] in model.initial_assignments:  # e.g. Ip = doseI: the value is computed
            value = f"= {model.initial_assignments[r['name']].expression}"
        t.add_row(r["name"], kind, value, r["unit"], r["source"] or "—")
    console.print(t)
    if unit_rows:
        u = Table(title="declared units (read with pint)")
        for col in ("unit", "meaning", "dimension"):
            u.add_column(col, overflow="fold")
        for d in unit_rows:
            u.add_row(d["id"], d["pint"] or f"not read: {d['problem']}", d["dimension"] or "—")
        console.print(u)
    if consistency is not None and (consistency.problems or unit_rows):
        console.print(
            f"unit consistency (libSBML): {len(consistency.problems)} problem(s); "
            f"{consistency.not_fully_checked} expression(s) not fully checkable (literal "
            "numbers or undeclared units)"
        )
        for problem in consistency.problems:
            console.print(f"  - {escape(problem)}")
    labels = sorted({r["unit"] for r in rows if r["dimension"] == "label"})
    if labels:
        console.print(
            "units that are labels, not physical units (a --param value for them takes no "
            f"unit): {', '.join(labels)}"
        )
