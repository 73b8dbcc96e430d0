"""Random numbers for the stochastic engines: per-trajectory streams and the samplers.

Seeding: trajectory ``i`` gets 256 bits of state from
``numpy.random.SeedSequence(seed).generate_state`` (words ``4i .. 4i+3``, a prefix of one
stream: the same whatever the number of trajectories), which seed a xoshiro256** generator
(Blackman & Vigna, ACM TOMS 2021;47:36) owned by that trajectory. Nothing depends on how the
trajectories are split between threads or trial chunks, only on (seed, i).

Samplers (numba, on a 4-word state updated in place): uniform on (0, 1], Exp(1) by
Marsaglia & Tsang's ziggurat, Poisson by Hörmann's PTRS and binomial by Hörmann's BTRS.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit, types

from mdrsim.errors import SimulationInputError

INV_2_53 = 1.0 / 9007199254740992.0


@njit(cache=True, nogil=True, inline="always")
def _rotl(x: Any, k: Any) -> Any:
    return (x << k) | (x >> (np.uint64(64) - k))


@njit(cache=True, nogil=True)
def _next_u64(s: np.ndarray) -> Any:
    """xoshiro256** 1.0: the next 64-bit output; ``s`` (4 words) is updated in place."""
    s1 = s[1]
    result = _rotl(s1 * np.uint64(5), np.uint64(7)) * np.uint64(9)
    t = s1 << np.uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], np.uint64(45))
    return result


@njit(cache=True, nogil=True)
def _uniform(s: np.ndarray) -> float:
    """Uniform on (0, 1] with 53 random bits (never 0, so ``-log(u)`` is finite)."""
    return (float(_next_u64(s) >> np.uint64(11)) + 1.0) * INV_2_53


def _ziggurat_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Marsaglia & Tsang's 256-layer ziggurat for Exp(1) (J Stat Softw 2000;5(8)), for
    53-bit integers: (k, w, f) = acceptance thresholds, widths per unit, densities."""
    r = 7.69711747013104972  # right edge of the base layer
    v = 0.0039496598225815571993  # area of every layer
    m = 2.0**53
    x = np.zeros(256)
    x[255] = r
    for i in range(254, 0, -1):
        x[i] = -math.log(v / x[i + 1] + math.exp(-x[i + 1]))
    q = v / math.exp(-r)  # width of a rectangle of area v at the base's height
    w = x / m
    w[0] = q / m
    f = np.exp(-x)
    f[0] = 1.0
    k = np.zeros(256, dtype=np.uint64)
    k[0] = np.uint64((r / q) * m)
    for i in range(2, 256):
        k[i] = np.uint64((x[i - 1] / x[i]) * m)
    return k, w, f


ZIG_K, ZIG_W, ZIG_F = _ziggurat_tables()
ZIG_R = 7.69711747013104972


@njit(cache=True, nogil=True)
def _xo_next(s0: Any, s1: Any, s2: Any, s3: Any) -> tuple[Any, Any, Any, Any, Any]:
    """xoshiro256** on a state held in registers: (64-bit output, new state)."""
    result = _rotl(s1 * np.uint64(5), np.uint64(7)) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, np.uint64(45))
    return result, s0, s1, s2, s3


@njit(cache=True, nogil=True)
def _xoshiro(s0: Any, s1: Any, s2: Any, s3: Any) -> tuple[float, Any, Any, Any, Any]:
    """Uniform on (0, 1] from a state held in registers, and the new state."""
    r, s0, s1, s2, s3 = _xo_next(s0, s1, s2, s3)
    return (float(r >> np.uint64(11)) + 1.0) * INV_2_53, s0, s1, s2, s3


@njit(cache=True, nogil=True, error_model="numpy")
def _zig_exp(s0: Any, s1: Any, s2: Any, s3: Any) -> tuple[float, Any, Any, Any, Any]:
    """Exp(1) by the ziggurat: one 64-bit draw, a table look-up and a compare 99% of the
    time. The layer is chosen by the low 8 bits, the abscissa by the top 53 (independent
    bits, unlike the original's reuse of one 32-bit word)."""
    while True:
        r, s0, s1, s2, s3 = _xo_next(s0, s1, s2, s3)
        idx = r & np.uint64(255)
        jz = r >> np.uint64(11)
        x = float(jz) * ZIG_W[idx]
        if jz < ZIG_K[idx]:
            return x, s0, s1, s2, s3
        u, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
        if idx == 0:
            return ZIG_R - math.log(u), s0, s1, s2, s3  # the tail beyond the base
        if ZIG_F[idx] + u * (ZIG_F[idx - 1] - ZIG_F[idx]) < math.exp(-x):
            return x, s0, s1, s2, s3


