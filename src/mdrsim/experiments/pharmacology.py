"""The drug library turned into assay parameters, and the assays users ask for by name.

This module connects :mod:`mdrsim.data` (numbers with sources) to
:mod:`mdrsim.experiments.invitro` (the simulator):

- passive exchange rate from the drug's permeability and the cell's surface-to-volume ratio;
- P-gp Vmax from the drug's transport efficiency (``Vmax/(k_pass*Km)`` at density 1);
- EC50 of the kill calibrated so that the parental line's simulated IC50 equals the published
  parental IC50;
- each resistant line's P-gp density calibrated so that its simulated fold resistance to its
  calibration (selecting) drug equals the published value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

from mdrsim.biology.cell import DrugTransport, Inhibition
from mdrsim.data.library import Drug, Library, load_library
from mdrsim.errors import MissingLibraryDataError
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


def pgp_density(cell_line: str, *, library: Library | None = None) -> float:
    """The line's P-gp density: 0 (or the library value) for parental lines, else calibrated.

    Raises :class:`~mdrsim.errors.MissingLibraryDataError` when a P-gp line has no
    calibration drug with a published fold resistance.
    """
    lib = _resolve(library)
    line = lib.cell_line(cell_line)
    if line.pgp_density is not None:
        return float(line.pgp_density.value)
    drug = line.calibration_drug
    if drug is None or drug not in line.fold_resistance:
        raise MissingLibraryDataError(
            f"cell line '{line.id}' has neither pgp_density nor a calibration_drug with a "
            "fold_resistance entry, so its P-gp density cannot be calibrated; add "
            "calibration_drug and its fold_resistance (use: calibration) to the line"
        )
    target = float(line.fold_resistance[drug].value)
    parental = parental_of(line.id, library=lib)
    return _calibrated_density(
        drug_transport(drug, library=lib),
        kill_parameters(drug, parental, library=lib),
        target,
        conditions_for(parental, library=lib),
    )


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
        }


def ic50_assay(
    drug: str,
    cell_line: str,
    *,
    inhibitor: str | None = None,
    inhibitor_uM: float = 0.0,
    exposure_h: float = 72.0,
    library: Library | None = None,
) -> IC50Report:
    """IC50 of ``drug`` on ``cell_line`` (optionally with an inhibitor), fold vs the parental.

    Every number comes from ``library`` (default: the packaged library).
    """
    lib = _resolve(library)
    lib.drug(drug)  # raise a clear error for an unknown name early
    lib.cell_line(cell_line)
    parental = parental_of(cell_line, library=lib)
    transport = drug_transport(drug, library=lib)
    kill = kill_parameters(drug, parental, library=lib)
    cond = conditions_for(cell_line, exposure_h, library=lib)
    density = pgp_density(cell_line, library=lib)
    parental_ic50 = ic50(
        transport,
        kill,
        density=pgp_density(parental, library=lib),
        conditions=conditions_for(parental, exposure_h, library=lib),
    )
    # Without an inhibitor the dose-response below already gives this IC50: compute it only
    # when it differs (the reversal factor's numerator).
    plain = ic50(transport, kill, density=density, conditions=cond) if inhibitor else None
    inh = inhibition_for(inhibitor, drug, library=lib) if inhibitor else None
    curve = dose_response(
        transport,
        kill,
        density=density,
        conditions=cond,
        inhibition=inh,
        inhibitor_conc=inhibitor_uM if inhibitor else 0.0,
    )
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
    )
