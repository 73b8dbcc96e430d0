"""A newcomer's first hour (issue 13): fast imports, untruncated piped tables, `info` on the
example model (name, units, sources, states apart from parameters), the inhibitor really
switched off by `--param doseI=0`, and an assay table that says the fold is with the
inhibitor."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mdrsim.cli import app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "tumour_mdr1.ant"
HEAVY = ("matplotlib", "dask", "lifelines", "duckdb", "xarray")
# `mdrsim --help` must also stay off the numerical stack (target < 0.5 s): none of these either.
HELP_HEAVY = (*HEAVY, "numba", "sympy", "pandas", "scipy", "pydantic")
runner = CliRunner()


def _imported_after(code: str, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    """The heavy modules present in sys.modules after running ``code`` in a fresh Python."""
    probe = (
        f"{code}\nimport sys, json\n"
        f"print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    loaded: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded


def test_import_mdrsim_is_light() -> None:
    assert _imported_after("import mdrsim") == []


def test_help_is_light() -> None:
    code = (
        "import sys\nfrom mdrsim.cli import app\nsys.argv = ['mdrsim', '--help']\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
    )
    assert _imported_after(code, HELP_HEAVY) == []


def test_the_probe_sees_a_heavy_import() -> None:
    # The check above can fail: importing the trial plots pulls matplotlib in.
    assert "matplotlib" in _imported_after("import mdrsim.report.trial_plots")
    # ... and a CLI module importing the patient model at its top level (as cli/trial.py once
    # imported the trial runner) pulls the numerical stack into `mdrsim --help`.
    assert {"sympy", "numba", "pandas"} <= set(
        _imported_after("import mdrsim.patient.model", HELP_HEAVY)
    )


def test_piped_tables_are_not_truncated() -> None:
    # CliRunner's stdout is not a terminal, like a pipe or a file.
    # COLUMNS=None makes the runner unset it for the call (a key merely left out would keep
    # whatever the test process has, e.g. under pytest-xdist).
    r = runner.invoke(app, ["drugs", "list"], env={"COLUMNS": None})
    assert r.exit_code == 0, r.output
    assert "…" not in r.output
    assert "doxorubicin" in r.output


def test_info_on_the_example_model() -> None:
    # Full width (pytest-xdist workers set COLUMNS=80, which would wrap the title).
    r = runner.invoke(app, ["info", str(EXAMPLE)], env={"COLUMNS": None})
    assert r.exit_code == 0, r.output
    first = r.output.strip().splitlines()[0]
    # The model's name, not its SBML id; states counted apart from parameters.
    assert "Tumour with an MDR1-high clone" in first and "timc_mdr1" not in first
    assert "10 states, 38 parameters" in first
    j = runner.invoke(app, ["info", str(EXAMPLE), "--json"])
    doc = json.loads(j.stdout)
    rows = {c["name"]: c for c in doc["components"]}
    assert len(doc["states"]) == 10
    # Every entry declares a unit and a source (issue 13: all 48 were dimensionless and "—").
    assert all(c["source"] for c in rows.values()), [n for n, c in rows.items() if not c["source"]]
    assert rows["r_s"]["unit"] == "per_day" and rows["Cp"]["unit"] == "umol/L"
    assert rows["Ts"]["unit"] == "cells_1e9"
    dimensionless = [n for n, c in rows.items() if c["unit"] == "dimensionless"]
    assert len(dimensionless) < 10, dimensionless


@pytest.mark.slow
def test_dosei_zero_switches_the_inhibitor_off(tmp_path: Path) -> None:
    r = runner.invoke(
        app,
        ["simulate", str(EXAMPLE), "--until", "42", "--points", "42", "--param", "doseI=0",
         "--out", str(tmp_path), "--json"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    ip = next(v for v in doc["variables"] if v["variable"] == "Ip")
    assert ip["initial"] == 0.0 and ip["max"] == 0.0


def test_ic50_with_an_inhibitor_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Off a terminal tables print full width; pytest-xdist workers set COLUMNS=80, which would
    # wrap the long labels this test reads.
    monkeypatch.delenv("COLUMNS", raising=False)
    r = runner.invoke(
        app,
        ["assay", "ic50", "--drug", "doxorubicin", "--cell-line", "MES-SA/Dx5",
         "--inhibitor", "tariquidar:100nM", "--out", str(tmp_path)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "fold_resistance (with tariquidar 0.1 µM" in r.output
    assert "ic50_uM (with tariquidar" in r.output


def test_declared_time_unit_labels_the_axis(tmp_path: Path) -> None:
    from mdrsim.cli.model import _time_unit

    seconds = tmp_path / "s.ant"
    seconds.write_text("model s()\n  unit time_unit = second\n  x' = -k*x\n  x = 1\n  k = 1\nend\n")
    plain = tmp_path / "p.ant"
    plain.write_text("model p()\n  x' = -k*x\n  x = 1\n  k = 1\nend\n")
    assert _time_unit(seconds) == "s"
    assert _time_unit(plain) == "model time unit"
    assert _time_unit(EXAMPLE) == "day"


def test_run_without_figures_does_not_import_matplotlib() -> None:
    # `mdrsim run --no-figures` imports the patient report module but draws nothing.
    assert "matplotlib" not in _imported_after("import mdrsim.report.patient_report")
