"""Trial figures: Kaplan–Meier curves with bands, waterfall of best response, swimmer plot.

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

from mdrsim.trial.analysis import KMCurve

#: RECIST colours (conventional in waterfall plots: responses cool, progression warm).
RESPONSE_COLOURS = {"CR": "#1b7837", "PR": "#5aae61", "SD": "#bdbdbd", "PD": "#c51b7d"}


def plot_km(curves: Mapping[str, KMCurve], *, title: str = "Progression-free survival") -> Figure:
    """Kaplan–Meier step curves per arm with 95 % pointwise bands and medians in the legend."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for arm, km in curves.items():
        t = km.table
        med = "not reached" if not np.isfinite(km.median) else f"{km.median:.0f} d"
        (line,) = ax.step(t["time"], t["survival"], where="post", label=f"{arm} (median {med})")
        ax.fill_between(
            t["time"], t["lower"], t["upper"], step="post", alpha=0.2, color=line.get_color()
        )
    ax.set_xlabel("days")
    ax.set_ylabel("progression-free (fraction)")
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.legend(loc="best", frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_waterfall(endpoints: pd.DataFrame, arms: Sequence[str]) -> Figure:
    """Best % change of the sum of diameters per patient, sorted, one panel per arm."""
    fig, axes = plt.subplots(1, len(arms), figsize=(4.5 * len(arms), 4), sharey=True, squeeze=False)
    for ax, arm in zip(axes[0], arms, strict=True):
        sub = endpoints[(endpoints["arm"] == arm) & (endpoints["status"] == "ok")]
        sub = sub.dropna(subset=["best_change_pct"]).sort_values("best_change_pct", ascending=False)
        colours = [RESPONSE_COLOURS.get(str(r), "#777777") for r in sub["best_response"]]
        ax.bar(np.arange(len(sub)), sub["best_change_pct"].astype(float), width=1.0, color=colours)
        ax.axhline(20, ls="--", lw=0.8, color="#c51b7d")
        ax.axhline(-30, ls="--", lw=0.8, color="#1b7837")
        ax.set_title(arm)
        ax.set_xlabel("patients (sorted)")
        ax.set_xticks([])
    axes[0][0].set_ylabel("best change of sum of diameters (%)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in RESPONSE_COLOURS.values()]
    fig.legend(handles, list(RESPONSE_COLOURS), loc="upper right", frameon=False, ncol=4)
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
        ax.set_xlabel("days")
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
