"""The one input front (mdrsim.engine.batch) and the module layout of the engine."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from mdrsim.engine import EventTable, compile_model
from mdrsim.engine.batch import (
    batch_size,
    check_arrays,
    check_times,
    event_rows,
    named_inputs,
    skip_matrix,
    time_grid,
    value_matrix,
)
from mdrsim.errors import SimulationInputError

from .models import one_compartment_pk

ENGINE = Path(__file__).resolve().parents[3] / "src" / "mdrsim" / "engine"


@pytest.mark.parametrize(
    ("times", "message"),
    [
        ([0.0], "at least 2 times"),
        ([[0.0, 1.0]], "1-D array"),
        ([0.0, np.nan], "non-finite"),
        ([0.0, 2.0, 1.0], "strictly increasing"),
    ],
)
def test_time_grid_errors_are_typed(times, message):
    with pytest.raises(SimulationInputError, match=message):
        check_times(np.asarray(times))


def test_time_grid_from_until():
    np.testing.assert_array_equal(time_grid(None, 2.0, 4), [0.0, 0.5, 1.0, 1.5, 2.0])
    with pytest.raises(SimulationInputError, match="give t_eval or until"):
        time_grid(None, None, 4)
    with pytest.raises(SimulationInputError, match="until must be a positive number"):
        time_grid(None, -1.0, 4)


def test_value_matrix_by_name():
    m, given = value_matrix(
        ["a", "b"], np.array([1.0, 2.0]), {"b": [5.0, 6.0, 7.0]}, 3, "parameter"
    )
    np.testing.assert_array_equal(m, [[1, 5], [1, 6], [1, 7]])
    np.testing.assert_array_equal(given, [False, True])
    with pytest.raises(SimulationInputError, match=r"unknown parameter 'bb'.*did you mean: b"):
        value_matrix(["a", "b"], np.array([1.0, 2.0]), {"bb": 1.0}, 1, "parameter")
    with pytest.raises(SimulationInputError, match="expected a number or 3 values"):
        value_matrix(["a"], np.array([1.0]), {"a": [1.0, 2.0]}, 3, "parameter")


def test_batch_size_and_shapes_are_checked():
    assert batch_size({"a": [1.0, 2.0]}, {}, None) == 2
    assert batch_size({}, {}, None) == 1
    with pytest.raises(SimulationInputError, match="different lengths"):
        batch_size({"a": [1.0, 2.0]}, {"b": [1.0]}, None)
    with pytest.raises(SimulationInputError, match="n_trajectories must be >= 1"):
        batch_size({}, {}, 0, "n_trajectories")
    cm = compile_model(one_compartment_pk())
    n_p = len(cm.parameter_names)
    with pytest.raises(SimulationInputError, match=rf"params must have shape .*{n_p}\)"):
        check_arrays(cm, np.zeros((2, n_p + 1)), np.zeros((2, 1)))
    with pytest.raises(SimulationInputError, match=r"y0 must have shape \(2, 1\)"):
        check_arrays(cm, np.zeros((2, n_p)), np.zeros((3, 1)))
    with pytest.raises(SimulationInputError, match="at least one trajectory"):
        check_arrays(cm, np.zeros((0, n_p)), np.zeros((0, 1)), unit="trajectory")
    with pytest.raises(SimulationInputError, match=r"skip_init must have shape \(2, 0\)"):
        skip_matrix(np.zeros((2, 3)), 2, 0)


def test_named_inputs_move_constant_species_and_record_overrides():
    cm = compile_model(one_compartment_pk())
    inputs = named_inputs(cm, {"k_el": [0.1, 0.2]}, {"C": 3.0}, 2)
    np.testing.assert_array_equal(inputs.y0[:, cm.state_names.index("C")], [3.0, 3.0])
    np.testing.assert_array_equal(inputs.params[:, cm.parameter_names.index("k_el")], [0.1, 0.2])
    assert inputs.overrides == ["C", "k_el"]


def test_event_rows_resolve_names():
    cm = compile_model(one_compartment_pk())
    rows = event_rows(EventTable().bolus([1.0, 2.0], "C", 5.0), 2, cm)
    np.testing.assert_array_equal(rows.time, [[1.0], [2.0]])
    assert rows.kind.tolist() == [0] and rows.op.tolist() == [1]
    with pytest.raises(SimulationInputError, match="'Cx' is not a state"):
        event_rows(EventTable().bolus(1.0, "Cx", 1.0), 1, cm)


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node except those under ``if TYPE_CHECKING:`` (imports for annotations only)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return [n for n in ast.walk(tree) if id(n) not in skip]


def _engine_imports() -> dict[str, set[str]]:
    """Module -> engine modules it imports at run time (also inside functions)."""
    graph: dict[str, set[str]] = {}
    for path in ENGINE.glob("*.py"):
        name = path.stem
        deps: set[str] = set()
        for node in _runtime_nodes(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.startswith("mdrsim.engine."):
                    deps.add(node.module.split(".")[2])
                elif node.module == "mdrsim.engine" and name != "__init__":
                    deps.update(a.name for a in node.names)
        graph[name] = deps
    return graph


def test_engine_modules_import_each_other_without_a_circle():
    graph = _engine_imports()
    graph.pop("__init__")
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                raise AssertionError("import circle: " + " -> ".join([*path, node, dep]))
            if dep in graph and dep not in state:
                visit(dep, [*path, node])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
    # The modules the layout promises exist (docs/engine.md).
    for module in ("status", "cache", "batch", "random", "stochastic_kernel", "options"):
        assert module in graph
