"""Publication-style figures of simulation results (matplotlib, Agg backend: no display)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from mdrsim.engine.result import Result


def _wants_log(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values) & (values > 0)]
    if finite.size < 2 or np.any(values[np.isfinite(values)] < 0):
        return False
    return bool(finite.max() / max(finite.min(), 1e-300) > 1e3)


def plot_trajectories(
    result: Result,
    path: str | Path,
    *,
    patient: int = 0,
    variables: Sequence[str] | None = None,
    time_unit: str = "d",
    title: str | None = None,
    units: dict[str, str] | None = None,
) -> Path:
    """One panel per variable (log scale where values span > 3 decades); saved as PNG."""
    names = list(variables) if variables is not None else result.variable_names
    n = max(len(names), 1)
    cols = min(3, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.0 * cols, 2.8 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        v = result.values(name)[patient]
        ax.plot(result.times, v, lw=1.6, color="#1f5fa8")
        if _wants_log(v):
            ax.set_yscale("log")
        unit = (units or {}).get(name, "")
        ax.set_title(
            f"{name}" + (f" [{unit}]" if unit and unit != "dimensionless" else ""), fontsize=10
        )
        ax.set_xlabel(f"time ({time_unit})", fontsize=9)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    fig.suptitle(
        title or f"{result.provenance.get('model', 'model')} — patient {patient}", fontsize=11
    )
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=150)
    plt.close(fig)
    return out


def plot_dose_response(report: Any, path: str | Path) -> Path:
    """Survival vs concentration (log axis) with the IC50 marked."""
    fig, ax = plt.subplots(figsize=(5.0, 3.6))
    ax.semilogx(report.curve.concentrations, report.curve.survival, lw=1.8, color="#1f5fa8")
    ax.axhline(0.5, color="0.6", lw=0.8, ls="--")
    ax.axvline(report.ic50_uM, color="#b2182b", lw=1.0, ls=":")
    label = f"IC50 {report.ic50_uM:.3g} µM (fold {report.fold_resistance:.3g})"
    if report.inhibitor:
        label += f", + {report.inhibitor} {report.inhibitor_uM:.3g} µM"
    title = f"{report.drug} on {report.cell_line}"
    if getattr(report, "user_supplied", None):
        title += " (P-gp density user-supplied)"
    ax.set_title(title, fontsize=10)
    ax.text(0.02, 0.05, label, transform=ax.transAxes, fontsize=8)
    ax.set_xlabel("drug in medium (µM)")
    ax.set_ylabel("survival (fraction of control)")
    ax.set_ylim(-0.02, 1.05)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=150)
    plt.close(fig)
    return out


def plot_accumulation(
    hours: np.ndarray,
    conc: np.ndarray,
    path: str | Path,
    *,
    title: str,
    efflux_from_h: float | None,
) -> Path:
    """Intracellular drug during uptake (and efflux after ``efflux_from_h``)."""
    fig, ax = plt.subplots(figsize=(5.0, 3.6))
    ax.plot(hours, conc, lw=1.8, color="#1f5fa8")
    if efflux_from_h is not None:
        ax.axvline(efflux_from_h, color="0.6", lw=0.8, ls="--")
        ax.text(efflux_from_h, ax.get_ylim()[1] * 0.95, " efflux", fontsize=8, va="top")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("time (h)")
    ax.set_ylabel("intracellular drug (µM)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=150)
    plt.close(fig)
    return out


def plot_mouse_study(study: Any, path: str | Path) -> Path:
    """Antigen-specific CD8 T cells (log scale) per group, and the pathogen loads."""
    r = study.result
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10.0, 3.8))
    colours = ["#1f5fa8", "#b2182b", "#e08214", "#4d9221", "#7b3294", "#636363"]
    for i, g in enumerate(study.groups):
        c = colours[i % len(colours)]
        ax1.semilogy(
            r.times, np.maximum(r["cd8_antigen_experienced"][i], 1.0), color=c, lw=1.6, label=g.name
        )
        ax2.semilogy(r.times, np.maximum(r["virus"][i], 1e-2), color=c, lw=1.2)
        ax2.semilogy(r.times, np.maximum(r["bacteria"][i], 1e-2), color=c, lw=1.2, ls="--")
    ax1.set_xlabel("day after infection")
    ax1.set_ylabel("antigen-specific CD8 T cells")
    ax1.set_title("CD8 response (challenge on day 60)", fontsize=10)
    ax1.legend(fontsize=7)
    ax2.set_xlabel("day")
    ax2.set_ylabel("pathogen load")
    ax2.set_title("virus (solid), bacteria after challenge (dashed)", fontsize=10)
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=150)
    plt.close(fig)
    return out
