"""Scenario files: one patient, their tumour and immune status, treatment lines, infections.

A scenario is YAML read with a limited safe loader (``mdrsim.io.safe_yaml``: nothing in it is
ever executed; no aliases or duplicate keys) and
validated by pydantic. Every problem is reported at once, each with its field path and, where
the file gives it, its line: ``lines[0].doses[0].dose (line 14): must be > 0``.

```yaml
schema_version: 1       # optional; this mdrsim reads version 1
name: doxorubicin alone
horizon_days: 365
patient:
  bsa_m2: 1.8            # or height_cm + weight_kg (Mosteller)
  weight_kg: 70
  tumour: {diameter_mm: 50, cells_1e9: 10, mdr1_high_fraction: 0.001}
  immune: {cd8_mdr1: wild_type}
lines:
  - name: doxorubicin
    cycle_length_days: 21
    n_cycles: 6
    doses: [{drug: doxorubicin, dose: 75, unit: mg/m2}]
infections:
  - {pathogen: virus, cycle: 2, day: 8}
solver: {rtol: 1.0e-6, atol: 1.0e-10}   # optional: the engine's tolerances
```

A line may carry an adaptive-therapy rule (``adaptive: {stop_below_fraction_of_baseline: 0.5,
resume_at_fraction: 1.0}``, see :class:`mdrsim.regimen.schedule.AdaptiveRule`). The scenario is
checked against the library it will be built from: every drug must have what the patient model
needs (clearance, a volume, a parental IC50), and each gap is reported with its field path.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import annotated_types
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from mdrsim.biology.tumour import (
    CAPACITY_DOMAIN,
    COST_DOMAIN,
    GROWTH_RATE_DOMAIN,
    SWITCH_DOMAIN,
)
from mdrsim.data.units import convert_field
from mdrsim.engine import SolverOptions
from mdrsim.errors import InputFileError, ScenarioError
from mdrsim.model.domain import Domain, fraction, non_negative, positive
from mdrsim.patient.library_bridge import label_dose_exceedances, library_gaps
from mdrsim.regimen.schedule import Patient, Regimen, RegimenError

if TYPE_CHECKING:
    from mdrsim.data.library import Library

#: The scenario schema version this mdrsim reads (``schema_version:`` in a file; default 1).
SCHEMA_VERSION: Literal[1] = 1

_SEED_MESSAGE = (
    "the whole-patient model is deterministic (ODE), so a seed has no effect — remove it "
    "(a trial file's seed draws its virtual patients)"
)


#: Declared physical ranges of the patient's covariates: the scenario's fields and the trial
#: covariates of the same name validate against these (mdrsim.model.domain).
BSA_DOMAIN = Domain(
    0.0,
    3.5,
    lower_inclusive=False,
    why=(
        "body surface area, m2; assumed: a physical limit far above adult cancer patients "
        "(mean 1.79 m2 in 3,613 UK patients, Sacco et al. PLoS One 2010, PMID 20126669) — "
        "3.5 m2 is the Mosteller BSA of a 210 cm, 210 kg adult"
    ),
)
WEIGHT_DOMAIN = Domain(
    0.0,
    300.0,
    lower_inclusive=False,
    why="body weight, kg; assumed: a physical limit above any patient dosed by these models",
)
HEIGHT_DOMAIN = Domain(
    0.0, 250.0, lower_inclusive=False, why="height, cm; assumed: above any adult patient"
)
MDR1_FRACTION_DOMAIN = fraction(
    "a fraction of the tumour cells (below 1: the parental clone is never empty)",
    upper_inclusive=False,
)
BURDEN_DOMAIN = Domain(
    0.0,
    None,
    lower_inclusive=False,
    upper_inclusive=False,
    upper_name="tum_K",
    why="tumour cells (1e9): a tumour is present and below the carrying capacity tum_K",
)
CD8_FUNCTION_DOMAIN = fraction("a fraction of wild-type P-gp function in CD8 T cells")


_RATE = non_negative("a rate (0: none)")
#: pydantic's range errors: the message also names the value given.
_RANGE_ERRORS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")


def _within(domain: Domain) -> annotated_types.Interval:
    """A scenario field's constraint from a declared range (pydantic reads the interval)."""
    return annotated_types.Interval(**domain.field_constraints())


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _units(cls, value: object, info: ValidationInfo) -> object:
        # Fields with their unit in their name (horizon_days, weight_kg, bsa_m2 …) may be
        # given with any unit of that dimension ("12 weeks", "154 lb"), converted by pint.
        return convert_field(info.field_name or "", value)


