"""Regimens as data: what is given, how much, how, and when.

A :class:`Regimen` is a dosing table — drug, dose in mg/m², mg/kg or mg, bolus or infusion with
its duration, the days of each cycle, the cycle length and the number of cycles — plus MDR1
inhibitor courses timed relative to the chemotherapy, and drug holidays (cycles that would
start inside a holiday are skipped). :meth:`Regimen.check` validates a regimen against the
drug library and a horizon and reports every problem at once.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from mdrsim.data.units import convert_field, dose_unit
from mdrsim.errors import RegimenError

if TYPE_CHECKING:
    from mdrsim.data.library import Library

DoseUnit = Literal["mg/m2", "mg/kg", "mg"]


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _units(cls, value: object, info: ValidationInfo) -> object:
        # A field with its unit in its name (offset_h, cycle_length_days …) may be given as
        # text with any unit of that dimension ("30 min"); pint converts it (data/units.py).
        return convert_field(info.field_name or "", value)


class Dose(_Base):
    """A dose per m², per kg or flat. A file may write the dose with its unit (``dose: 75
    mg/m2``) and in any unit of those dimensions (``g/m2``, ``ug/kg``): it is converted to
    mg/m², mg/kg or mg here, at the boundary."""

    drug: str
    dose: float = Field(gt=0)
    unit: DoseUnit = "mg/m2"
    infusion_h: float = Field(default=0.0, ge=0)  # 0 = bolus
    days: tuple[int, ...] = (1,)  # days of the cycle, 1-based

    @model_validator(mode="before")
    @classmethod
    def _dose_unit(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        dose, unit = data.get("dose"), data.get("unit")
        if not isinstance(dose, str) and (unit is None or unit in ("mg/m2", "mg/kg", "mg")):
            return data
        value, canonical = dose_unit(dose, unit)
        out = {**data, "dose": value}
        if canonical is not None:
            out["unit"] = canonical
        return out


class InhibitorCourse(_Base):
    """An MDR1 inhibitor held at ``concentration_uM`` (default: the library's clinically
    achievable level) from ``offset_h`` before each chemotherapy day for ``duration_h``."""

    inhibitor: str
    concentration_uM: float | None = Field(default=None, gt=0)
    offset_h: float = Field(default=1.0, ge=0)
    duration_h: float = Field(default=24.0, gt=0)


class AdaptiveRule(_Base):
    """Adaptive therapy (Zhang et al., Nat Commun 2017;8:1816; after Gatenby): at each cycle
    start — a clinic visit — dosing pauses once the tumour burden has fallen to
    ``stop_below_fraction_of_baseline`` of the burden at the start of the line, and resumes
    when it has regrown to ``resume_at_fraction`` of it. Paused cycles count against
    ``n_cycles``; progression is measured against the baseline, not the nadir (the planned
    regrowth during a pause is not progression)."""

    stop_below_fraction_of_baseline: float = Field(default=0.5, gt=0, lt=1)
    resume_at_fraction: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _order(self) -> AdaptiveRule:
        if self.resume_at_fraction <= self.stop_below_fraction_of_baseline:
            raise ValueError(
                f"resume_at_fraction ({self.resume_at_fraction:g}) must be above "
                f"stop_below_fraction_of_baseline ({self.stop_below_fraction_of_baseline:g})"
            )
        return self

    def treat(self, *, treating: bool, burden: float, baseline: float) -> bool:
        """Whether to dose this cycle, given whether the previous cycle was dosed."""
        if treating:
            return burden > self.stop_below_fraction_of_baseline * baseline
        return burden >= self.resume_at_fraction * baseline


class Regimen(_Base):
    name: str
    cycle_length_days: float = Field(gt=0)
    # 1000 cycles of a day each: ~3 years of daily cycles; more is a typo (1e8 exhausts memory).
    n_cycles: int = Field(ge=1, le=1000, strict=True)
    doses: tuple[Dose, ...] = Field(min_length=1)
    inhibitors: tuple[InhibitorCourse, ...] = ()
    holidays: tuple[tuple[float, float], ...] = ()  # (start day, end day) relative to start
    adaptive: AdaptiveRule | None = None

    def cycle_starts(self) -> list[float]:
        """Start day of each cycle actually given (holidays skip a cycle)."""
        starts = []
        for k in range(self.n_cycles):
            day = k * self.cycle_length_days
            if any(a <= day < b for a, b in self.holidays):
                continue
            starts.append(day)
        return starts

    def administrations(self, start_day: float = 0.0) -> list[tuple[float, Dose]]:
        """(time in days, dose) of every administration, sorted by time."""
        out = [
            (start_day + c + (day - 1), dose)
            for c in self.cycle_starts()
            for dose in self.doses
            for day in dose.days
        ]
        return sorted(out, key=lambda x: x[0])

    def check(self, library: Library, *, horizon_days: float | None = None) -> Regimen:
        """Raise :class:`RegimenError` listing every problem (drugs or inhibitors unknown to
        ``library``, overlapping infusions, days outside the cycle, cycles beyond the
        horizon)."""
        lib = library
        problems: list[str] = []
        for i, d in enumerate(self.doses):
            try:
                lib.drug(d.drug)
            except KeyError as exc:
                problems.append(f"doses[{i}].drug: {str(exc).strip(chr(39))}")
            for day in d.days:
                if not 1 <= day <= self.cycle_length_days:
                    problems.append(
                        f"doses[{i}].days: day {day} is outside a "
                        f"{self.cycle_length_days:g}-day cycle"
                    )
        for i, inh in enumerate(self.inhibitors):
            try:
                lib.inhibitor(inh.inhibitor)
            except KeyError as exc:
                problems.append(f"inhibitors[{i}].inhibitor: {str(exc).strip(chr(39))}")
        by_drug: dict[str, list[tuple[float, float]]] = {}
        for t, d in self.administrations():
            by_drug.setdefault(d.drug, []).append((t, t + d.infusion_h / 24))
        for drug, spans in by_drug.items():
            spans.sort()
            for (a0, a1), (b0, _b1) in itertools.pairwise(spans):
                if b0 < a1 or b0 == a0:
                    problems.append(
                        f"doses: infusions of {drug} overlap (day {a0:g} and day {b0:g})"
                    )
        if horizon_days is not None:
            last = self.administrations()[-1][0] if self.administrations() else 0.0
            if last >= horizon_days:
                problems.append(
                    f"n_cycles: the last dose (day {last:g}) is beyond the horizon "
                    f"({horizon_days:g} d)"
                )
        if problems:
            raise RegimenError(problems)
        return self


@dataclass(frozen=True)
class Patient:
    """What dosing needs to know about a patient."""

    bsa_m2: float = 1.8
    weight_kg: float = 70.0

    def dose_mg(self, dose: Dose) -> float:
        if dose.unit == "mg/m2":
            return dose.dose * self.bsa_m2
        if dose.unit == "mg/kg":
            return dose.dose * self.weight_kg
        return dose.dose
