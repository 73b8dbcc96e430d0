"""The library → patient-model bridge: what the patient model takes from the drug and inhibitor
library, and what it needs the library to have.

Every function takes the :class:`~mdrsim.data.library.Library` explicitly, so a scenario is
validated against and built from one and the same library (``run_scenario`` loads the packaged
one only when it is given none). :func:`library_gaps` lists, with the scenario field path of
each, every number a scenario's drugs and inhibitor lack for the patient model — so a scenario
naming a drug without PK is refused when it is read, not when the model is built.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mdrsim.biology.pk import PKParameters, two_compartment_from_half_lives
from mdrsim.biology.tumour import DrugKill
from mdrsim.errors import LibraryGapError
from mdrsim.model import ModelBuilder
from mdrsim.regimen.schedule import Patient, Regimen

if TYPE_CHECKING:
    from mdrsim.data.library import Library

#: Name of the plasma MDR1-inhibitor species (µM) of the patient model.
INHIBITOR_SPECIES = "inhibitor_conc"

#: Half-life used when the library has none for an inhibitor: short, so that the plasma level
#: follows the course (held at its level, gone soon after).
_FAST_T_HALF_H = 1.0

_TO_HOURS = {"min": 1 / 60, "h": 1.0, "d": 24.0}


# -- what the patient model needs -------------------------------------------------------------


def drug_gaps(drug: str, library: Library) -> list[str]:
    """What the patient model needs of ``drug`` and the library lacks (empty: nothing)."""
    d = library.drug(drug)
    gaps = []
    pk = d.pk
    if pk is None or pk.clearance is None:
        gaps.append("has no clearance in the library — add pk.clearance")
    elif not _has_volume(pk):
        gaps.append("has no volume of distribution in the library — add pk.Vss (or V1, Q2, V2)")
    if d.ic50_parental is None or d.ic50_parental.value is None:
        gaps.append(
            "has no parental IC50 in the library to calibrate its tumour kill — add ic50_parental"
        )
    return gaps


def usable_drugs(library: Library) -> list[str]:
    """The library's drugs that the patient model can use (no gaps)."""
    return [name for name in library.drugs if not drug_gaps(name, library)]


def library_gaps(lines: Sequence[Regimen], library: Library, *, prefix: str = "lines") -> list[str]:
    """Every gap of the library for ``lines``, each with its field path, e.g.
    ``lines[1].doses[0].drug: gemcitabine has no clearance in the library — add pk.clearance
    or choose one of doxorubicin, …``. Unknown names are left to :meth:`Regimen.check`."""
    from mdrsim.data.library import UnknownNameError

    problems: list[str] = []
    usable: list[str] | None = None
    for i, line in enumerate(lines):
        for j, dose in enumerate(line.doses):
            try:
                gaps = drug_gaps(dose.drug, library)
            except UnknownNameError:
                continue
            if gaps and usable is None:
                usable = usable_drugs(library)
            for gap in gaps:
                problems.append(
                    f"{prefix}[{i}].doses[{j}].drug: {dose.drug} {gap} "
                    f"or choose one of {', '.join(usable or [])}"
                )
    return problems


def _has_volume(pk: object) -> bool:
    if _num(pk, "Vss") is not None:
        return True
    return all(_num(pk, n) is not None for n in ("V1", "Q2", "V2"))


def _num(obj: object, name: str) -> float | None:
    q = getattr(obj, name, None)
    value = getattr(q, "value", None)
    return None if value is None else float(value)


# -- drugs ------------------------------------------------------------------------------------


def pk_from_library(drug: str, patient: Patient, library: Library) -> PKParameters:
    """Systemic PK of ``drug`` for ``patient`` from the library.

    Multi-compartment parameters are used where the library has them (scaled by BSA from
    their reference BSA); otherwise clearance and Vss give a two-compartment model when two
    disposition half-lives are known, else a one-compartment model (V = Vss)."""
    gaps = drug_gaps(drug, library)
    if gaps:
        raise LibraryGapError(f"drug {drug!r}: " + "; ".join(gaps))
    d = library.drug(drug)
    pk = d.pk
    assert pk is not None and pk.clearance is not None  # drug_gaps checked it
    mw = float(d.molecular_weight.value)
    bsa = patient.bsa_m2

    def absolute(q: object) -> float:
        """The quantity in absolute units (L/h or L) for this patient."""
        value, unit = float(q.value), q.unit  # type: ignore[attr-defined]
        if unit.startswith("mL/min"):
            value, unit = value * 60 / 1000, "L/h" + unit[len("mL/min") :]
        if unit.endswith("/m2"):
            value *= bsa
        return value

    cl = absolute(pk.clearance)
    v1, q2, v2 = _num(pk, "V1"), _num(pk, "Q2"), _num(pk, "V2")
    if v1 is not None and q2 is not None and v2 is not None:
        ref_bsa = _num(pk, "reference_bsa")
        scale = bsa / ref_bsa if ref_bsa else 1.0
        qs, vs = [q2 * scale], [v2 * scale]
        q3, v3 = _num(pk, "Q3"), _num(pk, "V3")
        if q3 is not None and v3 is not None:
            qs.append(q3 * scale)
            vs.append(v3 * scale)
        return PKParameters(
            cl=cl * (scale if pk.clearance.unit == "L/h" else 1.0),
            v1=v1 * scale,
            q=tuple(qs),
            v=tuple(vs),
            molecular_weight=mw,
            source=f"drug library: {drug}",
        )
    vss = absolute(pk.Vss)
    fast = pk.t_half_beta or pk.t_half_alpha
    slow = pk.t_half_gamma or pk.t_half_terminal
    if fast is not None and slow is not None and fast is not slow:
        try:
            return two_compartment_from_half_lives(
                cl,
                vss,
                float(fast.value) * _TO_HOURS[fast.unit],
                float(slow.value) * _TO_HOURS[slow.unit],
                molecular_weight=mw,
                source=f"drug library: {drug}",
            )
        except ValueError:
            # Half-lives inconsistent with CL and Vss (no positive two-compartment solution):
            # fall back to one compartment rather than invent one.
            pass
    return PKParameters(cl=cl, v1=vss, molecular_weight=mw, source=f"drug library: {drug}")


