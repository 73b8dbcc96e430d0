"""A store that checks itself: chunk records (range, rows, SHA-256), repair on resume, strays
ignored, damaged stores refused on read, unwritable output reported, workers that die with
their parent. Each fault is injected into a real store written by the tiny model."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import mdrsim.trial.store as store_mod
from mdrsim.errors import OutputPathError, TrialStoreError
from mdrsim.trial import TrialPlan, TrialStore, parse_trial, run_trial
from mdrsim.trial.analysis import analyse_store

N, CHUNK = 30, 10


def _plan(doc: dict[str, Any], tmp_path: Path) -> TrialPlan:
    return TrialPlan.from_spec(parse_trial(doc), tmp_path)


@pytest.fixture
def reference(trial_doc: dict[str, Any], tmp_path: Path) -> Path:
    out = tmp_path / "ref"
    run_trial(_plan(trial_doc, tmp_path), N, out, chunk_size=CHUNK)
    return out


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _same(a: Path, b: Path) -> None:
    for kind in ("patients", "endpoints", "trajectories"):
        x = TrialStore(a).read(kind)
        y = TrialStore(b).read(kind)
        sort = [c for c in ("arm", "patient", "time", "variable") if c in x.columns]
        pd.testing.assert_frame_equal(
            x.sort_values(sort).reset_index(drop=True),
            y.sort_values(sort).reset_index(drop=True),
            check_exact=True,
        )


def test_manifest_records_every_chunk(reference: Path) -> None:
    m = json.loads((reference / "manifest.json").read_text())
    assert sorted(m["chunks"], key=int) == ["0", "1", "2"]
    c1 = m["chunks"]["1"]
    assert c1["patients"] == [10, 20] and c1["rows"] == 10
    assert "patients/chunk-000001.parquet" in c1["files"]
    rec = c1["files"]["endpoints/treated/chunk-000001.parquet"]
    assert len(rec["sha256"]) == 64 and rec["rows"] == 10
    assert TrialStore(reference).check().bad == {}


@pytest.mark.parametrize(
    "fault", ["flip", "truncate", "copy_other_chunk", "copy_other_arm", "delete"]
)
def test_resume_repairs_a_damaged_chunk(
    fault: str, reference: Path, trial_doc: dict[str, Any], tmp_path: Path
) -> None:
    out = _copy(reference, tmp_path / fault)
    target = out / "endpoints" / "control" / "chunk-000001.parquet"
    if fault == "flip":
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0xFF
        target.write_bytes(bytes(data))
    elif fault == "truncate":
        target.write_bytes(target.read_bytes()[:100])
    elif fault == "copy_other_chunk":
        shutil.copy(out / "endpoints" / "control" / "chunk-000000.parquet", target)
    elif fault == "copy_other_arm":
        shutil.copy(out / "endpoints" / "treated" / "chunk-000001.parquet", target)
    else:
        target.unlink()
    # Reading refuses the damaged store and names the chunk …
    with pytest.raises(TrialStoreError, match="chunk 1"):
        analyse_store(TrialStore(out))
    # … and resuming recomputes exactly that chunk, says so, and gives the reference back.
    run = run_trial(_plan(trial_doc, tmp_path), N, out, chunk_size=CHUNK)
    assert run.chunks_run == 1 and run.chunks_skipped == 2
    assert any("chunk 1" in r for r in run.repairs)
    _same(reference, out)


def test_stray_chunk_files_are_ignored(
    reference: Path, trial_doc: dict[str, Any], tmp_path: Path
) -> None:
    out = _copy(reference, tmp_path / "stray")
    shutil.copy(
        out / "endpoints" / "control" / "chunk-000000.parquet",
        out / "endpoints" / "control" / "chunk-000007.parquet",
    )
    (out / "endpoints" / "ghost").mkdir()
    shutil.copy(
        out / "endpoints" / "control" / "chunk-000000.parquet",
        out / "endpoints" / "ghost" / "chunk-000000.parquet",
    )
    store = TrialStore(out)
    assert len(store.check().strays) == 2
    counts = store.query("SELECT arm, count(*) AS n FROM endpoints GROUP BY arm ORDER BY arm")
    assert counts.to_dict("list") == {"arm": ["control", "treated"], "n": [N, N]}
    assert len(store.endpoints()) == 2 * N
    summary = analyse_store(store).summary
    assert list(summary["n"]) == [N, N]
    run = run_trial(_plan(trial_doc, tmp_path), N, out, chunk_size=CHUNK)
    assert run.chunks_run == 0 and any("stray" in r for r in run.repairs)


def test_chunk_written_but_not_recorded_is_recomputed(
    reference: Path, trial_doc: dict[str, Any], tmp_path: Path
) -> None:
    out = _copy(reference, tmp_path / "unrecorded")
    m = json.loads((out / "manifest.json").read_text())
    del m["chunks"]["2"]
    (out / "manifest.json").write_text(json.dumps(m))
    run = run_trial(_plan(trial_doc, tmp_path), N, out, chunk_size=CHUNK)
    assert run.chunks_run == 1
    _same(reference, out)


def test_manifest_holding_a_list_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("[1, 2, 3]")
    with pytest.raises(TrialStoreError, match="JSON list"):
        TrialStore(tmp_path).read_manifest()
    (tmp_path / "manifest.json").write_bytes(b"\xff\xfe{")
    with pytest.raises(TrialStoreError, match="not valid JSON"):
        TrialStore(tmp_path).read_manifest()


def test_output_path_that_is_a_file(trial_doc: dict[str, Any], tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputPathError, match="file"):
        run_trial(_plan(trial_doc, tmp_path), N, blocker, chunk_size=CHUNK)
    with pytest.raises(OutputPathError):
        run_trial(_plan(trial_doc, tmp_path), N, blocker / "sub", chunk_size=CHUNK)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_full_or_read_only_disk_is_reported_and_the_store_resumes(
    code: int,
    reference: Path,
    trial_doc: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The disk fails on the 5th file written: a clear OutputPathError naming the cause; the
    chunks recorded before stay, and a rerun (disk fixed) completes to the reference."""
    out = tmp_path / "disk"
    real = store_mod._atomic_write_bytes_unchecked
    writes = {"n": 0}

    def failing(path: Path, data: bytes) -> None:
        writes["n"] += 1
        if writes["n"] >= 5:
            raise OSError(code, os.strerror(code), str(path))
        real(path, data)

    monkeypatch.setattr(store_mod, "_atomic_write_bytes_unchecked", failing)
    with pytest.raises(OutputPathError, match="cannot write") as info:
        run_trial(_plan(trial_doc, tmp_path), N, out, chunk_size=CHUNK)
    assert "run the same command again" in str(info.value)
    monkeypatch.setattr(store_mod, "_atomic_write_bytes_unchecked", real)
    run = run_trial(_plan(trial_doc, tmp_path), N, out, chunk_size=CHUNK)
    assert run.resumed and run.manifest["complete"]
    _same(reference, out)


