"""The examples in docs/reports.md run and write their reports."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reports.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_reports_doc_example_runs(tmp_path: Path) -> None:
    blocks = _blocks()
    assert len(blocks) == 2
    script = tmp_path / "example.py"
    script.write_text(blocks[1], encoding="utf-8")
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"


def test_patient_report_doc_example_runs(tmp_path: Path) -> None:
    # The example names examples/doxorubicin.yaml relative to the repository root.
    (tmp_path / "examples").mkdir()
    shutil.copy(ROOT / "examples" / "doxorubicin.yaml", tmp_path / "examples")
    script = tmp_path / "example.py"
    script.write_text(_blocks()[0] + "\nprint(sorted(p.name for p in report.files))\n")
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert "'report.html'" in out.stdout and "'summary.json'" in out.stdout
    assert (tmp_path / "results" / "dox" / "infection.png").is_file()
