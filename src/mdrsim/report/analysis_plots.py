"""Figures of the analyses (:mod:`mdrsim.analysis`): scan lines and heat maps, tornado plots of
sensitivities, trade-off frontiers. matplotlib, Agg backend (no display)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm, Normalize

from mdrsim.analysis.frontier import FrontierResult
from mdrsim.analysis.scan import ScanResult
from mdrsim.analysis.sensitivity import GlobalResult

__all__ = [
    "file_stem",
    "plot_frontier",
    "plot_scan",
    "plot_tornado_global",
    "plot_tornado_local",
]

LABELS = {
    "best_change_pct": "best change in tumour size (%)",
    "pfs_days": "progression-free survival (d)",
    "anc_nadir": "ANC nadir (10⁹/L)",
    "cd8_memory_ratio": "CD8 memory / untreated",
    "tumour_end_1e9": "tumour at horizon (10⁹ cells)",
}


def file_stem(name: str) -> str:
    """A safe file-name part for an output or factor name (``max(y)`` → ``max_y``)."""
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_") or "output"


def _label(name: str) -> str:
    base, sep, contrast = name.partition(":")
    if sep:  # a contrast (reference − treated) of an output
        return f"{LABELS.get(base, base)}:\n{contrast.replace('_', ' ')} (without − with)"
    return LABELS.get(name, name)


def plot_scan(result: ScanResult, output: str, path: str | Path) -> Path:
    """A line plot (one factor) or a heat map (two factors) of one output; failed points are
    shown as gaps (lines) or hatched cells (maps), never as values."""
    table = result.table
    grids = result.grids
    fig, ax = plt.subplots(figsize=(5.6, 4.0))
    if len(grids) == 1:
        x = table[grids[0].name].to_numpy(dtype=float)
        y = table[output].to_numpy(dtype=float)
        ax.plot(x, y, "o-", color="#1f5fa8", lw=1.6, ms=4)
        ax.set_xlabel(grids[0].name)
        ax.set_ylabel(_label(output))
        if _log_spaced(grids[0].values):
            ax.set_xscale("log")
    else:
        gx, gy = grids
        z = table[output].to_numpy(dtype=float).reshape(len(gx.values), len(gy.values))
        mesh = ax.pcolormesh(
            _edges(gy.values), _edges(gx.values), np.ma.masked_invalid(z), cmap="viridis"
        )
        if np.any(~np.isfinite(z)):
            ax.set_facecolor("#dddddd")
        fig.colorbar(mesh, ax=ax, label=_label(output))
        ax.set_xlabel(gy.name)
        ax.set_ylabel(gx.name)
    failed = result.n_failed
    ax.set_title(_label(output) + (f" ({failed} runs failed)" if failed else ""), fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def _log_spaced(values: Sequence[float]) -> bool:
    v = np.asarray(values, dtype=float)
    if len(v) < 3 or np.any(v <= 0):
        return False
    r = v[1:] / v[:-1]
    return bool(np.allclose(r, r[0], rtol=0.1) and r[0] > 1.5)


def _edges(values: Sequence[float]) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    if len(v) == 1:
        return np.array([v[0] - 0.5, v[0] + 0.5])
    mid = (v[1:] + v[:-1]) / 2
    return np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])


def plot_tornado_local(table: pd.DataFrame, path: str | Path, *, top: int = 15) -> Path:
    """One panel per output: the normalised local coefficients, largest magnitude on top."""
    outputs = list(dict.fromkeys(table["output"]))
    fig, axes = plt.subplots(
        1, len(outputs), figsize=(4.6 * len(outputs), 0.35 * min(top, _n(table)) + 1.6),
        squeeze=False,
    )  # fmt: skip
    for ax, out in zip(axes[0], outputs, strict=True):
        rows = table[table["output"] == out].copy()
        rows["mag"] = rows["coefficient"].abs()
        rows = rows.sort_values("mag", ascending=True).tail(top)
        colors = ["#b2182b" if c < 0 else "#2166ac" for c in rows["coefficient"]]
        ax.barh(rows["factor"], rows["coefficient"], color=colors)
        ax.axvline(0, color="k", lw=0.8)
        ax.set_title(_label(out), fontsize=10)
        ax.set_xlabel("d ln y / d ln p")
    fig.tight_layout()
    return _save(fig, path)


def plot_tornado_global(result: GlobalResult, path: str | Path, *, top: int = 15) -> Path:
    """One panel per output. Sobol: total-order (bar) and first-order (dark) indices with
    their confidence intervals; Morris: mu* with its interval and sigma."""
    idx = result.indices
    outputs = list(dict.fromkeys(idx["output"]))
    fig, axes = plt.subplots(
        1, len(outputs), figsize=(4.6 * len(outputs), 0.35 * min(top, _n(idx)) + 1.6),
        squeeze=False, sharey=False,
    )  # fmt: skip
    for ax, out in zip(axes[0], outputs, strict=True):
        rows = idx[idx["output"] == out]
        key = "ST" if result.method == "sobol" else "mu_star"
        rows = rows.sort_values(key, ascending=True).tail(top)
        y = np.arange(len(rows))
        if result.method == "sobol":
            ax.barh(y, rows["ST"], xerr=rows["ST_conf"], color="#9ecae1", label="total (ST)")
            ax.barh(
                y, rows["S1"], xerr=rows["S1_conf"], color="#08519c", height=0.4,
                label="first order (S1)",
            )  # fmt: skip
            ax.set_xlabel("Sobol index")
            ax.set_xlim(left=min(0.0, float(rows["S1"].min()) - 0.05))
        else:
            ax.barh(y, rows["mu_star"], xerr=rows["mu_star_conf"], color="#9ecae1", label="mu*")
            ax.plot(rows["sigma"], y, "kd", ms=4, label="sigma")
            ax.set_xlabel("elementary effect (per range)")
        ax.set_yticks(y, rows["factor"])
        ax.set_title(_label(out), fontsize=10)
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return _save(fig, path)


def _n(table: pd.DataFrame) -> int:
    return int(table["factor"].nunique())


def plot_frontier(result: FrontierResult, path: str | Path) -> Path:
    """One panel per trade-off: every grid point (grey), the Pareto front (line, points
    coloured by the first varied choice), the tumour-control axis reading better to the left."""
    table = result.table
    ok = table[table["status"] == "ok"]
    first = result.grids[0].name
    fig, axes = plt.subplots(
        1, len(result.tradeoffs), figsize=(5.4 * len(result.tradeoffs), 4.2), squeeze=False
    )
    for ax, other in zip(axes[0], result.tradeoffs, strict=True):
        ax.scatter(ok[result.tumour_output], ok[other], s=12, color="#bbbbbb", label="all")
        front = result.front(other)
        ax.plot(front[result.tumour_output], front[other], "-", color="#444444", lw=1)
        values = result.grids[0].values
        norm = (
            LogNorm(min(values), max(values))
            if _log_spaced(values)
            else Normalize(min(values), max(values))
        )  # one colour scale for every panel: the whole grid's
        sc = ax.scatter(
            front[result.tumour_output], front[other], c=front[first], cmap="plasma", s=36,
            zorder=3, label="Pareto front", norm=norm,
        )  # fmt: skip
        fig.colorbar(sc, ax=ax, label=first)
        ax.set_xlabel(_label(result.tumour_output))
        ax.set_ylabel(_label(other))
        ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path)


def _save(fig: plt.Figure, path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, dpi=130)
    plt.close(fig)
    return p
