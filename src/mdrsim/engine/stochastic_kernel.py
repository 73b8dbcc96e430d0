"""The stochastic kernels in numba: exact SSA, tau-leaping and the hybrid SSA/ODE method.

The methods are described in :mod:`mdrsim.engine.stochastic` (the Python front). This module
holds only compiled code: the pieces the methods share, one trajectory
(:func:`run_trajectory`) and a thread's share of a batch (:func:`stochastic_range`, with an
explicit signature so numba compiles it once per installation). Random numbers come from
:mod:`mdrsim.engine.random`; the walk between discontinuities, event cascades and recording
from :mod:`mdrsim.engine.segments`, shared with the ODE engine.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit, types

from mdrsim.engine.options import SSA_ATOL, SSA_MAX_EVENTS, SSA_RTOL, SSA_TAU_EPSILON
from mdrsim.engine.random import (
    _binomial,
    _exponential,
    _poisson,
    _uniform,
    _xoshiro,
    _zig_exp,
)
from mdrsim.engine.segments import EVENT_FN, MODEL_FN, apply_row, discontinuities
from mdrsim.engine.segments import cascade as _cascade
from mdrsim.engine.segments import f_with_input as _f
from mdrsim.engine.segments import record as _record
from mdrsim.engine.status import Status

# Plain ints (numba folds module-level ints into the kernel as constants); the codes and their
# messages are defined once, in mdrsim.engine.status.
STATUS_OK = int(Status.OK)
STATUS_STEP_UNDERFLOW = int(Status.STEP_UNDERFLOW)
STATUS_NONFINITE = int(Status.NONFINITE)
STATUS_BAD_COUNT = int(Status.BAD_COUNT)
STATUS_BAD_PROPENSITY = int(Status.BAD_PROPENSITY)
STATUS_MAX_EVENTS = int(Status.MAX_EVENTS)
STATUS_BAD_INITIAL = int(Status.BAD_INITIAL)
STATUS_TAU_STUCK = int(Status.TAU_STUCK)

N_CRITICAL = 10  # CGP's n_c: reactions within this many firings of exhausting a reactant
SSA_FALLBACK_FACTOR = 10.0  # leap only if tau >= this many mean SSA steps ...
SSA_FALLBACK_STEPS = 100  # ... otherwise take this many exact steps
MAX_HALVINGS = 64
BISECTION_ITERATIONS = 60
UROUND = 2.220446049250313e-16

# Dormand–Prince 5(4) (Hairer, Nørsett & Wanner, Solving ODEs I, 2nd ed., Table II.5.2).
DP_C = np.array([0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0])
DP_A = np.array(
    [
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [1 / 5, 0.0, 0.0, 0.0, 0.0, 0.0],
        [3 / 40, 9 / 40, 0.0, 0.0, 0.0, 0.0],
        [44 / 45, -56 / 15, 32 / 9, 0.0, 0.0, 0.0],
        [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729, 0.0, 0.0],
        [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656, 0.0],
        [35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
    ]
)
# Error weights: 5th-order minus embedded 4th-order solution.
DP_E = np.array([71 / 57600, 0.0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40])


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _total(x: np.ndarray, a: np.ndarray, cum: np.ndarray, guard: Any) -> float:
    """Finish a propensity evaluation: return a0 (``cum`` gets the cumulative sums), or -1
    when a propensity is negative or not finite.

    A reaction whose consumed species has fewer molecules than it takes cannot fire, so its
    propensity is set to zero whatever its rate law says (a constant-rate law would otherwise
    drive a count negative). ``guard`` = (reactions, ptr, species, amounts) lists only the
    reactions whose law does not vanish there by itself (codegen checks that symbolically).
    """
    g_rxn, g_ptr, g_idx, g_coef = guard
    for g in range(g_rxn.shape[0]):
        for e in range(g_ptr[g], g_ptr[g + 1]):
            if x[g_idx[e]] < g_coef[e]:
                a[g_rxn[g]] = 0.0
                break
    a0 = 0.0
    ok = True
    for j in range(a.shape[0]):
        aj = a[j]
        if not aj >= 0.0:
            ok = False
        a0 += aj
        cum[j] = a0
    if not (ok and a0 < math.inf):
        return -1.0
    return a0


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _select(cum: np.ndarray, target: float) -> int:
    """The first reaction whose cumulative propensity exceeds ``target`` (0 < target <= a0)."""
    n_r = cum.shape[0]
    for j in range(n_r):
        if target < cum[j]:
            return j
    # target == a0 after rounding: the last reaction with a positive propensity.
    for j in range(n_r - 1, 0, -1):
        if cum[j] > cum[j - 1]:
            return j
    return 0


@njit(cache=True, nogil=True, error_model="numpy")
def _fire(
    j: int, k: float, x: np.ndarray, nu_ptr: np.ndarray, nu_idx: np.ndarray, nu_val: np.ndarray
) -> None:
    for e in range(nu_ptr[j], nu_ptr[j + 1]):
        x[nu_idx[e]] += k * nu_val[e]


@njit(cache=True, nogil=True, error_model="numpy")
def _counts_ok(x: np.ndarray, discrete: np.ndarray) -> bool:
    for i in range(x.shape[0]):
        if discrete[i]:
            v = x[i]
            if not (v >= 0.0 and v < math.inf and v == np.floor(v)):
                return False
    return True


@njit(cache=True, nogil=True, error_model="numpy")
def _apply_row(
    kind: int,
    idx: int,
    op: int,
    v: float,
    x: np.ndarray,
    p: np.ndarray,
    u: np.ndarray,
    discrete: np.ndarray,
    rng: np.ndarray,
) -> None:
    """One EventTable row; ``multiply`` on a count is binomial thinning (factor <= 1) or
    unbiased stochastic rounding (factor > 1). Everything else as in the ODE engine."""
    if kind == 0 and op == 2 and discrete[idx]:
        if v <= 1.0:
            x[idx] = _binomial(rng, x[idx], v)
        else:
            target = x[idx] * v
            whole = np.floor(target)
            x[idx] = whole + (1.0 if _uniform(rng) <= target - whole else 0.0)
    else:
        apply_row(kind, idx, op, v, x, p, u)


@njit(cache=True, nogil=True, error_model="numpy")
def _rk4(
    rhs: Any,
    t: float,
    dt: float,
    x: np.ndarray,
    p: np.ndarray,
    u: np.ndarray,
    cont_idx: np.ndarray,
    xt: np.ndarray,
    k1: np.ndarray,
    k2: np.ndarray,
    k3: np.ndarray,
    k4: np.ndarray,
) -> None:
    """Advance the continuous states by one classical RK4 step, counts held fixed."""
    _f(rhs, t, x, p, u, k1)
    for i in range(x.shape[0]):
        xt[i] = x[i]
    for i in cont_idx:
        xt[i] = x[i] + 0.5 * dt * k1[i]
    _f(rhs, t + 0.5 * dt, xt, p, u, k2)
    for i in cont_idx:
        xt[i] = x[i] + 0.5 * dt * k2[i]
    _f(rhs, t + 0.5 * dt, xt, p, u, k3)
    for i in cont_idx:
        xt[i] = x[i] + dt * k3[i]
    _f(rhs, t + dt, xt, p, u, k4)
    for i in cont_idx:
        x[i] += dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i])


@njit(cache=True, nogil=True, error_model="numpy")
def _continuous_bound(
    x: np.ndarray, f: np.ndarray, cont_idx: np.ndarray, eps: float, atol: float
) -> float:
    """Largest step over which no continuous variable changes by more than eps (relative)."""
    tau = math.inf
    for i in cont_idx:
        d = abs(f[i])
        if d > 0.0:
            tau = min(tau, eps * (abs(x[i]) + atol) / d)
    return tau


@njit(cache=True, nogil=True, error_model="numpy")
def _g(hor: int, mult: int, x: float) -> float:
    """CGP's g_i: bounds the relative change of a propensity of order ``hor`` in x_i."""
    if hor <= 1:
        return 1.0
    xm1 = max(x - 1.0, 1.0)
    if hor == 2:
        return 2.0 if mult <= 1 else 2.0 + 1.0 / xm1
    if hor == 3:
        if mult <= 1:
            return 3.0
        if mult == 2:
            return 1.5 * (2.0 + 1.0 / xm1)
        return 3.0 + 1.0 / xm1 + 2.0 / max(x - 2.0, 1.0)
    return float(hor)


