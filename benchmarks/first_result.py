"""A newcomer's first result, timed (issue 13): how long the commands of the README take.

Every command runs in a fresh process, the way a user types it, and is timed by wall clock
(median of ``--repeat`` runs, after one untimed run that fills the caches):

- ``mdrsim --help``                                     target < 0.5 s
- ``mdrsim run examples/doxorubicin.yaml``              target < 3 s (figures and report)
- ``mdrsim run examples/doxorubicin.yaml --no-figures`` target < 1.5 s
- ``mdrsim trial … --patients N`` re-run on a finished trial (nothing to do)  target < 2 s
- cold: the first ``mdrsim run … --no-figures`` and ``mdrsim warmup`` with empty kernel and
  numba caches (``MDRSIM_CACHE_DIR`` and ``NUMBA_CACHE_DIR`` pointed at new folders), i.e. the
  first run after installation.

Run from the repository root::

    python benchmarks/first_result.py --repeat 5 --json results/first_result.json

Numbers depend on the machine and its load: docs/benchmarks.md records where they were taken.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

TARGETS_S = {
    "help": 0.5,
    "run_figures": 3.0,
    "run_no_figures": 1.5,
    "trial_resume_nothing_to_do": 2.0,
}


def _mdrsim() -> list[str]:
    """The console script next to this Python if installed, else the same entry point."""
    script = Path(sys.executable).with_name("mdrsim")
    if script.exists() and not os.environ.get("PYTHONPATH"):
        return [str(script)]
    return [
        sys.executable,
        "-c",
        "import sys; from mdrsim.cli import app; sys.argv[0] = 'mdrsim'; app()",
    ]


#: CPU seconds (user + system) of each finished child, next to its wall time: on a shared,
#: loaded machine the wall clock measures the queue for a core, the CPU time the work.
CPU_S: list[float] = []


def _children_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _time(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    cpu0 = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    CPU_S.append(_children_cpu() - cpu0)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds


def _median(cmd: list[str], env: dict[str, str], cwd: Path, repeat: int) -> dict[str, object]:
    _time(cmd, env, cwd)  # fills the caches; not counted
    runs = [_time(cmd, env, cwd) for _ in range(repeat)]
    cpu = CPU_S[-repeat:]
    return {
        "median_s": round(statistics.median(runs), 3),
        "runs_s": [round(r, 3) for r in runs],
        "median_cpu_s": round(statistics.median(cpu), 3),
    }


def dataframe_row_rate(n_patients: int = 1000, n_times: int = 366, n_vars: int = 30) -> dict:
    """Rows per second of ``Result.to_dataframe()`` on a synthetic batch (in this process)."""
    import numpy as np

    from mdrsim.engine.result import Result

    rng = np.random.default_rng(0)
    n_states = n_vars // 2
    r = Result(
        times=np.linspace(0.0, 365.0, n_times),
        states=rng.random((n_patients, n_times, n_states)),
        outputs=rng.random((n_patients, n_times, n_vars - n_states)),
        state_names=[f"state_{i}" for i in range(n_states)],
        output_names=[f"output_{i}" for i in range(n_vars - n_states)],
        parameters=np.zeros((n_patients, 0)),
        parameter_names=[],
        status=np.zeros(n_patients, dtype=np.int64),
        failure_time=np.full(n_patients, np.nan),
        stats=np.zeros((n_patients, 4)),
    )
    start = time.perf_counter()
    df = r.to_dataframe()
    seconds = time.perf_counter() - start
    return {"rows": len(df), "seconds": round(seconds, 3), "rows_per_s": round(len(df) / seconds)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--patients", type=int, default=200)
    ap.add_argument("--no-cold", action="store_true", help="skip the cold-cache timings")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--rows-only", action="store_true", help="only the to_dataframe row rate")
    args = ap.parse_args()
    if args.rows_only:
        print(json.dumps(dataframe_row_rate()))
        return

    mdrsim = _mdrsim()
    env = dict(os.environ)
    work = Path(tempfile.mkdtemp(prefix="mdrsim-first-result-"))
    results: dict[str, object] = {}
    try:
        dox = str(EXAMPLES / "doxorubicin.yaml")
        results["help"] = _median([*mdrsim, "--help"], env, work, args.repeat)
        results["run_figures"] = _median(
            [*mdrsim, "run", dox, "--out", "run", "--no-progress"], env, work, args.repeat
        )
        results["run_no_figures"] = _median(
            [*mdrsim, "run", dox, "--out", "run_nf", "--no-progress", "--no-figures"],
            env,
            work,
            args.repeat,
        )
        trial = [
            *mdrsim, "trial", str(EXAMPLES / "trial_tariquidar.yaml"),
            "--patients", str(args.patients), "--out", "trial",
        ]  # fmt: skip
        start = time.perf_counter()
        _time(trial, env, work)  # the trial itself (and its report), once
        results["trial_first_run"] = {
            "seconds": round(time.perf_counter() - start, 2),
            "patients": args.patients,
        }
        results["trial_resume_nothing_to_do"] = _median(trial, env, work, args.repeat)
        if not args.no_cold:
            cold_env = {
                **env,
                "MDRSIM_CACHE_DIR": str(work / "cold-kernels"),
                "NUMBA_CACHE_DIR": str(work / "cold-numba"),
            }
            results["cold_run_no_figures"] = {
                "seconds": round(
                    _time(
                        [*mdrsim, "run", dox, "--out", "cold", "--no-progress", "--no-figures"],
                        cold_env,
                        work,
                    ),
                    2,
                )
            }
            warm_env = {
                **env,
                "MDRSIM_CACHE_DIR": str(work / "cold-kernels-2"),
                "NUMBA_CACHE_DIR": str(work / "cold-numba-2"),
            }
            results["cold_warmup_all_examples"] = {
                "seconds": round(_time([*mdrsim, "warmup"], warm_env, work), 2)
            }
            results["run_after_warmup"] = {
                "seconds": round(
                    _time([*mdrsim, "run", dox, "--out", "aw", "--no-progress"], warm_env, work),
                    2,
                )
            }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["to_dataframe_row_rate"] = dataframe_row_rate()

    machine = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }
    doc = {"machine": machine, "targets_s": TARGETS_S, "results": results}
    print(f"{'measurement':32} {'wall s':>9} {'cpu s':>7}  target (wall)")
    for name, r in results.items():
        assert isinstance(r, dict)
        value = float(r.get("median_s", r.get("seconds", 0.0)) or 0.0)
        target = TARGETS_S.get(name)
        verdict = (
            "" if target is None else (f"< {target:g}  " + ("ok" if value < target else "MISSED"))
        )
        cpu = r.get("median_cpu_s", "")
        print(f"{name:32} {value:>9} {cpu:>7}  {verdict}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
