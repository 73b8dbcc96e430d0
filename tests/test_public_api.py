"""The curated public API of ``mdrsim`` (about 15 names) resolves, lazily."""

from __future__ import annotations

import subprocess
import sys

import pytest

import mdrsim


@pytest.mark.parametrize("name", [n for n in mdrsim.__all__ if n != "__version__"])
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(mdrsim, name) is not None
    assert name in dir(mdrsim)


def test_all_matches_the_lazy_table() -> None:
    assert set(mdrsim.__all__) - {"__version__"} == set(mdrsim._API)


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'simulat'"):
        mdrsim.simulat  # noqa: B018


def test_import_is_light() -> None:
    # A fresh interpreter: importing mdrsim must not pull in the heavy stacks.
    code = (
        "import sys, mdrsim\n"
        "heavy = ['numba', 'sympy', 'matplotlib', 'dask', 'lifelines', 'duckdb', 'xarray']\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_api_runs_the_example_end_to_end() -> None:
    run = mdrsim.run_scenario(mdrsim.load_example("doxorubicin"))
    assert run.summary["scenario"] == "doxorubicin alone"
