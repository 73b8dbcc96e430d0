"""Run patients through their treatment lines, cycle by cycle, many patients at once.

The patient model is autonomous between events, so each stretch of treatment is simulated in
time relative to its own start: a *segment* is one cycle (its doses, inhibitor courses and any
infection that falls in it), a dose delay, or a stretch of follow-up without treatment. All
patients due for the same kind of segment of the same line run as one batch of the compiled
engine, each from its own state, whatever day they are on. Between segments the runner takes
the decisions a clinic takes:

- RECIST 1.1 scans every ``scan_interval_days`` from the start of each line (diameter ∝
  burden^(1/3)); progressive disease ends the line at that scan and starts the next one;
- after the last cycle of a line the patient is followed without treatment, scanned on the
  same schedule, until progression, death or the horizon;
- at each cycle start a neutrophil count below ``rules.delay_if_anc_below`` delays the cycle,
  and a cycle whose nadir reached grade 4 reduces later doses (``rules.reduce_after_grade4``);
- in a line with an adaptive rule (``adaptive:`` in the scenario, Zhang et al. 2017), each
  cycle start decides from the burden whether that cycle is dosed or paused, and progression
  is measured against the line's baseline instead of the nadir.

Endpoints are collected while running (memory stays bounded by the batch, not the horizon);
full trajectories are kept only for the patients asked for. Extrema used as endpoints (ANC
nadir, CD8 peak, each cycle's nadir for the dose rules) are read on an internal grid of
``ENDPOINT_STEP_DAYS`` (refined by a parabola through the three points around the extremum),
the same whatever ``outputs.trajectory_step_days`` saves, so endpoints do not depend on what is
saved.

When the patients carry random seeds (a virtual trial) and a :class:`DeathModel` is given,
deaths are sampled from each patient's own stream (:mod:`mdrsim.patient.deaths`): from
neutropenic infection after a grade-4 cycle, from an uncleared infection, and after the first
progression; death ends the patient's simulation, PFS counts to the first PD scan or death,
and overall survival is reported. RECIST scans may fall in a visit window (``scan_window_days``
either side of the nominal day, drawn per scan from the same stream), as trial scans do.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mdrsim.engine import EventTable, run_batch
from mdrsim.errors import PhysicalBoundsError, SimulationInputError
from mdrsim.patient.deaths import (
    CAUSE_CODES,
    EARLY_DEATH_DAYS,
    INFECTION,
    MAX_DRAWS,
    NEUTROPENIC_INFECTION,
    PROGRESSION,
    DeathModel,
    PatientDraws,
)
from mdrsim.patient.library_bridge import inhibitor_spans
from mdrsim.patient.model import PatientModel
from mdrsim.patient.scenario import BSA_DOMAIN, WEIGHT_DOMAIN
from mdrsim.regimen.recist import Assessment, classify, diameter_mm
from mdrsim.regimen.schedule import Dose, Regimen

TREAT, DELAY, FOLLOW, HOLIDAY, PAUSE = "treat", "delay", "follow", "holiday", "pause"
NEVER = 1e12  # an event time that no segment reaches
GRADE4_ANC = 0.5  # 1e9/L, CTCAE grade 4 neutropenia
NOT_EVALUABLE = "NE"  # RECIST: no follow-up assessment
_FINE_HOURS = (0.0, 1, 2, 3, 4, 6, 8, 12, 18, 24, 36)  # dense output after each dose (PK peaks)
#: Internal grid on which endpoint extrema are read, whatever the saved trajectory step.
ENDPOINT_STEP_DAYS = 0.25


@dataclass
class PatientInputs:
    """Per-patient numbers: the parameter and initial-state matrices of the compiled model and
    the dosing covariates (doses in mg/m² and mg/kg scale with them)."""

    params: np.ndarray  # (n, n_params)
    y0: np.ndarray  # (n, n_states)
    bsa_m2: np.ndarray  # (n,)
    weight_kg: np.ndarray  # (n,)
    seeds: np.ndarray | None = None  # (n,) per-patient random seeds (deaths, scan windows)

    @property
    def n(self) -> int:
        return int(self.params.shape[0])


def default_inputs(pm: PatientModel, n: int = 1) -> PatientInputs:
    """``n`` copies of the scenario's patient."""
    cm = pm.compiled
    return PatientInputs(
        params=np.tile(cm.default_parameters(), (n, 1)),
        y0=np.tile(cm.default_initial_state(), (n, 1)),
        bsa_m2=np.full(n, pm.reference_bsa),
        weight_kg=np.full(n, pm.reference_weight),
    )


