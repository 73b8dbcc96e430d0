"""``mdrsim experiment …``: simulated studies (registered on the main app by mdrsim.cli.app)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mdrsim.cli.common import console, emit_json, fail

experiment_app = typer.Typer(help="Simulated experiments.", no_args_is_help=True)


@experiment_app.command("mdr1-tcells")
def mdr1_tcells(
    schedule: Annotated[
        list[str] | None,
        typer.Option(
            help="Extra inhibitor groups by schedule: days0-3, after-day8, full (repeatable)."
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="Directory for the files listed below.")] = Path(
        "results/mdr1_tcells"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Wild type vs MDR1-deficient vs wild type + inhibitor: LCMV-like infection, 60 days of
    CD8 T cells, then a Listeria-like challenge (after Chen et al., J Exp Med 2020).

    Writes OUT/groups.csv (the table), OUT/trajectories.csv (day, group, naive, activated,
    effector, memory, virus, bacteria) and OUT/cd8_response.png.
    """
    import pandas as pd

    from mdrsim.experiments.mouse_mdr1 import DEFAULT_GROUPS, SCHEDULES, Group, run_study
    from mdrsim.report.plots import plot_mouse_study

    groups = list(DEFAULT_GROUPS)
    for s in schedule or []:
        if s not in SCHEDULES or s == "none":
            fail(f"--schedule {s!r}: allowed days0-3, after-day8, full")
        groups.append(Group(f"wild type + inhibitor ({s})", 1.0, s))
    study = run_study(tuple(groups))
    rows = study.table()
    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(out / "groups.csv", index=False)
    r = study.result
    frames = []
    for i, g in enumerate(study.groups):
        frames.append(
            pd.DataFrame(
                {
                    "day": r.times,
                    "group": g.name,
                    **{
                        k: r[v][i]
                        for k, v in (
                            ("naive", "N_cd8"),
                            ("activated", "A_cd8"),
                            ("effector", "E_cd8"),
                            ("memory", "M_cd8"),
                            ("virus", "virus"),
                            ("bacteria", "bacteria"),
                        )
                    },
                }
            )
        )
    pd.concat(frames).to_csv(out / "trajectories.csv", index=False)
    plot_mouse_study(study, out / "cd8_response.png")
    if as_json:
        emit_json(
            {
                "groups": rows,
                "files": [
                    str(out / f) for f in ("groups.csv", "trajectories.csv", "cd8_response.png")
                ],
            }
        )
        return
    t = Table(title="MDR1 and the CD8 response (peak, memory at day 60, protection)")
    for c in (
        "group",
        "peak cells",
        "peak day",
        "memory d60",
        "memory/peak",
        "contraction /d",
        "bacteria 3 d after challenge",
    ):
        t.add_column(c)
    for row in rows:
        t.add_row(
            str(row["group"]),
            f"{row['peak_cells']:.3g}",
            f"{row['peak_day']:g}",
            f"{row['memory_day60_cells']:.3g}",
            f"{row['memory_fraction_of_peak']:.1%}",
            f"{row['contraction_rate_per_day']:.2f}",
            f"{row['bacteria_3d_after_challenge']:.3g}",
        )
    console.print(t)
    console.print(f"wrote {out}/groups.csv, trajectories.csv, cd8_response.png")
