"""Virtual populations: marginal laws, a Gaussian copula, plausibility and target matching.

Every patient is drawn from its own generator seeded by ``SeedSequence((trial_seed, i))``, so
patient ``i`` is the same whatever the number of patients, the chunking or the worker. Each
attempt draws ``d`` standard normals (correlated with the Cholesky factor of the correlation
matrix, then mapped through each marginal's inverse CDF) and one uniform (for matching): the
stream layout is fixed, so a rejected attempt is redrawn from the same patient stream.

Matching (Allen et al., CPT Pharmacometrics Syst Pharmacol 2016;5:140, doi:10.1002/psp4.12063):
the density of the *plausible* population (after plausibility bounds) is estimated by a kernel
density on a pilot sample whose patients have their own seeds (independent of the trial's
patients and of chunking); a candidate is accepted with probability
``target(x) / (M · plausible(x))``, M the largest ratio over the pilot, using its own uniform.
Patient ``i`` keeps drawing until accepted, so the trial has exactly N patients that follow
the target.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special, stats

from mdrsim.errors import PhysicalBoundsError
from mdrsim.model.domain import Domain
from mdrsim.trial.errors import PopulationError, TrialSpecError
from mdrsim.trial.simulator import patient_seeds
from mdrsim.trial.spec import Beta, LogitNormal, LogNormal, Normal, PopulationSpec, Uniform

AnyDist = LogNormal | Normal | Uniform | Beta | LogitNormal
#: Second word of the pilot patients' seed: keeps them apart from the trial's patients.
PILOT_TAG = 0x70696C6F74
_GRID = 1024


def _frozen(d: AnyDist) -> stats.rv_continuous | None:
    """The scipy law of ``d`` (None for the logit-normal, handled by hand)."""
    if isinstance(d, LogNormal):
        return stats.lognorm(s=d.log_sd, scale=d.median)
    if isinstance(d, Normal):
        return stats.norm(loc=d.mean, scale=d.sd)
    if isinstance(d, Uniform):
        return stats.uniform(loc=d.low, scale=d.high - d.low)
    if isinstance(d, Beta):
        return stats.beta(d.alpha, d.beta)
    return None


def cdf(d: AnyDist, x: np.ndarray) -> np.ndarray:
    """CDF of the untruncated law."""
    if isinstance(d, LogitNormal):
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (special.logit(np.clip(x, 0.0, 1.0)) - special.logit(d.median)) / d.sigma
        return np.asarray(special.ndtr(z))
    return np.asarray(_frozen(d).cdf(x))  # type: ignore[union-attr]


def ppf(d: AnyDist, u: np.ndarray) -> np.ndarray:
    """Inverse CDF of the untruncated law."""
    if isinstance(d, LogitNormal):
        return np.asarray(special.expit(special.logit(d.median) + d.sigma * special.ndtri(u)))
    return np.asarray(_frozen(d).ppf(u))  # type: ignore[union-attr]


def transform(d: AnyDist, z: np.ndarray) -> np.ndarray:
    """Map standard normal scores ``z`` to the (possibly truncated) marginal ``d``."""
    if d.lower is None and d.upper is None:
        # Closed forms where they exist: exact in the tails, where ppf(ndtr(z)) loses digits.
        if isinstance(d, LogNormal):
            return d.median * np.exp(d.log_sd * z)
        if isinstance(d, Normal):
            return d.mean + d.sd * z
        if isinstance(d, LogitNormal):
            return np.asarray(special.expit(special.logit(d.median) + d.sigma * z))
        return ppf(d, special.ndtr(z))
    lo = cdf(d, np.array(d.lower)) if d.lower is not None else np.array(0.0)
    hi = cdf(d, np.array(d.upper)) if d.upper is not None else np.array(1.0)
    if not hi > lo:
        raise TrialSpecError(f"truncation [{d.lower}, {d.upper}] has zero probability")
    x = ppf(d, lo + special.ndtr(z) * (hi - lo))
    return np.clip(
        x,
        d.lower if d.lower is not None else -np.inf,
        d.upper if d.upper is not None else np.inf,
    )


def pdf(d: AnyDist, x: np.ndarray) -> np.ndarray:
    """Density of the (possibly truncated) law ``d``."""
    x = np.asarray(x, dtype=float)
    if isinstance(d, LogitNormal):
        inside = (x > 0) & (x < 1)
        xs = np.where(inside, x, 0.5)
        z = (special.logit(xs) - special.logit(d.median)) / d.sigma
        dens = np.where(inside, stats.norm.pdf(z) / (d.sigma * xs * (1 - xs)), 0.0)
    else:
        dens = np.asarray(_frozen(d).pdf(x))  # type: ignore[union-attr]
    if d.lower is None and d.upper is None:
        return dens
    lo = cdf(d, np.array(d.lower)) if d.lower is not None else 0.0
    hi = cdf(d, np.array(d.upper)) if d.upper is not None else 1.0
    inside = np.ones_like(x, dtype=bool)
    if d.lower is not None:
        inside &= x >= d.lower
    if d.upper is not None:
        inside &= x <= d.upper
    return np.where(inside, dens / (hi - lo), 0.0)


#: What a variable can physically be — the range its model declares (see
#: :class:`mdrsim.model.domain.Domain`; a bound may name another variable, e.g. ``tum_K``).
PhysicalBound = Domain


def _mass_outside(d: AnyDist, b: PhysicalBound, upper_fixed: bool = True) -> float:
    """Probability that the (possibly truncated) law ``d`` draws outside ``b``'s fixed bounds."""
    lo_t = cdf(d, np.array(d.lower)) if d.lower is not None else np.array(0.0)
    hi_t = cdf(d, np.array(d.upper)) if d.upper is not None else np.array(1.0)
    mass = float(hi_t - lo_t)
    if not mass > 0:
        return 0.0
    out = 0.0
    if b.lower is not None and (
        d.lower is None or d.lower < b.lower or (d.lower == b.lower and not b.lower_inclusive)
    ):
        out += max(0.0, float(cdf(d, np.array(b.lower))) - float(lo_t))
    if b.upper is not None and upper_fixed and (d.upper is None or d.upper > b.upper):
        out += max(0.0, float(hi_t) - float(cdf(d, np.array(b.upper))))
    return out / mass


