"""The tutorial's Python blocks, run in order as one script in a fresh interpreter."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

TUTORIAL = Path(__file__).resolve().parents[2] / "docs" / "tutorial.md"


def test_tutorial_code_runs(tmp_path: Path):
    blocks = re.findall(r"```python\n(.*?)```", TUTORIAL.read_text(), flags=re.S)
    assert len(blocks) >= 5
    script = tmp_path / "tutorial.py"
    script.write_text("\n".join(blocks))
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert "undefined symbol 'kk'" in out.stdout
    assert "AUC(0-5 d)" in out.stdout
    assert "doxorubicin + tariquidar: best response" in out.stdout
    assert "median_pfs_days" in out.stdout
