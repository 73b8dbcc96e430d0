"""Sampling-error helpers: every tolerance in these tests is a number of standard errors."""

from __future__ import annotations

import numpy as np
from scipy import stats

Z = 4.0  # standard errors allowed: a correct engine fails one comparison in ~16,000


def se_mean(sample: np.ndarray) -> float:
    return float(sample.std(ddof=1) / np.sqrt(sample.size))


def se_var(sample: np.ndarray) -> float:
    """Standard error of the sample variance, from the sample's 4th central moment."""
    c = sample - sample.mean()
    m2 = np.mean(c**2)
    m4 = np.mean(c**4)
    return float(np.sqrt(max(m4 - m2**2, 0.0) / sample.size))


def assert_mean_var(sample: np.ndarray, mean: float, var: float, what: str = "") -> None:
    """Sample mean and variance within Z standard errors of the expected values."""
    n = sample.size
    assert abs(sample.mean() - mean) <= Z * np.sqrt(var / n), (
        f"{what} mean {sample.mean():.6g} vs {mean:.6g} (se {np.sqrt(var / n):.3g})"
    )
    assert abs(sample.var(ddof=1) - var) <= Z * se_var(sample), (
        f"{what} variance {sample.var(ddof=1):.6g} vs {var:.6g} (se {se_var(sample):.3g})"
    )


def chi_square_pvalue(sample: np.ndarray, pmf: np.ndarray, min_expected: float = 5.0) -> float:
    """Goodness of fit of integer ``sample`` to ``pmf`` over 0..len(pmf)-1 (tails pooled)."""
    n = sample.size
    counts = np.bincount(sample.astype(np.int64), minlength=pmf.size)[: pmf.size]
    expected = n * pmf
    # Pool neighbouring cells until each expects at least min_expected.
    obs_bins, exp_bins = [], []
    o_acc = e_acc = 0.0
    for o, e in zip(counts, expected, strict=True):
        o_acc += o
        e_acc += e
        if e_acc >= min_expected:
            obs_bins.append(o_acc)
            exp_bins.append(e_acc)
            o_acc = e_acc = 0.0
    obs_bins[-1] += o_acc + (n - counts.sum())
    exp_bins[-1] += e_acc + (n - expected.sum())
    obs = np.array(obs_bins)
    exp = np.array(exp_bins)
    return float(stats.chisquare(obs, exp * obs.sum() / exp.sum()).pvalue)
