"""Trial figures: Kaplan–Meier curves (lifelines) with numbers at risk, waterfall of best
response, swimmer plot.

matplotlib with the Agg backend (no display). Each function returns the Figure; the caller
saves it (PNG) and/or embeds it in the HTML report, then closes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.figure import Figure

#: RECIST colours (conventional in waterfall plots: responses cool, progression warm).
RESPONSE_COLOURS = {"CR": "#1b7837", "PR": "#5aae61", "SD": "#bdbdbd", "PD": "#c51b7d"}


def _fmt_p(p: float | None) -> str:
    if p is None or not np.isfinite(p):
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def plot_km(
    endpoints: pd.DataFrame,
    arms: Sequence[str],
    *,
    stats: Sequence[Mapping[str, object]] = (),
    title: str = "Progression-free survival",
    time_unit: str = "days",
) -> Figure:
    """Kaplan–Meier curves per arm, drawn by lifelines: 95 % pointwise bands, censoring marks
    (+), dotted median lines, the numbers at risk under the axis (lifelines'
    ``add_at_risk_counts``), and in the legend each arm's median and its hazard ratio with
    95 % CI and log-rank p against the control (from ``stats``: the rows of summary.json's
    ``arms``). ``endpoints`` needs the columns arm, status, pfs_days and pfs_event; failed
    patients are left out, as in the statistics."""
    from lifelines import KaplanMeierFitter
    from lifelines.plotting import add_at_risk_counts

    by_arm = {str(r["arm"]): r for r in stats}
    fig = Figure(figsize=(7.5, 5.6))
    ax = fig.add_axes((0.16, 0.3, 0.8, 0.62))
    fitters = []
    ok = endpoints[endpoints["status"] == "ok"].dropna(subset=["pfs_days"])
    for i, arm in enumerate(arms):
        sub = ok[ok["arm"] == arm]
        if sub.empty:
            continue
        r = by_arm.get(arm, {})
        kmf = KaplanMeierFitter()
        kmf.fit(
            sub["pfs_days"].to_numpy(dtype=float),
            event_observed=sub["pfs_event"].to_numpy(dtype=bool),
            label=arm,
        )
        med = float(kmf.median_survival_time_)
        label = f"{arm}: median {med:.0f} d" if np.isfinite(med) else f"{arm}: median not reached"
        hr = r.get("hr_vs_control")
        if i > 0 and isinstance(hr, float):
            label += (
                f"\nHR {hr:.2f} [{_num(r.get('hr_lower'))}, {_num(r.get('hr_upper'))}],"
                f" log-rank p {_fmt_p(r.get('logrank_p'))}"  # type: ignore[arg-type]
            )
        elif i == 0:
            label += " (control)"
        kmf.plot_survival_function(
            ax=ax,
            ci_show=True,
            ci_alpha=0.15,
            show_censors=True,
            censor_styles={"ms": 5, "marker": "+"},
            label=label,
            lw=1.8,
            ls=["-", "--", "-.", ":"][i % 4],
        )
        colour = ax.get_lines()[-1].get_color()
        if np.isfinite(med):
            ax.plot([0, med, med], [0.5, 0.5, 0.0], ls=":", lw=0.9, color=colour)
        fitters.append(kmf)
    ax.set_xlabel(f"time since start of treatment ({time_unit})")
    ax.set_ylabel("progression-free (fraction)")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.set_title(title, loc="left")
    ax.legend(loc="lower left", frameon=True, framealpha=0.9, fontsize=8)
    ax.grid(alpha=0.3)
    if fitters:
        add_at_risk_counts(*fitters, ax=ax, rows_to_show=["At risk"], fig=fig)
    return fig


def _num(v: object) -> str:
    return f"{v:.2f}" if isinstance(v, float) and np.isfinite(v) else "—"


def plot_waterfall(endpoints: pd.DataFrame, arms: Sequence[str]) -> Figure:
    """Best % change of the sum of diameters per patient (after baseline: the baseline scan
    itself is not a response), sorted, one panel per arm, with the RECIST 1.1 thresholds:
    −30 % (partial response) and +20 % (progression)."""
    fig, axes = plt.subplots(1, len(arms), figsize=(4.5 * len(arms), 4), sharey=True, squeeze=False)
    for ax, arm in zip(axes[0], arms, strict=True):
        sub = endpoints[(endpoints["arm"] == arm) & (endpoints["status"] == "ok")]
        sub = sub.dropna(subset=["best_change_pct"]).sort_values("best_change_pct", ascending=False)
        colours = [RESPONSE_COLOURS.get(str(r), "#777777") for r in sub["best_response"]]
        ax.bar(np.arange(len(sub)), sub["best_change_pct"].astype(float), width=1.0, color=colours)
        ax.axhline(20, ls="--", lw=0.9, color="#c51b7d")
        ax.axhline(-30, ls="--", lw=0.9, color="#1b7837")
        ax.axhline(0, lw=0.6, color="0.3")
        ax.set_title(f"{arm} (n = {len(sub)})")
        ax.set_xlabel("patients (sorted by best change)")
        ax.set_xticks([])
    axes[0][0].set_ylabel("best change from baseline,\nsum of diameters (%)")
    handles: list[Artist] = [
        plt.Rectangle((0, 0), 1, 1, color=c) for c in RESPONSE_COLOURS.values()
    ]
    handles += [
        plt.Line2D([], [], ls="--", color="#1b7837"),
        plt.Line2D([], [], ls="--", color="#c51b7d"),
    ]
    labels = [*RESPONSE_COLOURS, "−30 % (PR threshold)", "+20 % (PD threshold)"]
    fig.legend(handles, labels, loc="upper right", frameon=False, ncol=6, fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    return fig


def plot_swimmer(endpoints: pd.DataFrame, arms: Sequence[str], *, first: int = 30) -> Figure:
    """One bar per patient (the first ``first`` of each arm) to progression or censoring;
    ▼ marks progression, | marks the end of line 1 when the simulator reports it, colour is
    the best response."""
    fig, axes = plt.subplots(
        1, len(arms), figsize=(4.5 * len(arms), 0.18 * first + 1.5), sharex=True, squeeze=False
    )
    for ax, arm in zip(axes[0], arms, strict=True):
        sub = endpoints[endpoints["arm"] == arm].sort_values("patient").head(first)
        for y, (_, r) in enumerate(sub.iterrows()):
            if r["status"] != "ok" or pd.isna(r["pfs_days"]):
                ax.text(0, y, " failed", va="center", fontsize=7, color="#b2182b")
                continue
            colour = RESPONSE_COLOURS.get(str(r["best_response"]), "#777777")
            ax.barh(y, float(r["pfs_days"]), height=0.7, color=colour)
            if bool(r["pfs_event"]):
                ax.plot(float(r["pfs_days"]), y, marker="v", color="black", ms=4)
            ttf = r.get("ttf_line1_days")
            if ttf is not None and not pd.isna(ttf):
                ax.plot(float(ttf), y, marker="|", color="black", ms=8)
        ax.set_yticks(range(len(sub)))
        ax.set_yticklabels([str(p) for p in sub["patient"]], fontsize=6)
        ax.invert_yaxis()
        ax.set_title(arm)
        ax.set_xlabel("time since start of treatment (days)")
    axes[0][0].set_ylabel("patient")
    handles: list[Artist] = [
        plt.Rectangle((0, 0), 1, 1, color=c) for c in RESPONSE_COLOURS.values()
    ]
    handles.append(plt.Line2D([], [], marker="v", color="black", ls="none"))
    fig.legend(
        handles, [*RESPONSE_COLOURS, "progression"], loc="upper right", frameon=False, ncol=5
    )
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


def close(fig: Figure) -> None:
    plt.close(fig)
