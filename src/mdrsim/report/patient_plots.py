"""Figures for one simulated patient, from a tidy trajectory table.

Every function takes ``traj`` with columns ``time`` (days), ``variable`` and ``value`` (one
patient) and returns a matplotlib ``Figure``, or ``None`` when none of the variables it draws
is present: a scenario without infections simply has no infection figure. The caller saves
the figure (``fig.savefig(path, dpi=300)``) or hands it to :mod:`mdrsim.report.html`.

Figures are built with ``matplotlib.figure.Figure`` directly, not ``pyplot``: they are not
registered with a global figure manager, so a report with dozens of figures neither leaks
memory nor needs ``plt.close``, and nothing depends on an interactive backend.

Rows keep their order within a variable (a stable sort on time): a dose or a treatment switch
is stored as two rows at the same time, and re-ordering them would draw a spurious zig-zag.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mdrsim.errors import ReportError

__all__ = [
    "ANC_GRADE3",
    "ANC_GRADE4",
    "plot_anc",
    "plot_cd8",
    "plot_compare",
    "plot_drug_levels",
    "plot_infection",
    "plot_tumour_by_clone",
]

#: CTCAE v5 neutrophil count decreased: grade 3 below 1.0, grade 4 below 0.5 (×10⁹/L).
ANC_GRADE3 = 1.0
ANC_GRADE4 = 0.5

_WIDTH = 6.5  # inches: one journal column-and-a-half; fonts stay legible at 300 dpi
_PANEL_HEIGHT = 2.9

_PLASMA = re.compile(r"^(?P<drug>.+)_plasma_uM$")
_INTRA = re.compile(r"^(?P<drug>.+?)_intracellular_(?P<level>.+)_uM$")

# One colour per clone, the same in every figure (tumour and drug panels side by side).
_CLONE_COLOURS = {
    "parental": "#1f5fa8",
    "mdr1_low": "#e08214",
    "mdr1_high": "#b2182b",
}
_CYCLE = ["#4d9221", "#762a83", "#01665e", "#8c510a", "#c51b7d", "#35978f", "#7f7f7f"]

# Scenarios are compared with a qualitative palette distinct from the clone colours.
_CYCLE_COMPARE = ["#1f5fa8", "#b2182b", "#4d9221", "#e08214", "#762a83", "#01665e", "#000000"]

# Distinct line styles, so scenarios stay apart in greyscale print and for colour-blind readers.
_STYLES_COMPARE = ["-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 1))]

#: Readable titles for the variables of a comparison (the raw ids are for code).
_TITLES = {
    "tumour_total": "Total tumour burden",
    "mdr1_high_fraction": "MDR1-high fraction of the tumour",
    "E_cd8": "Effector CD8 T cells",
    "M_cd8": "Memory CD8 T cells",
    "N_cd8": "Naive CD8 T cells",
    "A_cd8": "Activated CD8 T cells",
    "ANC": "Absolute neutrophil count",
}

_CD8 = {
    "N_cd8": ("naive", "#7f7f7f"),
    "A_cd8": ("activated", "#e08214"),
    "E_cd8": ("effector", "#b2182b"),
    "M_cd8": ("memory", "#1f5fa8"),
}

_UNITS = {
    "tumour_total": "tumour cells (×10⁹)",
    "mdr1_high_fraction": "MDR1-high fraction",
    "ANC": "ANC (×10⁹/L)",
    "mdr1_function_cd8": "CD8 MDR1 function (0–1)",
}


def _check(traj: pd.DataFrame) -> None:
    missing = {"time", "variable", "value"} - set(traj.columns)
    if missing:
        raise ReportError(
            f"trajectory table lacks column(s) {sorted(missing)}; "
            "a tidy table needs the columns time, variable and value"
        )


def _variables(traj: pd.DataFrame) -> list[str]:
    return [str(v) for v in pd.unique(traj["variable"])]


def _series(traj: pd.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Time and value of one variable, or None when absent or without a finite value."""
    rows = traj.loc[traj["variable"] == name, ["time", "value"]]
    if rows.empty:
        return None
    rows = rows.sort_values("time", kind="stable")
    t = rows["time"].to_numpy(dtype=float)
    v = rows["value"].to_numpy(dtype=float)
    if not np.isfinite(v).any():
        return None
    return t, v


