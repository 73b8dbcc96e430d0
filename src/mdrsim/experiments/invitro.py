"""The in-vitro assay simulator: dose–response, IC50, fold resistance, reversal, accumulation.

A culture of cells (growing exponentially) is exposed to a drug at a fixed medium
concentration, optionally with a P-gp inhibitor, for ``exposure_h`` hours and counted at
``assay_h`` (72 h by default). Survival is the cell count relative to an untreated control,
IC50 the concentration giving 50 % survival. Each concentration of a dose–response curve is
one "patient" of a batch, so a whole curve is one call to the compiled engine.

The model (one compiled structure for every drug, cell line and inhibitor, because drug and
inhibitor enter only as numbers) is built from :mod:`mdrsim.biology.cell`: passive
permeation, P-gp efflux scaled by the line's P-gp density and inhibited by the inhibitor,
intracellular binding and inactivation, and Emax/Hill kill by free intracellular drug.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from mdrsim.biology.cell import DrugTransport, Inhibition, add_drug_exchange, add_growth, add_kill
from mdrsim.engine import CompiledModel, EventTable, compile_model, simulate
from mdrsim.errors import SimulationInputError
from mdrsim.model import Model, ModelBuilder

HOURS_PER_DAY = 24.0


@dataclass(frozen=True)
class KillParameters:
    """Exposure–response of the free intracellular drug (Emax/Hill on the kill rate)."""

    emax: float  # 1/d
    ec50: float  # µM, free intracellular
    hill: float = 1.0


@dataclass(frozen=True)
class AssayConditions:
    exposure_h: float = 72.0  # drug present from 0 to exposure_h
    assay_h: float = 72.0  # cells counted at assay_h
    growth_rate: float = math.log(2) / 1.0  # 1/d (doubling time 24 h unless the line says)

    def check(self) -> None:
        if not (self.exposure_h > 0 and self.assay_h > 0):
            raise SimulationInputError("exposure_h and assay_h must be > 0")
        if self.exposure_h > self.assay_h:
            raise SimulationInputError(
                f"exposure_h ({self.exposure_h}) cannot exceed assay_h ({self.assay_h})"
            )


@lru_cache(maxsize=1)
def assay_model() -> Model:
    """The generic assay model: names are 'drug' and 'inhibitor', numbers come per run."""
    b = ModelBuilder("invitro_assay", description="cells exposed to a drug and an inhibitor")
    b.species("drug_out", 0.0, unit="uM", boundary=True, description="drug in the medium")
    b.species("inhibitor", 0.0, unit="uM", boundary=True, description="inhibitor in the medium")
    b.species("cells", 1.0, unit="relative", description="cell number relative to seeding")
    b.parameter("pgp", 0.0, unit="relative density", source="cell line (calibrated)")
    generic = DrugTransport("drug", k_pass=1.0, pgp_vmax=0.0, pgp_km=1.0)
    free = add_drug_exchange(
        b,
        generic,
        cell="cells",
        medium="drug_out",
        pgp_density="pgp",
        inhibitors=(Inhibition("inhibitor"),),
        include_all=True,
    )
    add_growth(b, cells="cells", rate=math.log(2), source="cell line doubling time")
    add_kill(
        b,
        cells="cells",
        drug_free=free,
        drug="drug",
        emax=1.0,
        ec50=1.0,
        hill=1.0,
        source="drug library (EC50 calibrated to the parental IC50)",
    )
    b.observable(
        "drug_total_in",
        f"{free} + drug_bound_cells",
        unit="uM",
        description="total intracellular drug (free + bound)",
    )
    return b.build()


@lru_cache(maxsize=1)
def _compiled() -> CompiledModel:
    return compile_model(assay_model())


def _params(
    drug: DrugTransport,
    kill: KillParameters,
    density: float,
    conditions: AssayConditions,
    inhibition: Inhibition | None,
) -> dict[str, float]:
    inv_c = 1.0 / inhibition.ki_competitive if inhibition and inhibition.ki_competitive else 0.0
    inv_n = (
        1.0 / inhibition.ki_noncompetitive if inhibition and inhibition.ki_noncompetitive else 0.0
    )
    return {
        "pgp": density,
        "k_pass_drug": drug.k_pass,
        "Vmax_drug": drug.pgp_vmax,
        "Km_drug": drug.pgp_km,
        "h_drug": drug.pgp_hill,
        "B_drug": drug.binding_ratio,
        "k_inact_drug": drug.k_inactivation,
        "invKi_c_inhibitor_drug": inv_c,
        "invKi_n_inhibitor_drug": inv_n,
        "r_cells": conditions.growth_rate,
        "Emax_drug": kill.emax,
        "EC50_drug": kill.ec50,
        "n_drug": kill.hill,
    }


def survival(
    drug: DrugTransport,
    kill: KillParameters,
    concentrations: np.ndarray,
    *,
    density: float = 0.0,
    conditions: AssayConditions | None = None,
    inhibition: Inhibition | None = None,
    inhibitor_conc: float = 0.0,
) -> np.ndarray:
    """Cell count at the end of the assay relative to the untreated control, per concentration."""
    conditions = conditions or AssayConditions()
    conditions.check()
    conc = np.atleast_1d(np.asarray(concentrations, dtype=float))
    if np.any(conc < 0) or not np.all(np.isfinite(conc)):
        raise SimulationInputError("concentrations must be finite and >= 0 (µM)")
    n = conc.size
    t_end = conditions.assay_h / HOURS_PER_DAY
    events = None
    if conditions.exposure_h < conditions.assay_h:  # wash-out: medium drug and inhibitor to 0
        events = EventTable()
        t_wash = conditions.exposure_h / HOURS_PER_DAY
        events.add(t_wash, "drug_out", 0.0, target="parameter", op="set")
        events.add(t_wash, "inhibitor", 0.0, target="parameter", op="set")
    params = _params(drug, kill, density, conditions, inhibition)
    result = simulate(
        _compiled(),
        [0.0, t_end],
        params={**params, "drug_out": conc, "inhibitor": np.full(n, inhibitor_conc)},
        n_patients=n,
        events=events,
        rtol=1e-8,
        atol=1e-12,
        check=True,
    )
    control = math.exp(conditions.growth_rate * t_end)
    return result["cells"][:, -1] / control


def ic50(
    drug: DrugTransport,
    kill: KillParameters,
    *,
    density: float = 0.0,
    conditions: AssayConditions | None = None,
    inhibition: Inhibition | None = None,
    inhibitor_conc: float = 0.0,
    low: float = 1e-7,
    high: float = 1e5,
) -> float:
    """Concentration (µM) giving 50 % survival; raises if survival never falls to 50 %."""
    kwargs = {
        "density": density,
        "conditions": conditions,
        "inhibition": inhibition,
        "inhibitor_conc": inhibitor_conc,
    }
    grid = np.geomspace(low, high, 49)
    for _ in range(3):  # coarse grid, then two zooms into the bracketing interval
        s = survival(drug, kill, grid, **kwargs)  # type: ignore[arg-type]
        below = np.flatnonzero(s <= 0.5)
        if below.size == 0:
            raise SimulationInputError(
                f"{drug.name}: survival stays above 50 % up to {grid[-1]:.3g} µM "
                "(IC50 out of range)"
            )
        j = int(below[0])
        if j == 0:
            raise SimulationInputError(f"{drug.name}: IC50 below {grid[0]:.3g} µM")
        lo, hi = grid[j - 1], grid[j]
        s_lo, s_hi = s[j - 1], s[j]
        grid = np.geomspace(lo, hi, 17)
    # Interpolate log(C) linearly in survival between the final bracketing points.
    frac = (s_lo - 0.5) / (s_lo - s_hi)
    return float(math.exp(math.log(lo) + frac * (math.log(hi) - math.log(lo))))


@dataclass(frozen=True)
class DoseResponse:
    concentrations: np.ndarray
    survival: np.ndarray
    ic50: float


def dose_response(
    drug: DrugTransport,
    kill: KillParameters,
    *,
    points: int = 41,
    **kwargs: object,
) -> DoseResponse:
    """Survival over a log-spaced range of concentrations centred on the IC50."""
    c50 = ic50(drug, kill, **kwargs)  # type: ignore[arg-type]
    conc = np.geomspace(c50 / 1000, c50 * 1000, points)
    return DoseResponse(conc, survival(drug, kill, conc, **kwargs), c50)  # type: ignore[arg-type]


def calibrate_ec50(
    drug: DrugTransport,
    kill: KillParameters,
    target_ic50: float,
    conditions: AssayConditions | None = None,
) -> KillParameters:
    """EC50 that makes the parental (P-gp density 0) IC50 equal ``target_ic50``.

    Without P-gp the free intracellular drug is proportional to the medium concentration, so
    the IC50 is proportional to EC50 and one simulation suffices.
    """
    probe = ic50(drug, kill, density=0.0, conditions=conditions)
    return KillParameters(kill.emax, kill.ec50 * target_ic50 / probe, kill.hill)


def calibrate_density(
    drug: DrugTransport,
    kill: KillParameters,
    target_fold: float,
    conditions: AssayConditions | None = None,
) -> float:
    """P-gp density at which the fold resistance to ``drug`` equals ``target_fold``."""
    from scipy.optimize import brentq

    if target_fold < 1:
        raise SimulationInputError(f"target fold resistance must be >= 1, got {target_fold}")
    parental = ic50(drug, kill, density=0.0, conditions=conditions)
    if drug.pgp_vmax <= 0:
        raise SimulationInputError(f"{drug.name} is not a P-gp substrate: density not identifiable")

    def gap(log_density: float) -> float:
        return math.log(
            ic50(drug, kill, density=math.exp(log_density), conditions=conditions) / parental
        ) - math.log(target_fold)

    lo = math.log(1e-6)
    hi = math.log(max(target_fold, 2.0) / max(drug.efflux_efficiency(), 1e-12) * 10)
    for _ in range(6):  # widen until the fold at `hi` exceeds the target (saturation, Hill)
        if gap(hi) > 0:
            break
        hi += math.log(100.0)
    else:
        raise SimulationInputError(
            f"{drug.name}: no P-gp density up to {math.exp(hi):.3g} reaches fold resistance "
            f"{target_fold:g} (the pump saturates or is too weak for this drug)"
        )
    return float(math.exp(brentq(gap, lo, hi, xtol=1e-6)))


def accumulation(
    drug: DrugTransport,
    *,
    medium_conc: float,
    hours: float = 2.0,
    points: int = 121,
    density: float = 0.0,
    inhibition: Inhibition | None = None,
    inhibitor_conc: float = 0.0,
    efflux_from_h: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Total intracellular drug (µM) over ``hours`` of uptake; optionally from ``efflux_from_h``
    the medium is replaced by drug-free medium (an efflux phase). Returns (hours, conc)."""
    kill = KillParameters(emax=0.0, ec50=1.0)  # no kill during a short uptake assay
    cond = AssayConditions(exposure_h=hours, assay_h=hours, growth_rate=0.0)
    events = None
    if efflux_from_h is not None:
        events = EventTable().add(
            efflux_from_h / HOURS_PER_DAY, "drug_out", 0.0, target="parameter", op="set"
        )
    t = np.linspace(0.0, hours / HOURS_PER_DAY, points)
    result = simulate(
        _compiled(),
        t,
        params={
            **_params(drug, kill, density, cond, inhibition),
            "drug_out": medium_conc,
            "inhibitor": inhibitor_conc,
        },
        events=events,
        rtol=1e-8,
        atol=1e-12,
        check=True,
    )
    return t * HOURS_PER_DAY, result["drug_total_in"][0]
