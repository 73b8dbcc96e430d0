"""``mdrsim warmup``: compile the shipped examples now, once, instead of at their first run.

The first run of a model after installation generates its kernel and has numba compile it to
machine code (tens of seconds on a small machine); the result is cached on disk
(:func:`mdrsim.engine.compiled.cache_dir`), so every later run, in any process, loads it in a
fraction of a second. This command pays that cost up front, e.g. right after
``pip install`` or in a Docker build, and writes nothing but the cache.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from mdrsim.cli.common import console, emit_json, err_console, fail

__all__ = ["warmup"]


def warmup(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Compile the shipped example models and scenarios into the kernel cache.

    Runs every example scenario once (results are discarded) and compiles every example
    Antimony model. Writes only the compiled-kernel cache (MDRSIM_CACHE_DIR, else
    ~/.cache/mdrsim) and numba's cache of the solver; later runs then start at once.
    """
    from mdrsim.engine import compile_model
    from mdrsim.engine.compiled import cache_dir
    from mdrsim.errors import MdrsimError
    from mdrsim.examples import example_path, list_examples
    from mdrsim.io import load_model
    from mdrsim.patient import run_scenario
    from mdrsim.patient.scenario import ScenarioError, parse_scenario

    rows: list[dict[str, object]] = []
    for name in list_examples():
        path = example_path(name)
        start = time.perf_counter()
        try:
            if path.suffix == ".ant":
                compile_model(load_model(path))
                kind = "model"
            else:
                text = path.read_text(encoding="utf-8")
                if "lines:" not in text or "arms:" in text:
                    continue  # a trial file: its scenario or model is warmed on its own
                try:
                    scenario = parse_scenario(text, source=str(path))
                except ScenarioError:
                    continue
                run_scenario(scenario, scenario_text=text)
                kind = "scenario"
        except MdrsimError as exc:
            fail(exc)
        seconds = time.perf_counter() - start
        rows.append({"example": name, "kind": kind, "seconds": round(seconds, 2)})
        if not as_json:
            err_console.print(f"warmed {name} ({kind}) in {seconds:.1f} s")
    # The stochastic kernels compile when their module is first imported (an ODE run never
    # imports them): pay that here too.
    start = time.perf_counter()
    import mdrsim.engine.stochastic  # noqa: F401

    seconds = time.perf_counter() - start
    rows.append({"example": "stochastic kernels", "kind": "kernel", "seconds": round(seconds, 2)})
    if not as_json:
        err_console.print(f"warmed the stochastic kernels in {seconds:.1f} s")
    if as_json:
        emit_json({"cache": str(cache_dir()), "examples": rows})
        return
    t = Table(title=f"compiled into {cache_dir()}")
    for col in ("example", "kind", "seconds"):
        t.add_column(col)
    for r in rows:
        t.add_row(str(r["example"]), str(r["kind"]), f"{r['seconds']:.1f}")
    console.print(t)