@njit(cache=True, nogil=True, error_model="numpy")
def _cgp_tau(
    x: np.ndarray,
    a: np.ndarray,
    critical: np.ndarray,
    nu_ptr: np.ndarray,
    nu_idx: np.ndarray,
    nu_val: np.ndarray,
    hor: np.ndarray,
    hor_mult: np.ndarray,
    eps: float,
    mu: np.ndarray,
    sig2: np.ndarray,
) -> float:
    """Cao–Gillespie–Petzold (2006) step bound from the non-critical reactions."""
    for i in range(mu.shape[0]):
        mu[i] = 0.0
        sig2[i] = 0.0
    any_noncritical = False
    for j in range(a.shape[0]):
        if a[j] <= 0.0 or critical[j]:
            continue
        any_noncritical = True
        for e in range(nu_ptr[j], nu_ptr[j + 1]):
            i = nu_idx[e]
            v = nu_val[e]
            mu[i] += v * a[j]
            sig2[i] += v * v * a[j]
    if not any_noncritical:
        return math.inf
    tau = math.inf
    for i in range(mu.shape[0]):
        if hor[i] == 0:
            continue
        bound = max(eps * x[i] / _g(hor[i], hor_mult[i], x[i]), 1.0)
        if mu[i] != 0.0:
            tau = min(tau, bound / abs(mu[i]))
        if sig2[i] > 0.0:
            tau = min(tau, bound * bound / sig2[i])
    return tau


