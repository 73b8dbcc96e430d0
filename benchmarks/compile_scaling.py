"""Time to a first result against model size: mdrsim (cold and warm cache) beside libroadrunner.

For each SBML model (default: the models of the PEtab benchmark collection, read from the
folder given by ``--petab`` or ``$MDRSIM_PETAB_BENCHMARK``; any ``.xml`` files may be given
instead with ``--models``), three fresh processes, one after the other:

- **mdrsim cold**: an empty model cache (``MDRSIM_CACHE_DIR`` pointed at a new folder; the
  solver kernel's own numba cache is warm, as after ``mdrsim warmup``): import, read the SBML,
  generate the code (``codegen``: sympy derivatives, CSE, printing), numba-compile the model's
  functions (``numba``), simulate once. Each stage is timed in CPU seconds inside the child.
- **mdrsim warm**: the same, again, with the cache the cold run filled.
- **libroadrunner**: load the same file (its LLVM compile) and simulate once.

The simulation is 0 → ``--t-end`` with 100 output points at rtol 1e-6; the script checks
that mdrsim and libroadrunner agree at the last time (max relative difference over the states,
floor 1e-9 of the largest state), so a fast but wrong run cannot pass unnoticed. Times are CPU
seconds (user + system) of each child, since the development machine is shared and its wall
clock mostly measures the wait for a core; the wall time is recorded beside them.

Run from the repository root (mdrsim's Python for mdrsim, ``--rr-python`` for libroadrunner
if it lives elsewhere)::

    python benchmarks/compile_scaling.py --json results/compile_scaling.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MDRSIM_CHILD = r"""
import json, resource, sys, time
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
stages = {}
c = cpu()
import numpy as np
import mdrsim.engine.compiled as compiled_module
from mdrsim.engine import compile_model, simulate
from mdrsim.io.sbml_read import read_sbml
stages["import"] = cpu() - c
stages["codegen"] = 0.0
generate = compiled_module.generate_source
def timed_generate(flat):
    c = cpu()
    try:
        return generate(flat)
    finally:
        stages["codegen"] += cpu() - c
compiled_module.generate_source = timed_generate
c = cpu(); model = read_sbml(sys.argv[1]); stages["read"] = cpu() - c
c = cpu(); compiled = compile_model(model, warm=False)
# importing the generated module compiles its cfuncs (explicit signatures)
stages["numba"] = cpu() - c - stages["codegen"]
c = cpu()
r = simulate(compiled, until=float(sys.argv[2]), points=100)
stages["simulate"] = cpu() - c
amount = [n in model.species and model.species[n].amount_based for n in compiled.state_names]
print(json.dumps({"stages": stages, "n_states": len(compiled.state_names),
                  "states": compiled.state_names, "amount": amount,
                  "final": r.states[0, -1].tolist(), "status": int(r.status[0])}))
"""

RR_CHILD = r"""
import json, resource, sys
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
c = cpu()
import roadrunner
imp = cpu() - c
c = cpu(); rr = roadrunner.RoadRunner(sys.argv[1]); load = cpu() - c
rr.integrator.relative_tolerance = 1e-6
wanted = [s for s in sys.argv[3].split(",") if s]
amount = [a == "1" for a in sys.argv[4].split(",") if a]
c = cpu(); res = rr.simulate(0, float(sys.argv[2]), 101); sim = cpu() - c
species = set(rr.model.getFloatingSpeciesIds())
final = {}
for s, a in zip(wanted, amount):
    key = f"[{s}]" if s in species and not a else s
    final[s] = float(rr.getValue(key))
print(json.dumps({"stages": {"import": imp, "load": load, "simulate": sim}, "final": final}))
"""


def _child(python: str, code: str, args: list[str], env: dict[str, str]) -> dict[str, Any]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        [python, "-c", code, *args], capture_output=True, text=True, env=env, check=False
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    out["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out["wall"] = wall
    return out


def _models(args: argparse.Namespace) -> list[Path]:
    if args.models:
        return [Path(m) for m in args.models]
    root = args.petab or os.environ.get("MDRSIM_PETAB_BENCHMARK")
    if not root:
        sys.exit("give --models FILE.xml ... or --petab DIR (or set MDRSIM_PETAB_BENCHMARK)")
    found = []
    for d in sorted(Path(root).iterdir()):
        xml = sorted(d.glob("model_*.xml")) if d.is_dir() else []
        if xml:
            found.append(xml[0])
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="*", help="SBML files (default: the PEtab collection)")
    ap.add_argument("--petab", help="the PEtab benchmark collection's folder")
    ap.add_argument("--max-species", type=int, default=150, help="skip larger models")
    ap.add_argument("--t-end", type=float, default=10.0)
    ap.add_argument("--rr-python", default=sys.executable, help="a Python with libroadrunner")
    ap.add_argument("--json", type=Path, help="write the rows here")
    args = ap.parse_args()

    import numpy as np

    rows = []
    for path in _models(args):
        n_species = path.read_text(encoding="utf-8").count("<species ")
        if n_species > args.max_species:
            continue
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, MDRSIM_CACHE_DIR=cache)
            targs = [str(path), str(args.t_end)]
            cold = _child(sys.executable, MDRSIM_CHILD, targs, env)
            warm = _child(sys.executable, MDRSIM_CHILD, targs, env)
        states = ",".join(cold.get("states", []))
        amount = ",".join("1" if a else "0" for a in cold.get("amount", []))
        rr = _child(args.rr_python, RR_CHILD, [*targs, states, amount], dict(os.environ))
        row: dict[str, Any] = {"model": path.parent.name, "species": n_species}
        if "error" in cold or "error" in rr:
            row["error"] = cold.get("error") or rr.get("error")
            rows.append(row)
            print(row, flush=True)
            continue
        a = np.array(cold["final"])
        b = np.array([rr["final"].get(s, np.nan) for s in cold["states"]])
        floor = max(1e-9 * float(np.nanmax(np.abs(b))), 1e-300)
        agree = float(np.nanmax(np.abs(a - b) / np.maximum(np.abs(b), floor)))
        row.update(
            states=cold["n_states"],
            mdrsim_cold_cpu=round(cold["cpu"], 2),
            mdrsim_cold_wall=round(cold["wall"], 2),
            mdrsim_stages={k: round(v, 2) for k, v in cold["stages"].items()},
            mdrsim_warm_cpu=round(warm["cpu"], 2),
            rr_cpu=round(rr["cpu"], 2),
            rr_wall=round(rr["wall"], 2),
            rr_stages={k: round(v, 3) for k, v in rr["stages"].items()},
            cold_ratio=round(cold["cpu"] / rr["cpu"], 1),
            cold_ratio_without_imports=round(
                (cold["cpu"] - cold["stages"]["import"]) / (rr["cpu"] - rr["stages"]["import"]), 1
            ),
            max_rel_diff_vs_rr=agree,
            status=cold["status"],
        )
        rows.append(row)
        print(json.dumps(row), flush=True)
    doc = {
        "machine": {"nproc": os.cpu_count(), "platform": platform.platform()},
        "load_average": os.getloadavg(),
        "t_end": args.t_end,
        "rows": rows,
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