@dataclass
class _Line:
    """What the runner tracks of one patient's current line."""

    index: int
    start: float
    scan_times: list[float]
    scan_diam: list[float]
    baseline_burden: float  # burden at the start of the line (adaptive therapy's reference)
    cycles_given: int = 0
    skipped: int = 0  # planned cycles not dosed: in a drug holiday or an adaptive pause
    paused: int = 0  # of which adaptive pauses
    treating: bool = True  # adaptive therapy: whether the last cycle start decided to dose
    delays: int = 0
    delays_this_cycle: int = 0
    phase: str = TREAT


@dataclass
class _Patient:
    t: float = 0.0
    failed: str = ""
    done: bool = False
    dose_factor: float = 1.0
    line: _Line | None = None
    lines: list[dict[str, object]] = field(default_factory=list)
    anc_min: float = math.inf
    anc_min_day: float = math.nan
    cd8_peak: float = 0.0
    cd8_peak_day: float = math.nan
    cleared: list[float] = field(default_factory=list)  # per infection: day cleared or nan
    high_fraction_at_pd: float = math.nan
    draws: PatientDraws | None = None
    death_day: float = math.inf
    death_cause: str = ""
    grade4_cycles: int = 0
    fn_episodes: int = 0
    infection_checked: list[bool] = field(default_factory=list)


@dataclass
class RunOutput:
    """Endpoints (one row per patient), lines (one row per patient and line), trajectories
    (long table for the recorded patients) and the per-patient failures."""

    endpoints: pd.DataFrame
    lines: pd.DataFrame
    trajectories: pd.DataFrame | None
    failures: dict[int, str]


def check_inputs(pm: PatientModel, inputs: PatientInputs) -> None:
    """Refuse a patient whose parameter or initial state lies outside the range the patient
    model declares for it (:class:`~mdrsim.errors.PhysicalBoundsError` naming the name, the
    patient, the value and the range) — whoever set it: a trial population, a scan, a caller.
    """
    cm = pm.compiled
    values = {name: inputs.params[:, j] for j, name in enumerate(cm.parameter_names)}
    values |= {name: inputs.y0[:, j] for j, name in enumerate(cm.state_names)}
    cm.model.check_values(values, "patient input")
    for name, column, domain in (
        ("bsa_m2", inputs.bsa_m2, BSA_DOMAIN),
        ("weight_kg", inputs.weight_kg, WEIGHT_DOMAIN),
    ):
        ok = domain.inside(column)
        if not ok.all():
            k = int(np.argmin(ok))
            raise PhysicalBoundsError(
                f"patient input {domain.problem(name, float(column[k]))} (patient {k})"
            )


def run_patients(
    pm: PatientModel,
    inputs: PatientInputs | None = None,
    *,
    lines: Sequence[Regimen] | None = None,
    record: Sequence[int] = (0,),
    record_variables: Sequence[str] | None = None,
    untreated_twin: bool | None = None,
    workers: int | None = None,
    progress: Callable[[float], None] | None = None,
    deaths: DeathModel | None = None,
    scan_window_days: float = 0.0,
) -> RunOutput:
    """Simulate every patient of ``inputs`` through ``lines`` (default: the scenario's) to the
    horizon. ``record`` lists the patients whose trajectories are kept. Deaths are sampled
    (with ``deaths``) and scans fall in a ``scan_window_days`` window only when ``inputs``
    carries per-patient seeds."""
    sc = pm.scenario
    inputs = inputs or default_inputs(pm)
    check_inputs(pm, inputs)
    regimens = tuple(sc.lines if lines is None else lines)
    twin = sc.outputs.untreated_twin if untreated_twin is None else untreated_twin
    interval = float(sc.scan_interval_days)
    if not (math.isfinite(scan_window_days) and 0 <= scan_window_days < interval / 2):
        raise SimulationInputError(
            f"scan_window_days: {scan_window_days!r}; allowed: 0 <= window < half the scan "
            f"interval ({interval / 2:g} d), so that scans stay in order"
        )
    treated = _Runner(
        pm, inputs, regimens, record, record_variables, workers, progress, deaths, scan_window_days
    ).run()
    endpoints = treated.endpoints
    if twin:
        twin_run = _Runner(pm, inputs, (), (), None, workers, None, None, 0.0).run()
        untreated = twin_run.endpoints
        base_mem = untreated["cd8_memory"].to_numpy(dtype=float)
        base_ctl = untreated["ctl_tumour_end"].to_numpy(dtype=float)
        # A failed twin gives no reference: its ratios are missing, and the reason says why.
        for i, why in twin_run.failures.items():
            base_mem[i] = base_ctl[i] = math.nan
            note = f"untreated twin failed: {why}"
            old_reason = endpoints.loc[i, "reason"]
            endpoints.loc[i, "reason"] = f"{old_reason}; {note}" if old_reason else note
        with np.errstate(divide="ignore", invalid="ignore"):
            endpoints["cd8_memory_ratio"] = np.where(
                base_mem > 0, endpoints["cd8_memory"] / base_mem, np.nan
            )
            endpoints["ctl_tumour_ratio"] = np.where(
                base_ctl > 0, endpoints["ctl_tumour_end"] / base_ctl, np.nan
            )
            failed = endpoints["status"] == "failed"
            endpoints.loc[failed, ["cd8_memory_ratio", "ctl_tumour_ratio"]] = np.nan
    return treated


