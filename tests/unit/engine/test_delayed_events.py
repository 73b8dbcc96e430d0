"""Events with a delay: the pending-event queue of the RODAS kernel (mdrsim.engine.pending).

Expected values are worked out by hand from SBML's event semantics (SBML Level 3 Version 2
Core, section 4.12: delay and values evaluated at the trigger time, execution at trigger time
+ delay, values from the execution time when useValuesFromTriggerTime is false, a pending
execution of a non-persistent event dropped when its trigger turns false) and closed-form
solutions (exponential decay, x = sin t); tolerances are the solver's (rtol 1e-10).
"""

import math

import numpy as np
import pytest

from mdrsim.engine import simulate
from mdrsim.engine.pending import MAX_PENDING
from mdrsim.engine.status import Status
from mdrsim.errors import SimulationInputError, UnsupportedFeatureError
from mdrsim.io import read_sbml_string, write_sbml
from mdrsim.model import ModelBuilder

TOL = {"rtol": 1e-10, "atol": 1e-12}


def _decay_with_delayed_copy(values_at_trigger: bool):
    """A decays at rate k; at t = 1 an event, 2 time units later, copies A into P."""
    b = ModelBuilder("delayed_copy")
    b.species("A", 1.0).parameter("k", 0.5).parameter("P", 0.0, constant=False)
    b.reaction("decay", "k*A", reactants={"A": 1})
    b.event(
        "copy",
        "time >= 1",
        {"P": "A"},
        delay="2",
        use_values_from_trigger_time=values_at_trigger,
    )
    return b.build()


def test_values_from_trigger_time_are_taken_when_the_trigger_fires():
    """P = A(1) = e^-0.5, assigned at t = 3; would be A(3) = e^-1.5 if the flag were ignored."""
    t = np.array([0.0, 2.999, 3.0, 4.0])
    r = simulate(_decay_with_delayed_copy(True), t, check=True, **TOL)
    p = r["P"][0]
    assert p[1] == 0.0  # not yet carried out
    assert p[2] == pytest.approx(math.exp(-0.5), rel=1e-8)
    assert p[3] == pytest.approx(math.exp(-0.5), rel=1e-8)


def test_values_from_execution_time_when_asked():
    t = np.array([0.0, 2.999, 3.0, 4.0])
    r = simulate(_decay_with_delayed_copy(False), t, check=True, **TOL)
    p = r["P"][0]
    assert p[1] == 0.0
    assert p[2] == pytest.approx(math.exp(-1.5), rel=1e-8)


def test_delayed_bolus_lands_exactly_at_trigger_time_plus_delay():
    """When A falls below 0.5 (t1 = 2 ln 2), A = A + 1 is computed (1.5) and assigned 1 later."""
    b = ModelBuilder("refill")
    b.species("A", 1.0).parameter("k", 0.5)
    b.reaction("decay", "k*A", reactants={"A": 1})
    b.event("refill", "A < 0.5", {"A": "A + 1"}, delay="1")
    t1 = 2.0 * math.log(2.0)
    t_exec = t1 + 1.0
    a_before = 0.5 * math.exp(-0.5 * 1.0)
    # The crossing is located to ~1e-12, so look just either side of the execution.
    t = np.array([0.0, t_exec - 1e-8, t_exec + 1e-8, t_exec + 1.0])
    r = simulate(b.build(), t, check=True, **TOL)
    a = r["A"][0]
    assert a[1] == pytest.approx(a_before, rel=1e-7)
    assert a[2] == pytest.approx(1.5, rel=1e-7)
    assert a[3] == pytest.approx(1.5 * math.exp(-0.5), rel=1e-7)


def _sine_flag(persistent: bool, delay: float):
    """x = sin t (rate rule); when x > 0.5 (t = pi/6, false again at 5 pi/6), set F = 1 later."""
    b = ModelBuilder("sine_flag")
    b.parameter("x", 0.0, constant=False).parameter("F", 0.0, constant=False)
    b.rate_rule("x", "cos(time)")
    b.event("flag", "x > 0.5", {"F": "1"}, delay=str(delay), persistent=persistent)
    return b.build()


@pytest.mark.parametrize(
    ("persistent", "delay", "expected"),
    [
        (True, 3.0, 1.0),  # carried out at pi/6 + 3 though the trigger is false since 5 pi/6
        (False, 3.0, 0.0),  # dropped: the trigger turned false at 5 pi/6 before pi/6 + 3
        (False, 1.0, 1.0),  # carried out at pi/6 + 1, while the trigger is still true
    ],
)
def test_non_persistent_execution_is_dropped_when_its_trigger_turns_false(
    persistent, delay, expected
):
    r = simulate(_sine_flag(persistent, delay), [0.0, 4.0], check=True, **TOL)
    assert r["F"][0][-1] == expected


