"""Tumour clones indexed by MDR1 expression, under several drugs at once.

Clones ``i = 0..k-1`` have P-gp densities ``ρ_i`` (parental, MDR1-low, MDR1-high by default).
In cells ×1e9, time in days:

```
dN_i/dt = g_i(N)·N_i − Σ_d kill_{i,d}·N_i + transitions
g_i     = r·(1 − cost·ρ_i/ρ_max)·ln(K/N)      (Gompertz)   or   r·(1 − cost·ρ_i/ρ_max)·(1 − N/K)
kill_{i,d} = Emax_d · C_{i,d} / (EC50_d + C_{i,d}),   C_{i,d} = C_plasma,d / (1 + ρ_i·φ·E_d)
```

``N = Σ N_i`` (shared carrying capacity), ``E_d`` the drug's P-gp efflux efficiency and
``φ = 1/(1 + I/Ki)`` the fraction of P-gp left working by an inhibitor: the intracellular level
is the quasi-steady state of the P-gp cell model (mdrsim.biology.cell) — membrane exchange
takes minutes, the tumour changes over days — so each clone's kill follows from its own
intracellular concentration of every drug.

Transitions between adjacent levels: spontaneous switching per division (rate ``μ·r·N_i``, up
and down), drug-induced up-regulation proportional to drug exposure ``α·Σ_d C_plasma,d·N_i``
(Pisco et al., Nat Commun 2013;4:2467; Greene, Gevertz & Sontag, JCO Clin Cancer Inform
2019;3:1), and reversion towards lower expression when the drug is gone
``δ·K_rev/(K_rev + Σ_d C_plasma,d)·N_i`` (MDR1 over-expression is lost within ~1 month off drug,
KB/VCR: Cancer Res 1986;46:3099).

Optional non-P-gp resistance trait (``TumourSpec.trait_fold != 1``, ``trait_mu > 0`` or
``trait_initial_fraction > 0``; off by default, and then the model is exactly the one above):
every MDR1 level ``i`` gets a trait-carrying twin ``T_<level>_trait`` (altered target, failed
apoptosis, ... — anything P-gp inhibitors cannot reverse) with

```
EC50_d → trait_fold·EC50_d   (every drug; a linear kill's slope is divided by trait_fold)
g_i    → (1 − trait_cost)·g_i
T_<level> → T_<level>_trait   at  trait_mu·r·N_<level>   (per division, one way)
```

MDR1 transitions act within each trait layer; ``tumour_total`` sums every clone and
``mdr1_high_fraction`` counts the highest MDR1 level with and without the trait.

A drug's kill is ``Emax·C/(EC50 + C)`` (``DrugKill.kill = "emax"``) or linear in the
intracellular concentration, ``Emax·C`` with ``Emax`` in 1/(µM·d) (``kill = "linear"``, as in
Greene et al. 2019's ``d·u(t)·S``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from mdrsim.errors import InputValueError
from mdrsim.model import ModelBuilder
from mdrsim.model.domain import below, between, fraction, non_negative, positive

KillForm = Literal["emax", "linear"]


@dataclass(frozen=True)
class DrugKill:
    """A drug acting on the tumour: its plasma concentration expression and kill numbers."""

    name: str
    plasma_uM: str  # expression (a rule variable or parameter of the model)
    efflux_efficiency: float  # E_d at P-gp density 1
    emax: float  # 1/d
    ec50: float  # µM free intracellular (unused by a linear kill)
    source: str
    kill: KillForm = "emax"  # "linear": Emax·C, Emax in 1/(µM·d)

    def __post_init__(self) -> None:
        if self.kill not in ("emax", "linear"):
            raise InputValueError("DrugKill.kill", self.kill, "'emax' or 'linear'")


@dataclass(frozen=True)
class TumourSpec:
    levels: tuple[tuple[str, float], ...] = (
        ("parental", 0.0),
        ("mdr1_low", 0.3),
        ("mdr1_high", 1.0),
    )
    growth: str = "gompertz"
    r: float = 0.03  # 1/d
    K: float = 1000.0  # 1e9 cells
    cost: float = 0.2  # fractional growth cost at the highest P-gp level
    mu_up: float = 1e-6  # per division
    mu_down: float = 1e-6
    induction: float = 0.0  # 1/(µM·d)
    reversion: float = 0.0  # 1/d
    reversion_half_uM: float = 0.01
    initial_total: float = 10.0  # 1e9 cells
    initial_fractions: tuple[float, ...] = (0.999, 0.000999, 0.000001)
    sources: dict[str, str] = field(default_factory=dict)
    # Optional non-P-gp resistance trait (off by default: see the module docstring).
    trait_fold: float = 1.0  # fold increase of every drug's EC50 in trait-carrying cells
    trait_mu: float = 0.0  # per division, trait gain (one way)
    trait_cost: float = 0.0  # fractional growth cost of the trait
    trait_initial_fraction: float = 0.0  # of every MDR1 level's initial cells

    @property
    def has_trait(self) -> bool:
        """Whether the clones are (MDR1 level × trait) rather than MDR1 levels alone."""
        return self.trait_fold != 1.0 or self.trait_mu > 0 or self.trait_initial_fraction > 0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.trait_fold) and self.trait_fold > 0):
            raise InputValueError("trait_fold", self.trait_fold, "a finite number > 0")
        if not (math.isfinite(self.trait_mu) and self.trait_mu >= 0):
            raise InputValueError("trait_mu", self.trait_mu, "a finite number >= 0")
        if not 0 <= self.trait_cost < 1:
            raise InputValueError("trait_cost", self.trait_cost, "0 <= trait_cost < 1")
        if not 0 <= self.trait_initial_fraction <= 1:
            raise InputValueError("trait_initial_fraction", self.trait_initial_fraction, "0 to 1")
        if len(self.initial_fractions) != len(self.levels):
            raise InputValueError(
                "initial_fractions",
                self.initial_fractions,
                f"one value per level ({len(self.levels)})",
            )
        if self.growth not in ("gompertz", "logistic"):
            raise InputValueError("growth", self.growth, "'gompertz' or 'logistic'")
        if (
            any(f < 0 for f in self.initial_fractions)
            or abs(sum(self.initial_fractions) - 1) > 1e-9
        ):
            raise InputValueError("initial_fractions", self.initial_fractions, ">= 0 and sum to 1")


@dataclass(frozen=True)
class TumourNames:
    """The model variables :func:`add_tumour` created."""

    clones: tuple[str, ...]  # species (1e9 cells), MDR1 levels lowest first, then trait clones
    high_clones: tuple[str, ...]  # the clones at the highest MDR1 level (with their trait twin)
    densities: dict[str, str]  # MDR1 level -> parameter of its relative P-gp density
    total: str  # rule variable: every clone (1e9 cells)
    high_fraction: str  # rule variable: fraction of the burden at the highest MDR1 level
    inhibitor_ki: str | None  # parameter: the inhibitor's Ki for tumour P-gp (None: none)


_ASSUMED = "assumed: illustrative tumour kinetics (doubling ~3 weeks early, plateau ~1e12 cells)"


# Declared physical ranges of the tumour parameters (see mdrsim.model.domain); the scenario's
# tumour fields use the same declarations.
GROWTH_RATE_DOMAIN = positive("a growth rate (a tumour that cannot grow has no kinetics here)")
CAPACITY_DOMAIN = positive("a carrying capacity (Gompertz/logistic divide by it)")
COST_DOMAIN = between(
    0.0, 1.0, "a fitness cost: the fraction of the growth rate lost", upper_inclusive=False
)
SWITCH_DOMAIN = between(0.0, 1.0, "a switching probability per division", upper_inclusive=False)
CLONE_WHY = "tumour cells: none below 0, and at most the carrying capacity tum_K"


def add_tumour(
    b: ModelBuilder,
    spec: TumourSpec,
    drugs: tuple[DrugKill, ...],
    *,
    inhibitor: str | None = None,
    inhibitor_ki: float | None = None,
) -> TumourNames:
    """Add the clones, growth, kill by every drug, and transitions; return the names created.

    Without the trait the clones are ``T_<level>`` (one per MDR1 level, lowest first); with it,
    those followed by ``T_<level>_trait`` in the same order.
    """
    src = spec.sources
    b.parameter(
        "tum_r", spec.r, unit="1/d", source=src.get("r", _ASSUMED), domain=GROWTH_RATE_DOMAIN
    )
    b.parameter(
        "tum_K", spec.K, unit="1e9 cells", source=src.get("K", _ASSUMED), domain=CAPACITY_DOMAIN
    )
    b.parameter(
        "tum_cost",
        spec.cost,
        source=src.get("cost", "assumed: fitness cost of MDR1"),
        domain=COST_DOMAIN,
    )
    for name, value in (("tum_mu_up", spec.mu_up), ("tum_mu_down", spec.mu_down)):
        b.parameter(
            name, value, unit="1/division", source=src.get("mu", _ASSUMED), domain=SWITCH_DOMAIN
        )
    b.parameter(
        "tum_alpha",
        spec.induction,
        unit="1/(uM*d)",
        source=src.get("induction", _ASSUMED),
        domain=non_negative("a drug-induced switching rate (0: none)"),
    )
    b.parameter(
        "tum_rev",
        spec.reversion,
        unit="1/d",
        source=src.get("reversion", _ASSUMED),
        domain=non_negative("a reversion rate (0: none)"),
    )
    b.parameter(
        "tum_rev_half",
        spec.reversion_half_uM,
        unit="uM",
        source=_ASSUMED,
        domain=positive("a half-saturation concentration (divides)"),
    )
    trait = spec.has_trait
    if trait:
        assumed = (
            "assumed: illustrative non-P-gp resistance trait (target alteration, apoptosis "
            "block); no published rates for a generic trait, set by the user's TumourSpec"
        )
        b.parameter(
            "tum_trait_fold",
            spec.trait_fold,
            source=src.get("trait_fold", assumed),
            domain=positive("a fold change of potency (divides the kill)"),
        )
        b.parameter(
            "tum_trait_mu",
            spec.trait_mu,
            unit="1/division",
            source=src.get("trait_mu", assumed),
            domain=SWITCH_DOMAIN,
        )
        b.parameter(
            "tum_trait_cost",
            spec.trait_cost,
            source=src.get("trait_cost", assumed),
            domain=COST_DOMAIN,
        )
    layers = [("", 1.0 - spec.trait_initial_fraction)]
    if trait:
        layers.append(("_trait", spec.trait_initial_fraction))
    base = [f"T_{n}" for n, _ in spec.levels]
    names = [f"{n}{suffix}" for suffix, _ in layers for n in base]
    rho_max = max(d for _, d in spec.levels) or 1.0
    for suffix, share in layers:
        for (level, density), name, frac in zip(
            spec.levels, base, spec.initial_fractions, strict=True
        ):
            if not suffix:
                b.parameter(
                    f"rho_{level}",
                    density,
                    unit="relative P-gp density",
                    source=_ASSUMED,
                    domain=non_negative("a relative P-gp density (0: none)"),
                )
            b.species(
                f"{name}{suffix}",
                spec.initial_total * frac * share,
                unit="1e9 cells",
                domain=below("tum_K", spec.K, CLONE_WHY),
            )
    total = " + ".join(names)
    b.parameter(
        "tumour_total",
        0.0,
        constant=False,
        unit="1e9 cells",
        domain=non_negative("a cell count"),
    )
    b.assignment_rule("tumour_total", total)
    phi = "1"
    if inhibitor is not None:
        if not inhibitor_ki:
            raise InputValueError("inhibitor_ki", inhibitor_ki, "> 0 (µM) with an inhibitor")
        b.parameter(
            "tum_Ki_inhibitor",
            inhibitor_ki,
            unit="uM",
            source="inhibitor library",
            domain=positive("an inhibition constant (divides)"),
        )
        phi = f"1/(1 + {inhibitor}/tum_Ki_inhibitor)"
    exposure = " + ".join(f"({d.plasma_uM})" for d in drugs) or "0"
    for d in drugs:
        b.parameter(
            f"E_{d.name}",
            d.efflux_efficiency,
            source=d.source,
            domain=non_negative("an efflux efficiency (0: not a P-gp substrate)"),
        )
        b.parameter(
            f"tum_Emax_{d.name}",
            d.emax,
            unit="1/(uM*d)" if d.kill == "linear" else "1/d",
            source=d.source,
            domain=non_negative("a maximal kill rate (0: no kill)"),
        )
        b.parameter(
            f"tum_EC50_{d.name}",
            d.ec50,
            unit="uM",
            source=d.source,
            domain=positive("a half-maximal concentration (divides)"),
        )
    drive = "log(tum_K/tumour_total)" if spec.growth == "gompertz" else "(1 - tumour_total/tum_K)"
    for suffix, _ in layers:
        has = suffix == "_trait"
        layer = [f"{n}{suffix}" for n in base]
        for i, ((level, _), name) in enumerate(zip(spec.levels, layer, strict=True)):
            rate = f"tum_r*(1 - tum_cost*rho_{level}/{rho_max})"
            if has:
                rate += "*(1 - tum_trait_cost)"
            b.reaction(f"growth_{name}", f"{rate}*{drive}*{name}", products={name: 1})
            for d in drugs:
                c_in = f"({d.plasma_uM})/(1 + rho_{level}*({phi})*E_{d.name})"
                if d.kill == "linear":
                    fold = "/tum_trait_fold" if has else ""
                    kill = f"tum_Emax_{d.name}*{c_in}{fold}*{name}"
                else:
                    ec50 = f"tum_EC50_{d.name}*tum_trait_fold" if has else f"tum_EC50_{d.name}"
                    kill = f"tum_Emax_{d.name}*{c_in}/({ec50} + {c_in})*{name}"
                b.reaction(f"kill_{d.name}_{name}", kill, reactants={name: 1})
            if i + 1 < len(layer):
                up = layer[i + 1]
                b.reaction(
                    f"switch_up_{name}",
                    f"tum_mu_up*tum_r*{name}",
                    reactants={name: 1},
                    products={up: 1},
                )
                b.reaction(
                    f"induced_up_{name}",
                    f"tum_alpha*({exposure})*{name}",
                    reactants={name: 1},
                    products={up: 1},
                )
            if i > 0:
                down = layer[i - 1]
                b.reaction(
                    f"switch_down_{name}",
                    f"tum_mu_down*tum_r*{name}",
                    reactants={name: 1},
                    products={down: 1},
                )
                b.reaction(
                    f"reversion_{name}",
                    f"tum_rev*tum_rev_half/(tum_rev_half + {exposure})*{name}",
                    reactants={name: 1},
                    products={down: 1},
                )
            if trait and not has:
                b.reaction(
                    f"trait_gain_{name}",
                    f"tum_trait_mu*tum_r*{name}",
                    reactants={name: 1},
                    products={f"{name}_trait": 1},
                )
    b.parameter(
        "mdr1_high_fraction",
        0.0,
        constant=False,
        unit="fraction",
        domain=fraction("a fraction of the tumour"),
    )
    high = base[-1] if not trait else f"({base[-1]} + {base[-1]}_trait)"
    b.assignment_rule("mdr1_high_fraction", f"{high}/tumour_total")
    top = base[-1]
    return TumourNames(
        clones=tuple(names),
        high_clones=tuple(c for c in names if c in (top, f"{top}_trait")),
        densities={level: f"rho_{level}" for level, _ in spec.levels},
        total="tumour_total",
        high_fraction="mdr1_high_fraction",
        inhibitor_ki="tum_Ki_inhibitor" if inhibitor is not None else None,
    )
