"""`mdrsim trial` on the example whole-patient trial: every file, a sensible summary, and the
trial report opened offline in a real Chromium."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from mdrsim.cli import app
from tests.report.browser import chromium

EXAMPLE = Path(__file__).parents[2] / "examples" / "trial_tariquidar.yaml"
runner = CliRunner()


def test_example_patient_trial_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "trial"
    result = runner.invoke(
        app,
        ["trial", str(EXAMPLE), "--patients", "8", "--chunk-size", "4", "--workers", "2",
         "--out", str(out), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["control_arm"] == "doxorubicin"
    arms = {a["arm"]: a for a in doc["arms"]}
    assert set(arms) == {"doxorubicin", "doxorubicin_tariquidar"}
    assert all(a["n"] == 8 and a["n_failed"] == 0 for a in arms.values())
    for name in ("manifest.json", "summary.json", "report.html", "km.png", "waterfall.png",
                 "swimmer.png"):  # fmt: skip
        assert (out / name).is_file(), name
    q = runner.invoke(
        app,
        ["query", str(out), "SELECT arm, avg(cd8_memory_ratio) AS memory FROM endpoints "
         "GROUP BY arm ORDER BY arm", "--json"],
    )  # fmt: skip
    assert q.exit_code == 0, q.output
    memory = dict(json.loads(q.stdout)["rows"])
    # The inhibitor's cost to T-cell memory shows up at the trial level too.
    assert memory["doxorubicin_tariquidar"] < memory["doxorubicin"]
    with chromium() as browser:
        page = browser.open(out / "report.html")
    assert page.scripts == 0
    assert page.images and all(i["decoded"] and i["naturalWidth"] > 0 for i in page.images)
    assert all(u.startswith(("file:", "data:")) for u in page.requests), page.requests
