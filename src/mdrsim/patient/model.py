"""The whole patient as one model: drug PK with the P-gp DDI, the tumour's MDR1 clones, CD8 T
cells exposed to chemotherapy and inhibitor, the marrow, and acute infections.

Every piece is a biology module (mdrsim.biology); this file only wires them together:

- PK of every drug of every line (``{drug}_plasma_uM``), clearance partly blocked by the
  inhibitor (``inhibitor_conc``, µM, switched by the regimen's inhibitor courses);
- tumour clones ``T_<level>`` killed by each drug from their own intracellular level, which is
  exposed as ``{drug}_intracellular_{level}_uM``;
- a pathogen-specific CD8 pool (``N/A/E/M_cd8``) whose early survival needs MDR1 (function
  ``mdr1_function_cd8``: genotype × inhibitor block) and that clears the infections;
- a tumour-specific CTL pool ``CTL_tumour`` at homeostasis killing tumour cells (immune
  surveillance, de Pillis et al. 2006 in its simplest saturating form);
- chemotherapy toxicity to every T-cell pool, reduced by the cells' own P-gp efflux
  (Alsuliman et al., Blood 2017) — so an inhibitor given with chemotherapy removes it;
- one Friberg neutrophil chain driven by every drug (``ANC``, 1e9/L).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mdrsim.biology.immune import (
    LCMV_ARMSTRONG,
    LISTERIA,
    CD8Parameters,
    add_cd8_response,
    add_chemo_toxicity,
    add_mdr1_function,
    add_pathogen,
)
from mdrsim.biology.marrow import FRIBERG_DOCETAXEL, add_marrow
from mdrsim.biology.pk import PKParameters, add_pk
from mdrsim.biology.tumour import TumourSpec, add_tumour
from mdrsim.data.library import load_library
from mdrsim.engine import CompiledModel, compile_model
from mdrsim.patient.scenario import PatientInput, Scenario, TumourInput
from mdrsim.model import Model, ModelBuilder
from mdrsim.regimen.lines import INHIBITOR_PARAM, drug_kill, pk_from_library
from mdrsim.regimen.schedule import Patient

PATHOGENS = {"virus": LCMV_ARMSTRONG, "bacteria": LISTERIA}

#: P-gp density of CD8 T cells relative to the MDR1-high tumour clone (its efflux efficiency
#: for a drug is this times the drug's library efficiency).
LYMPHOCYTE_PGP = 0.3
_LYMPH_SOURCE = (
    "assumed: CTLs express P-gp constitutively (Chen et al., J Exp Med 2020) at about a third "
    "of an MDR1-selected tumour line; lymphocytes as sensitive to the drug as the parental "
    "tumour cells (EC50 from the library's parental IC50), at most 0.5/d killed"
)
_CTL_SOURCE = (
    "assumed: a small homeostatic tumour-specific CTL pool (turnover ~0.05/d) that slows "
    "tumour growth by ~0.005/d when intact — immune surveillance well below the growth rate, "
    "as tumours that reach the clinic have escaped most of it"
)


@dataclass
class PatientModel:
    """The compiled whole-patient model and what the runner needs to know about it."""

    compiled: CompiledModel
    scenario: Scenario
    drugs: tuple[str, ...]
    pk: dict[str, PKParameters]
    clones: list[str]
    inhibitor: str | None
    pathogens: tuple[str, ...]
    drugs_without_marrow_data: tuple[str, ...]
    reference_bsa: float
    reference_weight: float
    top_level: str = "mdr1_high"  # name of the highest MDR1 level of the tumour spec

    @property
    def model(self) -> Model:
        return self.compiled.model

    @property
    def high_clones(self) -> list[str]:
        """The clones at the highest MDR1 level (with and without a non-P-gp trait)."""
        top = f"T_{self.top_level}"
        return [c for c in self.clones if c == top or c == f"{top}_trait"]


#: Half-life used when the library has none for an inhibitor: short, so that the plasma level
#: follows the course (held at its level, gone soon after).
_FAST_T_HALF_H = 1.0


def inhibitor_half_life_h(inhibitor: str) -> tuple[float, str]:
    """The inhibitor's elimination half-life (h) and its source."""
    pk = load_library().inhibitor(inhibitor).pk
    t_half = None if pk is None else pk.t_half
    if t_half is None:
        return _FAST_T_HALF_H, (
            "assumed: no half-life in the inhibitor library; 1 h makes the plasma level follow "
            "the course (held during it, gone within hours after)"
        )
    return float(t_half.to("h")), t_half.source


