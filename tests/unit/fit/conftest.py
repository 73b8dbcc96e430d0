"""Small PEtab problems written to a temporary folder, with known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mdrsim.io import read_antimony, write_sbml

DECAY = """
model decay
  compartment cell = 1
  species A in cell = 1; species B in cell = 0
  k1 = 0.5; k2 = 0.2
  R1: A -> B; k1 * A
  R2: B -> ; k2 * B
end
"""

TRUTH = {"k1": 0.5, "k2": 0.2, "scale": 2.0}
TIMES = np.array([0.5, 1.0, 2.0, 4.0, 8.0])


def analytic(a0: float, k1: float, k2: float, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = a0 * np.exp(-k1 * t)
    b = a0 * k1 / (k2 - k1) * (np.exp(-k1 * t) - np.exp(-k2 * t))
    return a, b


def write_problem(
    folder: Path,
    antimony: str,
    *,
    conditions: pd.DataFrame,
    measurements: pd.DataFrame,
    observables: pd.DataFrame,
    parameters: pd.DataFrame,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.xml").write_text(write_sbml(read_antimony(antimony)), encoding="utf-8")
    conditions.to_csv(folder / "conditions.tsv", sep="\t", index=False)
    measurements.to_csv(folder / "measurements.tsv", sep="\t", index=False)
    observables.to_csv(folder / "observables.tsv", sep="\t", index=False)
    parameters.to_csv(folder / "parameters.tsv", sep="\t", index=False)
    (folder / "problem.yaml").write_text(
        "format_version: 1\nparameter_file: parameters.tsv\nproblems:\n"
        "- condition_files: [conditions.tsv]\n  measurement_files: [measurements.tsv]\n"
        "  observable_files: [observables.tsv]\n  sbml_files: [model.xml]\n",
        encoding="utf-8",
    )
    return folder / "problem.yaml"


def decay_tables(noise_b: str = "normal", transformation_a: str = "log") -> dict[str, pd.DataFrame]:
    """Two conditions (A0 = 1, 2); B measured with an estimated scale, A log-normally."""
    rows = []
    for cond, a0 in (("c1", 1.0), ("c2", 2.0)):
        a, b = analytic(a0, TRUTH["k1"], TRUTH["k2"], TIMES)
        for i, (t, av, bv) in enumerate(zip(TIMES, a, b, strict=True)):
            rows.append(("obs_B", cond, TRUTH["scale"] * bv, t, "scale", ""))
            rows.append(("obs_A", cond, av * np.exp(0.05 * (-1) ** i), t, "", "sd_A"))
    measurements = pd.DataFrame(
        rows,
        columns=[
            "observableId",
            "simulationConditionId",
            "measurement",
            "time",
            "observableParameters",
            "noiseParameters",
        ],
    )
    observables = pd.DataFrame(
        {
            "observableId": ["obs_B", "obs_A"],
            "observableFormula": ["observableParameter1_obs_B * B", "A"],
            "noiseFormula": ["0.05", "noiseParameter1_obs_A"],
            "observableTransformation": ["lin", transformation_a],
            "noiseDistribution": [noise_b, "normal"],
        }
    )
    conditions = pd.DataFrame({"conditionId": ["c1", "c2"], "A": [1.0, 2.0]})
    parameters = pd.DataFrame(
        {
            "parameterId": ["k1", "k2", "scale", "sd_A"],
            "parameterScale": ["log10", "log10", "lin", "log10"],
            "lowerBound": [1e-2, 1e-2, 0.1, 1e-3],
            "upperBound": [10.0, 10.0, 10.0, 10.0],
            "nominalValue": [0.4, 0.3, 1.5, 0.1],
            "estimate": [1, 1, 1, 1],
        }
    )
    return {
        "conditions": conditions,
        "measurements": measurements,
        "observables": observables,
        "parameters": parameters,
    }


@pytest.fixture(scope="session")
def decay_problem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_problem(tmp_path_factory.mktemp("decay"), DECAY, **decay_tables())


@pytest.fixture(scope="session")
def decay_objective(decay_problem: Path):  # type: ignore[no-untyped-def]
    from mdrsim.fit import Objective
    from mdrsim.io.petab import load_petab

    return Objective(load_petab(decay_problem))
