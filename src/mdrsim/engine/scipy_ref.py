"""The slow reference path: the same compiled model functions, integrated by scipy.

Used in tests to check the Rosenbrock engine against an independent integrator (Radau, BDF or
LSODA from :mod:`scipy.integrate`) with the same event semantics: timed events and the event
table are exact discontinuities (the integration restarts there), state-triggered events are
located by bisection on the integrator's dense output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import integrate

from mdrsim.engine.batch import batch_result, check_arrays, check_times, event_rows, skip_matrix
from mdrsim.engine.events import EventTable
from mdrsim.engine.options import SolverOptions, options_provenance
from mdrsim.engine.result import Result
from mdrsim.engine.segments import apply_row, call_event_fn, call_model_fn, discontinuities
from mdrsim.engine.status import ODE_STATS, OdeStat, Status
from mdrsim.errors import SimulationInputError

if TYPE_CHECKING:
    from mdrsim.engine.compiled import CompiledModel

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
        call_model_fn(self.m.rhs, float(t), np.ascontiguousarray(y), self.p, out)
        return out + self.u

    def jac(self, t: float, y: np.ndarray) -> np.ndarray:
        jv = np.empty(max(int(self.m.N_JAC), 1))
        call_model_fn(self.m.jac_sparse, float(t), np.ascontiguousarray(y), self.p, jv)
        out = np.empty(self.n * self.n)
        call_model_fn(self.m.jac, float(t), jv, self.p, out)
        return out.reshape(self.n, self.n)

    def triggers(self, t: float, y: np.ndarray) -> np.ndarray:
        out = np.empty(len(self.flat.triggers))
        if out.size:
            call_model_fn(self.m.triggers, float(t), np.ascontiguousarray(y), self.p, out)
        return out

    def outputs(self, t: float, y: np.ndarray) -> np.ndarray:
        out = np.empty(self.n_obs)
        if out.size:
            call_model_fn(self.m.outputs, float(t), np.ascontiguousarray(y), self.p, out)
        return out

    def cascade(self, t: float, prev: np.ndarray) -> int:
        fired = 0
        for _ in range(100):
            now = self.triggers(t, self.y)
            hit = False
            for k, j in enumerate(self.flat.events.state_index):
                if j >= 0 and prev[j] == 0.0 and now[j] == 1.0:
                    call_event_fn(self.m.apply_event, k, t, self.y, self.p)
                    hit = True
                    fired += 1
            prev[:] = now
            if not hit:
                break
        return fired


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
    """Integrate each patient with a scipy solver; same inputs and outputs as run_batch.

    The statistics are scipy's own counts, summed over the segments between
    discontinuities: accepted steps (one per ``solver.step()``), ``nfev``, ``njev``, ``nlu``.
    scipy does not report rejected steps, so that column is NaN.
    """
    options = options or SolverOptions()
    if method.upper() not in _SOLVERS:
        raise SimulationInputError(
            f"unknown scipy method {method!r}; allowed: {', '.join(_SOLVERS)}"
        )
    if compiled.flat.events.any_delayed:
        raise SimulationInputError(
            "the scipy reference path carries out events only at once, in model order; this "
            "model has delayed events (or priorities that order simultaneous ones) — use "
            "method 'rodas4'"
        )
    t = check_times(t_eval)
    params, y0 = check_arrays(compiled, params, y0, allow_empty=True)
    n, n_s = y0.shape
    atol = options.atol_vector(n_s, compiled.default_initial_state())
    solver_cls = _SOLVERS[method.upper()]
    ext_t, ext_kind, ext_idx, ext_op, ext_val = event_rows(events, n, compiled)
    skip = skip_matrix(skip_init, n, len(compiled.flat.initial))
    flat = compiled.flat
    n_model_ev = len(flat.events.names)
    out_y = np.full((n, t.size, n_s), np.nan)
    out_o = np.full((n, t.size, len(compiled.output_names)), np.nan)
    stats = np.zeros((n, len(ODE_STATS)))
    stats[:, OdeStat.REJECTED_STEPS] = np.nan  # not reported by scipy
    timed_index = np.array(flat.events.timed_index, dtype=np.int64)
    initial_value = np.array(flat.events.initial_value, dtype=np.bool_)
    for i in range(n):
        pt = _Patient(compiled, params[i].astype(float).copy(), y0[i].astype(float).copy())
        call_model_fn(
            compiled.module.initial_assignments,
            0.0,
            pt.y,
            pt.p,
            np.ascontiguousarray(skip[i], dtype=float),
        )
        timed = np.zeros(len(flat.timed_times))
        if timed.size:
            call_model_fn(compiled.module.timed_event_times, 0.0, pt.y, pt.p, timed)
        # The same discontinuities, in the same order, as the compiled engines.
        disc_t, order = discontinuities(timed_index, initial_value, timed, ext_t[i], float(t[0]))
        disc = [(float(disc_t[k]), int(k)) for k in order if np.isfinite(disc_t[k])]
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
        status = Status.OK
        fired_any = True
        while True:
            while di < len(disc) and disc[di][0] <= cur_t:
                k = disc[di][1]
                if k < n_model_ev:
                    call_event_fn(compiled.module.apply_event, k, cur_t, pt.y, pt.p)
                else:
                    e = k - n_model_ev
                    apply_row(ext_kind[e], ext_idx[e], ext_op[e], ext_val[i, e], pt.y, pt.p, pt.u)
                di += 1
                stats[i, OdeStat.EVENTS] += 1
                fired_any = True
            if fired_any:
                stats[i, OdeStat.EVENTS] += pt.cascade(cur_t, prev)
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
                stats[i, OdeStat.STEPS] += 1
                if solver.status == "failed":
                    status = Status.STEP_UNDERFLOW
                    stats[i, OdeStat.FAILURE_TIME] = solver.t
                    break
                stats[i, OdeStat.ACCEPTED_STEPS] += 1
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
            stats[i, OdeStat.RHS_EVALUATIONS] += solver.nfev
            stats[i, OdeStat.JACOBIAN_EVALUATIONS] += solver.njev
            stats[i, OdeStat.LU_DECOMPOSITIONS] += solver.nlu
            if status:
                break
            if not fired_any:
                pt.y = np.array(solver.y, dtype=float)
                cur_t = seg_end
        stats[i, OdeStat.STATUS] = status
    engine = f"scipy-{method.lower()}"
    return batch_result(
        compiled,
        t,
        out_y,
        out_o,
        params,
        stats,
        provenance=options_provenance(options, engine),
        tolerance=(options.rtol, atol),
    )
