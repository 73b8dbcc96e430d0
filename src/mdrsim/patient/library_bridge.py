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
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mdrsim.biology.pk import PKParameters, SaturablePK, two_compartment_from_half_lives
from mdrsim.biology.tumour import DrugKill
from mdrsim.errors import LibraryGapError
from mdrsim.model import ModelBuilder
from mdrsim.model.domain import positive
from mdrsim.regimen.schedule import Dose, Patient, Regimen

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
    saturable = _saturable(pk, mw)
    if saturable is not None:
        cl = 0.0  # the library's clearance is then a summary; elimination is saturable
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
            # An absolute clearance (L/h or mL/min) scales with BSA like the volumes; a per-m2
            # one was already multiplied by this patient's BSA.
            cl=cl * (1.0 if pk.clearance.unit.endswith("/m2") else scale),
            v1=v1 * scale,
            q=tuple(qs),
            v=tuple(vs),
            molecular_weight=mw,
            source=f"drug library: {drug}",
            saturable=saturable,
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


def _saturable(pk: object, mw: float) -> SaturablePK | None:
    """The Michaelis–Menten terms of a library PK entry in mg/h and mg/L (None: linear)."""

    def mg(q: object) -> float:
        value, unit = float(q.value), q.unit  # type: ignore[attr-defined]
        # µmol/h · g/mol / 1000 = mg/h; µM · g/mol / 1000 = mg/L
        return value * mw / 1000.0 if unit in ("umol/h", "uM") else value

    el_v, el_k = getattr(pk, "vmax_elimination", None), getattr(pk, "km_elimination", None)
    if el_v is None or el_k is None:
        return None
    tr_v, tr_k, k21 = (
        getattr(pk, n, None) for n in ("vmax_transport", "km_transport", "k21_transport")
    )
    if tr_v is None or tr_k is None or k21 is None:
        return SaturablePK(vmax_el=mg(el_v), km_el=mg(el_k))
    return SaturablePK(
        vmax_el=mg(el_v), km_el=mg(el_k), vmax_tr=mg(tr_v), km_tr=mg(tr_k), k21=float(k21.value)
    )


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
    b.parameter(
        k_el,
        math.log(2) * 24.0 / t_half,
        unit="1/d",
        source=f"{inhibitor}: {source}",
        domain=positive("an elimination rate (from a half-life)"),
    )
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


# -- drug–drug interactions -------------------------------------------------------------------


@dataclass(frozen=True)
class Interaction:
    """How an inhibitor changes a drug's clearance in the patient model, and on what basis.

    ``clearance_change`` is the change at the library's clinically achievable inhibitor
    concentration (negative: slower clearance); ``blocked_fraction`` is the maximal fraction of
    elimination the inhibitor blocks (``fpgp_<drug>`` of the PK module), chosen so that
    ``blocked_fraction · c/(c + Ki)`` equals the change at that concentration ``c``."""

    inhibitor: str
    drug: str
    clearance_change: float
    blocked_fraction: float
    basis: str  # "measured" or "mechanistic rule"
    source: str

    @property
    def label(self) -> str:
        """``measured (source)`` or ``mechanistic rule (assumed: …)``."""
        return f"{self.basis} ({self.source})"

    def as_dict(self) -> dict[str, object]:
        return {
            "inhibitor": self.inhibitor,
            "drug": self.drug,
            "clearance_change_at_clinical_concentration": self.clearance_change,
            "basis": self.basis,
            "source": self.source,
        }


def interaction(inhibitor: str, drug: str, library: Library) -> Interaction:
    """The clearance interaction of ``inhibitor`` with ``drug``: the measured change of the pair
    (inhibitors.yaml ``ddi``) where there is one, else the mechanistic rule — the drug's P-gp
    share of clearance (drugs.yaml ``pgp_dependent_clearance_fraction``) blocked in proportion
    to the inhibitor's occupancy ``c/(c + Ki)`` — recorded as an assumption."""
    inh = library.inhibitor(inhibitor)
    c, ki = float(inh.clinical_concentration.value), float(inh.ki.value)
    occupancy = c / (c + ki)
    measured = library.ddi(inhibitor, drug)
    if measured is not None:
        change = float(measured.value)
        blocked = -change / occupancy
        if not 0.0 <= blocked <= 1.0:
            # The model blocks a fraction of clearance at the inhibitor's occupancy; a measured
            # increase, or a fall larger than full block at this occupancy allows, cannot be
            # represented — refuse rather than silently apply another number than the one
            # recorded as measured.
            raise LibraryGapError(
                f"{inhibitor} + {drug}: the measured clearance change {change:+.0%} "
                f"({measured.source}) needs a blocked fraction of {blocked:.3g} at the "
                f"inhibitor's occupancy {occupancy:.3g} (clinical concentration over Ki); the "
                "model represents 0 to 1 — check ddi and clinical_concentration in "
                "inhibitors.yaml"
            )
        return Interaction(inhibitor, drug, change, blocked, "measured", measured.source)
    share = library.drug(drug).pk
    frac = share.pgp_dependent_clearance_fraction if share is not None else None
    blocked = float(frac.value) if frac is not None else 0.0
    why = frac.source if frac is not None else "no P-gp share of clearance in the library: 0"
    return Interaction(
        inhibitor,
        drug,
        -blocked * occupancy,
        blocked,
        "mechanistic rule",
        f"assumed: no measured {inhibitor} + {drug} interaction; the drug's P-gp share of "
        f"clearance {blocked:g} blocked by occupancy c/(c + Ki) = {occupancy:.2f} at the "
        f"clinical {inhibitor} level (share from: {why})",
    )


