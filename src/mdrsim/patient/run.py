"""One patient from a scenario: run, summarise, and describe where the numbers came from."""

from __future__ import annotations

import datetime as _dt
import hashlib
import html
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from mdrsim.biology.marrow import neutropenia_grade
from mdrsim.engine.options import options_provenance
from mdrsim.patient.model import PatientModel, build_patient_model
from mdrsim.patient.runner import RunOutput, run_patients
from mdrsim.patient.scenario import Scenario

if TYPE_CHECKING:
    from mdrsim.data.library import Library
    from mdrsim.fit.parameters import FittedParameters


@dataclass
class PatientRun:
    """The outcome of one scenario: trajectories (tidy: time, variable, value), the line table,
    the endpoint row and a JSON-ready summary."""

    scenario: Scenario
    model: PatientModel
    output: RunOutput
    summary: dict[str, Any]

    @property
    def trajectories(self) -> pd.DataFrame:
        traj = self.output.trajectories
        assert traj is not None
        return traj.drop(columns="patient")

    @property
    def lines(self) -> pd.DataFrame:
        return self.output.lines.drop(columns="patient")

    def _repr_html_(self) -> str:
        """Notebook display: the summary as a table and the tumour burden over time."""
        from mdrsim._repr import figure_html, table_html

        rows = summary_table(self.summary)
        traj = self.trajectories
        curves = {}
        for name, label in (("tumour_total", "total"), ("T_mdr1_high", "MDR1 high")):
            sel = traj[traj["variable"] == name]
            if not sel.empty:
                curves[label] = (sel["time"].to_numpy(), sel["value"].to_numpy())
        figure = figure_html(curves, xlabel="time (days)", ylabel="tumour cells (×10⁹)", log=True)
        return (
            f"<div><strong>{html.escape(self.scenario.name)}</strong>"
            f"{table_html('summary', rows, ('quantity', 'value'))}{figure}</div>"
        )


def run_scenario(
    scenario: Scenario,
    *,
    library: Library | None = None,
    scenario_text: str | None = None,
    progress: Callable[[float], None] | None = None,
    params: Mapping[str, float | str] | None = None,
    parameters: FittedParameters | None = None,
) -> PatientRun:
    """Build the whole-patient model from ``library`` (default: the packaged one — give the
    library the scenario was validated against), run the scenario's lines to its horizon,
    summarise. ``parameters`` (a fit's parameter file) replaces model parameters by name after
    checking that it was fitted to this patient model (structure hash and names). ``params``
    fixes model parameters: a number in the model's unit, or text with a unit (``"40 L/h"``)
    converted to it with pint (:func:`mdrsim.data.units.quantity_in`); a name may not be in
    both.

    Raises :class:`~mdrsim.errors.SimulationError` naming the segment if the patient fails."""
    from mdrsim.data.library import load_library
    from mdrsim.errors import SimulationError
    from mdrsim.patient.runner import default_inputs

    pm = build_patient_model(scenario, load_library() if library is None else library)
    inputs = default_inputs(pm)
    cm = pm.compiled
    names = list(cm.parameter_names)
    if parameters is not None:
        parameters.check(pm.model, names)
        for name, value in parameters.values.items():
            inputs.params[:, names.index(name)] = value
    fixed: dict[str, float] = {}
    if params:
        from mdrsim.data.units import resolve_values

        fixed = resolve_values(params, cm.parameter_names, cm.model.unit_of)
        both = sorted(set(fixed) & set(parameters.values if parameters is not None else {}))
        if both:
            from mdrsim.errors import ParameterFileMismatchError

            raise ParameterFileMismatchError(
                f"--param sets {', '.join(both)}, which the fitted parameter file also sets; "
                "give each parameter once"
            )
        for name, value in fixed.items():
            inputs.params[:, names.index(name)] = value
    out = run_patients(pm, inputs, progress=progress)
    if out.failures:
        raise SimulationError({0: f"scenario {scenario.name!r}: {out.failures[0]}"})
    summary = summarise(pm, out, scenario_text=scenario_text)
    if fixed:
        # Not in the scenario file: the values (model units) that replaced the model's own.
        summary["provenance"]["parameter_overrides"] = fixed
    if parameters is not None:
        summary["provenance"]["fitted_parameters"] = parameters.provenance()
    return PatientRun(scenario, pm, out, summary)