class MDR1HighPgp(_Base):
    """Where the MDR1-high clone's P-gp density comes from (default: 1, MES-SA/Dx5-like).

    ``{cell_line: MES-SA/Dx5}``: the library line's density (its value or calibration);
    ``{cell_line: KB-V1, fold: {vinblastine: 200}}``: the user's measured fold of that line to
    one drug, turned into a density as the library's calibrations are; ``{pgp_density: 22}``
    (optionally with the ``cell_line`` it describes): the user's relative density. User values
    are recorded as user-supplied in the run's summary. The MDR1-low clone keeps 0.3 of the
    high clone's density (the default ratio)."""

    cell_line: str | None = None
    fold: dict[str, float] | None = None
    pgp_density: float | None = None

    @model_validator(mode="after")
    def _one_source(self) -> MDR1HighPgp:
        if self.fold is not None and self.pgp_density is not None:
            raise ValueError("give fold or pgp_density, not both")
        if self.fold is not None and (self.cell_line is None or len(self.fold) != 1):
            raise ValueError(
                "fold needs the cell_line it was measured on and exactly one drug, e.g. "
                "{cell_line: KB-V1, fold: {vinblastine: 200}}"
            )
        if self.cell_line is None and self.pgp_density is None:
            raise ValueError("give a cell_line (with or without its fold) or a pgp_density")
        return self


class TumourInput(_Base):
    """The tumour at the start of treatment."""

    diameter_mm: float = Field(default=50.0, gt=0, description="baseline sum of diameters")
    cells_1e9: Annotated[float, _within(BURDEN_DOMAIN)] = Field(
        default=10.0, description="baseline burden (1e9 cells)"
    )
    mdr1_high_fraction: Annotated[float, _within(MDR1_FRACTION_DOMAIN)] = 1e-4
    mdr1_low_fraction: Annotated[float, _within(MDR1_FRACTION_DOMAIN)] = 0.01
    growth: Literal["gompertz", "logistic"] = "gompertz"
    growth_rate_per_day: Annotated[float, _within(GROWTH_RATE_DOMAIN)] = 0.003
    carrying_capacity_1e9: Annotated[float, _within(CAPACITY_DOMAIN)] = 1000.0
    mdr1_fitness_cost: Annotated[float, _within(COST_DOMAIN)] = 0.2
    switching_per_division: Annotated[float, _within(SWITCH_DOMAIN)] = 1e-6
    induction_per_uM_day: Annotated[float, _within(_RATE)] = 0.0
    reversion_per_day: Annotated[float, _within(_RATE)] = 0.0
    mdr1_high_pgp: MDR1HighPgp | None = None

    @model_validator(mode="after")
    def _fractions(self) -> TumourInput:
        if self.mdr1_high_fraction + self.mdr1_low_fraction >= 1:
            raise ValueError("mdr1_high_fraction + mdr1_low_fraction must be < 1")
        if self.cells_1e9 >= self.carrying_capacity_1e9:
            raise ValueError("cells_1e9 must be below carrying_capacity_1e9")
        return self


class ImmuneInput(_Base):
    """Immune status: the CD8 T cells' MDR1 genotype and the size of their pools."""

    cd8_mdr1: Literal["wild_type", "deficient"] = "wild_type"
    precursors: Annotated[float, _within(positive("a cell count"))] = Field(
        default=150.0, description="naive pathogen-specific cells"
    )
    tumour_ctl_fraction: float = Field(
        default=1.0, ge=0, description="tumour-specific CTL pool relative to a normal patient"
    )


