"""State a fitting problem on one of mdrsim's own models and write it as PEtab.

A user who has an mdrsim model (built with :class:`~mdrsim.model.ModelBuilder`, read from
Antimony/SBML, or one of the biology builders such as the CD8 module) and a table of
measurements says which model quantity each measured column is (:class:`ObservableMap`), which
parameters are free and within which bounds (:class:`FreeParameter`) and, optionally, what each
experimental condition sets (initial cell numbers, inocula). :func:`write_petab_problem` then
writes a complete PEtab v1 problem — the model exported with :func:`mdrsim.io.sbml_write.write_sbml`
and the four tables written with the ``petab`` library — and reads it back with
:func:`mdrsim.io.petab.load_petab` (which lints it). The result is the same internal problem
every PEtab benchmark compiles to: ``mdrsim fit DIR/problem.yaml`` fits it, and any other PEtab
tool (pyPESTO, COPASI, Data2Dynamics) reads the same folder.

The ``petab`` library writes the tables because it is kept by the standard's authors: the files
it writes are the files its linter accepts.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mdrsim.errors import PetabError
from mdrsim.io.petab import NOISE_DISTRIBUTIONS, SCALES, TRANSFORMATIONS, PetabProblem
from mdrsim.model.ir import Model

__all__ = ["FreeParameter", "ObservableMap", "write_petab_problem"]


@dataclass(frozen=True)
class ObservableMap:
    """A measured quantity and the model expression it is (``formula``, in model ids).

    ``noise`` is the noise formula: a number, an expression of model parameters, or
    ``None`` to take the standard deviation of each measurement from the measurement table's
    ``noiseParameters`` column (PEtab's ``noiseParameter1_<id>`` placeholder).
    """

    id: str
    formula: str
    noise: str | float | None = None
    transformation: str = "lin"
    distribution: str = "normal"
    name: str = ""


@dataclass(frozen=True)
class FreeParameter:
    """A model parameter to estimate: bounds (linear units), scale and optional start value."""

    id: str
    lower: float
    upper: float
    scale: str = "log10"
    nominal: float | None = None  # default: the model's value


_MEASUREMENT_COLUMNS = ("observableId", "simulationConditionId", "time", "measurement")


def write_petab_problem(
    model: Model,
    out: str | os.PathLike[str],
    *,
    measurements: pd.DataFrame,
    observables: Sequence[ObservableMap],
    free: Sequence[FreeParameter],
    conditions: Mapping[str, Mapping[str, float | str]] | None = None,
    name: str | None = None,
) -> PetabProblem:
    """Write ``model`` and the data as a PEtab v1 problem in ``out`` and load it back.

    ``measurements`` has the PEtab columns ``observableId, simulationConditionId, time,
    measurement`` and optionally ``noiseParameters`` (a number per row) — rows whose
    condition column is missing use the single condition ``conditions`` defines or
    ``"default"``. ``conditions`` maps a condition id to what it sets (a model parameter or a
    species' initial value, by id, to a number or a parameter id — a free parameter that is not
    in the model, e.g. a nuisance parameter of one experiment). Files written:
    ``model.xml``, ``conditions.tsv``, ``measurements.tsv``, ``observables.tsv``,
    ``parameters.tsv`` and ``problem.yaml``. Bad input raises :class:`PetabError` naming the
    row and column.
    """
    from petab import v1 as petab

    from mdrsim.io.petab import load_petab
    from mdrsim.io.sbml_write import write_sbml

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    conds = {k: dict(v) for k, v in (conditions or {"default": {}}).items()}
    obs_ids = [o.id for o in observables]
    if len(set(obs_ids)) != len(obs_ids):
        raise PetabError(f"observables: duplicate ids in {obs_ids}")
    meas = _measurements(measurements, set(obs_ids), conds)
    has_noise_column = "noiseParameters" in meas.columns

    for cid, sets in conds.items():
        for target in sets:
            if target not in model.species and target not in model.parameters:
                raise PetabError(
                    f"conditions[{cid!r}]: {target!r} is neither a species nor a parameter of "
                    f"model {model.name!r}"
                )

    condition_refs = {v for sets in conds.values() for v in sets.values() if isinstance(v, str)}
    obs_rows = []
    for o in observables:
        if o.transformation not in TRANSFORMATIONS:
            raise PetabError(f"observable {o.id!r}: transformation {o.transformation!r}; "
                             f"allowed {TRANSFORMATIONS}")  # fmt: skip
        if o.distribution not in NOISE_DISTRIBUTIONS:
            raise PetabError(f"observable {o.id!r}: distribution {o.distribution!r}; "
                             f"allowed {NOISE_DISTRIBUTIONS}")  # fmt: skip
        if o.noise is None and not has_noise_column:
            raise PetabError(
                f"observable {o.id!r}: noise=None takes the standard deviation from the "
                "measurement table's noiseParameters column, which is missing"
            )
        obs_rows.append(
            {
                "observableId": o.id,
                "observableName": o.name or o.id,
                "observableFormula": o.formula,
                "noiseFormula": f"noiseParameter1_{o.id}" if o.noise is None else o.noise,
                "observableTransformation": o.transformation,
                "noiseDistribution": o.distribution,
            }
        )

    par_rows = []
    for p in free:
        if p.id not in model.parameters and p.id not in condition_refs:
            known = ", ".join(sorted(model.parameters)[:30])
            raise PetabError(
                f"free parameter {p.id!r} is neither a parameter of the model ({known}) nor "
                "named in the conditions"
            )
        if p.id not in model.parameters and p.nominal is None:
            raise PetabError(f"free parameter {p.id!r} is not in the model: give nominal=")
        if p.scale not in SCALES:
            raise PetabError(f"free parameter {p.id!r}: scale {p.scale!r}; allowed {SCALES}")
        nominal = p.nominal if p.nominal is not None else _value(model, p.id)
        if not (math.isfinite(p.lower) and math.isfinite(p.upper) and p.lower < p.upper):
            raise PetabError(f"free parameter {p.id!r}: bounds [{p.lower}, {p.upper}]")
        if p.scale != "lin" and p.lower <= 0:
            raise PetabError(f"free parameter {p.id!r}: a {p.scale} scale needs lower > 0")
        if not p.lower <= nominal <= p.upper:
            raise PetabError(
                f"free parameter {p.id!r}: nominal {nominal} outside [{p.lower}, {p.upper}]"
            )
        par_rows.append(
            {
                "parameterId": p.id,
                "parameterScale": p.scale,
                "lowerBound": p.lower,
                "upperBound": p.upper,
                "nominalValue": nominal,
                "estimate": 1,
            }
        )

    if has_noise_column:
        # Rows of observables with a noise formula of their own carry no noise override.
        explicit = {o.id for o in observables if o.noise is not None}
        meas.loc[meas["observableId"].isin(explicit), "noiseParameters"] = math.nan
        if meas["noiseParameters"].isna().all():
            meas = meas.drop(columns="noiseParameters")
    (out / "model.xml").write_text(write_sbml(model), encoding="utf-8")
    cond_df = pd.DataFrame([{"conditionId": cid, **sets} for cid, sets in conds.items()]).set_index(
        "conditionId"
    )
    petab.write_condition_df(cond_df, out / "conditions.tsv")
    petab.write_measurement_df(meas, out / "measurements.tsv")
    petab.write_observable_df(pd.DataFrame(obs_rows).set_index("observableId"),
                              out / "observables.tsv")  # fmt: skip
    petab.write_parameter_df(pd.DataFrame(par_rows).set_index("parameterId"),
                             out / "parameters.tsv")  # fmt: skip
    petab.create_problem_yaml(
        sbml_files=str(out / "model.xml"),
        condition_files=str(out / "conditions.tsv"),
        measurement_files=str(out / "measurements.tsv"),
        parameter_file=str(out / "parameters.tsv"),
        observable_files=str(out / "observables.tsv"),
        yaml_file=out / "problem.yaml",
        relative_paths=True,
    )
    return load_petab(out / "problem.yaml")


def _value(model: Model, pid: str) -> float:
    value = model.parameters[pid].value
    if value is None:
        raise PetabError(f"free parameter {pid!r} has no value in the model; give nominal=")
    return float(value)


def _measurements(
    df: pd.DataFrame, observables: set[str], conditions: Mapping[str, object]
) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise PetabError("measurements: a pandas DataFrame is required")
    df = df.copy()
    if "simulationConditionId" not in df.columns:
        if len(conditions) != 1:
            raise PetabError(
                "measurements: column simulationConditionId is required with several conditions"
            )
        df["simulationConditionId"] = next(iter(conditions))
    missing = [c for c in _MEASUREMENT_COLUMNS if c not in df.columns]
    if missing:
        raise PetabError(f"measurements: missing column(s) {missing}")
    for i, row in enumerate(df.itertuples(index=False), start=1):
        r = row._asdict()
        where = f"measurements row {i}"
        if r["observableId"] not in observables:
            raise PetabError(f"{where}, column observableId: unknown {r['observableId']!r}")
        if r["simulationConditionId"] not in conditions:
            raise PetabError(
                f"{where}, column simulationConditionId: unknown {r['simulationConditionId']!r}"
            )
        for col in ("time", "measurement"):
            v = r[col]
            if not isinstance(v, numbers.Real) or not math.isfinite(v):
                raise PetabError(f"{where}, column {col}: {v!r} is not a finite number")
        if r["time"] < 0:
            raise PetabError(f"{where}, column time: {r['time']} < 0")
        if "noiseParameters" in r and not (
            isinstance(r["noiseParameters"], float) and math.isnan(r["noiseParameters"])
        ):
            v = r["noiseParameters"]
            if not isinstance(v, numbers.Real) or not (math.isfinite(v) and float(v) > 0):
                raise PetabError(f"{where}, column noiseParameters: {v!r} is not a positive number")
    cols = [*_MEASUREMENT_COLUMNS, *(["noiseParameters"] if "noiseParameters" in df else [])]
    return df[cols].reset_index(drop=True)
