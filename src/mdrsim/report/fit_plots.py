"""Figures of a fit: waterfall of the starts, data vs fit per observable, likelihood profiles.

matplotlib with the Agg backend (no display). Each function returns Figures; the caller saves
them (PNG) and/or embeds them in the HTML report, then closes them (:func:`close`).
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mdrsim.errors import ReportError

__all__ = [
    "CONDITIONS_SHOWN",
    "PANELS_PER_FIGURE",
    "close",
    "plot_data_vs_fit",
    "plot_profile",
    "plot_waterfall",
]

CONVERGED = "#1f5fa8"
FAILED = "#c51b7d"
#: Observables per data-vs-fit figure (3 × 3 panels); more observables give more figures.
PANELS_PER_FIGURE = 9
#: Conditions drawn per observable panel (the first ones, in table order); the caption says so.
CONDITIONS_SHOWN = 10


def plot_waterfall(starts: pd.DataFrame) -> Figure:
    """Final objective of every start, sorted (a "waterfall"): a plateau of several starts at
    the lowest value is the evidence that the optimum was found. Converged starts are filled
    circles, failed ones crosses; a start whose objective is not finite is drawn on the top
    edge as a triangle.

    With objectives spanning more than three decades above the best one, the axis shows
    ``objective − best + 1`` on a log scale (labelled so)."""
    if starts.empty:
        raise ReportError("the starts table is empty: nothing to plot")
    t = starts.sort_values("objective", kind="stable").reset_index(drop=True)
    f = t["objective"].to_numpy(dtype=float)
    ok = t["status"].to_numpy() == "converged"
    finite = np.isfinite(f)
    fig, ax = plt.subplots(figsize=(6.0, 3.6))
    x = np.arange(1, len(t) + 1)
    ylabel = "final objective (−log-likelihood + priors)"
    y = f.copy()
    if finite.any():
        best = float(np.min(f[finite]))
        span = float(np.max(f[finite]) - best)
        if span > 1e3:
            y = f - best + 1.0
            ax.set_yscale("log")
            ylabel = f"objective − best + 1   (best = {best:.6g})"
    top = float(np.max(y[finite])) if finite.any() else 1.0
    bottom = float(np.min(y[finite])) if finite.any() else 0.0
    # Non-finite objectives sit on their own row above every finite one.
    y_inf = top * 3.0 if ax.get_yscale() == "log" else top + 0.15 * max(top - bottom, 1.0)
    ax.plot(x[finite], y[finite], color="0.75", lw=1.0, zorder=1)
    for mask, marker, colour, label in (
        (ok & finite, "o", CONVERGED, "converged"),
        (~ok & finite, "x", FAILED, "failed"),
    ):
        if mask.any():
            ax.scatter(x[mask], y[mask], marker=marker, color=colour, label=label, zorder=2)
    if (~finite).any():
        ax.scatter(
            x[~finite],
            np.full((~finite).sum(), y_inf),
            marker="^",
            color=FAILED,
            label="failed (objective not finite)",
            zorder=2,
        )
        ax.axhline(y_inf, color=FAILED, lw=0.6, ls=":")
    ax.set_xlabel("start, sorted by final objective")
    ax.set_ylabel(ylabel)
    n_ok = int(ok.sum())
    ax.set_title(f"Waterfall: {n_ok} of {len(t)} starts converged", fontsize=10)
    if len(t) <= 30:
        ax.set_xticks(x)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    fig.tight_layout()
    return fig


def plot_data_vs_fit(points: pd.DataFrame) -> list[Figure]:
    """One panel per observable: measurements (markers) and the fit's simulation at the
    measurement times (line through them), one colour per simulation condition.

    ``points`` has columns ``observableId, simulationConditionId, time, measurement,
    simulation``. Panels show at most :data:`CONDITIONS_SHOWN` conditions; figures at most
    :data:`PANELS_PER_FIGURE` panels."""
    needed = {"observableId", "simulationConditionId", "time", "measurement", "simulation"}
    missing = needed - set(points.columns)
    if missing:
        raise ReportError(f"data vs fit: missing columns {sorted(missing)}")
    if points.empty:
        raise ReportError("data vs fit: no measurements to plot")
    observables = list(dict.fromkeys(points["observableId"]))
    figures = []
    palette = plt.get_cmap("tab10")
    for first in range(0, len(observables), PANELS_PER_FIGURE):
        chunk = observables[first : first + PANELS_PER_FIGURE]
        cols = min(3, len(chunk))
        rows = math.ceil(len(chunk) / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
        for ax, obs in zip(axes.flat, chunk, strict=False):
            sub = points[points["observableId"] == obs]
            conditions = list(dict.fromkeys(sub["simulationConditionId"]))
            for i, cond in enumerate(conditions[:CONDITIONS_SHOWN]):
                c = sub[sub["simulationConditionId"] == cond].sort_values("time")
                colour = palette(i % 10)
                ax.scatter(c["time"], c["measurement"], s=14, color=colour, label=str(cond))
                sim = c.groupby("time", sort=True)["simulation"].mean()
                ax.plot(sim.index, sim.to_numpy(), color=colour, lw=1.4)
            extra = len(conditions) - CONDITIONS_SHOWN
            title = str(obs) + (
                f"  (first {CONDITIONS_SHOWN} of {len(conditions)})" if extra > 0 else ""
            )
            ax.set_title(title, fontsize=9)
            ax.set_xlabel("time", fontsize=8)
            ax.set_ylabel("measured (dots), fitted (line)", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
            if 1 < len(conditions) <= 6:
                ax.legend(fontsize=6, frameon=False)
        for ax in list(axes.flat)[len(chunk) :]:
            ax.axis("off")
        fig.tight_layout()
        figures.append(fig)
    return figures


def plot_profile(
    table: pd.DataFrame,
    *,
    parameter: str,
    threshold: float,
    ci: tuple[float, float],
    level: float,
    scale: str,
) -> Figure:
    """Profile likelihood: objective − optimum at each profile point (other parameters
    re-optimised), the threshold ``chi2(level, 1)/2`` and the interval where they cross.
    Points whose re-optimisation did not converge are crosses and do not define the
    interval."""
    if table.empty:
        raise ReportError(f"profile of {parameter!r}: no points to plot")
    fig, ax = plt.subplots(figsize=(5.0, 3.6))
    ok = table["status"].isin(["converged", "optimum"]).to_numpy()
    v = table["value"].to_numpy(dtype=float)
    d = table["delta"].to_numpy(dtype=float)
    ax.plot(v[ok], d[ok], "o-", color=CONVERGED, ms=3, lw=1.2, label="re-optimised")
    bad = ~ok & np.isfinite(d)
    if bad.any():
        ax.scatter(v[bad], d[bad], marker="x", color=FAILED, label="not converged")
    ax.axhline(threshold, color="0.4", lw=0.9, ls="--", label=f"{level:.0%} threshold")
    for bound in ci:
        if math.isfinite(bound):
            ax.axvline(bound, color="#b2182b", lw=1.0, ls=":")
    lo, hi = ci
    text = (
        f"CI [{lo:.4g}, {hi:.4g}]".replace("inf", "∞")
        if math.isfinite(lo) or math.isfinite(hi)
        else "CI open on both sides"
    )
    ax.set_title(f"Profile of {parameter} ({text})", fontsize=9)
    ax.set_xlabel(f"{parameter} ({scale} scale)" if scale != "lin" else parameter, fontsize=9)
    ax.set_ylabel("objective − optimum", fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def close(fig: Figure) -> None:
    plt.close(fig)
