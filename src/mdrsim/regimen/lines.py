"""Treatment lines: line 1 until RECIST progression, then line 2, and so on; and adaptive
therapy (pause at a given shrinkage, resume at a given regrowth).

One model holds the PK of every drug of every line, the tumour clones and the inhibitor;
each line is simulated from the state where the previous one stopped, with scans every
``scan_interval_days`` (6 weeks by default) classified by RECIST 1.1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from mdrsim.biology.pk import PKParameters, add_pk, two_compartment_from_half_lives
from mdrsim.biology.tumour import DrugKill, TumourSpec, add_tumour
from mdrsim.data.library import load_library
from mdrsim.engine import CompiledModel, EventTable, compile_model, simulate
from mdrsim.model import ModelBuilder
from mdrsim.regimen.recist import Response, classify, diameter_mm
from mdrsim.regimen.schedule import Patient, Regimen

INHIBITOR_PARAM = "inhibitor_conc"


def pk_from_library(drug: str, patient: Patient) -> PKParameters:
    """Systemic PK of ``drug`` for ``patient`` from the library.

    Multi-compartment parameters are used where the library has them (scaled by BSA from
    their reference BSA); otherwise clearance and Vss give a two-compartment model when two
    disposition half-lives are known, else a one-compartment model (V = Vss)."""
    d = load_library().drug(drug)
    pk = d.pk
    if pk is None or pk.clearance is None:
        raise ValueError(f"{drug}: the library has no clearance for it")
    mw = float(d.molecular_weight.value)
    bsa = patient.bsa_m2

    def absolute(q: object) -> float:
        """The quantity in absolute units (L/h or L) for this patient."""
        value, unit = float(q.value), q.unit  # type: ignore[attr-defined]
        if unit.startswith("mL/min"):
            value, unit = value * 60 / 1000, "L/h" + unit[len("mL/min") :]
        if unit.endswith("/m2"):
            value *= bsa
        return value

    cl = absolute(pk.clearance)
    v1, q2, v2 = _num(pk, "V1"), _num(pk, "Q2"), _num(pk, "V2")
    if v1 is not None and q2 is not None and v2 is not None:
        ref_bsa = _num(pk, "reference_bsa")
        scale = bsa / ref_bsa if ref_bsa else 1.0
        qs, vs = [q2 * scale], [v2 * scale]
        q3, v3 = _num(pk, "Q3"), _num(pk, "V3")
        if q3 is not None and v3 is not None:
            qs.append(q3 * scale)
            vs.append(v3 * scale)
        return PKParameters(
            cl=cl * (scale if pk.clearance.unit == "L/h" else 1.0),
            v1=v1 * scale,
            q=tuple(qs),
            v=tuple(vs),
            molecular_weight=mw,
            source=f"drug library: {drug}",
        )
    vss = absolute(pk.Vss)
    fast = getattr(pk, "t_half_beta", None) or getattr(pk, "t_half_alpha", None)
    slow = getattr(pk, "t_half_gamma", None) or getattr(pk, "t_half_terminal", None)
    if fast is not None and slow is not None and fast is not slow:
        to_h = {"min": 1 / 60, "h": 1.0, "d": 24.0}
        try:
            return two_compartment_from_half_lives(
                cl,
                vss,
                float(fast.value) * to_h[fast.unit],
                float(slow.value) * to_h[slow.unit],
                molecular_weight=mw,
                source=f"drug library: {drug}",
            )
        except ValueError:
            pass
    return PKParameters(cl=cl, v1=vss, molecular_weight=mw, source=f"drug library: {drug}")


def _num(obj: object, name: str) -> float | None:
    q = getattr(obj, name, None)
    value = getattr(q, "value", None)
    return None if value is None else float(value)


def drug_kill(drug: str) -> DrugKill:
    """Kill numbers of ``drug`` for tumour cells (EC50 calibrated to its parental IC50)."""
    from mdrsim.biology.cell import DrugTransport
    from mdrsim.experiments.invitro import KillParameters, calibrate_ec50
    from mdrsim.experiments.pharmacology import drug_transport

    d = load_library().drug(drug)
    if d.ic50_parental is None:
        raise ValueError(f"{drug}: no parental IC50 in the library to calibrate its kill")
    transport: DrugTransport = drug_transport(drug)
    kill = calibrate_ec50(transport, KillParameters(d.emax.value, 1.0, 1.0), d.ic50_parental.value)
    return DrugKill(
        name=drug,
        plasma_uM=f"{drug}_plasma_uM",
        efflux_efficiency=d.pgp_efficiency.value if d.pgp_efficiency else 0.0,
        emax=kill.emax,
        ec50=kill.ec50,
        source=f"drug library: {drug} (EC50 calibrated)",
    )


@dataclass
class TumourPatientModel:
    compiled: CompiledModel
    drugs: tuple[str, ...]
    pk: dict[str, PKParameters]
    clones: list[str]
    inhibitor: str | None


def build_model(
    drugs: tuple[str, ...], spec: TumourSpec, patient: Patient, inhibitor: str | None = None
) -> TumourPatientModel:
    lib = load_library()
    b = ModelBuilder("tumour_patient")
    ki = None
    if inhibitor is not None:
        ki = float(lib.inhibitor(inhibitor).ki.value)
    b.parameter(
        INHIBITOR_PARAM,
        0.0,
        constant=False,
        unit="uM",
        source="set by the regimen's inhibitor courses",
    )
    pks = {}
    for drug in drugs:
        pk = pk_from_library(drug, patient)
        pks[drug] = pk
        lib_pk = lib.drug(drug).pk
        frac = lib_pk.pgp_dependent_clearance_fraction if lib_pk is not None else None
        add_pk(
            b,
            drug,
            pk,
            pgp_clearance_fraction=float(frac.value) if frac else 0.0,
            inhibitor=INHIBITOR_PARAM if inhibitor else None,
            inhibitor_ic50=ki,
        )
    clones = add_tumour(
        b,
        spec,
        tuple(drug_kill(d) for d in drugs),
        inhibitor=INHIBITOR_PARAM if inhibitor else None,
        inhibitor_ki=ki,
    )
    return TumourPatientModel(compile_model(b.build()), drugs, pks, clones, inhibitor)


def regimen_events(
    regimen: Regimen,
    model: TumourPatientModel,
    patient: Patient,
    *,
    start_day: float,
    skip_cycles: set[int] | None = None,
    until: float = math.inf,
) -> EventTable:
    """Bolus/infusion rows for the regimen's doses and inhibitor on/off rows."""
    ev = EventTable()
    skip = skip_cycles or set()
    starts = regimen.cycle_starts()
    allowed = {start_day + c for k, c in enumerate(starts) if k not in skip}
    chemo_days: list[float] = []
    for t, dose in regimen.administrations(start_day):
        cycle_start = start_day + max(c for c in starts if start_day + c <= t + 1e-9)
        if cycle_start not in allowed or t >= until:
            continue
        pk = model.pk[dose.drug]
        conc = patient.dose_mg(dose) / pk.v1
        if dose.infusion_h > 0:
            days = dose.infusion_h / 24
            ev.infusion(t, t + days, f"{dose.drug}_central", conc / days)
        else:
            ev.bolus(t, f"{dose.drug}_central", conc)
        chemo_days.append(t)
    for a, b, c in inhibitor_spans(regimen, chemo_days):
        ev.set_parameter(a, INHIBITOR_PARAM, c)
        ev.set_parameter(b, INHIBITOR_PARAM, 0.0)
    return ev