@njit(cache=True, nogil=True, error_model="numpy")
def _hermite(s: float, y0: float, y1: float, d0: float, d1: float, h: float) -> float:
    s2 = s * s
    s3 = s2 * s
    return (
        (2.0 * s3 - 3.0 * s2 + 1.0) * y0
        + (s3 - 2.0 * s2 + s) * h * d0
        + (-2.0 * s3 + 3.0 * s2) * y1
        + (s3 - s2) * h * d1
    )


@njit(cache=True, nogil=True, error_model="numpy")
def _dp_step(
    rhs: Any,
    prop: Any,
    t: float,
    h: float,
    x: np.ndarray,
    p: np.ndarray,
    u: np.ndarray,
    cont_idx: np.ndarray,
    lam: float,
    fsal: bool,
    K: np.ndarray,
    KL: np.ndarray,
    xt: np.ndarray,
    a: np.ndarray,
    cum: np.ndarray,
    guard: Any,
    rtol: float,
    atol: float,
) -> tuple[float, float, int]:
    """One Dormand–Prince step of the continuous states and Lambda = int a0 dt.

    On return ``xt`` holds the new state (counts unchanged), ``K[6]``/``KL[6]`` the
    derivatives there and ``a``/``cum`` the propensities there. Returns (error norm, new Lambda,
    propensity evaluations); the norm is inf when a propensity was negative or not finite.
    """
    n_eval = 0
    bad = False
    if not fsal:
        _f(rhs, t, x, p, u, K[0])
        prop(t, x.ctypes, p.ctypes, a.ctypes)
        a0 = _total(x, a, cum, guard)
        n_eval += 1
        if a0 < 0.0:
            bad = True
        KL[0] = a0
    for i in range(x.shape[0]):
        xt[i] = x[i]
    lam_new = lam
    for stage in range(1, 7):
        for i in cont_idx:
            acc = 0.0
            for r in range(stage):
                acc += DP_A[stage, r] * K[r, i]
            xt[i] = x[i] + h * acc
        acc_l = 0.0
        for r in range(stage):
            acc_l += DP_A[stage, r] * KL[r]
        lam_stage = lam + h * acc_l
        ts = t + DP_C[stage] * h
        _f(rhs, ts, xt, p, u, K[stage])
        prop(ts, xt.ctypes, p.ctypes, a.ctypes)
        a0 = _total(xt, a, cum, guard)
        n_eval += 1
        if a0 < 0.0:
            bad = True
        KL[stage] = a0
        if stage == 6:
            lam_new = lam_stage
    if bad:
        return math.inf, lam_new, n_eval
    # Error norm over the continuous states and Lambda (absolute scale rtol: an error of
    # rtol in Lambda shifts a reaction time by about rtol / a0).
    err = 0.0
    count = 0
    for i in cont_idx:
        e = 0.0
        for r in range(7):
            e += DP_E[r] * K[r, i]
        sk = atol + rtol * max(abs(x[i]), abs(xt[i]))
        err += (h * e / sk) ** 2
        count += 1
    e = 0.0
    for r in range(7):
        e += DP_E[r] * KL[r]
    err += (h * e / (rtol * (1.0 + abs(lam_new)))) ** 2
    count += 1
    err = math.sqrt(err / count)
    if not math.isfinite(err):
        err = math.inf
    return err, lam_new, n_eval


