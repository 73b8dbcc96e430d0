"""The wheel carries the examples, and ``load_example`` works from an installed wheel.

Built the way a user's ``pip install`` builds it (isolated build), installed into a fresh
virtual environment. The fresh environment borrows the test environment's third-party packages
through a ``.pth`` line (so the test needs no download of numpy & co.) but not its editable
mdrsim: a directory named in a ``.pth`` file is not a site directory, so the ``.pth`` files of the
editable install there are never read, and the only mdrsim it can import is the wheel's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)],
        check=True, capture_output=True, timeout=600,
    )
    (whl,) = out.glob("mdrsim-*.whl")
    return whl


def test_wheel_contains_the_examples(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    prefix = "mdrsim/examples/"
    shipped = {n.removeprefix(prefix) for n in names if n.startswith(prefix)}
    in_repo = {p.name for p in (ROOT / "src" / "mdrsim" / "examples").iterdir()
               if p.suffix in {".yaml", ".ant", ".py"}}
    assert in_repo <= shipped, f"not in the wheel: {sorted(in_repo - shipped)}"
    assert "mdrsim/py.typed" in names


def test_load_example_from_an_installed_wheel(wheel: Path, tmp_path: Path) -> None:
    # No PYTHONPATH: with the source tree on it, pip would take the checkout's egg-info for an
    # installed mdrsim and skip the wheel.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300, env=env)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True, capture_output=True, timeout=300, env=env,
    )
    purelib = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True, env=env).stdout.strip())
    (purelib / "borrowed_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    code = (
        "import mdrsim, mdrsim.examples as ex\n"
        "print(mdrsim.__file__)\n"
        "s = ex.load_example('doxorubicin')\n"
        "print(type(s).__name__, s.name)\n"
        "print(ex.example_path('trial_reference_model').is_file())\n"
    )
    out = subprocess.run([str(python), "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith(str(venv)), f"imported mdrsim from {lines[0]}, not the wheel"
    assert lines[1] == "Scenario doxorubicin alone"
    assert lines[2] == "True"
