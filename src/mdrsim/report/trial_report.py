"""A stored trial's summary and report from Python, without the CLI.

:func:`write_trial_report` analyses a trial directory written by
:func:`mdrsim.trial.run_trial` and writes summary.json, summary.csv, failures.csv, km.png,
waterfall.png, swimmer.png and a self-contained report.html — everything ``mdrsim trial``
writes after the run::

    from mdrsim.report.trial_report import write_trial_report

    report = write_trial_report(run.store.root)
    report.summary.arms[1].hr_vs_control

:class:`TrialSummary` is the typed form of summary.json, formatted here once: to JSON
(:meth:`TrialSummary.to_dict`) and to the rows of the printed per-arm table
(:meth:`TrialSummary.table`).
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
from pydantic import BaseModel, ConfigDict

from mdrsim.report.html import Section, write_html
from mdrsim.trial.endpoints import Endpoint

__all__ = [
    "SWIMMER_PATIENTS",
    "WATERFALL_PATIENTS",
    "ArmSummary",
    "PopulationCounts",
    "TrialReport",
    "TrialSummary",
    "read_trial_summary",
    "report_is_current",
    "write_trial_report",
]

#: Patients shown in the waterfall (per arm) and the swimmer plot: the first by index, so the
#: figures are the same whatever the trial size and never read the whole store.
WATERFALL_PATIENTS = 1000
SWIMMER_PATIENTS = 30

#: Endpoint columns the waterfall and swimmer plots read.
_FIGURE_COLUMNS = (
    Endpoint.PATIENT,
    Endpoint.ARM,
    Endpoint.STATUS,
    Endpoint.PFS_DAYS,
    Endpoint.PFS_EVENT,
    Endpoint.BEST_RESPONSE,
    Endpoint.BEST_CHANGE_PCT,
    Endpoint.TTF_LINE1_DAYS,
)


class _Record(BaseModel):
    # Frozen and closed: a key the analysis adds or renames fails here, not in a reader's
    # script months later.
    model_config = ConfigDict(frozen=True, extra="forbid")


class ArmSummary(_Record):
    """One arm (see :func:`mdrsim.trial.analysis.analyse`); None where not estimable. An
    unreached median has ``median_pfs_reached`` False and ``median_pfs_days`` None."""

    arm: str
    n: int
    n_failed: int
    n_events: int
    median_pfs_reached: bool
    median_pfs_days: float | None
    median_pfs_lower: float | None
    median_pfs_upper: float | None
    hr_vs_control: float | None
    hr_lower: float | None
    hr_upper: float | None
    hr_p: float | None
    logrank_chi2: float | None
    logrank_p: float | None
    orr: float | None
    orr_lower: float | None
    orr_upper: float | None
    grade4_neutropenia_rate: float | None
    infection_not_cleared_rate: float | None
    cd8_memory_ratio_median: float | None
    n_deaths: int
    median_os_reached: bool
    median_os_days: float | None
    median_os_lower: float | None
    median_os_upper: float | None
    os_1y: float | None
    os_1y_lower: float | None
    os_1y_upper: float | None
    early_death_rate: float | None
    early_death_rate_lower: float | None
    early_death_rate_upper: float | None
    febrile_neutropenia_rate: float | None
    febrile_neutropenia_rate_lower: float | None
    febrile_neutropenia_rate_upper: float | None


class PopulationCounts(_Record):
    """Draws rejected by the plausibility bounds and by matching, over all patients."""

    implausible_draws: int
    unmatched_draws: int


class TrialSummary(_Record):
    """The content of a trial's summary.json."""

    name: str
    n_patients: int
    seed: int
    spec_hash: str
    control_arm: str
    arms: list[ArmSummary]
    n_failed_total: int
    population: PopulationCounts

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (None for not estimable or not reached)."""
        return self.model_dump()

    #: Columns of :meth:`table`.
    TABLE_COLUMNS: ClassVar[tuple[str, ...]] = (
        "arm",
        "n",
        "failed",
        "median PFS (d) [95% CI]",
        "HR [95% CI]",
        "log-rank p",
        "ORR [95% CI]",
        "median OS (d) [95% CI]",
        "deaths ≤ 60 d",
        "febrile neutropenia",
    )

    def _repr_html_(self) -> str:
        """Notebook display: the key results and the per-arm table."""
        from mdrsim._repr import table_html

        return (
            f"<div><strong>Virtual trial: {html.escape(self.name)}</strong>"
            f" ({self.n_patients} patients per arm)"
            + table_html("key results", key_results(self), ("arm", "result"))
            + table_html("per arm", self.table(), self.TABLE_COLUMNS)
            + "</div>"
        )

    def table(self) -> list[tuple[str, ...]]:
        """One row of text per arm, in the order of :data:`TABLE_COLUMNS`."""
        rows: list[tuple[str, ...]] = []
        for r in self.arms:
            median = _fmt(r.median_pfs_days) if r.median_pfs_reached else "not reached"
            hr = (
                "control"
                if r.arm == self.control_arm
                else f"{_fmt(r.hr_vs_control)} [{_fmt(r.hr_lower)}, {_fmt(r.hr_upper)}]"
            )
            rows.append(
                (
                    r.arm,
                    str(r.n),
                    str(r.n_failed),
                    f"{median} [{_fmt(r.median_pfs_lower)}, {_fmt(r.median_pfs_upper)}]",
                    hr,
                    _fmt(r.logrank_p),
                    f"{_fmt(r.orr)} [{_fmt(r.orr_lower)}, {_fmt(r.orr_upper)}]",
                    f"{_fmt(r.median_os_days) if r.median_os_reached else 'not reached'} "
                    f"[{_fmt(r.median_os_lower)}, {_fmt(r.median_os_upper)}]",
                    _fmt(r.early_death_rate),
                    _fmt(r.febrile_neutropenia_rate),
                )
            )
        return rows


def _fmt(v: float | None, digits: int = 3) -> str:
    if v is None or math.isnan(v):
        return "—"
    return "not reached" if math.isinf(v) else f"{v:.{digits}g}"


@dataclass(frozen=True)
class TrialReport:
    """What :func:`write_trial_report` wrote (``files`` in the order written)."""

    summary: TrialSummary
    files: list[Path]


def report_is_current(root: Path) -> bool:
    """True when ``root`` holds a complete trial whose summary.json and report.html were
    written after its last stored result: re-running the report would write the same files."""
    root = Path(root)
    manifest = root / "manifest.json"
    outputs = [root / "summary.json", root / "report.html"]
    if not manifest.is_file() or not all(p.is_file() for p in outputs):
        return False
    try:
        if not json.loads(manifest.read_text()).get("complete"):
            return False
    except (OSError, ValueError):
        return False
    # The manifest is rewritten by every resume; the stored results are the endpoint files.
    stored = [p for p in (root / "endpoints").rglob("*") if p.is_file()]
    if not stored:
        return False
    newest = max(p.stat().st_mtime for p in stored)
    return min(p.stat().st_mtime for p in outputs) >= newest


def read_trial_summary(root: Path) -> TrialSummary:
    """The summary.json of a trial directory (written by :func:`write_trial_report`)."""
    return TrialSummary.model_validate_json((Path(root) / "summary.json").read_text())


def write_trial_report(root: Path) -> TrialReport:
    """Analyse the trial stored in ``root`` and write summary.json, summary.csv,
    failures.csv (patient, arm, reason), km.png, waterfall.png, swimmer.png and report.html
    there. Raises :class:`~mdrsim.trial.TrialStoreError` when ``root`` is not a trial."""
    from mdrsim.report import trial_plots
    from mdrsim.trial.analysis import analyse_store
    from mdrsim.trial.store import TrialStore

    root = Path(root)
    store = TrialStore(root)
    manifest = store.read_manifest()
    if not manifest.get("complete"):
        # A run stopped part-way holds only some chunks: statistics from them would describe
        # a subset while the report names the whole trial (review finding).
        from mdrsim.errors import TrialStoreError

        stored = len(manifest.get("chunks", {}))
        raise TrialStoreError(
            f"{root}: the trial is incomplete ({stored} chunk(s) stored of the planned "
            f"{manifest['n_patients']} patients); resume it with `mdrsim trial` before "
            "analysing it"
        )
    arms: list[str] = manifest["arms"]
    analysis = analyse_store(store, arms)
    failures = store.failures()
    counts = store.query(
        "SELECT sum(n_implausible) AS implausible_draws, "
        "sum(n_unmatched) AS unmatched_draws FROM patients"
    ).iloc[0]
    summary = TrialSummary(
        name=manifest["name"],
        n_patients=manifest["n_patients"],
        seed=manifest["seed"],
        spec_hash=manifest["spec_hash"],
        **analysis.to_dict(),
        n_failed_total=len(failures),
        population=PopulationCounts(**{k: int(v or 0) for k, v in counts.items()}),
    )
    files: list[Path] = []

    def written(p: Path) -> Path:
        files.append(p)
        return p

    written(root / "summary.json").write_text(json.dumps(summary.to_dict(), indent=2) + "\n")
    analysis.summary.to_csv(written(root / "summary.csv"), index=False)
    failures.to_csv(written(root / "failures.csv"), index=False)
    first = store.query(
        f"SELECT {', '.join(_FIGURE_COLUMNS)} FROM endpoints "
        f"WHERE {Endpoint.PATIENT} < {WATERFALL_PATIENTS} "
        f"ORDER BY {Endpoint.ARM}, {Endpoint.PATIENT}"
    )
    km_data = store.query(
        f"SELECT {Endpoint.ARM}, {Endpoint.STATUS}, {Endpoint.PFS_DAYS}, {Endpoint.PFS_EVENT} "
        "FROM endpoints"
    )
    n = int(manifest["n_patients"])
    shown = (
        f"all {n} patients per arm"
        if n <= WATERFALL_PATIENTS
        else f"first {WATERFALL_PATIENTS} of {n} patients per arm"
    )
    stats = [a.model_dump() for a in summary.arms]
    figures = {
        "km.png": ("Progression-free survival (Kaplan–Meier, 95 % bands, + censored)",
                   trial_plots.plot_km(km_data, arms, stats=stats)),
        "waterfall.png": (f"Best response after baseline, {shown}",
                          trial_plots.plot_waterfall(first, arms)),
        "swimmer.png": (f"Swimmer plot, first {SWIMMER_PATIENTS} patients",
                        trial_plots.plot_swimmer(first, arms, first=SWIMMER_PATIENTS)),
    }  # fmt: skip
    try:
        for name, (_, fig) in figures.items():
            fig.savefig(written(root / name), dpi=120)
        # The report embeds the PNG files just written: each figure is rendered once.
        embedded = {name: (caption, root / name) for name, (caption, _) in figures.items()}
        written(_write_html(root, manifest, summary, analysis.summary, failures, embedded))
    finally:
        for _, fig in figures.values():
            trial_plots.close(fig)
    return TrialReport(summary=summary, files=files)


#: Simulator identity keys shown in the provenance, when the simulator reports them: a
#: model-file simulator has model_sha256, the scenario simulator scenario_sha256 and the
#: compiled kernel's key (issue 13: an empty model_sha256 was shown for a scenario trial).
_SIMULATOR_KEYS = ("model", "model_sha256", "scenario", "scenario_sha256", "compiled_key")


def key_results(summary: TrialSummary) -> list[tuple[str, str]]:
    """The headline numbers, one (label, text) per arm and quantity: median PFS with its CI,
    ORR with its CI, and for each arm but the control the hazard ratio with its CI and the
    log-rank p. The endpoints have no overall survival, so no median OS is shown."""
    rows: list[tuple[str, str]] = []
    for r in summary.arms:
        median = (
            f"{_fmt(r.median_pfs_days)} d [{_fmt(r.median_pfs_lower)}, {_fmt(r.median_pfs_upper)}]"
            if r.median_pfs_reached
            else "not reached"
        )
        text = f"median PFS {median}; ORR {_pct(r.orr)} [{_pct(r.orr_lower)}, {_pct(r.orr_upper)}]"
        if r.arm == summary.control_arm:
            text += " (control)"
        else:
            text += (
                f"; HR {_fmt(r.hr_vs_control)} [{_fmt(r.hr_lower)}, {_fmt(r.hr_upper)}],"
                f" log-rank p {_p(r.logrank_p)}"
            )
        rows.append((f"{r.arm} (n = {r.n - r.n_failed})", text))
    return rows


def _pct(v: float | None) -> str:
    return "—" if v is None or math.isnan(v) else f"{100 * v:.0f} %"


def _p(v: float | None) -> str:
    if v is None or math.isnan(v):
        return "—"
    return "< 0.001" if v < 0.001 else f"{v:.3f}"


def _write_html(
    root: Path,
    manifest: dict[str, Any],
    summary: TrialSummary,
    per_arm: pd.DataFrame,
    failures: pd.DataFrame,
    figures: dict[str, Any],
) -> Path:
    sim = manifest.get("simulator", {})
    provenance = {
        "trial": manifest["name"],
        "spec_sha256": manifest["spec_hash"],
        "seed": manifest["seed"],
        "patients": manifest["n_patients"],
        "chunk_size": manifest["chunk_size"],
        "arms": ", ".join(manifest["arms"]),
        "simulator": sim.get("kind", "—"),
        **{k: sim[k] for k in _SIMULATOR_KEYS if sim.get(k)},
        "mdrsim_version": manifest["mdrsim_version"],
        "executor": json.dumps(manifest.get("executor", {})),
    }
    # One column per arm, one row per quantity: fits the page for any number of statistics.
    wide = per_arm.set_index("arm").T if "arm" in per_arm.columns else per_arm.T
    wide.index.name = "quantity"
    wide.columns.name = None
    headline = pd.DataFrame(summary.table(), columns=list(TrialSummary.TABLE_COLUMNS))
    sections = [
        Section(
            "Summary",
            f"{manifest['n_patients']} virtual patients, the same in every arm (paired design). "
            f"Hazard ratios and log-rank tests compare each arm with the first arm "
            f"({manifest['arms'][0]}); the Cox model clusters on the patient.",
            tables=[("Per arm", headline), ("Every statistic, per arm", wide)],
        ),
        *[Section(caption, figures=[(caption, fig)]) for caption, fig in figures.values()],
        Section(
            "Failures",
            "Patients whose simulation failed are excluded from the statistics above."
            if len(failures)
            else "No patient failed.",
            tables=[("First 50 failures", failures.head(50))] if len(failures) else [],
        ),
    ]
    return write_html(
        root / "report.html",
        f"Virtual trial: {manifest['name']}",
        sections,
        provenance=provenance,
        key_results=key_results(summary),
    )
