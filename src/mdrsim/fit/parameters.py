"""Fitted parameters as a file that simulations can use: written by ``mdrsim fit`` (the ``model``
block of ``best.json``), read by ``mdrsim simulate``, ``mdrsim run`` and ``mdrsim trial``
(``--params FILE``).

A parameter file names the model it was fitted to by its **structure hash** (everything the
compiled code depends on: states, reactions, rules, events and the names of the parameters —
not their values, which the fit changed) and gives the fitted values of model parameters by
name, in linear scale. A file is applied to a model only when both match; otherwise it is
refused with :class:`~mdrsim.errors.ParameterFileMismatchError` that says what differs, so
values fitted to one model never silently end up in another. Malformed files are refused with
:class:`~mdrsim.errors.ParameterFileError` naming the file and the field.

The file format (JSON; ``best.json`` of a fit holds it under ``"model"``, a file may also be
just this object)::

    {"format": "mdrsim-parameters/1",
     "name": "<model name>", "structure_hash": "<sha256>",
     "parameters": {"k1": 0.25, ...},
     "source": {...}}            # optional: what the values were fitted to
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mdrsim.errors import ParameterFileError, ParameterFileMismatchError
from mdrsim.model.ir import Model

__all__ = [
    "FORMAT",
    "FittedParameters",
    "FittedSimulator",
    "apply_to_plan",
    "fit_block",
    "model_block",
    "read_parameter_file",
    "write_parameter_file",
]

#: Format tag of a parameter file (the ``model`` block of best.json, or a file of its own).
FORMAT = "mdrsim-parameters/1"
#: Largest parameter file read (bytes): a parameter file is a few kB.
MAX_BYTES = 10_000_000


@dataclass(frozen=True)
class FittedParameters:
    """Parameter values fitted to the model with ``structure_hash`` (linear scale, by name)."""

    name: str
    structure_hash: str
    values: dict[str, float]
    source: dict[str, Any] = field(default_factory=dict)
    path: str = ""
    sha256: str = ""  # of the file it was read from

    def check(self, model: Model, allowed: list[str] | None = None) -> None:
        """Refuse (``ParameterFileMismatchError``) unless the file was fitted to ``model`` and
        names only parameters it has (``allowed``: the names the caller can set; default the
        model's parameters)."""
        where = self.path or "parameter file"
        actual = model.structure_hash()
        if actual != self.structure_hash:
            raise ParameterFileMismatchError(
                f"{where}: fitted to model {self.name!r} (structure hash "
                f"{self.structure_hash[:12]}…), but this model is {model.name!r} (structure "
                f"hash {actual[:12]}…): the parameters belong to another model; refit on this one"
            )
        names = set(allowed if allowed is not None else model.parameters)
        unknown = sorted(n for n in self.values if n not in names)
        if unknown:
            shown = ", ".join(unknown[:10]) + (" …" if len(unknown) > 10 else "")
            raise ParameterFileMismatchError(
                f"{where}: parameters.{unknown[0]}: not a parameter this model lets a run set "
                f"({len(unknown)} unknown: {shown})"
            )

    def provenance(self) -> dict[str, Any]:
        """What a simulation records about the file it used."""
        return {
            "file": self.path,
            "sha256": self.sha256,
            "model": self.name,
            "structure_hash": self.structure_hash,
            "values": dict(self.values),
            "source": self.source,
        }


def model_block(
    model: Model, values: dict[str, float], source: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON object of a parameter file for ``values`` fitted to ``model``."""
    for name, value in values.items():
        if name not in model.parameters:
            raise ParameterFileError(f"parameters.{name}: not a parameter of {model.name!r}")
        if not math.isfinite(value):
            raise ParameterFileError(f"parameters.{name}: {value!r} is not a finite number")
    return {
        "format": FORMAT,
        "name": model.name,
        "structure_hash": model.structure_hash(),
        "parameters": {k: float(v) for k, v in values.items()},
        "source": source or {},
    }


def fit_block(problem: Any, linear: dict[str, float], source: dict[str, Any]) -> dict[str, Any]:
    """The ``model`` block of a fit's best.json: every model parameter that the PEtab parameter
    table sets (estimated ones at their fitted ``linear`` value, fixed ones at their nominal
    value); parameters the condition table sets per condition are listed in
    ``source.condition_specific`` and not applied (a simulation has no PEtab condition)."""
    model: Model = problem.model
    ptab = problem.parameters
    by_condition = sorted(c for c in problem.condition_table.columns if c in model.parameters)
    values: dict[str, float] = {}
    for pid in ptab.index:
        if pid not in model.parameters or pid in by_condition:
            continue
        values[str(pid)] = float(linear[pid]) if pid in linear else float(ptab.loc[pid, "nominal"])
    return model_block(model, values, {**source, "condition_specific": by_condition})


def write_parameter_file(
    path: str | Path,
    model: Model,
    values: dict[str, float],
    source: dict[str, Any] | None = None,
) -> Path:
    """Write a parameter file for ``values`` fitted to ``model``."""
    out = Path(path)
    out.write_text(json.dumps(model_block(model, values, source), indent=2) + "\n")
    return out


def read_parameter_file(path: str | Path) -> FittedParameters:
    """Read a parameter file, or the ``model`` block of a fit's best.json."""
    p = Path(path)
    where = str(p)
    if not p.is_file():
        raise ParameterFileError(f"{where}: no such file")
    size = p.stat().st_size
    if size > MAX_BYTES:
        raise ParameterFileError(f"{where}: {size:,} bytes; a parameter file is at most "
                                 f"{MAX_BYTES:,}")  # fmt: skip
    raw = p.read_bytes()
    try:
        doc = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ParameterFileError(f"{where}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ParameterFileError(f"{where}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if isinstance(doc, dict) and "model" in doc and "format" not in doc:
        if doc.get("status") != "converged":
            raise ParameterFileError(
                f"{where}: status {doc.get('status')!r}; only the best.json of a converged fit "
                "holds parameters"
            )
        doc = doc["model"]
        where = f"{where} (model)"
    elif isinstance(doc, dict) and "format" not in doc and "linear" in doc:
        raise ParameterFileError(
            f"{where}: a best.json without a 'model' block (written before mdrsim could feed "
            "fits into simulations): refit to get one"
        )
    if not isinstance(doc, dict):
        raise ParameterFileError(f"{where}: expected a JSON object, got {type(doc).__name__}")
    if doc.get("format") != FORMAT:
        raise ParameterFileError(f"{where}: format {doc.get('format')!r}; allowed: {FORMAT!r}")
    name, shash, values = doc.get("name"), doc.get("structure_hash"), doc.get("parameters")
    if not isinstance(name, str):
        raise ParameterFileError(f"{where}: name must be a string (the model's name)")
    if not (
        isinstance(shash, str)
        and 16 <= len(shash) <= 64
        and all(c in "0123456789abcdef" for c in shash)
    ):
        raise ParameterFileError(f"{where}: structure_hash must be 16 to 64 hex digits")
    if not isinstance(values, dict) or not values:
        raise ParameterFileError(f"{where}: parameters must be a non-empty object name → value")
    clean: dict[str, float] = {}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParameterFileError(f"{where}: parameters.{key}: {value!r} is not a number")
        if not math.isfinite(value):
            raise ParameterFileError(f"{where}: parameters.{key}: {value!r} is not finite")
        clean[str(key)] = float(value)
    source = doc.get("source") or {}
    if not isinstance(source, dict):
        raise ParameterFileError(f"{where}: source must be an object")
    return FittedParameters(
        name=name,
        structure_hash=shash,
        values=clean,
        source=source,
        path=str(p),
        sha256=hashlib.sha256(raw).hexdigest(),
    )


# ---------------------------------------------------------------------------------------------
# Trials: the fitted values as fixed inputs of every virtual patient.


def _simulator_compiled(simulator: Any) -> Any:
    compiled = getattr(simulator, "compiled", None)
    if compiled is None:
        compiled = getattr(getattr(simulator, "model", None), "compiled", None)
    if compiled is None:
        raise ParameterFileError(
            f"the trial's simulator ({type(simulator).__name__}) does not expose its model, so "
            "a parameter file cannot be checked against it"
        )
    return compiled


class FittedSimulator:
    """A trial simulator whose patients all get the fitted values (the population still
    samples its own names; a name both sampled and fitted is refused when it is built). Its
    ``describe()`` — stored in the trial manifest, part of the trial's identity — records the
    parameter file, so a trial directory is never resumed with other fitted values."""

    def __init__(self, inner: Any, fitted: FittedParameters) -> None:
        self.inner = inner
        self.fitted = fitted

    def __getattr__(self, name: str) -> Any:
        # Optional hooks of the inner simulator (physical_bounds, required_population_names…).
        if name in ("inner", "fitted"):
            raise AttributeError(name)
        return getattr(self.inner, name)

    def arm_names(self) -> list[str]:
        return list(self.inner.arm_names())

    def parameter_names(self) -> list[str]:
        return list(self.inner.parameter_names())

    def simulate_chunk(self, arm: str, patients: Any) -> Any:
        patients = patients.copy()
        for name, value in self.fitted.values.items():
            patients[name] = value
        return self.inner.simulate_chunk(arm, patients)

    def describe(self) -> dict[str, Any]:
        return {**self.inner.describe(), "fitted_parameters": self.fitted.provenance()}


def apply_to_plan(plan: Any, fitted: FittedParameters) -> Any:
    """``plan`` (a :class:`~mdrsim.trial.runner.TrialPlan`) with ``fitted`` applied to every
    patient, after checking it against the simulator's model; names the population samples
    or an arm sets are refused (which value would win is not obvious)."""
    compiled = _simulator_compiled(plan.simulator)
    fitted.check(compiled.model, list(compiled.parameter_names))
    sampled = set(plan.spec.population.variable_names)
    for name in fitted.values:
        if name in sampled:
            raise ParameterFileMismatchError(
                f"{fitted.path}: parameters.{name}: also sampled by the trial's population "
                f"(population.parameters.{name}); fix it in one place"
            )
    for arm in plan.spec.arms:
        arm_params = arm.model_dump().get("parameters") or {}
        both = sorted(set(arm_params) & set(fitted.values))
        if both:
            raise ParameterFileMismatchError(
                f"{fitted.path}: parameters.{both[0]}: also set by arm {arm.name!r}; fix it in "
                "one place"
            )
    return type(plan)(plan.spec, FittedSimulator(plan.simulator, fitted), plan.population)
