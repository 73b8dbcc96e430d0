"""The drug library turned into assay parameters, and the assays users ask for by name.

This module connects :mod:`mdrsim.data` (numbers with sources) to
:mod:`mdrsim.experiments.invitro` (the simulator):

- passive exchange rate from the drug's permeability and the cell's surface-to-volume ratio;
- P-gp Vmax from the drug's transport efficiency (``Vmax/(k_pass*Km)`` at density 1);
- EC50 of the kill calibrated so that the parental line's simulated IC50 equals the published
  parental IC50;
- each resistant line's P-gp density calibrated so that its simulated fold resistance to its
  calibration (selecting) drug equals the published value;
- or, for a line the library cannot calibrate (or to test another measurement), a
  :class:`UserResistance`: the user's measured fold to one drug or relative P-gp density, which
  every output then records as user-supplied (:class:`DensityRecord`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache

from mdrsim.biology.cell import DrugTransport, Inhibition
from mdrsim.data.library import Drug, Library, load_library
from mdrsim.errors import (
    MissingLibraryDataError,
    SimulationError,
    SimulationInputError,
    UnknownNameError,
    UserSuppliedValueError,
)
from mdrsim.experiments.invitro import (
    AssayConditions,
    DoseResponse,
    KillParameters,
    calibrate_density,
    calibrate_ec50,
    dose_response,
    ic50,
)

#: Cultured tumour cells are ~10–20 µm across; a 15 µm sphere has S/V = 6/d = 4e5 1/m.
CELL_DIAMETER_M = 15e-6  # assumed: typical cultured tumour cell diameter (10–20 µm)
SECONDS_PER_DAY = 86400.0


def k_pass_from_permeability(
    permeability_nm_s: float, diameter_m: float = CELL_DIAMETER_M
) -> float:
    """Passive exchange rate (1/d) of a spherical cell: P * S/V."""
    return permeability_nm_s * 1e-9 * (6.0 / diameter_m) * SECONDS_PER_DAY


def _resolve(library: Library | None) -> Library:
    # The packaged library is the default only at these public entry points; everything
    # below them receives the resolved library, so one call never mixes two libraries.
    return library if library is not None else load_library()


def drug_transport(name: str, *, library: Library | None = None) -> DrugTransport:
    """Cellular transport numbers of ``name`` from ``library`` (default: the packaged one)."""
    return transport_of(_resolve(library).drug(name), name)


def transport_of(drug: Drug, name: str | None = None) -> DrugTransport:
    """Membrane transport of a library drug (for a caller holding the drug entry itself)."""
    name = name or drug.name
    k_pass = k_pass_from_permeability(drug.permeability.value)
    km = drug.pgp_km.value if drug.pgp_km is not None else 1.0
    efficiency = drug.pgp_efficiency.value if drug.pgp_efficiency is not None else 0.0
    return DrugTransport(
        name=name,
        k_pass=k_pass,
        pgp_vmax=efficiency * k_pass * km,
        pgp_km=km,
        # Hill 1 at the cell level (assumed): the cooperativity measured in vesicles (h ~ 2 at
        # µM daunorubicin, FEBS Lett 1994) would make the pump inactive at the nM cytosolic
        # concentrations of a 72 h assay, contradicting the resistance MDR lines show; the
        # library keeps the measured value for models of the membrane step.
        pgp_hill=1.0,
        binding_ratio=drug.binding_ratio.value if drug.binding_ratio is not None else 0.0,
        source=f"drug library: {name}",
    )


def conditions_for(
    cell_line: str, exposure_h: float = 72.0, *, library: Library | None = None
) -> AssayConditions:
    """Assay conditions of ``cell_line``: its growth rate from the library's doubling time."""
    line = _resolve(library).cell_line(cell_line)
    doubling_h = line.doubling_time_h.value
    return AssayConditions(
        exposure_h=exposure_h,
        assay_h=max(72.0, exposure_h),
        growth_rate=math.log(2) / (doubling_h / 24.0),
    )


