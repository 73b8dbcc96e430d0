"""Timed events imposed from outside the model: bolus doses, infusions, parameter switches.

A regimen becomes an :class:`EventTable`: each row acts on a state, a parameter or a state's
zero-order input rate (an infusion) at a time, by setting, adding or multiplying. Times and
values may differ between patients (arrays of length ``n_patients``); targets and operations
are shared, so every patient runs the same compiled code. The engine stops exactly at each
time (integrating piecewise), so a bolus or an infusion edge is never smeared by a step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from mdrsim.errors import SimulationInputError
from mdrsim.model.expressions import did_you_mean

Target = Literal["state", "parameter", "input"]
Operation = Literal["set", "add", "multiply"]

_KIND = {"state": 0, "parameter": 1, "input": 2}
_OP = {"set": 0, "add": 1, "multiply": 2}


@dataclass
class _Row:
    time: np.ndarray | float
    target: Target
    name: str
    op: Operation
    value: np.ndarray | float


@dataclass
class EventTable:
    """Rows of (time, target kind, name, operation, value), applied in time order.

    At equal times, model events fire first, then rows in the order they were added.
    """

    rows: list[_Row] = field(default_factory=list)

    def add(
        self,
        time: float | np.ndarray,
        name: str,
        value: float | np.ndarray,
        *,
        target: Target = "state",
        op: Operation = "add",
    ) -> EventTable:
        if target not in _KIND:
            raise SimulationInputError(f"event target {target!r} must be one of {list(_KIND)}")
        if op not in _OP:
            raise SimulationInputError(f"event operation {op!r} must be one of {list(_OP)}")
        self.rows.append(_Row(time, target, name, op, value))
        return self

    def bolus(self, time: float | np.ndarray, state: str, amount: float | np.ndarray) -> EventTable:
        """Add ``amount`` to ``state`` at ``time`` (a bolus dose)."""
        return self.add(time, state, amount, target="state", op="add")

    def infusion(
        self,
        start: float | np.ndarray,
        stop: float | np.ndarray,
        state: str,
        rate: float | np.ndarray,
    ) -> EventTable:
        """Zero-order input of ``rate`` (state units per time) into ``state`` from start to stop."""
        if np.any(np.asarray(stop) <= np.asarray(start)):
            raise SimulationInputError(
                f"infusion into {state!r}: stop must be after start "
                f"(got start={start}, stop={stop})"
            )
        self.add(start, state, rate, target="input", op="add")
        self.add(stop, state, -np.asarray(rate, dtype=float), target="input", op="add")
        return self

    def set_parameter(
        self, time: float | np.ndarray, parameter: str, value: float | np.ndarray
    ) -> EventTable:
        return self.add(time, parameter, value, target="parameter", op="set")

    def __len__(self) -> int:
        return len(self.rows)

    def to_arrays(
        self, n_patients: int, state_names: list[str], parameter_names: list[str]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(time[n, m], kind[m], index[m], op[m], value[n, m]) for the kernel."""
        m = len(self.rows)
        times = np.empty((n_patients, m))
        values = np.empty((n_patients, m))
        kind = np.empty(m, dtype=np.int64)
        index = np.empty(m, dtype=np.int64)
        ops = np.empty(m, dtype=np.int64)
        for j, row in enumerate(self.rows):
            names = parameter_names if row.target == "parameter" else state_names
            if row.name not in names:
                what = "parameter" if row.target == "parameter" else "state"
                raise SimulationInputError(
                    f"event row {j}: {row.name!r} is not a {what} of the model"
                    + did_you_mean(row.name, names)
                    + (f"; {what}s: {', '.join(names)}" if len(names) <= 20 else "")
                )
            kind[j] = _KIND[row.target]
            index[j] = names.index(row.name)
            ops[j] = _OP[row.op]
            for arr, val, label in ((times, row.time, "time"), (values, row.value, "value")):
                v = np.asarray(val, dtype=float)
                if v.ndim == 0:
                    arr[:, j] = float(v)
                elif v.shape == (n_patients,):
                    arr[:, j] = v
                else:
                    raise SimulationInputError(
                        f"event row {j} {label}: expected a number or {n_patients} values, "
                        f"got shape {v.shape}"
                    )
            if not np.all(np.isfinite(times[:, j])) or not np.all(np.isfinite(values[:, j])):
                raise SimulationInputError(
                    f"event row {j} ({row.name!r}) has a non-finite time or value"
                )
        return times, kind, index, ops, values
