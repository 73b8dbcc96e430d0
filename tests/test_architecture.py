"""The layering rule (docs/design: data flows one way) is checked with import-linter.

The contracts live in pyproject.toml ([tool.importlinter]); CI also runs ``lint-imports``. The
second test shows the check can fail: a copy of the package where one engine module imports the
CLI must break the contract.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(src: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )


def test_import_contracts_are_kept() -> None:
    out = _lint(ROOT / "src")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


def test_a_core_module_importing_the_cli_breaks_the_contract(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "src" / "mdrsim", tmp_path / "mdrsim",
                    ignore=shutil.ignore_patterns("__pycache__"))
    events = tmp_path / "mdrsim" / "engine" / "events.py"
    events.write_text(events.read_text() + "\nimport mdrsim.cli  # noqa: E402,F401\n")
    out = _lint(tmp_path)
    assert out.returncode != 0
    assert "The core never imports the CLI or the report layer BROKEN" in out.stdout
    assert "mdrsim.engine.events -> mdrsim.cli" in out.stdout