def _sine_counter(values_at_trigger: bool):
    """x = sin t crosses 0.5 upwards at pi/6 + 2 pi n; each crossing adds 1 to N 10 later, so
    up to two executions are pending at once."""
    b = ModelBuilder("sine_counter")
    b.parameter("x", 0.0, constant=False).parameter("N", 0.0, constant=False)
    b.rate_rule("x", "cos(time)")
    b.event(
        "count",
        "x > 0.5",
        {"N": "N + 1"},
        delay="10",
        use_values_from_trigger_time=values_at_trigger,
    )
    return b.build()


def test_one_event_pending_several_times_over():
    first = math.pi / 6 + 10.0
    after = np.array([0.0, 2 * math.pi, 4 * math.pi]) + first + 1e-7
    t = np.array([0.0, first - 1e-7, *after, 25.0])
    r = simulate(_sine_counter(False), t, check=True, **TOL)
    assert list(r["N"][0]) == [0.0, 0.0, 1.0, 2.0, 3.0, 3.0]
    # With values from the trigger time each execution assigns N + 1 as it was when triggered:
    # N = 0 at pi/6 and at pi/6 + 2 pi (both before the first execution at pi/6 + 10), N = 1 at
    # pi/6 + 4 pi.
    r = simulate(_sine_counter(True), t, check=True, **TOL)
    assert list(r["N"][0]) == [0.0, 0.0, 1.0, 1.0, 2.0, 2.0]


def test_an_execution_triggers_a_delayed_chain():
    b = ModelBuilder("chain")
    for name in ("u", "v", "w"):
        b.parameter(name, 0.0, constant=False)
    b.event("first", "time >= 1", {"u": "1"}, delay="0.5")
    b.event("second", "u > 0.5", {"v": "1"}, delay="0.25")
    b.event("third", "v > 0.5", {"w": "1"})  # no delay: at once when v is set
    t = np.array([0.0, 1.4, 1.5, 1.7, 1.75, 2.0])
    r = simulate(b.build(), t, check=True, **TOL)
    assert list(r["u"][0]) == [0, 0, 1, 1, 1, 1]
    assert list(r["v"][0]) == [0, 0, 0, 0, 1, 1]
    assert list(r["w"][0]) == [0, 0, 0, 0, 1, 1]


def test_delay_from_a_state_at_trigger_time():
    """The delay is evaluated at the trigger time: D = A(1) = e^-0.5 (k = 0.5)."""
    b = ModelBuilder("state_delay")
    b.species("A", 1.0).parameter("k", 0.5).parameter("F", 0.0, constant=False)
    b.reaction("decay", "k*A", reactants={"A": 1})
    b.event("late", "time >= 1", {"F": "1"}, delay="A")
    d = math.exp(-0.5)
    r = simulate(b.build(), [0.0, 1.0 + d - 1e-7, 1.0 + d + 1e-7], check=True, **TOL)
    assert list(r["F"][0]) == [0.0, 0.0, 1.0]


def test_queue_overflow_is_a_named_failure_not_a_silent_drop():
    """x = sin(100 t) triggers ~16 times per unit time, each execution 1e6 later."""
    b = ModelBuilder("flood")
    b.parameter("x", 0.0, constant=False).parameter("F", 0.0, constant=False)
    b.rate_rule("x", "100*cos(100*time)")
    b.event("flag", "x > 0.5", {"F": "F + 1"}, delay="1e6")
    r = simulate(b.build(), [0.0, 2.0 * MAX_PENDING / 15.9], rtol=1e-6, atol=1e-9)
    assert not r.ok
    assert int(r.stats[0, 0]) == Status.EVENT_QUEUE_FULL
    assert "queue" in next(iter(r.failures().values()))
    assert np.isnan(r["F"][0][-1])


def test_negative_delay_is_a_named_failure():
    b = ModelBuilder("negative")
    b.parameter("d", -1.0).parameter("F", 0.0, constant=False)
    b.event("bad", "time >= 1", {"F": "1"}, delay="d")
    r = simulate(b.build(), [0.0, 2.0])
    assert not r.ok
    assert int(r.stats[0, 0]) == Status.BAD_EVENT_DELAY


def test_other_engines_refuse_delayed_events():
    from mdrsim.engine.stochastic import simulate_stochastic

    model = _decay_with_delayed_copy(True)
    with pytest.raises(SimulationInputError, match="delayed events"):
        simulate(model, [0.0, 4.0], method="scipy-radau")
    with pytest.raises(UnsupportedFeatureError, match="have a delay"):
        simulate_stochastic(model, [0.0, 4.0], seed=1)
    with pytest.raises(UnsupportedFeatureError, match="priority"):
        simulate_stochastic(_two_events(10.0, 5.0), [0.0, 4.0], seed=1)
    with pytest.raises(SimulationInputError, match="priorities"):
        simulate(_two_events(10.0, 5.0), [0.0, 4.0], method="scipy-radau")


def test_sbml_round_trip_keeps_delay_and_value_time():
    for flag in (True, False):
        model = _decay_with_delayed_copy(flag)
        back = read_sbml_string(write_sbml(model))
        event = back.events["copy"]
        assert event.delay is not None and float(event.delay) == 2.0
        assert event.use_values_from_trigger_time is flag
        assert back.structure_hash() == model.structure_hash()