def inhibitor_spans(
    regimen: Regimen, chemo_days: list[float], *, earliest: float = 0.0
) -> list[tuple[float, float, float]]:
    """(start, end, µM) of the inhibitor held around each chemotherapy day: from ``offset_h``
    before the dose for ``duration_h`` (never before ``earliest``, the start of the
    simulation); overlapping courses merge. The level is the course's ``concentration_uM`` or
    the library's clinically achievable concentration."""
    lib = load_library()
    spans: list[tuple[float, float, float]] = []
    for course in regimen.inhibitors:
        c = course.concentration_uM or float(
            lib.inhibitor(course.inhibitor).clinical_concentration.value
        )
        for t in sorted(set(chemo_days)):
            start = t - course.offset_h / 24
            spans.append((max(start, earliest), start + course.duration_h / 24, c))
    merged: list[list[float]] = []
    for a, b, c in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b, c])
    return [(a, b, c) for a, b, c in merged]


@dataclass(frozen=True)
class AdaptiveRule:
    """Pause treatment once the burden falls to ``pause_fraction`` of the burden at the
    start of the line; resume when it regrows to ``resume_fraction`` of it (decisions at
    cycle starts, as at clinic visits; after Gatenby/Gallaher adaptive therapy)."""

    pause_fraction: float = 0.5
    resume_fraction: float = 1.0


