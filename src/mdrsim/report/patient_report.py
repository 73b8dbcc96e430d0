"""One patient's (or several patients') report from Python, without the CLI.

:class:`PatientSummary` is the typed form of the summary :func:`mdrsim.patient.summarise`
returns; it is formatted here once, to JSON (:meth:`PatientSummary.to_dict`), to the rows of a
printed table (:meth:`PatientSummary.rows`) and to one row of a comparison
(:meth:`PatientSummary.compare_row`). :func:`write_patient_report` writes everything
``mdrsim run`` writes; :func:`write_compare_report` everything ``mdrsim compare`` writes::

    from mdrsim.patient.scenario import load_scenario       # or parse_scenario(text)
    from mdrsim.patient import run_scenario
    from mdrsim.report.patient_report import write_patient_report

    report = write_patient_report(run_scenario(scenario), Path("results/run"))
    report.summary.rows()                  # [("best response (line 1)", "PR (-58 %)"), …]
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from pydantic import BaseModel, ConfigDict

from mdrsim.report.html import Section, write_html

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from mdrsim.patient import PatientRun

__all__ = [
    "COMPARE_VARIABLES",
    "CompareReport",
    "PatientReport",
    "PatientSummary",
    "patient_figures",
    "scenario_names",
    "write_compare_report",
    "write_patient_data",
    "write_patient_figures",
    "write_patient_report",
]

#: Variables plotted side by side by :func:`write_compare_report`.
COMPARE_VARIABLES = ("tumour_total", "mdr1_high_fraction", "E_cd8", "M_cd8", "ANC")

#: Figure name (file stem) → caption, in the order the report shows them.
FIGURE_CAPTIONS = {
    "tumour_by_clone": "Tumour burden by MDR1 clone, with treatment lines and progression",
    "drug_levels": "Plasma and intracellular drug per clone (µM)",
    "cd8": "Pathogen-specific CD8 T cells: naive, activated, effector, memory",
    "anc": "Absolute neutrophil count with the grade 3 and 4 thresholds",
    "infection": "Infection load",
}


class _Record(BaseModel):
    # Frozen: a summary is a result, not a scratch pad. Unknown keys are refused, so a key the
    # patient code adds or renames fails here loudly instead of vanishing from summary.json.
    model_config = ConfigDict(frozen=True, extra="forbid")


class PatientInfo(_Record):
    bsa_m2: float
    weight_kg: float
    cd8_mdr1: str


class LineSummary(_Record):
    line: int
    regimen: str
    start_day: float
    best_response: str
    best_change_pct: float | None
    progression_day: float | None
    time_to_progression_days: float | None
    cycles_given: int
    cycles_paused: int = 0  # adaptive therapy: cycles skipped while the burden was low
    cycle_delays: int
    final_dose_factor: float


class AncSummary(_Record):
    nadir_1e9_per_L: float
    nadir_day: float | None
    worst_grade: int
    drugs_without_marrow_data: list[str]


class Cd8Summary(_Record):
    effector_peak_cells: float
    effector_peak_day: float | None
    memory_cells_at_horizon: float
    memory_relative_to_untreated: float | None
    tumour_ctl_relative_to_untreated: float | None


class InfectionSummary(_Record):
    pathogen: str
    day: float
    cleared: bool | None
    cleared_day: float | None
    days_to_clear: float | None


class TumourSummary(_Record):
    burden_at_horizon_1e9_cells: float
    mdr1_high_fraction_at_horizon: float | None
    mdr1_high_fraction_at_first_progression: float | None


class PatientSummary(_Record):
    """The outcome of one scenario (the fields of ``summary.json``, in its order)."""

    scenario: str
    horizon_days: float
    patient: PatientInfo
    best_response: str
    best_change_pct: float | None
    progression_free_survival_days: float
    progressed: bool
    lines: list[LineSummary]
    drug_auc_mg_h_per_L: dict[str, float]
    anc: AncSummary
    cd8: Cd8Summary
    infections: list[InfectionSummary]
    tumour: TumourSummary
    provenance: dict[str, Any]

    @classmethod
    def from_dict(cls, summary: dict[str, Any]) -> PatientSummary:
        """From the dict :func:`mdrsim.patient.summarise` returns."""
        return cls.model_validate(summary)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the content of ``summary.json``)."""
        return self.model_dump()

    def rows(self) -> list[tuple[str, str]]:
        """(quantity, value) rows for a printed table or the report's summary table."""
        rows = [
            (
                "best response (line 1)",
                f"{self.best_response} ({_fmt(self.best_change_pct, ' %')})",
            ),
            (
                "progression-free survival",
                _fmt(self.progression_free_survival_days, " d")
                + ("" if self.progressed else " (censored)"),
            ),
        ]
        for line in self.lines:
            ttp = line.time_to_progression_days
            ttp_text = _fmt(ttp, " d") if ttp is not None else "not reached"
            paused = f" ({line.cycles_paused} paused)" if line.cycles_paused else ""
            rows.append(
                (
                    f"line {line.line}: {line.regimen}",
                    f"{line.best_response}, TTP {ttp_text}, {line.cycles_given} cycles{paused}",
                )
            )
        for drug, auc in self.drug_auc_mg_h_per_L.items():
            # Summed over every cycle of the run (issue 13: say so).
            rows.append((f"AUC {drug}, all cycles", _fmt(auc, " mg·h/L")))
        anc = self.anc
        rows.append(
            (
                "ANC nadir",
                f"{_fmt(anc.nadir_1e9_per_L, ' ×10⁹/L')} on day {_fmt(anc.nadir_day)}"
                f" (grade {anc.worst_grade})",
            )
        )
        cd8 = self.cd8
        rows.append(
            (
                "CD8 effector peak",
                f"{_fmt(cd8.effector_peak_cells, ' cells')} on day {_fmt(cd8.effector_peak_day)}",
            )
        )
        rows.append(
            (
                "CD8 memory at horizon",
                f"{_fmt(cd8.memory_cells_at_horizon, ' cells')} "
                f"({_fmt(cd8.memory_relative_to_untreated)} × untreated)",
            )
        )
        for inf in self.infections:
            if inf.cleared is None:
                state = "—"
            elif inf.cleared:
                state = f"cleared on day {_fmt(inf.cleared_day)}"
            else:
                state = "not cleared"
            rows.append((f"infection ({inf.pathogen}, day {_fmt(inf.day)})", state))
        rows.append(
            (
                "MDR1-high fraction at first progression",
                _fmt(self.tumour.mdr1_high_fraction_at_first_progression),
            )
        )
        rows.append(
            ("tumour at horizon", _fmt(self.tumour.burden_at_horizon_1e9_cells, " ×10⁹ cells"))
        )
        # Issue 17: which interactions were measured and which are a rule; doses above label.
        for ddi in self.provenance.get("interactions", []):
            change = ddi["clearance_change_at_clinical_concentration"]
            rows.append(
                (
                    f"interaction {ddi['inhibitor']} + {ddi['drug']}",
                    f"clearance {100 * change:+.0f} %, {ddi['basis']}",
                )
            )
        pgp = self.provenance.get("tumour_mdr1_high_pgp")
        if pgp:  # issue 17: the MDR1-high clone's P-gp from a line or the user
            rows.append(
                ("MDR1-high clone P-gp density", f"{_fmt(pgp['pgp_density'])} ({pgp['source']})")
            )
        for warning in self.provenance.get("warnings", []):
            rows.append(("WARNING: dose above label", warning))
        return rows

    def compare_row(self, name: str) -> dict[str, Any]:
        """One row of ``comparison.csv`` (the scenario under ``name``)."""
        return {
            "scenario": name,
            "best_response": self.best_response,
            "best_change_pct": self.best_change_pct,
            "pfs_days": self.progression_free_survival_days,
            "progressed": self.progressed,
            "lines_started": len(self.lines),
            "anc_nadir": self.anc.nadir_1e9_per_L,
            "worst_neutropenia_grade": self.anc.worst_grade,
            "cd8_effector_peak": self.cd8.effector_peak_cells,
            "cd8_memory": self.cd8.memory_cells_at_horizon,
            "cd8_memory_vs_untreated": self.cd8.memory_relative_to_untreated,
            "infection_cleared_day": self.infections[0].cleared_day if self.infections else None,
            "mdr1_high_fraction_at_progression": (
                self.tumour.mdr1_high_fraction_at_first_progression
            ),
        }