class _Runner:
    def __init__(
        self,
        pm: PatientModel,
        inputs: PatientInputs,
        regimens: tuple[Regimen, ...],
        record: Sequence[int],
        record_variables: Sequence[str] | None,
        workers: int | None,
        progress: Callable[[float], None] | None,
        deaths: DeathModel | None,
        scan_window_days: float,
    ) -> None:
        self.pm, self.inputs, self.regimens = pm, inputs, regimens
        self.deaths = deaths
        self.window = float(scan_window_days)
        self.sampled = inputs.seeds is not None
        self.sc = pm.scenario
        self.v = pm.variables
        self.options = self.sc.solver.options()
        cm = pm.compiled
        self.cm = cm
        self.n = inputs.n
        if inputs.y0.shape != (self.n, len(cm.state_names)):
            raise SimulationInputError("y0 does not match the patient model's states")
        self.workers = workers
        self.progress = progress
        self.horizon = float(self.sc.horizon_days)
        self.step = float(self.sc.outputs.trajectory_step_days)
        self.names = cm.state_names + cm.output_names
        self.idx = {n: i for i, n in enumerate(self.names)}
        self.record = sorted({int(i) for i in record if 0 <= int(i) < self.n})
        self.rec_vars = list(record_variables) if record_variables else list(self.names)
        for v in self.rec_vars:
            if v not in self.idx:
                raise SimulationInputError(f"record_variables: {v!r} is not a model variable")
        self.rows: list[pd.DataFrame] = []
        self.y = inputs.y0.copy()
        self.first = np.ones(self.n, dtype=bool)
        self.infection_days = np.asarray(self.sc.infection_days(), dtype=float)
        self.infection_species = [self.v.pathogens[inf.pathogen] for inf in self.sc.infections]
        n_inf = len(self.infection_days)
        if n_inf > MAX_DRAWS:
            raise SimulationInputError(f"infections: at most {MAX_DRAWS}, got {n_inf}")
        self.pat = [
            _Patient(cleared=[math.nan] * n_inf, infection_checked=[False] * n_inf)
            for _ in range(self.n)
        ]
        if inputs.seeds is not None:
            if len(inputs.seeds) != self.n:
                raise SimulationInputError("seeds: one per patient")
            for p, seed in zip(self.pat, inputs.seeds, strict=True):
                p.draws = PatientDraws.from_seed(int(seed))
        self.clone_idx = [self.idx[c] for c in pm.clones]
        self.high_idx = [self.idx[c] for c in pm.high_clones]
        self.initial_burden = np.sum(inputs.y0[:, self.clone_idx], axis=1)
        self.reference_mm = float(self.sc.patient.tumour.diameter_mm)
        for i, p in enumerate(self.pat):
            p.line = (
                self._new_line(0, 0.0, None, float(self.initial_burden[i])) if regimens else None
            )

    # -- decisions ---------------------------------------------------------------------------

    def _diam(self, i: int, burden: float) -> float:
        return float(
            diameter_mm(
                burden,
                reference_burden=float(self.initial_burden[i]),
                reference_mm=self.reference_mm,
            )
        )

    def _scan_time(self, i: int, line: _Line, n: int) -> float:
        """Day of the ``n``-th follow-up scan (1-based) of ``line``: nominal, or in its visit
        window when the patient has random draws."""
        t = line.start + n * float(self.sc.scan_interval_days)
        draws = self.pat[i].draws
        if self.window > 0 and draws is not None:
            t += self.window * float(draws.scan_jitter[(n - 1) % MAX_DRAWS])
        return t

    def _limit(self, i: int) -> float:
        """The patient's last day: the horizon or their death, whichever comes first."""
        return min(self.horizon, self.pat[i].death_day)

    def _new_line(self, k: int, start: float, diam: float | None, burden: float) -> _Line:
        return _Line(k, start, [start], [] if diam is None else [diam], burden)

    def _assess(self, line: _Line) -> Assessment:
        """RECIST over the line's scans; an adaptive line measures progression against its
        baseline (the planned regrowth during a pause is not progression)."""
        adaptive = self.regimens[line.index].adaptive is not None
        return classify(
            np.asarray(line.scan_times),
            np.asarray(line.scan_diam),
            progression_reference="baseline" if adaptive else "nadir",
        )

    def _segment_kind(self, i: int) -> tuple[str, int]:
        p = self.pat[i]
        line = p.line
        if line is None:
            return FOLLOW, -1
        if line.phase == TREAT:
            regimen = self.regimens[line.index]
            planned = (line.cycles_given + line.skipped) * regimen.cycle_length_days
            if any(a <= planned < b for a, b in regimen.holidays):
                return HOLIDAY, line.index
            if regimen.adaptive is not None:
                burden = float(self.y[i, self.clone_idx].sum())
                line.treating = regimen.adaptive.treat(
                    treating=line.treating, burden=burden, baseline=line.baseline_burden
                )
                if not line.treating:
                    return PAUSE, line.index
            rules = self.sc.rules
            anc = self.y[i, self.idx[self.v.neutrophils]]
            if (
                rules.delay_if_anc_below is not None
                and anc < rules.delay_if_anc_below
                and line.delays_this_cycle < rules.max_delays_per_cycle
            ):
                return DELAY, line.index
            return TREAT, line.index
        return FOLLOW, line.index

    def run(self) -> RunOutput:
        for i in range(self.n):
            if self.pat[i].line is not None:
                burden = float(self.y[i, self.clone_idx].sum())
                self.pat[i].line.scan_diam.append(self._diam(i, burden))  # type: ignore[union-attr]
        while True:
            active = [i for i, p in enumerate(self.pat) if not p.done and not p.failed]
            if not active:
                break
            groups: dict[tuple[str, int], list[int]] = {}
            for i in active:
                groups.setdefault(self._segment_kind(i), []).append(i)
            for (kind, k), members in groups.items():
                self._run_segment(kind, k, np.asarray(members))
            if self.progress is not None:
                t_min = min(
                    (p.t for p in self.pat if not p.done and not p.failed), default=self.horizon
                )
                self.progress(min(t_min / self.horizon, 1.0))
        return self._collect()

    # -- one batch of segments ---------------------------------------------------------------

    def _run_segment(self, kind: str, k: int, members: np.ndarray) -> None:
        regimen = self.regimens[k] if k >= 0 else None
        events = EventTable()
        fine: list[float] = []
        if kind == TREAT:
            assert regimen is not None
            length = float(regimen.cycle_length_days)
            chemo_days = self._dose_events(events, regimen, members, fine)
            self._inhibitor_events(events, regimen, members, chemo_days)
        elif kind == DELAY:
            length = float(self.sc.rules.delay_days)
        elif kind in (HOLIDAY, PAUSE):
            assert regimen is not None
            length = float(regimen.cycle_length_days)
        else:
            length = float(self.sc.scan_interval_days)
        t0 = np.array([self.pat[i].t for i in members])
        for inf, day, species in zip(
            self.sc.infections, self.infection_days, self.infection_species, strict=True
        ):
            rel = day - t0
            when = np.where((rel >= 0) & (rel < length), rel, NEVER)
            if np.any(when < NEVER):
                events.bolus(when, species, float(inf.inoculum))
        saved = np.unique(
            np.concatenate([np.arange(0.0, length, self.step), [length], np.asarray(fine)])
        )
        # Endpoints are read on a fixed internal grid: the union with the saved grid keeps the
        # endpoint points the same whatever step is saved.
        grid = np.unique(np.concatenate([saved, np.arange(0.0, length, ENDPOINT_STEP_DAYS)]))
        grid = grid[(grid >= 0) & (grid <= length)]
        # The horizon and the RECIST scans falling in this segment become grid points when the
        # batch shares few of them (always for one patient), so that ends and progression days
        # are exact; otherwise they are read off the grid (scans by interpolation).
        marks = set()
        for i, t in zip(members, t0, strict=True):
            marks.add(self._limit(int(i)) - t)
            line = self.pat[i].line
            if line is not None:
                scan = len(line.scan_times)
                while self._scan_time(int(i), line, scan) - t <= length:
                    marks.add(self._scan_time(int(i), line, scan) - t)
                    scan += 1
        inside = sorted(m for m in marks if 0 < m < length)
        if 0 < len(inside) <= 16:
            grid = np.unique(np.concatenate([grid, inside]))
            saved = np.unique(np.concatenate([saved, inside]))
        self._saved = np.isin(grid, saved)
        skip = np.zeros((len(members), len(self.cm.flat.initial)), dtype=bool)
        skip[~self.first[members]] = True
        result = run_batch(
            self.cm,
            self.inputs.params[members],
            self.y[members],
            grid,
            events=events,
            options=self.options,
            skip_init=skip,
            workers=self.workers,
        )
        self.first[members] = False
        failures = result.failures()
        values = np.concatenate([result.states, result.outputs], axis=2)  # (m, t, vars)
        for j, i in enumerate(members):
            p = self.pat[i]
            if j in failures:
                where = f"line {k + 1} ({self.regimens[k].name})" if k >= 0 else "follow-up"
                p.failed = f"{failures[j]} (relative to day {p.t:g}; {kind} segment, {where})"
                continue
            self._advance(int(i), kind, grid, values[j], result.states[j])

    def _dose_events(
        self, events: EventTable, regimen: Regimen, members: np.ndarray, fine: list[float]
    ) -> list[float]:
        """Doses of one cycle at their day (relative to the cycle start), per patient amount."""
        chemo_days: list[float] = []
        factor = np.array([self.pat[i].dose_factor for i in members])
        if regimen.inhibitors:
            factor = factor * self.sc.rules.dose_factor_with_inhibitor
        for dose in regimen.doses:
            amount = self._dose_mg(dose, members) * factor
            names = self.v.pk[dose.drug]
            v1 = self.inputs.params[members, self.cm.parameter_names.index(names.volume)]
            conc = amount / v1
            for day in dose.days:
                t = float(day - 1)
                chemo_days.append(t)
                fine.extend(t + h / 24 for h in _FINE_HOURS)
                if dose.infusion_h > 0:
                    dur = dose.infusion_h / 24
                    events.infusion(t, t + dur, names.central, conc / dur)
                    fine.extend(t + dur + h / 24 for h in _FINE_HOURS)
                else:
                    events.bolus(t, names.central, conc)
        return chemo_days

    def _dose_mg(self, dose: Dose, members: np.ndarray) -> np.ndarray:
        if dose.unit == "mg/m2":
            return dose.dose * self.inputs.bsa_m2[members]
        if dose.unit == "mg/kg":
            return dose.dose * self.inputs.weight_kg[members]
        return np.full(len(members), dose.dose)

    def _inhibitor_events(
        self, events: EventTable, regimen: Regimen, members: np.ndarray, chemo_days: list[float]
    ) -> None:
        # Loading dose to the course's level, then the maintenance infusion that holds it
        # (rate = k_el·level); after the course the inhibitor decays with its half-life.
        k_el_name = self.v.inhibitor_elimination
        if not regimen.inhibitors or k_el_name is None:
            return
        inhibitor = self.v.inhibitor
        k_el = self.inputs.params[members, self.cm.parameter_names.index(k_el_name)]
        for a, b, c in inhibitor_spans(regimen, chemo_days, self.pm.library):
            events.add(a, inhibitor, c, target="state", op="set")
            events.infusion(a, b, inhibitor, k_el * c)

    # -- after a segment: record, scan, decide -----------------------------------------------

    def _advance(
        self, i: int, kind: str, grid: np.ndarray, values: np.ndarray, states: np.ndarray
    ) -> None:
        p = self.pat[i]
        times = p.t + grid
        line = p.line
        if kind == TREAT and line is not None:
            # The cycle's nadir (the dose was given whatever a scan in it shows): dose rules,
            # and febrile neutropenia with its risk of death — but only up to the patient's
            # last day (the horizon or an earlier death): no episode after either.
            alive = max(1, int(np.searchsorted(times, self._limit(i) + 1e-9, side="right")))
            anc = values[:alive, self.idx[self.v.neutrophils]]
            nadir, nadir_t = _extremum(times[:alive], anc, minimum=True)
            if nadir < GRADE4_ANC:
                p.grade4_cycles += 1
                self._febrile_neutropenia(p, nadir_t)
        self._infection_deaths(p, times, values)
        limit = self._limit(i)
        stop = len(grid)  # index after the last point kept
        switch_at: int | None = None
        if line is not None:
            # RECIST scans falling in this segment (before death and the horizon), in order.
            burden = values[:, self.clone_idx].sum(axis=1)
            while True:
                scan = self._scan_time(i, line, len(line.scan_times))
                if scan > times[-1] + 1e-9 or scan > limit + 1e-9:
                    break
                b = float(np.interp(scan, times, burden))
                line.scan_times.append(scan)
                line.scan_diam.append(self._diam(i, b))
                a = self._assess(line)
                if a.progression_time is not None:
                    switch_at = int(np.argmin(np.abs(times - scan)))
                    stop = switch_at + 1
                    break
        limit_stop = int(np.searchsorted(times, limit + 1e-9, side="right"))
        stop = max(1, min(stop, limit_stop))
        kept = values[:stop]
        self._endpoints_running(i, times[:stop], kept)
        reached_limit = times[stop - 1] >= limit - 1e-9 or (
            switch_at is None and times[-1] >= limit - 1e-9
        )
        if i in self.record:
            # The last point is the next segment's first unless the patient stops here.
            keep = self._saved[:stop].copy()
            if not reached_limit:
                keep[-1] = False  # the next segment's first point
            self._record(i, times[:stop][keep], kept[keep], last=True)
        end = stop - 1
        p.t = float(times[end])
        self.y[i] = states[end]
        if kind == TREAT and line is not None:
            line.cycles_given += 1  # its day-1 doses are given even if a scan ends the line
        if switch_at is not None and line is not None:
            self._post_progression_death(p, float(times[switch_at]))
            self._close_line(i, progression=float(times[switch_at]))
        elif kind == TREAT and line is not None:
            line.delays_this_cycle = 0
            regimen = self.regimens[line.index]
            rules = self.sc.rules
            nadir = _extremum(times[:stop], kept[:, self.idx[self.v.neutrophils]], True)[0]
            if rules.reduce_after_grade4 is not None and nadir < GRADE4_ANC:
                p.dose_factor = max(
                    p.dose_factor * rules.reduce_after_grade4, rules.min_dose_factor
                )
            if line.cycles_given + line.skipped >= regimen.n_cycles:
                line.phase = FOLLOW
        elif kind == DELAY and line is not None:
            line.delays += 1
            line.delays_this_cycle += 1
        elif kind in (HOLIDAY, PAUSE) and line is not None:
            line.skipped += 1
            line.paused += kind == PAUSE
            if line.cycles_given + line.skipped >= self.regimens[line.index].n_cycles:
                line.phase = FOLLOW
        if reached_limit:
            # Reached the horizon or death (or the last grid point before it, when it is not
            # on this batch's grid): the patient is done.
            if p.death_day <= self.horizon and p.death_day <= p.t + ENDPOINT_STEP_DAYS:
                p.t = p.death_day
            if p.line is not None:
                self._close_line(i, progression=None)
            p.done = True

    # -- deaths ------------------------------------------------------------------------------

    def _die(self, p: _Patient, day: float, cause: str) -> None:
        if day < p.death_day:
            p.death_day, p.death_cause = day, cause

    def _febrile_neutropenia(self, p: _Patient, nadir_day: float) -> None:
        if self.deaths is None or p.draws is None or p.grade4_cycles > MAX_DRAWS:
            return
        if p.draws.fn[p.grade4_cycles - 1] >= self.deaths.fn_per_grade4_cycle:
            return
        p.fn_episodes += 1
        if p.draws.fn_death[p.fn_episodes - 1] < self.deaths.fn_death:
            self._die(p, nadir_day + self.deaths.fn_death_delay_days, NEUTROPENIC_INFECTION)

    def _infection_deaths(self, p: _Patient, times: np.ndarray, values: np.ndarray) -> None:
        if self.deaths is None or p.draws is None:
            return
        wait = self.deaths.uncleared_infection_days
        for m, (day, species) in enumerate(
            zip(self.infection_days, self.infection_species, strict=True)
        ):
            due = day + wait
            if p.infection_checked[m] or times[-1] < due - 1e-9:
                continue
            p.infection_checked[m] = True
            load = values[:, self.idx[species]]
            cleared = not math.isnan(p.cleared[m]) or bool(
                np.any((times > day) & (times <= due + 1e-9) & (load <= 0.0))
            )
            if not cleared and p.draws.infection[m] < self.deaths.uncleared_infection_death:
                self._die(p, due, INFECTION)

    def _post_progression_death(self, p: _Patient, progression_day: float) -> None:
        if self.deaths is None or p.draws is None or p.lines:
            return  # only the first progression starts the clock
        scale = self.deaths.post_progression_median_days / math.log(2.0)
        self._die(p, progression_day + scale * p.draws.post_progression, PROGRESSION)

    def _close_line(self, i: int, progression: float | None) -> None:
        p = self.pat[i]
        line = p.line
        assert line is not None
        regimen = self.regimens[line.index]
        best: str
        if len(line.scan_times) >= 2:
            a = self._assess(line)
            best = str(a.best_response.value)
            # Best change from baseline over the follow-up scans (the waterfall-plot measure):
            # a tumour that only grows has a positive best change, not the 0 % the baseline
            # scan itself would give.
            base = line.scan_diam[0]
            best_change = 100.0 * (min(line.scan_diam[1:]) - base) / base
        else:
            best, best_change = NOT_EVALUABLE, math.nan  # no follow-up scan before the horizon
        if progression is not None:
            hf = self.y[i, self.high_idx].sum() / self.y[i, self.clone_idx].sum()
            if math.isnan(p.high_fraction_at_pd):
                p.high_fraction_at_pd = float(hf)
        p.lines.append(
            {
                "line": line.index + 1,
                "regimen": regimen.name,
                "start_day": line.start,
                "progression_day": progression,
                "end_day": p.t,
                "best_response": best,
                "best_change_pct": best_change,
                "cycles_given": line.cycles_given,
                "cycles_paused": line.paused,
                "delays": line.delays,
                "dose_factor": p.dose_factor,
            }
        )
        if progression is not None and line.index + 1 < len(self.regimens):
            burden = float(self.y[i, self.clone_idx].sum())
            p.line = self._new_line(line.index + 1, progression, self._diam(i, burden), burden)
            p.dose_factor = 1.0
        else:
            p.line = None

    def _endpoints_running(self, i: int, times: np.ndarray, v: np.ndarray) -> None:
        p = self.pat[i]
        nadir, day = _extremum(times, v[:, self.idx[self.v.neutrophils]], minimum=True)
        if nadir < p.anc_min:
            p.anc_min, p.anc_min_day = nadir, day
        cd8 = self.v.cd8
        eff = v[:, self.idx[cd8.effector]] + v[:, self.idx[cd8.activated]]
        peak, day = _extremum(times, eff, minimum=False)
        if peak > p.cd8_peak:
            p.cd8_peak, p.cd8_peak_day = peak, day
        for m, (day, species) in enumerate(
            zip(self.infection_days, self.infection_species, strict=True)
        ):
            if not math.isnan(p.cleared[m]):
                continue
            load = v[:, self.idx[species]]
            after = (times > day) & (load <= 0.0)
            if np.any(after):
                p.cleared[m] = float(times[np.argmax(after)])

    def _record(self, i: int, times: np.ndarray, v: np.ndarray, *, last: bool) -> None:
        keep = slice(None) if last or len(times) < 2 else slice(0, len(times) - 1)
        cols = [self.idx[n] for n in self.rec_vars]
        block = v[keep][:, cols]
        t = times[keep]
        self.rows.append(
            pd.DataFrame(
                {
                    "patient": i,
                    "time": np.repeat(t, len(cols)),
                    "variable": np.tile(np.asarray(self.rec_vars, dtype=object), len(t)),
                    "value": block.reshape(-1),
                }
            )
        )

    # -- results -----------------------------------------------------------------------------

    def _collect(self) -> RunOutput:
        ep_rows, line_rows = [], []
        failures = {}
        names = self.idx
        for i, p in enumerate(self.pat):
            for rec in p.lines:
                line_rows.append({"patient": i, **rec})
            y = self.y[i]
            first = p.lines[0] if p.lines else None
            pd_day = first["progression_day"] if first else None
            burden = float(y[self.clone_idx].sum())
            died = p.death_day <= self.horizon
            pfs, pfs_event = self.horizon, False
            if pd_day is not None:
                pfs, pfs_event = float(pd_day), True  # type: ignore[arg-type]
            if died and p.death_day < pfs:
                pfs, pfs_event = p.death_day, True  # death before progression is a PFS event
            row: dict[str, object] = {
                "patient": i,
                "status": "failed" if p.failed else "ok",
                "reason": p.failed,
                "pfs_days": pfs,
                "pfs_event": pfs_event,
                "best_response": first["best_response"] if first else None,
                "best_change_pct": first["best_change_pct"] if first else math.nan,
                "anc_nadir": p.anc_min,
                "anc_nadir_day": p.anc_min_day,
                "grade4_neutropenia": p.anc_min < GRADE4_ANC,
                "cd8_peak": p.cd8_peak,
                "cd8_peak_day": p.cd8_peak_day,
                "cd8_memory": float(y[names[self.v.cd8.memory]]),
                "ctl_tumour_end": float(y[names[self.v.ctl_tumour]]),
                "tumour_end_1e9": burden,
                "mdr1_high_fraction_end": float(y[self.high_idx].sum()) / burden
                if burden > 0
                else math.nan,
                "mdr1_high_fraction_at_progression": p.high_fraction_at_pd,
                "lines_started": len(p.lines),
                "grade4_cycles": p.grade4_cycles,
            }
            if self.sampled and self.deaths is not None:
                row.update(
                    os_days=p.death_day if died else self.horizon,
                    os_event=died,
                    death_cause=CAUSE_CODES[p.death_cause] if died else 0,
                    early_death=died and p.death_day <= EARLY_DEATH_DAYS,
                    febrile_neutropenia=p.fn_episodes > 0,
                    fn_episodes=p.fn_episodes,
                )
            else:
                # Deaths are sampled only for patients with a random stream (a trial).
                row.update(
                    os_days=math.nan,
                    os_event=None,
                    death_cause=None,
                    early_death=None,
                    febrile_neutropenia=None,
                    fn_episodes=None,
                )
            for k in range(len(self.regimens)):
                if k >= len(p.lines):
                    row[f"ttf_line{k + 1}_days"] = math.nan
                    row[f"ttf_line{k + 1}_event"] = False
                else:
                    rec = p.lines[k]
                    prog = rec["progression_day"]
                    start = float(rec["start_day"])  # type: ignore[arg-type]
                    # Treatment failure: progression or death, whichever ends the line; a line
                    # still running at the horizon is censored there (never past a death).
                    line_end = float(rec["end_day"])  # type: ignore[arg-type]
                    died = p.death_day <= self.horizon and line_end >= p.death_day - 1e-9
                    if prog is not None:
                        end = float(prog)  # type: ignore[arg-type]
                    elif died:
                        end = p.death_day
                    else:
                        end = min(self.horizon, line_end)
                    row[f"ttf_line{k + 1}_days"] = end - start
                    row[f"ttf_line{k + 1}_event"] = prog is not None or died
            for drug in self.pm.drugs:
                # AUC state is mg/L·d; report mg·h/L as the clinical literature does.
                row[f"auc_{drug}_mg_h_per_L"] = 24.0 * float(y[names[self.v.pk[drug].auc]])
            if len(self.infection_days):
                # Every infection challenged before the horizon is cleared (an infection on
                # or after the horizon is rejected when the scenario is read).
                row["infection_cleared"] = all(not math.isnan(c) for c in p.cleared)
                row["infection_clearance_day"] = p.cleared[0]
                for k, day in enumerate(p.cleared[1:], start=2):
                    row[f"infection{k}_clearance_day"] = day
            else:
                row["infection_cleared"] = None
                row["infection_clearance_day"] = math.nan
            if p.failed:
                failures[i] = p.failed
                # A failed patient has no outcome: nothing may read as censored or measured.
                for key in list(row):
                    if key not in ("patient", "status", "reason"):
                        row[key] = None
            ep_rows.append(row)
        traj = pd.concat(self.rows, ignore_index=True) if self.rows else None
        return RunOutput(
            endpoints=pd.DataFrame(ep_rows),
            lines=pd.DataFrame(
                line_rows,
                columns=[
                    "patient",
                    "line",
                    "regimen",
                    "start_day",
                    "progression_day",
                    "end_day",
                    "best_response",
                    "best_change_pct",
                    "cycles_given",
                    "cycles_paused",
                    "delays",
                    "dose_factor",
                ],
            ),
            trajectories=traj,
            failures=failures,
        )


