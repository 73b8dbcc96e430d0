"""Run the SBML Test Suite's semantic (time-course) cases through mdrsim.

Usage::

    python benchmarks/sbml_test_suite.py [--suite DIR] [--cases 1-200,953] [--jobs 2]
                                         [--timeout 120] [--out DIR] [--peer roadrunner]

The suite directory comes from ``--suite``, else ``$MDRSIM_SBML_TEST_SUITE``, else
``../shared/sbml-test-suite`` relative to the repository root. For each time-course case the
highest Level/Version model file is loaded with :func:`mdrsim.io.read_sbml`, simulated with
rtol 1e-10 and atol 1e-12 on the case's output grid, and every requested variable is compared
with the expected value by the suite's rule ``|simulated - expected| <= absolute + relative *
|expected|``. Each case runs in its own forked process with a time limit.

Outcomes:

- ``pass``: every value within the tolerance;
- ``wrong``: numbers returned that break the rule (the one outcome that must never happen);
- ``refused``: a typed :class:`~mdrsim.errors.MdrsimError` before any number was returned;
  ``feature`` names what was refused (grouped in the summary);
- ``crash``: any other exception (a bug);
- ``solver-failed``: the engine reported a failure status (values flagged, not returned);
- ``timeout``: the case ran past the time limit.

Writes ``results.csv`` (one row per case), ``results.json`` and ``summary.json`` into
``--out`` (default ``benchmarks/results/sbml-test-suite``) and prints the totals.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import multiprocessing as mp
import os
import re
import sys
import time
import traceback
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SUITE = REPO.parent / "shared" / "sbml-test-suite"
RTOL = 1e-10
ATOL = 1e-12
OUTCOMES = ("pass", "wrong", "refused", "crash", "solver-failed", "timeout")


# -- the suite ---------------------------------------------------------------------------------


def suite_dir(explicit: str | None = None) -> Path:
    """The suite root (the folder holding ``semantic/``).

    ``explicit``, else ``$MDRSIM_SBML_TEST_SUITE``, else ``../shared/sbml-test-suite`` next to
    the repository (for a git worktree, next to the main checkout as well).
    """
    given = explicit or os.environ.get("MDRSIM_SBML_TEST_SUITE")
    if given:
        return Path(given).resolve()
    if (DEFAULT_SUITE / "semantic").is_dir():
        return DEFAULT_SUITE.resolve()
    git = REPO / ".git"
    if git.is_file():  # a worktree: ".git" names the main repository's git directory
        text = git.read_text().strip()
        if text.startswith("gitdir:"):
            main_git = Path(text.split(":", 1)[1].strip())
            main_repo = main_git.parent.parent.parent  # <main>/.git/worktrees/<name>
            candidate = main_repo.parent / "shared" / "sbml-test-suite"
            if (candidate / "semantic").is_dir():
                return candidate.resolve()
    return DEFAULT_SUITE.resolve()


def parse_settings(path: Path) -> dict[str, Any]:
    raw: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            raw[key.strip()] = value.strip()

    def names(key: str) -> list[str]:
        return [v.strip() for v in raw.get(key, "").split(",") if v.strip()]

    return {
        "start": float(raw.get("start", "0") or 0),
        "duration": float(raw["duration"]) if raw.get("duration") else None,
        "steps": int(float(raw["steps"])) if raw.get("steps") else None,
        "variables": names("variables"),
        "absolute": float(raw.get("absolute") or 0.0),
        "relative": float(raw.get("relative") or 0.0),
        "amount": set(names("amount")),
        "concentration": set(names("concentration")),
    }


def case_tags(case: Path) -> tuple[str, list[str], list[str]]:
    """(testType, componentTags, testTags) from the case's description."""
    text = (case / f"{case.name}-model.m").read_text(errors="replace")

    def field_of(name: str) -> str:
        m = re.search(rf"^{name}:\s*(.*)$", text, re.MULTILINE)
        return m.group(1).strip() if m else ""

    def tags(name: str) -> list[str]:
        return [t.strip() for t in field_of(name).split(",") if t.strip()]

    return field_of("testType"), tags("componentTags"), tags("testTags")


def is_time_course(case: Path) -> bool:
    test_type, _, test_tags = case_tags(case)
    if test_type != "TimeCourse" or "FbcNoTimecourse" in test_tags:
        return False
    settings = parse_settings(case / f"{case.name}-settings.txt")
    return bool(settings["duration"]) and bool(settings["steps"])


