"""Fixtures for the report tests."""

from __future__ import annotations

import pandas as pd
import pytest

from .trajectories import make_traj


@pytest.fixture
def traj() -> pd.DataFrame:
    return make_traj()
