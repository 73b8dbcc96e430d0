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


def _user_resistance(fold: str | None, density: str | None) -> Any:
    """The user's ``--fold DRUG:FOLD`` or ``--pgp-density D`` (at most one), else None."""
    from mdrsim.experiments.pharmacology import UserResistance

    if fold is not None and density is not None:
        fail(
            f"--fold {fold!r} and --pgp-density {density!r}: give one of them (the density "
            "follows from the fold)"
        )
    try:
        if fold is not None:
            return UserResistance.parse_fold(fold)
        if density is not None:
            return UserResistance.parse_density(density)
    except MdrsimError as exc:
        fail(exc)
    return None


FoldOption = Annotated[
    str | None,
    typer.Option(
        "--fold",
        help="The line's measured fold resistance to one drug, DRUG:FOLD (e.g. vinblastine:200), "
        "for a line the library cannot calibrate; recorded in every output as user-supplied.",
    ),
]
DensityOption = Annotated[
    str | None,
    typer.Option(
        "--pgp-density",
        help="The line's P-gp density relative to MES-SA/Dx5 = 1 (e.g. 3.5), instead of "
        "--fold; recorded in every output as user-supplied.",
    ),
]


def _write_provenance(path: Path, doc: dict[str, Any], **extra: Any) -> None:
    import json

    from mdrsim import __version__
    from mdrsim.cli.common import to_json_value

    record = {"mdrsim_version": __version__, **extra, **doc}
    path.write_text(json.dumps(to_json_value(record), indent=2, allow_nan=False) + "\n")


def _user_rows(doc: dict[str, Any], user: Any) -> list[dict[str, Any]]:
    """Table rows of ``doc``; the user's values (if any) in words, the row left out otherwise."""
    rows = []
    for k, v in doc.items():
        if k == "user_supplied":
            if user is None:
                continue
            v = user.describe()
        rows.append({"quantity": k, "value": v})
    return rows


@assay_app.command("ic50")
def assay_ic50(
    drug: Annotated[str, typer.Option(help="Drug name (lower-case INN), e.g. doxorubicin.")],
    cell_line: Annotated[str, typer.Option("--cell-line", help="Cell line id, e.g. MES-SA/Dx5.")],
    inhibitor: Annotated[
        str | None,
        typer.Option(help="NAME:CONC, e.g. tariquidar:100nM (units: nM, uM, mM, ng/mL)."),
    ] = None,
    exposure: Annotated[str, typer.Option(help="Continuous exposure, e.g. 72h or 1h.")] = "72h",
    fold: FoldOption = None,
    pgp_density: DensityOption = None,
    out: Annotated[
        Path,
        typer.Option(help="Directory for ic50_curve.csv, ic50_curve.png, ic50_provenance.json."),
    ] = Path("results/assay"),
    as_json: JsonOption = False,
) -> None:
    """Dose–response, IC50, fold resistance vs the parental line, and reversal by an inhibitor.

    A resistant line the library cannot calibrate runs with the user's --fold DRUG:FOLD or
    --pgp-density; the table, --json and the provenance file then say "user-supplied".
    Writes OUT/ic50_curve.csv (concentration_uM, survival), OUT/ic50_curve.png and
    OUT/ic50_provenance.json (the inputs, the results and where the P-gp density comes from).
    """
    from mdrsim.experiments.pharmacology import ic50_assay

    user = _user_resistance(fold, pgp_density)
    inh_name, inh_conc = _inhibitor_arg(inhibitor)
    hours = _hours(exposure)
    try:
        report = ic50_assay(
            drug, cell_line, inhibitor=inh_name, inhibitor_uM=inh_conc, exposure_h=hours, user=user
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
    _write_provenance(out / "ic50_provenance.json", doc, command="assay ic50", exposure_h=hours)
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
    rows = [
        {**r, "quantity": labels.get(r["quantity"], r["quantity"])} for r in _user_rows(doc, user)
    ]
    title = f"{drug} on {cell_line}" + (" (P-gp density USER-SUPPLIED)" if user else "")
    _table(title, rows, ["quantity", "value"])
    console.print(f"wrote {out}/ic50_curve.csv, ic50_curve.png, ic50_provenance.json")


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
    fold: FoldOption = None,
    pgp_density: DensityOption = None,
    out: Annotated[
        Path,
        typer.Option(
            help="Directory for accumulation.csv, accumulation.png, accumulation_provenance.json."
        ),
    ] = Path("results/assay"),
    as_json: JsonOption = False,
) -> None:
    """Uptake then efflux time course of total intracellular drug, with/without an inhibitor.

    A resistant line the library cannot calibrate runs with --fold DRUG:FOLD or --pgp-density
    (recorded as user-supplied). Writes OUT/accumulation.csv (hours, intracellular_uM),
    OUT/accumulation.png and OUT/accumulation_provenance.json.
    """
    from mdrsim.data import parse_concentration
    from mdrsim.experiments.invitro import accumulation
    from mdrsim.experiments.pharmacology import drug_transport, inhibition_for, pgp_density_record

    user = _user_resistance(fold, pgp_density)
    lib = _library()
    try:
        lib.drug(probe)
        conc = parse_concentration(
            concentration, molecular_weight=lib.drug(probe).molecular_weight.value
        )
        if not (math.isfinite(conc) and conc > 0):
            fail(f"--concentration must be a positive finite concentration, got {concentration!r}")
        inh_name, inh_conc = _inhibitor_arg(inhibitor)
        record = pgp_density_record(cell_line, user=user)
        t, c = accumulation(
            drug_transport(probe),
            medium_conc=conc,
            hours=hours + efflux_hours,
            density=record.value,
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
        "pgp_density": record.value,
        "pgp_density_source": record.source,
        "user_supplied": user.as_dict() if user is not None else None,
    }
    _write_provenance(
        out / "accumulation_provenance.json",
        doc,
        command="assay accumulation",
        uptake_hours=hours,
        efflux_hours=efflux_hours,
        inhibitor_uM=inh_conc if inh_name else None,
    )
    if as_json:
        emit_json(doc)
        return
    title = f"{probe} accumulation in {cell_line}" + (
        " (P-gp density USER-SUPPLIED)" if user else ""
    )
    _table(title, _user_rows(doc, user), ["quantity", "value"])
    console.print(f"wrote {out}/accumulation.csv, accumulation.png, accumulation_provenance.json")