class MarrowInput(_Base):
    baseline_anc: float = Field(default=5.05, gt=0, description="ANC at baseline, 1e9/L")


class PatientInput(_Base):
    bsa_m2: Annotated[float, _within(BSA_DOMAIN)] | None = None
    height_cm: Annotated[float, _within(HEIGHT_DOMAIN)] | None = None
    weight_kg: Annotated[float, _within(WEIGHT_DOMAIN)] = 70.0
    tumour: TumourInput = TumourInput()
    immune: ImmuneInput = ImmuneInput()
    marrow: MarrowInput = MarrowInput()

    def body_surface_area(self) -> float:
        if self.bsa_m2 is not None:
            return self.bsa_m2
        if self.height_cm is not None:
            return math.sqrt(self.height_cm * self.weight_kg / 3600.0)  # Mosteller 1987
        return 1.8

    @model_validator(mode="after")
    def _bsa(self) -> PatientInput:
        if self.bsa_m2 is not None and self.height_cm is not None:
            raise ValueError("give bsa_m2 or height_cm (with weight_kg), not both")
        return self


class Infection(_Base):
    """An acute infection challenge: at an absolute ``start_day``, or on ``day`` of ``cycle``
    of the first line (both 1-based)."""

    pathogen: Literal["virus", "bacteria"]
    start_day: float | None = Field(default=None, ge=0)
    cycle: int | None = Field(default=None, ge=1)
    day: int = Field(default=1, ge=1)
    inoculum: float = Field(default=100.0, gt=0)

    @model_validator(mode="after")
    def _when(self) -> Infection:
        if (self.start_day is None) == (self.cycle is None):
            raise ValueError("give exactly one of start_day or cycle")
        return self


class Rules(_Base):
    """Dose delay and reduction driven by the neutrophil count (checked at each cycle start)."""

    delay_if_anc_below: float | None = Field(default=None, gt=0, description="1e9/L")
    delay_days: float = Field(default=7.0, gt=0)
    max_delays_per_cycle: int = Field(default=3, ge=1)
    reduce_after_grade4: float | None = Field(
        default=None, gt=0, le=1, description="dose factor after a cycle with grade-4 nadir"
    )
    min_dose_factor: float = Field(default=0.5, gt=0, le=1)
    dose_factor_with_inhibitor: float = Field(
        default=1.0,
        gt=0,
        le=1,
        description="chemotherapy dose factor in lines given with an MDR1 inhibitor (the "
        "empirical cut that second-generation inhibitors forced: Advani et al., Blood 1999)",
    )


class Outputs(_Base):
    trajectory_step_days: float = Field(default=1.0, gt=0)
    untreated_twin: bool = True


class SolverInput(_Base):
    """Tolerances of the ODE engine for this scenario (:class:`mdrsim.engine.SolverOptions`).
    The defaults are tight enough that RECIST days and endpoints do not move with them."""

    rtol: float = Field(default=1e-6, gt=0, lt=1)
    atol: float = Field(default=1e-10, gt=0)
    max_steps: int = Field(default=500_000, ge=1, description="steps per segment and patient")

    def options(self) -> SolverOptions:
        return SolverOptions(rtol=self.rtol, atol=self.atol, max_steps=self.max_steps)