# The two calibrations run dozens of simulations, so they are memoised — keyed by the numbers
# they use (frozen dataclasses and floats), never by a drug or line name. A library with other
# numbers therefore gets its own calibration, and no cache can serve a stale library.


@cache
def _calibrated_kill(
    transport: DrugTransport, base: KillParameters, ic50_uM: float, conditions: AssayConditions
) -> KillParameters:
    return calibrate_ec50(transport, base, ic50_uM, conditions)


@cache
def _calibrated_density(
    transport: DrugTransport, kill: KillParameters, fold: float, conditions: AssayConditions
) -> float:
    return calibrate_density(transport, kill, fold, conditions)


def kill_parameters(
    drug_name: str, parental_line: str, *, library: Library | None = None
) -> KillParameters:
    """Kill parameters with EC50 calibrated to the drug's published parental IC50.

    Raises :class:`~mdrsim.errors.MissingLibraryDataError` when the drug has no parental IC50.
    """
    lib = _resolve(library)
    drug = lib.drug(drug_name)
    if drug.ic50_parental is None:
        raise MissingLibraryDataError(
            f"drug '{drug.name}' has no ic50_parental in the library (e.g. a prodrug that "
            "needs metabolic activation), so its kill cannot be calibrated; add "
            "ic50_parental {value, unit: uM, source} to its entry or choose a drug that has one"
        )
    base = KillParameters(emax=drug.emax.value, ec50=1.0, hill=drug.kill_hill.value)
    return _calibrated_kill(
        drug_transport(drug_name, library=lib),
        base,
        float(drug.ic50_parental.value),
        conditions_for(parental_line, library=lib),
    )


def parental_of(cell_line: str, *, library: Library | None = None) -> str:
    """The parental line of ``cell_line`` (itself when it is a parental line)."""
    line = _resolve(library).cell_line(cell_line)
    return line.parental or cell_line


