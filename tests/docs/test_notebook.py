"""The example notebook (examples/tour.ipynb) runs top to bottom, and the value each cell ends
with displays as HTML where it has a rich display (as Jupyter would show it). The cells are
executed in one namespace here, without a Jupyter kernel, so the test needs nothing beyond
the test dependencies."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "tour.ipynb"


@pytest.mark.slow
def test_tour_notebook_runs() -> None:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4
    namespace: dict[str, object] = {"__name__": "__tour__"}
    shown: list[str] = []
    for i, cell in enumerate(c for c in nb["cells"] if c["cell_type"] == "code"):
        source = "".join(cell["source"])
        tree = ast.parse(source, filename=f"cell {i}")
        last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        if last is not None:
            tree.body = tree.body[:-1]
        exec(compile(tree, f"cell {i}", "exec"), namespace)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), f"cell {i}", "eval"), namespace)
            if hasattr(value, "_repr_html_"):
                shown.append(value._repr_html_())
    # The batch result and the patient run display as a table with a figure.
    rich = [h for h in shown if "<table" in h and "data:image/png" in h]
    assert len(rich) >= 2, f"{len(rich)} rich displays"
