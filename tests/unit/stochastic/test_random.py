"""The kernel's own random numbers: xoshiro256** and its samplers against scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from mdrsim.engine.stochastic import sample_into

from .stats import chi_square_pvalue

UNIFORM, EXPONENTIAL, POISSON, BINOMIAL = 0, 1, 2, 3


def _draw(kind: int, n: int, a: float = 0.0, b: float = 0.0, seed: int = 1) -> np.ndarray:
    state = np.random.SeedSequence(seed).generate_state(4, dtype=np.uint64)
    out = np.empty(n)
    sample_into(state, out, kind, a, b)
    return out


def _xoshiro_reference(s: list[int], n: int) -> list[int]:
    """xoshiro256** 1.0 in Python integers (Blackman & Vigna's reference code)."""
    mask = (1 << 64) - 1

    def rotl(x: int, k: int) -> int:
        return ((x << k) | (x >> (64 - k))) & mask

    out = []
    for _ in range(n):
        out.append(rotl((s[1] * 5) & mask, 7) * 9 & mask)
        t = (s[1] << 17) & mask
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
    return out


def test_uniforms_are_the_reference_generator_bits():
    state = np.random.SeedSequence(3).generate_state(4, dtype=np.uint64)
    expected = _xoshiro_reference([int(w) for w in state], 5)
    out = np.empty(5)
    sample_into(state.copy(), out, UNIFORM, 0.0, 0.0)
    np.testing.assert_array_equal(out, [((e >> 11) + 1) * 2.0**-53 for e in expected])


def test_uniform_and_exponential_distributions():
    u = _draw(UNIFORM, 400_000)
    assert u.min() > 0.0 and u.max() <= 1.0
    assert stats.kstest(u, "uniform").pvalue > 1e-4
    e = _draw(EXPONENTIAL, 1_000_000, seed=2)
    assert stats.kstest(e, "expon").pvalue > 1e-4
    # The ziggurat's tail beyond its base layer (x > 7.697) has probability e^-7.697.
    p_tail = np.exp(-7.69711747013104972)
    assert abs((e > 7.69711747013104972).mean() - p_tail) < 4 * np.sqrt(p_tail / e.size)


@pytest.mark.parametrize("lam", [0.3, 4.0, 9.99, 10.0, 37.5, 1e4])
def test_poisson_matches_its_pmf(lam):
    x = _draw(POISSON, 200_000, lam, seed=int(lam * 10))
    assert np.all(x == np.round(x)) and x.min() >= 0
    top = int(lam + 12 * np.sqrt(lam) + 20)
    assert chi_square_pvalue(x, stats.poisson.pmf(np.arange(top), lam)) > 1e-4


def test_poisson_of_zero_is_zero_and_large_means_are_right():
    assert np.all(_draw(POISSON, 100, 0.0) == 0)
    x = _draw(POISSON, 100_000, 1e9)
    assert abs(x.mean() - 1e9) < 4 * np.sqrt(1e9 / x.size)


@pytest.mark.parametrize(
    ("n", "p"), [(20, 0.3), (1000, 0.004), (60, 0.5), (1000, 0.3), (50, 0.93), (10**6, 0.7)]
)
def test_binomial_matches_its_pmf(n, p):
    x = _draw(BINOMIAL, 200_000, float(n), p, seed=n)
    assert x.min() >= 0 and x.max() <= n
    lo = max(0, int(n * p - 12 * np.sqrt(n * p * (1 - p)) - 20))
    support = np.arange(lo, min(n, int(n * p + 12 * np.sqrt(n * p * (1 - p)) + 20)) + 1)
    pmf = np.zeros(support[-1] + 1)
    pmf[support] = stats.binom.pmf(support, n, p)
    assert chi_square_pvalue(x, pmf) > 1e-4


def test_binomial_edges():
    assert np.all(_draw(BINOMIAL, 10, 5.0, 0.0) == 0)
    assert np.all(_draw(BINOMIAL, 10, 5.0, 1.0) == 5)
    assert np.all(_draw(BINOMIAL, 10, 0.0, 0.5) == 0)
