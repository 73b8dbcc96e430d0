"""Systemic pharmacokinetics: 1–3 compartment models, dosing by body-surface area or weight,
and the P-gp-dependent share of clearance that an inhibitor blocks (drug–drug interaction).

Amounts are mg, volumes L, time days (clearances are given in L/h, as in the literature, and
converted). The central species is a concentration (mg/L); the ``{drug}_plasma_uM``
observable converts it with the molecular weight.

DDI: ``CL_eff = CL · (1 − f_pgp · I/(I + IC50_sys))`` — the fraction ``f_pgp`` of clearance that
depends on P-gp in liver and kidney (biliary/renal excretion) is blocked by an inhibitor at
systemic concentration ``I`` with potency ``IC50_sys``. Second-generation inhibitors
(valspodar) raised chemotherapy exposure and forced dose cuts (Advani et al., Blood
1999;93:787); third-generation ones barely changed it (tariquidar with docetaxel: Kelly et al.,
Clin Cancer Res 2011;17:569).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mdrsim.errors import InputValueError
from mdrsim.model import ModelBuilder

HOURS_PER_DAY = 24.0


@dataclass(frozen=True)
class PKNames:
    """The model variables :func:`add_pk` created for one drug."""

    drug: str
    central: str  # species, mg/L: doses are events on it
    volume: str  # compartment of the central species (L): a dose in mg divides by it
    plasma_uM: str  # rule variable, µM
    auc: str  # species, mg/L·d
    volumes: tuple[str, ...]  # every compartment (L): central first, then peripheral


@dataclass(frozen=True)
class PKParameters:
    """Clearance and volumes of one patient (absolute units: L/h and L)."""

    cl: float  # L/h
    v1: float  # L
    q: tuple[float, ...] = ()  # inter-compartmental clearances, L/h
    v: tuple[float, ...] = ()  # peripheral volumes, L
    molecular_weight: float = 500.0  # g/mol
    source: str = ""

    def __post_init__(self) -> None:
        if len(self.q) != len(self.v) or len(self.q) > 2:
            raise InputValueError(
                "PKParameters.q/v",
                (self.q, self.v),
                "0, 1 or 2 peripheral compartments (q and v of equal length)",
            )
        for name, value in (("cl", self.cl), ("v1", self.v1), ("q", self.q), ("v", self.v)):
            if min(value if isinstance(value, tuple) else (value,), default=1.0) <= 0:
                raise InputValueError(f"PKParameters.{name}", value, "clearances and volumes > 0")

    def terminal_half_life_h(self) -> float:
        """Terminal half-life (h) from the slowest eigenvalue of the linear system."""
        import numpy as np

        n = 1 + len(self.v)
        a = np.zeros((n, n))
        a[0, 0] = -self.cl / self.v1
        for i, (q, v) in enumerate(zip(self.q, self.v, strict=True), start=1):
            a[0, 0] -= q / self.v1
            a[0, i] += q / v
            a[i, 0] += q / self.v1
            a[i, i] -= q / v
        slowest = float(np.max(np.linalg.eigvals(a).real))
        return math.log(2) / -slowest


def two_compartment_from_half_lives(
    cl: float, vss: float, t_half_fast_h: float, t_half_slow_h: float, **kw: object
) -> PKParameters:
    """The 2-compartment model with clearance ``cl`` (L/h), steady-state volume ``vss`` (L) and
    the two disposition half-lives (h): four numbers fix its four parameters."""
    l1, l2 = math.log(2) / t_half_fast_h, math.log(2) / t_half_slow_h
    # With k10 = CL/V1, k21 = Q/V2, k12 = Q/V1 and Vss = V1 + V2, the eigenvalue relations
    # l1 + l2 = k10 + k12 + k21 and l1*l2 = k10*k21 give V1 = CL^2 / ((l1 + l2)*CL - l1*l2*Vss).
    denominator = (l1 + l2) * cl - l1 * l2 * vss
    allowed = "half-lives, CL and Vss that a positive 2-compartment model can have"
    if denominator <= 0:
        raise InputValueError(
            "t_half_fast_h/t_half_slow_h", (t_half_fast_h, t_half_slow_h), allowed
        )
    v1 = cl * cl / denominator
    k21 = l1 * l2 * v1 / cl
    v2 = vss - v1
    if v2 <= 0:
        raise InputValueError(
            "t_half_fast_h/t_half_slow_h", (t_half_fast_h, t_half_slow_h), allowed
        )
    q = k21 * v2
    return PKParameters(cl=cl, v1=v1, q=(q,), v=(v2,), **kw)  # type: ignore[arg-type]


def add_pk(
    b: ModelBuilder,
    drug: str,
    pk: PKParameters,
    *,
    pgp_clearance_fraction: float = 0.0,
    inhibitor: str | None = None,
    inhibitor_ic50: float | None = None,
    source: str = "",
) -> PKNames:
    """Add plasma (central) and peripheral compartments for ``drug``; return the names created
    (the plasma µM variable, the central species that doses go to, its volume, the AUC)."""
    src = source or pk.source or "drug library"
    central = f"{drug}_central"
    b.compartment(f"{drug}_V1", pk.v1, unit="L", source=src)
    b.species(central, 0.0, compartment=f"{drug}_V1", unit="mg/L")
    b.parameter(f"CL_{drug}", pk.cl, unit="L/h", source=src)
    b.parameter(f"fpgp_{drug}", pgp_clearance_fraction, unit="fraction", source=src)
    block = "0"
    if inhibitor is not None:
        if not inhibitor_ic50 or inhibitor_ic50 <= 0:
            raise InputValueError("inhibitor_ic50", inhibitor_ic50, "> 0 (µM)")
        b.parameter(f"IC50sys_{inhibitor}_{drug}", inhibitor_ic50, unit="uM", source=src)
        block = f"{inhibitor}/({inhibitor} + IC50sys_{inhibitor}_{drug})"
    b.reaction(
        f"elimination_{drug}",
        f"24*CL_{drug}*(1 - fpgp_{drug}*{block})*{central}",
        reactants={central: 1},
    )
    volumes = [f"{drug}_V1"]
    for i, (q, v) in enumerate(zip(pk.q, pk.v, strict=True), start=2):
        comp = f"{drug}_V{i}"
        volumes.append(comp)
        per = f"{drug}_periph{i}"
        b.compartment(comp, v, unit="L", source=src)
        b.species(per, 0.0, compartment=comp, unit="mg/L")
        b.parameter(f"Q{i}_{drug}", q, unit="L/h", source=src)
        b.reaction(
            f"distribution{i}_{drug}",
            f"24*Q{i}_{drug}*({central} - {per})",
            reactants={central: 1},
            products={per: 1},
            reversible=True,
        )
    b.parameter(f"MW_{drug}", pk.molecular_weight, unit="g/mol", source=src)
    obs = f"{drug}_plasma_uM"  # a rule variable (not an observable) so other modules can use it
    b.parameter(obs, 0.0, constant=False, unit="uM", description=f"{drug} in plasma")
    b.assignment_rule(obs, f"{central}*1000/MW_{drug}")
    b.species(f"AUC_{drug}", 0.0, unit="mg/L*d", description="area under the plasma curve")
    b.rate_rule(f"AUC_{drug}", central)
    return PKNames(drug, central, volumes[0], obs, f"AUC_{drug}", tuple(volumes))


def body_surface_area(height_cm: float, weight_kg: float) -> float:
    """Mosteller BSA (m²) = sqrt(height_cm · weight_kg / 3600) (N Engl J Med 1987;317:1098)."""
    if height_cm <= 0 or weight_kg <= 0:
        raise InputValueError("height_cm/weight_kg", (height_cm, weight_kg), "both > 0")
    return math.sqrt(height_cm * weight_kg / 3600.0)