def _fmt(x: object, unit: str = "") -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.3g}{unit}"
    return f"{x}{unit}"


@dataclass(frozen=True)
class PatientReport:
    """What :func:`write_patient_report` wrote."""

    summary: PatientSummary
    out: Path
    figures: dict[str, Path]
    files: list[Path]


@dataclass(frozen=True)
class CompareReport:
    """What :func:`write_compare_report` wrote; ``table`` is ``comparison.csv``."""

    names: list[str]
    summaries: list[PatientSummary]
    table: pd.DataFrame
    out: Path
    files: list[Path]


def patient_figures(run: PatientRun) -> dict[str, Figure]:
    """The figures of one patient, by name (see :data:`FIGURE_CAPTIONS`); a figure with
    nothing to draw (e.g. no infection) is left out."""
    from mdrsim.report import patient_plots as pp

    traj = run.trajectories
    lines = [
        {
            "name": row["regimen"],
            "start_day": row["start_day"],
            "progression_day": None if pd.isna(row["progression_day"]) else row["progression_day"],
            "end_day": None if pd.isna(row.get("end_day")) else row.get("end_day"),
        }
        for row in run.lines.to_dict("records")
    ]
    figures = {
        "tumour_by_clone": pp.plot_tumour_by_clone(traj, lines),
        "drug_levels": pp.plot_drug_levels(
            traj, cycle_days=run.scenario.lines[0].cycle_length_days
        ),
        "cd8": pp.plot_cd8(traj),
        "anc": pp.plot_anc(traj),
        # The pathogen names are the model's (the scenario's infections), never spelled here.
        "infection": pp.plot_infection(traj, run.model.pathogens),
    }
    return {name: fig for name, fig in figures.items() if fig is not None}


