"""Simulation results: arrays, per-patient status, tidy/xarray conversion and provenance."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mdrsim.engine.status import ODE_STATS, STATUS_MESSAGES, SolverStats, status_message
from mdrsim.errors import SimulationError, SimulationInputError

__all__ = ["STATUS_MESSAGES", "Result"]



@dataclass
class Result:
    """Trajectories of a batch of patients on a common time grid.

    ``states[patient, time, state]`` and ``outputs[patient, time, output]`` (assignment-rule
    variables and observables). ``status[patient]`` is 0 when the patient finished; otherwise
    ``failures()`` says why and at which time. Failed patients' values after the failure are
    NaN *and* flagged — never silently. ``stats[patient, k]`` is the engine's statistics row,
    its columns named by ``stats_columns`` (:mod:`mdrsim.engine.status`); read them by name
    with :meth:`stat` or :meth:`solver_stats`.
    """

    times: np.ndarray
    states: np.ndarray
    outputs: np.ndarray
    state_names: list[str]
    output_names: list[str]
    parameters: np.ndarray
    parameter_names: list[str]
    status: np.ndarray
    failure_time: np.ndarray
    stats: np.ndarray
    provenance: dict[str, Any] = field(default_factory=dict)
    stats_columns: tuple[str, ...] = ODE_STATS
    #: Patient index → what exactly failed (e.g. which state went negative, and its value).
    failure_detail: dict[int, str] = field(default_factory=dict)

    @property
    def n_patients(self) -> int:
        return int(self.states.shape[0])

    @property
    def variable_names(self) -> list[str]:
        return [*self.state_names, *self.output_names]

    @property
    def ok(self) -> bool:
        return bool(np.all(self.status == 0))

    def failures(self) -> dict[int, str]:
        """Patient index → readable reason, for every patient that did not finish."""
        out = {}
        for i in np.flatnonzero(self.status != 0):
            code = int(self.status[i])
            detail = self.failure_detail.get(int(i))
            what = f"{status_message(code)}: {detail}" if detail else status_message(code)
            out[int(i)] = f"{what} at t={self.failure_time[i]:.6g}"
        return out

    def stat(self, name: str) -> np.ndarray:
        """One statistic for every patient (e.g. ``"accepted_steps"``), by column name."""
        if name not in self.stats_columns:
            from mdrsim.model.expressions import did_you_mean

            raise SimulationInputError(
                f"unknown solver statistic {name!r}"
                + did_you_mean(name, list(self.stats_columns))
                + f"; this result has: {', '.join(self.stats_columns)}"
            )
        return self.stats[:, self.stats_columns.index(name)]

    def solver_stats(self, patient: int = 0) -> SolverStats:
        """The statistics of one patient as a typed record."""
        if not 0 <= patient < self.n_patients:
            raise SimulationInputError(
                f"patient {patient} is out of range: this result has {self.n_patients} "
                f"patient(s), 0..{self.n_patients - 1}"
            )
        return SolverStats.from_row(self.stats[patient], self.stats_columns)

    def subset_times(self, index: slice | np.ndarray) -> Result:
        """The same result on a subset of its time points."""
        from dataclasses import replace

        return replace(
            self,
            times=self.times[index],
            states=self.states[:, index],
            outputs=self.outputs[:, index],
        )

    def raise_on_failure(self) -> Result:
        """Raise :class:`SimulationError` naming each failed patient; return self otherwise."""
        if not self.ok:
            raise SimulationError(self.failures())
        return self

    def values(self, name: str) -> np.ndarray:
        """Trajectory of one variable for every patient: array [patient, time]."""
        if name in self.state_names:
            return self.states[:, :, self.state_names.index(name)]
        if name in self.output_names:
            return self.outputs[:, :, self.output_names.index(name)]
        from mdrsim.model.expressions import did_you_mean

        raise SimulationInputError(
            f"unknown variable {name!r}"
            + did_you_mean(name, self.variable_names)
            + f"; variables: {', '.join(self.variable_names)}"
        )

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values(name)

    def final(self, name: str) -> np.ndarray:
        """Value of ``name`` at the last time point, one per patient."""
        return self.values(name)[:, -1]

    def to_wide(self, patient: int | None = None) -> pd.DataFrame:
        """A wide table: ``time`` then one column per variable.

        ``patient`` picks one patient (its index); by default every patient is returned, with
        a leading ``patient`` column when there are several (issue 13: the default used to
        be patient 0 alone, silently dropping the others)."""
        names = self.variable_names
        values = np.concatenate([self.states, self.outputs], axis=2)  # [p, t, v]
        n_p, n_t = values.shape[:2]
        if patient is not None:
            if not -n_p <= patient < n_p:
                raise SimulationInputError(
                    f"patient {patient}: this result has patients 0 to {n_p - 1}"
                )
            frame = pd.DataFrame(values[patient], columns=names)
            frame.insert(0, "time", self.times)
            return frame
        frame = pd.DataFrame(values.reshape(n_p * n_t, len(names)), columns=names)
        frame.insert(0, "time", np.tile(self.times, n_p))
        if n_p > 1:
            frame.insert(0, "patient", np.repeat(np.arange(n_p), n_t))
        return frame

    def to_dataframe(self) -> pd.DataFrame:
        """Tidy (long) table with columns ``patient, time, variable, value``.

        Built from integer codes (``variable`` is a categorical made with
        ``Categorical.from_codes``), so no string is hashed per row: tens of millions of
        rows convert at memory speed (see benchmarks/first_result.py --rows)."""
        n_p, n_t = self.states.shape[:2]
        names = self.variable_names
        n_v = len(names)
        values = np.concatenate([self.states, self.outputs], axis=2)  # [p, t, v]
        codes = np.tile(np.arange(n_v, dtype=np.int32), n_p * n_t)
        return pd.DataFrame(
            {
                "patient": np.repeat(np.arange(n_p), n_t * n_v),
                "time": np.tile(np.repeat(self.times, n_v), n_p),
                "variable": pd.Categorical.from_codes(codes, categories=names),
                "value": values.reshape(-1),
            }
        )

    def _repr_html_(self) -> str:
        """Notebook display: size, status and the first variables of patient 0."""
        from mdrsim._repr import figure_html, table_html

        failed = self.failures()
        rows = [
            ("patients", self.n_patients),
            ("time points", f"{self.times.size} ({self.times[0]:g} to {self.times[-1]:g})"),
            ("variables", len(self.variable_names)),
            ("failed patients", len(failed) if failed else "none"),
        ]
        summary = self.summary_table()
        shown = summary.head(12)
        curves = {name: (self.times, self.values(name)[0]) for name in self.state_names[:4]}
        model = str(self.provenance.get("model", "model"))
        return (
            f"<div><strong>Result: {html.escape(model)}</strong>"
            + table_html("batch", rows)
            + table_html(
                "patient 0" + (f" (first 12 of {len(summary)})" if len(summary) > 12 else ""),
                shown.itertuples(index=False),
                tuple(shown.columns),
            )
            + figure_html(curves, xlabel="time", ylabel="value (model units)", log=True)
            + "</div>"
        )

    def to_xarray(self) -> Any:
        """An ``xarray.Dataset`` with one variable per state/output over (patient, time)."""
        import xarray as xr

        coords = {"patient": np.arange(self.n_patients), "time": self.times}
        data_vars: dict[str, tuple[tuple[str, ...], np.ndarray]] = {
            name: (("patient", "time"), self.values(name)) for name in self.variable_names
        }
        data_vars["status"] = (("patient",), self.status)
        attrs = {k: str(v) for k, v in self.provenance.items()}
        return xr.Dataset(data_vars, coords=coords, attrs=attrs)

    def summary_table(self) -> pd.DataFrame:
        """Initial, final, min and max of each variable for patient 0 (what the CLI prints)."""
        rows = []
        for name in self.variable_names:
            v = self.values(name)[0]
            rows.append(
                {
                    "variable": name,
                    "initial": float(v[0]),
                    "final": float(v[-1]),
                    "min": float(np.nanmin(v)) if np.any(np.isfinite(v)) else float("nan"),
                    "max": float(np.nanmax(v)) if np.any(np.isfinite(v)) else float("nan"),
                }
            )
        return pd.DataFrame(rows)