def _finite_number(label: str, value: object, allowed: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UserSuppliedValueError(label, value, allowed)
    number = float(value)
    if not math.isfinite(number):
        raise UserSuppliedValueError(label, value, allowed)
    return number


FOLD_ALLOWED = (
    "a finite number > 1: the line's IC50 over its parental line's IC50 (1 means no P-gp; "
    "below 1 cannot come from P-gp efflux)"
)
DENSITY_ALLOWED = (
    "a finite number > 0: P-gp density relative to MES-SA/Dx5 = 1 (0 is a parental line)"
)


@dataclass(frozen=True)
class UserResistance:
    """A resistant line's P-gp as the user measured it, instead of the library's calibration:
    its fold resistance ``fold`` to one drug ``fold_drug``, or its relative P-gp density
    (MES-SA/Dx5 = 1). Exactly one of the two. Every output that uses it says it is
    user-supplied. ``labels`` name the fields in error messages (``--fold`` and
    ``--pgp-density`` on the command line)."""

    fold_drug: str | None = None
    fold: float | None = None
    pgp_density: float | None = None
    labels: tuple[str, str] = field(default=("fold", "pgp_density"), compare=False, repr=False)

    def __post_init__(self) -> None:
        fold_label, density_label = self.labels
        has_fold = self.fold is not None or self.fold_drug is not None
        if has_fold == (self.pgp_density is not None):
            raise UserSuppliedValueError(
                f"{fold_label} / {density_label}",
                {"fold": self.fold, "fold_drug": self.fold_drug, "pgp_density": self.pgp_density},
                "exactly one of: a fold to one drug, or a P-gp density",
            )
        if has_fold:
            if not isinstance(self.fold_drug, str) or not self.fold_drug.strip():
                raise UserSuppliedValueError(
                    f"{fold_label} drug", self.fold_drug, "the name of a library drug"
                )
            if not _finite_number(fold_label, self.fold, FOLD_ALLOWED) > 1.0:
                raise UserSuppliedValueError(fold_label, self.fold, FOLD_ALLOWED)
        elif not _finite_number(density_label, self.pgp_density, DENSITY_ALLOWED) > 0.0:
            raise UserSuppliedValueError(density_label, self.pgp_density, DENSITY_ALLOWED)

    @classmethod
    def parse_fold(cls, text: str, label: str = "--fold") -> UserResistance:
        """``DRUG:FOLD`` as typed on the command line, e.g. ``vinblastine:200``."""
        drug, sep, number = text.partition(":")
        if not sep or not drug.strip() or not number.strip():
            raise UserSuppliedValueError(label, text, "DRUG:FOLD, e.g. vinblastine:200")
        try:
            value = float(number.strip())
        except ValueError:
            raise UserSuppliedValueError(label, text, f"DRUG:FOLD with {FOLD_ALLOWED}") from None
        return cls(fold_drug=drug.strip(), fold=value, labels=(label, "--pgp-density"))

    @classmethod
    def parse_density(cls, text: str, label: str = "--pgp-density") -> UserResistance:
        """A relative P-gp density as typed on the command line, e.g. ``3.5``."""
        try:
            value = float(text.strip())
        except ValueError:
            raise UserSuppliedValueError(label, text, DENSITY_ALLOWED) from None
        return cls(pgp_density=value, labels=("--fold", label))

    def describe(self) -> str:
        if self.pgp_density is not None:
            what = f"P-gp density {self.pgp_density:g} (MES-SA/Dx5 = 1)"
        else:
            what = f"fold resistance {self.fold:g} to {self.fold_drug}"
        return f"user-supplied: {what}, not from the library"

    def as_dict(self) -> dict[str, object]:
        if self.pgp_density is not None:
            return {"pgp_density": self.pgp_density, "basis": "user-supplied"}
        return {"fold": {"drug": self.fold_drug, "value": self.fold}, "basis": "user-supplied"}


@dataclass(frozen=True)
class DensityRecord:
    """A line's P-gp density and where it comes from (library value, library calibration, or
    the user's :class:`UserResistance`)."""

    value: float
    source: str
    user_supplied: UserResistance | None = None


def pgp_density_record(
    cell_line: str, *, library: Library | None = None, user: UserResistance | None = None
) -> DensityRecord:
    """The line's P-gp density with its source; ``user`` replaces the library's calibration.

    Raises :class:`~mdrsim.errors.MissingLibraryDataError` when a P-gp line has no calibration
    drug with a published fold resistance and no ``user`` value is given, and
    :class:`~mdrsim.errors.UserSuppliedValueError` when ``user`` cannot describe the line.
    """
    lib = _resolve(library)
    line = lib.cell_line(cell_line)
    if user is not None:
        return _user_density(line.id, user, lib)
    if line.pgp_density is not None:
        value = float(line.pgp_density.value)
        kind = "parental line" if line.is_parental else "library value"
        return DensityRecord(value, f"library ({kind}): {line.pgp_density.source}")
    drug = line.calibration_drug
    if drug is None or drug not in line.fold_resistance:
        raise MissingLibraryDataError(
            f"cell line '{line.id}' has neither pgp_density nor a calibration_drug with a "
            "fold_resistance entry, so its P-gp density cannot be calibrated; add "
            "calibration_drug and its fold_resistance (use: calibration) to the line, or give "
            "the line's measured fold to one drug (--fold DRUG:FOLD; UserResistance) or its "
            "relative P-gp density (--pgp-density)"
        )
    fold = line.fold_resistance[drug]
    target = float(fold.value)
    parental = parental_of(line.id, library=lib)
    value = _calibrated_density(
        drug_transport(drug, library=lib),
        kill_parameters(drug, parental, library=lib),
        target,
        conditions_for(parental, library=lib),
    )
    return DensityRecord(value, f"library calibration: fold {target:g} to {drug} ({fold.source})")


def largest_library_fold(lib: Library) -> tuple[float, str, str]:
    """(fold, line, drug): the largest published fold resistance in ``lib`` — the top of the
    range the cell model's calibrations were checked on."""
    return max(
        (
            (float(f.value), lid, d)
            for lid, line in lib.cell_lines.items()
            for d, f in line.fold_resistance.items()
        ),
        default=(math.inf, "", ""),
    )


def _extrapolation_note(fold: float, lib: Library) -> str:
    top, line, drug = largest_library_fold(lib)
    if fold <= top:
        return ""
    return (
        f"; fold {fold:.3g} is above the largest fold in the library ({top:g}, {line} to "
        f"{drug}): an extrapolation of the cell model"
    )


def _user_density(line_id: str, user: UserResistance, lib: Library) -> DensityRecord:
    fold_label, density_label = user.labels
    label = density_label if user.pgp_density is not None else fold_label
    line = lib.cell_line(line_id)
    if line.is_parental:
        raise UserSuppliedValueError(
            label,
            user.pgp_density if user.pgp_density is not None else user.fold,
            f"a value for a resistant line; '{line.id}' is a parental line (P-gp density 0 "
            "by definition)",
        )
    if not line.pgp_mechanism:
        raise UserSuppliedValueError(
            label,
            user.pgp_density if user.pgp_density is not None else user.fold,
            f"a value for a P-gp line; the library records that '{line.id}' does not owe its "
            f"resistance to P-gp ({line.pgp_mechanism_source}), so a P-gp density would "
            "misattribute it",
        )
    overrides = ""
    if line.pgp_density is not None or (
        line.calibration_drug is not None and line.calibration_drug in line.fold_resistance
    ):
        overrides = " (replaces the library's own value for this line)"
    if user.pgp_density is not None:
        return DensityRecord(float(user.pgp_density), user.describe() + overrides, user)
    assert user.fold_drug is not None and user.fold is not None
    try:
        drug = lib.drug(user.fold_drug)
    except UnknownNameError as exc:
        raise UserSuppliedValueError(
            f"{fold_label} drug", user.fold_drug, f"a library drug ({exc})"
        ) from None
    if not drug.pgp_substrate or drug.pgp_efficiency is None or drug.pgp_efficiency.value <= 0:
        raise UserSuppliedValueError(
            f"{fold_label} drug",
            user.fold_drug,
            "a P-gp substrate with a transport efficiency in the library (this drug has none, "
            "so a fold to it cannot identify the line's P-gp density)",
        )
    parental = parental_of(line.id, library=lib)
    try:
        kill = kill_parameters(drug.name, parental, library=lib)
        value = _calibrated_density(
            drug_transport(drug.name, library=lib),
            kill,
            float(user.fold),
            conditions_for(parental, library=lib),
        )
    except (MissingLibraryDataError, SimulationInputError, SimulationError) as exc:
        raise UserSuppliedValueError(
            fold_label,
            f"{user.fold_drug}:{user.fold:g}",
            f"a fold the cell model can reproduce ({exc})",
        ) from None
    note = _extrapolation_note(float(user.fold), lib)
    return DensityRecord(value, user.describe() + overrides + note, user)


def pgp_density(
    cell_line: str, *, library: Library | None = None, user: UserResistance | None = None
) -> float:
    """The line's P-gp density: 0 (or the library value) for parental lines, else calibrated
    (or from ``user``; see :func:`pgp_density_record`, which also says where it comes from).

    Raises :class:`~mdrsim.errors.MissingLibraryDataError` when a P-gp line has no
    calibration drug with a published fold resistance.
    """
    return pgp_density_record(cell_line, library=library, user=user).value


def inhibition_for(inhibitor: str, drug: str, *, library: Library | None = None) -> Inhibition:
    """How ``inhibitor`` acts on P-gp transport (competitive or not, with its Ki)."""
    inh = _resolve(library).inhibitor(inhibitor)
    ki = inh.ki.value
    if inh.mechanism == "competitive":
        return Inhibition(inhibitor, ki_competitive=ki, source=f"inhibitor library: {inhibitor}")
    return Inhibition(inhibitor, ki_noncompetitive=ki, source=f"inhibitor library: {inhibitor}")


@dataclass(frozen=True)
class IC50Report:
    drug: str
    cell_line: str
    parental_line: str
    ic50_uM: float
    parental_ic50_uM: float
    fold_resistance: float
    inhibitor: str | None
    inhibitor_uM: float | None
    ic50_without_inhibitor_uM: float | None
    reversal_factor: float | None
    pgp_density: float
    curve: DoseResponse
    #: where the line's P-gp density comes from (library value, calibration, or the user)
    pgp_density_source: str = ""
    #: the user's fold or density when one was given (:meth:`UserResistance.as_dict`)
    user_supplied: dict[str, object] | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "drug": self.drug,
            "cell_line": self.cell_line,
            "parental_line": self.parental_line,
            "ic50_uM": self.ic50_uM,
            "parental_ic50_uM": self.parental_ic50_uM,
            "fold_resistance": self.fold_resistance,
            "inhibitor": self.inhibitor,
            "inhibitor_uM": self.inhibitor_uM,
            "reversal_factor": self.reversal_factor,
            "pgp_density": self.pgp_density,
            "pgp_density_source": self.pgp_density_source,
            "user_supplied": self.user_supplied,
        }


