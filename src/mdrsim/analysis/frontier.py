"""Trade-off frontiers: for a scenario, the Pareto front of tumour control against CD8 memory
(and against the neutrophil nadir) over a grid of treatment choices — an inhibitor's level or
timing, the chemotherapy dose.

A point is on the front when no other point is at least as good in both objectives and better
in one. Directions: less tumour (``best_change_pct``, ``tumour_end_1e9``: lower is better;
``pfs_days``: higher), more CD8 memory and a higher ANC nadir are better.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from mdrsim.analysis.factors import Grid
from mdrsim.analysis.problems import ScenarioProblem
from mdrsim.analysis.scan import scan
from mdrsim.errors import AnalysisError

if TYPE_CHECKING:
    from mdrsim.data.library import Library
    from mdrsim.patient.scenario import Scenario

__all__ = ["DIRECTIONS", "FrontierResult", "frontier", "pareto_mask"]

Direction = Literal["min", "max"]

#: Which way each endpoint is better.
DIRECTIONS: dict[str, Direction] = {
    "best_change_pct": "min",
    "tumour_end_1e9": "min",
    "mdr1_high_fraction_end": "min",
    "pfs_days": "max",
    "ttf_line1_days": "max",
    "cd8_memory_ratio": "max",
    "cd8_memory": "max",
    "ctl_tumour_ratio": "max",
    "anc_nadir": "max",
}


def pareto_mask(
    values: np.ndarray, directions: Sequence[Direction], *, rtol: float = 1e-6
) -> np.ndarray:
    """``values[point, objective]`` → whether each point is non-dominated. NaN rows are never
    on the front. Differences below ``rtol`` × the largest magnitude of an objective are ties
    (solver noise must not put a point on the front: a point is dominated by one that is as
    good within that tolerance in every objective and better by more than it in one)."""
    v = np.asarray(values, dtype=float).copy()
    for j, d in enumerate(directions):
        if d == "max":
            v[:, j] = -v[:, j]  # minimise everything
    ok = np.all(np.isfinite(v), axis=1)
    mask = np.zeros(len(v), dtype=bool)
    if not ok.any():
        return mask
    others = v[ok]
    eps = rtol * np.max(np.abs(others), axis=0)
    for i in np.flatnonzero(ok):
        as_good = np.all(others <= v[i] + eps, axis=1)
        better = np.any(others < v[i] - eps, axis=1)
        mask[i] = not np.any(as_good & better)
    return mask


@dataclass
class FrontierResult:
    """Every point of the grid (``table``, with an ``on_front_<objective>`` column per trade-off)
    and the objectives compared."""

    table: pd.DataFrame
    tumour_output: str
    tradeoffs: list[str]
    grids: list[Grid]

    def front(self, against: str) -> pd.DataFrame:
        col = f"on_front_{against}"
        if col not in self.table:
            raise AnalysisError(f"no trade-off against {against!r}; have {self.tradeoffs}")
        return self.table[self.table[col]].sort_values(self.tumour_output)


def frontier(
    scenario: Scenario,
    grids: Sequence[Grid],
    *,
    tumour_output: str = "best_change_pct",
    against: Sequence[str] = ("cd8_memory_ratio", "anc_nadir"),
    library: Library | None = None,
    workers: int | None = None,
) -> FrontierResult:
    """Run the full grid of ``grids`` (scenario paths, one to three, e.g.
    ``lines[0].inhibitors[0].concentration_uM``, ``lines[0].doses[0].dose``) on ``scenario``
    and mark the Pareto fronts of ``tumour_output`` against each of ``against``."""
    if not 1 <= len(grids) <= 3:
        raise AnalysisError(f"a frontier varies one to three treatment choices, got {len(grids)}")
    for name in (tumour_output, *against):
        if name not in DIRECTIONS:
            raise AnalysisError(
                f"objective {name!r}: allowed: {', '.join(DIRECTIONS)} (each has a direction)"
            )
    if not against:
        raise AnalysisError("give at least one objective to trade tumour control against")
    problem = ScenarioProblem(
        scenario,
        [g.name for g in grids],
        outputs=[tumour_output, *against],
        library=library,
        workers=workers,
    )
    table = _grid(problem, grids)
    for other in against:
        mask = pareto_mask(
            table[[tumour_output, other]].to_numpy(dtype=float),
            [DIRECTIONS[tumour_output], DIRECTIONS[other]],
        )
        table[f"on_front_{other}"] = mask & (table["status"] == "ok").to_numpy()
    return FrontierResult(table, tumour_output, list(against), list(grids))


def _grid(problem: ScenarioProblem, grids: Sequence[Grid]) -> pd.DataFrame:
    if len(grids) <= 2:
        return scan(problem, grids).table
    import itertools

    points = np.array(list(itertools.product(*[g.values for g in grids])), dtype=float)
    return problem.evaluate(points)
