"""Hostile and careless inputs at every entry point: each must be refused with a typed
:class:`~mdrsim.errors.MdrsimError` (or a CLI ``error:`` line, exit 2) — never a traceback
(untyped), never a hang, never silently accepted.

Two parts (issue 16):

- a catalogue of hand-written bad inputs, classified as clear / untyped / hang / silent; the
  test asserts 0 untyped, 0 hangs, 0 silent and prints the counts (``pytest -s``);
- hypothesis fuzz targets for the formula parser, the YAML/trial loader, the population
  sampler and the Antimony reader, bounded (max_examples, deadline) so CI stays fast; raise
  ``MDRSIM_FUZZ_EXAMPLES=20000`` fuzzes longer with random seeds.
"""

from __future__ import annotations

import json
import math
import os
import signal
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from mdrsim.errors import MdrsimError
from mdrsim.io.antimony import read_antimony
from mdrsim.io.safe_yaml import load_yaml
from mdrsim.model.expressions import parse_expression
from mdrsim.trial import Population
from mdrsim.trial.spec import PopulationSpec, load_trial, parse_trial

TIMEOUT_S = 10
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class _HangError(Exception):
    pass


def _alarm(_sig: int, _frame: Any) -> None:
    raise _HangError


def classify(fn: Callable[[], Any], timeout_s: float = TIMEOUT_S) -> tuple[str, str]:
    """('clear' | 'untyped' | 'hang' | 'silent', detail) for one bad input."""
    use_alarm = threading.current_thread() is threading.main_thread()
    if use_alarm:
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        result = fn()
    except _HangError:
        return "hang", f"> {timeout_s} s"
    except MdrsimError as exc:
        return ("clear", str(exc)) if str(exc).strip() else ("untyped", "empty message")
    except Exception as exc:
        return "untyped", f"{type(exc).__name__}: {exc}"
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
    if isinstance(result, tuple) and result and result[0] == "cli":
        _, code, output = result
        if code == 2 and "error:" in output and "Traceback" not in output:
            return "clear", output.strip().splitlines()[-1]
        return ("silent", output[-200:]) if code == 0 else ("untyped", output[-300:])
    return "silent", repr(result)[:200]


# ----------------------------------------------------------------------------- the catalogue

FORMULAS = [
    "9^9^9", "9**9**9", "pow(9, pow(9, 9))", "10^400", "2^(2^(2^(2^(2^5))))", "0/0", "1/0",
    "x/0", "sqrt(-1)", "(-8)^(1/3)", "log(0)", "ln(0)", "exp(1e300)", "1e300*1e300", "1e400",
    "5||3", "2+true", "true/2", "x && 5", "!3", "(x>1)+1", "", "   ", "(" * 500 + "x" + ")" * 500,
    "-" * 5000 + "x", "1" * 5000, "x" + "+x" * 30000, "__import__('os')", "x.real", "a[0]",
    "lambda: 1", "'text'", "f(x)", "pow(2)", "exp(1, 2)", "min()", "x if y else z",
    "[1, 2]", "{1: 2}", "x = 1", "x; y", "x @ y", "x % 2", "x // 2", "x << 1", "~x", "...",
    "None", "b'x'", "1j", "sqrt(x)(y)", "piecewise()", "x ++", "é + 1", "\x00",
]  # fmt: skip

ANTIMONY = [
    "k = 9^9^9", "k = 1e400", "k = 1e-400", "k = 1/0", "k = 0/0", "k = sqrt(-1)",
    "k = 2\n x' = -k*x*é", "k = 1 é ü", "k = 2^2^2^2^2^2", "x' = -k*x\n k = log(0)",
]  # fmt: skip

_TRIAL_BASE = {
    "name": "t", "seed": 1, "horizon_days": 100, "scan_interval_days": 28,
    "simulator": {"model": "tiny.ant", "burden": ["T"]},
    "population": {"parameters": {"r": {"dist": "lognormal", "median": 0.01, "cv": 0.5}}},
    "arms": [{"name": "a"}],
}  # fmt: skip


def _trial_yaml(**changes: Any) -> str:
    return yaml.safe_dump({**_TRIAL_BASE, **changes})


def _alias_bomb() -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]")
    return "\n".join(lines) + "\nname: *a9\n"