def add_inhibitor_pk(b: ModelBuilder, inhibitor: str) -> None:
    """Plasma inhibitor (µM) as a one-compartment state: each course sets it to its level and
    holds it there with a maintenance infusion (loading dose + infusion, as valspodar and
    ciclosporin were given), then it decays with the library half-life — tariquidar's ~24 h
    keeps P-gp blocked for days after a single course (Stewart et al., Clin Cancer Res
    2000;6:4186), in tumour cells and in T cells alike."""
    t_half, source = inhibitor_half_life_h(inhibitor)
    b.parameter(
        "k_el_inhibitor", math.log(2) * 24.0 / t_half, unit="1/d", source=f"{inhibitor}: {source}"
    )
    b.species(INHIBITOR_PARAM, 0.0, unit="uM", description=f"{inhibitor} in plasma")
    b.reaction(
        "inhibitor_elimination",
        f"k_el_inhibitor*{INHIBITOR_PARAM}",
        reactants={INHIBITOR_PARAM: 1},
    )


def tumour_spec(tumour: TumourInput) -> TumourSpec:
    """The tumour module's spec for a scenario's tumour (parental, MDR1-low, MDR1-high)."""
    high, low = tumour.mdr1_high_fraction, tumour.mdr1_low_fraction
    return TumourSpec(
        growth=tumour.growth,
        r=tumour.growth_rate_per_day,
        K=tumour.carrying_capacity_1e9,
        cost=tumour.mdr1_fitness_cost,
        mu_up=tumour.switching_per_division,
        mu_down=tumour.switching_per_division,
        induction=tumour.induction_per_uM_day,
        reversion=tumour.reversion_per_day,
        initial_total=tumour.cells_1e9,
        initial_fractions=(1.0 - high - low, low, high),
        sources={
            "r": "scenario file (default 0.003/d assumed: Gompertz doubling ~2 months at "
            "1e10 cells under a 1e12 plateau, a slowly growing solid tumour)",
            "K": "scenario file (default 1e12 cells assumed: plateau of a lethal tumour burden)",
            "induction": "scenario file (default 0: no drug-induced MDR1 unless asked for)",
            "reversion": "scenario file (default 0: MDR1 over-expression kept unless asked for)",
        },
    )