@njit(cache=True, nogil=True, error_model="numpy")
def _ssa_segment(
    prop: Any,
    outputs: Any,
    triggers: Any,
    t: float,
    seg_end: float,
    budget: int,
    trig_prev: np.ndarray,
    trig_now: np.ndarray,
    x: np.ndarray,
    p: np.ndarray,
    a: np.ndarray,
    cum: np.ndarray,
    g_rxn: np.ndarray,
    g_ptr: np.ndarray,
    g_idx: np.ndarray,
    g_coef: np.ndarray,
    nu_ptr: np.ndarray,
    nu_idx: np.ndarray,
    nu_val: np.ndarray,
    rng: np.ndarray,
    t_out: np.ndarray,
    io: int,
    out_y: np.ndarray,
    out_obs: np.ndarray,
    obs_tmp: np.ndarray,
) -> tuple[float, int, int, int, int, bool]:
    """Gillespie's direct method from ``t`` until ``seg_end`` (or ``budget`` reactions, or a
    reaction after which a state-triggered event's trigger goes from false to true),
    recording outputs on the way.

    Returns (t, io, reactions fired, propensity evaluations, status, trigger crossed); on a
    crossing ``trig_prev`` is left as it was, for the driver's event cascade. This is the hot loop,
    so it is written out by hand: helper calls and array temporaries inside it cost atomic
    reference-count updates in numba, which took half the time of a reaction.
    """
    n_out = t_out.shape[0]
    n_r = a.shape[0]
    n_g = g_rxn.shape[0]
    n_trig = trig_now.shape[0]
    xc = x.ctypes
    pc = p.ctypes
    ac = a.ctypes
    tc = trig_now.ctypes
    crossed = False
    s0 = rng[0]
    s1 = rng[1]
    s2 = rng[2]
    s3 = rng[3]
    fired = 0
    evals = 0
    status = STATUS_OK
    while True:
        prop(t, xc, pc, ac)
        evals += 1
        for g in range(n_g):
            for e in range(g_ptr[g], g_ptr[g + 1]):
                if x[g_idx[e]] < g_coef[e]:
                    a[g_rxn[g]] = 0.0
                    break
        a0 = 0.0
        ok = True
        for j in range(n_r):
            aj = a[j]
            if not aj >= 0.0:
                ok = False
            a0 += aj
            cum[j] = a0
        if not (ok and a0 < math.inf):
            status = STATUS_BAD_PROPENSITY
            break
        if a0 > 0.0:
            e1, s0, s1, s2, s3 = _zig_exp(s0, s1, s2, s3)
            t_new = t + e1 / a0
        else:
            t_new = math.inf
        if t_new >= seg_end:
            while io < n_out and t_out[io] < seg_end:
                _record(outputs, io, t_out[io], x, p, out_y, out_obs, obs_tmp)
                io += 1
            t = seg_end
            break
        while io < n_out and t_out[io] < t_new:
            _record(outputs, io, t_out[io], x, p, out_y, out_obs, obs_tmp)
            io += 1
        u2, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
        target = u2 * a0
        j = 0
        while j < n_r - 1 and not target < cum[j]:
            j += 1
        while a[j] <= 0.0 and j > 0:  # target == a0 after rounding: last positive one
            j -= 1
        for e in range(nu_ptr[j], nu_ptr[j + 1]):
            x[nu_idx[e]] += nu_val[e]
        fired += 1
        t = t_new
        if n_trig > 0:
            triggers(t, xc, pc, tc)
            for k in range(n_trig):
                if trig_prev[k] == 0.0 and trig_now[k] == 1.0:
                    crossed = True
            if crossed:
                break
            for k in range(n_trig):
                trig_prev[k] = trig_now[k]
        if fired >= budget:
            break
    rng[0] = s0
    rng[1] = s1
    rng[2] = s2
    rng[3] = s3
    return t, io, fired, evals, status, crossed