TRIAL_TEXTS: list[str | bytes] = [
    _alias_bomb(),
    "a: " + "[" * 5000 + "]" * 5000,
    "a: " + "{b: " * 200 + "1" + "}" * 200,
    _trial_yaml() + "seed: 2\n",  # duplicate key
    _trial_yaml(seed=True),
    _trial_yaml(seed=1.5),
    _trial_yaml(seed=-1),
    _trial_yaml(name="../../outside"),
    _trial_yaml(name="a/b"),
    _trial_yaml(name=".."),
    _trial_yaml(scan_interval_days=1e-6),
    _trial_yaml(horizon_days=1e300),
    _trial_yaml(horizon_days=float("inf")),
    _trial_yaml(population={"parameters": {"r": {"dist": "lognormal", "median": 1, "cv": 1e300}}}),
    _trial_yaml(population={"parameters": {"r": {"dist": "normal", "mean": 1e308, "sd": 1e308}}}),
    _trial_yaml(population={"parameters": {"r": {"dist": "lognormal", "median": 1, "sigma": 1e5}}}),
    _trial_yaml(
        population={"parameters": {"r": {"dist": "uniform", "low": -1e308, "high": 1e308}}}
    ),
    _trial_yaml(
        population={"parameters": {"r": {"dist": "normal", "mean": float("nan"), "sd": 1}}}
    ),
    _trial_yaml(population={"max_draws": 10**12}),
    _trial_yaml(trajectories_first=True),
    _trial_yaml(arms=[]),
    _trial_yaml(arms=[{"name": "../x"}]),
    "!!python/object/apply:os.system ['echo hi']",
    "- 1\n- 2\n",
    "just text",
    "",
    b"name: t\xff\xfe\n",
    "\ufeffname: [unclosed",
    "a: 1\n" * 300_000,
]


def _write(tmp: Path, text: str | bytes) -> Path:
    p = tmp / "trial.yaml"
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    (tmp / "tiny.ant").write_text("model tiny()\n T' = r*T\n T = 10\n r = 0.01\nend\n")
    return p


def _regimen(n_cycles: Any) -> Callable[[], Any]:
    def run() -> Any:
        from mdrsim.regimen.schedule import Regimen

        try:
            return Regimen.model_validate(
                {"name": "x", "cycle_length_days": 21, "n_cycles": n_cycles,
                 "doses": [{"drug": "doxorubicin", "dose": 75, "unit": "mg/m2"}]}
            ).cycle_starts()  # fmt: skip
        except Exception as exc:  # pydantic's ValidationError is what the loaders wrap
            from pydantic import ValidationError

            if isinstance(exc, ValidationError):
                raise MdrsimError(str(exc)) from None
            raise

    return run


def _population(dist: dict[str, Any]) -> Callable[[], Any]:
    def run() -> Any:
        spec = parse_trial({**_TRIAL_BASE, "population": {"parameters": {"r": dist}}})
        return Population(spec.population, 1).sample(np.arange(50))

    return run


POPULATIONS = [
    {"dist": "lognormal", "median": 1, "cv": 1e300},
    {"dist": "lognormal", "median": 1e-320, "cv": 1},
    {"dist": "lognormal", "median": 1e308, "sigma": 20},
    {"dist": "normal", "mean": 0, "sd": 1e-320},
    {"dist": "normal", "mean": 0, "sd": 1, "lower": 50, "upper": 60},
    {"dist": "beta", "alpha": 1e-300, "beta": 1e300},
    {"dist": "logitnormal", "median": 0.5, "sigma": 1e300},
    {"dist": "uniform", "low": 0, "high": 1, "lower": 2, "upper": 3},
]


def _cli(*args: str) -> Callable[[], Any]:
    def run() -> Any:
        from mdrsim.cli import app

        r = CliRunner().invoke(app, list(args))
        return ("cli", r.exit_code, r.output + (repr(r.exception) if r.exception and
                not isinstance(r.exception, SystemExit) else ""))  # fmt: skip

    return run