def _wants_log(values: Sequence[np.ndarray]) -> bool:
    """Log scale when the positive values span more than three decades and none is < 0."""
    v = np.concatenate([np.asarray(a, dtype=float) for a in values]) if values else np.array([])
    v = v[np.isfinite(v)]
    pos = v[v > 0]
    if pos.size < 2 or np.any(v < 0):
        return False
    return bool(pos.max() / pos.min() > 1e3)


def _log_floor(ax: Axes, values: Sequence[np.ndarray], decades: float = 6.0) -> None:
    """Log axes: show at most `decades` below the maximum, so an eradicated clone at 1e-30
    or a washed-out drug does not squash everything else into the top of the panel."""
    v = np.concatenate([np.asarray(a, dtype=float) for a in values])
    pos = v[np.isfinite(v) & (v > 0)]
    if pos.size:
        top = pos.max()
        ax.set_ylim(max(pos.min(), top * 10.0**-decades) / 2.0, top * 2.0)


def _safe_label(text: str) -> str:
    """Legend text from user data: `$` would start mathtext and a leading `_` hides the
    entry from the legend."""
    text = text.replace("$", r"\$")
    return "\u200b" + text if text.startswith("_") else text


def _clone_colour(level: str, order: list[str]) -> str:
    key = level.removesuffix("_trait")
    if key in _CLONE_COLOURS:
        return _CLONE_COLOURS[key]
    return _CYCLE[order.index(level) % len(_CYCLE)] if level in order else _CYCLE[0]


def _clone_label(level: str) -> str:
    return level.replace("_", " ").replace("mdr1", "MDR1")


def _finish(ax: Axes, *, xlabel: bool = True) -> None:
    if xlabel:
        ax.set_xlabel("time (days)")
    ax.grid(alpha=0.3, which="major")
    ax.tick_params(labelsize=9)


def _new_figure(
    rows: int, *, height: float | None = None, legend_room: float = 1.55
) -> tuple[Figure, list[Axes]]:
    """Fixed margins (in inches) instead of a layout engine: constrained layout measured every
    tick label of every figure and took most of the drawing time of ``mdrsim run`` (issue 13).
    `legend_room` is the width kept on the right for a legend outside the axes."""
    h = height or _PANEL_HEIGHT * rows
    fig = Figure(figsize=(_WIDTH, h))
    fig.subplots_adjust(
        left=0.85 / _WIDTH,
        right=1.0 - legend_room / _WIDTH,
        bottom=0.5 / h,
        top=1.0 - 0.35 / h,  # room for a panel title
        hspace=0.08,
    )
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)
    return fig, list(axes[:, 0])


