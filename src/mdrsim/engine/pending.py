"""The pending-event queue: SBML events with a ``<delay>``, in numba.

SBML semantics (Level 3 Version 2, section 4.12), which the RODAS kernel follows through the
functions here:

- when an event's trigger goes from false to true at time ``t`` the event is *triggered*: its
  delay is evaluated at ``t`` and an execution is scheduled for ``t + delay``; with
  ``useValuesFromTriggerTime`` the assigned values are computed at ``t`` too and kept with the
  scheduled execution, otherwise they are computed when it is carried out;
- the integrator stops exactly at every scheduled time (it is a segment end, like a timed
  event) and carries out the executions due there one at a time, re-evaluating every trigger
  after each one: an execution may trigger other events (a chain), and a pending execution of a
  non-persistent event whose trigger has become false is dropped (also checked at the end of
  every accepted step while it waits);
- an event may be pending several times over (its trigger went true again before the first
  execution); each pending execution is a row of the queue.

Executions due at one instant are carried out in model order (the importer puts events in
priority order where that order is provably SBML's, see
``mdrsim.io.sbml_read._Importer._check_event_order``), earlier-triggered first among
executions of one event. Events without a delay are then carried out at once when triggered,
as before. Where the importer could not prove that, the events keep their SBML priorities and
*every* event goes through the queue (undelayed ones with delay 0, so their values are also
taken at the trigger time): at each choice the priorities of the due executions are evaluated
and the highest goes first; a tie between two events (equal priorities, or one without a
priority), whose order SBML leaves to chance, fails the patient
(:attr:`~mdrsim.engine.status.Status.EVENT_TIE`) rather than pick one.

The queue holds at most :data:`MAX_PENDING` executions per patient; more is the patient's
failure (:attr:`mdrsim.engine.status.Status.EVENT_QUEUE_FULL`), never a silently
dropped event.
"""

from typing import Any

import numpy as np
from numba import cfunc, njit, types

from mdrsim.engine.status import Status

_PTR = types.CPointer(types.float64)
#: Signature of the generated event_values / event_write(k, t, y*, p*, buf*).
EVENT_BUF_SIG = types.void(types.int64, types.float64, _PTR, _PTR, _PTR)
EVENT_BUF_FN = types.FunctionType(EVENT_BUF_SIG)

#: Executions that may be pending at once for one patient.
MAX_PENDING = 1000
#: Executions and trigger rounds at one instant before the patient is failed as a loop.
MAX_AT_ONE_INSTANT = 10_000

# Columns of the per-event flags array (see :func:`event_flags`).
F_DELAYED = 0
F_PERSISTENT = 1
F_VALUES_AT_TRIGGER = 2
F_N_VALUES = 3
F_PRIORITY = 4
F_N_ATOMS = 5  # the number of trigger comparisons (same in every row)

STATUS_OK = int(Status.OK)
STATUS_QUEUE_FULL = int(Status.EVENT_QUEUE_FULL)
STATUS_BAD_DELAY = int(Status.BAD_EVENT_DELAY)
STATUS_EVENT_LOOP = int(Status.EVENT_LOOP)
STATUS_EVENT_TIE = int(Status.EVENT_TIE)


@cfunc(EVENT_BUF_SIG, cache=True, nogil=True)
def no_event_values(k, t, y, p, buf):  # type: ignore[no-untyped-def]  # pragma: no cover
    """Stand-in for models without delayed events (never called)."""
    return


@cfunc(EVENT_BUF_SIG, cache=True, nogil=True)
def no_event_write(k, t, y, p, buf):  # type: ignore[no-untyped-def]  # pragma: no cover
    """Stand-in for models without delayed events (never called)."""
    return


@cfunc(EVENT_BUF_SIG, cache=True, nogil=True)
def no_event_priority(k, t, y, p, buf):  # type: ignore[no-untyped-def]  # pragma: no cover
    """Stand-in for models without priorities (never called)."""
    return