def _catalogue(tmp: Path) -> list[tuple[str, str, Callable[[], Any]]]:
    cases: list[tuple[str, str, Callable[[], Any]]] = []
    for f in FORMULAS:
        cases.append(("formula", f[:40], lambda f=f: parse_expression(f)))
    for a in ANTIMONY:
        cases.append(
            ("antimony", a[:40], lambda a=a: read_antimony(f"model m()\n {a}\n x=1\nend\n"))
        )
    for i, t in enumerate(TRIAL_TEXTS):

        def load(t: str | bytes = t, i: int = i) -> Any:
            d = tmp / f"trial{i}"
            d.mkdir(exist_ok=True)
            return load_trial(_write(d, t))

        cases.append(("trial file", repr(t[:40]), load))
    for n in (10**8, 1e8, 0, -1, True, 2.5):
        cases.append(("regimen", f"n_cycles={n!r}", _regimen(n)))
    for d in POPULATIONS:
        cases.append(("population", json.dumps(d)[:60], _population(d)))
    # the store
    (tmp / "list_store").mkdir()
    (tmp / "list_store" / "manifest.json").write_text("[1, 2]")
    (tmp / "bin_store").mkdir()
    (tmp / "bin_store" / "manifest.json").write_bytes(b"\xff\x00")
    (tmp / "afile").write_text("x")
    spec = _write(tmp, _trial_yaml())
    model = tmp / "tiny.ant"
    cases += [
        ("cli", "query list manifest", _cli("query", str(tmp / "list_store"), "SELECT 1")),
        ("cli", "query binary manifest", _cli("query", str(tmp / "bin_store"), "SELECT 1")),
        ("cli", "query empty SQL", _cli("query", str(tmp / "list_store"), "")),
        (
            "cli",
            "trial --workers 0",
            _cli("trial", str(spec), "--patients", "5", "--workers", "0", "--out", str(tmp / "w0")),
        ),
        ("cli", "trial --patients 0", _cli("trial", str(spec), "--patients", "0")),
        ("cli", "trial --patients 1e12", _cli("trial", str(spec), "--patients", str(10**12))),
        (
            "cli",
            "trial --chunk-size 1e9",
            _cli("trial", str(spec), "--patients", "5", "--chunk-size", str(10**9)),
        ),
        (
            "cli",
            "trial --out is a file",
            _cli("trial", str(spec), "--patients", "5", "--out", str(tmp / "afile")),
        ),
        (
            "cli",
            "trial bad --scheduler",
            _cli("trial", str(spec), "--patients", "5", "--scheduler", "nonsense://::"),
        ),
        (
            "cli",
            "simulate --points 1e9",
            _cli(
                "simulate",
                str(model),
                "--until",
                "10",
                "--out",
                str(tmp / "s"),
                "--points",
                str(10**9),
            ),
        ),
        (
            "cli",
            "simulate --until 1e300",
            _cli("simulate", str(model), "--until", "1e300", "--out", str(tmp / "s")),
        ),
        (
            "cli",
            "simulate --out is a file",
            _cli("simulate", str(model), "--until", "10", "--out", str(tmp / "afile")),
        ),
        (
            "cli",
            "assay --concentration 0",
            _cli(
                "assay",
                "accumulation",
                "--probe",
                "doxorubicin",
                "--cell-line",
                "KB-3-1",
                "--concentration",
                "0 uM",
                "--out",
                str(tmp / "a"),
            ),
        ),
    ]
    cases += _declared_ranges(tmp)
    return cases


def _declared_model() -> Any:
    """A model that declares its ranges (a clearance > 0, a fraction, cells below K)."""
    from mdrsim.model import ModelBuilder
    from mdrsim.model.domain import below, fraction, positive

    b = ModelBuilder("declared")
    b.parameter("CL", 5.0, domain=positive("a clearance"))
    b.parameter("f", 0.3, domain=fraction("a fraction"))
    b.parameter("K", 100.0, domain=positive("a capacity"))
    b.species("T", 10.0, domain=below("K", 100.0, "cells below K"))
    b.species("D", 1.0)
    b.reaction("growth", "T*(1 - T/K)", products={"T": 1})
    b.reaction("clearance", "CL*(1 - f)*D", reactants={"D": 1})
    b.reaction("drain", "f", reactants={"D": 1})  # zero order: can take D below 0
    return b.build()


