"""Plain-dict rows of the library for tables and JSON (``mdrsim library …`` commands).

Presentation, not science: the rows pick and rename fields for display. They live apart from the
:class:`~mdrsim.data.library.Library` so the core does not carry the CLI's table layout; this
module could move to the CLI package later.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from mdrsim.data.library import Library
from mdrsim.data.schema import Quantity, quantities, substrate_label

__all__ = [
    "PROVENANCE_CLASSES",
    "all_quantities",
    "cell_line_rows",
    "drug_detail",
    "drug_rows",
    "inhibitor_rows",
    "provenance_counts",
    "provenance_markdown",
]

#: The classes :attr:`~mdrsim.data.schema.Quantity.provenance` can take, in report order.
PROVENANCE_CLASSES = (
    "assumed",
    "publication",
    "no_identifier",
    "unidentified",
    "label",
    "database",
    "derived",
    "missing",
)


def _v(q: Quantity | None) -> float | None:
    return None if q is None else q.value


def drug_rows(library: Library) -> list[dict[str, Any]]:
    """One plain dict per drug: class, substrate status, key numbers and their sources."""
    rows = []
    for name, d in library.drugs.items():
        ic50 = d.ic50_parental
        pk = d.pk
        rows.append(
            {
                "name": name,
                "class": d.drug_class,
                "substrate": substrate_label(d.pgp_substrate),
                "mw_g_per_mol": d.molecular_weight.value,
                "pgp_km_uM": _v(d.pgp_km),
                "pgp_hill": _v(d.pgp_hill),
                "permeability_nm_s": d.permeability.value,
                "pgp_efficiency": d.pgp_efficiency.value,
                "binding_ratio": d.binding_ratio.value,
                "ic50_parental_uM": _v(ic50),
                "ic50_cell_line": None if ic50 is None else ic50.cell_line,
                "emax_per_day": d.emax.value,
                "kill_hill": d.kill_hill.value,
                "has_pk": pk is not None and pk.clearance is not None,
                "pgp_clearance_fraction": None
                if pk is None
                else _v(pk.pgp_dependent_clearance_fraction),
                "assumed": [p for p, q in quantities(d) if q.assumed],
                "verify": [p for p, q in quantities(d) if q.verify],
                "sources": {
                    "pgp_substrate": d.pgp_substrate_source,
                    "pgp_km": None if d.pgp_km is None else d.pgp_km.source,
                    "permeability": d.permeability.source,
                    "pgp_efficiency": d.pgp_efficiency.source,
                    "ic50_parental": None if ic50 is None else ic50.source,
                },
            }
        )
    return rows


def drug_detail(library: Library, name: str) -> dict[str, Any]:
    """Everything about one drug as plain data, plus its folds in every cell line."""
    d = library.drug(name)
    out: dict[str, Any] = d.model_dump(mode="json", by_alias=True, exclude_none=True)
    out["substrate"] = substrate_label(d.pgp_substrate)
    out["assumed_fields"] = [p for p, q in quantities(d) if q.assumed]
    out["verify_fields"] = [p for p, q in quantities(d) if q.verify]
    out["fold_resistance"] = [r for r in library.fold_pairs() if r["drug"] == d.name]
    out["ddi"] = {
        inh: q.model_dump(mode="json", exclude_none=True)
        for inh, i in library.inhibitors.items()
        for dname, q in i.ddi.items()
        if dname == d.name
    }
    return out


def cell_line_rows(library: Library) -> list[dict[str, Any]]:
    """One plain dict per cell line."""
    rows = []
    for lid, c in library.cell_lines.items():
        cal = c.fold_resistance.get(c.calibration_drug) if c.calibration_drug else None
        uses = [f.use for f in c.fold_resistance.values()]
        rows.append(
            {
                "id": lid,
                "parental": c.parental,
                "tissue": c.tissue,
                "species": c.species,
                "pgp_mechanism": c.pgp_mechanism,
                "pgp_density": _v(c.pgp_density),
                "selecting_drug": c.selecting_drug,
                "calibration_drug": c.calibration_drug,
                "calibration_fold": _v(cal),
                "calibration_verify": None if cal is None else cal.verify,
                "n_folds": len(c.fold_resistance),
                "n_validation": uses.count("validation"),
                "n_control": uses.count("control"),
                "doubling_time_h": c.doubling_time_h.value,
                "source": c.reference or c.pgp_mechanism_source,
            }
        )
    return rows


def inhibitor_rows(library: Library) -> list[dict[str, Any]]:
    """One plain dict per inhibitor: generation, mechanism, Ki, clinical level, DDIs."""
    rows = []
    for name, i in library.inhibitors.items():
        t_half = None if i.pk is None or i.pk.t_half is None else i.pk.t_half.to("h")
        rows.append(
            {
                "name": name,
                "synonyms": list(i.synonyms),
                "generation": i.generation,
                "mechanism": i.mechanism,
                "is_substrate": i.is_substrate,
                "ki_uM": i.ki.value,
                "clinical_concentration_uM": i.clinical_concentration.value,
                "clinical_over_ki": i.clinical_concentration.value / i.ki.value,
                "t_half_h": t_half,
                "t_half_species": None if i.pk is None else i.pk.species,
                "ddi_clearance_change": {d: q.value for d, q in i.ddi.items()},
                "assumed": [p for p, q in quantities(i) if q.assumed],
                "verify": [p for p, q in quantities(i) if q.verify],
                "sources": {
                    "ki": i.ki.source,
                    "clinical_concentration": i.clinical_concentration.source,
                    "mechanism": i.mechanism_source,
                },
            }
        )
    return rows


def all_quantities(library: Library) -> list[tuple[str, Quantity]]:
    """Every quantity of the library with a ``file:entry.path`` label (templates at each use)."""
    out: list[tuple[str, Quantity]] = []
    for file, entries in (
        ("drugs", library.drugs),
        ("inhibitors", library.inhibitors),
        ("cell_lines", library.cell_lines),
    ):
        for name, entry in entries.items():
            out.extend((f"{file}:{name}.{path}", q) for path, q in quantities(entry))
    for kind, mods in (
        ("expression_inhibitors", library.expression_inhibitors),
        ("expression_inducers", library.expression_inducers),
    ):
        for mod in mods:
            out.extend((f"inhibitors:{kind}.{mod.name}.{p}", q) for p, q in quantities(mod))
    return out


def provenance_counts(library: Library) -> dict[str, int]:
    """How many quantities are in each provenance class, plus ``total``, ``verify`` and
    ``with_doi_or_pmid`` (any quantity carrying an identifier, assumed ones included)."""
    qs = [q for _, q in all_quantities(library)]
    by_class = Counter(q.provenance for q in qs)
    counts = {"total": len(qs)}
    counts.update({c: by_class.get(c, 0) for c in PROVENANCE_CLASSES})
    counts["sourced"] = counts["total"] - counts["assumed"]
    counts["with_doi_or_pmid"] = sum(q.doi is not None or q.pmid is not None for q in qs)
    counts["verify"] = sum(q.verify for q in qs)
    return counts


def provenance_markdown(library: Library) -> str:
    """The provenance paragraph of ``docs/library.md`` (between its ``provenance`` markers)."""
    c = provenance_counts(library)
    return (
        f"Of {c['total']} quantities (drugs, inhibitors, cell lines and expression modifiers; "
        f"templates counted at each use) {c['assumed']} are assumed and {c['sourced']} sourced; "
        f"{c['verify']} carry `verify: true`. Of the sourced ones, {c['publication']} cite a "
        f"publication with a DOI or PMID in its own field, {c['no_identifier']} a publication "
        f"named by journal, volume and pages whose DOI/PMID was not found in the text read, "
        f"{c['unidentified']} a source that could not be identified, {c['label']} a drug label, "
        f"{c['database']} a database record (PubChem) and {c['derived']} are derived from other "
        f"entries; {c['missing']} are unclassified."
    )
