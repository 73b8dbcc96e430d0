"""Cellular pharmacology of P-glycoprotein (MDR1): uptake, efflux, inhibition, binding, kill.

Mechanisms (one builder function each), in a single well-stirred cell population
(Lankelma & Spoelstra, Eur J Biochem 2000;267:649, PMID 10651800):

- passive permeation across the plasma membrane: ``k_pass * (C_out - C_in)``;
- P-gp efflux, Michaelis–Menten/Hill in the free intracellular drug, with a maximal rate
  proportional to the cell's P-gp density (Robertus, Kannan & Putnam, Molecules 2025;30:3014):
  ``rho * Vmax * C_in^h / (Km_app^h + C_in^h)``; a transport inhibitor raises ``Km_app``
  (competitive) or lowers ``Vmax`` (non-competitive);
- optionally the membrane-leaflet step ("hydrophobic vacuum cleaner"): drug enters the inner
  leaflet first and P-gp removes it from there before it reaches the cytosol;
- intracellular binding/sequestration (e.g. anthracyclines to DNA) as a fast, linear exchange;
- inactivation (metabolism) of intracellular drug;
- cell kill as an exposure–response (Emax/Hill) function of free intracellular drug.

All concentrations are µM, time is in days, cell numbers are counts. Names follow
``<drug>_<where>_<cell>`` so modules can be composed without clashes.

In the linear regime (``C_in << Km``), the steady state is
``C_in / C_out = 1 / (1 + rho*Vmax/(k_pass*Km))``, so when kill depends on free intracellular
drug, **fold resistance = 1 + rho*Vmax/(k_pass*Km)** (tested analytically).
"""

from __future__ import annotations

from dataclasses import dataclass

from mdrsim.errors import InputValueError
from mdrsim.model import ModelBuilder

_ASSUMED_FAST = "assumed: binding exchange fast (minutes) against the hours of an assay"


@dataclass(frozen=True)
class DrugTransport:
    """What a drug's cellular pharmacology needs (µM, 1/d)."""

    name: str
    k_pass: float  # passive exchange rate across the membrane, 1/d
    pgp_vmax: float  # maximal efflux at P-gp density 1, µM/d (0 for non-substrates)
    pgp_km: float  # µM
    pgp_hill: float = 1.0
    binding_ratio: float = 0.0  # bound / free at equilibrium (dimensionless)
    k_inactivation: float = 0.0  # 1/d
    source: str = ""

    def efflux_efficiency(self, density: float = 1.0) -> float:
        """rho*Vmax/(k_pass*Km): the linear-regime fold resistance minus one."""
        return density * self.pgp_vmax / (self.k_pass * self.pgp_km) if self.pgp_km > 0 else 0.0


@dataclass(frozen=True)
class Inhibition:
    """A P-gp transport inhibitor acting on one drug's efflux.

    ``ki_competitive`` raises the apparent Km (the inhibitor competes for the drug site, as a
    transported inhibitor such as verapamil does); ``ki_noncompetitive`` lowers Vmax (as
    tariquidar does). Give either or both (mixed inhibition); ``None`` means no such effect.
    """

    name: str
    ki_competitive: float | None = None  # µM
    ki_noncompetitive: float | None = None  # µM
    source: str = ""