@njit(cache=True, nogil=True, error_model="numpy")
def run_trajectory(
    fns: Any,
    apply_event: Any,
    method: int,
    event_timed_index: np.ndarray,
    event_state_index: np.ndarray,
    event_initial_value: np.ndarray,
    n_timed: int,
    n_triggers: int,
    discrete: np.ndarray,
    cont_idx: np.ndarray,
    nu_ptr: np.ndarray,
    nu_idx: np.ndarray,
    nu_val: np.ndarray,
    react_ptr: np.ndarray,
    react_idx: np.ndarray,
    react_coef: np.ndarray,
    guard: Any,
    hor: np.ndarray,
    hor_mult: np.ndarray,
    uses_time: bool,
    t_out: np.ndarray,
    y0: np.ndarray,
    p_in: np.ndarray,
    skip_init: np.ndarray,
    ext_time: np.ndarray,
    ext_kind: np.ndarray,
    ext_index: np.ndarray,
    ext_op: np.ndarray,
    ext_value: np.ndarray,
    rng_seed: np.ndarray,
    eps: float,
    rtol: float,
    atol: float,
    max_events: int,
    out_y: np.ndarray,
    out_obs: np.ndarray,
    stats: np.ndarray,
) -> None:
    """Simulate one trajectory; fill out_y/out_obs at t_out and stats (see STATS_COLUMNS).

    On failure the outputs after the failure time are NaN and stats[0] says why.
    """
    prop, rhs, outputs, timed_event_times, triggers, initial_assignments = fns
    rng = rng_seed.copy()
    n = y0.shape[0]
    n_r = nu_ptr.shape[0] - 1
    n_cont = cont_idx.shape[0]
    n_model_events = event_timed_index.shape[0]
    p = p_in.copy()
    x = y0.copy()
    initial_assignments(0.0, x.ctypes, p.ctypes, skip_init.ctypes)
    u = np.zeros(n)
    n_out = t_out.shape[0]
    t0 = t_out[0]
    t_end = t_out[n_out - 1]

    # Discontinuities: the model's timed events, then the external event table.
    timed = np.empty(n_timed)
    timed_event_times(0.0, x.ctypes, p.ctypes, timed.ctypes)
    disc_t, order = discontinuities(event_timed_index, event_initial_value, timed, ext_time, t0)
    m = disc_t.shape[0]

    a = np.zeros(n_r)
    cum = np.zeros(n_r)
    a_end = np.zeros(n_r)
    cum_end = np.zeros(n_r)
    varying = n_cont > 0 or uses_time
    critical = np.zeros(n_r, dtype=np.bool_)
    kfire = np.zeros(n_r)
    mu = np.zeros(n)
    sig2 = np.zeros(n)
    xt = np.empty(n)
    xsave = np.empty(n)
    k1 = np.empty(n)
    k2 = np.empty(n)
    k3 = np.empty(n)
    k4 = np.empty(n)
    K = np.zeros((7, n))
    KL = np.zeros(7)
    obs_tmp = np.empty(out_obs.shape[1])
    trig_prev = np.empty(n_triggers)
    trig_now = np.empty(n_triggers)
    for k in range(n_model_events):
        j = event_state_index[k]
        if j >= 0:
            trig_prev[j] = 1.0 if event_initial_value[k] else 0.0

    status = STATUS_OK
    t = t0
    io = 0
    di = 0
    n_fired = 0
    n_steps = 0
    n_rej = 0
    n_events = 0
    n_prop = 0
    events_here = True
    fail = False
    if not _counts_ok(x, discrete):
        status = STATUS_BAD_INITIAL
        fail = True
    # Hybrid: threshold E ~ Exp(1) for Lambda = int a0 dt, and the step size.
    threshold = _exponential(rng)
    lam = 0.0
    h = 0.0
    fsal = False

    while not fail:
        # Discontinuities due now, then the state-triggered events they may cause.
        while di < m and disc_t[order[di]] <= t:
            k = order[di]
            if k < n_model_events:
                apply_event(k, t, x.ctypes, p.ctypes)
            else:
                e = k - n_model_events
                _apply_row(
                    ext_kind[e], ext_index[e], ext_op[e], ext_value[e], x, p, u, discrete, rng
                )
            n_events += 1
            di += 1
            events_here = True
            fsal = False
        if events_here:
            fired = _cascade(triggers, apply_event, event_state_index, t, x, p, trig_prev, trig_now)
            n_events += fired
            events_here = False
            if fired > 0:
                fsal = False
            if not _counts_ok(x, discrete):
                status = STATUS_BAD_COUNT
                fail = True
                break
        while io < n_out and t_out[io] <= t:
            _record(outputs, io, t_out[io], x, p, out_y, out_obs, obs_tmp)
            io += 1
        if t >= t_end:
            break
        seg_end = t_end
        if di < m and disc_t[order[di]] < seg_end:
            seg_end = disc_t[order[di]]
        if n_fired + n_steps >= max_events:
            status = STATUS_MAX_EVENTS
            fail = True
            break

        if method == 0:
            # ---- exact SSA (direct method) ----
            t, io, fired, evals, status, crossed = _ssa_segment(
                prop,
                outputs,
                triggers,
                t,
                seg_end,
                max_events - n_fired - n_steps,
                trig_prev,
                trig_now,
                x,
                p,
                a,
                cum,
                guard[0],
                guard[1],
                guard[2],
                guard[3],
                nu_ptr,
                nu_idx,
                nu_val,
                rng,
                t_out,
                io,
                out_y,
                out_obs,
                obs_tmp,
            )
            n_fired += fired
            n_prop += evals
            if status != STATUS_OK:
                fail = True
                break
            if crossed:
                events_here = True

        elif method == 1:
            # ---- tau-leaping (Cao, Gillespie & Petzold 2006) ----
            if io < n_out and t_out[io] < seg_end:
                seg_end = t_out[io]  # leap onto output times: no state between leaps
            prop(t, x.ctypes, p.ctypes, a.ctypes)
            a0 = _total(x, a, cum, guard)
            n_prop += 1
            if a0 < 0.0:
                status = STATUS_BAD_PROPENSITY
                fail = True
                break
            tau_c = math.inf
            if n_cont > 0:
                _f(rhs, t, x, p, u, k1)
                tau_c = _continuous_bound(x, k1, cont_idx, eps, atol)
            if a0 == 0.0 and n_cont == 0:
                t = seg_end
                continue
            for j in range(n_r):
                crit = False
                if a[j] > 0.0:
                    for e in range(react_ptr[j], react_ptr[j + 1]):
                        if np.floor(x[react_idx[e]] / react_coef[e]) < N_CRITICAL:
                            crit = True
                            break
                critical[j] = crit
            tau1 = _cgp_tau(x, a, critical, nu_ptr, nu_idx, nu_val, hor, hor_mult, eps, mu, sig2)
            tau1 = min(tau1, tau_c)
            if a0 > 0.0 and tau1 < SSA_FALLBACK_FACTOR / a0:
                # Exact steps: a leap would be too short to pay off. With continuous
                # variables, each waiting time is capped by their bound (propensities held
                # over at most that change, as in a leap).
                for _ in range(SSA_FALLBACK_STEPS):
                    dt = _exponential(rng) / a0 if a0 > 0.0 else math.inf
                    fire = True
                    if n_cont > 0 and dt > tau_c:
                        dt = tau_c
                        fire = False
                    if t + dt >= seg_end:
                        dt = seg_end - t
                        fire = False
                    if n_cont > 0:
                        _rk4(rhs, t, dt, x, p, u, cont_idx, xt, k1, k2, k3, k4)
                    t = seg_end if not fire and dt == seg_end - t else t + dt
                    n_steps += 1
                    if fire:
                        j = _select(cum, _uniform(rng) * a0)
                        _fire(j, 1.0, x, nu_ptr, nu_idx, nu_val)
                        n_fired += 1
                    if t >= seg_end or n_fired + n_steps >= max_events:
                        break
                    if n_triggers > 0:
                        n_events += _cascade(
                            triggers, apply_event, event_state_index, t, x, p, trig_prev, trig_now
                        )
                        if not _counts_ok(x, discrete):
                            break
                    prop(t, x.ctypes, p.ctypes, a.ctypes)
                    a0 = _total(x, a, cum, guard)
                    n_prop += 1
                    if a0 < 0.0:
                        break
                    if n_cont > 0:
                        _f(rhs, t, x, p, u, k1)
                        tau_c = _continuous_bound(x, k1, cont_idx, eps, atol)
                if n_triggers > 0:
                    events_here = True
                if a0 < 0.0:
                    status = STATUS_BAD_PROPENSITY
                    fail = True
                    break
                continue
            a0c = 0.0
            for j in range(n_r):
                if critical[j]:
                    a0c += a[j]
            span = seg_end - t
            accepted = False
            bad_end = False
            for _ in range(MAX_HALVINGS):
                tau2 = _exponential(rng) / a0c if a0c > 0.0 else math.inf
                dt = min(tau1, tau2, span)
                fire_critical = tau2 <= tau1 and tau2 < span
                for i in range(n):
                    xsave[i] = x[i]
                if varying:
                    # Continuous part first (counts held), then each propensity averaged
                    # over the leap by the trapezoidal rule: second order in the drug's
                    # change, where holding the start value would be first order.
                    if n_cont > 0:
                        _rk4(rhs, t, dt, xsave, p, u, cont_idx, xt, k1, k2, k3, k4)
                    prop(t + dt, xsave.ctypes, p.ctypes, a_end.ctypes)
                    n_prop += 1
                    if _total(xsave, a_end, cum_end, guard) < 0.0:
                        bad_end = True
                        break
                    for j in range(n_r):
                        kfire[j] = (
                            0.0 if critical[j] else _poisson(rng, 0.5 * (a[j] + a_end[j]) * dt)
                        )
                else:
                    for j in range(n_r):
                        kfire[j] = 0.0 if critical[j] else _poisson(rng, a[j] * dt)
                if fire_critical:
                    target = _uniform(rng) * a0c
                    acc_c = 0.0
                    jc = -1
                    for j in range(n_r):
                        if critical[j] and a[j] > 0.0:
                            acc_c += a[j]
                            jc = j
                            if target < acc_c:
                                break
                    kfire[jc] = 1.0
                for j in range(n_r):
                    if kfire[j] > 0.0:
                        _fire(j, kfire[j], xsave, nu_ptr, nu_idx, nu_val)
                negative = False
                for i in range(n):
                    if discrete[i] and xsave[i] < 0.0:
                        negative = True
                        break
                if negative:
                    tau1 *= 0.5
                    n_rej += 1
                    continue
                accepted = True
                break
            if bad_end:
                status = STATUS_BAD_PROPENSITY
                fail = True
                break
            if not accepted:
                status = STATUS_TAU_STUCK
                fail = True
                break
            for i in range(n):
                x[i] = xsave[i]
            for j in range(n_r):
                n_fired += int(kfire[j])
            n_steps += 1
            t = seg_end if dt == span else t + dt
            if n_triggers > 0:
                events_here = True

        else:
            # ---- hybrid: ODE for the continuous part, exact firing times by Lambda ----
            if io < n_out and t_out[io] < seg_end:
                seg_end = t_out[io]
            span = seg_end - t
            if h == 0.0:
                h = min(span, 1e-3 * max(span, 1e-12))
            hh = min(h, span)
            last = hh >= span or span - hh <= 1e-12 * abs(seg_end)
            if last:
                hh = span
            h_min = 16.0 * UROUND * max(abs(t), 1.0)
            if hh < h_min and not last:
                status = STATUS_STEP_UNDERFLOW
                fail = True
                break
            err, lam_new, ne = _dp_step(
                rhs,
                prop,
                t,
                hh,
                x,
                p,
                u,
                cont_idx,
                lam,
                fsal,
                K,
                KL,
                xt,
                a,
                cum,
                guard,
                rtol,
                atol,
            )
            n_prop += ne
            fsal = True
            n_steps += 1
            if KL[0] < 0.0:
                status = STATUS_BAD_PROPENSITY
                fail = True
                break
            fac = 0.9 * err**-0.2 if err > 0.0 else 5.0
            fac = min(5.0, max(0.2, fac))
            if not err <= 1.0:
                n_rej += 1
                h = hh * (0.25 if err == math.inf else fac)
                if h < h_min:
                    status = STATUS_NONFINITE if err == math.inf else STATUS_STEP_UNDERFLOW
                    fail = True
                    break
                continue
            h_next = hh * fac
            if not last or h_next > h:
                h = h_next
            if lam_new < threshold:
                for i in cont_idx:
                    x[i] = xt[i]
                for r in range(x.shape[0]):
                    K[0, r] = K[6, r]
                KL[0] = KL[6]
                lam = lam_new
                t = seg_end if last else t + hh
            else:
                # A reaction fires inside this step: find where Lambda = threshold on the
                # cubic Hermite interpolant, then step there exactly from t.
                lo = 0.0
                hi = 1.0
                for _ in range(BISECTION_ITERATIONS):
                    mid = 0.5 * (lo + hi)
                    if _hermite(mid, lam, lam_new, KL[0], KL[6], hh) >= threshold:
                        hi = mid
                    else:
                        lo = mid
                h_star = hi * hh
                if hi < 1.0:
                    err, lam_new, ne = _dp_step(
                        rhs,
                        prop,
                        t,
                        h_star,
                        x,
                        p,
                        u,
                        cont_idx,
                        lam,
                        True,
                        K,
                        KL,
                        xt,
                        a,
                        cum,
                        guard,
                        rtol,
                        atol,
                    )
                    n_prop += ne
                    if err == math.inf:
                        status = STATUS_BAD_PROPENSITY
                        fail = True
                        break
                for i in cont_idx:
                    x[i] = xt[i]
                t = seg_end if (last and hi >= 1.0) else t + h_star
                a0 = KL[6]
                if a0 > 0.0:
                    j = _select(cum, _uniform(rng) * a0)
                    _fire(j, 1.0, x, nu_ptr, nu_idx, nu_val)
                    n_fired += 1
                threshold = _exponential(rng)
                lam = 0.0
                fsal = False
            if n_triggers > 0:
                events_here = True

    if fail:
        for r in range(io, n_out):
            for i in range(n):
                out_y[r, i] = np.nan
            for i in range(out_obs.shape[1]):
                out_obs[r, i] = np.nan
    stats[0] = status
    stats[1] = t
    stats[2] = n_fired
    stats[3] = n_steps
    stats[4] = n_rej
    stats[5] = n_events
    stats[6] = n_prop