def _mark_lines(ax: Axes, lines: Sequence[Mapping[str, Any]], t_end: float, *, label: bool) -> None:
    """Shade each treatment line from its start to its end (``end_day``: the line stopped at
    progression, or after its last cycle; else the next line's start or the end of the run),
    and draw a dashed vertical line at each progression."""
    ordered = sorted(lines, key=lambda d: float(d["start_day"]))
    shades = ["#000000", "#7f7f7f"]
    progression_labelled = False
    for i, line in enumerate(ordered):
        start = float(line["start_day"])
        stop = float(ordered[i + 1]["start_day"]) if i + 1 < len(ordered) else t_end
        end = line.get("end_day")
        if end is not None and np.isfinite(float(end)):
            stop = min(stop, float(end))
        ax.axvspan(start, max(stop, start), color=shades[i % 2], alpha=0.06, lw=0)
        ax.axvline(start, color="0.35", lw=0.8, ls=":")
        if label:
            ax.annotate(
                _safe_label(str(line.get("name", f"line {i + 1}"))),
                xy=(start, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(3, -3),
                textcoords="offset points",
                va="top",
                ha="left",
                fontsize=8,
                color="0.25",
            )
        pd_day = line.get("progression_day")
        if pd_day is not None and np.isfinite(float(pd_day)):
            ax.axvline(
                float(pd_day),
                color="#b2182b",
                lw=1.2,
                ls="--",
                label=None if progression_labelled or not label else "progression",
            )
            progression_labelled = True


def plot_tumour_by_clone(
    traj: pd.DataFrame, lines: Sequence[Mapping[str, Any]] | None = None
) -> Figure | None:
    """Tumour cells per clone and in total (log scale: clones differ by decades), with the
    treatment lines shaded and progressions marked; a second panel shows the MDR1-high
    fraction when present, on its own log axis (fractions of 10⁻³–10⁻¹ are flat on 0–1)."""
    _check(traj)
    clones = [v for v in _variables(traj) if v.startswith("T_")]
    series = {c: s for c in clones if (s := _series(traj, c)) is not None}
    total = _series(traj, "tumour_total")
    fraction = _series(traj, "mdr1_high_fraction")
    if not series and total is None and fraction is None:
        return None
    has_cells = bool(series) or total is not None
    rows = int(has_cells) + int(fraction is not None)
    fig, axes = _new_figure(rows, height=_PANEL_HEIGHT * 1.25 if rows == 1 else 5.6)
    t_end = float(traj["time"].max())
    ax_iter = iter(axes)
    if has_cells:
        ax = next(ax_iter)
        levels = [c.removeprefix("T_") for c in series]
        drawn = []
        for clone, (t, v) in series.items():
            level = clone.removeprefix("T_")
            ax.plot(t, v, lw=1.6, color=_clone_colour(level, levels), label=_clone_label(level))
            drawn.append(v)
        if total is not None:
            ax.plot(total[0], total[1], lw=2.2, color="black", label="total")
            drawn.append(total[1])
        ax.set_yscale("log")
        _log_floor(ax, drawn)
        ax.set_ylabel("tumour cells (×10⁹)")
        if lines:
            _mark_lines(ax, lines, t_end, label=True)
        ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        _finish(ax, xlabel=fraction is None)
    if fraction is not None:
        ax = next(ax_iter)
        ax.plot(fraction[0], fraction[1], lw=1.6, color=_CLONE_COLOURS["mdr1_high"])
        if (fraction[1] > 0).any():
            ax.set_yscale("log")
            _log_floor(ax, [fraction[1]], decades=4.0)
            top = ax.get_ylim()[1]
            if top > 1.0:
                ax.set_ylim(top=1.0)
        else:
            ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel("MDR1-high fraction\n(of tumour cells, log)")
        if lines:
            _mark_lines(ax, lines, t_end, label=not has_cells)
        _finish(ax)
    return fig


def plot_drug_levels(traj: pd.DataFrame, *, cycle_days: float | None = None) -> Figure | None:
    """One row per drug: plasma and free intracellular concentration in each clone (µM, log
    scale) over the whole run, and beside it a zoom on the first cycle (`cycle_days` from the
    first dose; default 7 d). Plasma is a dashed black line drawn on top, so it stays visible
    where the parental clone's level equals it. The gap between plasma and the MDR1 clones is
    the efflux at work."""
    _check(traj)
    drugs: dict[str, dict[str, str]] = {}  # drug -> {"plasma": var, level: var}
    for name in _variables(traj):
        if m := _PLASMA.match(name):
            drugs.setdefault(m["drug"], {})["plasma"] = name
        elif m := _INTRA.match(name):
            drugs.setdefault(m["drug"], {})[m["level"]] = name
    panels = {
        drug: {k: s for k, var in parts.items() if (s := _series(traj, var)) is not None}
        for drug, parts in drugs.items()
    }
    panels = {d: p for d, p in panels.items() if p}
    if not panels:
        return None
    n = len(panels)
    h = _PANEL_HEIGHT * n + 0.4
    fig = Figure(figsize=(_WIDTH + 1.5, h))
    fig.subplots_adjust(
        left=0.8 / (_WIDTH + 1.5),
        right=0.99,
        bottom=0.85 / h,
        top=1.0 - 0.35 / h,
        wspace=0.08,
        hspace=0.45,
    )
    grid = fig.subplots(n, 2, squeeze=False, sharey="row", gridspec_kw={"width_ratios": [2, 1]})
    window = float(cycle_days) if cycle_days else 7.0
    for i, (drug, parts) in enumerate(sorted(panels.items())):
        whole, zoom = grid[i]
        levels = [k for k in parts if k != "plasma"]
        drawn = []
        first_dose = None
        if "plasma" in parts:
            t, v = parts["plasma"]
            for ax in (whole, zoom):
                ax.plot(t, v, lw=1.3, ls=(0, (4, 2)), color="black", label="plasma", zorder=5)
            drawn.append(v)
            dosed = np.flatnonzero(np.isfinite(v) & (v > 0))
            first_dose = float(t[dosed[0]]) if dosed.size else None
        for level in levels:
            t, v = parts[level]
            for ax in (whole, zoom):
                ax.plot(
                    t,
                    v,
                    lw=1.5,
                    color=_clone_colour(level, levels),
                    label=f"intracellular, {_clone_label(level)}",
                )
            drawn.append(v)
        if first_dose is None:
            first_dose = float(min(t[0] for t, _ in parts.values()))
        if any((a > 0).any() for a in drawn):
            whole.set_yscale("log")
            _log_floor(whole, drawn)
        zoom.set_xlim(first_dose, first_dose + window)
        whole.set_ylabel(f"{_safe_label(drug)} (µM)")
        whole.set_title(f"{_safe_label(drug)}: whole run", fontsize=10, loc="left")
        zoom.set_title(f"first cycle ({window:g} d)", fontsize=10, loc="left")
        _finish(whole, xlabel=i == n - 1)
        _finish(zoom, xlabel=i == n - 1)
    handles, labels = grid[0][0].get_legend_handles_labels()
    fig.legend(
        handles, labels, fontsize=8, frameon=False, loc="lower center", ncol=4, borderaxespad=0.2
    )
    return fig


def plot_cd8(traj: pd.DataFrame) -> Figure | None:
    """CD8 T cells by state (naive, activated, effector, memory; log scale), and MDR1 function
    of the CD8 cells (0–1) in a second panel when present."""
    _check(traj)
    states = {n: s for n in _CD8 if (s := _series(traj, n)) is not None}
    function = _series(traj, "mdr1_function_cd8")
    if not states and function is None:
        return None
    rows = int(bool(states)) + int(function is not None)
    fig, axes = _new_figure(rows)
    ax_iter = iter(axes)
    if states:
        ax = next(ax_iter)
        for name, (t, v) in states.items():
            label, colour = _CD8[name]
            ax.plot(t, v, lw=1.6, color=colour, label=label)
        values = [v for _, v in states.values()]
        # Always log: naive and memory cells (10³–10⁵) next to a 10⁷ effector peak.
        if any((v > 0).any() for v in values):
            ax.set_yscale("log")
            _log_floor(ax, values, decades=6.0)
        ax.set_ylabel("CD8 T cells (cells, log)")
        ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        _finish(ax, xlabel=function is None)
    if function is not None:
        ax = next(ax_iter)
        ax.plot(function[0], function[1], lw=1.6, color="#762a83")
        ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel(_UNITS["mdr1_function_cd8"])
        _finish(ax)
    return fig


def plot_anc(traj: pd.DataFrame) -> Figure | None:
    """Absolute neutrophil count with the CTCAE grade 3 and 4 thresholds as dashed lines."""
    _check(traj)
    anc = _series(traj, "ANC")
    if anc is None:
        return None
    fig, (ax,) = _new_figure(1)
    ax.plot(anc[0], anc[1], lw=1.8, color="#1f5fa8", label="ANC")
    ax.axhline(ANC_GRADE3, color="#e08214", lw=1.1, ls="--", label="grade 3 (<1.0)")
    ax.axhline(ANC_GRADE4, color="#b2182b", lw=1.1, ls="--", label="grade 4 (<0.5)")
    finite = anc[1][np.isfinite(anc[1])]
    ax.set_ylim(0.0, max(float(finite.max()) * 1.08, ANC_GRADE3 * 1.5))
    ax.set_ylabel(_UNITS["ANC"])
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    _finish(ax)
    return fig


def plot_infection(traj: pd.DataFrame, pathogens: Sequence[str]) -> Figure | None:
    """Pathogen loads (pathogen units, log scale), one curve per name in `pathogens`.

    The names come from the model that produced `traj` (``PatientModel.pathogens``: the
    scenario's infections), so a pathogen renamed in the immune module cannot silently drop
    out of the figure. None when none of them is in `traj`."""
    _check(traj)
    if isinstance(pathogens, str):
        raise ReportError(
            f"pathogens: expected a sequence of variable names, got the string {pathogens!r}"
        )
    loads = {n: s for n in pathogens if (s := _series(traj, n)) is not None}
    if not loads:
        return None
    fig, (ax,) = _new_figure(1)
    for i, (name, (t, v)) in enumerate(loads.items()):
        label = name.replace("_", " ")
        ax.plot(t, v, lw=1.6, color=_CYCLE[i % len(_CYCLE)], label=_safe_label(label))
    values = [v for _, v in loads.values()]
    if _wants_log(values):
        ax.set_yscale("log")
        _log_floor(ax, values, decades=8.0)
    ax.set_ylabel("pathogen load (pathogen units)")
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    _finish(ax)
    return fig


def _axis_label(variable: str, pathogens: Sequence[str] = ()) -> str:
    if variable in _UNITS:
        return _UNITS[variable]
    if variable.startswith("T_"):
        return f"{_clone_label(variable.removeprefix('T_'))} cells (×10⁹)"
    if variable in _CD8:
        return f"{_CD8[variable][0]} CD8 T cells (cells)"
    if variable in pathogens:
        return f"{variable} load (pathogen units)"
    if variable.endswith("_uM"):
        return f"{variable.removesuffix('_uM').replace('_', ' ')} (µM)"
    return variable


def _title(variable: str, pathogens: Sequence[str] = ()) -> str:
    if variable in _TITLES:
        return _TITLES[variable]
    if variable.startswith("T_"):
        return f"{_clone_label(variable.removeprefix('T_'))} tumour cells"
    if variable in pathogens:
        return f"{variable.replace('_', ' ')} load"
    return variable.replace("_", " ")


def plot_compare(
    trajs: Mapping[str, pd.DataFrame], variable: str, *, pathogens: Sequence[str] = ()
) -> Figure | None:
    """One variable from several scenarios on one axis (for ``mdrsim compare``); None when no
    scenario has it. `pathogens` (the models' pathogen names) label a pathogen's axis."""
    curves = {}
    for name, traj in trajs.items():
        _check(traj)
        if (s := _series(traj, variable)) is not None:
            curves[name] = s
    if not curves:
        return None
    room = min(3.2, 0.9 + 0.065 * max(len(n) for n in curves))
    fig, (ax,) = _new_figure(1, height=_PANEL_HEIGHT * 1.2, legend_room=room)
    for i, (name, (t, v)) in enumerate(curves.items()):
        ax.plot(
            t,
            v,
            lw=1.7,
            color=_CYCLE_COMPARE[i % len(_CYCLE_COMPARE)],
            ls=_STYLES_COMPARE[i % len(_STYLES_COMPARE)],
            label=_safe_label(name),
        )
    values = [v for _, v in curves.values()]
    if _wants_log(values):
        ax.set_yscale("log")
        _log_floor(ax, values, decades=8.0)
    if variable == "ANC":
        ax.axhline(ANC_GRADE3, color="0.5", lw=0.9, ls="--")
        ax.axhline(ANC_GRADE4, color="0.3", lw=0.9, ls="--")
    ax.set_ylabel(_safe_label(_axis_label(variable, pathogens)))
    ax.set_title(_safe_label(_title(variable, pathogens)), fontsize=10, loc="left")
    ax.legend(
        fontsize=8,
        frameon=False,
        title="scenario",
        title_fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
    )
    _finish(ax)
    return fig
