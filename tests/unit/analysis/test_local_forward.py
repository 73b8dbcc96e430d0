"""Local sensitivities from forward sensitivities (:meth:`ModelProblem.forward_sensitivities`):
analytic values, agreement with central differences (the test oracle), and the fallback to
central differences, labelled, where the sensitivity system does not cover a model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mdrsim.analysis import ModelProblem, local_sensitivity, local_time_courses
from mdrsim.engine import SolverOptions, compile_model
from mdrsim.errors import UnsupportedFeatureError
from mdrsim.io import load_model

TIGHT = SolverOptions(rtol=1e-10, atol=1e-13)

# Saturable conversion A -> B, first-order loss of B, an output with a parameter of its own.
NONLINEAR = """
model tm()
  compartment V = 2;
  species A in V = 1.5;
  species B in V = 0;
  conv: A -> B; k1*A*V/(Km + A);
  out: B -> ; k2*B*V;
  obs := c*B^2 + A;
  k1 = 0.8; Km = 0.5; k2 = 0.3; c = 2;
end
"""

DECAY = """
model decay()
  y' = -k*y;
  y = 2;
  k = 0.3;
  c = 5;
  obs := c*y;
end
"""

DOSED = """
model dosed()
  y' = -k*y;
  y = 2;
  k = 0.3;
  at (time >= 1): y = y + 1;
end
"""


def _problem(text: str, factors: list[str], outputs: list[str], until: float) -> ModelProblem:
    return ModelProblem(
        compile_model(load_model(text)), factors, outputs, until=until, points=60, options=TIGHT
    )


def test_forward_coefficients_agree_with_central_differences() -> None:
    """Central differences (step 1e-4, error O(h²) ≈ 1e-8 relative) are the oracle; every
    output kind (value at a time, max, auc, final) and both factor kinds (parameter, initial
    value) and an output's own parameter (c) are covered."""
    p = _problem(NONLINEAR, ["k1", "Km", "c", "A"], ["B@2", "max(obs)", "auc(B)", "final(obs)"], 6)
    fwd = local_sensitivity(p)
    ref = local_sensitivity(p, method="central", relative_step=1e-4)
    assert set(fwd["method"]) == {"forward sensitivities"}
    assert set(ref["method"]) == {"central differences"}
    np.testing.assert_allclose(fwd["coefficient"], ref["coefficient"], rtol=2e-6, atol=1e-8)
    np.testing.assert_allclose(fwd["value"], ref["value"], rtol=1e-8)  # same tolerances
    assert np.all(np.abs(fwd["coefficient"].to_numpy()) < 10)
    # The output B does not read c: its coefficient is exactly 0.
    row = fwd.set_index(["output", "factor"]).loc[("B@2", "c")]
    assert row["coefficient"] == 0.0


def test_time_course_coefficients_of_exponential_decay() -> None:
    """y = y0·exp(−k t): d ln y(t)/d ln k = −k t, d ln y/d ln y0 = 1; obs = c·y: d ln obs/d ln c
    = 1 (the output's own parameter)."""
    p = _problem(DECAY, ["k", "y", "c"], ["y@5"], 5)
    tc = local_time_courses(p)
    for _, r in tc[tc["variable"] == "y"].iterrows():
        expected = {"k": -0.3 * r["time"], "y": 1.0, "c": 0.0}[r["factor"]]
        assert r["coefficient"] == pytest.approx(expected, abs=1e-7)
    obs = tc[(tc["variable"] == "obs") & (tc["factor"] == "c")]
    np.testing.assert_allclose(obs["coefficient"], 1.0, atol=1e-12)
    # The value column is the trajectory itself.
    y = tc[(tc["variable"] == "y") & (tc["factor"] == "k")]
    np.testing.assert_allclose(y["value"], 2 * np.exp(-0.3 * y["time"]), rtol=1e-8)


def test_a_model_with_state_changing_events_falls_back_to_central_differences() -> None:
    p = _problem(DOSED, ["k"], ["y@3"], 3)
    table = local_sensitivity(p)
    (row,) = table.to_dict("records")
    assert row["method"] == "central differences"
    assert "forward sensitivities not available" in row["note"] and "event" in row["note"]
    # y(3) = 2e^{-3k} + e^{-2k}: d ln y/d ln k = −k(6e^{-3k} + 2e^{-2k}) / y.
    k = 0.3
    y = 2 * math.exp(-3 * k) + math.exp(-2 * k)
    assert row["coefficient"] == pytest.approx(
        -k * (6 * math.exp(-3 * k) + 2 * math.exp(-2 * k)) / y, abs=1e-6
    )
    with pytest.raises(UnsupportedFeatureError, match="event"):
        local_sensitivity(p, method="forward")


def test_a_problem_without_forward_sensitivities_says_why_it_used_central_differences() -> None:
    from mdrsim.analysis import FunctionProblem

    p = FunctionProblem(["a", "b"], ["y"], lambda v: v[:, 0] ** 2 * v[:, 1], nominal=[2.0, 3.0])
    table = local_sensitivity(p).set_index("factor")
    assert table.loc["a", "coefficient"] == pytest.approx(2.0, rel=1e-6)  # y = a² b
    assert table.loc["b", "coefficient"] == pytest.approx(1.0, rel=1e-6)
    assert set(table["method"]) == {"central differences"}
    assert all("no forward sensitivities" in n for n in table["note"])
    with pytest.raises(Exception, match="method 'forward'"):
        local_sensitivity(p, method="forward")
