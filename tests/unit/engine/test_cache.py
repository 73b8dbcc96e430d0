"""Compile once, run many: the on-disk cache lets a second process start without compiling."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from mdrsim.engine import compile_model, simulate

from .models import logistic

_PROBE = textwrap.dedent(
    """
    import json, sys, time
    sys.path.insert(0, {root!r})
    from tests.unit.engine.models import logistic
    from mdrsim.engine import compile_model, simulate
    t0 = time.perf_counter()
    cm = compile_model(logistic())
    seconds = time.perf_counter() - t0
    r = simulate(cm, [0.0, 10.0])
    fns = [getattr(cm.module, n) for n in ("rhs", "jac", "lu_factor", "lu_solve")]
    print(json.dumps({{"hits": sum(f.cache_hits for f in fns), "seconds": seconds,
                      "final": float(r["N"][0, -1]), "path": str(cm.source_path)}}))
    """
)


def _probe(cache: Path) -> dict[str, float]:
    root = str(Path(__file__).resolve().parents[3])
    env = {**os.environ, "MDRSIM_CACHE_DIR": str(cache)}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(root=root)],
        env=env, capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_second_process_loads_compiled_code_from_disk(tmp_path: Path):
    cold = _probe(tmp_path)
    warm = _probe(tmp_path)
    assert cold["hits"] == 0  # compiled
    assert warm["hits"] == 4  # every model function came from numba's disk cache
    assert warm["final"] == cold["final"]
    assert Path(warm["path"]).is_file() and warm["path"] == cold["path"]


def test_numbers_do_not_change_the_compiled_code(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("MDRSIM_CACHE_DIR", str(tmp_path))
    a = compile_model(logistic(r=0.3))
    b = compile_model(logistic(r=0.9, K=10.0))
    assert a.key == b.key
    assert a.module is b.module
    ra, rb = simulate(a, [0.0, 5.0]), simulate(b, [0.0, 5.0])
    assert ra["N"][0, -1] != rb["N"][0, -1]  # each model's own default numbers are used