def pgp_clearance_fraction(drug: str, library: Library) -> float:
    """Fraction of the drug's clearance that P-gp carries (0 when the library has none)."""
    pk = library.drug(drug).pk
    frac = pk.pgp_dependent_clearance_fraction if pk is not None else None
    return float(frac.value) if frac else 0.0


def drug_kill(drug: str, library: Library, plasma_uM: str) -> DrugKill:
    """Kill numbers of ``drug`` for tumour cells (EC50 calibrated to its parental IC50), acting
    through ``plasma_uM`` (the name :func:`~mdrsim.biology.pk.add_pk` gave its plasma level)."""
    from mdrsim.experiments.invitro import KillParameters, calibrate_ec50
    from mdrsim.experiments.pharmacology import transport_of

    d = library.drug(drug)
    if d.ic50_parental is None or d.ic50_parental.value is None:
        raise LibraryGapError(
            f"drug {drug!r}: has no parental IC50 in the library to calibrate its tumour kill"
        )
    transport = transport_of(d, drug)
    kill = calibrate_ec50(transport, KillParameters(d.emax.value, 1.0, 1.0), d.ic50_parental.value)
    return DrugKill(
        name=drug,
        plasma_uM=plasma_uM,
        efflux_efficiency=d.pgp_efficiency.value if d.pgp_efficiency else 0.0,
        emax=kill.emax,
        ec50=kill.ec50,
        source=f"drug library: {drug} (EC50 calibrated)",
    )


# -- the inhibitor ----------------------------------------------------------------------------


def inhibitor_ki(inhibitor: str, library: Library) -> float:
    """The inhibitor's P-gp Ki (µM)."""
    return float(library.inhibitor(inhibitor).ki.value)


def inhibitor_half_life_h(inhibitor: str, library: Library) -> tuple[float, str]:
    """The inhibitor's elimination half-life (h) and its source."""
    pk = library.inhibitor(inhibitor).pk
    t_half = None if pk is None else pk.t_half
    if t_half is None:
        return _FAST_T_HALF_H, (
            "assumed: no half-life in the inhibitor library; 1 h makes the plasma level follow "
            "the course (held during it, gone within hours after)"
        )
    return float(t_half.to("h")), t_half.source


def add_inhibitor_pk(b: ModelBuilder, inhibitor: str, library: Library) -> tuple[str, str]:
    """Plasma inhibitor (µM) as a one-compartment state: each course sets it to its level and
    holds it there with a maintenance infusion (loading dose + infusion, as valspodar and
    ciclosporin were given), then it decays with the library half-life — tariquidar's ~24 h
    keeps P-gp blocked for days after a single course (Stewart et al., Clin Cancer Res
    2000;6:4186), in tumour cells and in T cells alike. Returns the names of the species and of
    its elimination rate constant (a maintenance infusion holds a level ``c`` at ``k_el·c``)."""
    t_half, source = inhibitor_half_life_h(inhibitor, library)
    k_el = "k_el_inhibitor"
    b.parameter(k_el, math.log(2) * 24.0 / t_half, unit="1/d", source=f"{inhibitor}: {source}")
    b.species(INHIBITOR_SPECIES, 0.0, unit="uM", description=f"{inhibitor} in plasma")
    b.reaction(
        "inhibitor_elimination",
        f"{k_el}*{INHIBITOR_SPECIES}",
        reactants={INHIBITOR_SPECIES: 1},
    )
    return INHIBITOR_SPECIES, k_el


def inhibitor_spans(
    regimen: Regimen, chemo_days: list[float], library: Library, *, earliest: float = 0.0
) -> list[tuple[float, float, float]]:
    """(start, end, µM) of the inhibitor held around each chemotherapy day: from ``offset_h``
    before the dose for ``duration_h`` (never before ``earliest``, the start of the
    simulation); overlapping courses merge. The level is the course's ``concentration_uM`` or
    the library's clinically achievable concentration."""
    spans: list[tuple[float, float, float]] = []
    for course in regimen.inhibitors:
        c = course.concentration_uM or float(
            library.inhibitor(course.inhibitor).clinical_concentration.value
        )
        for t in sorted(set(chemo_days)):
            start = t - course.offset_h / 24
            spans.append((max(start, earliest), start + course.duration_h / 24, c))
    merged: list[list[float]] = []
    for a, b, c in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b, c])
    return [(a, b, c) for a, b, c in merged]
