"""mdrsim's own CD8 module stated as a PEtab problem on the data of Crauste et al. 2017.

Crauste, Mafille, Boucinha, Djebali, Gandrillon, Marvel & Arpin, "Identification of nascent
memory CD8 T cells and modeling of their ontogeny", Cell Systems 2017;4(3):306-317.e4,
doi:10.1016/j.cels.2017.01.014, measured antigen-specific CD8 T cells of mice after an
immunisation, split by phenotype into naive, early effector, late effector and memory cells, on
days 4-28 (the PEtab benchmark collection's problem ``Crauste_CellSystems2017``: 21 counts with
a standard deviation each). This module maps mdrsim's CD8 module (:func:`add_cd8_response`:
naive ``N`` → activated ``A`` → effector ``E`` → memory ``M``) onto those measurements:

================  ==========================  ==============================================
Crauste            mdrsim pool                 why
================  ==========================  ==============================================
Naive              ``N_cd8``                   same definition (antigen-specific, not yet
                                               activated)
EarlyEffector      ``A_cd8`` (activated)       the proliferating, antigen-driven stage right
                                               after activation
LateEffector       ``E_cd8`` (effector)        the stage that follows and contracts
Memory             ``M_cd8``                   same definition
================  ==========================  ==============================================

Assumptions of the mapping (docs/calibration.md discusses them): time 0 is the day of
immunisation (the benchmark's model starts there); counts are cells as in the benchmark's
tables, compared without scaling; the naive count at time 0 is the benchmark model's initial
value (8090 cells), fixed; the antigen is the module's target-cell-limited virus
(:data:`LCMV_ARMSTRONG` structure) with its growth and CD8 kill rates estimated as nuisance
parameters of this experiment (Crauste's immunisation is not LCMV), and inoculum 100 units as
in the mouse MDR1 study; all mice are wild type, so ``d_ox`` (the MDR1 effect) does not act and
is not estimated. The noise model is the benchmark's: normal, with the standard deviation given
for each measurement.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mdrsim.biology.immune import LCMV_ARMSTRONG, add_cd8_response, add_pathogen
from mdrsim.errors import PetabError
from mdrsim.fit.own_model import FreeParameter, ObservableMap, write_petab_problem
from mdrsim.io.petab import PetabProblem
from mdrsim.model import Model, ModelBuilder

__all__ = [
    "CRAUSTE_ANTIGEN",
    "CRAUSTE_DOI",
    "FREE",
    "NAIVE_AT_DAY0",
    "OBSERVABLES",
    "cd8_fit_model",
    "crauste_measurements",
    "fitted_trajectories",
    "simulate_conditions",
    "write_crauste_problem",
]

CRAUSTE_DOI = "10.1016/j.cels.2017.01.014"
BENCHMARK_NAME = "Crauste_CellSystems2017"
#: Initial naive count of the benchmark's SBML model (species ``Naive``), used as N(0).
NAIVE_AT_DAY0 = 8090.0
VIRUS_INOCULUM = 100.0  # pathogen units, as in mdrsim.experiments.mouse_mdr1

#: Crauste's observable id → the mdrsim expression it is.
OBSERVABLES = (
    ObservableMap("observable_Naive", "N_cd8", name="naive"),
    ObservableMap("observable_EarlyEffector", "A_cd8", name="early effector = activated"),
    ObservableMap("observable_LateEffector", "E_cd8", name="late effector = effector"),
    ObservableMap("observable_Memory", "M_cd8", name="memory"),
)

#: The module's parameters marked assumed in immune.py that the data can inform, and the
#: Crauste experiment's nuisance parameters (its antigen's growth and CD8 kill rate).
FREE = (
    FreeParameter("k_act", 1e-3, 1e2),
    FreeParameter("p_A", 1e-3, 1e1),
    FreeParameter("p_E", 1e-3, 1e1),
    FreeParameter("k_AE", 1e-3, 1e2),
    FreeParameter("d_A", 1e-4, 1e1),
    FreeParameter("d_E", 1e-3, 1e1),
    FreeParameter("k_EM", 1e-5, 1e1),
    FreeParameter("d_M", 1e-5, 1e0, nominal=1e-3),
    FreeParameter("K_Ag", 1e0, 1e6),
    FreeParameter("r_virus_crauste2017", 1e-1, 2e1, nominal=LCMV_ARMSTRONG.growth_rate),
    FreeParameter("k_kill_virus_crauste2017", 1e-10, 1e-2, nominal=LCMV_ARMSTRONG.kill_rate),
)
#: The fitted nuisance parameters of Crauste's antigen (scripts/fit_cd8_crauste.py; the
#: experiment's own, not the module's): growth rate (1/d) and CD8 kill rate (1/(cell·d)).
CRAUSTE_ANTIGEN = {"r_virus_crauste2017": 2.207, "k_kill_virus_crauste2017": 1.717e-5}
CD8_FREE = ("k_act", "p_A", "p_E", "k_AE", "d_A", "d_E", "k_EM", "d_M", "K_Ag")


def cd8_fit_model() -> Model:
    """The CD8 module (wild type, MDR1 function 1) driven by a virus, without jumps in state."""
    b = ModelBuilder("cd8_crauste", description="mdrsim CD8 module for the Crauste 2017 data")
    b.parameter("mdr1_function_cd8", 1.0, unit="fraction", source="wild-type mice")
    add_cd8_response(b, antigen="virus", mdr1_function="mdr1_function_cd8")
    add_pathogen(
        b, LCMV_ARMSTRONG, killers="A_cd8 + E_cd8", initial=VIRUS_INOCULUM, extinction=False
    )
    return b.build()


def benchmark_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The Crauste folder: ``path`` or ``$MDRSIM_PETAB_BENCHMARK/Crauste_CellSystems2017``."""
    if path is None:
        root = os.environ.get("MDRSIM_PETAB_BENCHMARK")
        if not root:
            raise PetabError(
                "the Crauste data folder was not given: pass it or set MDRSIM_PETAB_BENCHMARK "
                "to the PEtab benchmark collection"
            )
        path = Path(root) / BENCHMARK_NAME
    folder = Path(path)
    if not (folder / f"measurementData_{BENCHMARK_NAME}.tsv").is_file():
        raise PetabError(f"{folder}: no measurementData_{BENCHMARK_NAME}.tsv there")
    return folder