_F = types.float64
_I = types.int64
_B1 = types.boolean[::1]
_I1 = types.int64[::1]
_V1 = types.float64[::1]
_V2 = types.float64[:, ::1]
_V3 = types.float64[:, :, ::1]
_FNS = types.UniTuple(MODEL_FN, 6)
_GUARD = types.Tuple((_I1, _I1, _I1, _V1))


@njit(
    types.void(
        _FNS,
        EVENT_FN,
        _I,
        _I1,
        _I1,
        _B1,
        _I,
        _I,
        _B1,
        _I1,
        _I1,
        _I1,
        _V1,
        _I1,
        _I1,
        _V1,
        _GUARD,
        _I1,
        _I1,
        types.boolean,
        _I,
        _I,
        _V1,
        _V2,
        _V2,
        _V2,
        _V2,
        _I1,
        _I1,
        _I1,
        _V2,
        types.uint64[:, ::1],
        _V1,
        _I1,
        _V3,
        _V3,
        _V2,
    ),
    cache=True,
    nogil=True,
    error_model="numpy",
)
def stochastic_range(
    fns: Any,
    apply_event: Any,
    method: int,
    event_timed_index: np.ndarray,
    event_state_index: np.ndarray,
    event_initial_value: np.ndarray,
    n_timed: int,
    n_triggers: int,
    discrete: np.ndarray,
    cont_idx: np.ndarray,
    nu_ptr: np.ndarray,
    nu_idx: np.ndarray,
    nu_val: np.ndarray,
    react_ptr: np.ndarray,
    react_idx: np.ndarray,
    react_coef: np.ndarray,
    guard: Any,
    hor: np.ndarray,
    hor_mult: np.ndarray,
    uses_time: bool,
    start: int,
    stop: int,
    t_out: np.ndarray,
    y0: np.ndarray,
    params: np.ndarray,
    skip_init: np.ndarray,
    ext_time: np.ndarray,
    ext_kind: np.ndarray,
    ext_index: np.ndarray,
    ext_op: np.ndarray,
    ext_value: np.ndarray,
    rng_seeds: np.ndarray,
    settings: np.ndarray,
    limits: np.ndarray,
    out_y: np.ndarray,
    out_obs: np.ndarray,
    stats: np.ndarray,
) -> None:
    """Simulate trajectories start..stop-1 (one thread's share of a batch).

    ``fns`` = (propensities, rhs, outputs, timed_event_times, triggers, initial_assignments).
    ``settings``/``limits`` are :meth:`StochasticOptions.kernel_settings` (layout in
    :mod:`.options`).
    """
    eps = settings[SSA_TAU_EPSILON]
    rtol = settings[SSA_RTOL]
    atol = settings[SSA_ATOL]
    max_events = limits[SSA_MAX_EVENTS]
    for i in range(start, stop):
        run_trajectory(
            fns,
            apply_event,
            method,
            event_timed_index,
            event_state_index,
            event_initial_value,
            n_timed,
            n_triggers,
            discrete,
            cont_idx,
            nu_ptr,
            nu_idx,
            nu_val,
            react_ptr,
            react_idx,
            react_coef,
            guard,
            hor,
            hor_mult,
            uses_time,
            t_out,
            y0[i],
            params[i],
            skip_init[i],
            ext_time[i],
            ext_kind,
            ext_index,
            ext_op,
            ext_value[i],
            rng_seeds[i],
            eps,
            rtol,
            atol,
            max_events,
            out_y[i],
            out_obs[i],
            stats[i],
        )


__all__ = ["run_trajectory", "stochastic_range"]
