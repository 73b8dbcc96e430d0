import math

import numpy as np
import pytest

from mdrsim.biology.cell import add_exposure_auc, add_mdr1_expression
from mdrsim.engine import EventTable, simulate
from mdrsim.model import ModelBuilder


def _model(**kw):
    b = ModelBuilder("mdr1")
    b.species("D", 0.0, boundary=True, unit="uM")
    b.species("X", 0.0, boundary=True, unit="uM")
    rho = add_mdr1_expression(
        b,
        cell="tumour",
        k_syn=0.2,
        k_deg=0.1,
        source="assumed: test",
        inducer="D",
        induction_max=4.0,
        induction_ec50=1.0,
        expression_inhibitor="X",
        expression_ic50=0.5,
        **kw,
    )
    add_exposure_auc(b, drug_free="D")
    return b.build(), rho


def test_baseline_is_steady_and_induction_relaxes_back():
    model, rho = _model()
    t = np.linspace(0, 60, 61)
    # Drug at 1 µM for 20 days, then removed: synthesis x(1 + 4*0.5) = x3 while present.
    events = EventTable().set_parameter(0.0, "D", 1.0).set_parameter(20.0, "D", 0.0)
    r = simulate(model, t, events=events, rtol=1e-9, atol=1e-12, check=True)
    baseline = 0.2 / 0.1
    expected_on = baseline * 3 + (baseline - baseline * 3) * np.exp(-0.1 * t[:21])
    np.testing.assert_allclose(r[rho][0][:21], expected_on, rtol=1e-6)
    peak = expected_on[-1]
    expected_off = baseline + (peak - baseline) * np.exp(-0.1 * (t[20:] - 20))
    np.testing.assert_allclose(r[rho][0][20:], expected_off, rtol=1e-6)
    assert r["AUC_D"][0][-1] == pytest.approx(20.0, rel=1e-8)


def test_expression_inhibitor_lowers_the_steady_state():
    model, rho = _model()
    r = simulate(model, [0.0, 200.0], params={"X": 0.5}, rtol=1e-9, atol=1e-12, check=True)
    assert r[rho][0][-1] == pytest.approx(2.0 / (1 + 0.5 / 0.5), rel=1e-6)
    assert math.isclose(r[rho][0][0], 2.0)
