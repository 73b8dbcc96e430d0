"""Systemic pharmacokinetics: 1–3 compartment models, dosing by body-surface area or weight,
and the P-gp-dependent share of clearance that an inhibitor blocks (drug–drug interaction).

Amounts are mg, volumes L, time days (clearances are given in L/h, as in the literature, and
converted). The central species is a concentration (mg/L); the ``{drug}_plasma_uM``
observable converts it with the molecular weight.

Saturable (Michaelis–Menten) disposition, as published for paclitaxel in Cremophor EL
(Henningsson-type structure; Crombag et al., Pharm Res 2019;36:33, reprinted in Janssen et al.,
Clin Pharmacokinet 2023;62:1157, doi:10.1007/s40262-023-01263-1): elimination
``VM_EL·C/(KM_EL + C)`` from the central compartment, saturable transport ``VM_TR·C/(KM_TR + C)``
into a peripheral amount with first-order return ``K21·A``, plus linear compartments. All rates
are amounts per time, so a compartment's volume only converts amount to concentration.

DDI: ``CL_eff = CL · (1 − f · I/(I + IC50_sys))`` — a fraction ``f`` of elimination is blocked by
an inhibitor at systemic concentration ``I`` with potency ``IC50_sys``. ``f`` is either the
measured change of the (inhibitor, drug) pair rescaled so that the library's clinical inhibitor
concentration reproduces it, or — where no pair was measured — the drug's P-gp-dependent share
of clearance (the mechanistic rule); :func:`mdrsim.patient.library_bridge.interaction` chooses
and records which. Second-generation inhibitors (valspodar) raised chemotherapy exposure and
forced dose cuts (Advani et al., Blood 1999;93:787); third-generation ones barely changed it
(tariquidar with docetaxel: Kelly et al., Clin Cancer Res 2011;17:569).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mdrsim.errors import InputValueError
from mdrsim.model import ModelBuilder
from mdrsim.model.domain import fraction, non_negative, positive

HOURS_PER_DAY = 24.0


# Declared physical ranges of the PK parameters (see mdrsim.model.domain).
_CLEARANCE = positive("a clearance: elimination needs one > 0 (0 would mean a drug never leaves)")
_LINEAR_CLEARANCE = non_negative(
    "a linear clearance beside saturable elimination (0: Michaelis-Menten only)"
)
_VOLUME = positive("a volume: concentrations divide by it")
_FLOW = positive("an intercompartmental clearance; a 0 would disconnect the compartment")
_HALF = positive("a half-saturation or half-inhibition constant (divides)")
_VMAX = non_negative("a maximal elimination or transport rate")
_RATE = non_negative("a first-order rate constant")


@dataclass(frozen=True)
class PKNames:
    """The model variables :func:`add_pk` created for one drug."""

    drug: str
    central: str  # species, mg/L: doses are events on it
    volume: str  # compartment of the central species (L): a dose in mg divides by it
    plasma_uM: str  # rule variable, µM
    auc: str  # species, mg/L·d
    volumes: tuple[str, ...]  # every compartment (L): central first, then peripheral
    saturable: tuple[str, ...] = ()  # Michaelis–Menten parameters (absolute: not BSA-scaled)


@dataclass(frozen=True)
class SaturablePK:
    """Michaelis–Menten elimination and peripheral transport (absolute units: mg/h, mg/L)."""

    vmax_el: float  # mg/h, saturable elimination from the central compartment
    km_el: float  # mg/L
    vmax_tr: float = 0.0  # mg/h, saturable transport into the peripheral amount (0: none)
    km_tr: float = 1.0  # mg/L
    k21: float = 1.0  # 1/h, first-order return of the transported amount

    def __post_init__(self) -> None:
        for name in ("vmax_el", "km_el", "km_tr", "k21"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise InputValueError(f"SaturablePK.{name}", value, "> 0")
        if not (math.isfinite(self.vmax_tr) and self.vmax_tr >= 0):
            raise InputValueError("SaturablePK.vmax_tr", self.vmax_tr, ">= 0")


@dataclass(frozen=True)
class PKParameters:
    """Clearance and volumes of one patient (absolute units: L/h and L)."""

    cl: float  # L/h
    v1: float  # L
    q: tuple[float, ...] = ()  # inter-compartmental clearances, L/h
    v: tuple[float, ...] = ()  # peripheral volumes, L
    molecular_weight: float = 500.0  # g/mol
    source: str = ""
    saturable: SaturablePK | None = None  # Michaelis–Menten terms (``cl`` may then be 0)

    def __post_init__(self) -> None:
        if len(self.q) != len(self.v) or len(self.q) > 2:
            raise InputValueError(
                "PKParameters.q/v",
                (self.q, self.v),
                "0, 1 or 2 peripheral compartments (q and v of equal length)",
            )
        for name, value in (("v1", self.v1), ("q", self.q), ("v", self.v)):
            if min(value if isinstance(value, tuple) else (value,), default=1.0) <= 0:
                raise InputValueError(f"PKParameters.{name}", value, "clearances and volumes > 0")
        if self.saturable is None and not self.cl > 0:
            raise InputValueError("PKParameters.cl", self.cl, "> 0 (L/h)")
        if self.saturable is not None and not self.cl >= 0:
            raise InputValueError("PKParameters.cl", self.cl, ">= 0 (L/h) with saturable terms")

    def linear_limit(self) -> PKParameters:
        """The linear model this one tends to at low concentration (C ≪ Km): saturable
        elimination becomes a clearance ``VM_EL/KM_EL`` and saturable transport a compartment
        with flow ``VM_TR/KM_TR`` and volume ``flow/K21``. Itself when there is nothing
        saturable."""
        sat = self.saturable
        if sat is None:
            return self
        q, v = list(self.q), list(self.v)
        if sat.vmax_tr > 0:
            flow = sat.vmax_tr / sat.km_tr
            q.insert(0, flow)
            v.insert(0, flow / sat.k21)
        return PKParameters(
            cl=self.cl + sat.vmax_el / sat.km_el,
            v1=self.v1,
            q=tuple(q),
            v=tuple(v),
            molecular_weight=self.molecular_weight,
            source=self.source,
        )

    def volume_ss_l(self) -> float:
        """Steady-state volume (L): the sum of the compartments (of the linear limit)."""
        lin = self.linear_limit()
        return lin.v1 + sum(lin.v)

    def terminal_half_life_h(self) -> float:
        """Terminal half-life (h) from the slowest eigenvalue of the linear system (of its
        low-concentration limit for a saturable model)."""
        import numpy as np

        if self.saturable is not None:
            return self.linear_limit().terminal_half_life_h()
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
    interaction_source: str = "",
) -> PKNames:
    """Add plasma (central) and peripheral compartments for ``drug``; return the names created
    (the plasma µM variable, the central species that doses go to, its volume, the AUC).

    ``pgp_clearance_fraction`` is the maximal fraction of elimination an inhibitor blocks
    (``fpgp_<drug>``; its source ``interaction_source``)."""
    src = source or pk.source or "drug library"
    if not 0.0 <= pgp_clearance_fraction <= 1.0:
        raise InputValueError("pgp_clearance_fraction", pgp_clearance_fraction, "0 to 1")
    central = f"{drug}_central"
    b.compartment(f"{drug}_V1", pk.v1, unit="L", source=src, domain=_VOLUME)
    b.species(central, 0.0, compartment=f"{drug}_V1", unit="mg/L")
    # With saturable (Michaelis-Menten) elimination the linear clearance may be 0.
    cl_domain = _CLEARANCE if pk.saturable is None else _LINEAR_CLEARANCE
    b.parameter(f"CL_{drug}", pk.cl, unit="L/h", source=src, domain=cl_domain)
    b.parameter(
        f"fpgp_{drug}",
        pgp_clearance_fraction,
        unit="fraction",
        source=interaction_source or src,
        domain=fraction("the fraction of elimination the inhibitor can block"),
    )
    block = "0"
    if inhibitor is not None:
        if not inhibitor_ic50 or inhibitor_ic50 <= 0:
            raise InputValueError("inhibitor_ic50", inhibitor_ic50, "> 0 (µM)")
        b.parameter(
            f"IC50sys_{inhibitor}_{drug}", inhibitor_ic50, unit="uM", source=src, domain=_HALF
        )
        block = f"{inhibitor}/({inhibitor} + IC50sys_{inhibitor}_{drug})"
    elimination = f"CL_{drug}*{central}"
    sat = pk.saturable
    saturable_names: list[str] = []
    if sat is not None:
        saturable_names = [f"VMEL_{drug}", f"KMEL_{drug}"]
        b.parameter(f"VMEL_{drug}", sat.vmax_el, unit="mg/h", source=src, domain=_VMAX)
        b.parameter(f"KMEL_{drug}", sat.km_el, unit="mg/L", source=src, domain=_HALF)
        elimination += f" + VMEL_{drug}*{central}/(KMEL_{drug} + {central})"
    b.reaction(
        f"elimination_{drug}",
        f"24*({elimination})*(1 - fpgp_{drug}*{block})",
        reactants={central: 1},
    )
    if sat is not None and sat.vmax_tr > 0:
        # The transported pool is an amount (the source gives it no volume): a 1-L compartment
        # holds it, so its concentration in mg/L is its amount in mg.
        saturable_names += [f"VMTR_{drug}", f"KMTR_{drug}", f"K21_{drug}"]
        tr = f"{drug}_transported"
        b.compartment(
            f"{drug}_Vtr",
            1.0,
            unit="L",
            source="amount compartment (no volume)",
            domain=_VOLUME,
        )
        b.species(tr, 0.0, compartment=f"{drug}_Vtr", unit="mg/L")
        b.parameter(f"VMTR_{drug}", sat.vmax_tr, unit="mg/h", source=src, domain=_VMAX)
        b.parameter(f"KMTR_{drug}", sat.km_tr, unit="mg/L", source=src, domain=_HALF)
        b.parameter(f"K21_{drug}", sat.k21, unit="1/h", source=src, domain=_RATE)
        b.reaction(
            f"transport_{drug}",
            f"24*VMTR_{drug}*{central}/(KMTR_{drug} + {central})",
            reactants={central: 1},
            products={tr: 1},
        )
        b.reaction(
            f"return_{drug}", f"24*K21_{drug}*{tr}", reactants={tr: 1}, products={central: 1}
        )
    volumes = [f"{drug}_V1"]
    for i, (q, v) in enumerate(zip(pk.q, pk.v, strict=True), start=2):
        comp = f"{drug}_V{i}"
        volumes.append(comp)
        per = f"{drug}_periph{i}"
        b.compartment(comp, v, unit="L", source=src, domain=_VOLUME)
        b.species(per, 0.0, compartment=comp, unit="mg/L")
        b.parameter(f"Q{i}_{drug}", q, unit="L/h", source=src, domain=_FLOW)
        b.reaction(
            f"distribution{i}_{drug}",
            f"24*Q{i}_{drug}*({central} - {per})",
            reactants={central: 1},
            products={per: 1},
            reversible=True,
        )
    b.parameter(
        f"MW_{drug}",
        pk.molecular_weight,
        unit="g/mol",
        source=src,
        domain=positive("a molar mass (the µM conversion divides by it)"),
    )
    obs = f"{drug}_plasma_uM"  # a rule variable (not an observable) so other modules can use it
    b.parameter(
        obs,
        0.0,
        constant=False,
        unit="uM",
        description=f"{drug} in plasma",
        domain=non_negative("a concentration"),
    )
    b.assignment_rule(obs, f"{central}*1000/MW_{drug}")
    b.species(f"AUC_{drug}", 0.0, unit="mg/L*d", description="area under the plasma curve")
    b.rate_rule(f"AUC_{drug}", central)
    return PKNames(
        drug, central, volumes[0], obs, f"AUC_{drug}", tuple(volumes), tuple(saturable_names)
    )


def body_surface_area(height_cm: float, weight_kg: float) -> float:
    """Mosteller BSA (m²) = sqrt(height_cm · weight_kg / 3600) (N Engl J Med 1987;317:1098)."""
    if height_cm <= 0 or weight_kg <= 0:
        raise InputValueError("height_cm/weight_kg", (height_cm, weight_kg), "both > 0")
    return math.sqrt(height_cm * weight_kg / 3600.0)
