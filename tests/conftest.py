"""Shared fixtures. Generated model code goes to a per-session cache directory so the suite
never depends on (or pollutes) a user's cache."""

from __future__ import annotations

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if "MDRSIM_CACHE_DIR" not in os.environ:
        import tempfile

        os.environ["MDRSIM_CACHE_DIR"] = tempfile.mkdtemp(prefix="mdrsim-test-cache-")