@dataclass
class LineOutcome:
    regimen: str
    start_day: float
    progression_day: float | None
    best_response: Response
    cycles_given: int


@dataclass
class TreatmentHistory:
    times: np.ndarray
    burden: np.ndarray
    clones: dict[str, np.ndarray]
    lines: list[LineOutcome] = field(default_factory=list)

    def time_to_progression(self, line: int) -> float | None:
        o = self.lines[line]
        return None if o.progression_day is None else o.progression_day - o.start_day


def run_lines(
    model: TumourPatientModel,
    lines: list[Regimen],
    patient: Patient,
    *,
    horizon_days: float,
    scan_interval_days: float = 42.0,
    reference_mm: float = 50.0,
    adaptive: AdaptiveRule | None = None,
    params: dict[str, float] | None = None,
) -> TreatmentHistory:
    """Give line 1 until RECIST progression, then line 2, … until the horizon."""
    cm = model.compiled
    initial_burden = sum(cm.model.value_of(c) for c in model.clones)
    state: dict[str, float] = {}
    t0 = 0.0
    times: list[np.ndarray] = []
    burdens: list[np.ndarray] = []
    clone_traj: dict[str, list[np.ndarray]] = {c: [] for c in model.clones}
    outcomes: list[LineOutcome] = []
    for regimen in lines:
        if t0 >= horizon_days:
            break
        grid = np.arange(t0, horizon_days + 1e-9, scan_interval_days)
        if grid[-1] < horizon_days:
            grid = np.append(grid, horizon_days)
        skip: set[int] = set()
        if adaptive is not None:
            skip = _adaptive_skips(model, regimen, patient, t0, grid, state, adaptive, params)
        events = regimen_events(regimen, model, patient, start_day=t0, skip_cycles=skip)
        r = simulate(
            cm,
            grid,
            params=params or {},
            initial=state,
            events=events,
            rtol=1e-6,
            atol=1e-10,
            check=True,
        )
        burden = r["tumour_total"][0]
        diam = diameter_mm(burden, reference_burden=initial_burden, reference_mm=reference_mm)
        a = classify(grid, diam, progression_reference="baseline" if adaptive else "nadir")
        stop = (
            len(grid)
            if a.progression_time is None
            else int(np.searchsorted(grid, a.progression_time)) + 1
        )
        times.append(grid[:stop])
        burdens.append(burden[:stop])
        for c in model.clones:
            clone_traj[c].append(r[c][0][:stop])
        given = sum(
            1
            for k, c in enumerate(regimen.cycle_starts())
            if k not in skip and t0 + c < grid[stop - 1]
        )
        outcomes.append(LineOutcome(regimen.name, t0, a.progression_time, a.best_response, given))
        if a.progression_time is None:
            break
        state = {n: float(r[n][0][stop - 1]) for n in cm.state_names}
        t0 = float(a.progression_time)
    return TreatmentHistory(
        times=np.concatenate(times),
        burden=np.concatenate(burdens),
        clones={c: np.concatenate(v) for c, v in clone_traj.items()},
        lines=outcomes,
    )


def _adaptive_skips(
    model: TumourPatientModel,
    regimen: Regimen,
    patient: Patient,
    t0: float,
    grid: np.ndarray,
    state: dict[str, float],
    rule: AdaptiveRule,
    params: dict[str, float] | None,
) -> set[int]:
    """Decide cycle by cycle whether to treat, by simulating up to each cycle start."""
    cm = model.compiled
    starts = regimen.cycle_starts()
    skip: set[int] = set()
    on = True
    baseline = None
    for k, c in enumerate(starts):
        t = t0 + c
        if t <= t0:
            baseline_state = state
            r = simulate(
                cm, [t0, t0 + 1e-6], params=params or {}, initial=baseline_state, check=True
            )
            baseline = float(r["tumour_total"][0][0])
            continue
        events = regimen_events(regimen, model, patient, start_day=t0, skip_cycles=skip, until=t)
        r = simulate(cm, [t0, t], params=params or {}, initial=state, events=events, check=True)
        burden = float(r["tumour_total"][0][-1])
        assert baseline is not None
        if on and burden <= rule.pause_fraction * baseline:
            on = False
        elif not on and burden >= rule.resume_fraction * baseline:
            on = True
        if not on:
            skip.add(k)
    return skip