def _extremum(times: np.ndarray, values: np.ndarray, minimum: bool) -> tuple[float, float]:
    """Smallest (or largest) value of a sampled curve and its time, refined by the parabola
    through the grid extremum and its two neighbours (exact for a locally quadratic curve; the
    grid value when the extremum is at an end or the parabola is degenerate)."""
    j = int(np.argmin(values) if minimum else np.argmax(values))
    best, when = float(values[j]), float(times[j])
    if 0 < j < len(values) - 1:
        t0, t1, t2 = (float(x) for x in times[j - 1 : j + 2])
        y0, y1, y2 = (float(x) for x in values[j - 1 : j + 2])
        den = (t0 - t1) * (t0 - t2) * (t1 - t2)
        if den != 0:
            a = (t2 * (y1 - y0) + t1 * (y0 - y2) + t0 * (y2 - y1)) / den
            b = (t2 * t2 * (y0 - y1) + t1 * t1 * (y2 - y0) + t0 * t0 * (y1 - y2)) / den
            if a > 0 if minimum else a < 0:
                tv = -b / (2 * a)
                if t0 <= tv <= t2:
                    c = y1 - a * t1 * t1 - b * t1
                    yv = a * tv * tv + b * tv + c
                    # Never beyond what a sampled value already shows in the wrong direction.
                    if (yv <= best) if minimum else (yv >= best):
                        best, when = yv, tv
    return best, when
