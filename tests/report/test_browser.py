"""A generated report rendered in a real headless Chromium, offline.

These tests fail (they are not skipped) when Chromium is missing: CI installs it (.ci/run),
and a report that no browser has opened is not tested. Negative controls show the harness
notices a broken image, an external reference and an injected script.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from mdrsim.report import patient_plots as pp
from mdrsim.report.html import Section, format_number, write_html

from . import browser
from .browser import Browser, PageReport, chromium
from .trajectories import make_traj

HOSTILE_TITLE = 'Patient <script>document.title="pwned"</script> & "friends"'
HEADINGS = ["Tumour & clones", "Drugs <in> cells", "CD8 T cells", "Marrow", "Infection"]
TABLE = pd.DataFrame(
    {
        "clone": ["parental", "mdr1_low", "<mdr1_high>"],
        "cells (×10⁹)": [49.123456, 0.5, 1.234e-5],
        "IC50 (µM)": [0.0201, np.nan, 3.5],
    }
)


@pytest.fixture(scope="module")
def session() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    traj = make_traj()
    lines = [{"name": "CHOP", "start_day": 0.0, "progression_day": 60.0}]
    drawn = {
        "tumour": pp.plot_tumour_by_clone(traj, lines),
        "drugs": pp.plot_drug_levels(traj),
        "cd8": pp.plot_cd8(traj),
        "anc": pp.plot_anc(traj),
        "infection": pp.plot_infection(traj, ["virus"]),
    }
    figures = {k: f for k, f in drawn.items() if f is not None}
    assert figures.keys() == drawn.keys()
    sections = [
        Section(
            HEADINGS[0],
            text="Clones by MDR1 level.\n\nA <b>second</b> paragraph.",
            tables=[("Clones at day 120", TABLE)],
            figures=[("Tumour cells by clone", figures["tumour"])],
        ),
        Section(HEADINGS[1], figures=[("Plasma and intracellular", figures["drugs"])]),
        Section(HEADINGS[2], figures=[("CD8 states", figures["cd8"])]),
        Section(HEADINGS[3], figures=[("ANC", figures["anc"])]),
        Section(HEADINGS[4], figures=[("LCMV", figures["infection"])]),
    ]
    path = tmp_path_factory.mktemp("report") / "report.html"
    return write_html(
        path,
        HOSTILE_TITLE,
        sections,
        provenance={"mdrsim version": "0.1.0", "seed": 7, "model hash": "abc123"},
        subtitle="scenario <x>.yaml",
        figure_dpi=80,  # the browser only has to decode them; keeps the test quick
    )


@pytest.fixture(scope="module")
def page(session: Browser, report: Path) -> PageReport:
    return session.open(report)


def test_title_and_headings(page: PageReport) -> None:
    assert page.title == HOSTILE_TITLE  # shown literally, and the script did not run
    assert page.headings[0] == HOSTILE_TITLE
    for heading in HEADINGS:
        assert heading in page.headings
    assert "Contents" in page.headings and "Provenance" in page.headings


def test_no_script_was_parsed(page: PageReport) -> None:
    assert page.scripts == 0
    assert "<script>" not in page.dom  # the DOM serialises the text as &lt;script&gt;
    assert "&lt;script&gt;" in page.dom


def test_table_values_rendered(page: PageReport) -> None:
    expected = ["clone", "cells (×10⁹)", "IC50 (µM)", "<mdr1_high>"]
    expected += [format_number(v) for v in TABLE["cells (×10⁹)"]]
    expected += ["0.0201", "—", "3.5"]
    for value in expected:
        assert value in page.cells, value
    assert "49.12" in page.cells and "1.234e-5" in page.cells
    # provenance is a definition list
    assert "abc123" in page.dom and "<dt>model hash</dt>" in page.dom


def test_every_image_decoded(page: PageReport) -> None:
    assert len(page.images) == 5
    for img in page.images:
        assert img["scheme"] == "data"
        assert img["complete"] and img["decoded"], img
        assert img["naturalWidth"] > 100 and img["naturalHeight"] > 50, img
        # matplotlib figures have an opaque white background: decoded to the last row, every
        # pixel is opaque; a truncated PNG leaves its missing rows transparent.
        assert img["opaqueFraction"] == 1.0, img


def test_nothing_fetched_from_the_network(page: PageReport, report: Path) -> None:
    schemes = {url.split(":", 1)[0] for url in page.requests}
    assert schemes <= {"file", "data"}, page.requests
    assert page.console_errors == []
    text = report.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text


def test_screenshot_is_not_blank(page: PageReport) -> None:
    pixels = mpimg.imread(io.BytesIO(page.screenshot_png), format="png")
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100
    # anti-aliased text and the coloured boxes give many colours; a blank page has one
    colours = np.unique((pixels[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 20


# --- the harness can fail ----------------------------------------------------------------


def tiny_png() -> bytes:
    fig = Figure(figsize=(3, 2))
    fig.subplots().plot([0, 1], [0, 1])
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=60)
    return buf.getvalue()


def test_harness_sees_broken_image_and_external_fetch(session: Browser, tmp_path: Path) -> None:
    png = tiny_png()
    cut = base64.b64encode(png[: len(png) - 150]).decode("ascii")  # the end is missing
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><head><title>bad</title>"
        '<link rel="stylesheet" href="https://fonts.example.invalid/css"></head><body>'
        '<img alt="broken" src="data:image/png;base64,iVBORw0KGgoAAAA">'
        f'<img alt="truncated" src="data:image/png;base64,{cut}">'
        '<img alt="remote" src="http://example.invalid/x.png">'
        "<script>document.title = 'scripted'</script></body></html>",
        encoding="utf-8",
    )
    seen = session.open(bad)
    broken, truncated, remote = seen.images
    assert broken["naturalWidth"] == 0 and remote["naturalWidth"] == 0
    assert truncated["naturalWidth"] > 0  # why naturalWidth alone does not prove decoding:
    assert truncated["opaqueFraction"] < 1.0  # the rows never received stay transparent
    assert any(url.startswith("https://") for url in seen.requests)
    assert any(url.startswith("http://") for url in seen.requests)
    assert seen.console_errors  # the fetches failed: the browser is offline
    assert seen.scripts == 1 and seen.title == "scripted"


def test_missing_chromium_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(browser.BrowserError, match="apt-get install chromium"):
        browser.require_chromium()