def crauste_measurements(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Crauste's 21 measurements (observableId, time, measurement, noiseParameters)."""
    folder = benchmark_dir(path)
    df = pd.read_csv(folder / f"measurementData_{BENCHMARK_NAME}.tsv", sep="\t")
    out = df[["observableId", "time", "measurement", "noiseParameters"]].copy()
    out["simulationConditionId"] = "crauste2017"
    return out


#: Science notes §4 kinetic targets of the LCMV-Armstrong response in C57BL/6 mice (total
#: antigen-experienced cells of one epitope): ~1e7 at the peak around day 8 and ~5 % of it
#: (~5e5) as stable memory (Blattman et al., J Exp Med 2002;195:657, PMID 11877489).
LCMV_TARGETS = ((8.0, 1e7), (30.0, 5e5), (60.0, 5e5))
#: Their noise: log10-normal with σ 0.2 (a factor 1.6; assumed: the targets are stated as
#: "about" values).
LCMV_TARGET_SD_LOG10 = 0.2
LCMV_PRECURSORS = 150.0  # Blattman 2002: 100-200 GP33-specific precursors per mouse


def lcmv_targets() -> pd.DataFrame:
    """The §4 LCMV targets as measurements of ``lcmv_antigen_experienced``."""
    return pd.DataFrame(
        {
            "observableId": "lcmv_antigen_experienced",
            "simulationConditionId": "lcmv_armstrong",
            "time": [t for t, _ in LCMV_TARGETS],
            "measurement": [v for _, v in LCMV_TARGETS],
            "noiseParameters": LCMV_TARGET_SD_LOG10,
        }
    )


def write_crauste_problem(
    out: str | os.PathLike[str],
    data: str | os.PathLike[str] | None = None,
    *,
    lcmv: bool = True,
) -> PetabProblem:
    """Write the PEtab problem (mdrsim CD8 module + Crauste's data, and with ``lcmv`` the
    science notes' LCMV targets as a second condition) into ``out``; load it back.

    The two conditions share the CD8 parameters; Crauste's antigen has its own growth and kill
    rates (estimated), the LCMV condition keeps the module's LCMV-Armstrong virus (assumed)
    and 150 precursors.
    """
    meas = crauste_measurements(data)
    observables = list(OBSERVABLES)
    conditions: dict[str, dict[str, float | str]] = {
        "crauste2017": {
            "N_cd8": NAIVE_AT_DAY0,
            "r_virus": "r_virus_crauste2017",
            "k_kill_virus": "k_kill_virus_crauste2017",
        }
    }
    if lcmv:
        meas = pd.concat([meas, lcmv_targets()], ignore_index=True)
        observables.append(
            ObservableMap(
                "lcmv_antigen_experienced",
                "A_cd8 + E_cd8 + M_cd8",
                transformation="log10",
                name="LCMV: activated + effector + memory",
            )
        )
        conditions["lcmv_armstrong"] = {
            "N_cd8": LCMV_PRECURSORS,
            "r_virus": LCMV_ARMSTRONG.growth_rate,
            "k_kill_virus": LCMV_ARMSTRONG.kill_rate,
        }
    return write_petab_problem(
        cd8_fit_model(),
        out,
        measurements=meas,
        observables=observables,
        free=FREE,
        conditions=conditions,
        name="cd8_crauste2017",
    )


#: Crauste observable → the CD8 species it is (the mapping above).
SPECIES = {
    "observable_Naive": "N_cd8",
    "observable_EarlyEffector": "A_cd8",
    "observable_LateEffector": "E_cd8",
    "observable_Memory": "M_cd8",
}


def simulate_conditions(
    values: Mapping[str, float], times: np.ndarray | None = None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Simulate the two conditions with the CD8 and nuisance parameters in ``values`` (linear,
    by id, as the fit names them); returns observable id → (times, values) on a fine grid."""
    from mdrsim.engine import compile_model, simulate

    t = np.linspace(0.0, 60.0, 601) if times is None else np.asarray(times, dtype=float)
    model = compile_model(cd8_fit_model())
    cd8 = {k: float(v) for k, v in values.items() if k in model.parameter_names}
    params: dict[str, Any] = {k: [v, v] for k, v in cd8.items()}
    params["r_virus"] = [
        values.get("r_virus_crauste2017", LCMV_ARMSTRONG.growth_rate),
        LCMV_ARMSTRONG.growth_rate,
    ]
    params["k_kill_virus"] = [
        values.get("k_kill_virus_crauste2017", LCMV_ARMSTRONG.kill_rate),
        LCMV_ARMSTRONG.kill_rate,
    ]
    res = simulate(
        model,
        t,
        params=params,
        initial={"N_cd8": [NAIVE_AT_DAY0, LCMV_PRECURSORS]},
        n_patients=2,
        rtol=1e-8,
        atol=1e-6,
        check=True,
    )
    out = {obs: (t, np.asarray(res[sp][0])) for obs, sp in SPECIES.items()}
    out["lcmv_antigen_experienced"] = (t, np.asarray(res["cd8_antigen_experienced"][1]))
    return out


def fitted_trajectories(
    objective: Any, theta: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """:func:`simulate_conditions` at θ of an :class:`~mdrsim.fit.Objective` of this problem."""
    from mdrsim.io.petab import from_scale

    ids = list(objective.theta_ids)
    scales = objective.problem.parameters.loc[ids, "scale"]
    values = {i: float(from_scale(v, s)) for i, v, s in zip(ids, theta, scales, strict=True)}
    return simulate_conditions(values)
