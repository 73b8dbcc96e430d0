"""Running and storing trials: determinism, resume, executors, failures, queries."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mdrsim.errors import QueryError
from mdrsim.trial import (
    ENDPOINT_COLUMNS,
    ChunkOutput,
    LocalExecutor,
    Progress,
    SimulatorContext,
    TrialPlan,
    TrialSpecError,
    TrialStore,
    TrialStoreError,
    conform_endpoints,
    parse_trial,
    query,
    register_simulator,
    run_trial,
)
from mdrsim.trial.analysis import analyse_store

N = 60


def _plan(doc: dict[str, Any], tmp_path: Path) -> TrialPlan:
    return TrialPlan.from_spec(parse_trial(doc), tmp_path)


def _all(store: TrialStore) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    ep = store.endpoints()
    pts = store.read("patients").sort_values("patient").reset_index(drop=True)
    tr = store.read("trajectories")
    tr = tr.sort_values(["arm", "patient", "variable", "time"]).reset_index(drop=True)
    return ep, pts, tr


def _assert_same(a: TrialStore, b: TrialStore) -> None:
    for x, y in zip(_all(a), _all(b), strict=True):
        pd.testing.assert_frame_equal(x, y, check_exact=True)


@pytest.fixture
def reference(trial_doc: dict[str, Any], tmp_path: Path) -> TrialStore:
    """The trial run serially in one chunk: what every other run must reproduce bitwise."""
    return run_trial(_plan(trial_doc, tmp_path), N, tmp_path / "ref", chunk_size=N).store


def test_trial_store_contents(reference: TrialStore) -> None:
    ep = reference.endpoints()
    assert list(ep.columns[: len(ENDPOINT_COLUMNS)]) == list(ENDPOINT_COLUMNS)
    assert len(ep) == 2 * N and set(ep["arm"]) == {"control", "treated"}
    assert (ep["status"] == "ok").all()
    # Untreated tumours grow (r > 0): every control patient progresses or stays non-responding.
    ctl = ep[ep["arm"] == "control"]
    assert not ctl["best_response"].isin(["CR", "PR"]).any()
    assert ctl["pfs_event"].mean() > 0.5
    trt = ep[ep["arm"] == "treated"]
    assert trt["pfs_days"].mean() > ctl["pfs_days"].mean()
    # PFS is a scan time; censored patients are censored at the last scan (the horizon).
    assert set(ep["pfs_days"].astype(float)) <= {28.0, 56.0, 84.0, 112.0, 140.0, 168.0}
    assert (ep.loc[~ep["pfs_event"].astype(bool), "pfs_days"] == 168.0).all()
    m = reference.read_manifest()
    assert m["complete"] and m["n_patients"] == N and m["arms"] == ["control", "treated"]
    tr = reference.read("trajectories")
    assert sorted(tr["patient"].unique()) == [0, 1, 2, 3, 4]  # trajectories_first: 5


def test_paired_design_same_patients_in_every_arm(
    reference: TrialStore, trial_doc: dict[str, Any], tmp_path: Path
) -> None:
    pts = reference.read("patients").sort_values("patient")
    assert len(pts) == N
    # Each arm simulated the patient table's values: re-simulate one patient alone.
    plan = _plan(trial_doc, tmp_path)
    one = pts[pts["patient"] == 7].drop(columns=["n_implausible", "n_unmatched"])
    for arm in ("control", "treated"):
        alone = plan.simulator.simulate_chunk(arm, one.reset_index(drop=True)).endpoints
        ep = reference.endpoints()
        row = ep[(ep["arm"] == arm) & (ep["patient"] == 7)]
        assert alone["pfs_days"].iloc[0] == row["pfs_days"].iloc[0]
        assert alone["best_change_pct"].iloc[0] == row["best_change_pct"].iloc[0]


@pytest.mark.parametrize("chunk_size", [7, 25])
def test_bitwise_identical_across_chunk_sizes(
    reference: TrialStore, trial_doc: dict[str, Any], tmp_path: Path, chunk_size: int
) -> None:
    run = run_trial(_plan(trial_doc, tmp_path), N, tmp_path / "c", chunk_size=chunk_size)
    assert run.chunks_run == -(-N // chunk_size)
    _assert_same(reference, run.store)


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_bitwise_identical_across_local_executors(
    reference: TrialStore, trial_doc: dict[str, Any], tmp_path: Path, kind: str
) -> None:
    ex = LocalExecutor(workers=2, kind=kind)  # type: ignore[arg-type]
    run = run_trial(_plan(trial_doc, tmp_path), N, tmp_path / kind, chunk_size=11, executor=ex)
    assert run.manifest["executor"]["executor"] == f"local-{kind}"
    _assert_same(reference, run.store)


class CrashError(RuntimeError):
    pass


def test_resume_after_crash_gives_identical_results(
    reference: TrialStore, trial_doc: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "crashy"
    seen: list[Progress] = []

    def crash_after_two(p: Progress) -> None:
        seen.append(p)
        if p.chunks_done == 2:
            raise CrashError("killed")

    with pytest.raises(CrashError):
        run_trial(_plan(trial_doc, tmp_path), N, out, chunk_size=10, progress=crash_after_two)
    store = TrialStore(out)
    assert not store.read_manifest()["complete"]
    assert len(list((out / "patients").glob("*.parquet"))) == 2
    # The report of a stopped run would give statistics of a subset under the trial's name.
    from mdrsim.report.trial_report import write_trial_report

    with pytest.raises(TrialStoreError, match="the trial is incomplete"):
        write_trial_report(out)
    # A leftover temporary file (a write cut short) must not count as a chunk.
    (out / "patients" / ".chunk-000002.parquet.123.tmp").write_bytes(b"partial")
    events: list[Progress] = []
    run = run_trial(_plan(trial_doc, tmp_path), N, out, chunk_size=10, progress=events.append)
    assert run.resumed and run.chunks_skipped == 2 and run.chunks_run == 4
    assert events[0].chunks_done == 2 and events[-1].patients_done == N
    assert run.store.read_manifest()["complete"]
    _assert_same(reference, run.store)
    # Running again finds nothing to do.
    again = run_trial(_plan(trial_doc, tmp_path), N, out, chunk_size=10)
    assert again.chunks_run == 0


def test_resume_refuses_a_different_trial(trial_doc: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "t"
    run_trial(_plan(trial_doc, tmp_path), 20, out, chunk_size=10)
    other = copy.deepcopy(trial_doc)
    other["seed"] = 7
    with pytest.raises(TrialStoreError, match=r"different trial \(differs in: spec_hash, seed"):
        run_trial(_plan(other, tmp_path), 20, out, chunk_size=10)
    with pytest.raises(TrialStoreError, match="chunk_size"):
        run_trial(_plan(trial_doc, tmp_path), 20, out, chunk_size=5)
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "x.txt").write_text("x")
    with pytest.raises(TrialStoreError, match="not empty"):
        run_trial(_plan(trial_doc, tmp_path), 20, junk)


def test_identical_arms_give_hazard_ratio_one(trial_doc: dict[str, Any], tmp_path: Path) -> None:
    doc = copy.deepcopy(trial_doc)
    doc["arms"] = [{"name": "a", "dosing": doc["arms"][1]["dosing"]},
                   {"name": "b", "dosing": doc["arms"][1]["dosing"]}]  # fmt: skip
    run = run_trial(_plan(doc, tmp_path), 80, tmp_path / "same", chunk_size=40)
    s = analyse_store(run.store).summary.set_index("arm")
    assert s.loc["b", "hr_vs_control"] == pytest.approx(1.0, abs=1e-6)
    assert s.loc["b", "hr_lower"] < 1.0 < s.loc["b", "hr_upper"]
    assert s.loc["b", "logrank_p"] > 0.99
    assert s.loc["a", "orr"] == s.loc["b", "orr"]


def test_failures_are_rows_with_reasons(tmp_path: Path) -> None:
    # T' = g*T^2 blows up at t = 1/(g*T0): patients with g > 1/(10*168) fail in the solver.
    (tmp_path / "blow.ant").write_text("model blow()\n  T' = g*T*T\n  T = 10\n  g = 0.0001\nend\n")
    doc = {
        "name": "blow", "seed": 1, "horizon_days": 168, "scan_interval_days": 28,
        "trajectories_first": 0,
        "simulator": {"model": "blow.ant", "burden": ["T"], "max_steps": 2000},
        "population": {"parameters": {"g": {"dist": "uniform", "low": 0, "high": 0.0012}}},
        "arms": [{"name": "only"}],
    }  # fmt: skip
    run = run_trial(_plan(doc, tmp_path), 40, tmp_path / "b", chunk_size=15)
    fails = run.store.failures()
    pts = run.store.read("patients").set_index("patient")
    expected = sorted(int(i) for i in pts.index[pts["g"] > 1 / (10 * 168)])
    assert sorted(fails["patient"]) == expected and expected
    assert fails["reason"].str.startswith("solver:").all()
    ep = run.store.endpoints()
    bad = ep[ep["status"] == "failed"]
    assert bad["pfs_days"].isna().all() and bad["best_response"].isna().all()
    s = analyse_store(run.store).summary.iloc[0]
    assert s["n_failed"] == len(expected)
    assert query(run.store.root, "SELECT count(*) AS n FROM failures")["n"].iloc[0] == len(expected)


class ConstantSimulator:
    """A non-ODE simulator plugged in through the registry (as the patient model will be)."""

    def __init__(self, arms: list[str]) -> None:
        self.arms = arms

    def arm_names(self) -> list[str]:
        return self.arms

    def parameter_names(self) -> list[str]:
        return ["hazard"]

    def describe(self) -> dict[str, Any]:
        return {"kind": "constant"}

    def simulate_chunk(self, arm: str, patients: pd.DataFrame) -> ChunkOutput:
        rng = [np.random.default_rng(int(s)) for s in patients["seed"]]
        t = np.array([g.exponential(1 / h) for g, h in zip(rng, patients["hazard"], strict=True)])
        ep = pd.DataFrame(
            {
                "patient": patients["patient"],
                "status": np.where(t > 5, "failed", "ok"),
                "reason": np.where(t > 5, "too slow", ""),
                "pfs_days": t,
                "pfs_event": True,
                "my_score": t * 2,
            }
        )
        return ChunkOutput(ep, None)


def _constant_factory(ctx: SimulatorContext) -> ConstantSimulator:
    return ConstantSimulator([str(a["name"]) for a in ctx.arms])


def test_custom_simulator_through_the_registry(tmp_path: Path) -> None:
    register_simulator("constant", _constant_factory)
    doc = {
        "name": "c", "seed": 3, "horizon_days": 10, "scan_interval_days": 1,
        "simulator": {"kind": "constant"},
        "population": {"parameters": {"hazard": {"dist": "lognormal", "median": 1, "cv": 0.2}}},
        "arms": [{"name": "x", "lines": ["anything the simulator validates"]}, {"name": "y"}],
    }  # fmt: skip
    run = run_trial(_plan(doc, tmp_path), 30, tmp_path / "c", chunk_size=8)
    ep = run.store.endpoints()
    assert "my_score" in ep.columns and ep["arm"].tolist() == ["x"] * 30 + ["y"] * 30
    assert (ep.loc[ep["status"] == "failed", "reason"] == "too slow").all()
    assert ep["anc_nadir"].isna().all()  # endpoints the simulator lacks are null
    got = query(
        tmp_path / "c", "SELECT arm, count(*) AS n FROM endpoints GROUP BY arm ORDER BY arm"
    )
    assert got["n"].tolist() == [30, 30]
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert manifest["simulator"] == {"kind": "constant"}
    # No trajectories from this simulator: the finished chunks still count as done.
    assert run_trial(_plan(doc, tmp_path), 30, tmp_path / "c", chunk_size=8).chunks_run == 0


def test_endpoint_schema_is_enforced() -> None:
    base = {"patient": [0, 1], "status": ["ok", "failed"], "reason": ["", "why"]}
    out = conform_endpoints(pd.DataFrame(base), "a")
    assert list(out.columns) == list(ENDPOINT_COLUMNS)
    assert out["arm"].tolist() == ["a", "a"] and out["pfs_days"].isna().all()
    with pytest.raises(TrialSpecError, match="patient 1 failed without a reason"):
        conform_endpoints(pd.DataFrame({**base, "reason": ["", ""]}), "a")
    with pytest.raises(TrialSpecError, match="status must be 'ok' or 'failed'"):
        conform_endpoints(pd.DataFrame({**base, "status": ["ok", "bad"]}), "a")
    with pytest.raises(TrialSpecError, match="extra column 'note' must be numeric"):
        conform_endpoints(pd.DataFrame({**base, "note": ["x", "y"]}), "a")


def test_query_errors_are_typed(reference: TrialStore, tmp_path: Path) -> None:
    with pytest.raises(QueryError, match="query failed"):
        query(reference.root, "SELECT nope FROM endpoints")
    with pytest.raises(TrialStoreError, match="not a trial directory"):
        query(tmp_path / "nowhere", "SELECT 1")


# The query sandbox (issue: `mdrsim query` ran any SQL, which read /etc/passwd, listed folders,
# wrote files and so could plant Python in the model cache). Each attack must be refused with a
# typed error and leave no file behind.
@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("SELECT * FROM read_csv('/etc/passwd')", "disabled"),
        ("SELECT * FROM glob('/root/*')", "disabled"),
        ("SELECT * FROM read_text('/etc/hostname')", "disabled"),
        ("ATTACH '/tmp/mdrsim-attack.duckdb'", "only a SELECT"),
        ("SET enable_external_access = true", "only a SELECT"),
        ("INSTALL httpfs", "only a SELECT"),
        ("SELECT 1; SELECT 2", "exactly one SELECT"),
    ],
)
def test_query_refuses_reaching_outside_the_trial(
    reference: TrialStore, sql: str, why: str
) -> None:
    with pytest.raises(QueryError, match=why):
        query(reference.root, sql)


def test_query_cannot_write_files_not_even_over_its_own_chunks(
    reference: TrialStore, tmp_path: Path
) -> None:
    chunk = sorted((reference.root / "endpoints").rglob("chunk-*.parquet"))[0]
    before = chunk.read_bytes()
    cache_file = tmp_path / "cache" / "poisoned.py"
    cache_file.parent.mkdir()
    for target in (chunk, cache_file, reference.root / "new.csv"):
        with pytest.raises(QueryError, match="only a SELECT statement is allowed, not COPY"):
            query(reference.root, f"COPY (SELECT 'import os' AS x) TO '{target}' (FORMAT csv)")
    assert chunk.read_bytes() == before
    assert not cache_file.exists() and not (reference.root / "new.csv").exists()
    # and a SELECT over the trial's own tables still works
    n = query(reference.root, "SELECT count(*) AS n FROM endpoints")["n"].iloc[0]
    assert n > 0