def _declared_ranges(tmp: Path) -> list[tuple[str, str, Callable[[], Any]]]:
    """Issue 16: values outside a declared physical range, and a solution that leaves it."""
    from mdrsim.data.library import load_library
    from mdrsim.engine import simulate
    from mdrsim.io.sbml import write_sbml
    from mdrsim.patient.scenario import parse_scenario

    model = _declared_model()
    path = tmp / "declared.xml"
    path.write_text(write_sbml(model))
    out = str(tmp / "declared_out")
    cases: list[tuple[str, str, Callable[[], Any]]] = [
        ("cli", f"simulate --param {p}", _cli("simulate", str(path), "--until", "1", "--out",
                                              out, "--param", p))
        for p in ("CL=-1", "CL=0", "f=1.2", "f=-0.1", "T=150", "K=-5", "D=-1")
    ]  # fmt: skip
    for p, v in (("CL", -20.0), ("f", 1.2), ("T", 1e9)):

        def run(p: str = p, v: float = v) -> Any:
            given = {p: v}
            if p in model.species:
                return simulate(model, until=1.0, initial=given)
            return simulate(model, until=1.0, params=given)

        cases.append(("engine", f"simulate {p}={v}", run))
    cases.append(
        ("engine", "solution below 0 (zero-order drain)",
         lambda: simulate(model, until=5.0, params={"f": 1.0, "CL": 0.1}).raise_on_failure())
    )  # fmt: skip
    text = (EXAMPLES / "doxorubicin.yaml").read_text()
    for old, new in (("bsa_m2: 1.8", "bsa_m2: 4.0"), ("bsa_m2: 1.8", "bsa_m2: -1.8")):
        cases.append(
            ("scenario", new, lambda o=old, n=new: parse_scenario(
                text.replace(o, n, 1), source="t", library=load_library()))
        )  # fmt: skip
    return cases


def test_catalogue_of_bad_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = [(area, name, *classify(fn)) for area, name, fn in _catalogue(tmp_path)]
    counts = Counter(kind for _, _, kind, _ in results)
    with capsys.disabled():
        print(
            f"\nhostile inputs: {len(results)} tried / {counts['clear']} clear errors / "
            f"{counts['untyped']} untyped / {counts['hang']} hangs / {counts['silent']} silent"
        )
        for area, name, kind, detail in results:
            if kind != "clear":
                print(f"  {kind:8s} {area:10s} {name!r}: {detail[:160]}")
    bad = [(a, n, k, d[:200]) for a, n, k, d in results if k != "clear"]
    assert not bad


def test_trial_name_cannot_leave_results(tmp_path: Path) -> None:
    """The default output folder is results/trial_NAME: a name with ../ is refused."""
    for name in ("../x", "a/../../b", "..", "/abs", "a\\b"):
        with pytest.raises(MdrsimError, match="name"):
            parse_trial({**_TRIAL_BASE, "name": name})


# ---------------------------------------------------------------------------------- fuzzing

#: Examples per fuzz target: 200 in CI; MDRSIM_FUZZ_EXAMPLES=20000 fuzzes longer (random seeds).
FUZZ_EXAMPLES = int(os.environ.get("MDRSIM_FUZZ_EXAMPLES", "200"))
_FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=2000,  # ms per example: a hang is a failure, not a slow test
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize="MDRSIM_FUZZ_EXAMPLES" not in os.environ,
)
_formula_text = st.one_of(
    st.text(max_size=60),
    st.lists(
        st.sampled_from(
            ["x", "y", "1", "0", "9", "2.5", "1e300", "true", "+", "-", "*", "/", "^", "**",
             "(", ")", ",", "&&", "||", "!", "<", ">=", "==", "sqrt", "log", "exp", "pow",
             "piecewise", "min", "abs", " "]
        ),
        max_size=25,
    ).map("".join),
)  # fmt: skip


def _typed_or_ok(fn: Callable[[], Any]) -> None:
    kind, detail = classify(fn, timeout_s=5)
    assert kind in ("clear", "silent"), detail


@_FUZZ
@given(_formula_text)
def test_fuzz_formula_parser(text: str) -> None:
    def run() -> Any:
        expr = parse_expression(text)
        # Accepted formulas hold no nan, infinity or imaginary unit.
        import sympy

        assert not expr.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo, sympy.I)
        for n in expr.atoms(sympy.Number):
            assert math.isfinite(float(n))
        return expr

    _typed_or_ok(run)


_yaml_scalar = st.one_of(
    st.integers(), st.floats(allow_nan=True), st.booleans(), st.none(), st.text(max_size=8)
)
_yaml_doc = st.recursive(
    _yaml_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


@_FUZZ
@given(st.one_of(st.binary(max_size=200), st.text(max_size=200)))
def test_fuzz_yaml_loader_raw(data: bytes | str) -> None:
    def run() -> Any:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return load_yaml(text, "fuzz")

    kind, detail = classify(run, timeout_s=5)
    # Undecodable bytes are the file reader's job (tested in the catalogue).
    assert kind in ("clear", "silent") or "UnicodeDecodeError" in detail, detail


@_FUZZ
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "name": _yaml_scalar, "seed": _yaml_scalar, "horizon_days": _yaml_scalar,
            "scan_interval_days": _yaml_scalar, "simulator": _yaml_doc, "population": _yaml_doc,
            "arms": _yaml_doc, "trajectories_first": _yaml_scalar, "schema_version": _yaml_scalar,
        },
    )
)  # fmt: skip
def test_fuzz_trial_document(doc: dict[str, Any]) -> None:
    _typed_or_ok(lambda: parse_trial(doc))


