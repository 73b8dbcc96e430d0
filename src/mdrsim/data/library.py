"""The curated drug / inhibitor / cell-line library, validated against a pydantic schema.

The library is three YAML files shipped with the package (``drugs.yaml``, ``inhibitors.yaml``,
``cell_lines.yaml``). Every number in them is a :class:`Quantity` — ``{value, unit, source}`` plus
an optional ``note``, ``verify`` flag (``true`` = taken from memory or a secondary source: check
before using it as a hard target), ``range`` (``[low, high]`` when the literature gives a range;
``value`` is then the choice inside it and the note says why) and ``derived_from`` (the
``"LINE:drug"`` fold-resistance entries a value was computed from). A value that is not read from a
source says so: its ``source`` starts with ``"assumed:"`` and gives the reason.

Files are read with :func:`yaml.safe_load` only. Every model forbids unknown keys, so a typo is an
error, and every error names the file, the entry and the field path, e.g.
``drugs.yaml: doxorubicin.pgp_km.value: must be > 0``.

Fold-resistance entries of the cell lines carry a ``use`` tag that keeps calibration and
validation apart:

- ``calibration`` — sets the line's relative P-gp density (one per line: the calibration drug);
- ``efficiency`` — was used to set a drug's ``pgp_efficiency`` (listed in its ``derived_from``);
- ``validation`` — a P-gp line and a substrate, used for nothing: a genuine out-of-sample test;
- ``control`` — a non-P-gp mechanism (non-P-gp line or non-substrate drug): a P-gp-only model
  should predict about 1; the difference is resistance the model does not claim to explain.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from mdrsim.errors import MdrsimError
from mdrsim.model.expressions import did_you_mean

__all__ = [
    "DRUG_CLASSES",
    "IC50",
    "PK",
    "CellLine",
    "ConcentrationError",
    "Drug",
    "ExpressionModifier",
    "Fold",
    "Inhibitor",
    "InhibitorPK",
    "Library",
    "LibraryError",
    "Myelosuppression",
    "Quantity",
    "TextFact",
    "UnknownNameError",
    "clear_library_cache",
    "convert",
    "load_library",
    "parse_concentration",
    "quantities",
]

DRUG_CLASSES = (
    "anthracycline",
    "vinca_alkaloid",
    "taxane",
    "epipodophyllotoxin",
    "platinum",
    "antimetabolite",
    "alkylating_agent",
    "other",
)
DrugClass = Literal[
    "anthracycline",
    "vinca_alkaloid",
    "taxane",
    "epipodophyllotoxin",
    "platinum",
    "antimetabolite",
    "alkylating_agent",
    "other",
]
FoldUse = Literal["calibration", "efficiency", "validation", "control"]

FILES = {"drugs": "drugs.yaml", "inhibitors": "inhibitors.yaml", "cell_lines": "cell_lines.yaml"}


# --------------------------------------------------------------------------------------- errors


class LibraryError(MdrsimError, ValueError):
    """The library files are malformed; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"drug library is invalid ({len(self.problems)} problem(s)):\n{lines}")


class UnknownNameError(MdrsimError, KeyError):
    """A drug, inhibitor or cell line that is not in the library (message has suggestions)."""

    def __init__(self, kind: str, name: str, known: list[str]) -> None:
        self.kind = kind
        self.name = name
        self.known = sorted(known)
        self.message = (
            f"unknown {kind} '{name}'{did_you_mean(name, self.known)}; "
            f"known {kind}s: {', '.join(self.known)}"
        )
        super().__init__(self.message)

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return self.message


class ConcentrationError(MdrsimError, ValueError):
    """A concentration string could not be read (bad number, unknown unit, missing MW)."""


class _FieldError(ValueError):
    """Raised inside validators: ``sub`` is appended to the field path of the error."""

    def __init__(self, sub: str, message: str) -> None:
        super().__init__(f"{sub}: {message}" if sub else message)
        self.sub = sub
        self.message = message


