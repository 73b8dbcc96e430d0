"""Shared fixtures: a tiny tumour–drug model (fast) and a trial document around it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

TINY_MODEL = """model tiny()
  T' = r*T - kill*C*T
  C' = -k_el*C
  T = 10
  C = 0
  r = 0.01
  kill = 0.05
  k_el = 0.5
end
"""


def make_trial(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """A two-arm trial on the tiny model; ``overrides`` replace top-level fields."""
    model = tmp_path / "tiny.ant"
    model.write_text(TINY_MODEL)
    doc: dict[str, Any] = {
        "name": "tiny",
        "seed": 42,
        "horizon_days": 168,
        "scan_interval_days": 28,
        "trajectories_first": 5,
        "simulator": {"model": "tiny.ant", "burden": ["T"]},
        "population": {
            "parameters": {
                "r": {"dist": "lognormal", "median": 0.01, "cv": 0.5},
                "kill": {"dist": "lognormal", "median": 0.05, "cv": 0.5},
                "T": {"dist": "uniform", "low": 5, "high": 20},
            },
            "covariates": {"age": {"dist": "normal", "mean": 60, "sd": 8}},
            "correlations": [{"between": ["r", "kill"], "rho": 0.3}],
            "plausibility": {"r": {"upper": 0.05}},
        },
        "arms": [
            {"name": "control"},
            {
                "name": "treated",
                "dosing": [{"state": "C", "amount": 2.0, "every_days": 21, "doses": 8}],
            },
        ],
    }
    doc.update(overrides)
    return doc


@pytest.fixture
def trial_doc(tmp_path: Path) -> dict[str, Any]:
    return make_trial(tmp_path)
