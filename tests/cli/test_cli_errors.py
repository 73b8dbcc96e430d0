"""The CLI's output contract (mdrsim.cli.common): every command given bad input exits with the
documented code, prints one ``error:`` line on stderr and nothing on stdout, never a
traceback; ``--json`` prints exactly one valid JSON document on stdout. And the layering: no
core module imports the CLI or the report, and trial/ never imports report/."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mdrsim.cli import app
from mdrsim.cli.common import EXIT_INPUT, EXIT_SIMULATION
from tests.unit.trial.conftest import make_trial

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SRC = ROOT / "src" / "mdrsim"
runner = CliRunner()

# Finite-time blow-up (x' = x², x(0) = 1 → ∞ at t = 1): valid input, failed simulation.
BLOW_UP = """
model blow()
  species x = 1;
  k = 1;
  growth: -> x; k*x*x;
end
"""


def test_documented_exit_codes() -> None:
    # The values are the documented contract (module docstring, docs/cli.md), not a detail.
    assert (EXIT_INPUT, EXIT_SIMULATION) == (2, 1)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    bad_scenario = tmp_path / "bad.yaml"
    bad_scenario.write_text(
        (EXAMPLES / "doxorubicin.yaml").read_text().replace("bsa_m2: 1.8", "bsa_m2: -1.8", 1)
    )
    spec = make_trial(tmp_path)
    spec["population"]["parameters"]["r"]["cv"] = -1
    bad_trial = tmp_path / "trial.yaml"
    bad_trial.write_text(yaml.safe_dump(spec))
    broken_model = tmp_path / "broken.ant"
    broken_model.write_text("model m()\n  x' = ;\nend\n")
    blow = tmp_path / "blow.ant"
    blow.write_text(BLOW_UP)
    return {
        "bad_scenario": bad_scenario,
        "bad_trial": bad_trial,
        "broken_model": broken_model,
        "blow": blow,
        "missing": tmp_path / "missing.ant",
        "out": tmp_path / "out",
        "tmp": tmp_path,
    }


# (command line with {placeholders}, expected exit code, text the error must contain)
BAD_INPUTS = [
    (["info", "{missing}"], 2, "does not exist"),
    (["info", "{broken_model}", "--json"], 2, "cannot read"),
    (["export-sbml", "{missing}", "-o", "{out}/m.xml"], 2, "does not exist"),
    (["simulate", "{missing}", "--until", "1", "--out", "{out}"], 2, "does not exist"),
    (["simulate", "{blow}", "--until", "0", "--out", "{out}", "--json"], 2, "--until"),
    (["simulate", "{blow}", "--until", "1", "--out", "{out}", "--param", "k"], 2, "NAME=VALUE"),
    (["drugs", "show", "doxorubicn", "--json"], 2, "did you mean"),
    (
        [
            "assay",
            "ic50",
            "--drug",
            "doxorubicin",
            "--cell-line",
            "KB-3-1",
            "--inhibitor",
            "tariquidar",
        ],
        2,
        "NAME:CONCENTRATION",
    ),
    (
        [
            "assay",
            "ic50",
            "--drug",
            "doxorubicin",
            "--cell-line",
            "KB-3-1",
            "--exposure",
            "-1h",
            "--json",
        ],
        2,
        "--exposure",
    ),
    (["assay", "accumulation", "--probe", "nodrug", "--cell-line", "KB-3-1"], 2, "nodrug"),
    (["experiment", "mdr1-tcells", "--schedule", "weekly", "--out", "{out}"], 2, "allowed"),
    (
        [
            "tumour",
            "resistance-at-diagnosis",
            "--cells",
            "1e5",
            "--mutation-rate",
            "1e-5",
            "--method",
            "euler",
            "--json",
        ],
        2,
        "method",
    ),
    (["run", "{bad_scenario}", "--out", "{out}", "--json"], 2, "patient.bsa_m2"),
    (["run", "{missing}", "--out", "{out}"], 2, "cannot read"),
    (["compare", "{bad_scenario}", "--out", "{out}"], 2, "at least two"),
    (["trial", "{bad_trial}", "--patients", "4", "--out", "{out}", "--json"], 2, "cv"),
    (
        ["trial", "{missing}", "--patients", "4", "--workers", "1", "--scheduler", "tcp://x:1"],
        2,
        "not both",
    ),
    (["query", "{tmp}", "SELECT 1", "--json"], 2, "not a trial directory"),
    (["trial-fit", "{missing}", "--out", "{out}", "--json"], 2, "does not exist"),
    (["trial-fit", "{bad_trial}", "--out", "{out}"], 2, "free"),
]


@pytest.mark.parametrize(("argv", "code", "text"), BAD_INPUTS, ids=lambda v: str(v)[:40])
def test_bad_input_fails_on_stderr_without_traceback(
    files: dict[str, Path], argv: list[str], code: int, text: str
) -> None:
    args = [a.format(**files) for a in argv]
    r = runner.invoke(app, args)
    assert r.exit_code == code, (args, r.output)
    assert r.stdout == "", "an error writes nothing on stdout (it would break --json readers)"
    assert r.stderr.startswith("error: "), r.stderr
    assert text in r.stderr
    assert "Traceback" not in r.output
    assert not isinstance(r.exception, Exception) or isinstance(r.exception, SystemExit)


def test_failed_simulation_exits_1_with_a_json_document(files: dict[str, Path]) -> None:
    out = files["out"]
    r = runner.invoke(
        app, ["simulate", str(files["blow"]), "--until", "5", "--out", str(out), "--json"]
    )
    assert r.exit_code == EXIT_SIMULATION, r.output
    doc = json.loads(r.stdout)  # strict JSON: the blown-up final value is null, not Infinity
    assert doc["status"] == "failed" and "t=1" in doc["failure"]
    assert doc["variables"][0]["final"] is None
    assert "simulation failed" in r.stderr and "Traceback" not in r.output


@pytest.mark.parametrize(
    "argv",
    [
        ["drugs", "list", "--json"],
        ["inhibitors", "list", "--json"],
        ["cell-lines", "list", "--json"],
        ["drugs", "show", "doxorubicin", "--json"],
        [
            "tumour",
            "resistance-at-diagnosis",
            "--cells",
            "1e4",
            "--mutation-rate",
            "1e-4",
            "--trajectories",
            "50",
            "--seed",
            "3",
            "--json",
        ],
    ],
    ids=lambda v: " ".join(v[:2]),
)
def test_json_is_one_strict_document_on_stdout(argv: list[str]) -> None:
    r = runner.invoke(app, argv)
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert len(lines) == 1
    # parse_constant rejects NaN / Infinity, which json.loads would otherwise accept.
    json.loads(lines[0], parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def _offenders(packages: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for pkg in packages:
        files = [pkg] if pkg.is_file() else sorted(pkg.rglob("*.py"))
        for f in files:
            bad = {m for m in _imports(f) if m.startswith(forbidden)}
            found += [f"{f.relative_to(SRC)} imports {m}" for m in sorted(bad)]
    return found


def test_core_never_imports_cli_or_report() -> None:
    core = [p for p in SRC.iterdir() if p.name not in ("cli", "report", "__pycache__")]
    core = [p for p in core if p.is_dir() or p.suffix == ".py"]
    assert _offenders(core, ("mdrsim.cli", "mdrsim.report")) == []
    assert _offenders([SRC / "trial"], ("mdrsim.report",)) == []


def test_layering_check_catches_an_offender(tmp_path: Path) -> None:
    # The check above must be able to fail: a module importing the CLI is reported.
    offender = tmp_path / "x.py"
    offender.write_text("from mdrsim.cli.common import fail\nimport mdrsim.report.html\n")
    assert _imports(offender) >= {"mdrsim.cli.common", "mdrsim.report.html"}