# ------------------------------------------------------------------------------ basic models


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _nonempty(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be empty")
    return text


class Quantity(_Base):
    """A number with its unit and its source (``source`` starting ``assumed:`` = not measured)."""

    value: float = Field(strict=True)
    unit: str = Field(strict=True)
    source: str = Field(strict=True)
    note: str | None = None
    verify: StrictBool = False
    range: list[float] | None = None
    derived_from: list[str] | None = None

    _check_source = field_validator("source")(_nonempty)

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v

    @field_validator("range")
    @classmethod
    def _range_shape(cls, r: list[float] | None) -> list[float] | None:
        if r is None:
            return r
        if len(r) != 2 or not all(math.isfinite(x) for x in r):
            raise ValueError("must be [low, high] with two finite numbers")
        if r[0] > r[1]:
            raise ValueError(f"low {r[0]} is above high {r[1]}")
        return r

    @model_validator(mode="after")
    def _value_in_range(self) -> Quantity:
        if self.range is not None and not (self.range[0] <= self.value <= self.range[1]):
            raise _FieldError(
                "value", f"{self.value} lies outside its range [{self.range[0]}, {self.range[1]}]"
            )
        return self

    @property
    def assumed(self) -> bool:
        """True when the value is an assumption rather than read from a source."""
        return self.source.strip().lower().startswith("assumed")

    def to(self, unit: str) -> float:
        """The value in another unit of the same kind (time, concentration, clearance …)."""
        return convert(self.value, self.unit, unit)


class IC50(Quantity):
    """IC50 in a drug-sensitive (parental) line."""

    cell_line: str | None = None
    exposure_h: float | None = Field(default=None, gt=0)


class Fold(Quantity):
    """Fold resistance IC50(resistant)/IC50(parental), with its role (see module docstring)."""

    use: FoldUse
    exposure_h: float | None = Field(default=None, gt=0)


class TextFact(_Base):
    """A non-numeric fact (a formula, a regimen, an outcome) with its source."""

    value: str
    source: str
    note: str | None = None
    verify: StrictBool = False

    _check_source = field_validator("source")(_nonempty)
    _check_value = field_validator("value")(_nonempty)


# --------------------------------------------------------------------- per-field constraints

_Bound = Callable[[float], str | None]


def _gt0(v: float) -> str | None:
    return None if v > 0 else "must be > 0"


def _ge0(v: float) -> str | None:
    return None if v >= 0 else "must be >= 0"


def _fraction(v: float) -> str | None:
    return None if 0 <= v <= 1 else "must be between 0 and 1"


def _signed_fraction(v: float) -> str | None:
    return None if -1 <= v <= 1 else "must be between -1 and 1"


def _check(units: set[str], bound: _Bound) -> Callable[[Quantity], Quantity]:
    allowed = frozenset(units)

    def check(q: Quantity) -> Quantity:
        if q.unit not in allowed:
            raise _FieldError(
                "unit", f"'{q.unit}' is not allowed here; allowed: {', '.join(sorted(allowed))}"
            )
        for label, v in [("value", q.value), *(("range", r) for r in (q.range or []))]:
            problem = bound(v)
            if problem:
                raise _FieldError(label, problem)
        return q

    return check


_DIMLESS = {"1"}
_TIME = {"min", "h", "d"}
MolarMass = Annotated[Quantity, AfterValidator(_check({"g/mol"}, _gt0))]
ConcUM = Annotated[Quantity, AfterValidator(_check({"uM"}, _gt0))]
PositiveNumber = Annotated[Quantity, AfterValidator(_check(_DIMLESS, _gt0))]
NonNegNumber = Annotated[Quantity, AfterValidator(_check(_DIMLESS, _ge0))]
Permeability = Annotated[Quantity, AfterValidator(_check({"nm/s"}, _gt0))]
RatePerDay = Annotated[Quantity, AfterValidator(_check({"1/d"}, _gt0))]
#: A kill rate may be 0 (a non-toxic probe such as rhodamine 123).
KillRate = Annotated[Quantity, AfterValidator(_check({"1/d"}, _ge0))]
Duration = Annotated[Quantity, AfterValidator(_check(_TIME, _gt0))]
InfusionDuration = Annotated[Quantity, AfterValidator(_check(_TIME, _ge0))]
Hours = Annotated[Quantity, AfterValidator(_check({"h"}, _gt0))]
Days = Annotated[Quantity, AfterValidator(_check({"d"}, _gt0))]
Fraction = Annotated[Quantity, AfterValidator(_check({"fraction"}, _fraction))]
ClearanceChange = Annotated[Quantity, AfterValidator(_check({"fraction"}, _signed_fraction))]
Clearance = Annotated[
    Quantity, AfterValidator(_check({"L/h", "L/h/m2", "mL/min", "mL/min/m2"}, _gt0))
]
Flow = Annotated[Quantity, AfterValidator(_check({"L/h", "L/h/m2"}, _gt0))]
Volume = Annotated[Quantity, AfterValidator(_check({"L", "L/m2"}, _gt0))]
Dose = Annotated[Quantity, AfterValidator(_check({"mg/m2", "mg/m2/day"}, _gt0))]
InhibitorDose = Annotated[Quantity, AfterValidator(_check({"mg", "mg/kg", "mg/m2"}, _gt0))]
Milligrams = Annotated[Quantity, AfterValidator(_check({"mg"}, _gt0))]
Area = Annotated[Quantity, AfterValidator(_check({"m2"}, _gt0))]
Compartments = Annotated[Quantity, AfterValidator(_check({"compartments"}, _gt0))]
Density = Annotated[Quantity, AfterValidator(_check(_DIMLESS, _ge0))]
FoldValue = Annotated[Fold, AfterValidator(_check({"fold"}, _ge0))]
FoldChange = Annotated[Quantity, AfterValidator(_check({"fold"}, _gt0))]
IC50Value = Annotated[IC50, AfterValidator(_check({"uM"}, _gt0))]
PerMicromolar = Annotated[Quantity, AfterValidator(_check({"L/umol"}, _gt0))]
CellsPerLitre = Annotated[Quantity, AfterValidator(_check({"1e9/L"}, _gt0))]


# ------------------------------------------------------------------------------------- drugs


class PK(_Base):
    """Systemic (human, IV) pharmacokinetics. All fields optional; units as validated."""

    compartments: Compartments | None = None
    reference_bsa: Area | None = None
    clearance: Clearance | None = None
    clearance_formula: TextFact | None = None
    V1: Volume | None = None
    V2: Volume | None = None
    V3: Volume | None = None
    Vss: Volume | None = None
    Q2: Flow | None = None
    Q3: Flow | None = None
    t_half_distribution: Duration | None = None
    t_half_alpha: Duration | None = None
    t_half_beta: Duration | None = None
    t_half_gamma: Duration | None = None
    t_half_terminal: Duration | None = None
    protein_binding: Fraction | None = None
    dose: Dose | None = None
    dose_cap: Milligrams | None = None
    schedule: TextFact | None = None
    infusion_duration: InfusionDuration | None = None
    dosing_interval: Days | None = None
    pgp_dependent_clearance_fraction: Fraction | None = None
    notes: str | None = None

    @model_validator(mode="after")
    def _integer_compartments(self) -> PK:
        c = self.compartments
        if c is not None and (c.value != int(c.value) or not 1 <= c.value <= 3):
            raise _FieldError("compartments.value", "must be 1, 2 or 3")
        return self


class Myelosuppression(_Base):
    """Friberg et al. (J Clin Oncol 2002;20:4713) semi-mechanistic myelosuppression model."""

    model: Literal["friberg2002"]
    mtt: Hours
    gamma: PositiveNumber
    slope: PerMicromolar
    circ0: CellsPerLitre


class Drug(_Base):
    """One chemotherapy drug: class, P-gp handling, cellular parameters, systemic PK."""

    name: str
    drug_class: DrugClass = Field(alias="class")
    subclass: str | None = None
    aliases: list[str] = []
    molecular_weight: MolarMass
    pgp_substrate: StrictBool | Literal["weak"]
    pgp_substrate_source: str
    pgp_substrate_verify: StrictBool = False
    pgp_km: ConcUM | None = None
    pgp_hill: PositiveNumber | None = None
    permeability: Permeability
    pgp_efficiency: NonNegNumber
    binding_ratio: NonNegNumber
    ic50_parental: IC50Value | None = None
    emax: KillRate
    kill_hill: PositiveNumber
    membrane_flip_flop_half_time: Duration | None = None
    efflux_ratio_caco2: PositiveNumber | None = None
    pk: PK | None = None
    myelosuppression: Myelosuppression | None = None
    notes: str | None = None

    _check_source = field_validator("pgp_substrate_source")(_nonempty)

    @property
    def is_substrate(self) -> bool:
        """True for substrates and weak substrates."""
        return self.pgp_substrate is not False

    @model_validator(mode="after")
    def _substrate_consistency(self) -> Drug:
        if self.is_substrate:
            for field in ("pgp_km", "pgp_hill"):
                if getattr(self, field) is None:
                    raise _FieldError(field, "required for a P-gp substrate")
            if self.pgp_efficiency.value <= 0:
                raise _FieldError("pgp_efficiency.value", "must be > 0 for a P-gp substrate")
        else:
            for field in ("pgp_km", "pgp_hill"):
                if getattr(self, field) is not None:
                    raise _FieldError(field, "must be absent for a non-substrate")
            if self.pgp_efficiency.value != 0:
                raise _FieldError("pgp_efficiency.value", "must be 0 for a non-substrate")
        return self


# -------------------------------------------------------------------------------- inhibitors


class InhibitorPK(_Base):
    """Inhibitor pharmacokinetics (``species`` other than human is said explicitly)."""

    species: str = "human"
    t_half: Duration | None = None
    dose: InhibitorDose | None = None
    infusion_duration: InfusionDuration | None = None
    regimen: TextFact | None = None
    notes: str | None = None


class Inhibitor(_Base):
    """A P-gp transport inhibitor (modulator)."""

    name: str
    synonyms: list[str] = []
    generation: StrictInt = Field(ge=1, le=3)
    generation_source: str
    mechanism: Literal["competitive", "noncompetitive"]
    mechanism_source: str
    mechanism_note: str | None = None
    mechanism_verify: StrictBool = False
    is_substrate: StrictBool
    molecular_weight: MolarMass
    ki: ConcUM
    clinical_concentration: ConcUM
    other_potency: dict[str, ConcUM] = {}
    pk: InhibitorPK | None = None
    ddi: dict[str, ClearanceChange] = {}
    ddi_note: str | None = None
    trials: list[TextFact] = []
    notes: str | None = None

    _check_sources = field_validator("generation_source", "mechanism_source")(_nonempty)


class ExpressionModifier(_Base):
    """A drug or tool that changes MDR1 expression (inhibitor or inducer)."""

    name: str
    direction: Literal["inhibits", "induces"]
    effect: str
    source: str
    concentration: ConcUM | None = None
    fold_change: FoldChange | None = None
    note: str | None = None
    verify: StrictBool = False

    _check_source = field_validator("source")(_nonempty)


# -------------------------------------------------------------------------------- cell lines


class CellLine(_Base):
    """A parental (drug-sensitive) or drug-resistant cell line."""

    id: str
    parental: str | None
    tissue: str
    species: str = "human"
    aliases: list[str] = []
    reference: str | None = None
    doubling_time_h: Hours
    pgp_density: Density | None
    selecting_drug: str | None = None
    selecting_drug_source: str | None = None
    pgp_mechanism: StrictBool
    pgp_mechanism_source: str
    pgp_mechanism_verify: StrictBool = False
    calibration_drug: str | None = None
    fold_resistance: dict[str, FoldValue] = {}
    accumulation_deficit: dict[str, Fraction] = {}
    reversal_ec50: dict[str, dict[str, ConcUM]] = {}
    resistance_stability: TextFact | None = None
    notes: str | None = None

    _check_source = field_validator("pgp_mechanism_source")(_nonempty)

    @property
    def is_parental(self) -> bool:
        return self.parental is None

    @model_validator(mode="after")
    def _roles(self) -> CellLine:
        if self.is_parental:
            if self.pgp_density is None or self.pgp_density.value != 0:
                raise _FieldError("pgp_density", "a parental line must have pgp_density 0")
            if self.pgp_mechanism:
                raise _FieldError("pgp_mechanism", "must be false for a parental line")
            if self.fold_resistance or self.calibration_drug is not None:
                raise _FieldError(
                    "fold_resistance", "a parental line has no fold resistance or calibration"
                )
            return self
        if self.pgp_mechanism and self.pgp_density is not None:
            raise _FieldError(
                "pgp_density", "must be null for a P-gp line (it is calibrated, not entered)"
            )
        if not self.pgp_mechanism and self.pgp_density is None:
            raise _FieldError("pgp_density", "a non-P-gp resistant line needs pgp_density 0")
        calibrating = sorted(d for d, f in self.fold_resistance.items() if f.use == "calibration")
        if self.calibration_drug is None:
            if calibrating:
                raise _FieldError(
                    f"fold_resistance.{calibrating[0]}.use",
                    "'calibration' but the line has no calibration_drug",
                )
        else:
            if not self.pgp_mechanism:
                raise _FieldError("calibration_drug", "only P-gp lines are calibrated")
            if self.calibration_drug not in self.fold_resistance:
                raise _FieldError(
                    "calibration_drug",
                    f"'{self.calibration_drug}' has no fold_resistance entry in this line",
                )
            if calibrating != [self.calibration_drug]:
                raise _FieldError(
                    "fold_resistance",
                    f"exactly the calibration drug ('{self.calibration_drug}') must have "
                    f"use 'calibration'; found {calibrating}",
                )
        if not self.pgp_mechanism:
            for drug, fold in self.fold_resistance.items():
                if fold.use != "control":
                    raise _FieldError(
                        f"fold_resistance.{drug}.use", "must be 'control' in a non-P-gp line"
                    )
        return self


# ----------------------------------------------------------------------------------- library


def _walk(obj: Any, path: str) -> Iterator[tuple[str, Quantity]]:
    if isinstance(obj, Quantity):
        yield path, obj
    elif isinstance(obj, BaseModel):
        for field in type(obj).model_fields:
            yield from _walk(getattr(obj, field), f"{path}.{field}" if path else field)
    elif isinstance(obj, Mapping):
        for key, value in obj.items():
            yield from _walk(value, f"{path}.{key}" if path else str(key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield from _walk(value, f"{path}[{i}]")


def quantities(obj: BaseModel) -> list[tuple[str, Quantity]]:
    """Every :class:`Quantity` inside a model, with its dotted field path."""
    return list(_walk(obj, ""))


def _substrate_label(value: bool | str) -> str:
    return "weak" if value == "weak" else ("yes" if value is True else "no")


def _v(q: Quantity | None) -> float | None:
    return None if q is None else q.value


class Library(_Base):
    """The loaded, cross-checked library. Look things up with :meth:`drug` and friends."""

    drugs: dict[str, Drug]
    inhibitors: dict[str, Inhibitor]
    expression_inhibitors: list[ExpressionModifier] = []
    expression_inducers: list[ExpressionModifier] = []
    cell_lines: dict[str, CellLine]
    location: str = ""

    @model_validator(mode="after")
    def _cross_checked(self) -> Library:
        problems = self.cross_check()
        if problems:
            raise ValueError("\n".join(problems))
        return self

    # ---- lookups

    def drug(self, name: str) -> Drug:
        """The drug by INN key (case-insensitive) or alias."""
        found = self._find(self.drugs, name, lambda d: d.aliases)
        if found is None:
            raise UnknownNameError("drug", name, list(self.drugs))
        return found

    def inhibitor(self, name: str) -> Inhibitor:
        """The inhibitor by name (case-insensitive) or synonym (e.g. 'PSC 833')."""
        found = self._find(self.inhibitors, name, lambda i: i.synonyms)
        if found is None:
            raise UnknownNameError("inhibitor", name, list(self.inhibitors))
        return found

    def cell_line(self, line_id: str) -> CellLine:
        """The cell line by id as used in the literature (case-insensitive) or alias."""
        found = self._find(self.cell_lines, line_id, lambda c: c.aliases)
        if found is None:
            raise UnknownNameError("cell line", line_id, list(self.cell_lines))
        return found

    @staticmethod
    def _find(table: Mapping[str, Any], name: str, aliases: Callable[[Any], list[str]]) -> Any:
        if name in table:
            return table[name]
        wanted = name.strip().lower()
        for key, entry in table.items():
            if key.lower() == wanted or wanted in (a.lower() for a in aliases(entry)):
                return entry
        return None

    def ddi(self, inhibitor: str, drug: str) -> Quantity | None:
        """Measured fractional change in ``drug`` clearance with ``inhibitor`` (None: no data)."""
        return self.inhibitor(inhibitor).ddi.get(self.drug(drug).name)

    # ---- cross-file checks

    def cross_check(self) -> list[str]:
        """Problems that involve more than one entry (unknown references, role conflicts)."""
        problems: list[str] = []
        drugs, lines = self.drugs, self.cell_lines

        def unknown(kind: str, name: str, known: Mapping[str, Any]) -> str:
            return f"unknown {kind} '{name}'{did_you_mean(name, list(known))}"

        for lid, line in lines.items():
            where = f"cell_lines.yaml: {lid}"
            if line.parental is not None:
                parent = lines.get(line.parental)
                if parent is None:
                    problems.append(
                        f"{where}.parental: {unknown('cell line', line.parental, lines)}"
                    )
                elif not parent.is_parental:
                    problems.append(
                        f"{where}.parental: '{line.parental}' is itself a resistant line"
                    )
            for drug in line.fold_resistance:
                if drug not in drugs:
                    problems.append(
                        f"{where}.fold_resistance.{drug}: {unknown('drug', drug, drugs)}"
                    )
            for drug in line.accumulation_deficit:
                if drug not in drugs:
                    problems.append(
                        f"{where}.accumulation_deficit.{drug}: {unknown('drug', drug, drugs)}"
                    )
            for inh, per_drug in line.reversal_ec50.items():
                if inh not in self.inhibitors:
                    problems.append(
                        f"{where}.reversal_ec50.{inh}: {unknown('inhibitor', inh, self.inhibitors)}"
                    )
                for drug in per_drug:
                    if drug not in drugs:
                        problems.append(
                            f"{where}.reversal_ec50.{inh}.{drug}: {unknown('drug', drug, drugs)}"
                        )
            cal = line.calibration_drug
            if cal is not None and cal in drugs and drugs[cal].pgp_efficiency.value <= 0:
                problems.append(
                    f"{where}.calibration_drug: '{cal}' has pgp_efficiency 0 and cannot calibrate"
                )
            for drug, fold in line.fold_resistance.items():
                if (
                    fold.use in ("validation", "efficiency")
                    and drug in drugs
                    and not drugs[drug].is_substrate
                ):
                    problems.append(
                        f"{where}.fold_resistance.{drug}.use: '{fold.use}' needs a P-gp "
                        "substrate; use 'control' for a non-substrate"
                    )

        referenced: set[tuple[str, str]] = set()
        for name, entry in drugs.items():
            for ref in entry.pgp_efficiency.derived_from or []:
                where = f"drugs.yaml: {name}.pgp_efficiency.derived_from"
                lid, _, dname = ref.partition(":")
                ref_line = lines.get(lid)
                ref_fold = None if ref_line is None else ref_line.fold_resistance.get(dname)
                if ref_fold is None:
                    problems.append(f"{where}: '{ref}' is not a fold-resistance entry (LINE:drug)")
                elif ref_fold.use not in ("calibration", "efficiency"):
                    problems.append(
                        f"{where}: '{ref}' has use '{ref_fold.use}'; an entry used to set an "
                        "efficiency must have use 'efficiency' (or 'calibration')"
                    )
                else:
                    referenced.add((lid, dname))
        for lid, line in lines.items():
            for drug, fold in line.fold_resistance.items():
                if fold.use == "efficiency" and (lid, drug) not in referenced:
                    problems.append(
                        f"cell_lines.yaml: {lid}.fold_resistance.{drug}.use: 'efficiency' but no "
                        "drug's pgp_efficiency.derived_from lists it"
                    )

        for iname, inhibitor in self.inhibitors.items():
            for dname in inhibitor.ddi:
                if dname not in drugs:
                    problems.append(
                        f"inhibitors.yaml: {iname}.ddi.{dname}: {unknown('drug', dname, drugs)}"
                    )
        return problems

    # ---- calibration / validation bookkeeping

    def fold_pairs(self, use: FoldUse | None = None) -> list[dict[str, Any]]:
        """Fold-resistance entries as rows, optionally only those with a given ``use``."""
        rows = []
        for lid, line in self.cell_lines.items():
            for drug, fold in line.fold_resistance.items():
                if use is not None and fold.use != use:
                    continue
                rows.append(
                    {
                        "line": lid,
                        "parental": line.parental,
                        "drug": drug,
                        "fold": fold.value,
                        "range": fold.range,
                        "use": fold.use,
                        "pgp_line": line.pgp_mechanism,
                        "substrate": _substrate_label(self.drugs[drug].pgp_substrate)
                        if drug in self.drugs
                        else None,
                        "exposure_h": fold.exposure_h,
                        "source": fold.source,
                        "verify": fold.verify,
                        "note": fold.note,
                    }
                )
        return rows

    def used_for_calibration(self) -> set[tuple[str, str]]:
        """(line, drug) pairs that set a density or an efficiency: never validation data."""
        used = {(r["line"], r["drug"]) for r in self.fold_pairs("calibration")}
        used |= {(r["line"], r["drug"]) for r in self.fold_pairs("efficiency")}
        for drug in self.drugs.values():
            for ref in drug.pgp_efficiency.derived_from or []:
                lid, _, dname = ref.partition(":")
                used.add((lid, dname))
        return used

    def validation_pairs(self) -> list[dict[str, Any]]:
        """P-gp line × substrate folds that were used for nothing (out-of-sample tests)."""
        return self.fold_pairs("validation")

    # ---- rows for CLI tables / JSON

    def drug_rows(self) -> list[dict[str, Any]]:
        """One plain dict per drug: class, substrate status, key numbers and their sources."""
        rows = []
        for name, d in self.drugs.items():
            ic50 = d.ic50_parental
            pk = d.pk
            rows.append(
                {
                    "name": name,
                    "class": d.drug_class,
                    "substrate": _substrate_label(d.pgp_substrate),
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

    def drug_detail(self, name: str) -> dict[str, Any]:
        """Everything about one drug as plain data, plus its folds in every cell line."""
        d = self.drug(name)
        out: dict[str, Any] = d.model_dump(mode="json", by_alias=True, exclude_none=True)
        out["substrate"] = _substrate_label(d.pgp_substrate)
        out["assumed_fields"] = [p for p, q in quantities(d) if q.assumed]
        out["verify_fields"] = [p for p, q in quantities(d) if q.verify]
        out["fold_resistance"] = [r for r in self.fold_pairs() if r["drug"] == d.name]
        out["ddi"] = {
            inh: q.model_dump(mode="json", exclude_none=True)
            for inh, i in self.inhibitors.items()
            for dname, q in i.ddi.items()
            if dname == d.name
        }
        return out

    def cell_line_rows(self) -> list[dict[str, Any]]:
        """One plain dict per cell line."""
        rows = []
        for lid, c in self.cell_lines.items():
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

    def inhibitor_rows(self) -> list[dict[str, Any]]:
        """One plain dict per inhibitor: generation, mechanism, Ki, clinical level, DDIs."""
        rows = []
        for name, i in self.inhibitors.items():
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


# ------------------------------------------------------------------------------------ loading

_SECTIONS: dict[str, dict[str, Any]] = {
    "drugs.yaml": {"drugs": Drug},
    "inhibitors.yaml": {
        "inhibitors": Inhibitor,
        "expression_inhibitors": ExpressionModifier,
        "expression_inducers": ExpressionModifier,
    },
    "cell_lines.yaml": {"cell_lines": CellLine},
}
_KEY_FIELD = {Drug: "name", Inhibitor: "name", CellLine: "id"}


def _all_field_names() -> list[str]:
    names: set[str] = set()
    for model in (
        Quantity,
        IC50,
        Fold,
        TextFact,
        PK,
        Myelosuppression,
        Drug,
        InhibitorPK,
        Inhibitor,
        ExpressionModifier,
        CellLine,
    ):
        for fname, info in model.model_fields.items():
            names.add(info.alias or fname)
    return sorted(names)


def _clean_loc(loc: tuple[int | str, ...]) -> list[str]:
    out = []
    for part in loc:
        text = str(part)
        # Union members show up as tags such as 'bool' or "literal['weak']": not field names.
        if "[" in text or text in ("bool", "int", "float", "str"):
            continue
        out.append(text)
    return out


def _format(file: str, entry: str, err: ValidationError) -> list[str]:
    lines = []
    for e in err.errors():
        loc = _clean_loc(e["loc"])
        exc = (e.get("ctx") or {}).get("error")
        if isinstance(exc, _FieldError):
            if exc.sub:
                loc.append(exc.sub)
            msg = exc.message
        else:
            msg = e["msg"].removeprefix("Value error, ")
            if e["type"] == "extra_forbidden" and loc:
                msg += did_you_mean(loc[-1], _all_field_names())
            elif e["type"] == "missing":
                msg = "required field is missing"
        lines.append(f"{file}: {'.'.join([entry, *loc])}: {msg}")
    return lines


def _read(location: Traversable | Path, file: str) -> dict[str, Any]:
    res = location / file
    if not res.is_file():
        raise LibraryError([f"{file}: not found in {location}"])
    try:
        data = yaml.safe_load(res.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise LibraryError([f"{file}: not valid YAML: {exc}"]) from None
    if not isinstance(data, dict):
        raise LibraryError([f"{file}: the top level must be a mapping"])
    return data


def _build(location: Traversable | Path) -> Library:
    problems: list[str] = []
    parsed: dict[str, Any] = {}
    for file, sections in _SECTIONS.items():
        data = _read(location, file)
        for key in data:
            if key != "_meta" and key not in sections:
                allowed = ", ".join(["_meta", *sections])
                problems.append(
                    f"{file}: {key}: unknown top-level section{did_you_mean(str(key), sections)}"
                    f"; allowed: {allowed}"
                )
        for section, model in sections.items():
            raw = data.get(section)
            if raw is None:
                raw = {} if model in _KEY_FIELD else []
            if model in _KEY_FIELD:
                if not isinstance(raw, dict):
                    problems.append(f"{file}: {section}: must be a mapping of name -> entry")
                    continue
                out: dict[str, Any] = {}
                for name, entry in raw.items():
                    name = str(name)
                    if not isinstance(entry, dict):
                        problems.append(f"{file}: {name}: must be a mapping of fields")
                        continue
                    key_field = _KEY_FIELD[model]
                    if key_field in entry:
                        problems.append(f"{file}: {name}.{key_field}: set from the entry's key")
                        continue
                    try:
                        out[name] = model.model_validate({key_field: name, **entry})
                    except ValidationError as exc:
                        problems.extend(_format(file, name, exc))
                parsed[section] = out
            else:
                if not isinstance(raw, list):
                    problems.append(f"{file}: {section}: must be a list")
                    continue
                items = []
                for i, entry in enumerate(raw):
                    label = f"{section}[{i}]"
                    if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                        label = f"{section}.{entry['name']}"
                    try:
                        items.append(model.model_validate(entry))
                    except ValidationError as exc:
                        problems.extend(_format(file, label, exc))
                parsed[section] = items
    if problems:
        raise LibraryError(problems)
    try:
        return Library.model_validate({**parsed, "location": str(location)})
    except ValidationError as exc:
        cross = []
        for e in exc.errors():
            msg = e["msg"].removeprefix("Value error, ")
            cross.extend(msg.splitlines())
        raise LibraryError(cross) from None


_CACHE: dict[tuple[str, tuple[float, ...]], Library] = {}


def clear_library_cache() -> None:
    """Forget loaded libraries (the next :func:`load_library` reads the files again)."""
    _CACHE.clear()


def load_library(path: str | Path | None = None) -> Library:
    """Load and validate the library (cached).

    ``path`` is a directory holding ``drugs.yaml``, ``inhibitors.yaml`` and ``cell_lines.yaml``;
    by default the copy shipped in the package. A user directory is re-read when a file changes.
    Raises :class:`LibraryError` listing every problem (file, entry and field path).
    """
    if path is None:
        key: tuple[str, tuple[float, ...]] = ("<package>", ())
        if key not in _CACHE:
            _CACHE[key] = _build(resources.files("mdrsim.data"))
        return _CACHE[key]
    directory = Path(path).expanduser().resolve()
    if not directory.is_dir():
        raise LibraryError([f"{directory}: not a directory holding {', '.join(FILES.values())}"])
    stamps = tuple(
        (directory / f).stat().st_mtime_ns if (directory / f).is_file() else -1.0
        for f in FILES.values()
    )
    key = (str(directory), tuple(float(s) for s in stamps))
    if key not in _CACHE:
        _CACHE[key] = _build(directory)
    return _CACHE[key]


# ----------------------------------------------------------------------- units / concentrations

_TIME_FACTORS = {"min": 1 / 60, "h": 1.0, "d": 24.0}  # hours
_CLEARANCE_FACTORS = {"L/h": 1.0, "mL/min": 0.06}  # L/h
_CONC_FACTORS = {"pM": 1e-6, "nM": 1e-3, "uM": 1.0, "mM": 1e3, "M": 1e6}  # µM


def convert(value: float, unit: str, to: str) -> float:
    """Convert between units of one kind: time (min, h, d), clearance (L/h, mL/min, per m2
    alike) and molar concentration (pM … M). Identical units always convert."""
    if unit == to:
        return value
    per_m2_from, per_m2_to = unit.endswith("/m2"), to.endswith("/m2")
    base_from = unit.removesuffix("/m2")
    base_to = to.removesuffix("/m2")
    for table in (_TIME_FACTORS, _CLEARANCE_FACTORS, _CONC_FACTORS):
        if base_from in table and base_to in table and per_m2_from == per_m2_to:
            return value * table[base_from] / table[base_to]
    raise ValueError(f"cannot convert {unit!r} to {to!r}")


_MOLAR_UNITS = {
    "pM": 1e-6, "nM": 1e-3, "uM": 1.0, "µM": 1.0, "μM": 1.0, "mM": 1e3, "M": 1e6,
    "pmol/L": 1e-6, "nmol/L": 1e-3, "umol/L": 1.0, "µmol/L": 1.0, "μmol/L": 1.0,
    "mmol/L": 1e3, "mol/L": 1e6,
}  # fmt: skip
_MASS_UNITS = {  # grams per litre
    "pg/mL": 1e-9, "ng/mL": 1e-6, "ug/mL": 1e-3, "µg/mL": 1e-3, "μg/mL": 1e-3, "mg/mL": 1.0,
    "ng/L": 1e-9, "ug/L": 1e-6, "µg/L": 1e-6, "μg/L": 1e-6, "mg/L": 1e-3, "g/L": 1.0,
}  # fmt: skip
_NUMBER = re.compile(r"^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")


def _lookup(unit: str, table: Mapping[str, float]) -> float | None:
    if unit in table:
        return table[unit]
    lowered = {k.lower(): v for k, v in table.items()}
    return lowered.get(unit.lower())


def parse_concentration(text: str, *, molecular_weight: float | None = None) -> float:
    """Read a concentration such as ``"100 nM"``, ``"0.1 µM"``, ``"2 mM"`` or ``"150 ng/mL"``
    and return it in µM. A bare number is µM. Mass concentrations need ``molecular_weight``
    (g/mol). Units match exactly or, failing that, ignoring case. Nothing is evaluated."""
    if not isinstance(text, str):
        raise ConcentrationError(f"concentration must be text such as '100 nM', got {text!r}")
    m = _NUMBER.match(text)
    if m is None:
        raise ConcentrationError(
            f"cannot read a concentration from {text!r}: expected a number and a unit, "
            "e.g. '100 nM', '0.1 uM' or '150 ng/mL'"
        )
    value = float(m.group(1))
    unit = m.group(2)
    if not math.isfinite(value) or value < 0:
        raise ConcentrationError(f"concentration must be a finite number >= 0, got {text!r}")
    if unit == "":
        return value
    factor = _lookup(unit, _MOLAR_UNITS)
    if factor is not None:
        return value * factor
    grams_per_litre = _lookup(unit, _MASS_UNITS)
    if grams_per_litre is not None:
        if molecular_weight is None:
            raise ConcentrationError(
                f"{text!r} is a mass concentration: give molecular_weight (g/mol) to convert it"
            )
        if not (math.isfinite(molecular_weight) and molecular_weight > 0):
            raise ConcentrationError(f"molecular_weight must be > 0 g/mol, got {molecular_weight}")
        return value * grams_per_litre / molecular_weight * 1e6
    allowed = ", ".join([*_MOLAR_UNITS, *_MASS_UNITS])
    raise ConcentrationError(
        f"unknown concentration unit {unit!r} in {text!r}; allowed: {allowed} "
        "(a bare number is µM; mass units need a molecular weight)"
    )
