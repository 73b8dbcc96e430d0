"""Analyses a QSP modeller expects: parameter and scenario scans, local and global (Sobol,
Morris) sensitivity, and treatment trade-off frontiers. Core code: no CLI, no plotting (the
figures are in :mod:`mdrsim.report.analysis_plots`)."""

from mdrsim.analysis.factors import Factor, Grid, Range, parse_grid, parse_range
from mdrsim.analysis.frontier import FrontierResult, frontier, pareto_mask
from mdrsim.analysis.problems import ContrastProblem, ModelProblem, ScenarioProblem
from mdrsim.analysis.scan import ScanResult, scan
from mdrsim.analysis.sensitivity import (
    FunctionProblem,
    GlobalResult,
    local_sensitivity,
    local_time_courses,
    morris,
    sobol,
)

__all__ = [
    "ContrastProblem",
    "Factor",
    "FrontierResult",
    "FunctionProblem",
    "GlobalResult",
    "Grid",
    "ModelProblem",
    "Range",
    "ScanResult",
    "ScenarioProblem",
    "frontier",
    "local_sensitivity",
    "local_time_courses",
    "morris",
    "pareto_mask",
    "parse_grid",
    "parse_range",
    "scan",
    "sobol",
]
