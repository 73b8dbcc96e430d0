"""Figure of a virtual population fitted to a published trial arm: the simulated Kaplan–Meier
curves of the best fit with the published points (fitted and check) and their 95 % binomial
intervals at the published arm size.

matplotlib with the Agg backend (no display); the caller saves and closes the figure.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from mdrsim.fit.vpop import DAYS_PER_MONTH, PopulationFit, km_at

__all__ = ["plot_population_fit"]

_COLOURS = {"pfs": "#1f5fa8", "os": "#b2182b"}
_LABELS = {"pfs": "progression-free survival", "os": "overall survival"}


def plot_population_fit(fit: PopulationFit) -> Figure:
    """KM curves (months) of the fitted arm with the published points beside them."""
    ep = fit.best_endpoints
    spec = fit.spec
    endpoints = sorted(
        {t.endpoint for t in [*spec.survival, *spec.check_survival]}, key=["pfs", "os"].index
    )
    fig, ax = plt.subplots(figsize=(7.5, 4.8), constrained_layout=True)
    horizon = float(ep["os_days"].max()) if len(ep) else 365.0
    grid = np.linspace(0.0, horizon, 400)
    for name in endpoints:
        d = ep[f"{name}_days"].to_numpy(float)
        e = ep[f"{name}_event"].to_numpy(bool)
        surv = [km_at(d, e, t) for t in grid]
        ax.step(
            grid / DAYS_PER_MONTH,
            surv,
            where="post",
            color=_COLOURS[name],
            label=f"{_LABELS[name]}, simulated ({len(ep)} patients)",
        )
    for kind, targets, marker in (
        ("fitted", spec.survival, "o"),
        ("check (not fitted)", spec.check_survival, "s"),
    ):
        for st in targets:
            for t, s in st.points:
                half = 1.959964 * np.sqrt(s * (1 - s) / st.n)
                ax.errorbar(
                    st.days(t) / DAYS_PER_MONTH,
                    s,
                    yerr=half,
                    fmt=marker,
                    mfc="white" if kind != "fitted" else _COLOURS[st.endpoint],
                    color=_COLOURS[st.endpoint],
                    capsize=4,
                    ms=7,
                    label=f"published {st.endpoint.upper()}, {kind} (95 % CI, n={st.n})",
                )
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    ax.legend(unique.values(), unique.keys(), fontsize=8, loc="upper right")
    ax.set_xlabel("time since start of treatment (months)")
    ax.set_ylabel("fraction of patients without the event")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, horizon / DAYS_PER_MONTH)
    free = ", ".join(
        f"{p.split('.')[2]} {p.split('.')[3]} = {v:.3g}" for p, v in fit.free_values.items()
    )
    ax.set_title(
        f"{spec.arm}: fitted population, chi-square {fit.objective:.2f}\n{free}", fontsize=9
    )
    ax.grid(alpha=0.3)
    return fig