_KILLED_TRIAL = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from mdrsim.trial import LocalExecutor, TrialPlan, parse_trial, run_trial
    import yaml
    doc = yaml.safe_load(Path(sys.argv[1]).read_text())

    def slow(p):
        time.sleep(0.2)

    plan = TrialPlan.from_spec(parse_trial(doc), Path(sys.argv[1]).parent)
    run_trial(plan, 4000, Path(sys.argv[2]), chunk_size=10,
              executor=LocalExecutor(workers=2), progress=slow)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="kill -9 and fork are POSIX")
def test_kill_9_of_a_trial_leaves_no_orphan_workers(
    trial_doc: dict[str, Any], tmp_path: Path
) -> None:
    psutil = pytest.importorskip("psutil")
    import yaml

    spec = tmp_path / "trial.yaml"
    spec.write_text(yaml.safe_dump(trial_doc))
    script = tmp_path / "run.py"
    script.write_text(_KILLED_TRIAL)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(spec), str(tmp_path / "out")], env=env
    )
    workers: list[Any] = []
    try:
        parent = psutil.Process(proc.pid)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(workers) < 2:
            time.sleep(0.2)
            workers = [c for c in parent.children(recursive=True) if c.is_running()]
            assert proc.poll() is None, "the trial ended before its workers started"
        assert len(workers) >= 2, "the pool workers never started"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        _gone, alive = psutil.wait_procs(workers, timeout=10)
        assert not alive, f"orphan workers still running: {[p.pid for p in alive]}"
    finally:
        if proc.poll() is None:
            proc.kill()
        for w in workers:  # never leave this test's own workers behind, even when it fails
            if w.is_running():
                w.kill()


def test_impossible_endpoints_fail_the_patient_with_a_reason() -> None:
    """An "ok" patient with a negative ANC nadir, an infinite PFS or a diameter change below
    -100 % is not counted: it is failed with the reason."""
    from mdrsim.trial.runner import fail_impossible
    from mdrsim.trial.simulator import conform_endpoints

    ep = conform_endpoints(
        pd.DataFrame(
            {
                "patient": [0, 1, 2, 3],
                "status": ["ok", "ok", "ok", "failed"],
                "reason": ["", "", "", "solver"],
                "anc_nadir": [1.2, -0.5, 2.0, -1.0],
                "pfs_days": [100.0, 50.0, float("inf"), None],
                "best_change_pct": [-30.0, -20.0, -150.0, None],
            }
        ),
        "a",
    )
    out = fail_impossible(ep)
    assert list(out["status"]) == ["ok", "failed", "failed", "failed"]
    assert "anc_nadir = -0.5" in out["reason"][1]
    assert "pfs_days = inf" in out["reason"][2] and "best_change_pct = -150" in out["reason"][2]
    assert out["reason"][3] == "solver"  # already failed: left as it was