@njit(cache=True, nogil=True, error_model="numpy")
def _exponential(s: np.ndarray) -> float:
    e, s0, s1, s2, s3 = _zig_exp(s[0], s[1], s[2], s[3])
    s[0] = s0
    s[1] = s1
    s[2] = s2
    s[3] = s3
    return e


@njit(cache=True, nogil=True, error_model="numpy")
def _poisson(s: np.ndarray, lam: float) -> float:
    """Poisson(lam): multiplication method below 10, else Hörmann's PTRS (1993)."""
    if not lam > 0.0:
        return 0.0
    if lam < 10.0:
        enlam = math.exp(-lam)
        k = 0.0
        prod = _uniform(s)
        while prod > enlam:
            k += 1.0
            prod *= _uniform(s)
        return k
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u = _uniform(s) - 0.5
        v = _uniform(s)
        us = 0.5 - abs(u)
        if us <= 0.0:
            continue
        k = np.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return k
        if k < 0.0 or (us < 0.013 and v > us):
            continue
        lhs = math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b)
        if lhs <= -lam + k * loglam - math.lgamma(k + 1.0):
            return k


@njit(cache=True, nogil=True, error_model="numpy")
def _binomial(s: np.ndarray, n: float, p: float) -> float:
    """Binomial(n, p): inversion when n*min(p, 1-p) < 10, else Hörmann's BTRS (1993)."""
    if n <= 0.0 or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return n
    flip = p > 0.5
    if flip:
        p = 1.0 - p
    q = 1.0 - p
    if n * p < 10.0:
        r = p / q
        f = math.exp(n * math.log1p(-p))
        u = _uniform(s)
        x = 0.0
        while u > f and x < n:
            u -= f
            x += 1.0
            f *= r * (n - x + 1.0) / x
            if f <= 0.0:
                break
    else:
        spq = math.sqrt(n * p * q)
        b = 1.15 + 2.53 * spq
        a = -0.0873 + 0.0248 * b + 0.01 * p
        c = n * p + 0.5
        vr = 0.92 - 4.2 / b
        alpha = (2.83 + 5.1 / b) * spq
        lpq = math.log(p / q)
        m = np.floor((n + 1.0) * p)
        h = math.lgamma(m + 1.0) + math.lgamma(n - m + 1.0)
        while True:
            u = _uniform(s) - 0.5
            v = _uniform(s)
            us = 0.5 - abs(u)
            if us <= 0.0:
                continue
            k = np.floor((2.0 * a / us + b) * u + c)
            if k < 0.0 or k > n:
                continue
            if us >= 0.07 and v <= vr:
                x = k
                break
            lv = math.log(v * alpha / (a / (us * us) + b))
            if lv <= h - math.lgamma(k + 1.0) - math.lgamma(n - k + 1.0) + (k - m) * lpq:
                x = k
                break
    return n - x if flip else x


@njit(
    types.void(types.uint64[::1], types.float64[::1], types.int64, types.float64, types.float64),
    cache=True,
    nogil=True,
)
def sample_into(state: np.ndarray, out: np.ndarray, kind: int, a: float, b: float) -> None:
    """Fill ``out`` from one generator (tests of the samplers): kind 0 uniform, 1 exponential,
    2 Poisson(a), 3 binomial(a, b)."""
    for i in range(out.shape[0]):
        if kind == 0:
            out[i] = _uniform(state)
        elif kind == 1:
            out[i] = _exponential(state)
        elif kind == 2:
            out[i] = _poisson(state, a)
        else:
            out[i] = _binomial(state, a, b)


def trajectory_seeds(seed: int | np.random.SeedSequence, n: int, start: int = 0) -> np.ndarray:
    """Generator states (4 x uint64) of trajectories ``start .. start+n-1``.

    Row ``i`` is words ``4i .. 4i+3`` of ``SeedSequence(seed).generate_state``, a stream whose
    prefix does not depend on its length: it depends on (seed, i) only.
    """
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    words = seq.generate_state(4 * (start + n), dtype=np.uint64).reshape(start + n, 4)[start:]
    words = words.copy()
    zero = ~words.any(axis=1)  # the all-zero state is xoshiro's one fixed point
    words[zero, 0] = np.uint64(0x9E3779B97F4A7C15)
    return np.ascontiguousarray(words)


def seed_sequence(seed: int | np.random.SeedSequence | None) -> tuple[np.random.SeedSequence, Any]:
    """The SeedSequence behind a run, and what the provenance records to repeat it."""
    if seed is None:
        seq = np.random.SeedSequence()
        return seq, seq.entropy
    if isinstance(seed, np.random.SeedSequence):
        return seed, {"entropy": seed.entropy, "spawn_key": list(seed.spawn_key)}
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise SimulationInputError(f"seed must be an integer >= 0, got {seed!r}")
    return np.random.SeedSequence(int(seed)), int(seed)


__all__ = ["sample_into", "seed_sequence", "trajectory_seeds"]
