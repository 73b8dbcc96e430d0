"""CD8 T cells that need MDR1, acute infections, and anti-tumour immunity (model builders).

CD8 response (counts of one epitope-specific population, time in days):

```
dN/dt = − a(Ag) · N                                              naive → activated
dA/dt = a(Ag)·N + r(Ag)·M + (p_A·s(Ag) − k_AE − d_A − d_ox·(1 − f)) · A
dE/dt = k_AE·A + (p_E·s(Ag) − d_E − k_EM) · E
dM/dt = k_EM·E − r(Ag)·M − d_M·M
```

with antigen stimulation ``s(Ag) = Ag/(Ag + K_Ag)``, activation ``a = k_act·s``, memory recall
``r = k_rec·s``. ``f`` is MDR1 function in the cells: 1 in wild type, 0 without MDR1
(genetic deficiency), ``1/(1 + I/IC50)`` under an inhibitor at concentration ``I``. MDR1
protects *newly activated* cells (``A``) from oxidative-stress death ``d_ox`` in the first days
after activation (Chen et al., J Exp Med 2020;217:e20191388, PMID 32302378); naive cells and
killing capacity are unaffected (Eisenbraun & Miller, J Immunol 1999;163:2621).

Infections: an acute virus (LCMV-Armstrong-like) ``dV/dt = r_V·V·(1 − V/K_V) − k_V·(A + E)·V``
and an intracellular bacterium (Listeria-like, for a memory challenge)
``dB/dt = r_B·B − k_B·(A + E)·B``; both are antigen for the response.

Tumour–immune (Kuznetsov, Makalkin, Taylor & Perelson, Bull Math Biol 1994;56:295), in its
dimensionless form: ``dx/dt = σ + ρ·x·y/(η + y) − μ·x·y − δ·x``,
``dy/dt = α·y·(1 − β·y) − x·y`` (x effector cells, y tumour cells).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from mdrsim.errors import InputValueError
from mdrsim.model import ModelBuilder
from mdrsim.model.domain import Domain, fraction, non_negative, positive

# Sources of the kinetic targets (each read in the paper's abstract):
# - Blattman et al., J Exp Med 2002;195:657 (doi:10.1084/jem.20001021, PMID 11877489): 100-200
#   naive GP33-specific precursors per C57BL/6 mouse divide > 14 times in one week after LCMV to
#   ~1e7 cells; ~5 % survive as a memory pool of ~5e5 cells.
# - De Boer et al., J Virol 2001;75:10663 (doi:10.1128/JVI.75.22.10663-10669.2001, PMID
#   11602708): BALB/c mice, NP118 and GP283 epitopes; proliferation starts 1-2 days after
#   infection at an average 3 /d, peak between days 5 and 6; death phase 0.5 /d (mean lifetime
#   2 d); memory 5 % of the peak.
# - Kaech et al., Nat Immunol 2003;4:1191 (doi:10.1038/ni1009, PMID 14625547): only that a small
#   fraction (5-10 %) of activated CD8 T cells survives as long-lived memory. It gives no peak
#   size, no rates and no virus kinetics.
_BLATTMAN = (
    "Blattman et al., J Exp Med 2002;195:657, doi:10.1084/jem.20001021, PMID 11877489 "
    "(100-200 GP33 precursors per mouse)"
)
_DEBOER = (
    "De Boer et al., J Virol 2001;75:10663, doi:10.1128/JVI.75.22.10663-10669.2001, PMID 11602708"
)
_KAECH = "Kaech et al., Nat Immunol 2003;4:1191, doi:10.1038/ni1009, PMID 14625547"
_ASSUMED_FIT = (
    "assumed: chosen so that wild-type mice reach ~1e7 cells around day 8 and keep ~5 % as "
    "memory (Blattman et al. J Exp Med 2002, PMID 11877489) and contract at ~0.5/d (De Boer et "
    "al. J Virol 2001, PMID 11602708)"
)


@dataclass(frozen=True)
class CD8Parameters:
    """Parameters of the CD8 response (1/d unless stated), each with its source below.

    The defaults are the module's assumed values, chosen for the LCMV kinetic targets
    (Blattman 2002, De Boer 2001) and an early MDR1-dependent window (Chen 2020).
    :meth:`fitted_crauste2017` gives the parameter set fitted to data (:data:`CD8_FIT`); it
    is not the default because it contradicts two of those sourced behaviours (docs/immune.md,
    "The CD8 fit": contraction 0.11 /d instead of ~0.5 /d, and the MDR1 damage no longer early).
    """

    precursors: float = 150.0  # cells
    k_act: float = 3.0  # naive activation at saturating antigen
    p_A: float = 2.2  # proliferation of activated cells (assumed; De Boer 2001 fit 3 /d)
    p_E: float = 2.0  # proliferation of effectors under antigen
    k_AE: float = 1.0  # activated → effector: the MDR1-dependent window lasts ~1 day
    d_A: float = 0.1
    d_ox: float = 6.0  # extra early death without MDR1 protection
    d_E: float = 0.45  # contraction (De Boer 2001: ~0.5/d)
    k_EM: float = 0.012  # effector → memory
    d_M: float = 0.0  # memory is stable over months (assumed: self-renewal balances loss)
    k_rec: float = 2.0  # memory recall on antigen
    K_Ag: float = 2000.0  # antigen at half-maximal stimulation (pathogen units)
    fitted: bool = False  # True for the set of :meth:`fitted_crauste2017` (sources follow)

    @classmethod
    def fitted_crauste2017(cls, precursors: float = 150.0) -> CD8Parameters:
        """The kinetic parameters fitted to Crauste et al. 2017 and the LCMV targets
        (:data:`CD8_FIT`), with ``d_ox`` re-chosen for the same ~3-fold MDR1-deficient peak
        loss under these kinetics (assumed, :data:`D_OX_FITTED_KINETICS`)."""
        values = {name: v[0] for name, v in CD8_FIT.items()}
        return cls(precursors=precursors, d_ox=D_OX_FITTED_KINETICS, fitted=True, **values)

    def sources(self) -> dict[str, str]:
        src = {f.name: _ASSUMED_FIT for f in fields(self) if f.name != "fitted"}
        src["precursors"] = _BLATTMAN
        src["p_A"] = (
            f"assumed: 2.2 /d (doubling 7.6 h); {_DEBOER} estimated an average proliferation "
            "rate of 3 /d in BALB/c mice (NP118/GP283) with one expanding population; here "
            "expansion is shared by the activated and effector pools (p_E 2.0 /d), and 2.2 with "
            "the assumed k_AE and d_A puts the wild-type peak at ~1e7 near day 8-9"
        )
        src["d_E"] = (
            f"{_DEBOER}: death phase 0.5 /d (mean lifetime 2 d); 0.45 plus k_EM 0.012 gives "
            "~0.46 /d net loss of effectors"
        )
        src["d_ox"] = (
            "assumed: size of the MDR1-dependent early death chosen so that MDR1-deficient "
            "mice have a several-fold lower peak (Chen et al. J Exp Med 2020, PMID 32302378, "
            "show reduced effector accumulation; the exact fold must be read off its figures)"
        )
        src["d_M"] = (
            "assumed: no memory loss over the 60-day horizon; the memory pool is long-lived "
            f"({_KAECH}: 5-10 % of activated cells survive as long-lived memory; no loss rate "
            "is given)"
        )
        if self.fitted:
            for name in CD8_FIT:
                src[name] = (
                    _fit_source(name)
                    if getattr(self, name) == CD8_FIT[name][0]
                    else "set by the caller (the fitted value is in CD8_FIT)"
                )
            src["d_ox"] = (
                "assumed: chosen so that MDR1-deficient mice have a ~3-fold lower peak with the "
                "fitted kinetics, as the default does with the assumed ones (Chen et al. J Exp "
                "Med 2020, PMID 32302378: reduced effector accumulation; fold not read)"
            )
        return src


def _cd8_domain(name: str) -> Domain:
    """The declared range of a :class:`CD8Parameters` field: every rate >= 0; the antigen
    half-saturation ``K_Ag`` > 0 (the stimulation divides by it)."""
    if name == "K_Ag":
        return positive("an antigen level at half-maximal stimulation (divides)")
    return non_negative("a per-cell rate of the CD8 response (1/d)")


#: ``d_ox`` (1/d) that gives the ~3-fold MDR1-deficient peak loss of the default set under the
#: fitted kinetics (docs/scripts/cd8_d_ox_range.py: peak ratio 0.28 at 0.3, 0.46 at 0.2).
D_OX_FITTED_KINETICS = 0.28

#: The CD8 fit (scripts/fit_cd8_crauste.py, docs/calibration.md): Crauste et al., Cell Systems
#: 2017;4(3):306-317.e4, doi:10.1016/j.cels.2017.01.014 (21 counts of naive, early-effector,
#: late-effector and memory CD8 T cells, days 4-28, PEtab benchmark problem
#: Crauste_CellSystems2017) jointly with the LCMV targets of Blattman et al. 2002 (1e7 at day 8,
#: 5e5 memory on days 30 and 60, log10 SD 0.2). Maximum-likelihood value and 95 % profile-
#: likelihood interval of each estimated parameter: ±inf where the profile did not cross the
#: threshold (the data do not bound it there: up to the search bound, or where the profile was
#: stopped — d_M above 0.01 /d; docs/immune.md), None where the
#: profile was not computed.
CD8_FIT: dict[str, tuple[float, float | None, float | None]] = {
    "k_act": (27.73, 5.855, math.inf),
    "p_A": (8.121, 4.795, math.inf),
    "p_E": (0.3027, -math.inf, 0.7819),
    "k_AE": (0.3877, 0.2371, 0.6031),
    "d_A": (4.95, 1.246, 7.07),
    "d_E": (0.1441, 0.06926, 0.2753),
    "k_EM": (0.03946, 0.02636, 0.05714),
    "d_M": (1.002e-05, -math.inf, math.inf),
    "K_Ag": (5201.0, 1054.0, 57940.0),
}
_CRAUSTE = (
    "fitted to Crauste et al., Cell Systems 2017;4:306, doi:10.1016/j.cels.2017.01.014 (and the "
    "LCMV targets of Blattman et al. 2002, PMID 11877489) by scripts/fit_cd8_crauste.py"
)


def _fit_source(name: str) -> str:
    value, lo, hi = CD8_FIT[name]
    if lo is None or hi is None:
        return f"{_CRAUSTE}: {value:.4g} (profile-likelihood interval not computed)"
    lo_s = "open (search bound)" if math.isinf(lo) else f"{lo:.4g}"
    hi_s = "open (search bound)" if math.isinf(hi) else f"{hi:.4g}"
    return f"{_CRAUSTE}: {value:.4g}, 95 % profile-likelihood interval [{lo_s}, {hi_s}]"


@dataclass(frozen=True)
class CD8Names:
    """The CD8 T-cell species :func:`add_cd8_response` created (cells)."""

    naive: str
    activated: str
    effector: str
    memory: str

    @property
    def all(self) -> tuple[str, str, str, str]:
        return (self.naive, self.activated, self.effector, self.memory)


def add_cd8_response(
    b: ModelBuilder,
    *,
    antigen: str,
    mdr1_function: str,
    params: CD8Parameters | None = None,
    tag: str = "cd8",
) -> CD8Names:
    """Naive, activated, effector and memory CD8 T cells driven by the ``antigen`` expression.

    ``mdr1_function`` names a parameter or species in [0, 1]. ``tag`` names the pool
    (species ``N_<tag>``, ``A_<tag>``, ``E_<tag>``, ``M_<tag>``) so that two epitope-specific
    pools (e.g. one per infection) can share the kinetic parameters. Returns the species names.
    """
    p = params or CD8Parameters()
    src = p.sources()
    for f in fields(p):
        if f.name not in ("precursors", "fitted") and not b.has(f.name):
            b.parameter(
                f.name,
                getattr(p, f.name),
                unit=_unit(f.name),
                source=src[f.name],
                domain=_cd8_domain(f.name),
            )
    naive, act, eff, mem = (f"{x}_{tag}" for x in "NAEM")
    suffix = "" if tag == "cd8" else f"_{tag}"  # reaction names stay as before for "cd8"
    b.species(
        naive,
        p.precursors,
        unit="cells",
        source=src["precursors"],
        description="naive epitope-specific CD8 T cells",
    )
    b.species(act, 0.0, unit="cells", description="newly activated CD8 T cells")
    b.species(eff, 0.0, unit="cells", description="effector CD8 T cells")
    b.species(mem, 0.0, unit="cells", description="memory CD8 T cells")
    stim = f"({antigen})/(({antigen}) + K_Ag)"
    b.reaction(
        f"activation{suffix}", f"k_act*{stim}*{naive}", reactants={naive: 1}, products={act: 1}
    )
    b.reaction(f"proliferation_A{suffix}", f"p_A*{stim}*{act}", products={act: 1})
    b.reaction(f"differentiation{suffix}", f"k_AE*{act}", reactants={act: 1}, products={eff: 1})
    b.reaction(f"death_A{suffix}", f"(d_A + d_ox*(1 - {mdr1_function}))*{act}", reactants={act: 1})
    b.reaction(f"proliferation_E{suffix}", f"p_E*{stim}*{eff}", products={eff: 1})
    b.reaction(f"contraction{suffix}", f"d_E*{eff}", reactants={eff: 1})
    b.reaction(f"memory_formation{suffix}", f"k_EM*{eff}", reactants={eff: 1}, products={mem: 1})
    b.reaction(
        f"memory_recall{suffix}", f"k_rec*{stim}*{mem}", reactants={mem: 1}, products={act: 1}
    )
    b.reaction(f"memory_loss{suffix}", f"d_M*{mem}", reactants={mem: 1})
    b.observable(f"{tag}_total", f"{naive} + {act} + {eff} + {mem}", unit="cells")
    b.observable(f"{tag}_antigen_experienced", f"{act} + {eff} + {mem}", unit="cells")
    return CD8Names(naive=naive, activated=act, effector=eff, memory=mem)


def _unit(name: str) -> str:
    return "pathogen units" if name == "K_Ag" else "1/d"


@dataclass(frozen=True)
class Pathogen:
    """A replicating pathogen cleared by activated and effector CD8 T cells.

    With ``target_limited`` the pathogen grows on a pool of target cells that infection
    depletes (the standard target-cell-limited virus model), so an acute infection resolves
    even when the T-cell response is weak; otherwise it grows logistically.
    """

    name: str
    growth_rate: float  # 1/d
    carrying_capacity: float  # pathogen units
    kill_rate: float  # 1/(cell·d)
    source: str
    target_limited: bool = False
    clearance: float = 0.0  # 1/d, non-CD8 (innate) clearance


#: LCMV-Armstrong-like acute infection: virus peaks around day 3-4 and is cleared by day ~8.
LCMV_ARMSTRONG = Pathogen(
    "virus",
    growth_rate=3.5,
    carrying_capacity=1e6,
    kill_rate=2e-7,
    target_limited=True,
    clearance=1.0,
    source="assumed: acute-infection kinetics (virus peak day 3-4, cleared by about day 8) "
    "chosen to resemble LCMV-Armstrong in C57BL/6 mice; no viral-load source was read, "
    "magnitudes are illustrative",
)

#: Listeria-like intracellular bacterium for a re-challenge that tests memory protection.
LISTERIA = Pathogen(
    "bacteria",
    growth_rate=2.0,
    carrying_capacity=1e9,
    kill_rate=5e-6,
    source="assumed: bacterial growth ~2/d in vivo and CD8-mediated clearance; illustrative",
)


def add_pathogen(
    b: ModelBuilder,
    pathogen: Pathogen,
    *,
    killers: str,
    initial: float = 0.0,
    extinction: bool = True,
) -> str:
    """Add a pathogen species growing logistically and killed by ``killers`` (an expression).

    ``extinction=False`` leaves out the extinction event (a load below 0.01 units set to 0):
    a fit needs a model whose states do not jump (the sensitivities of :mod:`mdrsim.fit`
    refuse state-changing events), and a decaying load below 0.01 units is no antigen anyway.
    """
    n = pathogen.name
    b.parameter(
        f"r_{n}",
        pathogen.growth_rate,
        unit="1/d",
        source=pathogen.source,
        domain=non_negative("a growth rate"),
    )
    b.parameter(
        f"K_{n}",
        pathogen.carrying_capacity,
        unit="pathogen units",
        source=pathogen.source,
        domain=positive("a carrying capacity (divides)"),
    )
    b.parameter(
        f"k_kill_{n}",
        pathogen.kill_rate,
        unit="1/(cell*d)",
        source=pathogen.source,
        domain=non_negative("a kill rate constant"),
    )
    b.species(n, initial, unit="pathogen units", description=f"{n} load")
    if pathogen.target_limited:
        # Target cells (fraction of the susceptible pool) are used up by infection.
        b.species(
            f"targets_{n}",
            1.0,
            unit="fraction",
            description=f"cells {n} can infect",
            domain=fraction("a fraction of the susceptible cells"),
        )
        b.reaction(f"growth_{n}", f"r_{n}*targets_{n}*{n}", products={n: 1})
        b.reaction(f"infection_{n}", f"r_{n}*targets_{n}*{n}/K_{n}", reactants={f"targets_{n}": 1})
    else:
        b.reaction(f"growth_{n}", f"r_{n}*{n}*(1 - {n}/K_{n})", products={n: 1})
    b.reaction(f"clearance_{n}", f"k_kill_{n}*({killers})*{n}", reactants={n: 1})
    if pathogen.clearance > 0:
        b.parameter(
            f"c_{n}",
            pathogen.clearance,
            unit="1/d",
            source=pathogen.source,
            domain=non_negative("a clearance rate"),
        )
        b.reaction(f"innate_clearance_{n}", f"c_{n}*{n}", reactants={n: 1})
    if not extinction:
        return n
    # A continuous load below one unit would otherwise regrow from nothing: below the
    # threshold the pathogen is extinct (a deterministic stand-in for stochastic extinction).
    b.parameter(
        f"extinct_{n}",
        1e-2,
        unit="pathogen units",
        source="assumed: extinction below 1/100 of one pathogen unit",
        domain=non_negative("a load threshold"),
    )
    b.event(f"extinction_{n}", f"{n} < extinct_{n}", {n: "0"})
    return n


#: Kuznetsov et al. 1994 (BCL1 lymphoma in mice), dimensionless parameters from the paper.
KUZNETSOV_1994 = {
    "sigma": 0.1181,
    "rho": 1.131,
    "eta": 20.19,
    "mu": 0.00311,
    "delta": 0.3743,
    "alpha": 1.636,
    "beta": 0.002,
}
_KUZNETSOV_SOURCE = (
    "Kuznetsov, Makalkin, Taylor & Perelson, Bull Math Biol 1994;56:295 (BIOMD0000000762)"
)


def kuznetsov_model(x0: float = 1.0, y0: float = 1.0) -> ModelBuilder:
    """The dimensionless Kuznetsov 1994 effector–tumour model with its published parameters."""
    b = ModelBuilder("kuznetsov_1994", description="effector cells x and tumour cells y")
    for name, value in KUZNETSOV_1994.items():
        b.parameter(name, value, source=_KUZNETSOV_SOURCE)
    b.parameter("x", x0, constant=False, description="effector cells (dimensionless)")
    b.parameter("y", y0, constant=False, description="tumour cells (dimensionless)")
    b.rate_rule("x", "sigma + rho*x*y/(eta + y) - mu*x*y - delta*x")
    b.rate_rule("y", "alpha*y*(1 - beta*y) - x*y")
    return b


def add_mdr1_function(
    b: ModelBuilder,
    *,
    cell: str,
    genotype_function: float = 1.0,
    inhibitor: str | None = None,
    inhibitor_ki: float | None = None,
    source: str = "",
) -> str:
    """MDR1 (P-gp) function of an immune cell population, as an expression name in [0, 1].

    ``genotype_function`` is 1 for wild type and 0 for MDR1-deficient cells; an inhibitor at
    concentration ``inhibitor`` (µM, a species or parameter) with potency ``inhibitor_ki``
    (µM, from the inhibitor library) leaves ``1/(1 + I/Ki)`` of the function.
    Returns the name of an observable-free parameter/rule variable holding the function.
    """
    name = f"mdr1_function_{cell}"
    b.parameter(
        f"mdr1_genotype_{cell}",
        genotype_function,
        unit="fraction",
        source=source or "1 wild type, 0 MDR1-deficient",
        domain=fraction("a fraction of wild-type P-gp function (1 wild type, 0 deficient)"),
    )
    b.parameter(
        name,
        genotype_function,
        constant=False,
        unit="fraction",
        description=f"P-gp function in {cell}",
        domain=fraction("a fraction of wild-type P-gp function"),
    )
    if inhibitor is None:
        b.assignment_rule(name, f"mdr1_genotype_{cell}")
    else:
        if inhibitor_ki is None or inhibitor_ki <= 0:
            raise InputValueError("inhibitor_ki", inhibitor_ki, "a positive number (µM)")
        b.parameter(
            f"Ki_{cell}_{inhibitor}",
            inhibitor_ki,
            unit="uM",
            source=source or "inhibitor library",
            domain=positive("an inhibition constant (divides)"),
        )
        b.assignment_rule(name, f"mdr1_genotype_{cell}/(1 + {inhibitor}/Ki_{cell}_{inhibitor})")
    return name


def add_chemo_toxicity(
    b: ModelBuilder,
    *,
    cells: tuple[str, ...],
    drug_plasma: str,
    mdr1_function: str,
    efflux_efficiency: float,
    emax: float,
    ec50: float,
    source: str,
    tag: str = "chemo",
) -> str:
    """Kill of lymphocytes by a chemotherapy drug, reduced by their own P-gp efflux.

    The free drug inside the cells follows the closed form of the P-gp cell model in its
    linear regime, ``C_in = C_plasma / (1 + f·E)`` (see mdrsim.biology.cell), where ``f`` is
    the cells' MDR1 function and ``E`` the drug's efflux efficiency in these cells: MDR1+
    lymphocytes survive chemotherapy because they efflux it (Alsuliman et al., Blood 2017), and
    an inhibitor removes that protection. Returns the intracellular-concentration observable.
    """
    b.parameter(
        f"E_{tag}_lymph",
        efflux_efficiency,
        unit="dimensionless",
        source=source,
        domain=non_negative("an efflux efficiency (0: not a P-gp substrate)"),
    )
    b.parameter(
        f"Emax_{tag}_lymph",
        emax,
        unit="1/d",
        source=source,
        domain=non_negative("a maximal kill rate"),
    )
    b.parameter(
        f"EC50_{tag}_lymph",
        ec50,
        unit="uM",
        source=source,
        domain=positive("a half-maximal concentration (divides)"),
    )
    c_in = f"{drug_plasma}/(1 + {mdr1_function}*E_{tag}_lymph)"
    obs = f"{tag}_in_lymphocytes"
    b.observable(obs, c_in, unit="uM", description="free drug inside P-gp+ lymphocytes")
    for cell in cells:
        b.reaction(
            f"{tag}_toxicity_{cell}",
            f"Emax_{tag}_lymph*({c_in})/(EC50_{tag}_lymph + {c_in})*{cell}",
            reactants={cell: 1},
        )
    return obs


def add_rhodamine_retention(
    b: ModelBuilder, *, mdr1_function: str, efflux_efficiency: float, source: str
) -> str:
    """Rhodamine-123 retention of circulating CD8/CD56 cells, as a fraction of the fully
    blocked level: ``1/(1 + f·E_rh123)`` — the clinical read-out of P-gp inhibition (Robey et
    al. 1999; Stewart et al., Clin Cancer Res 2000;6:4186)."""
    b.parameter(
        "E_rh123_lymph",
        efflux_efficiency,
        unit="dimensionless",
        source=source,
        domain=non_negative("an efflux efficiency"),
    )
    b.observable(
        "rh123_retention",
        f"1/(1 + {mdr1_function}*E_rh123_lymph)",
        unit="fraction",
        description="rhodamine-123 retained, relative to complete P-gp block",
    )
    return "rh123_retention"


def add_nk_cells(
    b: ModelBuilder, *, initial: float, source_rate: float, death_rate: float, source: str
) -> str:
    """A homeostatic NK-cell population (source and turnover); other modules add kill terms."""
    b.parameter(
        "s_NK", source_rate, unit="cells/d", source=source, domain=non_negative("a source rate")
    )
    b.parameter(
        "d_NK", death_rate, unit="1/d", source=source, domain=non_negative("a turnover rate")
    )
    b.species("NK", initial, unit="cells", description="NK cells")
    b.reaction("NK_source", "s_NK", products={"NK": 1})
    b.reaction("NK_turnover", "d_NK*NK", reactants={"NK": 1})
    return "NK"


def add_tumour_killing(
    b: ModelBuilder,
    *,
    tumour: str,
    effectors: str,
    form: str = "ratio",
    d_max: float = 1.0,
    exponent: float = 1.0,
    half_ratio: float = 1.0,
    k: float = 1e-7,
    antigen: str | None = None,
    antigen_per_cell: float = 0.0,
    inactivation: float = 0.0,
    effector_species: str | None = None,
    source: str = "",
) -> None:
    """CD8 killing of tumour cells, ratio-dependent or mass action, with its side effects.

    ``form="ratio"``: de Pillis, Gu & Radunskaya, J Theor Biol 2006;238:841:
    ``D = d·(L/T)^l/(s + (L/T)^l)``, kill ``D·T`` (``d_max``, ``exponent``, ``half_ratio`` are
    the paper's d, l, s). ``form="mass_action"``: Kuznetsov et al.
    1994: kill ``k·L·T``. Dying tumour cells release ``antigen_per_cell`` units of ``antigen``;
    tumour-induced inactivation removes effectors at ``inactivation·L·T``.
    """
    if form == "ratio":
        for name, value in (("d_kill", d_max), ("l_kill", exponent), ("s_kill", half_ratio)):
            if not b.has(name):
                b.parameter(name, value, source=source or "de Pillis, Gu & Radunskaya 2006")
        ratio = f"(({effectors})/max({tumour}, 1e-12))"
        rate = f"d_kill*{ratio}^l_kill/(s_kill + {ratio}^l_kill)*{tumour}"
    elif form == "mass_action":
        if not b.has("k_kill_tumour"):
            b.parameter(
                "k_kill_tumour",
                k,
                unit="1/(cell*d)",
                source=source or "Kuznetsov et al. 1994 (mass action)",
            )
        rate = f"k_kill_tumour*({effectors})*{tumour}"
    else:
        raise InputValueError("form", form, "'ratio' (de Pillis 2006) or 'mass_action'")
    products = {}
    if antigen is not None and antigen_per_cell > 0:
        b.parameter("antigen_per_dead_cell", antigen_per_cell, source=source or "assumed")
        products[antigen] = antigen_per_cell
    b.reaction(f"immune_kill_{tumour}", rate, reactants={tumour: 1}, products=products)
    if inactivation > 0 and effector_species is not None:
        b.parameter(
            "k_inactivation_by_tumour", inactivation, unit="1/(cell*d)", source=source or "assumed"
        )
        b.reaction(
            f"inactivation_{effector_species}",
            f"k_inactivation_by_tumour*{effector_species}*{tumour}",
            reactants={effector_species: 1},
        )
