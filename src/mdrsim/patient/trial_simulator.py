"""The whole-patient model as a trial simulator: ``simulator: {scenario: patient.yaml}``.

The scenario file gives the typical patient (tumour, immune status, infections, rules,
horizon); each arm gives its treatment lines (``lines:``, the scenario's own lines when
absent). One compiled model holds every drug of every arm, so every arm runs the same code and
the same virtual patients (paired design). A population may sample:

- any parameter or initial state of the patient model (``tum_r``, ``CL_doxorubicin``, …);
- covariates ``bsa_m2`` (doses in mg/m² and the PK volumes and clearances scale with it —
  assumed: PK proportional to BSA around the scenario's patient, so under doses in mg/m² BSA
  cancels out of every concentration and endpoint; it matters for flat doses only) and
  ``weight_kg``;
- tumour covariates ``mdr1_high_fraction`` and ``tumour_cells_1e9`` (initial burden);
- ``cd8_mdr1_function`` (1 wild type … 0 MDR1-deficient T cells).

Deaths (:mod:`mdrsim.patient.deaths`) are sampled from each patient's seed — the same numbers
in every arm (paired) and whatever the chunking — with the default rates unless the simulator
block overrides them (``deaths: {fn_death: 0.026, ...}``) or turns them off (``deaths:
false``). ``scan_window_days`` (default 0) lets each RECIST scan fall anywhere within that many
days of its nominal day, drawn from the same stream, as trial visits do.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import TypeAdapter, ValidationError

from mdrsim import __version__
from mdrsim.errors import InputFileError
from mdrsim.io.safe_yaml import load_yaml, read_text_file
from mdrsim.model.domain import Domain
from mdrsim.patient.deaths import DeathModel
from mdrsim.patient.library_bridge import (
    label_dose_exceedances,
    library_gaps,
    unchecked_trial_doses,
)
from mdrsim.patient.model import PatientModel, build_patient_model
from mdrsim.patient.runner import PatientInputs, default_inputs, run_patients
from mdrsim.patient.scenario import (
    BSA_DOMAIN,
    BURDEN_DOMAIN,
    CD8_FUNCTION_DOMAIN,
    MDR1_FRACTION_DOMAIN,
    WEIGHT_DOMAIN,
    Scenario,
    ScenarioError,
    parse_scenario,
)
from mdrsim.regimen.schedule import Patient, Regimen, RegimenError
from mdrsim.trial.errors import TrialSpecError
from mdrsim.trial.population import PhysicalBound
from mdrsim.trial.simulator import (
    ENDPOINT_COLUMNS,
    ChunkOutput,
    SimulatorContext,
    register_simulator,
)

if TYPE_CHECKING:
    from mdrsim.data.library import Library

COVARIATES = ("bsa_m2", "weight_kg", "mdr1_high_fraction", "tumour_cells_1e9", "cd8_mdr1_function")
_PK_SCALED = ("CL_", "Q2_", "Q3_")
#: Declared physical ranges of the covariates (the scenario's fields use the same ones).
COVARIATE_DOMAINS: dict[str, Domain] = {
    "bsa_m2": BSA_DOMAIN,
    "weight_kg": WEIGHT_DOMAIN,
    "mdr1_high_fraction": MDR1_FRACTION_DOMAIN,
    "tumour_cells_1e9": BURDEN_DOMAIN,
    "cd8_mdr1_function": CD8_FUNCTION_DOMAIN,
}
_MODELS: dict[str, PatientModel] = {}


class ScenarioSimulator:
    """Runs chunks of virtual patients of one scenario under each arm's treatment lines."""

    def __init__(
        self,
        scenario_text: str,
        source: str,
        arms: dict[str, tuple[Regimen, ...]],
        horizon_days: float,
        scan_interval_days: float,
        trajectories_first: int = 0,
        *,
        library: Library,
        deaths: DeathModel | None = None,
        scan_window_days: float = 0.0,
    ) -> None:
        self.deaths = deaths
        self.scan_window_days = scan_window_days
        if not 0 <= scan_window_days < scan_interval_days / 2:
            raise TrialSpecError(
                f"simulator.scan_window_days: {scan_window_days!r}; allowed: 0 <= window < "
                f"half the scan interval ({scan_interval_days / 2:g} d)"
            )
        self.scenario_text = scenario_text
        self.source = source
        self.arms = arms
        self.trajectories_first = trajectories_first
        self.library = library
        base = parse_scenario(scenario_text, source=source, library=library)
        # The scenario's own lines come first: infection days given as "cycle k" count the
        # cycles of the scenario file's first line, whatever the arm.
        every_line = base.lines + tuple(line for lines in arms.values() for line in lines)
        # The trial's horizon and scan interval win over the scenario's.
        self.scenario: Scenario = base.model_copy(
            update={
                "horizon_days": horizon_days,
                "scan_interval_days": scan_interval_days,
                "lines": every_line,
            }
        )
        # model_copy does not re-run the scenario's checks: repeat those the trial can break.
        if horizon_days > 3650:
            raise TrialSpecError("horizon_days: at most 3650 days for the scenario simulator")
        for i, day in enumerate(self.scenario.infection_days()):
            if day >= horizon_days:
                raise TrialSpecError(
                    f"simulator.scenario: infections[{i}] on day {day:g} is not before the "
                    f"trial's horizon ({horizon_days:g} d)"
                )
        inhibitors = {c.inhibitor for line in every_line for c in line.inhibitors}
        if len(inhibitors) > 1:
            raise TrialSpecError(
                f"arms: one MDR1 inhibitor per trial is supported, got {sorted(inhibitors)}"
            )
        self._model: PatientModel | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_model"] = None  # compiled code is process-local; rebuilt from the disk cache
        return state

    @property
    def model(self) -> PatientModel:
        if self._model is None:
            # Per-process cache: a long-lived (Dask) worker unpickles a fresh simulator for
            # every task; assembling the model again (library, calibration) costs seconds.
            key = hashlib.sha256(self.scenario.model_dump_json().encode()).hexdigest()
            model = _MODELS.get(key)
            if model is None:
                model = build_patient_model(self.scenario, self.library)
                _MODELS[key] = model
            self._model = model
        return self._model

    # -- Simulator protocol -------------------------------------------------------------
    def arm_names(self) -> list[str]:
        return list(self.arms)

    def parameter_names(self) -> list[str]:
        cm = self.model.compiled
        return [*cm.parameter_names, *cm.state_names, *COVARIATES]

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "scenario",
            "scenario": self.source,
            "scenario_sha256": hashlib.sha256(self.scenario_text.encode()).hexdigest(),
            "compiled_key": self.model.compiled.key,
            "mdrsim_version": __version__,
            "arms": {k: [r.model_dump(mode="json") for r in v] for k, v in self.arms.items()},
            "deaths": None if self.deaths is None else asdict(self.deaths),
            "scan_window_days": self.scan_window_days,
        }

    def physical_bounds(self) -> dict[str, PhysicalBound]:
        """What each samplable name can physically be: the range the patient model declares
        where the name is defined (the biology modules' ``domain=``, e.g. a clearance > 0, a
        fraction in [0, 1], a tumour clone below ``tum_K``) and the covariates' declared ranges
        (:data:`COVARIATE_DOMAINS`, shared with the scenario's fields). Nothing is inferred
        from a name or a unit; a samplable name without a declaration is a bug in the model
        (tested)."""
        model = self.model.compiled.model
        out: dict[str, PhysicalBound] = {}
        for name in (*self.model.compiled.parameter_names, *self.model.compiled.state_names):
            domain = model.domain_of(name)
            if domain is not None:
                if domain.upper_name is not None and domain.upper_name in model.defined_names():
                    # The named bound's value for patients that do not sample it.
                    domain = replace(domain, upper=model.value_of(domain.upper_name))
                out[name] = domain
        k = "tum_K"
        for name, domain in COVARIATE_DOMAINS.items():
            if domain.upper_name == k:
                domain = replace(domain, upper=model.value_of(k))
            out[name] = domain
        return out

    def simulate_chunk(self, arm: str, patients: pd.DataFrame) -> ChunkOutput:
        if arm not in self.arms:
            raise TrialSpecError(f"arm {arm!r} is not one of {', '.join(self.arms)}")
        pm = self.model
        inputs = self.inputs(patients)
        ids = patients["patient"].to_numpy(dtype=np.int64)
        record = [j for j, p in enumerate(ids) if p < self.trajectories_first]
        out = run_patients(
            pm,
            inputs,
            lines=self.arms[arm],
            record=record,
            record_variables=self._trajectory_variables(),
            workers=1,  # parallelism is across chunks
            deaths=self.deaths,
            scan_window_days=self.scan_window_days,
        )
        ep = out.endpoints.copy()
        ep["patient"] = ids[ep["patient"].to_numpy()]
        ep.insert(1, "arm", arm)
        # Extra columns must be numeric or boolean in the store: flags with missing values
        # (a failed patient's row) become nullable booleans, the rest numbers.
        for c in ep.columns:
            if c in ENDPOINT_COLUMNS or ep[c].dtype != object:
                continue
            values = [v for v in ep[c] if v is not None and v == v]
            if all(isinstance(v, bool | np.bool_) for v in values):
                ep[c] = ep[c].astype("boolean")
            else:
                ep[c] = pd.to_numeric(ep[c], errors="raise")
        traj = None
        if out.trajectories is not None:
            traj = out.trajectories.copy()
            traj["patient"] = ids[traj["patient"].to_numpy()]
            traj.insert(1, "arm", arm)
        return ChunkOutput(ep, traj)

    def _trajectory_variables(self) -> list[str]:
        """Burden, MDR1-high fraction, ANC, CD8 effector and memory, and each drug in plasma."""
        v = self.model.variables
        names = set(self.model.compiled.state_names + self.model.compiled.output_names)
        wanted = (
            v.tumour.total,
            v.tumour.high_fraction,
            v.anc,
            v.cd8.effector,
            v.cd8.memory,
            *(v.pk[d].plasma_uM for d in self.model.drugs),
        )
        return [n for n in wanted if n in names]

    def inputs(self, patients: pd.DataFrame) -> PatientInputs:
        """The parameter/state matrices and covariates of ``patients``."""
        pm = self.model
        cm = pm.compiled
        n = len(patients)
        inputs = default_inputs(pm, n)
        if "seed" in patients.columns:
            inputs.seeds = patients["seed"].to_numpy(dtype=np.uint64)
        p_index = {name: i for i, name in enumerate(cm.parameter_names)}
        s_index = {name: i for i, name in enumerate(cm.state_names)}
        cols = set(patients.columns) - {"patient", "seed"}
        if "bsa_m2" in cols:
            bsa = patients["bsa_m2"].to_numpy(dtype=float)
            scale = bsa / pm.reference_bsa
            inputs.bsa_m2 = bsa
            volumes = {v for d in pm.drugs for v in pm.variables.pk[d].volumes}
            for name, i in p_index.items():
                if name.startswith(_PK_SCALED) or name in volumes:
                    inputs.params[:, i] *= scale
        if "weight_kg" in cols:
            inputs.weight_kg = patients["weight_kg"].to_numpy(dtype=float)
        clones = [s_index[c] for c in pm.clones]
        if "tumour_cells_1e9" in cols:
            total0 = inputs.y0[:, clones].sum(axis=1)
            factor = patients["tumour_cells_1e9"].to_numpy(dtype=float) / total0
            inputs.y0[:, clones] *= factor[:, None]
        if "mdr1_high_fraction" in cols:
            f = patients["mdr1_high_fraction"].to_numpy(dtype=float)
            if np.any((f < 0) | (f >= 1)):
                raise TrialSpecError("population: mdr1_high_fraction must lie in [0, 1)")
            # The highest MDR1 level gets the fraction; the lowest (parental) the rest; the
            # levels in between keep their scenario values. (Scenarios have no trait layer.)
            total = inputs.y0[:, clones].sum(axis=1)
            high = [s_index[c] for c in pm.high_clones]
            parental = clones[0]
            middle = [c for c in clones if c not in high and c != parental]
            inputs.y0[:, high] = 0.0
            inputs.y0[:, high[0]] = f * total
            rest = total - inputs.y0[:, middle].sum(axis=1) - f * total
            inputs.y0[:, parental] = np.maximum(rest, 0.0)
        if "cd8_mdr1_function" in cols:
            inputs.params[:, p_index["mdr1_genotype_cd8"]] = patients["cd8_mdr1_function"]
        for name in cols - set(COVARIATES):
            values = patients[name].to_numpy(dtype=float)
            if name in p_index:
                inputs.params[:, p_index[name]] = values
            elif name in s_index:
                inputs.y0[:, s_index[name]] = values
            else:
                raise TrialSpecError(
                    f"population: {name!r} is not a parameter, state or covariate of the "
                    f"patient model (covariates: {', '.join(COVARIATES)})"
                )
        return inputs