def _num(x: object) -> float | None:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def summarise(
    pm: PatientModel, out: RunOutput, *, patient: int = 0, scenario_text: str | None = None
) -> dict[str, Any]:
    """A JSON-ready summary of one patient of ``out``."""
    from mdrsim import __version__

    sc = pm.scenario
    ep = out.endpoints.iloc[patient]
    lines = out.lines[out.lines["patient"] == patient]
    line_rows = []
    for _, r in lines.iterrows():
        prog = _num(r["progression_day"])
        line_rows.append(
            {
                "line": int(r["line"]),
                "regimen": str(r["regimen"]),
                "start_day": float(r["start_day"]),
                "best_response": str(r["best_response"]),
                "best_change_pct": _num(r["best_change_pct"]),
                "progression_day": prog,
                "time_to_progression_days": None if prog is None else prog - float(r["start_day"]),
                "cycles_given": int(r["cycles_given"]),
                "cycles_paused": int(r["cycles_paused"]),
                "cycle_delays": int(r["delays"]),
                "final_dose_factor": float(r["dose_factor"]),
            }
        )
    infections = []
    days = sc.infection_days()
    for k, (inf, day) in enumerate(zip(sc.infections, days, strict=True)):
        cleared_day = _num(ep["infection_clearance_day"]) if k == 0 else None
        infections.append(
            {
                "pathogen": inf.pathogen,
                "day": day,
                "cleared": bool(ep["infection_cleared"]) if k == 0 else None,
                "cleared_day": cleared_day,
                "days_to_clear": None if cleared_day is None else cleared_day - day,
            }
        )
    anc_nadir = float(ep["anc_nadir"])
    digest = hashlib.sha256((scenario_text or sc.model_dump_json()).encode()).hexdigest()
    return {
        "scenario": sc.name,
        "horizon_days": sc.horizon_days,
        "patient": {
            "bsa_m2": pm.reference_bsa,
            "weight_kg": pm.reference_weight,
            "cd8_mdr1": sc.patient.immune.cd8_mdr1,
        },
        "best_response": ep["best_response"],
        "best_change_pct": _num(ep["best_change_pct"]),
        "progression_free_survival_days": float(ep["pfs_days"]),
        "progressed": bool(ep["pfs_event"]),
        "lines": line_rows,
        "drug_auc_mg_h_per_L": {d: float(ep[f"auc_{d}_mg_h_per_L"]) for d in pm.drugs},
        "anc": {
            "nadir_1e9_per_L": anc_nadir,
            "nadir_day": _num(ep["anc_nadir_day"]),
            "worst_grade": neutropenia_grade(anc_nadir),
            "drugs_without_marrow_data": list(pm.drugs_without_marrow_data),
        },
        "cd8": {
            "effector_peak_cells": float(ep["cd8_peak"]),
            "effector_peak_day": _num(ep["cd8_peak_day"]),
            "memory_cells_at_horizon": float(ep["cd8_memory"]),
            "memory_relative_to_untreated": _num(ep.get("cd8_memory_ratio")),
            "tumour_ctl_relative_to_untreated": _num(ep.get("ctl_tumour_ratio")),
        },
        "infections": infections,
        "tumour": {
            "burden_at_horizon_1e9_cells": float(ep["tumour_end_1e9"]),
            "mdr1_high_fraction_at_horizon": _num(ep["mdr1_high_fraction_end"]),
            "mdr1_high_fraction_at_first_progression": _num(
                ep["mdr1_high_fraction_at_progression"]
            ),
        },
        "provenance": {
            # Doses above the label that the scenario allowed (allow_above_label_dose).
            "warnings": list(pm.warnings),
            # Each (inhibitor, drug) clearance interaction: measured (source) or mechanistic
            # rule (assumed).
            "interactions": [{**i.as_dict(), "label": i.label} for i in pm.interactions],
            "marrow_system_parameters": pm.marrow_system_source,
            # The MDR1-high clone's P-gp when the scenario sets it (user-supplied or a line).
            "tumour_mdr1_high_pgp": pm.tumour_pgp,
            "mdrsim_version": __version__,
            "model_hash": pm.compiled.key,
            "scenario_sha256": digest,
            "engine": "rodas4",
            "solver": solver_provenance(sc),
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        },
    }


