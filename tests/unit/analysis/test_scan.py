"""Scans return exactly what the same runs give one by one (bitwise: the ODE engine solves each
patient of a batch on its own), for a model and for a scenario; grids, paths and fronts."""

from __future__ import annotations

import numpy as np
import pytest

from mdrsim.analysis import Grid, ModelProblem, ScenarioProblem, pareto_mask, parse_grid, scan
from mdrsim.analysis.factors import apply_scenario_values, get_path, parse_path
from mdrsim.errors import AnalysisError

DECAY = """
model decay()
  y' = -k*y + s;
  y = 2;
  k = 0.3;
  s = 0.1;
  at (time >= 1.5): y = y + 1;
end
"""


def test_a_model_scan_equals_the_runs_one_by_one() -> None:
    from mdrsim.engine import compile_model, simulate
    from mdrsim.io import load_model

    cm = compile_model(load_model(DECAY))
    outputs = ["y@2", "max(y)", "min(y)", "auc(y)", "final(y)"]
    problem = ModelProblem(cm, ["k", "s"], outputs, until=4.0, points=40)
    res = scan(problem, [Grid("k", (0.1, 0.3, 0.9)), Grid("s", (0.0, 0.5))])
    assert len(res.table) == 6 and res.n_failed == 0
    t = problem.time_grid()
    assert 1.5 in t  # the event time is on the grid
    for _, row in res.table.iterrows():
        one = simulate(cm, t, params={"k": row["k"], "s": row["s"]})
        y = one.states[0, :, one.state_names.index("y")]
        expected = [y[np.flatnonzero(t == 2.0)[0]], y.max(), y.min(), np.trapezoid(y, t), y[-1]]
        assert [row[o] for o in outputs] == expected  # bitwise


def test_a_scenario_scan_equals_the_patients_one_by_one() -> None:
    from mdrsim.data.library import load_library
    from mdrsim.examples import load_example
    from mdrsim.patient.model import build_patient_model
    from mdrsim.patient.runner import default_inputs, run_patients

    scenario = load_example("doxorubicin_tariquidar.yaml")
    library = load_library()
    dose = "lines[0].doses[0].dose"
    problem = ScenarioProblem(scenario, ["d_ox", dose], library=library)
    res = scan(problem, [Grid("d_ox", (2.0, 12.0)), Grid(dose, (50.0, 75.0))])
    assert res.n_failed == 0
    assert len(set(res.table["cd8_memory_ratio"])) == 4  # every point differs
    for _, row in res.table.iterrows():
        changed = apply_scenario_values(scenario, {dose: row[dose]}, library)
        pm = build_patient_model(changed, library)  # a fresh model, as `mdrsim run` builds
        inputs = default_inputs(pm)
        inputs.params[0, pm.compiled.parameter_names.index("d_ox")] = row["d_ox"]
        ep = run_patients(pm, inputs).endpoints.iloc[0]
        for o in problem.output_names:
            assert row[o] == ep[o], o  # bitwise


def test_scenario_paths_are_validated_with_the_field_named() -> None:
    from mdrsim.data.library import load_library
    from mdrsim.examples import load_example

    scenario = load_example("doxorubicin_tariquidar.yaml")
    assert parse_path("lines[0].doses[0].dose") == ("lines", 0, "doses", 0, "dose")
    assert get_path(scenario, "lines[0].inhibitors[0].offset_h") == 1.0
    with pytest.raises(AnalysisError, match=r"no field 'dos'.*did you mean: dose"):
        get_path(scenario, "lines[0].doses[0].dos")
    with pytest.raises(AnalysisError, match="out of range"):
        get_path(scenario, "lines[3].n_cycles")
    with pytest.raises(AnalysisError, match=r"lines\[0\]\.doses\[0\]\.dose.*greater than 0"):
        apply_scenario_values(scenario, {"lines[0].doses[0].dose": -5.0}, load_library())


def test_grids() -> None:
    assert parse_grid("k=0:1:3").values == (0.0, 0.5, 1.0)
    assert parse_grid("k=1:100:3:log").values == pytest.approx((1.0, 10.0, 100.0))
    assert parse_grid("lines[0].doses[0].dose=50,60,75").name == "lines[0].doses[0].dose"
    for bad in ("k", "k=1:2", "k=a,b", "k=1:0:1"):
        with pytest.raises(AnalysisError, match="--vary"):
            parse_grid(bad)


def test_pareto_front() -> None:
    # minimise column 0, maximise column 1
    v = np.array([[1.0, 1.0], [2.0, 3.0], [1.5, 0.5], [3.0, 3.0], [np.nan, 9.0]])
    assert pareto_mask(v, ["min", "max"]).tolist() == [True, True, False, False, False]