def build_patient_model(scenario: Scenario) -> PatientModel:
    """Assemble and compile the whole-patient model for ``scenario`` (cached on disk by
    structure: patients differing only in numbers share one compiled model)."""
    lib = load_library()
    patient_in: PatientInput = scenario.patient
    patient = Patient(bsa_m2=patient_in.body_surface_area(), weight_kg=patient_in.weight_kg)
    inhibitor = scenario.inhibitor
    ki = float(lib.inhibitor(inhibitor).ki.value) if inhibitor else None
    b = ModelBuilder("patient", description=f"whole-patient model for scenario {scenario.name!r}")
    if inhibitor is None:
        b.parameter(INHIBITOR_PARAM, 0.0, unit="uM", source="no inhibitor in this scenario")
    else:
        add_inhibitor_pk(b, inhibitor)
    pks: dict[str, PKParameters] = {}
    exposures: dict[str, str] = {}
    for drug in scenario.drugs:
        pk = pk_from_library(drug, patient)
        pks[drug] = pk
        lib_pk = lib.drug(drug).pk
        frac = lib_pk.pgp_dependent_clearance_fraction if lib_pk is not None else None
        exposures[drug] = add_pk(
            b,
            drug,
            pk,
            pgp_clearance_fraction=float(frac.value) if frac else 0.0,
            inhibitor=INHIBITOR_PARAM if inhibitor else None,
            inhibitor_ic50=ki,
        )
    spec = tumour_spec(patient_in.tumour)
    kills = tuple(drug_kill(d) for d in scenario.drugs)
    clones = add_tumour(
        b, spec, kills, inhibitor=INHIBITOR_PARAM if inhibitor else None, inhibitor_ki=ki
    )
    phi = f"1/(1 + {INHIBITOR_PARAM}/tum_Ki_inhibitor)" if inhibitor else "1"
    for (level, _), clone in zip(spec.levels, clones, strict=True):
        for k in kills:
            b.observable(
                f"{k.name}_intracellular_{level}_uM",
                f"{k.plasma_uM}/(1 + rho_{level}*({phi})*E_{k.name})",
                unit="uM",
                description=f"free {k.name} inside {clone} cells",
            )

    # T cells: MDR1 function from genotype and inhibitor.
    genotype = 1.0 if patient_in.immune.cd8_mdr1 == "wild_type" else 0.0
    f_cd8 = add_mdr1_function(
        b,
        cell="cd8",
        genotype_function=genotype,
        inhibitor=INHIBITOR_PARAM if inhibitor else None,
        inhibitor_ki=ki,
        source=f"{inhibitor or 'no inhibitor'}; genotype from the scenario",
    )
    pathogens = tuple(sorted({inf.pathogen for inf in scenario.infections}))
    antigen = " + ".join(pathogens) or "0"
    cd8 = add_cd8_response(
        b,
        antigen=antigen,
        mdr1_function=f_cd8,
        params=CD8Parameters(precursors=patient_in.immune.precursors),
    )
    for name in pathogens:
        add_pathogen(b, PATHOGENS[name], killers=f"{cd8['activated']} + {cd8['effector']}")

    ctl0 = 1e6 * patient_in.immune.tumour_ctl_fraction
    b.parameter("ctl_turnover", 0.05, unit="1/d", source=_CTL_SOURCE)
    b.parameter("ctl_source", 0.05 * ctl0, unit="cells/d", source=_CTL_SOURCE)
    b.parameter("ctl_kill_max", 0.01, unit="1/d", source=_CTL_SOURCE)
    b.parameter("ctl_half", 1e6, unit="cells", source=_CTL_SOURCE)
    b.species("CTL_tumour", ctl0, unit="cells", description="tumour-specific CTLs")
    b.reaction("ctl_production", "ctl_source", products={"CTL_tumour": 1})
    b.reaction("ctl_death", "ctl_turnover*CTL_tumour", reactants={"CTL_tumour": 1})
    for clone in clones:
        b.reaction(
            f"ctl_kill_{clone}",
            f"ctl_kill_max*CTL_tumour/(CTL_tumour + ctl_half)*{clone}",
            reactants={clone: 1},
        )

    t_cells = (*cd8.values(), "CTL_tumour")
    for k in kills:
        add_chemo_toxicity(
            b,
            cells=t_cells,
            drug_plasma=k.plasma_uM,
            mdr1_function=f_cd8,
            efflux_efficiency=LYMPHOCYTE_PGP * k.efflux_efficiency,
            emax=min(k.emax, 0.5),
            ec50=k.ec50,
            source=_LYMPH_SOURCE,
            tag=k.name,
        )

    marrow = patient_in.marrow
    system = FRIBERG_DOCETAXEL
    if marrow.baseline_anc != system.circ0:
        from dataclasses import replace

        system = replace(system, circ0=marrow.baseline_anc, source=system.source)
    circ, missing = add_marrow(b, exposures, system=system)
    b.observable("ANC", circ, unit="1e9/L", description="absolute neutrophil count")
    return PatientModel(
        compiled=compile_model(b.build()),
        scenario=scenario,
        drugs=scenario.drugs,
        pk=pks,
        clones=clones,
        inhibitor=inhibitor,
        pathogens=pathogens,
        drugs_without_marrow_data=tuple(missing),
        reference_bsa=patient.bsa_m2,
        reference_weight=patient.weight_kg,
        top_level=spec.levels[-1][0],
    )