class Scenario(_Base):
    schema_version: Literal[1] = SCHEMA_VERSION
    name: str = Field(min_length=1)
    description: str = ""
    horizon_days: float = Field(gt=0, le=3650)
    scan_interval_days: float = Field(default=42.0, gt=0)
    patient: PatientInput = PatientInput()
    lines: tuple[Regimen, ...] = Field(min_length=1)
    infections: tuple[Infection, ...] = ()
    rules: Rules = Rules()
    outputs: Outputs = Outputs()
    solver: SolverInput = SolverInput()
    allow_above_label_dose: bool = Field(
        default=False,
        description="run doses above the drug's labelled maximum or cumulative limit (every "
        "output then carries a warning listing each exceedance)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        inhibitors = {c.inhibitor for line in self.lines for c in line.inhibitors}
        if len(inhibitors) > 1:
            raise ValueError(
                f"lines: one MDR1 inhibitor per scenario is supported, got {sorted(inhibitors)}"
            )
        names = [line.name for line in self.lines]
        if len(set(names)) != len(names):
            raise ValueError(f"lines: line names must be unique, got {names}")
        first = self.lines[0]
        for i, inf in enumerate(self.infections):
            if inf.cycle is not None and inf.cycle > first.n_cycles:
                raise ValueError(
                    f"infections[{i}].cycle: line 1 has {first.n_cycles} cycles, got {inf.cycle}"
                )
            if inf.day > first.cycle_length_days:
                raise ValueError(
                    f"infections[{i}].day: outside a {first.cycle_length_days:g}-day cycle"
                )
        for i, day in enumerate(self.infection_days()):
            if day >= self.horizon_days:
                raise ValueError(
                    f"infections[{i}]: day {day:g} is not before the horizon "
                    f"({self.horizon_days:g} d)"
                )
        return self

    @property
    def drugs(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for line in self.lines:
            for d in line.doses:
                seen.setdefault(d.drug, None)
        return tuple(seen)

    @property
    def inhibitor(self) -> str | None:
        for line in self.lines:
            for c in line.inhibitors:
                return c.inhibitor
        return None

    def with_changes(
        self,
        changes: Mapping[str, Any] | None = None,
        /,
        *,
        library: Library | None = None,
        **fields: Any,
    ) -> Scenario:
        """A copy with some fields changed, validated like a scenario file (the same checks
        and messages as :func:`parse_scenario`, against ``library``, default the packaged
        one). ``changes`` keys are field paths: ``"patient.tumour.diameter_mm"``,
        ``"lines[0].n_cycles"``; keyword arguments change top-level fields::

            shorter = scenario.with_changes({"lines[0].n_cycles": 4}, horizon_days=200)
        """
        data = self.model_dump(mode="json")
        for path, value in {**(changes or {}), **fields}.items():
            # numpy scalars (a scan's grid) as plain Python numbers: the text below is YAML
            _set_path(data, path, value.item() if hasattr(value, "item") else value)
        try:
            return parse_scenario(
                yaml.safe_dump(data, sort_keys=False), source="with_changes", library=library
            )
        except ScenarioError as exc:
            # Line numbers would point into a YAML text the user never saw.
            problems = [re.sub(r" \(line \d+\)", "", p) for p in exc.problems]
            raise ScenarioError(f"{self.name!r} with_changes", problems) from None

    def infection_days(self) -> list[float]:
        """Absolute day (0-based, treatment starts at day 0) of each infection challenge."""
        first = self.lines[0]
        out = []
        for inf in self.infections:
            if inf.start_day is not None:
                out.append(float(inf.start_day))
            else:
                assert inf.cycle is not None
                out.append((inf.cycle - 1) * first.cycle_length_days + inf.day - 1)
        return out


_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``data[path] = value`` for a dotted path with list indices (``lines[0].n_cycles``);
    a missing mapping level is created (validation then names an unknown field)."""
    parts: list[str | int] = [name if name else int(index) for name, index in _PART.findall(path)]
    canonical = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)
    if not parts or canonical.removeprefix(".") != path:
        raise ScenarioError(
            "with_changes", [f"{path!r}: not a field path such as lines[0].n_cycles"]
        )
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        nxt = parts[i + 1]
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                raise ScenarioError("with_changes", [f"{path}: no item [{part}] there"])
            node = node[part]
        else:
            if not isinstance(node, dict):
                raise ScenarioError("with_changes", [f"{path}: {part!r} is not a field there"])
            node = node.setdefault(part, [] if isinstance(nxt, int) else {})
    last = parts[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            raise ScenarioError("with_changes", [f"{path}: no item [{last}] there"])
        node[last] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise ScenarioError("with_changes", [f"{path}: {last!r} is not a field there"])


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at ``loc`` (or of its closest existing parent)."""
    line = None if node is None else node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if part < len(node.value) else None
        else:
            node = None
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def parse_scenario(
    text: str, *, source: str = "<string>", library: Library | None = None
) -> Scenario:
    """Validate scenario YAML text against ``library`` (default: the packaged one — pass the
    library you will build the model from); raise :class:`ScenarioError` listing every
    problem, each with its field path."""
    from mdrsim.data.library import load_library
    from mdrsim.io.safe_yaml import load_yaml

    try:
        # The limited loader: no aliases (a 2 kB alias bomb exhausts memory), no duplicate
        # keys (the last would silently win), bounded nesting and size.
        data = load_yaml(text, source)
        root = yaml.compose(text)
    except InputFileError as exc:
        raise ScenarioError(source, [str(exc).removeprefix(f"{source}: ")]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(source, [f"not valid YAML: {exc}"]) from None
    if not isinstance(data, dict):
        raise ScenarioError(source, ["the file must be a mapping of fields (name, lines, …)"])
    version = data.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION or isinstance(version, bool):
        # Checked first: the rest of a file written for another schema is not worth reporting.
        line = _line_of(root, ("schema_version",))
        raise ScenarioError(
            source,
            [
                f"schema_version (line {line}): got {version!r}; this mdrsim reads "
                f"schema_version {SCHEMA_VERSION}"
            ],
        )
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems = []
        errors = exc.errors()
        locs = [tuple(e["loc"]) for e in errors]
        for err in errors:
            loc = tuple(err["loc"])
            # A container whose only item failed is also reported as too short: noise.
            if err["type"] == "too_short" and any(
                len(o) > len(loc) and o[: len(loc)] == loc for o in locs
            ):
                continue
            line = _line_of(root, loc)
            where = _path(loc) + (f" (line {line})" if line else "")
            msg = err["msg"].removeprefix("Value error, ")
            if loc == ("seed",) and err["type"] == "extra_forbidden":
                msg = _SEED_MESSAGE
            if err["type"] in _RANGE_ERRORS:
                msg = f"{err['input']!r} is outside the declared range: {msg}"
            problems.append(f"{where}: {msg}")
        raise ScenarioError(source, problems) from None
    lib = load_library() if library is None else library
    problems = []
    for i, regimen in enumerate(scenario.lines):
        try:
            regimen.check(lib)
        except RegimenError as exc:
            problems += [f"lines[{i}].{p}" for p in exc.problems]
    problems += library_gaps(scenario.lines, lib)
    if scenario.patient.tumour.mdr1_high_pgp is not None:
        from mdrsim.patient.model import mdr1_high_pgp  # the model module imports this one

        try:
            mdr1_high_pgp(scenario.patient.tumour, lib)
        except ScenarioError as exc:
            line = _line_of(root, ("patient", "tumour", "mdr1_high_pgp"))
            problems += [f"{p} (line {line})" if line else p for p in exc.problems]
    if not problems and not scenario.allow_above_label_dose:
        patient = Patient(
            bsa_m2=scenario.patient.body_surface_area(), weight_kg=scenario.patient.weight_kg
        )
        for problem in label_dose_exceedances(scenario.lines, patient, lib):
            path, _, rest = problem.partition(": ")
            loc = tuple(int(p) if p.isdigit() else p for p in re.split(r"[.\[\]]+", path) if p)
            line = _line_of(root, loc)
            where = path + (f" (line {line})" if line else "")
            problems.append(f"{where}: {rest}; set allow_above_label_dose: true to run it anyway")
    if problems:
        raise ScenarioError(source, problems)
    return scenario


def load_scenario(path: str | Path, *, library: Library | None = None) -> Scenario:
    """Read and validate a scenario file (against ``library``, default the packaged one)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(str(p), [f"cannot read the file: {exc.strerror}"]) from None
    return parse_scenario(text, source=str(p), library=library)
