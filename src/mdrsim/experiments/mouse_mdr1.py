"""The mouse study in silico: MDR1 and the CD8 response to an acute virus, then a challenge.

Groups (after Chen et al., J Exp Med 2020;217:e20191388): wild type, MDR1-deficient, and wild
type given an MDR1 inhibitor (on days 0–3 only, days 8–21 only, or days 0–21). Each mouse
is infected with an LCMV-Armstrong-like virus on day 0; antigen-specific CD8 T cells are
followed for 60 days; on day 60 the mice are challenged with a Listeria-like bacterium and the
bacterial load 3 days later measures memory protection. All groups are one batch of the
compiled engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Literal

import numpy as np

from mdrsim.biology.immune import (
    LCMV_ARMSTRONG,
    LISTERIA,
    add_cd8_response,
    add_mdr1_function,
    add_pathogen,
    add_rhodamine_retention,
)
from mdrsim.engine import CompiledModel, EventTable, Result, compile_model, simulate
from mdrsim.errors import SimulationInputError
from mdrsim.model import Model, ModelBuilder

if TYPE_CHECKING:
    from mdrsim.data.library import Library

Schedule = Literal["none", "full", "days0-3", "after-day8"]
SCHEDULES: tuple[Schedule, ...] = ("none", "full", "days0-3", "after-day8")

CHALLENGE_DAY = 60.0
#: The inhibitor course covers the primary response (days 0-21) and is over before the
#: challenge, so protection measures the memory formed, not a drug present at recall.
COURSE_END_DAY = 21.0
READOUT_DAYS_AFTER_CHALLENGE = 3.0
VIRUS_INOCULUM = 100.0  # pathogen units (assumed: small inoculum, peak set by growth)
BACTERIA_INOCULUM = 1e4  # pathogen units (assumed)
#: The inhibitor given to mice, and its exposure while dosed (µM in plasma): tariquidar at its
#: clinically achievable level, where P-gp block in CD56+ cells is near-complete for > 24 h
#: (Stewart et al., Clin Cancer Res 2000;6:4186); potency from the inhibitor library.
INHIBITOR = "tariquidar"


@dataclass(frozen=True)
class InhibitorNumbers:
    """What the study takes from the library about :data:`INHIBITOR`."""

    ki_uM: float
    dosed_uM: float  # plasma level while dosed (the clinically achievable concentration)
    ki_source: str


def inhibitor_numbers(library: Library | None = None) -> InhibitorNumbers:
    """:data:`INHIBITOR`'s potency and exposure from ``library`` (default: the packaged one)."""
    if library is None:
        from mdrsim.data.library import load_library

        library = load_library()
    inh = library.inhibitor(INHIBITOR)
    return InhibitorNumbers(
        float(inh.ki.value), float(inh.clinical_concentration.value), inh.ki.source
    )


def mouse_model(*, library: Library | None = None) -> Model:
    """The study's model, with the inhibitor's Ki from ``library`` (default: packaged)."""
    return _mouse_model(inhibitor_numbers(library))


# Memoised by the library's numbers, not by the library: a library with another Ki builds
# (and compiles) another model, and no cache can hold on to a stale library.
@cache
def _mouse_model(numbers: InhibitorNumbers) -> Model:
    b = ModelBuilder("mouse_mdr1_cd8", description="CD8 response to an acute virus and a challenge")
    ki, source = numbers.ki_uM, numbers.ki_source
    b.parameter(
        "inhibitor_conc",
        0.0,
        constant=False,
        unit="uM",
        source="set by the group's dosing schedule",
    )
    f = add_mdr1_function(
        b, cell="cd8", inhibitor="inhibitor_conc", inhibitor_ki=ki, source=f"{INHIBITOR}: {source}"
    )
    add_cd8_response(b, antigen="virus + bacteria", mdr1_function=f)
    add_pathogen(b, LCMV_ARMSTRONG, killers="A_cd8 + E_cd8", initial=VIRUS_INOCULUM)
    add_pathogen(b, LISTERIA, killers="A_cd8 + E_cd8", initial=0.0)
    add_rhodamine_retention(
        b,
        mdr1_function=f,
        efflux_efficiency=9.0,
        source="assumed: CD8/CD56 cells keep ~1/10 of the rhodamine-123 they keep when P-gp is "
        "fully blocked (order of magnitude of the Rh123 efflux read-out, Robey et al. 1999)",
    )
    return b.build()