@pytest.mark.parametrize("trigger", ["time >= 1", "s > 1"])
def test_delayed_values_are_taken_before_an_event_at_the_same_instant_is_carried_out(trigger):
    """Both events trigger together (timed, or one state trigger, s = time); the delayed one
    takes y = x (x = 3) at the trigger time, before the undelayed one sets x = 7."""
    b = ModelBuilder("same_instant")
    b.parameter("x", 3.0, constant=False).parameter("y", 0.0, constant=False)
    b.parameter("s", 0.0, constant=False).rate_rule("s", "1")
    b.event("set_x", trigger, {"x": "7"})
    b.event("copy_later", trigger, {"y": "x"}, delay="1")
    r = simulate(b.build(), [0.0, 3.0], check=True, **TOL)
    assert (r["x"][0][-1], r["y"][0][-1]) == (7.0, 3.0)


# -- priorities (SBML <priority>, where the order of events due at one instant matters) --------


def _two_events(p_first: float, p_second: float, at_trigger: bool = True):
    """Both due when time > 3.5 (x = 3): 'first' sets x = 7, 'second' sets y = x."""
    b = ModelBuilder("prioritised")
    b.parameter("x", 3.0, constant=False).parameter("y", 0.0, constant=False)
    b.event("first", "time > 3.5", {"x": "7"}, priority=str(p_first))
    b.event(
        "second",
        "time > 3.5",
        {"y": "x"},
        priority=str(p_second),
        use_values_from_trigger_time=at_trigger,
    )
    return b.build()


def test_values_from_trigger_time_at_one_instant_whatever_the_priority():
    """SBML Test Suite case 01330's model: y = x as it was when both triggered (3)."""
    for priorities in ((10.0, 5.0), (5.0, 10.0)):
        r = simulate(_two_events(*priorities), [0.0, 5.0], check=True, **TOL)
        assert (r["x"][0][-1], r["y"][0][-1]) == (7.0, 3.0)


def test_priority_orders_executions_with_values_from_execution_time():
    """Case 01331's model: 'second' computes y = x when carried out, after or before 'first'."""
    r = simulate(_two_events(10.0, 5.0, at_trigger=False), [0.0, 5.0], check=True, **TOL)
    assert r["y"][0][-1] == 7.0  # 'first' (10) went first
    r = simulate(_two_events(5.0, 10.0, at_trigger=False), [0.0, 5.0], check=True, **TOL)
    assert r["y"][0][-1] == 3.0  # 'second' (10) went first


def test_equal_priorities_are_a_named_failure_not_a_guess():
    r = simulate(_two_events(5.0, 5.0, at_trigger=False), [0.0, 5.0])
    assert not r.ok
    assert int(r.stats[0, 0]) == Status.EVENT_TIE
    assert "chance" in next(iter(r.failures().values()))


def test_execution_cancels_a_non_persistent_event_due_at_the_same_instant():
    """Both trigger when s = time crosses 1; 'stop' (priority 10) sets go = 0, so the
    non-persistent 'count' (5), whose trigger needs go = 1, is dropped; persistent, it is
    carried out."""
    for persistent, expected in ((False, 0.0), (True, 1.0)):
        b = ModelBuilder("cancel")
        b.parameter("go", 1.0, constant=False).parameter("n", 0.0, constant=False)
        b.parameter("s", 0.0, constant=False).rate_rule("s", "1")
        b.event("stop", "s > 1", {"go": "0"}, priority="10")
        b.event("count", "s > 1 and go > 0.5", {"n": "n + 1"}, priority="5", persistent=persistent)
        r = simulate(b.build(), [0.0, 2.0], check=True, **TOL)
        assert r["n"][0][-1] == expected


def test_trigger_true_only_in_a_window_shorter_than_a_step_is_not_missed():
    """x' = 1 takes huge steps (its error estimate is 0); the trigger is true only for
    4.5 < x < 5.1, which a step can jump over. Each comparison's change is located instead."""
    b = ModelBuilder("window")
    b.parameter("x", 0.0, constant=False).parameter("P", 0.0, constant=False)
    b.rate_rule("x", "1")
    b.event("mark", "x > 4.5 and x < 5.1", {"P": "P + 1"}, delay="2")
    r = simulate(b.build(), [0.0, 6.4, 6.6, 30.0], check=True, **TOL)
    assert list(r["P"][0]) == [0.0, 0.0, 1.0, 1.0]


def test_a_timed_and_a_state_trigger_due_together_compete_by_priority():
    """`time > 1` and `time > 1 and go > 0.5` become true at the same instant; 'count' (10)
    goes first and reads go = 1, then 'stop' (5) sets go = 0."""
    b = ModelBuilder("mixed")
    b.parameter("go", 1.0, constant=False).parameter("n", 0.0, constant=False)
    b.event("stop", "time > 1", {"go": "0"}, priority="5")
    b.event("count", "time > 1 and go > 0.5", {"n": "n + go"}, priority="10")
    r = simulate(b.build(), [0.0, 2.0], check=True, **TOL)
    assert (r["go"][0][-1], r["n"][0][-1]) == (0.0, 1.0)
