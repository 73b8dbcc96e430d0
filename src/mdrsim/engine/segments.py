"""Numba pieces the ODE and the stochastic kernels share: the piecewise walk between
discontinuities, one event-table row, the cascade of state-triggered events, recording.

Both engines integrate piecewise: they stop at every model timed event and event-table row
(:func:`discontinuities` gives the times and the firing order), apply it, fire the
state-triggered events it causes (:func:`cascade`), and restart. Keeping these in one module
means the two engines cannot drift apart in their event semantics.
"""

import warnings
from typing import Any

import numpy as np
from numba import njit, types
from numba.core.errors import NumbaExperimentalFeatureWarning

# First-class function types are what let one compiled kernel serve every model.
warnings.filterwarnings("ignore", category=NumbaExperimentalFeatureWarning)

#: Signature of every model function but one: f(t, y*, p*, out*).
MODEL_FN = types.FunctionType(
    types.void(
        types.float64,
        types.CPointer(types.float64),
        types.CPointer(types.float64),
        types.CPointer(types.float64),
    )
)
#: Signature of apply_event(k, t, y*, p*).
EVENT_FN = types.FunctionType(
    types.void(
        types.int64,
        types.float64,
        types.CPointer(types.float64),
        types.CPointer(types.float64),
    )
)

#: State-triggered events may switch on others; stop after this many rounds at one instant.
MAX_CASCADE = 100

_F = types.float64
_I = types.int64
_V1 = types.float64[::1]


@njit(cache=True, nogil=True, error_model="numpy")
def _stable_order(values: Any) -> Any:
    """Indices that sort ``values``, ties kept in index order (insertion sort: the lists are
    short, and numba compiles this far faster than a stable argsort)."""
    m = values.shape[0]
    order = np.empty(m, dtype=np.int64)
    for i in range(m):
        j = i
        while j > 0 and values[order[j - 1]] > values[i]:
            order[j] = order[j - 1]
            j -= 1
        order[j] = i
    return order


@njit(cache=True, nogil=True, error_model="numpy")
def discontinuities(
    event_timed_index: Any, event_initial_value: Any, timed: Any, ext_time: Any, t0: float
) -> tuple[Any, Any]:
    """Times of the model's timed events, then of the event-table rows, and their firing order.

    A timed event already true at ``t0`` fires at ``t0`` only if its trigger's initial value
    is false (SBML semantics); rows before ``t0`` never fire. Shared by every engine.
    """
    n_model_events = event_timed_index.shape[0]
    n_ext = ext_time.shape[0]
    disc_t = np.full(n_model_events + n_ext, np.inf)
    for k in range(n_model_events):
        j = event_timed_index[k]
        if j >= 0:
            c = timed[j]
            if c > t0:
                disc_t[k] = c
            elif not event_initial_value[k]:
                disc_t[k] = t0
    for k in range(n_ext):
        if ext_time[k] >= t0:
            disc_t[n_model_events + k] = ext_time[k]
    return disc_t, _stable_order(disc_t)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def apply_row(kind: int, idx: int, op: int, v: float, y: Any, p: Any, u: Any) -> None:
    """One event-table row on a continuous target: kind 0 state, 1 parameter, 2 input rate;
    op 0 set, 1 add, 2 multiply (codes of :mod:`mdrsim.engine.events`)."""
    if kind == 0:
        target = y
    elif kind == 1:
        target = p
    else:
        target = u
    if op == 0:
        target[idx] = v
    elif op == 1:
        target[idx] += v
    else:
        target[idx] *= v


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def f_with_input(rhs: Any, t: float, y: Any, p: Any, u: Any, out: Any) -> None:
    """The right-hand side plus the zero-order inputs ``u`` (infusions switched by table rows)."""
    rhs(t, y.ctypes, p.ctypes, out.ctypes)
    for i in range(out.shape[0]):
        out[i] += u[i]


@njit(cache=True, nogil=True, error_model="numpy")
def record(
    outputs: Any, io: int, t: float, y: Any, p: Any, out_y: Any, out_obs: Any, obs_tmp: Any
) -> None:
    """Store the state and the outputs at output time index ``io``."""
    for i in range(y.shape[0]):
        out_y[io, i] = y[i]
    if out_obs.shape[1] > 0:
        outputs(t, y.ctypes, p.ctypes, obs_tmp.ctypes)
        for i in range(obs_tmp.shape[0]):
            out_obs[io, i] = obs_tmp[i]


@njit(cache=True, nogil=True, error_model="numpy")
def cascade(
    triggers: Any,
    apply_event: Any,
    event_state_index: Any,
    t: float,
    y: Any,
    p: Any,
    trig_prev: Any,
    trig_now: Any,
) -> int:
    """Fire state-triggered events whose trigger went false -> true, until nothing changes."""
    fired = 0
    for _ in range(MAX_CASCADE):
        if trig_now.shape[0] == 0:
            break
        triggers(t, y.ctypes, p.ctypes, trig_now.ctypes)
        any_fired = False
        for k in range(event_state_index.shape[0]):
            j = event_state_index[k]
            if j >= 0 and trig_prev[j] == 0.0 and trig_now[j] == 1.0:
                apply_event(k, t, y.ctypes, p.ctypes)
                any_fired = True
                fired += 1
        for j in range(trig_now.shape[0]):
            trig_prev[j] = trig_now[j]
        if not any_fired:
            break
    return fired


@njit(types.void(MODEL_FN, _F, _V1, _V1, _V1), cache=True, nogil=True)
def call_model_fn(fn: Any, t: float, y: Any, p: Any, out: Any) -> None:
    """Call one generated model function from Python (scipy reference path, tests)."""
    fn(t, y.ctypes, p.ctypes, out.ctypes)


@njit(types.void(EVENT_FN, _I, _F, _V1, _V1), cache=True, nogil=True)
def call_event_fn(fn: Any, k: int, t: float, y: Any, p: Any) -> None:
    """Apply model event ``k`` in place, from Python."""
    fn(k, t, y.ctypes, p.ctypes)