def write_patient_data(run: PatientRun, out: Path) -> PatientReport:
    """The fast part of :func:`write_patient_report`: trajectories.parquet (time, variable,
    value), lines.csv and summary.json in ``out`` (created if missing); no figures, no HTML."""
    summary = PatientSummary.from_dict(run.summary)
    out.mkdir(parents=True, exist_ok=True)
    files = [out / "trajectories.parquet", out / "lines.csv", out / "summary.json"]
    run.trajectories.to_parquet(files[0], index=False)
    run.lines.to_csv(files[1], index=False)
    files[2].write_text(json.dumps(summary.to_dict(), indent=2) + "\n")
    return PatientReport(summary=summary, out=out, figures={}, files=files)


def write_patient_figures(run: PatientRun, data: PatientReport) -> PatientReport:
    """The slow part of :func:`write_patient_report`: one PNG per figure and report.html,
    added to what :func:`write_patient_data` wrote."""
    out = data.out
    figures: dict[str, Path] = {}
    for name, fig in patient_figures(run).items():
        figures[name] = out / f"{name}.png"
        fig.savefig(figures[name], dpi=150)
    files = [*data.files, *figures.values()]
    files.append(_write_patient_html(run, data.summary, out, figures))
    return PatientReport(summary=data.summary, out=out, figures=figures, files=files)


def write_patient_report(run: PatientRun, out: Path, *, figures: bool = True) -> PatientReport:
    """Write one patient's files to ``out`` (created if missing): trajectories.parquet
    (time, variable, value), lines.csv, summary.json and, with ``figures`` (the default),
    one PNG per figure (tumour_by_clone, drug_levels, cd8, anc, and infection when the
    scenario has infections) and a self-contained report.html."""
    data = write_patient_data(run, out)
    return write_patient_figures(run, data) if figures else data


