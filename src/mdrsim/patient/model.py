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

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from mdrsim.biology.immune import (
    LCMV_ARMSTRONG,
    LISTERIA,
    CD8Names,
    CD8Parameters,
    add_cd8_response,
    add_chemo_toxicity,
    add_mdr1_function,
    add_pathogen,
)
from mdrsim.biology.marrow import (
    FRIBERG_DOCETAXEL,
    MARROW_SLOPES,
    FribergParameters,
    MarrowSlope,
    add_marrow,
)
from mdrsim.biology.pk import PKNames, PKParameters, add_pk
from mdrsim.biology.tumour import TumourNames, TumourSpec, add_tumour
from mdrsim.engine import CompiledModel, compile_model
from mdrsim.errors import MdrsimError, UserSuppliedValueError
from mdrsim.model import Model, ModelBuilder
from mdrsim.model.domain import non_negative, positive
from mdrsim.patient.library_bridge import (
    INHIBITOR_SPECIES,
    Interaction,
    add_inhibitor_pk,
    drug_kill,
    inhibitor_ki,
    interaction,
    label_dose_exceedances,
    library_gaps,
    pgp_clearance_fraction,
    pk_from_library,
)
from mdrsim.patient.scenario import PatientInput, Scenario, ScenarioError, TumourInput
from mdrsim.regimen.schedule import Patient

if TYPE_CHECKING:
    from mdrsim.data.library import Library

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


@dataclass(frozen=True)
class PatientVariables:
    """Every name of the whole-patient model that a consumer reads or writes, as the biology
    modules created them: use these, never a spelled-out ``"neut_circ"``."""

    pk: dict[str, PKNames]  # drug -> its PK names (doses go to ``central``)
    tumour: TumourNames
    cd8: CD8Names  # the pathogen-specific CD8 pool
    ctl_tumour: str  # species: tumour-specific CTLs (cells)
    pathogens: dict[str, str]  # scenario pathogen -> its species
    neutrophils: str  # species: circulating neutrophils (1e9/L), what dose rules read
    anc: str  # observable: absolute neutrophil count (1e9/L)
    inhibitor: str  # plasma inhibitor (µM): a species with an inhibitor, else a parameter
    inhibitor_elimination: str | None  # parameter: its elimination rate (1/d); None: none
    intracellular: dict[tuple[str, str], str]  # (drug, MDR1 level) -> free µM inside


@dataclass
class PatientModel:
    """The compiled whole-patient model and what the runner needs to know about it."""

    compiled: CompiledModel
    scenario: Scenario
    variables: PatientVariables
    drugs: tuple[str, ...]
    pk: dict[str, PKParameters]
    inhibitor: str | None
    pathogens: tuple[str, ...]
    drugs_without_marrow_data: tuple[str, ...]
    reference_bsa: float
    reference_weight: float
    library: Library  # the library it was built from (the runner's inhibitor levels too)
    #: (inhibitor, drug) clearance interactions used, each measured or a mechanistic rule.
    interactions: tuple[Interaction, ...] = ()
    #: Doses above the label that the scenario allowed (``allow_above_label_dose``).
    warnings: tuple[str, ...] = ()
    #: Where the marrow chain's system parameters (MTT, γ) come from.
    marrow_system_source: str = ""
    #: The MDR1-high clone's P-gp when the scenario sets it (``mdr1_high_pgp``): density,
    #: source, and the user's values if they are user-supplied; None for the default (1).
    tumour_pgp: dict[str, object] | None = None

    @property
    def model(self) -> Model:
        return self.compiled.model

    @property
    def clones(self) -> list[str]:
        return list(self.variables.tumour.clones)

    @property
    def high_clones(self) -> list[str]:
        """The clones at the highest MDR1 level (with and without a non-P-gp trait)."""
        return list(self.variables.tumour.high_clones)


#: The MDR1-low clone's P-gp density as a fraction of the MDR1-high clone's (the default
#: levels of :class:`~mdrsim.biology.tumour.TumourSpec`: 0.3 and 1).
MDR1_LOW_RATIO = 0.3


def mdr1_high_pgp(
    tumour: TumourInput, library: Library | None = None
) -> tuple[float, dict[str, object]] | None:
    """The MDR1-high clone's P-gp density and its record (value, source, user-supplied values)
    when the scenario sets ``patient.tumour.mdr1_high_pgp``; None for the default (1).

    Raises :class:`~mdrsim.patient.scenario.ScenarioError` naming the field when the line or
    the user's values cannot be used."""
    spec = tumour.mdr1_high_pgp
    if spec is None:
        return None
    from mdrsim.data.library import load_library
    from mdrsim.experiments.pharmacology import UserResistance, pgp_density_record

    lib = library if library is not None else load_library()
    where = "patient.tumour.mdr1_high_pgp"
    try:
        user = None
        if spec.fold is not None:
            ((drug, fold),) = spec.fold.items()
            user = UserResistance(
                fold_drug=drug, fold=fold, labels=(f"{where}.fold", f"{where}.pgp_density")
            )
        elif spec.pgp_density is not None:
            user = UserResistance(
                pgp_density=spec.pgp_density, labels=(f"{where}.fold", f"{where}.pgp_density")
            )
        if spec.cell_line is None:
            assert user is not None
            record_value, source = float(user.pgp_density or 0.0), user.describe()
        else:
            record = pgp_density_record(spec.cell_line, library=lib, user=user)
            record_value, source = record.value, f"{spec.cell_line}: {record.source}"
    except UserSuppliedValueError as exc:  # names its own field (the labels above)
        raise ScenarioError(where, [str(exc)]) from None
    except MdrsimError as exc:
        raise ScenarioError(where, [f"{where}: {exc}"]) from None
    return record_value, {
        "pgp_density": record_value,
        "source": source,
        "cell_line": spec.cell_line,
        "user_supplied": user.as_dict() if user is not None else None,
    }