@cache
def _compiled(numbers: InhibitorNumbers) -> CompiledModel:
    return compile_model(_mouse_model(numbers))


@dataclass(frozen=True)
class Group:
    name: str
    mdr1: float  # MDR1 function without inhibitor (1 wild type, 0 deficient)
    schedule: Schedule = "none"


DEFAULT_GROUPS = (
    Group("wild type", 1.0),
    Group("MDR1-deficient", 0.0),
    Group("wild type + inhibitor", 1.0, "full"),
)


def _events(groups: tuple[Group, ...], dose_conc: float) -> EventTable:
    """Inhibitor on/off per group (as MDR1 function switches) and the day-60 challenge."""
    n = len(groups)
    on = np.full(n, 1e9)
    off = np.full(n, 1e9)
    for i, g in enumerate(groups):
        if g.schedule == "full":
            on[i], off[i] = 0.0, COURSE_END_DAY
        elif g.schedule == "days0-3":
            on[i], off[i] = 0.0, 3.0
        elif g.schedule == "after-day8":
            on[i], off[i] = 8.0, COURSE_END_DAY
        elif g.schedule != "none":
            raise SimulationInputError(f"schedule {g.schedule!r}: allowed {', '.join(SCHEDULES)}")
    events = EventTable()
    events.set_parameter(on, "inhibitor_conc", dose_conc)
    events.set_parameter(off, "inhibitor_conc", 0.0)
    events.bolus(CHALLENGE_DAY, "bacteria", BACTERIA_INOCULUM)
    return events


@dataclass(frozen=True)
class StudyResult:
    groups: tuple[Group, ...]
    result: Result

    def table(self) -> list[dict[str, object]]:
        """Peak, day of peak, memory, contraction rate and protection for each group."""
        t = self.result.times
        cells = self.result["cd8_antigen_experienced"]
        bacteria = self.result["bacteria"]
        i_challenge = int(np.searchsorted(t, CHALLENGE_DAY))
        i_readout = int(np.searchsorted(t, CHALLENGE_DAY + READOUT_DAYS_AFTER_CHALLENGE))
        rows = []
        for g_index, group in enumerate(self.groups):
            c = cells[g_index]
            k = int(np.argmax(c[:i_challenge]))
            peak, day_peak = float(c[k]), float(t[k])
            memory = float(c[i_challenge - 1])
            j8, j15 = int(np.searchsorted(t, day_peak + 2)), int(np.searchsorted(t, day_peak + 9))
            contraction = float(np.log(c[j8] / c[j15]) / (t[j15] - t[j8]))
            rows.append(
                {
                    "group": group.name,
                    "schedule": group.schedule,
                    "peak_cells": peak,
                    "peak_day": day_peak,
                    "memory_day60_cells": memory,
                    "memory_fraction_of_peak": memory / peak,
                    "contraction_rate_per_day": contraction,
                    "bacteria_3d_after_challenge": float(bacteria[g_index, i_readout]),
                }
            )
        return rows


def run_study(
    groups: tuple[Group, ...] = DEFAULT_GROUPS,
    *,
    step_days: float = 0.25,
    library: Library | None = None,
) -> StudyResult:
    """Simulate every group as one batch; the grid includes the challenge and read-out days.

    The inhibitor's numbers come from ``library`` (default: the packaged library).
    """
    numbers = inhibitor_numbers(library)
    end = CHALLENGE_DAY + READOUT_DAYS_AFTER_CHALLENGE
    t = np.arange(0.0, end + step_days / 2, step_days)
    result = simulate(
        _compiled(numbers),
        t,
        params={"mdr1_genotype_cd8": [g.mdr1 for g in groups]},
        n_patients=len(groups),
        events=_events(groups, numbers.dosed_uM),
        rtol=1e-8,
        atol=1e-6,
        check=True,
    )
    return StudyResult(groups, result)
