"""Myelosuppression: the Friberg semi-mechanistic model of neutrophils.

Friberg LE, Henningsson A, Maas H, Nguyen L, Karlsson MO. J Clin Oncol 2002;20:4713-4721:

```
dProl/dt   = k_prol·Prol·(1 − E_drug)·(Circ0/Circ)^γ − k_tr·Prol
dTransit_i = k_tr·(previous − Transit_i)            i = 1..3
dCirc/dt   = k_tr·Transit3 − k_circ·Circ
k_prol = k_tr = k_circ = 4/MTT,   E_drug = slope·C_plasma (µM)
```

Neutrophil counts in 1e9/L. Grades of neutropenia (CTCAE): grade 3 ANC < 1.0, grade 4 < 0.5.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from mdrsim.model import ModelBuilder
from mdrsim.model.domain import fraction, non_negative, positive


@dataclass(frozen=True)
class FribergParameters:
    circ0: float  # 1e9/L
    mtt_h: float  # mean transit time, h
    gamma: float  # feedback exponent
    slope: float  # 1/µM (linear drug effect)
    source: str


#: Docetaxel (Friberg 2002, as quoted in docs/science_notes.md §5).
_FRIBERG_DOCETAXEL_SOURCE = (
    "Friberg et al. J Clin Oncol 2002;20:4713, doi:10.1200/JCO.2002.02.140, PMID 12488418 "
    "(docetaxel values as quoted in docs/science_notes.md; not found in the stored text, verify)"
)
FRIBERG_DOCETAXEL = FribergParameters(5.05, 88.7, 0.161, 8.58, _FRIBERG_DOCETAXEL_SOURCE)
#: Paclitaxel (Friberg 2002, leukocyte fit of DDMORE DDMODEL00000186): Circ0 7.21 (leukocytes),
#: MTT 124 h, γ 0.239, slope 28.9 L/µmol on UNBOUND paclitaxel (see drugs.yaml).
FRIBERG_PACLITAXEL = FribergParameters(
    7.21,
    124.0,
    0.239,
    28.9,
    "Friberg et al. J Clin Oncol 2002;20:4713, doi:10.1200/JCO.2002.02.140, PMID 12488418 "
    "(DDMODEL00000186)",
)


def add_friberg(b: ModelBuilder, p: FribergParameters, *, drug_uM: str, tag: str = "neut") -> str:
    """Add the Friberg chain driven by the plasma concentration expression ``drug_uM``.

    Returns the circulating-neutrophil species (1e9/L)."""
    names = [f"{tag}_prol", f"{tag}_transit1", f"{tag}_transit2", f"{tag}_transit3", f"{tag}_circ"]
    b.parameter(
        f"{tag}_circ0",
        p.circ0,
        unit="1e9/L",
        source=p.source,
        domain=positive("a baseline neutrophil count (the feedback divides by the count)"),
    )
    b.parameter(
        f"{tag}_mtt",
        p.mtt_h,
        unit="h",
        source=p.source,
        domain=positive("a mean transit time (the rate constants divide by it)"),
    )
    b.parameter(
        f"{tag}_gamma",
        p.gamma,
        unit="dimensionless",
        source=p.source,
        domain=non_negative("the feedback exponent (0: no feedback)"),
    )
    b.parameter(
        f"{tag}_slope",
        p.slope,
        unit="1/uM",
        source=p.source,
        domain=non_negative("a drug-effect slope (0: no effect)"),
    )
    for n in names:
        b.species(n, p.circ0, unit="1e9/L")
    k = f"(4*24/{tag}_mtt)"  # 1/d
    prol, t1, t2, t3, circ = names
    effect = f"(1 - {tag}_slope*({drug_uM}))"
    feedback = f"({tag}_circ0/{circ})^{tag}_gamma"
    b.reaction(f"{tag}_proliferation", f"{k}*{prol}*{effect}*{feedback}", products={prol: 1})
    chain = [prol, t1, t2, t3, circ]
    for a, c in itertools.pairwise(chain):
        b.reaction(f"{tag}_maturation_{a}", f"{k}*{a}", reactants={a: 1}, products={c: 1})
    b.reaction(f"{tag}_removal", f"{k}*{circ}", reactants={circ: 1})
    return circ


def neutropenia_grade(anc: float) -> int:
    """CTCAE grade of an absolute neutrophil count (1e9/L): 0–4."""
    if anc >= 2.0:
        return 0
    if anc >= 1.5:
        return 1
    if anc >= 1.0:
        return 2
    if anc >= 0.5:
        return 3
    return 4


def nadir(times: np.ndarray, anc: np.ndarray) -> tuple[float, float]:
    """(time of nadir, nadir ANC)."""
    i = int(np.argmin(anc))
    return float(times[i]), float(anc[i])


@dataclass(frozen=True)
class MarrowSlope:
    """Linear drug effect on marrow proliferation (1/µM) for one drug, with its source.

    ``fraction_unbound`` < 1 makes the slope act on unbound drug (``slope·fu·C_total``), as
    for a fit to unbound concentrations."""

    slope: float
    source: str
    fraction_unbound: float = 1.0


#: Drug-specific slopes. Friberg et al. 2002 found the system parameters (MTT, γ, Circ0)
#: similar across drugs and the drug effect specific, so mdrsim uses the docetaxel system
#: parameters for every drug and one slope per drug. Docetaxel and paclitaxel are the paper's;
#: the others are assumed, chosen with the shared chain so that the standard single-agent dose
#: gives the nadir grade typical of the drug (reason given per drug).
MARROW_SLOPES: dict[str, MarrowSlope] = {
    "docetaxel": MarrowSlope(8.58, _FRIBERG_DOCETAXEL_SOURCE),
    # Paclitaxel's own fit (its system parameters and an unbound-drug slope) is read from the
    # drug library (drugs.yaml myelosuppression) by the patient model; see
    # mdrsim.patient.model.marrow_from_library.
    # research/calibrate_marrow_slopes.py finds each value below (BSA 1.8 m², library PK).
    "doxorubicin": MarrowSlope(
        14.42,
        "assumed: calibrated so that 75 mg/m2 gives an ANC nadir of 0.8e9/L (grade 3); "
        "neutropenia is doxorubicin's dose-limiting toxicity",
    ),
    "cisplatin": MarrowSlope(
        1.245,
        "assumed: calibrated so that 75 mg/m2 gives a nadir of 2.5e9/L; cisplatin alone is "
        "only mildly myelosuppressive",
    ),
    "etoposide": MarrowSlope(
        0.09829,
        "assumed: calibrated so that 100 mg/m2 on days 1-3 gives a nadir of 1.5e9/L (grade 2)",
    ),
    "vincristine": MarrowSlope(
        9.605,
        "assumed: calibrated so that 1.4 mg/m2 lowers ANC by only ~10 % (nadir 4.5e9/L); "
        "vincristine is not myelosuppressive at standard doses",
    ),
}


def add_marrow(
    b: ModelBuilder,
    exposures: dict[str, str],
    *,
    slopes: dict[str, MarrowSlope] | None = None,
    system: FribergParameters = FRIBERG_DOCETAXEL,
    tag: str = "neut",
) -> tuple[str, list[str]]:
    """One Friberg chain driven by every drug: ``E = Σ_d slope_d·C_d`` (µM in plasma).

    ``exposures`` maps drug → plasma µM expression. Drugs without a slope have no marrow
    effect and are returned in the second element so the caller can report them.
    Returns (circulating-neutrophil species, drugs without marrow data)."""
    table = MARROW_SLOPES if slopes is None else slopes
    terms, missing = [], []
    for drug, conc in exposures.items():
        if drug not in table:
            missing.append(drug)
            continue
        entry = table[drug]
        b.parameter(
            f"marrow_slope_{drug}",
            entry.slope,
            unit="1/uM",
            source=entry.source,
            domain=non_negative("a drug-effect slope (0: no marrow effect)"),
        )
        if entry.fraction_unbound != 1.0:
            b.parameter(
                f"marrow_fu_{drug}",
                entry.fraction_unbound,
                unit="fraction",
                source=f"{entry.source}: the slope acts on unbound drug",
                domain=fraction("the unbound fraction of plasma drug"),
            )
            terms.append(f"marrow_slope_{drug}*marrow_fu_{drug}*({conc})")
        else:
            terms.append(f"marrow_slope_{drug}*({conc})")
    unit_slope = FribergParameters(
        system.circ0,
        system.mtt_h,
        system.gamma,
        1.0,
        f"{system.source} (system parameters; drug slopes in marrow_slope_<drug>)",
    )
    circ = add_friberg(b, unit_slope, drug_uM=" + ".join(terms) or "0", tag=tag)
    return circ, missing