def _write_patient_html(
    run: PatientRun, s: PatientSummary, out: Path, figures: dict[str, Path]
) -> Path:
    table = pd.DataFrame(s.rows(), columns=["quantity", "value"])
    missing_marrow = s.anc.drugs_without_marrow_data

    def shown(*names: str) -> list[tuple[str, Any]]:
        return [(FIGURE_CAPTIONS[k], figures[k]) for k in names if k in figures]

    sections = [
        Section(
            "Summary",
            text=(run.scenario.description or "").strip(),
            tables=[("Outcome of the scenario", table), ("Treatment lines", run.lines.copy())],
        ),
        Section(
            "Tumour and resistance",
            text="Clones are indexed by MDR1 expression; each is killed by its own "
            "intracellular drug level. Progression and response follow RECIST 1.1 on scans "
            f"every {run.scenario.scan_interval_days:g} days.",
            figures=shown("tumour_by_clone", "drug_levels"),
        ),
        Section(
            "T cells and infections",
            text="CD8 T cells need MDR1 for their early survival after activation; an MDR1 "
            "inhibitor removes it, and chemotherapy reaches inside T cells whose P-gp is "
            "blocked. Memory is compared with the same patient untreated.",
            figures=shown("cd8", "infection"),
        ),
        Section(
            "Marrow",
            text="Friberg semi-mechanistic neutrophil model driven by every drug."
            + (" No marrow data for: " + ", ".join(missing_marrow) + "." if missing_marrow else ""),
            figures=shown("anc"),
        ),
    ]
    return write_html(
        out / "report.html",
        f"mdrsim: {run.scenario.name}",
        sections,
        provenance=s.provenance,
        subtitle=f"{run.scenario.horizon_days:g}-day horizon",
    )


def scenario_names(runs: Sequence[PatientRun], sources: Sequence[str | Path]) -> list[str]:
    """The scenarios' names, made unique with their source file names when two agree."""
    names = [r.scenario.name for r in runs]
    if len(set(names)) != len(names):
        names = [f"{r.scenario.name} ({Path(p).name})" for r, p in zip(runs, sources, strict=True)]
    return names


def write_compare_report(
    runs: Sequence[PatientRun], out: Path, names: Sequence[str] | None = None
) -> CompareReport:
    """The same patient under several regimens, side by side, written to ``out``:
    comparison.csv (one row per scenario), summaries.json, compare_<variable>.png for each
    of :data:`COMPARE_VARIABLES` that some scenario has, and a self-contained report.html.

    ``names`` label the scenarios (default: their names, which must then be unique)."""
    from mdrsim.errors import ReportError
    from mdrsim.report.patient_plots import plot_compare

    labels = list(names) if names is not None else [r.scenario.name for r in runs]
    if len(runs) < 2:
        raise ReportError(f"runs: a comparison needs at least two scenarios, got {len(runs)}")
    if len(labels) != len(runs) or len(set(labels)) != len(labels):
        raise ReportError(f"names: need one unique name per scenario ({len(runs)}), got {labels!r}")
    summaries = [PatientSummary.from_dict(r.summary) for r in runs]
    table = pd.DataFrame([s.compare_row(n) for n, s in zip(labels, summaries, strict=True)])
    out.mkdir(parents=True, exist_ok=True)
    files = [out / "comparison.csv", out / "summaries.json"]
    table.to_csv(files[0], index=False)
    files[1].write_text(
        json.dumps({n: s.to_dict() for n, s in zip(labels, summaries, strict=True)}, indent=2)
        + "\n"
    )
    trajs = {n: r.trajectories for n, r in zip(labels, runs, strict=True)}
    pathogens = sorted({p for r in runs for p in r.model.pathogens})
    figures: list[tuple[str, Any]] = []
    for var in COMPARE_VARIABLES:
        fig = plot_compare(trajs, var, pathogens=pathogens)
        if fig is None:
            continue
        path = out / f"compare_{var}.png"
        fig.savefig(path, dpi=150)
        figures.append((var, path))
        files.append(path)
    files.append(
        write_html(
            out / "report.html",
            "mdrsim: " + " vs ".join(labels),
            [
                Section("Side by side", tables=[("One row per scenario", table)]),
                Section("Trajectories", figures=figures),
            ],
            provenance={
                n: s.provenance["scenario_sha256"] for n, s in zip(labels, summaries, strict=True)
            },
        )
    )
    return CompareReport(names=labels, summaries=summaries, table=table, out=out, files=files)
