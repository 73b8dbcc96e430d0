"""The fit report and its figures, from a fit directory written here (no optimisation run), and
the report opened offline in a real headless Chromium (see browser.py).

The fit directory holds what ``mdrsim fit`` and ``mdrsim profile`` write: starts.parquet,
fit.json, best.json, data_vs_fit.csv, profile_NAME.json/.parquet.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mdrsim.errors import ReportError
from mdrsim.report import fit_plots
from mdrsim.report.fit_report import write_fit_report

from .browser import Browser, PageReport, chromium

SHA = "ab" * 32


def starts_table(statuses: list[str], objectives: list[float]) -> pd.DataFrame:
    n = len(statuses)
    return pd.DataFrame(
        {
            "start": range(n),
            "status": statuses,
            "reason": ["FTOL" if s == "converged" else "MAXITER" for s in statuses],
            "objective": objectives,
            "evaluations": [10] * n,
            "seconds": [0.5] * n,
            "k": np.linspace(-1, 0, n),
            "start_k": np.zeros(n),
        }
    ).sort_values("objective")


def make_fit_dir(folder: Path, *, converged: bool = True, profile: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if converged:
        starts = starts_table(
            ["converged", "converged", "failed", "failed"], [3.2, 3.2, 9.0, math.inf]
        )
    else:
        starts = starts_table(["failed", "failed"], [math.inf, 40.0])
    starts.to_parquet(folder / "starts.parquet", index=False)
    meta = {"problem": "/data/toy.yaml", "problem_sha256": SHA, "seed": 4, "n_starts": len(starts),
            "priors_included": True}  # fmt: skip
    (folder / "fit.json").write_text(json.dumps(meta))
    if not converged:
        return folder
    best = {
        **meta,
        "status": "converged",
        "start": 1,
        "objective": 3.2,
        "llh": -3.2,
        "parameters": [
            {
                "id": "k",
                "scale": "log10",
                "estimate_scaled": -0.5,
                "estimate": 10**-0.5,
                "lower": 1e-2,
                "upper": 10.0,
            },
            {
                "id": "sd",
                "scale": "log10",
                "estimate_scaled": -2.0,
                "estimate": 1e-2,
                "lower": 1e-2,
                "upper": 1.0,
            },
        ],
    }
    (folder / "best.json").write_text(json.dumps(best))
    t = np.array([0.5, 1, 2, 4])
    rows = [
        (obs, cond, ti, a0 * np.exp(-0.3 * ti) * 1.02, a0 * np.exp(-0.3 * ti))
        for obs in ("obs_a", "obs_b")
        for cond, a0 in (("c1", 1.0), ("c2", 2.0))
        for ti in t
    ]
    pd.DataFrame(
        rows,
        columns=["observableId", "simulationConditionId", "time", "measurement", "simulation"],
    ).to_csv(folder / "data_vs_fit.csv", index=False)
    if profile:
        grid = np.linspace(-0.9, -0.1, 9)
        table = pd.DataFrame(
            {
                "value": grid,
                "objective": 3.2 + 12 * (grid + 0.5) ** 2,
                "status": ["converged"] * 4 + ["optimum"] + ["converged"] * 3 + ["failed"],
                "reason": [""] * 9,
            }
        )
        table["delta"] = table["objective"] - 3.2
        table.to_parquet(folder / "profile_k.parquet", index=False)
        half = math.sqrt(1.920729 / 12)
        (folder / "profile_k.json").write_text(
            json.dumps(
                {
                    "parameter": "k",
                    "scale": "log10",
                    "level": 0.95,
                    "threshold": 1.920729,
                    "ci_scaled": [-0.5 - half, -0.5 + half],
                    "ci": [10 ** (-0.5 - half), 10 ** (-0.5 + half)],
                    "interval": "closed",
                    "points": 9,
                    "points_not_converged": 1,
                    "problem_sha256": SHA,
                }
            )
        )
    return folder


# --- figures -------------------------------------------------------------------------------


def test_waterfall_marks_status_and_switches_to_log() -> None:
    fig = fit_plots.plot_waterfall(starts_table(["converged", "failed"], [1.0, 5.0]))
    ax = fig.axes[0]
    assert ax.get_yscale() == "linear" and "1 of 2" in ax.get_title()
    fit_plots.close(fig)
    fig = fit_plots.plot_waterfall(starts_table(["converged", "converged"], [1.0, 1e5]))
    assert fig.axes[0].get_yscale() == "log"
    assert "best + 1" in fig.axes[0].get_ylabel()
    fit_plots.close(fig)
    with pytest.raises(ReportError, match="empty"):
        fit_plots.plot_waterfall(starts_table([], []))


def test_data_vs_fit_one_panel_per_observable() -> None:
    rows = [(f"o{i}", "c", t, 1.0, 1.0) for i in range(11) for t in (0.0, 1.0)]
    points = pd.DataFrame(
        rows,
        columns=["observableId", "simulationConditionId", "time", "measurement", "simulation"],
    )
    figs = fit_plots.plot_data_vs_fit(points)
    assert len(figs) == 2  # 9 panels, then 2
    titles = [ax.get_title() for f in figs for ax in f.axes if ax.get_title()]
    assert titles == [f"o{i}" for i in range(11)]
    for f in figs:
        fit_plots.close(f)
    with pytest.raises(ReportError, match="missing columns"):
        fit_plots.plot_data_vs_fit(points.drop(columns="simulation"))


# --- the report in a browser ----------------------------------------------------------------


@pytest.fixture(scope="module")
def session() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def page(session: Browser, tmp_path_factory: pytest.TempPathFactory) -> PageReport:
    folder = make_fit_dir(tmp_path_factory.mktemp("fit"))
    return session.open(write_fit_report(folder))


def test_report_sections_and_tables(page: PageReport) -> None:
    for heading in ("Fit status", "Waterfall of the starts", "Data vs fit", "Parameters",
                    "Profile likelihoods", "Convergence per start"):  # fmt: skip
        assert heading in page.headings, heading
    assert page.title == "Fit report: toy"
    assert "95% closed" in page.cells and "not profiled" in page.cells
    assert "lower" in page.cells  # sd sits on its lower bound
    assert "MAXITER" in page.cells and "∞" in page.cells
    assert page.scripts == 0


def test_every_image_decoded_and_nothing_fetched(page: PageReport) -> None:
    assert len(page.images) == 3  # waterfall, data vs fit, profile
    for img in page.images:
        assert img["scheme"] == "data"
        assert img["complete"] and img["decoded"], img
        assert img["naturalWidth"] > 100 and img["naturalHeight"] > 50, img
        assert img["opaqueFraction"] == 1.0, img
    schemes = {url.split(":", 1)[0] for url in page.requests}
    assert schemes <= {"file", "data"}, page.requests
    assert page.console_errors == []


def test_report_without_converged_start(session: Browser, tmp_path: Path) -> None:
    folder = make_fit_dir(tmp_path / "fit", converged=False)
    page = session.open(write_fit_report(folder))
    assert "NO START CONVERGED" in page.dom
    assert "Parameters" not in page.headings and "Data vs fit" not in page.headings
    assert len(page.images) == 1 and page.images[0]["decoded"]
    assert {u.split(":", 1)[0] for u in page.requests} <= {"file", "data"}


def test_profiles_of_another_fit_are_not_shown(tmp_path: Path) -> None:
    folder = make_fit_dir(tmp_path / "fit")
    doc = json.loads((folder / "profile_k.json").read_text())
    doc["problem_sha256"] = "cd" * 32
    (folder / "profile_k.json").write_text(json.dumps(doc))
    text = write_fit_report(folder).read_text(encoding="utf-8")
    assert "Profile likelihood of k" not in text and "95% closed" not in text


def test_not_a_fit_directory(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="no starts table"):
        write_fit_report(tmp_path)
