"""RECIST 1.1 response assessment on simulated tumour burden.

Eisenhauer et al., Eur J Cancer 2009;45:228 (RECIST 1.1): the sum of target-lesion diameters
is compared with the baseline (response) and with the smallest sum so far, the nadir
(progression). Complete response (CR): disappearance of all lesions; partial response (PR):
at least 30 % decrease from baseline; progressive disease (PD): at least 20 % increase over the
nadir **and** at least 5 mm absolute increase; stable disease (SD) otherwise. For a spherical
tumour the diameter scales with volume^(1/3), so a simulated burden (cells ∝ volume) maps to a
diameter through a reference size.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from mdrsim.errors import InputValueError


class Response(StrEnum):
    CR = "CR"
    PR = "PR"
    SD = "SD"
    PD = "PD"


#: Below this diameter a lesion counts as disappeared (assumed: the ~5 mm limit of a CT scan).
CR_DIAMETER_MM = 5.0


def diameter_mm(
    burden: np.ndarray | float, *, reference_burden: float, reference_mm: float
) -> np.ndarray:
    """Sum of diameters (mm) of a tumour of ``burden`` (any unit ∝ volume), given one reference
    point: diameter ∝ volume^(1/3) for a spherical tumour."""
    b = np.maximum(np.asarray(burden, dtype=float), 0.0)
    return reference_mm * np.cbrt(b / reference_burden)


@dataclass(frozen=True)
class Assessment:
    """The outcome of RECIST over a sequence of scans."""

    best_response: Response
    progression_time: float | None  # time of the first PD scan, or None
    nadir_mm: float
    responses: list[Response]


def classify(
    times: np.ndarray, diameters_mm: np.ndarray, *, progression_reference: str = "nadir"
) -> Assessment:
    """Classify each scan (the first is baseline) and return best response and time to PD.

    Best overall response is the best of the scans before progression (CR > PR > SD > PD); a
    PD at the first follow-up scan gives best response PD. ``progression_reference="baseline"``
    measures progression against the baseline instead of the nadir, as adaptive-therapy trials
    do: the planned regrowth during a treatment pause is not progression (Zhang et al., Nat
    Commun 2017;8:1816).
    """
    if progression_reference not in ("nadir", "baseline"):
        raise InputValueError(
            "progression_reference", progression_reference, "'nadir' or 'baseline'"
        )
    t = np.asarray(times, dtype=float)
    d = np.asarray(diameters_mm, dtype=float)
    if t.ndim != 1 or t.shape != d.shape or t.size < 2:
        raise InputValueError(
            "times/diameters_mm",
            (t.shape, d.shape),
            "1-D, of equal length >= 2 (baseline first)",
        )
    if np.any(d < 0) or not np.all(np.isfinite(d)):
        raise InputValueError("diameters_mm", d.tolist(), "finite values >= 0")
    baseline = d[0]
    nadir = baseline
    responses: list[Response] = []
    progression = None
    for ti, di in zip(t[1:], d[1:], strict=True):
        ref = nadir if progression_reference == "nadir" else baseline
        if di >= 1.2 * ref and di - ref >= 5.0:
            responses.append(Response.PD)
            progression = float(ti)
            break
        if di < CR_DIAMETER_MM:
            responses.append(Response.CR)
        elif di <= 0.7 * baseline:
            responses.append(Response.PR)
        else:
            responses.append(Response.SD)
        nadir = min(nadir, di)
    order = [Response.CR, Response.PR, Response.SD, Response.PD]
    before_pd = [r for r in responses if r is not Response.PD]
    best = min(before_pd, key=order.index) if before_pd else Response.PD
    return Assessment(best, progression, float(nadir), responses)
