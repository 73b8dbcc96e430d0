"""The trial report at 1,280 px in headless Chromium: the key numbers on the first screen, no
table wider than the page (issue 13: the HR and ORR were off screen in a sideways-scrolling
table). The harness check below shows the measurement does see an overflowing table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from mdrsim.report.html import Section, write_html
from mdrsim.report.trial_report import write_trial_report
from mdrsim.trial import LocalExecutor, TrialPlan, run_trial
from tests.report.browser import Browser, chromium
from tests.unit.trial.conftest import make_trial

WIDTH, HEIGHT = 1280, 800


@pytest.fixture(scope="module")
def session() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def trial_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    import yaml

    tmp = tmp_path_factory.mktemp("trial")
    spec_file = tmp / "trial.yaml"
    spec_file.write_text(yaml.safe_dump(make_trial(tmp)))
    plan = TrialPlan.from_file(spec_file)
    run = run_trial(plan, 40, tmp / "t", chunk_size=20, executor=LocalExecutor(workers=1))
    report = write_trial_report(run.store.root)
    return run.store.root / "report.html", report.summary


def _overflowing(layout: dict) -> list[str]:
    return [
        f"{t['caption']!r}: {t['width']} px in {t['container']} px"
        for t in layout["tables"]
        if t["width"] > t["container"] + 1 or t["right"] > layout["viewport"][0] + 1
    ]


def test_trial_report_fits_and_leads_with_the_key_numbers(
    session: Browser, trial_report: tuple[Path, object]
) -> None:
    path, summary = trial_report
    layout = session.layout(path, width=WIDTH, height=HEIGHT)
    assert layout["viewport"] == [WIDTH, HEIGHT]
    assert layout["tables"], "the report has tables"
    assert _overflowing(layout) == []
    assert layout["page_width"] <= WIDTH
    key = layout["key"]
    assert key is not None, "no key-results box"
    assert key["top"] >= 0 and key["bottom"] <= HEIGHT, key
    text = key["text"]
    treated = summary.arms[1]  # type: ignore[attr-defined]
    control = summary.arms[0]  # type: ignore[attr-defined]
    assert f"HR {treated.hr_vs_control:.3g}" in text
    assert "log-rank p" in text and "median PFS" in text and "ORR" in text
    assert control.arm in text and treated.arm in text
    html = path.read_text()
    assert "first 1000 patients" not in html and "all 40 patients per arm" in html
    assert "<dt>model_sha256</dt><dd></dd>" not in html


def test_harness_sees_an_overflowing_table(session: Browser, tmp_path: Path) -> None:
    wide = pd.DataFrame({f"a long column header number {i}": [1.23456] for i in range(40)})
    path = write_html(tmp_path / "wide.html", "wide", [Section("wide", tables=[("w", wide)])])
    layout = session.layout(path, width=WIDTH, height=HEIGHT)
    assert _overflowing(layout) != []
    assert layout["key"] is None