def event_flags(
    delayed: list[bool],
    persistent: list[bool],
    at_trigger: list[bool],
    n_values: list[int],
    has_priority: list[bool],
    n_atoms: int = 0,
) -> np.ndarray:
    """The kernel's per-event flags: (delayed or queued, persistent, values at trigger time,
    number of buffer entries = 1 + assignments, has a priority)."""
    flags = np.zeros((len(delayed), 6), dtype=np.int64)
    for k in range(len(delayed)):
        flags[k, F_DELAYED] = int(delayed[k])
        flags[k, F_PERSISTENT] = int(persistent[k])
        flags[k, F_VALUES_AT_TRIGGER] = int(at_trigger[k])
        flags[k, F_N_VALUES] = n_values[k]
        flags[k, F_PRIORITY] = int(has_priority[k])
        flags[k, F_N_ATOMS] = n_atoms
    return flags


@njit(cache=True, nogil=True, error_model="numpy")
def new_queue(flags: Any) -> tuple[Any, Any, Any, Any, Any]:
    """Empty queue arrays: (time, event, sequence, values, [count, next sequence])."""
    width = 1
    capacity = 1
    for k in range(flags.shape[0]):
        if flags[k, F_DELAYED] != 0:
            capacity = MAX_PENDING
            width = max(width, flags[k, F_N_VALUES])
    q_time = np.full(capacity, np.inf)
    q_event = np.zeros(capacity, dtype=np.int64)
    q_seq = np.zeros(capacity, dtype=np.int64)
    q_vals = np.zeros((capacity, width))
    q_n = np.zeros(2, dtype=np.int64)
    return q_time, q_event, q_seq, q_vals, q_n


@njit(cache=True, nogil=True, error_model="numpy")
def schedule(ev_values: Any, k: int, t: float, y: Any, p: Any, queue: Any) -> int:
    """Event ``k`` triggered at ``t``: evaluate its delay (and values) and queue it."""
    q_time, q_event, q_seq, q_vals, q_n = queue
    n = q_n[0]
    if n >= q_time.shape[0]:
        return STATUS_QUEUE_FULL
    row = q_vals[n]
    ev_values(k, t, y.ctypes, p.ctypes, row.ctypes)
    delay = row[0]
    if not (delay >= 0.0 and delay < np.inf):
        return STATUS_BAD_DELAY
    q_time[n] = t + delay
    q_event[n] = k
    q_seq[n] = q_n[1]
    q_n[0] = n + 1
    q_n[1] += 1
    return STATUS_OK


@njit(cache=True, nogil=True, error_model="numpy")
def next_time(queue: Any) -> float:
    """The earliest scheduled execution (inf when none is pending)."""
    q_time = queue[0]
    n = queue[4][0]
    best = np.inf
    for i in range(n):
        if q_time[i] < best:
            best = q_time[i]
    return best


@njit(cache=True, nogil=True, error_model="numpy")
def _remove(queue: Any, i: int) -> None:
    q_time, q_event, q_seq, q_vals, q_n = queue
    last = q_n[0] - 1
    if i != last:
        q_time[i] = q_time[last]
        q_event[i] = q_event[last]
        q_seq[i] = q_seq[last]
        for c in range(q_vals.shape[1]):
            q_vals[i, c] = q_vals[last, c]
    q_time[last] = np.inf
    q_n[0] = last


@njit(cache=True, nogil=True, error_model="numpy")
def drop_cancelled(queue: Any, flags: Any, event_state_index: Any, trig: Any) -> None:
    """Drop pending executions of non-persistent events whose trigger ``trig`` is now false."""
    q_event = queue[1]
    q_n = queue[4]
    i = 0
    while i < q_n[0]:
        k = q_event[i]
        j = event_state_index[k]
        if flags[k, F_PERSISTENT] == 0 and j >= 0 and trig[j] == 0.0:
            _remove(queue, i)
        else:
            i += 1


@njit(cache=True, nogil=True, error_model="numpy")
def _due(queue: Any, t: float) -> int:
    """The execution to carry out now: due, lowest event index, earliest triggered; or -1."""
    q_time, q_event, q_seq, _, q_n = queue
    best = -1
    for i in range(q_n[0]):
        if q_time[i] <= t and (
            best < 0
            or q_event[i] < q_event[best]
            or (q_event[i] == q_event[best] and q_seq[i] < q_seq[best])
        ):
            best = i
    return best


