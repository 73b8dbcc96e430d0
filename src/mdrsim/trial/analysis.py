"""Trial analysis: Kaplan–Meier, log-rank, Cox, response and safety rates per arm.

Survival statistics use lifelines (Davidson-Pilon, JOSS 2019;4:1317) — a maintained,
tested implementation (Greenwood variance, exponential/log-log bands, Efron ties,
sandwich variance) rather than one more hand-rolled Kaplan–Meier. Arms are compared with the
first (control) arm. The arms hold the *same* virtual patients (paired design), so the Cox
model clusters on the patient (robust sandwich SEs, Lin & Wei 1989); the log-rank test
assumes independent arms and is therefore conservative-to-approximate here — reported as the
conventional test a real trial would use.

Failed patients are excluded from every statistic and counted in ``n_failed``; the
comparisons with the control arm (log-rank, Cox) use the patients evaluable in both arms.
Only the needed endpoint columns are read from the store.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from lifelines.exceptions import ConvergenceError

from mdrsim.stats import wilson_interval
from mdrsim.trial.endpoints import STATUS_OK, Endpoint
from mdrsim.trial.store import TrialStore

#: Endpoint columns the analysis reads (the store is queried for these only).
ANALYSIS_COLUMNS: list[str] = [
    Endpoint.PATIENT,
    Endpoint.ARM,
    Endpoint.STATUS,
    Endpoint.PFS_DAYS,
    Endpoint.PFS_EVENT,
    Endpoint.BEST_RESPONSE,
    Endpoint.GRADE4_NEUTROPENIA,
    Endpoint.INFECTION_CLEARED,
    Endpoint.CD8_MEMORY_RATIO,
    Endpoint.OS_DAYS,
    Endpoint.OS_EVENT,
    Endpoint.EARLY_DEATH,
    Endpoint.FEBRILE_NEUTROPENIA,
]

#: Landmark of the overall-survival rate reported per arm (days).
OS_LANDMARK_DAYS = 365.0


@dataclass
class KMCurve:
    arm: str
    table: pd.DataFrame  # time, survival, lower, upper, at_risk
    median: float
    median_lower: float
    median_upper: float


def kaplan_meier(durations: np.ndarray, events: np.ndarray, label: str) -> KMCurve:
    """KM estimate with 95 % pointwise bands (lifelines' exponential Greenwood) and median CI."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    kmf = KaplanMeierFitter(label=label)
    kmf.fit(durations, event_observed=events)
    sf = kmf.survival_function_[label]
    ci = kmf.confidence_interval_
    table = pd.DataFrame(
        {
            "time": sf.index.to_numpy(dtype=float),
            "survival": sf.to_numpy(dtype=float),
            "lower": ci.iloc[:, 0].to_numpy(dtype=float),
            "upper": ci.iloc[:, 1].to_numpy(dtype=float),
            "at_risk": kmf.event_table["at_risk"].reindex(sf.index).to_numpy(),
        }
    )
    med_ci = median_survival_times(ci)
    return KMCurve(
        label,
        table,
        float(kmf.median_survival_time_),
        float(med_ci.iloc[0, 0]),
        float(med_ci.iloc[0, 1]),
    )


def logrank(
    d_a: np.ndarray, e_a: np.ndarray, d_b: np.ndarray, e_b: np.ndarray
) -> tuple[float, float]:
    """Log-rank chi-square statistic (1 df) and p-value."""
    from lifelines.statistics import logrank_test

    r = logrank_test(d_a, d_b, event_observed_A=e_a, event_observed_B=e_b)
    return float(r.test_statistic), float(r.p_value)


def cox_hazard_ratio(
    patient: np.ndarray, treated: np.ndarray, durations: np.ndarray, events: np.ndarray
) -> tuple[float, float, float, float]:
    """HR of treated vs control with 95 % CI and p, clustered on the patient (paired arms)."""
    from lifelines import CoxPHFitter

    df = pd.DataFrame(
        {"T": durations, "E": events.astype(int), "treated": treated.astype(float), "id": patient}
    )
    cph = CoxPHFitter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cph.fit(df, duration_col="T", event_col="E", cluster_col="id")
    s = cph.summary.loc["treated"]
    return (
        float(s["exp(coef)"]),
        float(s["exp(coef) lower 95%"]),
        float(s["exp(coef) upper 95%"]),
        float(s["p"]),
    )


@dataclass
class TrialAnalysis:
    control: str
    summary: pd.DataFrame  # one row per arm
    curves: dict[str, KMCurve]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: NaN (not estimable) and infinity (median not reached) become None."""
        rows = [
            {k: _jsonable(v) for k, v in r.items()} for r in self.summary.to_dict(orient="records")
        ]
        return {"control_arm": self.control, "arms": rows}


def _jsonable(v: Any) -> Any:
    if isinstance(v, float | np.floating):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    return v


def _rate(series: pd.Series) -> tuple[int, int]:
    s = series.dropna()
    return int(s.astype(bool).sum()), len(s)


def analyse(endpoints: pd.DataFrame, arms: list[str] | None = None) -> TrialAnalysis:
    """Summary per arm from an endpoint table (ENDPOINT_COLUMNS; extra columns ignored).

    Columns of the summary: arm, n, n_failed, n_events, median_pfs_reached, median_pfs_days
    (+ CI; infinite when not reached — null in JSON), hr_vs_control
    (+ CI, p, clustered Cox), logrank_chi2/p, orr (+ Wilson CI), grade4_neutropenia_rate,
    infection_not_cleared_rate, cd8_memory_ratio_median; overall survival: n_deaths,
    median_os_days (+ CI), os_1y (KM at 365 d, + CI), early_death_rate (≤ 60 d, + Wilson CI),
    febrile_neutropenia_rate (+ Wilson CI). Null where the endpoint is missing (a simulator
    without deaths).
    """
    arms = arms or list(dict.fromkeys(endpoints[Endpoint.ARM].astype(str)))
    control = arms[0]
    ok_all = endpoints[endpoints[Endpoint.STATUS] == STATUS_OK]
    curves: dict[str, KMCurve] = {}
    rows = []
    by_arm = {a: ok_all[ok_all[Endpoint.ARM] == a] for a in arms}
    ctrl = by_arm[control]
    for arm in arms:
        sub = by_arm[arm]
        n_all = int((endpoints[Endpoint.ARM] == arm).sum())
        row: dict[str, Any] = {"arm": arm, "n": n_all, "n_failed": n_all - len(sub)}
        surv = sub.dropna(subset=[Endpoint.PFS_DAYS, Endpoint.PFS_EVENT])
        d = surv[Endpoint.PFS_DAYS].to_numpy(dtype=float)
        e = surv[Endpoint.PFS_EVENT].to_numpy(dtype=bool)
        row["n_events"] = int(e.sum())
        if len(surv):
            km = kaplan_meier(d, e, arm)
            curves[arm] = km
            row.update(
                median_pfs_reached=bool(np.isfinite(km.median)),
                median_pfs_days=km.median,
                median_pfs_lower=km.median_lower,
                median_pfs_upper=km.median_upper,
            )
        else:
            row.update(
                median_pfs_reached=False,
                median_pfs_days=np.nan,
                median_pfs_lower=np.nan,
                median_pfs_upper=np.nan,
            )
        row.update(
            hr_vs_control=np.nan, hr_lower=np.nan, hr_upper=np.nan, hr_p=np.nan,
            logrank_chi2=np.nan, logrank_p=np.nan,
        )  # fmt: skip
        if arm != control and len(surv):
            cs = ctrl.dropna(subset=[Endpoint.PFS_DAYS, Endpoint.PFS_EVENT])
            # Paired design: compare the patients evaluable in both arms, so that a failure
            # in one arm cannot unbalance the comparison.
            both = set(cs[Endpoint.PATIENT]) & set(surv[Endpoint.PATIENT])
            cs = cs[cs[Endpoint.PATIENT].isin(both)]
            surv = surv[surv[Endpoint.PATIENT].isin(both)]
            d = surv[Endpoint.PFS_DAYS].to_numpy(dtype=float)
            e = surv[Endpoint.PFS_EVENT].to_numpy(dtype=bool)
            dc = cs[Endpoint.PFS_DAYS].to_numpy(dtype=float)
            ec = cs[Endpoint.PFS_EVENT].to_numpy(dtype=bool)
            if len(cs) and (e.any() or ec.any()):
                chi2, p = logrank(dc, ec, d, e)
                try:
                    hr, lo, hi, hp = cox_hazard_ratio(
                        np.concatenate(
                            [cs[Endpoint.PATIENT].to_numpy(), surv[Endpoint.PATIENT].to_numpy()]
                        ),
                        np.r_[np.zeros(len(cs)), np.ones(len(surv))],
                        np.r_[dc, d],
                        np.r_[ec, e],
                    )
                except (ConvergenceError, np.linalg.LinAlgError):
                    # e.g. no event in one arm: the HR is 0 or infinite, not estimable.
                    hr = lo = hi = hp = math.nan
                row.update(
                    hr_vs_control=hr, hr_lower=lo, hr_upper=hi, hr_p=hp,
                    logrank_chi2=chi2, logrank_p=p,
                )  # fmt: skip
        br = sub[Endpoint.BEST_RESPONSE].dropna().astype(str)
        k = int(br.isin(["CR", "PR"]).sum())
        lo, hi = wilson_interval(k, len(br))
        row.update(orr=k / len(br) if len(br) else np.nan, orr_lower=lo, orr_upper=hi)
        k4, n4 = _rate(sub[Endpoint.GRADE4_NEUTROPENIA])
        row["grade4_neutropenia_rate"] = k4 / n4 if n4 else np.nan
        kc, nc = _rate(sub[Endpoint.INFECTION_CLEARED])
        row["infection_not_cleared_rate"] = (nc - kc) / nc if nc else np.nan
        ratio = sub[Endpoint.CD8_MEMORY_RATIO].dropna()
        row["cd8_memory_ratio_median"] = float(ratio.median()) if len(ratio) else np.nan
        row.update(_survival(sub, arm))
        for key, col in (
            ("early_death_rate", Endpoint.EARLY_DEATH),
            ("febrile_neutropenia_rate", Endpoint.FEBRILE_NEUTROPENIA),
        ):
            k_, n_ = _rate(sub[col]) if col in sub.columns else (0, 0)
            lo, hi = wilson_interval(k_, n_) if n_ else (np.nan, np.nan)
            row.update({key: k_ / n_ if n_ else np.nan, f"{key}_lower": lo, f"{key}_upper": hi})
        rows.append(row)
    return TrialAnalysis(control, pd.DataFrame(rows), curves)


def _survival(sub: pd.DataFrame, arm: str) -> dict[str, Any]:
    """Overall survival of one arm: deaths, KM median with CI, the 1-year rate with CI."""
    out: dict[str, Any] = dict(
        n_deaths=0, median_os_reached=False, median_os_days=np.nan, median_os_lower=np.nan,
        median_os_upper=np.nan, os_1y=np.nan, os_1y_lower=np.nan, os_1y_upper=np.nan,
    )  # fmt: skip
    if Endpoint.OS_DAYS not in sub.columns or Endpoint.OS_EVENT not in sub.columns:
        return out
    surv = sub.dropna(subset=[Endpoint.OS_DAYS, Endpoint.OS_EVENT])
    if not len(surv):
        return out
    d = surv[Endpoint.OS_DAYS].to_numpy(dtype=float)
    e = surv[Endpoint.OS_EVENT].to_numpy(dtype=bool)
    km = kaplan_meier(d, e, arm)
    out.update(
        n_deaths=int(e.sum()),
        median_os_reached=bool(np.isfinite(km.median)),
        median_os_days=km.median,
        median_os_lower=km.median_lower,
        median_os_upper=km.median_upper,
    )
    if float(d.max()) >= OS_LANDMARK_DAYS:
        # KM survival at the landmark: the last step at or before it.
        t = km.table
        j = int(np.searchsorted(t["time"].to_numpy(), OS_LANDMARK_DAYS, side="right")) - 1
        out.update(
            os_1y=float(t["survival"].iloc[j]),
            os_1y_lower=float(t["lower"].iloc[j]),
            os_1y_upper=float(t["upper"].iloc[j]),
        )
    return out


def analyse_store(store: TrialStore, arms: list[str] | None = None) -> TrialAnalysis:
    """:func:`analyse` on a trial directory, reading only the columns it needs."""
    ep = store.endpoints(ANALYSIS_COLUMNS)
    return analyse(ep, arms or list(store.read_manifest()["arms"]))
