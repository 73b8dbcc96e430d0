"""Virtual-trial throughput: N patients × 2 arms, local executor on 1 and 2 cores, Dask.

Not a test. Prints (and with --json-out writes) patients/s, the 1 → 2 core scaling ratio
(target ≥ 1.8×), the Dask LocalCluster overhead vs the local executor on the same 2 cores
(target ≤ 15 %) and the peak resident memory of this process plus its workers (target < 2 GB).

    python benchmarks/trial_throughput.py --patients 100000      # the issue's size
    python benchmarks/trial_throughput.py --patients 4000        # a few minutes on 2 cores

``--simulator scenario`` runs examples/trial_tariquidar.yaml (the whole-patient model) instead.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TRIALS = {"reference": "trial_reference.yaml", "scenario": "trial_tariquidar.yaml"}


def _tree_rss() -> int:
    """Resident bytes of this process and all its descendants (psutil), else self only.

    Proportional set size (PSS) where available: forked workers share the parent's pages
    copy-on-write, and summing plain RSS would count those pages once per worker.
    """
    try:
        import psutil
    except ImportError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    me = psutil.Process()
    total = 0
    for p in [me, *me.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            info = p.memory_full_info()
            total += getattr(info, "pss", info.rss)
    return total


class PeakRSS:
    """Samples the process tree's RSS every 0.1 s while running."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _tree_rss())
            time.sleep(0.1)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _tree_rss())