_num = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e308, max_value=1e308)
_dist = st.one_of(
    st.fixed_dictionaries({"dist": st.just("lognormal"), "median": _num, "cv": _num}),
    st.fixed_dictionaries({"dist": st.just("lognormal"), "median": _num, "sigma": _num}),
    st.fixed_dictionaries({"dist": st.just("normal"), "mean": _num, "sd": _num}),
    st.fixed_dictionaries({"dist": st.just("uniform"), "low": _num, "high": _num}),
    st.fixed_dictionaries({"dist": st.just("beta"), "alpha": _num, "beta": _num}),
    st.fixed_dictionaries({"dist": st.just("logitnormal"), "median": _num, "sigma": _num}),
)


@_FUZZ
@given(_dist, st.one_of(st.none(), _num), st.one_of(st.none(), _num))
def test_fuzz_population_sampler(dist: dict[str, Any], lower: float | None,
                                 upper: float | None) -> None:  # fmt: skip
    if lower is not None:
        dist = {**dist, "lower": lower}
    if upper is not None:
        dist = {**dist, "upper": upper}

    def run() -> Any:
        spec = PopulationSpec.model_validate({"parameters": {"r": dist}, "max_draws": 50})
        df = Population(spec, 3).sample(np.arange(20))
        assert np.isfinite(df["r"]).all()
        return df

    def typed() -> Any:
        from pydantic import ValidationError

        try:
            return run()
        except ValidationError as exc:  # the trial loader turns these into TrialSpecError
            raise MdrsimError(str(exc)) from None

    _typed_or_ok(typed)


# Each example loads a model through the antimony library: fewer examples, longer deadline.
@settings(
    max_examples=max(60, FUZZ_EXAMPLES // 4),
    deadline=5000,
    derandomize="MDRSIM_FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(_formula_text)
def test_fuzz_antimony_reader(formula: str) -> None:
    if "\x00" in formula:
        formula = formula.replace("\x00", "")
    _typed_or_ok(lambda: read_antimony(f"model m()\n k = {formula}\n x' = -k*x\n x = 1\nend\n"))


_DECLARED: list[Any] = []


@_FUZZ
@given(
    name=st.sampled_from(["CL", "f", "K", "T", "D"]),
    value=st.floats(allow_nan=True, allow_infinity=True),
    capacity=st.none() | st.floats(allow_nan=True, allow_infinity=True),
)
def test_fuzz_declared_ranges(name: str, value: float, capacity: float | None) -> None:
    """Any number for a name with a declared range: accepted exactly when inside it, else a
    PhysicalBoundsError that names the field — never an untyped error, never silence."""
    from mdrsim.errors import PhysicalBoundsError

    if not _DECLARED:
        _DECLARED.append(_declared_model())
    model = _DECLARED[0]
    values = {name: value} if capacity is None or name == "K" else {name: value, "K": capacity}
    domain = model.domain_of(name)
    upper = capacity if (capacity is not None and domain.upper_name == "K") else None
    if upper is None and domain.upper_name == "K":
        upper = model.value_of("K")
    inside = bool(domain.inside(value, upper))
    if "K" in values and name != "K":
        inside = inside and bool(model.domain_of("K").inside(values["K"]))
    try:
        model.check_values(values, "value")
    except PhysicalBoundsError as exc:
        assert not inside, (values, str(exc))
        assert "value " in str(exc) and "outside its physical range" in str(exc)
    else:
        assert inside, values


def test_scenario_file_named_by_a_trial_gets_the_same_limits(tmp_path: Path) -> None:
    """A trial's scenario file is read with the same limits (aliases, non-UTF-8)."""
    for i, content in enumerate((_alias_bomb().encode(), b"patient: \xff\xfe\n")):
        d = tmp_path / str(i)
        d.mkdir()
        (d / "s.yaml").write_bytes(content)
        doc = {**_TRIAL_BASE, "simulator": {"scenario": "s.yaml"}, "population": {}}
        (d / "t.yaml").write_text(yaml.safe_dump(doc))
        from mdrsim.trial import TrialPlan

        kind, detail = classify(lambda d=d: TrialPlan.from_file(d / "t.yaml"))
        assert kind == "clear", detail
        assert "simulator.scenario" in detail
