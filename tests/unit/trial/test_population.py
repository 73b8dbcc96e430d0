"""Population sampling: marginals, truncation, copula correlation, plausibility, matching."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

from mdrsim.trial import Population, PopulationError
from mdrsim.trial.spec import PopulationSpec

N = 20_000


def _pop(seed: int = 1, **spec: Any) -> Population:
    return Population(PopulationSpec.model_validate(spec), seed)


def test_marginal_moments() -> None:
    pop = _pop(
        parameters={
            "ln": {"dist": "lognormal", "median": 2.0, "cv": 0.5},
            "ls": {"dist": "lognormal", "median": 3.0, "sigma": 0.2},
            "no": {"dist": "normal", "mean": -1.0, "sd": 2.0},
            "un": {"dist": "uniform", "low": 1.0, "high": 3.0},
            "be": {"dist": "beta", "alpha": 2.0, "beta": 6.0},
            "lg": {"dist": "logitnormal", "median": 0.2, "sigma": 0.5},
        }
    )
    df = pop.sample(np.arange(N))
    se = 1 / math.sqrt(N)
    # Log-normal with CV 0.5: sigma = sqrt(log(1.25)); the median and the CV are recovered.
    assert np.median(df["ln"]) == pytest.approx(2.0, rel=0.03)
    assert df["ln"].std() / df["ln"].mean() == pytest.approx(0.5, rel=0.05)
    assert np.log(df["ls"]).std() == pytest.approx(0.2, rel=0.03)
    assert df["no"].mean() == pytest.approx(-1.0, abs=5 * 2.0 * se)
    assert df["no"].std() == pytest.approx(2.0, rel=0.03)
    assert df["un"].min() >= 1.0 and df["un"].max() <= 3.0
    assert df["un"].mean() == pytest.approx(2.0, abs=0.02)
    assert df["be"].mean() == pytest.approx(2.0 / 8.0, abs=0.005)
    assert np.median(df["lg"]) == pytest.approx(0.2, abs=0.01)
    assert df["lg"].between(0, 1).all()
    # Goodness of fit of a whole marginal, not only moments.
    assert stats.kstest(df["be"], stats.beta(2.0, 6.0).cdf).pvalue > 1e-3


def test_truncation_is_exact_not_rejection() -> None:
    pop = _pop(parameters={"x": {"dist": "normal", "mean": 0, "sd": 1, "lower": 0, "upper": 1}})
    df = pop.sample(np.arange(N))
    assert df["x"].between(0, 1).all()
    assert (df["n_implausible"] == 0).all()
    truncated = stats.truncnorm(0, 1)
    assert stats.kstest(df["x"], truncated.cdf).pvalue > 1e-3


def test_correlation_recovered() -> None:
    pop = _pop(
        parameters={
            "a": {"dist": "normal", "mean": 0, "sd": 1},
            "b": {"dist": "normal", "mean": 5, "sd": 2},
            "c": {"dist": "lognormal", "median": 1, "sigma": 0.3},
        },
        correlations=[
            {"between": ["a", "b"], "rho": 0.7},
            {"between": ["a", "c"], "rho": -0.4},
        ],
    )
    df = pop.sample(np.arange(N))
    assert np.corrcoef(df["a"], df["b"])[0, 1] == pytest.approx(0.7, abs=0.02)
    # The copula correlates the normal scores: log(c) is the normal score of c.
    assert np.corrcoef(df["a"], np.log(df["c"]))[0, 1] == pytest.approx(-0.4, abs=0.02)
    # Pairs not listed are uncorrelated (the matrix has 0 there), not implied by the others.
    assert abs(np.corrcoef(df["b"], np.log(df["c"]))[0, 1]) < 0.03


def test_plausibility_bounds_reject_and_count() -> None:
    pop = _pop(
        parameters={"x": {"dist": "normal", "mean": 0, "sd": 1}},
        plausibility={"x": {"lower": -1, "upper": 1}},
    )
    df = pop.sample(np.arange(5000))
    assert df["x"].between(-1, 1).all()
    # P(|x| > 1) = 0.317: expected rejections per accepted patient 0.317/0.683.
    assert df["n_implausible"].mean() == pytest.approx(0.317 / 0.683, rel=0.1)


def test_bounded_retries_name_the_parameter() -> None:
    pop = _pop(
        parameters={
            "ok": {"dist": "normal", "mean": 0, "sd": 1},
            "x": {"dist": "normal", "mean": 0, "sd": 1},
        },
        plausibility={"x": {"lower": 6}},
        max_draws=20,
    )
    with pytest.raises(PopulationError, match=r"population\.plausibility\.x: .*max_draws"):
        pop.sample(np.arange(3))


def test_matching_selects_the_target_distribution() -> None:
    spec = {
        "parameters": {"x": {"dist": "normal", "mean": 0, "sd": 1}},
        "plausibility": {"x": {"lower": -2.5, "upper": 2.5}},
        "match": {
            "targets": [{"variable": "x", "target": {"dist": "normal", "mean": 0.5, "sd": 0.5}}],
            "pilot_size": 4000,
        },
    }
    df = _pop(**spec).sample(np.arange(8000))
    assert df["x"].mean() == pytest.approx(0.5, abs=0.03)
    assert df["x"].std() == pytest.approx(0.5, abs=0.03)
    assert df["n_unmatched"].sum() > 0
    # Without matching the same seed gives the plausible population (mean 0).
    plain = _pop(**{**spec, "match": None}).sample(np.arange(8000))
    assert abs(plain["x"].mean()) < 0.05


def test_matching_is_chunk_independent() -> None:
    spec = {
        "parameters": {"x": {"dist": "lognormal", "median": 1, "cv": 0.5}},
        "match": {
            "targets": [{"variable": "x", "target": {"dist": "uniform", "low": 0.8, "high": 1.5}}]
        },
    }
    whole = _pop(seed=9, **spec).sample(np.arange(300))
    part = _pop(seed=9, **spec).sample(np.arange(200, 300))
    assert part.reset_index(drop=True).equals(whole.iloc[200:].reset_index(drop=True))
    assert whole["x"].between(0.8, 1.5).all()


def test_seed_changes_patients_and_patient_seeds_are_distinct() -> None:
    spec = {"parameters": {"x": {"dist": "normal", "mean": 0, "sd": 1}}}
    a = _pop(seed=1, **spec).sample(np.arange(100))
    b = _pop(seed=2, **spec).sample(np.arange(100))
    assert not np.allclose(a["x"], b["x"])
    assert a["seed"].nunique() == 100 and a["seed"].dtype == np.uint64