def model_file(case: Path) -> Path:
    """The highest Level/Version SBML file of the case."""
    files = list(case.glob(f"{case.name}-sbml-l*v*.xml"))
    if not files:
        raise FileNotFoundError(f"no SBML file in {case}")

    def level_version(p: Path) -> tuple[int, int]:
        m = re.search(r"-sbml-l(\d+)v(\d+)\.xml$", p.name)
        return (int(m.group(1)), int(m.group(2))) if m else (0, 0)

    return max(files, key=level_version)


def all_cases(suite: Path) -> list[Path]:
    semantic = suite / "semantic"
    return sorted(p for p in semantic.iterdir() if p.is_dir() and p.name.isdigit())


def select(cases: list[Path], spec: str | None) -> list[Path]:
    """``spec``: comma-separated numbers and ranges (``1-200,953``); None: all."""
    if not spec:
        return cases
    wanted: set[int] = set()
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            lo, hi = part.split("-", 1)
            wanted.update(range(int(lo), int(hi) + 1))
        else:
            wanted.add(int(part))
    return [c for c in cases if int(c.name) in wanted]


# -- one case ------------------------------------------------------------------------------------


@dataclass
class CaseResult:
    case: str
    outcome: str
    feature: str = ""
    message: str = ""
    seconds: float = 0.0
    worst: float = 0.0  # worst |error| / tolerance (pass when <= 1)
    where: str = ""  # variable and time of the worst error


def expected_table(case: Path) -> tuple[list[str], np.ndarray]:
    with (case / f"{case.name}-results.csv").open() as fh:
        rows = list(csv.reader(fh))
    header = [h.strip() for h in rows[0]]
    values = np.array([[_number(v) for v in row] for row in rows[1:] if row], dtype=float)
    return header, values


def _number(text: str) -> float:
    t = text.strip().lower()
    if t in ("inf", "+inf", "infinity"):
        return math.inf
    if t in ("-inf", "-infinity"):
        return -math.inf
    if t == "nan":
        return math.nan
    return float(t)


def compare(
    simulated: np.ndarray, expected: np.ndarray, absolute: float, relative: float
) -> tuple[bool, float, tuple[int, int]]:
    """The suite's pass rule; also the worst error relative to the tolerance and where."""
    tol = absolute + relative * np.abs(expected)
    with np.errstate(invalid="ignore"):
        err = np.abs(simulated - expected)
    same_special = (np.isnan(simulated) & np.isnan(expected)) | (
        np.isinf(expected) & (simulated == expected)
    )
    ratio = np.where(
        same_special, 0.0, np.where(np.isnan(err), np.inf, err / np.maximum(tol, 1e-300))
    )
    ok = bool(np.all(same_special | (err <= tol)))
    worst = np.unravel_index(int(np.argmax(ratio)), ratio.shape) if ratio.size else (0, 0)
    return ok, float(ratio[worst]) if ratio.size else 0.0, (int(worst[0]), int(worst[1]))


def feature_of(exc: BaseException) -> str:
    """A short name for what a typed error refused, for grouping."""
    feature = getattr(exc, "feature", None)
    if feature:
        return str(feature)
    text = str(exc)
    rules = [
        (r"delay\(\)|delay \(AST_FUNCTION_DELAY", "delay() csymbol"),
        (r"has a delay", "event delay"),
        (r"rateOf", "rateOf csymbol"),
        (r"package 'comp'", "comp package"),
        (r"package 'fbc'", "fbc package"),
        (r"package", "SBML package"),
        (r"algebraic rule", "algebraic rule"),
        (r"marked fast", "fast reaction"),
        (r"conversionFactor", "conversion factor"),
        (r"stoichiometryMath", "stoichiometryMath"),
        (r"stoichiometry", "variable stoichiometry"),
        (
            r"compartment .* not constant|size of compartment|constant size",
            "non-constant compartment",
        ),
        (r"priority", "event priority"),
        (r"persistent", "non-persistent trigger"),
        (r"== or !=", "event trigger with == or !="),
        (r"rem\(\)|quotient\(\)", "rem/quotient"),
        (r"non-finite|not finite|must be a finite", "non-finite value"),
        (r"undefined symbol", "undefined symbol (validation)"),
        (r"not a valid identifier|is reserved", "identifier"),
        (r"no kinetic law|math is missing|has no trigger", "element without math"),
        (r"size must be > 0", "zero-size compartment"),
    ]
    for pattern, name in rules:
        if re.search(pattern, text):
            return name
    return type(exc).__name__


