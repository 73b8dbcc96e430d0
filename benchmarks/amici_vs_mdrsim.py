"""mdrsim's RODAS4 beside AMICI (CVODES) and libroadrunner on the shared reference model.

The protocol of ``benchmarks/engine_vs_peers.py`` (same model, same virtual patients from
``default_rng(2024)``, the same output — final tumour ``Ts + Tr`` at day 365 — and the same
error measure ``|x - ref| / max(|ref|, 1e-9)``), with AMICI added in the same run:

- **mdrsim RODAS4**, 1 and 2 workers (threads), rtol 1e-6, atol 1e-9 on every state
  (``atol_scaling="none"``, the protocol's plain absolute tolerance);
- **AMICI** 1.x, CVODES (BDF, Newton, dense direct solver, no sensitivities), the same rtol and
  plain atol, serial and with 2 OpenMP threads (``runAmiciSimulations(num_threads=2)``); its
  model build (SBML import, code generation, C++ compile) is timed and reported. AMICI lives in
  another Python (``--amici-python``, default: the ``MDRSIM_PEER_PYTHON`` environment variable): the
  work runs there through ``benchmarks/amici_peer.py``; its wall times are measured inside it,
  around ``runAmiciSimulations`` only;
- **libroadrunner** CVODE, serial, the same rtol and a per-state atol list (not rescaled);
- **reference**: mdrsim RODAS4 at rtol 1e-11, atol 1e-14 for every patient (validated against
  scipy's Radau in docs/benchmarks.md).

Each timed row is the best of ``--repeats`` runs, in wall and in CPU seconds. Serial rows are
compared on CPU seconds (on a shared machine the wall clock measures the wait for a core);
the 2-thread rows on wall seconds against the serial rows' CPU. Run from the repository root::

    nice -n 19 python benchmarks/amici_vs_mdrsim.py --patients 1000 --json results/amici.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent


def _protocol() -> Any:
    spec = importlib.util.spec_from_file_location("engine_vs_peers", HERE / "engine_vs_peers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _stats(err: np.ndarray) -> dict[str, float]:
    e = np.where(np.isfinite(err), err, np.inf)
    return {
        "median": float(np.median(e)),
        "p95": float(np.percentile(e, 95)),
        "max": float(np.max(e)),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--patients", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--amici-python",
        default=os.environ.get("MDRSIM_PEER_PYTHON"),
        help="a Python with AMICI installed",
    )
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if not args.amici_python:
        sys.exit("give --amici-python: a Python that can import amici")

    evp = _protocol()
    from mdrsim.engine import compile_model
    from mdrsim.io import load_model

    model = load_model(evp.DEFAULT_MODEL)
    cm = compile_model(model)
    defaults = cm.default_parameters()
    nominal = {n: float(v) for n, v in zip(cm.parameter_names, defaults, strict=True)}
    params = evp.virtual_patients(nominal, args.patients)
    values = np.column_stack([params[p] for p in evp.PERTURBED])

    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    ref, ref_info = evp.tight_reference(cm, params, 2)
    ref_info["seconds"] = time.perf_counter() - t0

    def add(
        name: str, seconds: float, cpu: float, out: np.ndarray, notes: list[str], **extra: Any
    ) -> None:
        err = evp.rel_errors(out, ref)
        rows.append(
            {
                "engine": name,
                "seconds": seconds,
                "cpu_seconds": cpu,
                "ms_per_patient": 1e3 * seconds / len(out),
                "cpu_ms_per_patient": 1e3 * cpu / len(out),
                "patients_per_s": len(out) / seconds,
                "failed": int(np.count_nonzero(~np.isfinite(out))),
                "error_vs_tight": _stats(err),
                "notes": notes,
                **extra,
            }
        )
        print(json.dumps(rows[-1]), flush=True)

    from mdrsim.engine import simulate

    for workers in (1, 2):
        runs = []
        for _ in range(args.repeats):
            w, c = time.perf_counter(), time.process_time()
            r = simulate(
                cm,
                [0.0, evp.T_END],
                params=params,
                options=evp.PLAIN_ATOL,
                rtol=evp.RTOL,
                atol=evp.ATOL,
                workers=workers,
            )
            runs.append((time.perf_counter() - w, time.process_time() - c, r))
        steps = float(runs[0][2].stats[:, 3].mean())
        add(
            f"mdrsim RODAS4, {workers} worker{'s' if workers > 1 else ''}",
            min(x[0] for x in runs),
            min(x[1] for x in runs),
            evp.tumour(runs[0][2]),
            [f"{steps:.0f} accepted steps/patient", "plain atol 1e-9"],
            all_seconds=[x[0] for x in runs],
        )

    sbml = evp.antimony_to_sbml(Path(evp.DEFAULT_MODEL).read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        sbml_file = Path(tmp) / "reference.xml"
        sbml_file.write_text(sbml, encoding="utf-8")
        job = {
            "sbml_file": str(sbml_file),
            "build_dir": str(Path(tmp) / "amici_build"),
            "names": list(evp.PERTURBED),
            "values": values.tolist(),
            "outputs": list(evp.OUTPUT),
            "rtol": evp.RTOL,
            "atol": evp.ATOL,
            "t_end": evp.T_END,
            "repeats": args.repeats,
            "threads": [1, 2],
        }
        (Path(tmp) / "job.json").write_text(json.dumps(job))
        proc = subprocess.run(
            [args.amici_python, str(HERE / "amici_peer.py"), f"{tmp}/job.json", f"{tmp}/out.json"],
            capture_output=True,
            text=True,
            check=False,
            # the peer environment's tools (AMICI's model build needs its swig) come first
            env=dict(os.environ, PATH=f"{Path(args.amici_python).parent}:{os.environ['PATH']}"),
        )
        if proc.returncode != 0:
            sys.exit(f"AMICI run failed:\n{proc.stderr[-3000:]}")
        amici = json.loads((Path(tmp) / "out.json").read_text())
    for threads, run in amici["runs"].items():
        plural = "s" if threads != "1" else ""
        add(
            f"AMICI {amici['amici_version']} CVODES, {threads} thread{plural}",
            run["seconds"],
            run["cpu_seconds"],
            np.asarray(run["final"], dtype=float),
            [f"{run['steps_per_patient']:.0f} steps/patient", "plain atol 1e-9"],
            all_seconds=run["all_seconds"],
        )

    rr = evp.make_roadrunner(sbml, evp.RTOL, evp.ATOL)
    rr_runs = []
    for _ in range(args.repeats):
        w, c = time.perf_counter(), time.process_time()
        out = evp.roadrunner_patients(rr, evp.PERTURBED, values)
        rr_runs.append((time.perf_counter() - w, time.process_time() - c, out))
    add(
        f"libroadrunner CVODE, serial, rtol {evp.RTOL:g}",
        min(x[0] for x in rr_runs),
        min(x[1] for x in rr_runs),
        rr_runs[0][2],
        ["per-state atol list 1e-9"],
        all_seconds=[x[0] for x in rr_runs],
    )

    # Ratios on CPU seconds for the serial rows (the machine may be shared; CPU time is what
    # the work cost), on wall seconds for the 2-thread rows (their point is the wall clock).
    base = next(r for r in rows if r["engine"].startswith("libroadrunner"))["cpu_seconds"]
    amici1 = next(r for r in rows if r["engine"].startswith("AMICI") and "1 thread" in r["engine"])
    for row in rows:
        name = str(row["engine"])
        serial = "1 worker" in name or "1 thread" in name or "serial" in name
        row["ratio_basis"] = "cpu" if serial else "wall"
        mine = row["cpu_seconds"] if serial else row["seconds"]
        row["speed_vs_libroadrunner_serial_cpu"] = base / mine
        row["speed_vs_amici_1_thread_cpu"] = amici1["cpu_seconds"] / mine
    doc = {
        "date": datetime.now(UTC).isoformat(timespec="minutes"),
        "machine": {"nproc": os.cpu_count(), "platform": platform.platform()},
        "load_average_at_end": os.getloadavg(),
        "patients": args.patients,
        "tolerances": {"rtol": evp.RTOL, "atol": evp.ATOL, "atol_scaling": "none"},
        "tight_reference": {"rtol": evp.TIGHT_RTOL, "atol": evp.TIGHT_ATOL, **ref_info},
        "amici_build_seconds": amici["build_seconds"],
        "amici_openmp": amici["compiled_with_openmp"],
        "mdrsim_compile_seconds": cm.compile_seconds,
        "rows": rows,
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    print(json.dumps({k: v for k, v in doc.items() if k != "rows"}))
    return 1 if any(r["failed"] for r in rows if r["engine"].startswith("mdrsim")) else 0


if __name__ == "__main__":
    raise SystemExit(main())