def add_drug_exchange(
    b: ModelBuilder,
    drug: DrugTransport,
    *,
    cell: str,
    medium: str,
    pgp_density: str,
    inhibitors: tuple[Inhibition, ...] = (),
    leaflet: bool = False,
    k_flip: float | None = None,
    include_all: bool = False,
) -> str:
    """Add free and bound intracellular drug for ``cell`` exchanging with the ``medium`` species.

    ``pgp_density`` names a parameter or species (relative P-gp density of the cell).
    Returns the name of the free intracellular concentration species.
    With ``leaflet=True`` the drug passes an inner-leaflet pool (flip-flop rate ``k_flip``,
    1/d) from which P-gp pumps it out before it reaches the cytosol. ``include_all`` adds the
    binding and inactivation steps even when their parameters are 0, so drugs that differ only
    in numbers share one compiled model.
    """
    d = drug.name
    free = f"{d}_in_{cell}"
    bound = f"{d}_bound_{cell}"
    b.species(free, 0.0, unit="uM", description=f"free intracellular {d} in {cell}")
    _param(b, f"k_pass_{d}", drug.k_pass, "1/d", drug.source or "see drug library")
    _param(b, f"Vmax_{d}", drug.pgp_vmax, "uM/d", drug.source or "see drug library")
    _param(b, f"Km_{d}", drug.pgp_km, "uM", drug.source or "see drug library")
    _param(b, f"h_{d}", drug.pgp_hill, "dimensionless", drug.source or "see drug library")

    # Inhibition enters through 1/Ki parameters, 0 meaning "no effect": the model structure
    # is then the same for every inhibitor, so one compiled model serves them all.
    km_app = f"Km_{d}"
    vmax_factor = "1"
    for inh in inhibitors:
        inv_c = f"invKi_c_{inh.name}_{d}"
        inv_n = f"invKi_n_{inh.name}_{d}"
        src = inh.source or "see inhibitor library"
        _param(b, inv_c, 1.0 / inh.ki_competitive if inh.ki_competitive else 0.0, "1/uM", src)
        _param(b, inv_n, 1.0 / inh.ki_noncompetitive if inh.ki_noncompetitive else 0.0, "1/uM", src)
        km_app = f"{km_app}*(1 + {inh.name}*{inv_c})"
        vmax_factor = f"{vmax_factor}/(1 + {inh.name}*{inv_n})"

    pump_site = f"{d}_leaflet_{cell}" if leaflet else free
    efflux = (
        f"{pgp_density}*Vmax_{d}*{vmax_factor}*{pump_site}^h_{d}"
        f"/(({km_app})^h_{d} + {pump_site}^h_{d})"
    )
    if leaflet:
        if k_flip is None:
            raise InputValueError("k_flip", k_flip, "a rate (1/d) when leaflet=True")
        b.species(pump_site, 0.0, unit="uM", description=f"{d} in the inner leaflet of {cell}")
        _param(b, f"k_flip_{d}", k_flip, "1/d", drug.source or "see drug library")
        b.reaction(
            f"entry_{d}_{cell}",
            f"k_pass_{d}*({medium} - {pump_site})",
            reactants={medium: 1},
            products={pump_site: 1},
            reversible=True,
        )
        b.reaction(
            f"flip_{d}_{cell}",
            f"k_flip_{d}*({pump_site} - {free})",
            reactants={pump_site: 1},
            products={free: 1},
            reversible=True,
        )
        b.reaction(f"efflux_{d}_{cell}", efflux, reactants={pump_site: 1})
    else:
        b.reaction(
            f"passive_{d}_{cell}",
            f"k_pass_{d}*({medium} - {free})",
            reactants={medium: 1},
            products={free: 1},
            reversible=True,
        )
        b.reaction(f"efflux_{d}_{cell}", efflux, reactants={free: 1})

    if drug.binding_ratio > 0 or include_all:
        b.species(bound, 0.0, unit="uM", description=f"bound/sequestered {d} in {cell}")
        _param(b, f"B_{d}", drug.binding_ratio, "dimensionless", drug.source or "see drug library")
        _param(b, "k_bind", 1000.0, "1/d", _ASSUMED_FAST)
        b.reaction(
            f"binding_{d}_{cell}",
            f"k_bind*(B_{d}*{free} - {bound})",
            reactants={free: 1},
            products={bound: 1},
            reversible=True,
        )
    if drug.k_inactivation > 0 or include_all:
        _param(b, f"k_inact_{d}", drug.k_inactivation, "1/d", drug.source or "see drug library")
        b.reaction(f"inactivation_{d}_{cell}", f"k_inact_{d}*{free}", reactants={free: 1})
    return free


