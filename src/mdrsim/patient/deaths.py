"""Deaths of a virtual patient: from progression, from neutropenic infection, from an
infection the immune system did not clear.

The ODE patient model has no death; the runner samples deaths on top of it, from each
patient's own random stream (trial seed and patient index, never the chunk), with the rates
below. Every rate names its source or says that it is assumed.

- **Death from progression.** After the first progression the time to death is exponential
  with the median post-progression survival: 8 months (95 % CI 7–10) from the start of
  second-line chemotherapy in 379 adults with advanced soft-tissue sarcoma (Minchom et al.,
  Sarcoma 2010:264360, doi:10.1155/2010/264360, PMID 20508840). Exponential: assumed (only
  the median is published). The clock starts at the first progression scan, not at the start
  of a second line as in the source: assumed, because a one-line trial has no second line —
  in a trial that does start one at progression the two days coincide. Further lines
  simulated after the first progression do not change this clock (the median already
  includes second-line treatment).
- **Febrile neutropenia (FN).** Each cycle whose neutrophil nadir reached grade 4
  (ANC < 0.5 × 10⁹/L) brings FN with probability ``fn_per_grade4_cycle``. Assumed 0.04: with
  grade-4 nadirs in about four cycles this gives FN in ≈ 15 % of patients with grade-4
  neutropenia, the ratio of the docetaxel label at 100 mg/m² (FN 11 % of patients, grade-4
  neutropenia 75 %; Taxotere label, as summarised in PMC2361544).
- **Death from FN.** In-hospital mortality of adults hospitalised with FN: 9.5 % overall, 2.6 %
  without a major comorbidity (Kuderer et al., Cancer 2006;106:2258, doi:10.1002/cncr.21847,
  PMID 16575919; 41,779 patients). Death falls at the end of the median stay, 6 days after the
  nadir (same source: median length of stay 6 days).
- **Uncleared infection.** An acute infection not cleared ``uncleared_infection_days`` (28)
  days after the challenge kills with probability ``uncleared_infection_death`` (0.3). Both
  assumed: no clinical series gives the fatality of a viral infection the CD8 response fails to
  clear under chemotherapy.
- No other deaths before progression (assumed: the trials simulated enrol fit adults, WHO
  performance status 0–1, over at most a few years).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mdrsim.errors import InputValueError

#: Days per month (365.25 / 12), to convert published medians in months.
DAYS_PER_MONTH = 30.4375
#: Early death: within this many days of the start of treatment (CALGB 9720's window).
EARLY_DEATH_DAYS = 60.0
#: Draws per patient in each stream (cycles with a possible FN; RECIST scans).
MAX_DRAWS = 256

PROGRESSION, NEUTROPENIC_INFECTION, INFECTION = "progression", "neutropenic_infection", "infection"
#: Codes of ``death_cause`` in the endpoint table (0: alive at the horizon).
CAUSE_CODES = {"": 0, PROGRESSION: 1, NEUTROPENIC_INFECTION: 2, INFECTION: 3}

SOURCES = {
    "post_progression_median_days": "Minchom et al., Sarcoma 2010:264360, PMID 20508840 "
    "(median OS 8 months from second-line chemotherapy, advanced soft-tissue sarcoma)",
    "fn_per_grade4_cycle": "assumed: ≈15 % of grade-4 patients over ~4 grade-4 cycles, the "
    "docetaxel label's FN 11 % / grade-4 neutropenia 75 % (PMC2361544)",
    "fn_death": "Kuderer et al., Cancer 2006;106:2258, PMID 16575919 (in-hospital mortality of "
    "FN 9.5 % overall, 2.6 % without major comorbidity)",
    "fn_death_delay_days": "Kuderer et al. 2006, PMID 16575919 (median length of stay 6 days)",
    "uncleared_infection": "assumed: no published fatality of an uncleared acute infection",
}


@dataclass(frozen=True)
class DeathModel:
    """Rates of the three causes of death (see the module text for each source)."""

    post_progression_median_days: float = 8.0 * DAYS_PER_MONTH
    fn_per_grade4_cycle: float = 0.04
    fn_death: float = 0.095
    fn_death_delay_days: float = 6.0
    uncleared_infection_days: float = 28.0
    uncleared_infection_death: float = 0.3

    def __post_init__(self) -> None:
        for name in ("post_progression_median_days", "uncleared_infection_days"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise InputValueError(f"deaths.{name}", v, "a finite number > 0 (days)")
        if not (math.isfinite(self.fn_death_delay_days) and self.fn_death_delay_days >= 0):
            raise InputValueError(
                "deaths.fn_death_delay_days", self.fn_death_delay_days, "a number >= 0 (days)"
            )
        for name in ("fn_per_grade4_cycle", "fn_death", "uncleared_infection_death"):
            v = getattr(self, name)
            if not (math.isfinite(v) and 0 <= v <= 1):
                raise InputValueError(f"deaths.{name}", v, "a probability in [0, 1]")


@dataclass
class PatientDraws:
    """One patient's random numbers, laid out so that patient ``i`` draws the same numbers
    whatever the arm (paired arms share them), the chunk or the worker."""

    fn: np.ndarray  # (MAX_DRAWS,) uniform per grade-4 cycle: FN?
    fn_death: np.ndarray  # (MAX_DRAWS,) uniform per FN: death?
    post_progression: float  # standard exponential
    infection: np.ndarray  # (MAX_DRAWS,) uniform per infection: death if uncleared?
    scan_jitter: np.ndarray  # (MAX_DRAWS,) uniform in [-1, 1) per RECIST scan of a line

    @classmethod
    def from_seed(cls, seed: int) -> PatientDraws:
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x6465617468]))
        return cls(
            fn=rng.random(MAX_DRAWS),
            fn_death=rng.random(MAX_DRAWS),
            post_progression=float(rng.standard_exponential()),
            infection=rng.random(MAX_DRAWS),
            scan_jitter=2.0 * rng.random(MAX_DRAWS) - 1.0,
        )
