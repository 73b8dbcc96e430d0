"""Patient figures on a constructed trajectory: content, labels, graceful absence."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mdrsim.errors import ReportError
from mdrsim.report import patient_plots as pp


def data_lines(ax: Axes) -> list[str]:
    """Labels of the plotted data lines (not axhline/axvline marks, which span 2 points in
    axes coordinates)."""
    return [
        str(line.get_label())
        for line in ax.get_lines()
        if not line.get_label().startswith("_") and len(line.get_xdata()) > 2
    ]


def legend_texts(ax: Axes) -> list[str]:
    legend = ax.get_legend()
    assert legend is not None
    return [t.get_text() for t in legend.get_texts()]


def only(traj: pd.DataFrame, *names: str) -> pd.DataFrame:
    return traj[traj["variable"].isin(names)]


def test_tumour_by_clone(traj: pd.DataFrame) -> None:
    lines = [
        {"name": "CHOP", "start_day": 0.0, "progression_day": 60.0},
        {"name": "R-ICE", "start_day": 63.0, "progression_day": None},
    ]
    fig = pp.plot_tumour_by_clone(traj, lines)
    assert isinstance(fig, Figure)
    cells, fraction = fig.axes
    assert data_lines(cells) == ["parental", "MDR1 low", "MDR1 high", "total"]
    assert cells.get_yscale() == "log"
    assert cells.get_ylabel() == "tumour cells (×10⁹)"
    assert "progression" in legend_texts(cells)
    assert [t.get_text() for t in cells.texts] == ["CHOP", "R-ICE"]
    # two shaded spans (one per line): the second runs to the end of the run
    spans = [p for p in cells.patches if p.get_alpha() is not None]
    assert len(spans) == 2
    x_of_progression = [
        line.get_xdata()[0] for line in cells.get_lines() if line.get_label() == "progression"
    ]
    assert x_of_progression == [60.0]
    assert fraction.get_ylabel().startswith("MDR1-high fraction")
    # Its own log axis: a fraction of 10⁻³–10⁻¹ is flat on a 0–1 linear axis (issue 13).
    assert fraction.get_yscale() == "log"
    assert fraction.get_ylim()[1] <= 1.0
    assert fraction.get_xlabel() == "time (days)"
    # The eradicated-parental floor: at most ~6 decades below the maximum are shown.
    low, high = cells.get_ylim()
    assert high / low < 1e7


def test_tumour_without_lines_and_partial_variables(traj: pd.DataFrame) -> None:
    fig = pp.plot_tumour_by_clone(only(traj, "T_parental", "T_mdr1_high_trait"))
    assert fig is not None
    (ax,) = fig.axes
    assert data_lines(ax) == ["parental"]
    assert ax.get_xlabel() == "time (days)"
    assert pp.plot_tumour_by_clone(only(traj, "ANC")) is None
    fig = pp.plot_tumour_by_clone(only(traj, "mdr1_high_fraction"))
    assert fig is not None and len(fig.axes) == 1


def test_drug_levels(traj: pd.DataFrame) -> None:
    two_drugs = pd.concat(
        [
            traj,
            only(traj, "doxorubicin_plasma_uM").assign(variable="paclitaxel_plasma_uM"),
        ]
    )
    fig = pp.plot_drug_levels(two_drugs, cycle_days=21)
    assert fig is not None
    dox, dox_zoom, pac, pac_zoom = fig.axes
    assert dox.get_title(loc="left") == "doxorubicin: whole run"
    # The zoom beside it shows one cycle from the first dose (issue 13).
    low, high = dox_zoom.get_xlim()
    assert high - low == pytest.approx(21.0)
    assert data_lines(dox_zoom) == data_lines(dox)
    # Plasma is drawn above the clones: an identical intracellular line cannot hide it.
    plasma = next(ln for ln in dox.get_lines() if ln.get_label() == "plasma")
    assert all(plasma.get_zorder() > ln.get_zorder() for ln in dox.get_lines() if ln is not plasma)
    assert data_lines(dox) == [
        "plasma",
        "intracellular, parental",
        "intracellular, MDR1 high",
    ]
    assert dox.get_yscale() == "log"
    assert dox.get_ylabel() == "doxorubicin (µM)"
    assert data_lines(pac) == ["plasma"]
    assert pac.get_xlabel() == "time (days)" and dox.get_xlabel() == ""
    assert pac_zoom.get_xlabel() == "time (days)"
    assert pp.plot_drug_levels(only(traj, "ANC", "T_parental")) is None


def test_drug_all_zero_stays_linear(traj: pd.DataFrame) -> None:
    zero = only(traj, "doxorubicin_plasma_uM").assign(value=0.0)
    fig = pp.plot_drug_levels(zero)
    assert fig is not None and fig.axes[0].get_yscale() == "linear"


def test_cd8(traj: pd.DataFrame) -> None:
    fig = pp.plot_cd8(traj)
    assert fig is not None
    cells, function = fig.axes
    assert data_lines(cells) == ["naive", "activated", "effector", "memory"]
    assert cells.get_yscale() == "log"
    assert cells.get_ylabel() == "CD8 T cells (cells, log)"
    assert function.get_ylabel() == "CD8 MDR1 function (0–1)"
    assert function.get_ylim() == pytest.approx((-0.02, 1.02))
    fig = pp.plot_cd8(only(traj, "E_cd8"))
    assert fig is not None and len(fig.axes) == 1
    assert pp.plot_cd8(only(traj, "ANC")) is None


def test_anc_with_ctcae_thresholds(traj: pd.DataFrame) -> None:
    fig = pp.plot_anc(traj)
    assert fig is not None
    (ax,) = fig.axes
    assert ax.get_ylabel() == "ANC (×10⁹/L)"
    thresholds = {
        str(line.get_label()): (line.get_ydata()[0], line.get_linestyle())
        for line in ax.get_lines()
        if str(line.get_label()).startswith("grade")
    }
    assert thresholds == {"grade 3 (<1.0)": (1.0, "--"), "grade 4 (<0.5)": (0.5, "--")}
    assert legend_texts(ax) == ["ANC", "grade 3 (<1.0)", "grade 4 (<0.5)"]
    assert pp.plot_anc(only(traj, "virus")) is None


def test_infection(traj: pd.DataFrame) -> None:
    fig = pp.plot_infection(traj, ["virus"])
    assert fig is not None
    (ax,) = fig.axes
    assert data_lines(ax) == ["virus"]
    assert ax.get_yscale() == "log"
    assert ax.get_ylabel() == "pathogen load (pathogen units)"
    flu = only(traj, "virus").assign(variable="influenza")
    assert pp.plot_infection(flu, ["virus"]) is None  # only the names asked for are drawn
    fig = pp.plot_infection(flu, pathogens=["influenza"])
    assert fig is not None and data_lines(fig.axes[0]) == ["influenza"]
    with pytest.raises(ReportError, match="pathogens"):
        pp.plot_infection(traj, "virus")  # a string would be read letter by letter


def test_compare(traj: pd.DataFrame) -> None:
    trajs = {
        "standard": traj,
        "_dose-dense $x$": traj.assign(value=traj["value"] * 0.5),
        "no tumour data": only(traj, "ANC"),
    }
    fig = pp.plot_compare(trajs, "tumour_total")
    assert fig is not None
    (ax,) = fig.axes
    # user names are shown literally: `$` is not mathtext, a leading `_` is not hidden
    assert legend_texts(ax) == ["standard", "\u200b_dose-dense \\$x\\$"]
    assert ax.get_ylabel() == "tumour cells (×10⁹)"
    assert ax.get_xlabel() == "time (days)"
    fig.canvas.draw()  # mathtext would raise here on an unbalanced or odd `$`
    # Readable title, not the raw id; scenarios differ by line style, not colour alone.
    assert ax.get_title(loc="left") == "Total tumour burden"
    styles = [ln.get_linestyle() for ln in ax.get_lines() if len(ln.get_xdata()) > 2]
    assert len(set(styles)) == len(styles) == 2
    assert ax.get_legend() is not None
    assert pp.plot_compare(trajs, "absent") is None
    fig = pp.plot_compare({"a": traj}, "ANC")
    assert fig is not None and len(fig.axes[0].get_lines()) == 3  # ANC + two thresholds


def test_empty_or_malformed_tables(traj: pd.DataFrame) -> None:
    empty = traj.iloc[:0]
    for plot in (
        pp.plot_tumour_by_clone,
        pp.plot_drug_levels,
        pp.plot_cd8,
        pp.plot_anc,
    ):
        assert plot(empty) is None, plot.__name__
    assert pp.plot_infection(empty, ["virus"]) is None
    all_nan = only(traj, "ANC").assign(value=np.nan)
    assert pp.plot_anc(all_nan) is None
    with pytest.raises(ReportError, match="value"):
        pp.plot_anc(traj.rename(columns={"value": "v"}))


def test_duplicate_times_keep_row_order() -> None:
    # A dose at t=1 is stored as two rows (before, after); a stable sort keeps the jump.
    traj = pd.DataFrame(
        {
            "time": [2.0, 0.0, 1.0, 1.0],
            "variable": "doxorubicin_plasma_uM",
            "value": [0.5, 0.0, 0.0, 2.0],
        }
    )
    fig = pp.plot_drug_levels(traj)
    assert fig is not None
    (line,) = fig.axes[0].get_lines()
    assert list(line.get_ydata()) == [0.0, 0.0, 2.0, 0.5]


def test_figures_save_at_300_dpi(traj: pd.DataFrame) -> None:
    fig = pp.plot_anc(traj)
    assert fig is not None
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=300)
    width = int.from_bytes(buf.getvalue()[16:20], "big")
    assert width == round(6.5 * 300)


def test_treatment_band_ends_with_the_line(traj: pd.DataFrame) -> None:
    """A line that stopped on day 40 is shaded to day 40, not to the end of the run."""
    lines = [{"name": "CHOP", "start_day": 0.0, "progression_day": None, "end_day": 40.0}]
    fig = pp.plot_tumour_by_clone(traj, lines)
    assert fig is not None
    (span,) = [p for p in fig.axes[0].patches if p.get_alpha() is not None]
    x0, _, width, _ = span.get_bbox().bounds
    assert x0 + width == pytest.approx(40.0)
