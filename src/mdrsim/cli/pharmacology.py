"""CLI commands of the cellular-pharmacology layer: the library and the in-vitro assays.

Registered on the main app by :mod:`mdrsim.cli.app`: ``mdrsim drugs list|show``,
``mdrsim inhibitors list``, ``mdrsim cell-lines list``, ``mdrsim assay ic50|accumulation``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from mdrsim.cli.common import console, emit_json, fail
from mdrsim.errors import MdrsimError

drugs_app = typer.Typer(help="The drug library (with sources).", no_args_is_help=True)
inhibitors_app = typer.Typer(help="The P-gp inhibitor library.", no_args_is_help=True)
cell_lines_app = typer.Typer(help="Parental and MDR cell lines.", no_args_is_help=True)
assay_app = typer.Typer(help="Simulated in-vitro assays.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def _table(title: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
    t = Table(title=title)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*(_fmt(r.get(c)) for c in columns))
    console.print(t)


_HIDDEN = {"sources", "assumed", "verify"}


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    """Scalar columns for a printed table (lists and mappings stay in --json)."""
    if not rows:
        return []
    return [c for c, v in rows[0].items() if c not in _HIDDEN and not isinstance(v, dict | list)]


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _library() -> Any:
    from mdrsim.data.library import load_library

    try:
        return load_library()
    except MdrsimError as exc:
        fail(str(exc))


@drugs_app.command("list")
def drugs_list(as_json: JsonOption = False) -> None:
    """List the drugs: class, P-gp substrate status and key numbers with sources."""
    from mdrsim.data import tables

    rows = tables.drug_rows(_library())
    if as_json:
        emit_json({"drugs": rows})
    else:
        cols = [
            "name",
            "class",
            "substrate",
            "pgp_km_uM",
            "permeability_nm_s",
            "pgp_efficiency",
            "ic50_parental_uM",
        ]
        _table("Drug library (all fields and sources: --json or drugs show NAME)", rows, cols)


@drugs_app.command("show")
def drugs_show(
    name: Annotated[str, typer.Argument(help="Drug (lower-case INN).")], as_json: JsonOption = False
) -> None:
    """Every number for one drug, with unit and source."""
    from mdrsim.data import tables

    lib = _library()
    try:
        detail = tables.drug_detail(lib, name)
    except (MdrsimError, KeyError) as exc:
        fail(str(exc).strip("'\""))
    if as_json:
        emit_json(detail)
        return
    rows = [{"field": k, **(v if isinstance(v, dict) else {"value": v})} for k, v in detail.items()]
    _table(f"{name}", rows, ["field", "value", "unit", "source"])


@inhibitors_app.command("list")
def inhibitors_list(as_json: JsonOption = False) -> None:
    """List the P-gp inhibitors: generation, mechanism, potency, achievable concentration."""
    from mdrsim.data import tables

    rows = tables.inhibitor_rows(_library())
    if as_json:
        emit_json({"inhibitors": rows})
    else:
        _table("P-gp inhibitors", rows, _columns(rows))


@cell_lines_app.command("list")
def cell_lines_list(as_json: JsonOption = False) -> None:
    """List the cell lines: parental, selecting drug, published fold resistance, source."""
    from mdrsim.data import tables

    rows = tables.cell_line_rows(_library())
    if as_json:
        emit_json({"cell_lines": rows})
    else:
        _table("Cell lines", rows, _columns(rows))


def _inhibitor_arg(text: str | None) -> tuple[str | None, float]:
    if not text:
        return None, 0.0
    from mdrsim.data import parse_concentration

    name, sep, conc = text.partition(":")
    if not sep:
        fail(f"--inhibitor {text!r}: expected NAME:CONCENTRATION, e.g. tariquidar:100nM")
    lib = _library()
    try:
        inh = lib.inhibitor(name.strip())
        return name.strip(), parse_concentration(conc, molecular_weight=inh.molecular_weight.value)
    except (MdrsimError, ValueError, KeyError) as exc:
        fail(f"--inhibitor {text!r}: {str(exc).strip(chr(39))}")
    raise AssertionError  # unreachable


def _hours(text: str) -> float:
    t = text.strip().lower().removesuffix("h").strip()
    try:
        value = float(t)
    except ValueError:
        fail(f"--exposure {text!r}: expected hours such as 72h or 1h")
    if value <= 0:
        fail(f"--exposure {text!r}: must be > 0")
    return value


@assay_app.command("ic50")
def assay_ic50(
    drug: Annotated[str, typer.Option(help="Drug name (lower-case INN), e.g. doxorubicin.")],
    cell_line: Annotated[str, typer.Option("--cell-line", help="Cell line id, e.g. MES-SA/Dx5.")],
    inhibitor: Annotated[
        str | None,
        typer.Option(help="NAME:CONC, e.g. tariquidar:100nM (units: nM, uM, mM, ng/mL)."),
    ] = None,
    exposure: Annotated[str, typer.Option(help="Continuous exposure, e.g. 72h or 1h.")] = "72h",
    out: Annotated[
        Path, typer.Option(help="Directory for ic50_curve.csv and ic50_curve.png.")
    ] = Path("results/assay"),
    as_json: JsonOption = False,
) -> None:
    """Dose–response, IC50, fold resistance vs the parental line, and reversal by an inhibitor.

    Writes OUT/ic50_curve.csv (concentration_uM, survival) and OUT/ic50_curve.png.
    """
    from mdrsim.experiments.pharmacology import ic50_assay

    inh_name, inh_conc = _inhibitor_arg(inhibitor)
    try:
        report = ic50_assay(
            drug, cell_line, inhibitor=inh_name, inhibitor_uM=inh_conc, exposure_h=_hours(exposure)
        )
    except (MdrsimError, KeyError, ValueError) as exc:
        fail(str(exc).strip("'\""))
    out.mkdir(parents=True, exist_ok=True)
    import pandas as pd

    pd.DataFrame(
        {"concentration_uM": report.curve.concentrations, "survival": report.curve.survival}
    ).to_csv(out / "ic50_curve.csv", index=False)
    from mdrsim.report.plots import plot_dose_response

    plot_dose_response(report, out / "ic50_curve.png")
    doc = report.as_dict()
    if as_json:
        emit_json(doc)
        return
    labels: dict[str, str] = {}
    if inh_name:
        # Issue 13: with an inhibitor, the IC50 and the fold are measured with it; say so.
        cond = f"with {inh_name} {inh_conc:.3g} µM"
        labels = {
            "ic50_uM": f"ic50_uM ({cond})",
            "fold_resistance": f"fold_resistance ({cond}, vs the parental without)",
            "parental_ic50_uM": "parental_ic50_uM (no inhibitor)",
            "reversal_factor": "reversal_factor (IC50 without / with the inhibitor)",
        }
        doc = {**doc, "ic50_without_inhibitor_uM": report.ic50_without_inhibitor_uM}
    rows = [{"quantity": labels.get(k, k), "value": v} for k, v in doc.items()]
    _table(f"{drug} on {cell_line}", rows, ["quantity", "value"])
    console.print(f"wrote {out}/ic50_curve.csv, ic50_curve.png")


@assay_app.command("accumulation")
def assay_accumulation(
    probe: Annotated[str, typer.Option(help="Drug or probe name, e.g. doxorubicin.")],
    cell_line: Annotated[str, typer.Option("--cell-line", help="Cell line id.")],
    concentration: Annotated[str, typer.Option(help="Medium concentration, e.g. 1uM.")] = "1 uM",
    hours: Annotated[float, typer.Option(help="Uptake phase duration (h).")] = 1.0,
    efflux_hours: Annotated[
        float, typer.Option(help="Efflux phase in drug-free medium (h).")
    ] = 1.0,
    inhibitor: Annotated[str | None, typer.Option(help="NAME:CONC, e.g. verapamil:10uM.")] = None,
    out: Annotated[Path, typer.Option(help="Directory for accumulation.csv and .png.")] = Path(
        "results/assay"
    ),
    as_json: JsonOption = False,
) -> None:
    """Uptake then efflux time course of total intracellular drug, with/without an inhibitor.

    Writes OUT/accumulation.csv (hours, intracellular_uM) and OUT/accumulation.png.
    """
    from mdrsim.data import parse_concentration
    from mdrsim.experiments.invitro import accumulation
    from mdrsim.experiments.pharmacology import drug_transport, inhibition_for, pgp_density

    lib = _library()
    try:
        lib.drug(probe)
        conc = parse_concentration(
            concentration, molecular_weight=lib.drug(probe).molecular_weight.value
        )
        if not (math.isfinite(conc) and conc > 0):
            fail(f"--concentration must be a positive finite concentration, got {concentration!r}")
        inh_name, inh_conc = _inhibitor_arg(inhibitor)
        t, c = accumulation(
            drug_transport(probe),
            medium_conc=conc,
            hours=hours + efflux_hours,
            density=pgp_density(cell_line),
            inhibition=inhibition_for(inh_name, probe) if inh_name else None,
            inhibitor_conc=inh_conc,
            efflux_from_h=hours if efflux_hours > 0 else None,
        )
    except (MdrsimError, KeyError, ValueError) as exc:
        fail(str(exc).strip("'\""))
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"hours": t, "intracellular_uM": c}).to_csv(out / "accumulation.csv", index=False)
    from mdrsim.report.plots import plot_accumulation

    plot_accumulation(
        t, c, out / "accumulation.png", title=f"{probe} in {cell_line}", efflux_from_h=hours
    )
    peak = float(c.max())
    doc = {
        "probe": probe,
        "cell_line": cell_line,
        "medium_uM": conc,
        "peak_intracellular_uM": peak,
        "accumulation_ratio": peak / conc,
        "end_of_efflux_uM": float(c[-1]),
        "inhibitor": inh_name,
    }
    if as_json:
        emit_json(doc)
        return
    _table(
        f"{probe} accumulation in {cell_line}",
        [{"quantity": k, "value": v} for k, v in doc.items()],
        ["quantity", "value"],
    )
    console.print(f"wrote {out}/accumulation.csv, accumulation.png")
