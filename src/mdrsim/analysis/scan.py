"""Parameter and scenario scans: one or two factors on a grid or a list, every point run in
as few engine batches as the problem allows (:mod:`mdrsim.analysis.problems`)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mdrsim.analysis.factors import Grid
from mdrsim.analysis.problems import Problem
from mdrsim.errors import AnalysisError

__all__ = ["ScanResult", "scan"]

MAX_POINTS = 100_000


@dataclass
class ScanResult:
    """A tidy table: one row per grid point (the factor values, each output, ``status``,
    ``reason``); ``grids`` in the order of the factors."""

    table: pd.DataFrame
    grids: list[Grid]
    outputs: list[str]

    @property
    def n_failed(self) -> int:
        return int((self.table["status"] != "ok").sum())


def scan(problem: Problem, grids: Sequence[Grid]) -> ScanResult:
    """Evaluate ``problem`` on the full grid of one or two factors (the problem's factors,
    in the same order as ``grids``)."""
    if not 1 <= len(grids) <= 2:
        raise AnalysisError(f"a scan varies one or two factors, got {len(grids)}")
    names = [f.name for f in problem.factors]
    if [g.name for g in grids] != names:
        raise AnalysisError(f"grids {[g.name for g in grids]} must match the factors {names}")
    size = int(np.prod([len(g.values) for g in grids]))
    if size > MAX_POINTS:
        raise AnalysisError(f"the scan has {size} points; allowed: at most {MAX_POINTS}")
    points = np.array(list(itertools.product(*[g.values for g in grids])), dtype=float)
    table = problem.evaluate(points)
    return ScanResult(table, list(grids), problem.output_names)
