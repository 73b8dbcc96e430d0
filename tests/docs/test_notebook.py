"""The example notebook (examples/tour.ipynb) runs top to bottom in a real Jupyter kernel
(nbclient + ipykernel, as a user's Jupyter would run it), and the results it ends its cells
with display as HTML tables with a figure where they have a rich display."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "tour.ipynb"


@pytest.mark.slow
def test_tour_notebook_runs_in_a_kernel(tmp_path: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    # The kernel's working folder is a scratch folder: the tour writes nothing into the repository.
    client = NotebookClient(
        nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError naming the cell on any failure
    html = [
        output["data"]["text/html"]
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "execute_result" and "text/html" in output.get("data", {})
    ]
    # The batch result and the patient run display as a table with a figure.
    rich = [h for h in html if "<table" in h and "data:image/png" in h]
    assert len(rich) >= 2, f"{len(rich)} rich displays of {len(html)} HTML outputs"
    errors = [
        output
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors
