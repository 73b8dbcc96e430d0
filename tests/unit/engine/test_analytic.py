"""The engine against closed-form solutions (rtol 1e-10: agreement to ~1e-8 relative)."""

import numpy as np
import pytest

from mdrsim.engine import EventTable, SolverOptions, compile_model, run_batch, simulate

from .models import forced_oscillator, gompertz, logistic, one_compartment_pk

TIGHT = {"rtol": 1e-10, "atol": 1e-13}


def test_repeated_boluses_superpose():
    k, V, dose = 0.5, 10.0, 100.0
    dose_times = [0.0, 1.0, 2.5, 4.0]
    events = EventTable()
    for td in dose_times:
        events.bolus(td, "C", dose / V)
    t = np.linspace(0, 8, 161)
    r = simulate(one_compartment_pk(k_el=k, volume=V), t, events=events, **TIGHT, check=True)
    expected = sum(np.where(t >= td, dose / V * np.exp(-k * (t - td)), 0.0) for td in dose_times)
    np.testing.assert_allclose(r["C"][0], expected, rtol=1e-8, atol=1e-12)
    # At a dose time the reported value is the one just after the dose (right-continuous).
    assert r["C"][0][20] == pytest.approx(expected[20], rel=1e-8)
    np.testing.assert_allclose(r["amount"][0], expected * V, rtol=1e-8, atol=1e-11)


def test_zero_order_infusion():
    k, V, rate, t_on, t_off = 0.8, 5.0, 12.0, 1.0, 3.0  # rate in mg/L per day
    events = EventTable().infusion(t_on, t_off, "C", rate)
    t = np.linspace(0, 6, 121)
    r = simulate(one_compartment_pk(k_el=k, volume=V), t, events=events, **TIGHT, check=True)
    during = rate / k * (1 - np.exp(-k * (t - t_on)))
    c_off = rate / k * (1 - np.exp(-k * (t_off - t_on)))
    expected = np.where(
        t < t_on, 0.0, np.where(t <= t_off, during, c_off * np.exp(-k * (t - t_off)))
    )
    np.testing.assert_allclose(r["C"][0], expected, rtol=1e-8, atol=1e-12)


def test_logistic_growth():
    r_, K, N0 = 0.3, 100.0, 1.0
    t = np.linspace(0, 60, 61)
    res = simulate(logistic(r_, K, N0), t, **TIGHT, check=True)
    expected = K / (1 + (K / N0 - 1) * np.exp(-r_ * t))
    np.testing.assert_allclose(res["N"][0], expected, rtol=1e-8)


def test_gompertz_growth():
    r_, K, N0 = 0.2, 50.0, 0.5
    t = np.linspace(0, 40, 41)
    res = simulate(gompertz(r_, K, N0), t, **TIGHT, check=True)
    expected = K * np.exp(np.log(N0 / K) * np.exp(-r_ * t))
    np.testing.assert_allclose(res["N"][0], expected, rtol=1e-8)


def test_per_patient_parameters_and_doses():
    ks = np.array([0.1, 0.5, 1.0, 2.0])
    times = np.array([0.5, 1.0, 1.5, 2.0])
    events = EventTable().bolus(times, "C", 10.0)
    t = np.linspace(0, 5, 11)
    r = simulate(one_compartment_pk(), t, params={"k_el": ks}, events=events, **TIGHT, check=True)
    for i in range(4):
        expected = np.where(t >= times[i], 10.0 * np.exp(-ks[i] * (t - times[i])), 0.0)
        np.testing.assert_allclose(r["C"][i], expected, rtol=1e-8, atol=1e-12)


def _fixed_step_error(model, h, t_end, exact):
    cm = compile_model(model)
    r = run_batch(
        cm,
        cm.default_parameters()[None],
        cm.default_initial_state()[None],
        np.array([0.0, t_end]),
        options=SolverOptions(h_fixed=h),
    )
    return abs(r.states[0, -1, 0] - exact)


def _forced_exact(t):
    # y' = -2y + sin(3t), y(0) = 1
    a = (2 * np.sin(3 * t) - 3 * np.cos(3 * t)) / 13
    return a + (1 + 3 / 13) * np.exp(-2 * t)


@pytest.mark.parametrize(
    ("model", "exact"),
    [
        (logistic(), 100.0 / (1 + 99.0 * np.exp(-0.3 * 10.0))),
        (forced_oscillator(), _forced_exact(10.0)),
    ],
    ids=["autonomous-logistic", "non-autonomous-forced"],
)
def test_observed_order_is_four(model, exact):
    """RODAS4 is order 4: halving the step divides the global error by about 16."""
    hs = [0.5, 0.25, 0.125]
    errors = [_fixed_step_error(model, h, 10.0, exact) for h in hs]
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(orders > 3.6), orders
    assert np.all(orders < 4.6), orders


def test_dense_output_is_accurate_between_steps():
    """Outputs between steps come from the order-3 continuous extension."""
    t = np.linspace(0, 10, 1001)
    res = simulate(forced_oscillator(), t, rtol=1e-6, atol=1e-8, check=True)
    assert res.stats[0, 3] < 600  # fewer steps than output points: most are interpolated
    # Same accuracy class as the step ends (about 1e-7 here), not the interpolation of a
    # straight line between steps (which would be off by ~1e-3).
    np.testing.assert_allclose(res["y"][0], _forced_exact(t), rtol=0, atol=1e-6)
