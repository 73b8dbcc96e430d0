"""The same trial on a real dask.distributed LocalCluster is bitwise identical to local runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from mdrsim.trial import DaskExecutor, TrialPlan, TrialSpecError, parse_trial, run_trial

distributed = pytest.importorskip("distributed")


def test_local_cluster_matches_local_executor(trial_doc: dict[str, Any], tmp_path: Path) -> None:
    plan = TrialPlan.from_spec(parse_trial(trial_doc), tmp_path)
    local = run_trial(plan, 40, tmp_path / "local", chunk_size=40).store
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        ex = DaskExecutor(client=client)
        run = run_trial(plan, 40, tmp_path / "dask", chunk_size=9, executor=ex)
        assert run.manifest["executor"] == {
            "executor": "dask",
            "scheduler": cluster.scheduler_address,
            "workers": 2,
        }
        # Both workers took part (chunks are tasks, not one big job).
        assert len(client.run(lambda: 1)) == 2
    for kind in ("endpoints", "patients", "trajectories"):
        a = local.read(kind)
        b = run.store.read(kind)
        a = a.sort_values(list(a.columns)).reset_index(drop=True)
        b = b.sort_values(list(b.columns)).reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_bad_scheduler_address_is_a_typed_error() -> None:
    with pytest.raises(TrialSpecError, match="cannot connect"):
        DaskExecutor(address="tcp://127.0.0.1:1", timeout_s=1.0)