def _cpu_seconds() -> float:
    """User+system CPU of this process and of its waited-for children (pool workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(
    label: str, fn: Callable[[], Any], n: int, extra_cpu: Callable[[], float] | None = None
) -> dict[str, Any]:
    """Wall time, CPU time (this process + workers) and peak RSS of ``fn``.

    On a shared machine the wall time of a parallel run depends on other users' load; the CPU
    seconds per patient do not, so both are reported.
    """
    cpu0 = _cpu_seconds() + (extra_cpu() if extra_cpu else 0.0)
    with PeakRSS() as rss:
        start = time.perf_counter()
        fn()
        seconds = time.perf_counter() - start
    cpu = _cpu_seconds() + (extra_cpu() if extra_cpu else 0.0) - cpu0
    row = {
        "config": label,
        "seconds": seconds,
        "patients_per_s": n / seconds,
        "cpu_s": cpu,
        "cpu_ms_per_patient": 1000 * cpu / n,
        "peak_rss_mb": rss.peak / 2**20,
    }
    print(
        f"{label:30s} {seconds:8.1f} s  {row['patients_per_s']:7.0f} patients/s  "
        f"CPU {row['cpu_ms_per_patient']:6.2f} ms/patient  peak RSS {row['peak_rss_mb']:6.0f} MB",
        flush=True,
    )
    return row


def _worker_cpu(client: Any) -> Callable[[], float]:
    def one() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    return lambda: float(sum(client.run(one).values()))


def _same_results(tmp: Path) -> bool:
    """Accuracy check: every configuration must give the very same endpoint table (the ODE
    engine is deterministic and seeds derive from the patient index, not the executor)."""
    import pandas as pd

    from mdrsim.trial.store import TrialStore

    tables = []
    for out in sorted(p for p in tmp.iterdir() if p.name != "warm"):
        ep = TrialStore(out).endpoints().sort_values(["arm", "patient"]).reset_index(drop=True)
        tables.append(ep)
    for other in tables[1:]:
        try:
            pd.testing.assert_frame_equal(tables[0], other, check_exact=True)
        except AssertionError:
            return False
    return bool(tables)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--chunk-size", type=int, default=1000)
    ap.add_argument(
        "--simulator",
        choices=sorted(TRIALS),
        default="reference",
        help="reference: examples/trial_reference.yaml (reference model); scenario: "
        "examples/trial_tariquidar.yaml (the whole-patient model)",
    )
    ap.add_argument("--trial", type=Path, help="any other trial file (overrides --simulator)")
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--skip-threads", action="store_true")
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args(argv)
    from mdrsim.trial import DaskExecutor, LocalExecutor, TrialPlan, run_trial

    trial_file = args.trial or ROOT / "examples" / TRIALS[args.simulator]
    plan = TrialPlan.from_file(trial_file)
    print(f"{trial_file.name}: {args.patients} patients × {len(plan.spec.arms)} arms", flush=True)
    n, c = args.patients, args.chunk_size
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:

        def local(workers: int, kind: str = "process") -> Callable[[], Any]:
            ex = LocalExecutor(workers=workers, kind=kind)  # type: ignore[arg-type]
            out = Path(tmp) / f"local{workers}{kind}"
            return lambda: run_trial(plan, n, out, chunk_size=c, executor=ex)

        # Warm the compiled-model disk cache so no configuration pays for numba compilation.
        run_trial(plan, 8, Path(tmp) / "warm", chunk_size=8)
        rows.append(_timed("local, 1 process", local(1), n))
        rows.append(_timed("local, 2 processes", local(2), n))
        if not args.skip_threads:
            rows.append(_timed("local, 2 threads", local(2, "thread"), n))
        if not args.skip_dask:
            from distributed import Client, LocalCluster

            t0 = time.perf_counter()
            with (
                LocalCluster(
                    n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
                ) as cluster,
                Client(cluster) as client,
            ):
                start_s = time.perf_counter() - t0
                ex = DaskExecutor(client=client)
                # First run: cold workers (each imports mdrsim and loads the compiled model);
                # second run on the same cluster: what a long-lived cluster costs per trial.
                for label, out in (
                    ("dask LocalCluster, 2 workers", Path(tmp) / "dask"),
                    ("dask LocalCluster, warm", Path(tmp) / "dask_warm"),
                ):
                    row = _timed(
                        label,
                        lambda out=out: run_trial(plan, n, out, chunk_size=c, executor=ex),
                        n,
                        _worker_cpu(client),
                    )
                    row["cluster_start_s"] = start_s
                    rows.append(row)
        identical = _same_results(Path(tmp))
        print(f"endpoint tables identical in every configuration: {identical}", flush=True)
    by = {r["config"]: r for r in rows}
    t1, t2 = by["local, 1 process"]["seconds"], by["local, 2 processes"]["seconds"]
    summary: dict[str, Any] = {
        "trial": str(trial_file.name),
        "patients": n,
        "arms": len(plan.spec.arms),
        "chunk_size": c,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "rows": rows,
        "scaling_1_to_2": t1 / t2,
        "load_average_at_end": os.getloadavg(),
        "identical_results": identical,
    }
    c1 = by["local, 1 process"]["cpu_s"]
    c2 = by["local, 2 processes"]["cpu_s"]
    # What 2 cores would give with no other load: 2 × (useful CPU / CPU spent in parallel).
    summary["scaling_cpu_bound_1_to_2"] = 2 * c1 / c2
    if "dask LocalCluster, 2 workers" in by:
        dask_cold = by["dask LocalCluster, 2 workers"]["seconds"]
        dask_warm = by["dask LocalCluster, warm"]["seconds"]
        summary["dask_overhead_pct"] = 100 * (dask_cold / t2 - 1)
        summary["dask_warm_overhead_pct"] = 100 * (dask_warm / t2 - 1)
    summary["peak_rss_mb_max"] = max(r["peak_rss_mb"] for r in rows)
    print(f"scaling 1 → 2 processes: {summary['scaling_1_to_2']:.2f}× wall (target ≥ 1.8)")
    print(
        f"  CPU-bound scaling (2 × CPU 1 proc / CPU 2 procs): "
        f"{summary['scaling_cpu_bound_1_to_2']:.2f}×; load average {os.getloadavg()[0]:.2f}"
    )
    if "dask_overhead_pct" in summary:
        print(
            f"Dask overhead vs local: {summary['dask_overhead_pct']:+.1f} % cold workers, "
            f"{summary['dask_warm_overhead_pct']:+.1f} % warm (target ≤ 15)"
        )
    print(f"peak RSS (max over runs): {summary['peak_rss_mb_max']:.0f} MB (target < 2048)")
    if args.json_out:
        args.json_out.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