def _report_model(
    model: Any, variables: list[str], settings: dict[str, Any]
) -> tuple[Any, list[str]]:
    """The model plus one observable per requested variable, in the requested units."""
    import sympy

    from mdrsim.model.ir import Observable

    taken = set(model.defined_names()) | set(model.reactions) | set(model.observables)
    observables = dict(model.observables)
    names = []
    for i, var in enumerate(variables):
        name = f"report_{i}"
        while name in taken:
            name = "x" + name
        taken.add(name)
        if var in model.species:
            sp = model.species[var]
            expr = sympy.Symbol(var)
            size = sympy.Symbol(sp.compartment)
            if var in settings["amount"] and not sp.amount_based:
                expr = expr * size
            elif var in settings["concentration"] and sp.amount_based:
                expr = expr / size
        elif var in model.reactions:
            expr = model.reactions[var].rate
        elif var in model.defined_names() or var in model.observables:
            expr = sympy.Symbol(var)
            if var in model.observables:
                expr = model.observables[var].expression
        else:
            raise LookupError(f"requested variable {var!r} is not in the imported model")
        observables[name] = Observable(name, expr)
        names.append(name)
    return replace(model, observables=observables), names


def run_case(case: Path, rtol: float = RTOL, atol: float = ATOL) -> CaseResult:
    """Load, simulate and judge one case (in the current process)."""
    from mdrsim.engine.compiled import compile_model
    from mdrsim.engine.solve import simulate
    from mdrsim.errors import MdrsimError
    from mdrsim.io import read_sbml

    start = time.perf_counter()
    settings = parse_settings(case / f"{case.name}-settings.txt")
    header, expected = expected_table(case)
    variables = header[1:]
    try:
        model = read_sbml(model_file(case))
        try:
            model, names = _report_model(model, variables, settings)
        except LookupError as exc:
            return CaseResult(case.name, "crash", "unreportable variable", str(exc),
                              time.perf_counter() - start)  # fmt: skip
        compiled = compile_model(model)
        t = expected[:, 0]
        result = simulate(compiled, t, rtol=rtol, atol=atol, max_steps=2_000_000)
    except MdrsimError as exc:
        return CaseResult(case.name, "refused", feature_of(exc), _one_line(exc),
                          time.perf_counter() - start)  # fmt: skip
    except Exception as exc:
        tb = traceback.extract_tb(exc.__traceback__)
        place = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
        return CaseResult(case.name, "crash", type(exc).__name__, _one_line(exc) + place,
                          time.perf_counter() - start)  # fmt: skip
    seconds = time.perf_counter() - start
    if not result.ok:
        return CaseResult(case.name, "solver-failed", "", "; ".join(result.failures().values()),
                          seconds)  # fmt: skip
    column = {n: j for j, n in enumerate(result.output_names)}
    simulated = np.stack([result.outputs[0, :, column[n]] for n in names], axis=1)
    ok, worst, (i, j) = compare(
        simulated, expected[:, 1:], settings["absolute"], settings["relative"]
    )
    where = (
        f"{variables[j]} at t={expected[i, 0]:g}: {float(simulated[i, j])!r} "
        f"vs {float(expected[i, j + 1])!r}"
    )
    return CaseResult(case.name, "pass" if ok else "wrong", "", "", seconds, worst, where)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:400]


# -- the peer ------------------------------------------------------------------------------------


def run_case_roadrunner(case: Path, rtol: float = RTOL, atol: float = ATOL) -> CaseResult:
    """The same case through libroadrunner (``--peer roadrunner``)."""
    import roadrunner

    start = time.perf_counter()
    settings = parse_settings(case / f"{case.name}-settings.txt")
    header, expected = expected_table(case)
    variables = header[1:]
    try:
        rr = roadrunner.RoadRunner(str(model_file(case)))
        rr.integrator.relative_tolerance = rtol
        rr.integrator.absolute_tolerance = atol
        species = set(rr.model.getFloatingSpeciesIds()) | set(rr.model.getBoundarySpeciesIds())
        selections = ["time"] + [
            f"[{v}]" if v in species and v in settings["concentration"] else v for v in variables
        ]
        t = expected[:, 0]
        out = rr.simulate(float(t[0]), float(t[-1]), len(t), selections=selections)
        simulated = np.asarray(out)[:, 1:]
    except Exception as exc:
        return CaseResult(case.name, "refused", type(exc).__name__, _one_line(exc),
                          time.perf_counter() - start)  # fmt: skip
    ok, worst, (i, j) = compare(
        simulated, expected[:, 1:], settings["absolute"], settings["relative"]
    )
    where = f"{variables[j]} at t={expected[i, 0]:g}"
    return CaseResult(case.name, "pass" if ok else "wrong", "", "", time.perf_counter() - start,
                      worst, where)  # fmt: skip


# -- many cases ----------------------------------------------------------------------------------