_LINES = TypeAdapter(tuple[Regimen, ...])


def scenario_simulator_factory(context: SimulatorContext) -> ScenarioSimulator:
    """``simulator: {scenario: FILE}``; each arm: ``{name, lines: [...]}`` (regimens as in a
    scenario file) or no ``lines`` for the scenario's own."""
    cfg = dict(context.config)
    unknown = set(cfg) - {"kind", "scenario", "deaths", "scan_window_days"}
    if unknown:
        raise TrialSpecError(
            f"simulator: unknown field(s) {sorted(unknown)}; allowed: scenario, deaths, "
            "scan_window_days"
        )
    deaths = _death_model(cfg.get("deaths", True))
    window = cfg.get("scan_window_days", 0.0)
    if isinstance(window, bool) or not isinstance(window, int | float):
        raise TrialSpecError(f"simulator.scan_window_days: {window!r}; allowed: a number of days")
    path = Path(str(cfg.get("scenario", "")))
    if not path.is_absolute():
        path = context.base_dir / path
    if not path.is_file():
        raise TrialSpecError(f"simulator.scenario: file {str(path)!r} does not exist")
    try:
        text = read_text_file(path, "simulator.scenario")
        load_yaml(text, f"simulator.scenario {path}")  # the limits: aliases, depth, duplicates
    except InputFileError as exc:
        raise TrialSpecError(str(exc)) from None
    from mdrsim.data.library import load_library

    library = load_library()  # the boundary: a trial file names no library
    try:
        base = parse_scenario(text, source=str(path), library=library)
    except ScenarioError as exc:
        raise TrialSpecError(str(exc)) from None
    arms: dict[str, tuple[Regimen, ...]] = {}
    for i, arm in enumerate(context.arms):
        extra = set(arm) - {"name", "description", "lines"}
        if extra:
            raise TrialSpecError(f"arms[{i}]: unknown field(s) {sorted(extra)}; allowed: lines")
        if "lines" not in arm:
            arms[str(arm["name"])] = base.lines
            continue
        try:
            lines = _LINES.validate_python(arm["lines"])
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
            raise TrialSpecError(f"arms[{i}].lines{loc}: {first['msg']}") from None
        if not lines:
            raise TrialSpecError(f"arms[{i}].lines: give at least one line")
        problems: list[str] = []
        for k, line in enumerate(lines):
            try:
                line.check(library)
            except RegimenError as exc:
                problems += [f"arms[{i}].lines[{k}].{p}" for p in exc.problems]
        problems += library_gaps(lines, library, prefix=f"arms[{i}].lines")
        if not problems and not base.allow_above_label_dose:
            patient = Patient(
                bsa_m2=base.patient.body_surface_area(), weight_kg=base.patient.weight_kg
            )
            found = label_dose_exceedances(lines, patient, library, prefix=f"arms[{i}].lines")
            found += unchecked_trial_doses(lines, library, prefix=f"arms[{i}].lines")
            problems += [
                f"{p}; set allow_above_label_dose: true in the scenario to run it anyway"
                for p in found
            ]
        if problems:
            raise TrialSpecError("\n".join(problems))
        arms[str(arm["name"])] = lines
    return ScenarioSimulator(
        text,
        str(path),
        arms,
        context.horizon_days,
        context.scan_interval_days,
        context.trajectories_first,
        library=library,
        deaths=deaths,
        scan_window_days=float(window),
    )


def _death_model(value: object) -> DeathModel | None:
    """``deaths:`` of the simulator block: true (default rates), false (no deaths), or a
    mapping overriding some rates."""
    from mdrsim.errors import InputValueError

    if value is True:
        return DeathModel()
    if value is False:
        return None
    allowed = [f.name for f in fields(DeathModel)]
    if not isinstance(value, dict):
        raise TrialSpecError(
            f"simulator.deaths: {value!r}; allowed: true, false or a mapping of "
            f"{', '.join(allowed)}"
        )
    unknown = set(value) - set(allowed)
    if unknown:
        raise TrialSpecError(
            f"simulator.deaths: unknown field(s) {sorted(unknown)}; allowed: {', '.join(allowed)}"
        )
    for k, v in value.items():
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise TrialSpecError(f"simulator.deaths.{k}: {v!r}; allowed: a number")
    try:
        return DeathModel(**{k: float(v) for k, v in value.items()})
    except InputValueError as exc:
        raise TrialSpecError(str(exc)) from None


register_simulator("scenario", scenario_simulator_factory)
