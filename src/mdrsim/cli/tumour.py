"""``mdrsim tumour …``: tumour evolution commands (registered on the main app by mdrsim.cli.app)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from mdrsim.cli.common import console, emit_json, fail

tumour_app = typer.Typer(help="Tumour evolution and resistance.", no_args_is_help=True)


@tumour_app.command("resistance-at-diagnosis")
def resistance_at_diagnosis_cmd(
    cells: Annotated[float, typer.Option(help="Sensitive cells at diagnosis (e.g. 1e9).")],
    mutation_rate: Annotated[float, typer.Option(help="Resistance mutations per division.")],
    birth: Annotated[float, typer.Option(help="Division rate per cell (1/day).")] = 1.0,
    death: Annotated[float, typer.Option(help="Death rate per cell (1/day).")] = 0.0,
    trajectories: Annotated[int, typer.Option(help="Simulated tumours.")] = 2000,
    seed: Annotated[int | None, typer.Option(help="Random seed (repeatable runs).")] = None,
    method: Annotated[str, typer.Option(help="Stochastic method: tau, hybrid or ssa.")] = "tau",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Probability that a resistant clone exists when a tumour grown from one cell is
    diagnosed (stochastic simulation), with its confidence interval and the analytic value
    (Goldie & Coldman 1979; with death, the birth-death formula in mdrsim.biology.resistance)."""
    from mdrsim.biology.resistance import resistance_at_diagnosis
    from mdrsim.errors import MdrsimError

    try:
        r = resistance_at_diagnosis(
            mutation_rate,
            cells,
            birth_rate=birth,
            death_rate=death,
            n_trajectories=trajectories,
            seed=seed,
            method=method,  # type: ignore[arg-type]
        )
    except MdrsimError as exc:
        fail(exc)
    if as_json:
        emit_json(r.to_dict())
        return
    t = Table(title=f"Resistant clone at diagnosis ({cells:g} cells, {mutation_rate:g}/division)")
    for c in ("quantity", "value"):
        t.add_column(c)
    t.add_row("probability (simulated)", f"{r.probability:.4f}")
    t.add_row(f"{r.confidence:.0%} CI (Wilson)", f"{r.ci_low:.4f} – {r.ci_high:.4f}")
    t.add_row("probability (analytic)", f"{r.analytic_probability:.4f}")
    t.add_row("mean resistant cells (simulated)", f"{r.mean_resistant_cells:.4g}")
    t.add_row("mean resistant cells (analytic)", f"{r.analytic_mean_resistant_cells:.4g}")
    t.add_row("tumours diagnosed / simulated", f"{r.n_diagnosed} / {r.n_trajectories}")
    t.add_row("method, days to diagnosis", f"{r.method}, {r.horizon_days:.4g}")
    console.print(t)