def add_kill(
    b: ModelBuilder,
    *,
    cells: str,
    drug_free: str,
    drug: str,
    emax: float,
    ec50: float,
    hill: float,
    source: str,
) -> None:
    """Kill of ``cells`` at rate ``Emax*C^n/(EC50^n + C^n)`` of free intracellular drug."""
    _param(b, f"Emax_{drug}", emax, "1/d", source)
    _param(b, f"EC50_{drug}", ec50, "uM", source)
    _param(b, f"n_{drug}", hill, "dimensionless", source)
    b.reaction(
        f"kill_{drug}_{cells}",
        f"Emax_{drug}*{drug_free}^n_{drug}/(EC50_{drug}^n_{drug} + {drug_free}^n_{drug})*{cells}",
        reactants={cells: 1},
    )


def add_growth(b: ModelBuilder, *, cells: str, rate: float, source: str) -> None:
    """Exponential growth of ``cells`` (an assay over days, far from confluence)."""
    _param(b, f"r_{cells}", rate, "1/d", source)
    b.reaction(f"growth_{cells}", f"r_{cells}*{cells}", products={cells: 1})


def _param(b: ModelBuilder, name: str, value: float, unit: str, source: str) -> None:
    if not b.has(name):
        b.parameter(name, value, unit=unit, source=source)


def add_mdr1_expression(
    b: ModelBuilder,
    *,
    cell: str,
    k_syn: float,
    k_deg: float,
    source: str,
    inducer: str | None = None,
    induction_max: float = 0.0,
    induction_ec50: float = 1.0,
    expression_inhibitor: str | None = None,
    expression_ic50: float = 1.0,
) -> str:
    """MDR1 (P-gp) density of ``cell`` as a state: synthesis, turnover, induction, repression.

    ``d rho/dt = k_syn * (1 + induction_max * D/(induction_ec50 + D)) / (1 + X/expression_ic50)
    - k_deg * rho``, where ``D`` is the inducing drug's intracellular concentration (drug-
    induced up-regulation, as vincristine induces MDR1 in HL60 cells: Pisco et al., Nat Commun
    2013;4:2467) and ``X`` an inhibitor of expression. Without drug the density relaxes to
    ``k_syn/k_deg`` with half-life ``ln 2/k_deg``. Returns the species name to use as
    ``pgp_density`` in :func:`add_drug_exchange`.
    """
    rho = f"pgp_{cell}"
    b.species(rho, k_syn / k_deg, unit="relative density", description=f"P-gp density of {cell}")
    _param(b, f"k_syn_pgp_{cell}", k_syn, "1/d", source)
    _param(b, f"k_deg_pgp_{cell}", k_deg, "1/d", source)
    synthesis = f"k_syn_pgp_{cell}"
    if inducer is not None:
        _param(b, f"ind_max_pgp_{cell}", induction_max, "dimensionless", source)
        _param(b, f"ind_ec50_pgp_{cell}", induction_ec50, "uM", source)
        synthesis += f"*(1 + ind_max_pgp_{cell}*{inducer}/(ind_ec50_pgp_{cell} + {inducer}))"
    if expression_inhibitor is not None:
        _param(b, f"rep_ic50_pgp_{cell}", expression_ic50, "uM", source)
        synthesis += f"/(1 + {expression_inhibitor}/rep_ic50_pgp_{cell})"
    b.reaction(f"synthesis_pgp_{cell}", synthesis, products={rho: 1})
    b.reaction(f"turnover_pgp_{cell}", f"k_deg_pgp_{cell}*{rho}", reactants={rho: 1})
    return rho


def add_exposure_auc(b: ModelBuilder, *, drug_free: str) -> str:
    """Running AUC of free intracellular drug (µM·d), for AUC-based exposure–response."""
    auc = f"AUC_{drug_free}"
    b.species(auc, 0.0, unit="uM*d", description=f"area under {drug_free}")
    b.rate_rule(auc, drug_free)
    return auc