# -- labelled doses ---------------------------------------------------------------------------


def _dose_per_m2(dose: Dose, patient: Patient) -> float:
    """One administration of ``dose`` in mg/m² for ``patient``."""
    if dose.unit == "mg/m2":
        return float(dose.dose)
    if dose.unit == "mg/kg":
        return float(dose.dose) * patient.weight_kg / patient.bsa_m2
    return float(dose.dose) / patient.bsa_m2


def unchecked_trial_doses(
    lines: Sequence[Regimen], library: Library, *, prefix: str = "lines"
) -> list[str]:
    """Doses given in mg or mg/kg of a drug whose label limits the dose per m2: in a trial each
    sampled patient converts them with their own weight and BSA, so one check with the
    scenario's patient cannot vouch for them (a heavy or small patient can go above the label
    unnoticed). Listed with their field paths so a trial refuses them."""
    from mdrsim.data.library import UnknownNameError

    problems = []
    for i, line in enumerate(lines):
        for j, dose in enumerate(line.doses):
            if dose.unit == "mg/m2":
                continue
            try:
                pk = library.drug(dose.drug).pk
            except UnknownNameError:
                continue
            if pk is not None and pk.dose is not None:
                problems.append(
                    f"{prefix}[{i}].doses[{j}].unit: {dose.drug} in {dose.unit!r} has a labelled "
                    f"maximum per m2 ({pk.dose.source}); in a trial the dose per m2 varies with "
                    "each sampled patient's weight and BSA, so give it in mg/m2"
                )
    return problems


def label_dose_exceedances(
    lines: Sequence[Regimen], patient: Patient, library: Library, *, prefix: str = "lines"
) -> list[str]:
    """Every dose above its drug's labelled maximum per administration, and every drug whose
    planned cumulative dose (all lines, all cycles) is above its labelled lifetime limit — each
    with its field path, the value, the limit and the limit's source. The labelled maximum is
    the upper end of the library's ``pk.dose`` range; drugs without one are not checked, and
    neither is a practice cap such as vincristine's 2 mg (not in the label text read)."""
    from mdrsim.data.library import UnknownNameError

    problems: list[str] = []
    cumulative: dict[str, float] = {}
    where: dict[str, str] = {}
    for i, line in enumerate(lines):
        for j, dose in enumerate(line.doses):
            try:
                pk = library.drug(dose.drug).pk
            except UnknownNameError:
                continue
            if pk is None:
                continue
            per_m2 = _dose_per_m2(dose, patient)
            field = f"{prefix}[{i}].doses[{j}].dose"
            given = f"{dose.dose:g} {dose.unit}"
            if dose.unit != "mg/m2":
                given += (
                    f" (= {per_m2:.4g} mg/m2 for a {patient.weight_kg:g} kg, "
                    f"{patient.bsa_m2:.3g} m2 patient)"
                )
            label = pk.dose
            if label is not None:
                high = label.range[1] if label.range else label.value
                if per_m2 > high * (1 + 1e-9):
                    problems.append(
                        f"{field}: {dose.drug} {given} is above the labelled maximum "
                        f"{high:g} {label.unit} per administration ({label.source})"
                    )
            total = per_m2 * len(dose.days) * line.n_cycles
            cumulative[dose.drug] = cumulative.get(dose.drug, 0.0) + total
            where.setdefault(dose.drug, field)
    for drug, total in cumulative.items():
        pk = library.drug(drug).pk
        limit = None if pk is None else pk.cumulative_limit
        if limit is not None and total > limit.value * (1 + 1e-9):
            problems.append(
                f"{where[drug]}: {drug} planned cumulative dose {total:.4g} mg/m2 (every dose "
                f"of every cycle of every line) is above the labelled lifetime limit "
                f"{limit.value:g} {limit.unit} ({limit.source})"
            )
    return problems