def ic50_assay(
    drug: str,
    cell_line: str,
    *,
    inhibitor: str | None = None,
    inhibitor_uM: float = 0.0,
    exposure_h: float = 72.0,
    library: Library | None = None,
    user: UserResistance | None = None,
) -> IC50Report:
    """IC50 of ``drug`` on ``cell_line`` (optionally with an inhibitor), fold vs the parental.

    Every number comes from ``library`` (default: the packaged library), except the line's
    P-gp density when ``user`` gives it (the report then says so).
    """
    lib = _resolve(library)
    lib.drug(drug)  # raise a clear error for an unknown name early
    lib.cell_line(cell_line)
    parental = parental_of(cell_line, library=lib)
    transport = drug_transport(drug, library=lib)
    kill = kill_parameters(drug, parental, library=lib)
    cond = conditions_for(cell_line, exposure_h, library=lib)
    record = pgp_density_record(cell_line, library=lib, user=user)
    density = record.value
    parental_ic50 = ic50(
        transport,
        kill,
        density=pgp_density(parental, library=lib),
        conditions=conditions_for(parental, exposure_h, library=lib),
    )
    # Without an inhibitor the dose-response below already gives this IC50: compute it only
    # when it differs (the reversal factor's numerator).
    inh = inhibition_for(inhibitor, drug, library=lib) if inhibitor else None
    try:
        plain = ic50(transport, kill, density=density, conditions=cond) if inhibitor else None
        curve = dose_response(
            transport,
            kill,
            density=density,
            conditions=cond,
            inhibition=inh,
            inhibitor_conc=inhibitor_uM if inhibitor else 0.0,
        )
    except (SimulationInputError, SimulationError) as exc:
        if user is None:
            raise
        raise UserSuppliedValueError(
            user.labels[1] if user.pgp_density is not None else user.labels[0],
            user.pgp_density if user.pgp_density is not None else user.fold,
            f"a value that leaves {drug}'s IC50 on this line measurable ({exc})",
        ) from None
    return IC50Report(
        drug=drug,
        cell_line=cell_line,
        parental_line=parental,
        ic50_uM=curve.ic50,
        parental_ic50_uM=parental_ic50,
        fold_resistance=curve.ic50 / parental_ic50,
        inhibitor=inhibitor,
        inhibitor_uM=inhibitor_uM if inhibitor else None,
        ic50_without_inhibitor_uM=plain,
        reversal_factor=plain / curve.ic50 if plain is not None else None,
        pgp_density=density,
        curve=curve,
        pgp_density_source=record.source
        + (
            _extrapolation_note(curve.ic50 / parental_ic50, lib)
            if user is not None and "extrapolation" not in record.source
            else ""
        ),
        user_supplied=user.as_dict() if user is not None else None,
    )