def _child(conn: Any, case: str, peer: str | None) -> None:
    try:
        fn = run_case_roadrunner if peer == "roadrunner" else run_case
        result = fn(Path(case))
    except BaseException as exc:
        result = CaseResult(Path(case).name, "crash", type(exc).__name__, _one_line(exc))
    conn.send(asdict(result))
    conn.close()


def run_cases(
    cases: list[Path],
    *,
    jobs: int = 2,
    timeout: float = 120.0,
    peer: str | None = None,
    progress: bool = False,
) -> list[CaseResult]:
    """Run each case in its own forked process (at most ``jobs`` at once), with a time limit.

    The parent imports mdrsim once, so each forked child starts without import cost.
    """
    import mdrsim.engine.solve
    import mdrsim.io  # noqa: F401

    if peer == "roadrunner":
        import roadrunner  # noqa: F401
    ctx = mp.get_context("fork")
    pending = list(cases)
    running: dict[Any, tuple[Path, Any, float]] = {}
    results: dict[str, CaseResult] = {}
    while pending or running:
        while pending and len(running) < jobs:
            case = pending.pop(0)
            parent, child = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_child, args=(child, str(case), peer), daemon=True)
            proc.start()
            child.close()
            running[proc] = (case, parent, time.perf_counter())
        time.sleep(0.02)
        for proc in list(running):
            case, conn, began = running[proc]
            elapsed = time.perf_counter() - began
            result = None
            if conn.poll():
                try:
                    result = CaseResult(**conn.recv())
                except EOFError:
                    result = None
                proc.join(5)
            elif not proc.is_alive():
                proc.join()
                result = CaseResult(case.name, "crash", "process died",
                                    f"exit code {proc.exitcode}", elapsed)  # fmt: skip
            elif elapsed > timeout:
                proc.kill()
                proc.join()
                result = CaseResult(case.name, "timeout", "", f"over {timeout:g} s", elapsed)
            if result is not None:
                if result.outcome == "crash" and result.feature == "" and result.message == "":
                    result.feature = "process died"
                results[case.name] = result
                del running[proc]
                conn.close()
                if progress:
                    print(f"{case.name} {result.outcome:13} {result.seconds:6.1f}s "
                          f"{result.feature} {result.message[:100]}", flush=True)  # fmt: skip
    return [results[c.name] for c in cases]


def summarise(results: list[CaseResult]) -> dict[str, Any]:
    totals = Counter(r.outcome for r in results)
    refused = Counter(r.feature for r in results if r.outcome == "refused")
    return {
        "cases": len(results),
        "totals": {o: totals.get(o, 0) for o in OUTCOMES},
        "refused_by_feature": dict(refused.most_common()),
        "wrong": [r.case for r in results if r.outcome == "wrong"],
        "crash": [r.case for r in results if r.outcome == "crash"],
        "solver_failed": [r.case for r in results if r.outcome == "solver-failed"],
        "timeout": [r.case for r in results if r.outcome == "timeout"],
    }


def write_tables(results: list[CaseResult], out: Path) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    fields = list(CaseResult.__dataclass_fields__)
    with (out / "results.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for r in results:
            writer.writerow(asdict(r))
    (out / "results.json").write_text(json.dumps([asdict(r) for r in results], indent=1))
    summary = summarise(results)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", help="suite root (holds semantic/)")
    parser.add_argument("--cases", help="e.g. 1-200,953 (default: all)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per case")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "sbml-test-suite"))
    parser.add_argument("--peer", choices=["roadrunner"], help="run a peer simulator instead")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    suite = suite_dir(args.suite)
    if not (suite / "semantic").is_dir():
        print(f"SBML Test Suite not found: {suite / 'semantic'} (use --suite or "
              "MDRSIM_SBML_TEST_SUITE)", file=sys.stderr)  # fmt: skip
        return 2
    cases = [c for c in select(all_cases(suite), args.cases) if is_time_course(c)]
    began = time.perf_counter()
    results = run_cases(cases, jobs=args.jobs, timeout=args.timeout, peer=args.peer,
                        progress=not args.quiet)  # fmt: skip
    out = Path(args.out) / (args.peer or "mdrsim")
    summary = write_tables(results, out)
    print(f"\n{len(results)} time-course cases in {time.perf_counter() - began:.0f} s "
          f"({args.peer or 'mdrsim'}); tables in {out}")  # fmt: skip
    for outcome, n in summary["totals"].items():
        print(f"  {outcome:14} {n}")
    if summary["refused_by_feature"]:
        print("refused, by feature:")
        for feature, n in summary["refused_by_feature"].items():
            print(f"  {n:5}  {feature}")
    for key in ("wrong", "crash", "solver_failed", "timeout"):
        if summary[key]:
            print(f"{key}: {' '.join(summary[key])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