@njit(cache=True, nogil=True, error_model="numpy")
def _due_by_priority(
    queue: Any, t: float, ev_priority: Any, y: Any, p: Any, flags: Any, scratch: Any
) -> tuple[int, int]:
    """The due execution with the highest priority (evaluated now), or -1; a tie between two
    different events (equal priorities, or one without a priority) is STATUS_EVENT_TIE."""
    q_time, q_event, q_seq, _, q_n = queue
    n = q_n[0]
    pr = np.full(n, np.nan)
    best = -1
    for i in range(n):
        if q_time[i] > t:
            continue
        k = q_event[i]
        if flags[k, F_PRIORITY] != 0:
            ev_priority(k, t, y.ctypes, p.ctypes, scratch.ctypes)
            pr[i] = scratch[0]
        if best < 0 or pr[i] > pr[best] or (q_event[i] == q_event[best] and q_seq[i] < q_seq[best]):
            best = i
    if best < 0:
        return -1, STATUS_OK
    for i in range(n):
        other = q_time[i] <= t and q_event[i] != q_event[best]
        if other and (np.isnan(pr[i]) or np.isnan(pr[best]) or pr[i] >= pr[best]):
            return -1, STATUS_EVENT_TIE
    return best, STATUS_OK


@njit(cache=True, nogil=True, error_model="numpy")
def settle(
    triggers: Any,
    apply_event: Any,
    ev_values: Any,
    ev_write: Any,
    ev_priority: Any,
    event_state_index: Any,
    flags: Any,
    t: float,
    y: Any,
    p: Any,
    trig_prev: Any,
    trig_now: Any,
    queue: Any,
) -> tuple[int, int]:
    """Everything that happens at the instant ``t``: (events carried out, status).

    Round after round: evaluate the triggers (dropping cancelled non-persistent executions),
    trigger the events whose trigger went false -> true (at once without a delay, else queued);
    when no trigger changed, carry out one due execution; stop when nothing is due.
    """
    fired = 0
    n_trig = trig_now.shape[0]
    by_priority = False
    for k in range(flags.shape[0]):
        if flags[k, F_PRIORITY] != 0:
            by_priority = True
    scratch = np.empty(1)
    for _ in range(MAX_AT_ONE_INSTANT):
        any_new = False
        if n_trig > 0:
            triggers(t, y.ctypes, p.ctypes, trig_now.ctypes)
            drop_cancelled(queue, flags, event_state_index, trig_now)
            # Delayed events triggered now take their delay and values before any event
            # triggered at the same time is carried out; then the others, in model order.
            for k in range(event_state_index.shape[0]):
                j = event_state_index[k]
                if j >= 0 and trig_prev[j] == 0.0 and trig_now[j] == 1.0:
                    any_new = True
                    if flags[k, F_DELAYED] != 0:
                        status = schedule(ev_values, k, t, y, p, queue)
                        if status != STATUS_OK:
                            return fired, status
            for k in range(event_state_index.shape[0]):
                j = event_state_index[k]
                crossed = j >= 0 and trig_prev[j] == 0.0 and trig_now[j] == 1.0
                if crossed and flags[k, F_DELAYED] == 0:
                    apply_event(k, t, y.ctypes, p.ctypes)
                    fired += 1
            for j in range(n_trig):
                trig_prev[j] = trig_now[j]
        if any_new:
            continue
        if by_priority:
            i, status = _due_by_priority(queue, t, ev_priority, y, p, flags, scratch)
            if status != STATUS_OK:
                return fired, status
        else:
            i = _due(queue, t)
        if i < 0:
            return fired, STATUS_OK
        k = queue[1][i]
        row = queue[3][i]
        if flags[k, F_VALUES_AT_TRIGGER] == 0:
            ev_values(k, t, y.ctypes, p.ctypes, row.ctypes)
        ev_write(k, t, y.ctypes, p.ctypes, row.ctypes)
        _remove(queue, i)
        fired += 1
    return fired, STATUS_EVENT_LOOP
