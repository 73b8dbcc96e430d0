"""The slow reference path: the same compiled model functions, integrated by scipy.

Used in tests to check the Rosenbrock engine against an independent integrator (Radau, BDF or
LSODA from :mod:`scipy.integrate`) with the same event semantics: timed events and the event
table are exact discontinuities (the integration restarts there), state-triggered events are
located by bisection on the integrator's dense output.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import integrate

from mdrsim.engine import rodas
from mdrsim.engine.compiled import CompiledModel
from mdrsim.engine.events import EventTable
from mdrsim.engine.result import Result
from mdrsim.engine.solve import SolverOptions, _check_times, batch_result

_SOLVERS: dict[str, Any] = {
    "RADAU": integrate.Radau,
    "BDF": integrate.BDF,
    "LSODA": integrate.LSODA,
}


class _Patient:
    def __init__(self, compiled: CompiledModel, p: np.ndarray, y: np.ndarray) -> None:
        m = compiled.module
        self.m = m
        self.p = p
        self.y = y
        self.n = y.size
        self.u = np.zeros(self.n)
        self.flat = compiled.flat
        self.out = np.empty(self.n)
        self.n_obs = len(compiled.output_names)

    def f(self, t: float, y: np.ndarray) -> np.ndarray:
        out = np.empty(self.n)
        rodas.call_model_fn(self.m.rhs, float(t), np.ascontiguousarray(y), self.p, out)
        return out + self.u

    def jac(self, t: float, y: np.ndarray) -> np.ndarray:
        out = np.empty(self.n * self.n)
        rodas.call_model_fn(self.m.jac, float(t), np.ascontiguousarray(y), self.p, out)
        return out.reshape(self.n, self.n)

    def triggers(self, t: float, y: np.ndarray) -> np.ndarray:
        out = np.empty(len(self.flat.triggers))
        if out.size:
            rodas.call_model_fn(self.m.triggers, float(t), np.ascontiguousarray(y), self.p, out)
        return out

    def outputs(self, t: float, y: np.ndarray) -> np.ndarray:
        out = np.empty(self.n_obs)
        if out.size:
            rodas.call_model_fn(self.m.outputs, float(t), np.ascontiguousarray(y), self.p, out)
        return out

    def cascade(self, t: float, prev: np.ndarray) -> int:
        fired = 0
        for _ in range(100):
            now = self.triggers(t, self.y)
            hit = False
            for k, j in enumerate(self.flat.events.state_index):
                if j >= 0 and prev[j] == 0.0 and now[j] == 1.0:
                    rodas.call_event_fn(self.m.apply_event, k, t, self.y, self.p)
                    hit = True
                    fired += 1
            prev[:] = now
            if not hit:
                break
        return fired


def _apply_row(pt: _Patient, kind: int, index: int, op: int, value: float) -> None:
    target = (pt.y, pt.p, pt.u)[kind]
    if op == 0:
        target[index] = value
    elif op == 1:
        target[index] += value
    else:
        target[index] *= value


def run_scipy(
    compiled: CompiledModel,
    params: np.ndarray,
    y0: np.ndarray,
    t_eval: np.ndarray,
    *,
    events: EventTable | None = None,
    options: SolverOptions | None = None,
    skip_init: np.ndarray | None = None,
    method: str = "RADAU",
) -> Result:
    """Integrate each patient with a scipy solver; same inputs and outputs as run_batch."""
    options = options or SolverOptions()
    t = _check_times(t_eval)
    n, n_s = y0.shape
    atol = options.check(n_s)
    solver_cls = _SOLVERS[method.upper()]
    ev = events or EventTable()
    ext_t, ext_kind, ext_idx, ext_op, ext_val = ev.to_arrays(
        n, compiled.state_names, compiled.parameter_names
    )
    skip = np.zeros((n, len(compiled.flat.initial))) if skip_init is None else skip_init
    flat = compiled.flat
    n_model_ev = len(flat.events.names)
    out_y = np.full((n, t.size, n_s), np.nan)
    out_o = np.full((n, t.size, len(compiled.output_names)), np.nan)
    stats = np.zeros((n, 7))
    for i in range(n):
        pt = _Patient(compiled, params[i].astype(float).copy(), y0[i].astype(float).copy())
        rodas.call_model_fn(
            compiled.module.initial_assignments,
            0.0,
            pt.y,
            pt.p,
            np.ascontiguousarray(skip[i], dtype=float),
        )
        timed = np.empty(len(flat.timed_times))
        if timed.size:
            rodas.call_model_fn(compiled.module.timed_event_times, 0.0, pt.y, pt.p, timed)
        disc: list[tuple[float, int]] = []
        for k in range(n_model_ev):
            j = flat.events.timed_index[k]
            if j >= 0:
                if timed[j] > t[0]:
                    disc.append((float(timed[j]), k))
                elif not flat.events.initial_value[k]:
                    disc.append((float(t[0]), k))
        for k in range(ext_t.shape[1]):
            if ext_t[i, k] >= t[0]:
                disc.append((float(ext_t[i, k]), n_model_ev + k))
        disc.sort(key=lambda d: d[0])  # stable: model events, then table rows
        prev = np.array(
            [
                1.0 if flat.events.initial_value[k] else 0.0
                for k in range(n_model_ev)
                if flat.events.state_index[k] >= 0
            ]
        )
        cur_t = float(t[0])
        io = 0
        di = 0
        status = 0
        fired_any = True
        while True:
            while di < len(disc) and disc[di][0] <= cur_t:
                k = disc[di][1]
                if k < n_model_ev:
                    rodas.call_event_fn(compiled.module.apply_event, k, cur_t, pt.y, pt.p)
                else:
                    e = k - n_model_ev
                    _apply_row(pt, ext_kind[e], ext_idx[e], ext_op[e], ext_val[i, e])
                di += 1
                fired_any = True
            if fired_any:
                pt.cascade(cur_t, prev)
                fired_any = False
            while io < t.size and t[io] <= cur_t:
                out_y[i, io] = pt.y
                out_o[i, io] = pt.outputs(cur_t, pt.y)
                io += 1
            if cur_t >= t[-1]:
                break
            seg_end = float(t[-1])
            if di < len(disc) and disc[di][0] < seg_end:
                seg_end = disc[di][0]
            kwargs: dict[str, Any] = {"rtol": options.rtol, "atol": atol}
            if method.upper() != "LSODA":
                kwargs["jac"] = pt.jac
            solver = solver_cls(pt.f, cur_t, pt.y.copy(), seg_end, **kwargs)
            while solver.status == "running":
                t_old = solver.t
                msg = solver.step()
                stats[i, 2] += 1
                if solver.status == "failed":
                    status = 1
                    stats[i, 1] = solver.t
                    break
                dense = solver.dense_output()
                now = pt.triggers(solver.t, solver.y) if prev.size else prev
                crossed = prev.size and np.any((prev == 0.0) & (now == 1.0))
                if crossed:
                    lo, hi = t_old, solver.t
                    for _ in range(80):
                        mid = 0.5 * (lo + hi)
                        if mid in (lo, hi):
                            break
                        tm = pt.triggers(mid, dense(mid))
                        if np.any((prev == 0.0) & (tm == 1.0)):
                            hi = mid
                        else:
                            lo = mid
                    while io < t.size and t[io] < hi:
                        yy = dense(t[io])
                        out_y[i, io] = yy
                        out_o[i, io] = pt.outputs(t[io], yy)
                        io += 1
                    pt.y = np.array(dense(hi), dtype=float)
                    cur_t = hi
                    fired_any = True
                    break
                while io < t.size and t[io] <= solver.t and t[io] < seg_end:
                    yy = dense(t[io])
                    out_y[i, io] = yy
                    out_o[i, io] = pt.outputs(t[io], yy)
                    io += 1
                if prev.size:
                    prev[:] = now
                if msg is not None and solver.status == "failed":
                    break
            if status:
                break
            if not fired_any:
                pt.y = np.array(solver.y, dtype=float)
                cur_t = seg_end
        stats[i, 0] = status
    return batch_result(
        compiled, t, out_y, out_o, params, stats, engine=f"scipy-{method.lower()}", options=options
    )
