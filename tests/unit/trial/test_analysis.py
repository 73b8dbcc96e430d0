"""Survival and rate statistics, checked by hand and against lifelines."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test

from mdrsim.trial.analysis import (
    analyse,
    cox_hazard_ratio,
    kaplan_meier,
    logrank,
    wilson_interval,
)

# Tiny data set with censoring (event 0) and a tie (time 6 in both groups).
A_T = np.array([2.0, 3.0, 4.0, 6.0, 8.0, 9.0])
A_E = np.array([1, 1, 0, 1, 1, 0], dtype=bool)
B_T = np.array([4.0, 6.0, 7.0, 10.0, 12.0])
B_E = np.array([1, 1, 0, 1, 0], dtype=bool)


def test_kaplan_meier_by_hand() -> None:
    km = kaplan_meier(A_T, A_E, "a")
    # S(t) by hand: at 2: 5/6; at 3: 5/6·4/5 = 4/6; 4 censored; at 6: 4/6·2/3 = 4/9;
    # at 8: 4/9·1/2 = 2/9; 9 censored.
    s = dict(zip(km.table["time"], km.table["survival"], strict=True))
    assert s[2.0] == pytest.approx(5 / 6)
    assert s[3.0] == pytest.approx(4 / 6)
    assert s[6.0] == pytest.approx(4 / 9)
    assert s[8.0] == pytest.approx(2 / 9)
    # Median: first time S(t) <= 0.5 → 6.
    assert km.median == 6.0
    assert (km.table["lower"] <= km.table["survival"] + 1e-12).all()
    assert (km.table["upper"] >= km.table["survival"] - 1e-12).all()


def test_logrank_by_hand() -> None:
    # Observed minus expected in group A, summed over distinct event times, and its
    # hypergeometric variance: chi2 = (O - E)^2 / V.
    times = np.unique(np.r_[A_T[A_E], B_T[B_E]])
    o_minus_e = 0.0
    var = 0.0
    ta, ea, tb, eb = A_T, A_E, B_T, B_E
    for t in times:
        na, nb = (ta >= t).sum(), (tb >= t).sum()
        da, db = ((ta == t) & ea).sum(), ((tb == t) & eb).sum()
        n, d = na + nb, da + db
        o_minus_e += da - d * na / n
        var += d * (na / n) * (nb / n) * (n - d) / max(n - 1, 1)
    chi2_hand = o_minus_e**2 / var
    chi2, p = logrank(A_T, A_E, B_T, B_E)
    assert chi2 == pytest.approx(chi2_hand, rel=1e-10)
    assert p == pytest.approx(math.erfc(math.sqrt(chi2_hand / 2)), rel=1e-8)
    ref = logrank_test(A_T, B_T, event_observed_A=A_E, event_observed_B=B_E)
    assert chi2 == pytest.approx(ref.test_statistic)


def test_median_ci_and_band_agree_with_lifelines() -> None:
    rng = np.random.default_rng(0)
    t = rng.exponential(100, 300)
    c = rng.uniform(0, 250, 300)
    d, e = np.minimum(t, c), t <= c
    km = kaplan_meier(d, e, "x")
    ref = KaplanMeierFitter().fit(d, e)
    assert km.median == pytest.approx(ref.median_survival_time_)
    np.testing.assert_allclose(km.table["survival"], ref.survival_function_.iloc[:, 0])
    np.testing.assert_allclose(km.table["lower"], ref.confidence_interval_.iloc[:, 0])
    assert km.median_lower < km.median < km.median_upper
    # True median of Exp(100) is 69.3: inside the 95 % CI.
    assert km.median_lower < 100 * math.log(2) < km.median_upper


def test_cox_agrees_with_lifelines_point_estimate() -> None:
    rng = np.random.default_rng(1)
    n = 400
    treated = np.r_[np.zeros(n), np.ones(n)]
    t = rng.exponential(1 / np.where(treated == 1, 0.5, 1.0))
    c = rng.uniform(0, 3, 2 * n)
    d, e = np.minimum(t, c), t <= c
    hr, lo, hi, _ = cox_hazard_ratio(np.arange(2 * n), treated, d, e)
    ref = CoxPHFitter().fit(pd.DataFrame({"T": d, "E": e.astype(int), "x": treated}), "T", "E")
    assert hr == pytest.approx(math.exp(ref.params_["x"]), rel=1e-6)
    assert lo < 0.5 < hi  # the true HR is inside the CI
    assert lo < hr < hi


def test_wilson_interval_known_values() -> None:
    # Wilson (1927) for 5/10 at 95 %: 0.2366 – 0.7634; 0/10: 0 – 0.2775.
    lo, hi = wilson_interval(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def _endpoints() -> pd.DataFrame:
    rows = []
    for arm, times, events in (("ctl", A_T, A_E), ("trt", B_T, B_E)):
        for i, (t, e) in enumerate(zip(times, events, strict=True)):
            rows.append(
                {
                    "patient": i,
                    "arm": arm,
                    "status": "ok",
                    "pfs_days": t,
                    "pfs_event": bool(e),
                    "best_response": ["CR", "PR", "SD", "PD", "PR", "SD"][i],
                    "grade4_neutropenia": i % 2 == 0,
                    "infection_cleared": None,
                    "cd8_memory_ratio": float(i + 1),
                }
            )
    rows.append(
        {"patient": 99, "arm": "trt", "status": "failed", "pfs_days": None, "pfs_event": None,
         "best_response": None, "grade4_neutropenia": None, "infection_cleared": None,
         "cd8_memory_ratio": None}
    )  # fmt: skip
    return pd.DataFrame(rows)


def test_analyse_summary_table() -> None:
    a = analyse(_endpoints(), ["ctl", "trt"])
    s = a.summary.set_index("arm")
    assert s.loc["ctl", "n"] == 6 and s.loc["trt", "n"] == 6
    assert s.loc["trt", "n_failed"] == 1 and s.loc["ctl", "n_failed"] == 0
    assert s.loc["ctl", "median_pfs_days"] == 6.0
    assert s.loc["ctl", "orr"] == pytest.approx(3 / 6)  # CR, PR, PR
    assert s.loc["trt", "orr"] == pytest.approx(3 / 5)  # CR, PR, PR of 5 not failed
    assert s.loc["ctl", "grade4_neutropenia_rate"] == pytest.approx(3 / 6)
    assert math.isnan(s.loc["ctl", "infection_not_cleared_rate"])
    assert s.loc["trt", "cd8_memory_ratio_median"] == 3.0
    assert math.isnan(s.loc["ctl", "hr_vs_control"])
    # Paired comparison: control patient 5 has no evaluable twin under treatment (the
    # treated arm has patients 0-4), so the log-rank test compares patients 0-4 only.
    chi2, _ = logrank(A_T[:5], A_E[:5], B_T, B_E)
    assert s.loc["trt", "logrank_chi2"] == pytest.approx(chi2)
    unpaired, _ = logrank(A_T, A_E, B_T, B_E)
    assert unpaired != pytest.approx(chi2)
    doc = a.to_dict()
    assert doc["control_arm"] == "ctl" and doc["arms"][0]["hr_vs_control"] is None


def test_arm_without_events_does_not_crash() -> None:
    ep = _endpoints()
    ep.loc[ep["arm"] == "trt", "pfs_event"] = False
    s = analyse(ep, ["ctl", "trt"]).summary.set_index("arm")
    assert s.loc["trt", "n_events"] == 0
    assert not s.loc["trt", "median_pfs_reached"]
    hr = s.loc["trt", "hr_vs_control"]
    # No event under treatment: the HR is 0 (not estimable) — never a spurious finite value > 0.1.
    assert math.isnan(hr) or hr < 0.1
