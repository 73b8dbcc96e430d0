"""The pydantic schema of the library's YAML entries: drugs, inhibitors, cell lines.

The library is three YAML files shipped with the package (``drugs.yaml``, ``inhibitors.yaml``,
``cell_lines.yaml``). Every number in them is a :class:`Quantity` — ``{value, unit, source}`` plus
an optional ``note``, ``verify`` flag (``true`` = taken from memory or a secondary source: check
before using it as a hard target), ``range`` (``[low, high]`` when the literature gives a range;
``value`` is then the choice inside it and the note says why) and ``derived_from`` (the
``"LINE:drug"`` fold-resistance entries a value was computed from). A value that is not read from a
source says so: its ``source`` starts with ``"assumed:"`` and gives the reason.

Every sourced value (and every :class:`TextFact` / :class:`ExpressionModifier`) also says where its
source can be found, in its own fields: ``doi`` (``10.xxxx/...``) and/or ``pmid`` (an integer), or,
when the source has neither, ``source_kind``:

- ``label`` — a regulatory label or SmPC (no DOI/PMID exists);
- ``database`` — a database record (PubChem);
- ``derived`` — computed from other library entries or read from a model file (the source says how);
- ``no_identifier`` — a publication named by journal, volume and pages whose DOI/PMID was not found
  in the text read;
- ``unidentified`` — a publication that could not be identified (title or journal not retrieved,
  or cited from notes).

:attr:`Quantity.provenance` gives the resulting class (``assumed``, ``publication``, one of the
kinds above, or ``missing``); ``tests/unit/data/test_provenance.py`` requires that no quantity is
``missing``.

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
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
    model_validator,
)

from mdrsim.data.units import convert
from mdrsim.errors import SchemaFieldError as _FieldError

__all__ = [
    "DRUG_CLASSES",
    "IC50",
    "PK",
    "CellLine",
    "Drug",
    "DrugClass",
    "ExpressionModifier",
    "Fold",
    "FoldUse",
    "Inhibitor",
    "InhibitorPK",
    "Myelosuppression",
    "Quantity",
    "SourceKind",
    "TextFact",
    "all_field_names",
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
SourceKind = Literal["publication", "label", "database", "derived", "no_identifier", "unidentified"]
#: Kinds that say the source has no DOI/PMID (so none may be given with them).
_NO_ID_KINDS = frozenset({"label", "database", "no_identifier", "unidentified"})
_DOI = re.compile(r"^10\.\d{4,9}/\S+$")


# ------------------------------------------------------------------------------ basic models


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _nonempty(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be empty")
    return text


class _Cited(_Base):
    """Where a source can be found: ``doi`` / ``pmid``, or ``source_kind`` when it has neither."""

    source: str = Field(strict=True)
    doi: str | None = Field(default=None, strict=True)
    pmid: StrictInt | None = None
    source_kind: SourceKind | None = None

    _check_source = field_validator("source")(_nonempty)

    @field_validator("doi")
    @classmethod
    def _doi_format(cls, v: str | None) -> str | None:
        if v is not None and not _DOI.match(v):
            raise ValueError(f"'{v}' is not a DOI (expected 10.<registrant>/<suffix>, no 'doi:')")
        return v

    @field_validator("pmid")
    @classmethod
    def _pmid_format(cls, v: int | None) -> int | None:
        if v is not None and not 1 <= v <= 99_999_999:
            raise ValueError(f"{v} is not a PubMed id (a positive integer of up to 8 digits)")
        return v

    @model_validator(mode="after")
    def _kind_consistent(self) -> _Cited:
        has_id = self.doi is not None or self.pmid is not None
        if self.source_kind == "publication" and not has_id:
            raise _FieldError("source_kind", "'publication' needs a doi or a pmid")
        if self.source_kind in _NO_ID_KINDS and has_id:
            raise _FieldError(
                "source_kind", f"'{self.source_kind}' says there is no DOI/PMID, but one is given"
            )
        if self.assumed and self.source_kind is not None:
            raise _FieldError("source_kind", "an assumed value has no source kind")
        return self

    @property
    def assumed(self) -> bool:
        """True when the value is an assumption rather than read from a source."""
        return self.source.strip().lower().startswith("assumed")

    @property
    def provenance(self) -> str:
        """``assumed``, ``publication`` (has a DOI/PMID), a :data:`SourceKind`, or ``missing``."""
        if self.assumed:
            return "assumed"
        if self.doi is not None or self.pmid is not None:
            return "publication"
        return self.source_kind or "missing"


class Quantity(_Cited):
    """A number with its unit and its source (``source`` starting ``assumed:`` = not measured)."""

    value: float = Field(strict=True)
    unit: str = Field(strict=True)
    note: str | None = None
    verify: StrictBool = False
    range: list[float] | None = None
    derived_from: list[str] | None = None

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


class TextFact(_Cited):
    """A non-numeric fact (a formula, a regimen, an outcome) with its source."""

    value: str
    note: str | None = None
    verify: StrictBool = False

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
            q = _to_allowed(q, allowed)
        for label, v in [("value", q.value), *(("range", r) for r in (q.range or []))]:
            problem = bound(v)
            if problem:
                raise _FieldError(label, problem)
        return q

    return check


def _to_allowed(q: Quantity, allowed: frozenset[str]) -> Quantity:
    """A quantity written in a unit of the right dimension but not one of ``allowed`` (say a
    clearance in L/day), converted with pint to the allowed unit of that dimension; the note
    keeps the value as written. Dimensionless labels (fold, fraction, 1) never convert into
    each other: they mean different things."""
    from mdrsim.data.units import is_unit, parse_unit

    listed = ", ".join(sorted(allowed))
    given = parse_unit(q.unit) if is_unit(q.unit) else None
    if given is not None and str(given.dimensionality) != "dimensionless":
        for target in sorted(allowed):
            if is_unit(target) and parse_unit(target).dimensionality == given.dimensionality:
                written = f"given as {q.value:g} {q.unit}"
                return q.model_copy(
                    update={
                        "value": convert(q.value, q.unit, target),
                        "unit": target,
                        "range": None
                        if q.range is None
                        else [convert(r, q.unit, target) for r in q.range],
                        "note": written if not q.note else f"{q.note} ({written})",
                    }
                )
    why = (
        "its dimension fits none of them" if given is not None else "it is not a unit pint can read"
    )
    raise _FieldError(
        "unit", f"'{q.unit}' is not allowed here ({why}): value {q.value:g}; allowed: {listed}"
    )


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
CumulativeDose = Annotated[Quantity, AfterValidator(_check({"mg/m2"}, _gt0))]
AmountRate = Annotated[Quantity, AfterValidator(_check({"umol/h", "mg/h"}, _gt0))]
HalfSaturation = Annotated[Quantity, AfterValidator(_check({"uM", "mg/L"}, _gt0))]
RatePerHour = Annotated[Quantity, AfterValidator(_check({"1/h"}, _gt0))]
PlasmaConc = Annotated[Quantity, AfterValidator(_check({"mg/L"}, _gt0))]
PlasmaAUC = Annotated[Quantity, AfterValidator(_check({"mg*h/L"}, _gt0))]
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
    cmax_label: PlasmaConc | None = None
    auc_label: PlasmaAUC | None = None
    vmax_elimination: AmountRate | None = None
    km_elimination: HalfSaturation | None = None
    vmax_transport: AmountRate | None = None
    km_transport: HalfSaturation | None = None
    k21_transport: RatePerHour | None = None
    dose: Dose | None = None
    dose_cap: Milligrams | None = None
    cumulative_limit: CumulativeDose | None = None
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
        if (self.vmax_elimination is None) != (self.km_elimination is None):
            raise _FieldError("km_elimination", "give vmax_elimination and km_elimination together")
        transport = (self.vmax_transport, self.km_transport, self.k21_transport)
        if any(q is not None for q in transport) and any(q is None for q in transport):
            raise _FieldError(
                "vmax_transport", "give vmax_transport, km_transport and k21_transport together"
            )
        return self

    @property
    def saturable(self) -> bool:
        """True when elimination is Michaelis–Menten (``vmax_elimination``)."""
        return self.vmax_elimination is not None


class Myelosuppression(_Base):
    """Friberg et al. (J Clin Oncol 2002;20:4713) semi-mechanistic myelosuppression model."""

    model: Literal["friberg2002"]
    mtt: Hours
    gamma: PositiveNumber
    slope: PerMicromolar
    circ0: CellsPerLitre
    #: What the slope multiplies: total plasma drug, or unbound drug (total × (1 − binding)).
    exposure: Literal["total", "unbound"] = "total"
    exposure_source: str | None = None
    #: Unbound fraction for an ``unbound`` exposure (default: 1 − pk.protein_binding).
    fraction_unbound: Fraction | None = None
    #: Which blood cells the system parameters were fitted to.
    cells: Literal["neutrophils", "leukocytes"] = "neutrophils"
    slope_cv: Fraction | None = None
    mtt_cv: Fraction | None = None
    circ0_cv: Fraction | None = None


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


class ExpressionModifier(_Cited):
    """A drug or tool that changes MDR1 expression (inhibitor or inducer)."""

    name: str
    direction: Literal["inhibits", "induces"]
    effect: str
    concentration: ConcUM | None = None
    fold_change: FoldChange | None = None
    note: str | None = None
    verify: StrictBool = False


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


# ------------------------------------------------------------------------------ helpers


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


def substrate_label(value: bool | str) -> str:
    """'yes', 'weak' or 'no' for a drug's ``pgp_substrate`` field."""
    return "weak" if value == "weak" else ("yes" if value is True else "no")


def all_field_names() -> list[str]:
    """Every field name (by its YAML spelling) of every entry type: suggestions for typos."""
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