#: A law that puts more than this probability outside a physical bound is refused up front.
MAX_IMPOSSIBLE_MASS = 1e-9


def correlation_matrix(spec: PopulationSpec) -> np.ndarray:
    names = spec.variable_names
    c = np.eye(len(names))
    for corr in spec.correlations:
        i, j = names.index(corr.between[0]), names.index(corr.between[1])
        c[i, j] = c[j, i] = corr.rho
    return c


@dataclass
class _MatchGrid:
    """Plausible density of one variable on a grid (linear interpolation), and its target."""

    column: int
    target: AnyDist
    grid: np.ndarray
    density: np.ndarray

    def ratio(self, x: np.ndarray) -> np.ndarray:
        plaus = np.interp(x, self.grid, self.density, left=0.0, right=0.0)
        # Where the plausible population has (almost) no mass the ratio is capped by M; a
        # floor avoids dividing by zero.
        floor = 1e-12 * float(self.density.max())
        return pdf(self.target, x) / np.maximum(plaus, floor)


@dataclass
class Population:
    """A sampler of virtual patients for one trial seed (picklable: sent to workers)."""

    spec: PopulationSpec
    seed: int
    #: Physical bounds of sampled names (from the simulator: model metadata and the library).
    physical: dict[str, PhysicalBound] = field(default_factory=dict)
    names: list[str] = field(init=False)
    chol: np.ndarray = field(init=False)
    match: list[_MatchGrid] = field(init=False, default_factory=list)
    match_scale: float = field(init=False, default=1.0)
    pilot_acceptance: float = field(init=False, default=1.0)

    def __post_init__(self) -> None:
        self.names = self.spec.variable_names
        try:
            self.chol = np.linalg.cholesky(correlation_matrix(self.spec))
        except np.linalg.LinAlgError:
            raise TrialSpecError(
                "population.correlations: the correlation matrix is not positive definite "
                "(the rho values are mutually inconsistent)"
            ) from None
        dists = self.spec.distributions()
        self._dists = [dists[n] for n in self.names]
        self._lower = np.array([self._bound(n, "lower", -np.inf) for n in self.names], dtype=float)
        self._upper = np.array([self._bound(n, "upper", np.inf) for n in self.names], dtype=float)
        self._check_physical_laws()
        if self.spec.match is not None:
            self._prepare_match()

    def _field(self, name: str) -> str:
        kind = "parameters" if name in self.spec.parameters else "covariates"
        return f"population.{kind}.{name}"

    def _check_physical_laws(self) -> None:
        """Refuse, before any patient is drawn, a law that can draw impossible values."""
        if self.spec.physical_bounds == "truncate":
            return
        dists = self.spec.distributions()
        for name, b in self.physical.items():
            if name not in dists:
                continue
            with np.errstate(all="ignore"):
                # A per-patient upper bound (another variable) is fixed when that is not sampled.
                p = _mass_outside(dists[name], b, upper_fixed=b.upper_name not in dists)
            if p > MAX_IMPOSSIBLE_MASS:
                raise PhysicalBoundsError(
                    f"{self._field(name)}: {p:.3g} of the draws would be outside its physical "
                    f"bounds {b.describe()}; truncate the law (lower:/upper:) or set "
                    "population.physical_bounds: truncate"
                )

    def _physical_ok(self, x: np.ndarray, patients: np.ndarray) -> np.ndarray:
        """[n, d] True where a value is physically possible (refuse mode raises instead)."""
        ok = np.ones_like(x, dtype=bool)
        for name, b in self.physical.items():
            if name not in self.names:
                continue
            j = self.names.index(name)
            upper: np.ndarray | float | None = None
            if b.upper_name is not None:
                upper = (
                    x[:, self.names.index(b.upper_name)] if b.upper_name in self.names else b.upper
                )
            inside = b.inside(x[:, j], upper)
            if self.spec.physical_bounds == "refuse" and not inside.all():
                k = int(np.argmin(inside))
                raise PhysicalBoundsError(
                    f"{self._field(name)}: patient {int(patients[k])} drew {x[k, j]:g}, outside "
                    f"its physical bounds {b.describe()}; truncate the law (lower:/upper:) or "
                    "set population.physical_bounds: truncate"
                )
            ok[:, j] = inside
        return ok

    def _bound(self, name: str, which: str, default: float) -> float:
        b = self.spec.plausibility.get(name)
        v = getattr(b, which) if b is not None else None
        return default if v is None else float(v)

    # -- one attempt for many patients ------------------------------------------------------
    def _values(self, z: np.ndarray) -> np.ndarray:
        """[n, d] standard normals → [n, d] values through the copula and marginals."""
        # Elementwise products summed in a fixed order, not a BLAS matmul: BLAS picks kernels
        # (FMA, blocking) by matrix shape, so a patient's value would depend on the chunk size.
        dim = z.shape[1]
        zc = np.zeros_like(z)
        for j in range(dim):
            for k in range(j + 1):
                if self.chol[j, k] != 0.0:
                    zc[:, j] += self.chol[j, k] * z[:, k]
        out = np.empty_like(zc)
        for j, d in enumerate(self._dists):
            out[:, j] = transform(d, zc[:, j])
        return out

    def _draw(
        self,
        seeds: list[np.random.SeedSequence],
        match: bool,
        patient_ids: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Values [n, d] and counts of plausibility / match rejections per patient."""
        n, dim = len(seeds), len(self.names)
        if patient_ids is None:
            patient_ids = np.arange(n)
        rngs = [np.random.default_rng(s) for s in seeds]
        values = np.full((n, dim), np.nan)
        n_plaus = np.zeros(n, dtype=np.int64)
        n_match = np.zeros(n, dtype=np.int64)
        violations = np.zeros(dim, dtype=np.int64)
        todo = np.arange(n)
        for _attempt in range(self.spec.max_draws):
            if todo.size == 0:
                break
            z = np.empty((todo.size, dim))
            u = np.empty(todo.size)
            for k, i in enumerate(todo):
                z[k] = rngs[i].standard_normal(dim)
                u[k] = rngs[i].random()
            with np.errstate(over="ignore", invalid="ignore"):
                x = self._values(z) if dim else z
            finite = np.isfinite(x)
            if not finite.all():
                j = int(np.argmin(finite.all(axis=0)))
                raise PopulationError(
                    f"population.{self.names[j]}: a draw overflowed a double (the law's scale "
                    "is too large for this variable's unit); narrow or truncate the law"
                )
            bad = (x < self._lower) | (x > self._upper)
            if self.physical:
                bad |= ~self._physical_ok(x, patient_ids[todo])
            violations += bad.sum(axis=0)
            ok = ~bad.any(axis=1)
            n_plaus[todo[~ok]] += 1
            if match and self.match:
                accept = u < self.accept_probability(x)
                n_match[todo[ok & ~accept]] += 1
                ok &= accept
            values[todo[ok]] = x[ok]
            todo = todo[~ok]
        if todo.size:
            where = (
                f"population.plausibility.{self.names[int(np.argmax(violations))]}: "
                f"the bounds rejected {int(violations.max())} draws"
                if violations.any()
                else "population.match: the targets rejected every draw"
            )
            raise PopulationError(
                f"{where}; {todo.size} patient(s) not drawn in {self.spec.max_draws} attempts "
                "(population.max_draws) — widen the bounds or the distributions"
            )
        return values, n_plaus, n_match

    # -- matching ---------------------------------------------------------------------------
    def _prepare_match(self) -> None:
        assert self.spec.match is not None
        m = self.spec.match
        seeds = [np.random.SeedSequence([self.seed, PILOT_TAG, j]) for j in range(m.pilot_size)]
        pilot, _, _ = self._draw(seeds, match=False)
        grids = []
        for t in m.targets:
            col = self.names.index(t.variable)
            v = pilot[:, col]
            if np.ptp(v) == 0:
                raise PopulationError(
                    f"population.match: {t.variable!r} does not vary in the plausible population"
                )
            kde = stats.gaussian_kde(v)
            bw = float(np.sqrt(kde.covariance[0, 0]))
            grid = np.linspace(v.min() - 3 * bw, v.max() + 3 * bw, _GRID)
            grids.append(_MatchGrid(col, t.target, grid, kde(grid)))
        self.match = grids
        ratio = self._ratio(pilot)
        self.match_scale = float(np.max(ratio))
        if not (np.isfinite(self.match_scale) and self.match_scale > 0):
            raise PopulationError(
                "population.match: the targets have no mass where the plausible population is"
            )
        self.pilot_acceptance = float(np.mean(np.minimum(1.0, ratio / self.match_scale)))

    def _ratio(self, x: np.ndarray) -> np.ndarray:
        r = np.ones(x.shape[0])
        for g in self.match:
            r *= g.ratio(x[:, g.column])
        return r

    def accept_probability(self, x: np.ndarray) -> np.ndarray:
        """Probability of keeping candidates ``x`` [n, d] (1 without matching)."""
        if not self.match:
            return np.ones(x.shape[0])
        return np.minimum(1.0, self._ratio(x) / self.match_scale)

    # -- public -----------------------------------------------------------------------------
    def sample(self, patients: np.ndarray) -> pd.DataFrame:
        """Patients with these trial indices: columns ``patient``, ``seed``, one per sampled
        name, then ``n_implausible`` and ``n_unmatched`` (rejected draws)."""
        idx = np.asarray(patients, dtype=np.int64)
        if idx.size and idx.min() < 0:
            raise PopulationError("patient indices must be >= 0")
        seeds = [np.random.SeedSequence([self.seed, int(i)]) for i in idx]
        values, n_plaus, n_match = self._draw(seeds, match=True, patient_ids=idx)
        df = pd.DataFrame({"patient": idx, "seed": patient_seeds(self.seed, idx)})
        for j, name in enumerate(self.names):
            df[name] = values[:, j]
        df["n_implausible"] = n_plaus
        df["n_unmatched"] = n_match
        return df


#: Columns of a sampled patient table that are bookkeeping, not inputs of a simulator.
BOOKKEEPING_COLUMNS = ("n_implausible", "n_unmatched")
