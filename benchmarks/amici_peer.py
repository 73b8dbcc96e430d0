"""AMICI's side of ``benchmarks/amici_vs_mdrsim.py``: run in a Python that has AMICI.

Reads a JSON job (SBML file, the names and per-patient values of the perturbed parameters,
tolerances, end time, repeats, threads, build folder), builds the AMICI model (timed: SBML
import, code generation and the C++ compile), then simulates every patient with CVODES (BDF,
Newton, AMICI's default dense direct solver) at the given rtol and a plain absolute tolerance,
no sensitivities. Writes a JSON result: build seconds, per-configuration wall seconds (best of
``repeats``) and CPU seconds (least of ``repeats``), and the final value of the requested
outputs for each patient (NaN on failure).

Not imported by mdrsim; run as ``/path/to/peer/python benchmarks/amici_peer.py job.json out.json``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main() -> None:
    job = json.loads(Path(sys.argv[1]).read_text())
    import amici
    import numpy as np
    from amici import SbmlImporter, import_model_module
    from amici.sim import sundials as sim  # AMICI 1.x: simulation API, snake_case

    build = Path(job["build_dir"])
    name = "mdrsim_reference"
    t0 = time.perf_counter()
    importer = SbmlImporter(job["sbml_file"])
    importer.sbml2amici(name, str(build), verbose=False, generate_sensitivity_code=False)
    build_seconds = time.perf_counter() - t0
    module = import_model_module(name, str(build))
    model = module.get_model()
    model.set_timepoints([float(job["t_end"])])
    solver = model.create_solver()
    solver.set_relative_tolerance(float(job["rtol"]))
    solver.set_absolute_tolerance(float(job["atol"]))
    solver.set_max_steps(int(job.get("max_steps", 1_000_000)))
    solver.set_sensitivity_order(sim.SensitivityOrder.none)

    names = list(job["names"])
    values = np.asarray(job["values"], dtype=float)
    ids = list(model.get_free_parameter_ids())
    missing = [n for n in names if n not in ids]
    if missing:
        raise SystemExit(f"AMICI model lacks parameters {missing}")
    base = np.asarray(model.get_free_parameters(), dtype=float)
    cols = [ids.index(n) for n in names]
    state_ids = list(model.get_state_ids())
    out_idx = [state_ids.index(o) for o in job["outputs"]]

    edatas = []
    for row in values:
        p = base.copy()
        p[cols] = row
        edata = sim.ExpData(model)
        edata.free_parameters = p.tolist()
        edatas.append(edata)

    def run(threads: int) -> tuple[float, list[float], int, float, float]:
        t = time.perf_counter()
        c = time.process_time()
        rdatas = sim.run_simulations(model, solver, edatas, failfast=False, num_threads=threads)
        wall = time.perf_counter() - t
        cpu = time.process_time() - c
        final = []
        failed = 0
        steps = 0.0
        for rd in rdatas:
            if rd.status != sim.AMICI_SUCCESS:
                final.append(float("nan"))
                failed += 1
                continue
            x = np.asarray(rd.x)[-1]
            final.append(float(sum(x[i] for i in out_idx)))
            steps += float(np.sum(rd.numsteps))
        return wall, final, failed, steps / max(1, len(rdatas) - failed), cpu

    results = {}
    for threads in job["threads"]:
        runs = [run(int(threads)) for _ in range(int(job["repeats"]))]
        best = min(runs, key=lambda r: r[0])
        results[str(threads)] = {
            "seconds": best[0],
            "cpu_seconds": min(r[4] for r in runs),
            "all_seconds": [r[0] for r in runs],
            "final": best[1],
            "failed": best[2],
            "steps_per_patient": best[3],
        }
    doc = {
        "amici_version": amici.__version__,
        "build_seconds": build_seconds,
        "compiled_with_openmp": bool(sim.compiled_with_openmp()),
        "runs": results,
    }
    Path(sys.argv[2]).write_text(json.dumps(doc))


if __name__ == "__main__":
    main()