def solver_provenance(scenario: Scenario) -> dict[str, Any]:
    """The solver options the scenario ran with, from the options object itself (the engine's
    own provenance record; JSON-ready: an unlimited step size, ``inf``, is written as null)."""
    values = options_provenance(scenario.solver.options(), "rodas4")["solver_options"]
    out: dict[str, Any] = {}
    for key, value in values.items():
        finite = not isinstance(value, float) or math.isfinite(value)
        out[key] = value if finite else None
    return out


def summary_table(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """(quantity, value) rows for a printed table."""

    def fmt(x: object, unit: str = "") -> str:
        if x is None:
            return "—"
        if isinstance(x, float):
            return f"{x:.3g}{unit}"
        return f"{x}{unit}"

    rows = [
        (
            "best response (line 1)",
            f"{summary['best_response']} ({fmt(summary['best_change_pct'], ' %')})",
        ),
        (
            "progression-free survival",
            fmt(summary["progression_free_survival_days"], " d")
            + ("" if summary["progressed"] else " (censored)"),
        ),
    ]
    for line in summary["lines"]:
        ttp = line["time_to_progression_days"]
        ttp_text = fmt(ttp, " d") if ttp is not None else "not reached"
        rows.append(
            (
                f"line {line['line']}: {line['regimen']}",
                f"{line['best_response']}, TTP {ttp_text}, {line['cycles_given']} cycles",
            )
        )
    for drug, auc in summary["drug_auc_mg_h_per_L"].items():
        rows.append((f"AUC {drug}", fmt(auc, " mg·h/L")))
    anc = summary["anc"]
    rows.append(
        (
            "ANC nadir",
            f"{fmt(anc['nadir_1e9_per_L'], ' ×10⁹/L')} on day {fmt(anc['nadir_day'])}"
            f" (grade {anc['worst_grade']})",
        )
    )
    cd8 = summary["cd8"]
    rows.append(
        (
            "CD8 effector peak",
            f"{fmt(cd8['effector_peak_cells'], ' cells')} on day {fmt(cd8['effector_peak_day'])}",
        )
    )
    rows.append(
        (
            "CD8 memory at horizon",
            f"{fmt(cd8['memory_cells_at_horizon'], ' cells')} "
            f"({fmt(cd8['memory_relative_to_untreated'])} × untreated)",
        )
    )
    for inf in summary["infections"]:
        state = (
            (f"cleared on day {fmt(inf['cleared_day'])}" if inf["cleared"] else "not cleared")
            if inf["cleared"] is not None
            else "—"
        )
        rows.append((f"infection ({inf['pathogen']}, day {fmt(inf['day'])})", state))
    tum = summary["tumour"]
    rows.append(
        (
            "MDR1-high fraction at first progression",
            fmt(tum["mdr1_high_fraction_at_first_progression"]),
        )
    )
    rows.append(("tumour at horizon", fmt(tum["burden_at_horizon_1e9_cells"], " ×10⁹ cells")))
    prov = summary.get("provenance", {})
    for ddi in prov.get("interactions", []):
        rows.append(
            (
                f"interaction {ddi['inhibitor']} + {ddi['drug']}",
                f"clearance {100 * ddi['clearance_change_at_clinical_concentration']:+.0f} %, "
                f"{ddi['basis']}",
            )
        )
    pgp = prov.get("tumour_mdr1_high_pgp")
    if pgp:
        rows.append(
            ("MDR1-high clone P-gp density", f"{fmt(pgp['pgp_density'])} ({pgp['source']})")
        )
    for warning in prov.get("warnings", []):
        rows.append(("WARNING", warning))
    return rows