def tumour_spec(tumour: TumourInput, library: Library | None = None) -> TumourSpec:
    """The tumour module's spec for a scenario's tumour (parental, MDR1-low, MDR1-high)."""
    high, low = tumour.mdr1_high_fraction, tumour.mdr1_low_fraction
    spec = TumourSpec(
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
    pgp = mdr1_high_pgp(tumour, library)
    if pgp is None:
        return spec
    density, record = pgp
    return replace(
        spec,
        levels=(
            ("parental", 0.0),
            ("mdr1_low", MDR1_LOW_RATIO * density),
            ("mdr1_high", density),
        ),
        sources={**spec.sources, "mdr1_high_density": str(record["source"])},
    )


def marrow_from_library(
    drugs: tuple[str, ...], library: Library
) -> tuple[FribergParameters, dict[str, MarrowSlope]]:
    """The Friberg system parameters and per-drug slopes for ``drugs``.

    A drug with its own Friberg fit in the library (``myelosuppression``) contributes its
    slope — on unbound drug, ``fu = 1 − protein_binding``, where the fit was to unbound
    concentrations. The chain's system parameters (MTT, γ) are those of the first such drug,
    so a drug is simulated with the system it was fitted with; with none, docetaxel's (and
    the other drugs' calibrated slopes, :data:`~mdrsim.biology.marrow.MARROW_SLOPES`, were set
    on docetaxel's system — recorded as the system's source)."""
    slopes = dict(MARROW_SLOPES)
    system = FRIBERG_DOCETAXEL
    chosen = False
    for drug in drugs:
        d = library.drug(drug)
        ms = d.myelosuppression
        if ms is None:
            continue
        fu = 1.0
        if ms.exposure == "unbound" and ms.fraction_unbound is not None:
            fu = float(ms.fraction_unbound.value)
        elif ms.exposure == "unbound":
            binding = d.pk.protein_binding if d.pk is not None else None
            if binding is None:
                raise ScenarioError(
                    f"drug library: {drug}",
                    ["myelosuppression.exposure is 'unbound' but pk.protein_binding is missing"],
                )
            fu = 1.0 - float(binding.value)
        slopes[drug] = MarrowSlope(
            float(ms.slope.value),
            f"{ms.slope.source}"
            + (f"; on unbound drug ({ms.exposure_source})" if ms.exposure == "unbound" else ""),
            fraction_unbound=fu,
        )
        if not chosen:
            chosen = True
            system = FribergParameters(
                float(ms.circ0.value),
                float(ms.mtt.to("h")),
                float(ms.gamma.value),
                1.0,
                f"{drug}: {ms.mtt.source}"
                + (
                    " (a leukocyte fit applied to neutrophils - assumed)"
                    if ms.cells == "leukocytes"
                    else ""
                ),
            )
    return system, slopes


def build_patient_model(scenario: Scenario, library: Library) -> PatientModel:
    """Assemble and compile the whole-patient model for ``scenario`` from ``library`` (cached
    on disk by structure: patients differing only in numbers share one compiled model).

    Raises :class:`~mdrsim.patient.scenario.ScenarioError` listing every number the library
    lacks for the scenario's drugs (the check :func:`parse_scenario` makes, repeated here
    because a scenario may have been validated against another library)."""
    gaps = library_gaps(scenario.lines, library)
    if gaps:
        raise ScenarioError(f"{scenario.name!r}", gaps)
    patient_in: PatientInput = scenario.patient
    patient = Patient(bsa_m2=patient_in.body_surface_area(), weight_kg=patient_in.weight_kg)
    # Refusal is parse_scenario's (and the trial arms' check): a trial builds one model from
    # every arm's lines, whose doses do not add up for any one patient. Here the exceedances a
    # scenario allowed become warnings.
    above_label = (
        label_dose_exceedances(scenario.lines, patient, library)
        if scenario.allow_above_label_dose
        else []
    )
    inhibitor = scenario.inhibitor
    ki = inhibitor_ki(inhibitor, library) if inhibitor else None
    b = ModelBuilder("patient", description=f"whole-patient model for scenario {scenario.name!r}")
    k_el: str | None = None
    if inhibitor is None:
        b.parameter(
            INHIBITOR_SPECIES,
            0.0,
            unit="uM",
            source="no inhibitor in this scenario",
            domain=non_negative("a concentration"),
        )
        inh = INHIBITOR_SPECIES
    else:
        inh, k_el = add_inhibitor_pk(b, inhibitor, library)
    inh_arg = inh if inhibitor else None
    pks: dict[str, PKParameters] = {}
    pk_names: dict[str, PKNames] = {}
    interactions: list[Interaction] = []
    for drug in scenario.drugs:
        pk = pk_from_library(drug, patient, library)
        pks[drug] = pk
        if inhibitor is not None:
            ddi = interaction(inhibitor, drug, library)
            interactions.append(ddi)
            blocked, ddi_source = ddi.blocked_fraction, ddi.label
        else:
            blocked = pgp_clearance_fraction(drug, library)
            ddi_source = "no inhibitor in this scenario"
        pk_names[drug] = add_pk(
            b,
            drug,
            pk,
            pgp_clearance_fraction=blocked,
            inhibitor=inh_arg,
            inhibitor_ic50=ki,
            interaction_source=ddi_source,
        )
    spec = tumour_spec(patient_in.tumour, library)
    tumour_pgp = mdr1_high_pgp(patient_in.tumour, library)
    kills = tuple(drug_kill(d, library, pk_names[d].plasma_uM) for d in scenario.drugs)
    tumour = add_tumour(b, spec, kills, inhibitor=inh_arg, inhibitor_ki=ki)
    phi = f"1/(1 + {inh}/{tumour.inhibitor_ki})" if tumour.inhibitor_ki else "1"
    intracellular: dict[tuple[str, str], str] = {}
    for (level, _), clone in zip(spec.levels, tumour.clones, strict=True):
        for k in kills:
            name = f"{k.name}_intracellular_{level}_uM"
            b.observable(
                name,
                f"{k.plasma_uM}/(1 + {tumour.densities[level]}*({phi})*E_{k.name})",
                unit="uM",
                description=f"free {k.name} inside {clone} cells",
            )
            intracellular[(k.name, level)] = name

    # T cells: MDR1 function from genotype and inhibitor.
    genotype = 1.0 if patient_in.immune.cd8_mdr1 == "wild_type" else 0.0
    f_cd8 = add_mdr1_function(
        b,
        cell="cd8",
        genotype_function=genotype,
        inhibitor=inh_arg,
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
    pathogen_species: dict[str, str] = {
        name: add_pathogen(b, PATHOGENS[name], killers=f"{cd8.activated} + {cd8.effector}")
        for name in pathogens
    }

    ctl = "CTL_tumour"
    ctl0 = 1e6 * patient_in.immune.tumour_ctl_fraction
    rate = non_negative("a rate")
    b.parameter("ctl_turnover", 0.05, unit="1/d", source=_CTL_SOURCE, domain=rate)
    b.parameter("ctl_source", 0.05 * ctl0, unit="cells/d", source=_CTL_SOURCE, domain=rate)
    b.parameter("ctl_kill_max", 0.01, unit="1/d", source=_CTL_SOURCE, domain=rate)
    b.parameter(
        "ctl_half",
        1e6,
        unit="cells",
        source=_CTL_SOURCE,
        domain=positive("a half-saturation count (divides)"),
    )
    b.species(ctl, ctl0, unit="cells", description="tumour-specific CTLs")
    b.reaction("ctl_production", "ctl_source", products={ctl: 1})
    b.reaction("ctl_death", f"ctl_turnover*{ctl}", reactants={ctl: 1})
    for clone in tumour.clones:
        b.reaction(
            f"ctl_kill_{clone}",
            f"ctl_kill_max*{ctl}/({ctl} + ctl_half)*{clone}",
            reactants={clone: 1},
        )

    t_cells = (*cd8.all, ctl)
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
    system, slopes = marrow_from_library(scenario.drugs, library)
    # The chain starts at the patient's own ANC (the scenario's baseline).
    system = replace(system, circ0=marrow.baseline_anc, source=system.source)
    exposures = {drug: names.plasma_uM for drug, names in pk_names.items()}
    circ, missing = add_marrow(b, exposures, slopes=slopes, system=system)
    anc = "ANC"
    b.observable(anc, circ, unit="1e9/L", description="absolute neutrophil count")
    variables = PatientVariables(
        pk=pk_names,
        tumour=tumour,
        cd8=cd8,
        ctl_tumour=ctl,
        pathogens=pathogen_species,
        neutrophils=circ,
        anc=anc,
        inhibitor=inh,
        inhibitor_elimination=k_el,
        intracellular=intracellular,
    )
    return PatientModel(
        compiled=compile_model(b.build()),
        scenario=scenario,
        variables=variables,
        drugs=scenario.drugs,
        pk=pks,
        inhibitor=inhibitor,
        pathogens=pathogens,
        drugs_without_marrow_data=tuple(missing),
        reference_bsa=patient.bsa_m2,
        reference_weight=patient.weight_kg,
        library=library,
        interactions=tuple(interactions),
        warnings=tuple(
            f"{p} - run anyway: the scenario sets allow_above_label_dose" for p in above_label
        ),
        marrow_system_source=system.source,
        tumour_pgp=tumour_pgp[1] if tumour_pgp is not None else None,
    )
