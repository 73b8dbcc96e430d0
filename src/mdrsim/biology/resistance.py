"""The probability that a resistant clone already exists when a tumour is diagnosed.

A tumour grows from ``initial_cells`` sensitive cells. Each division (rate ``b`` per cell)
gives a resistant daughter with probability ``μ`` (mutation per division; Goldie & Coldman,
Cancer Treat Rep 1979;63:1727); cells die at rate ``d``; resistant cells divide and die at
the same rates (a neutral mutation). The tumour is diagnosed when the **sensitive**
population reaches ``N`` cells (as in Goldie & Coldman; for ``μN`` ≪ ``N`` it is the total).

Analytic reference. With ``d = 0`` no cell is lost, the sensitive population needs ``N - S0``
non-mutant divisions, and ``P(no resistant cell) = (1 - μ)^(N - S0) ≈ exp(-μ(N - S0))`` — the
Goldie–Coldman formula ``exp(-α(N - 1))`` for ``S0 = 1``. With death, more divisions are needed
and some resistant lineages die out before diagnosis. Derivation used here (large ``N``):
``S(t) = S0·e^{λt}`` with ``λ = b - d``, diagnosis at ``T = ln(N/S0)/λ``; mutations are a
Poisson process of intensity ``bμS(t)``, and a resistant lineage founded at ``s`` is still
alive at ``T`` with the linear birth–death survival probability ``λ/(b - d·e^{-λ(T-s)})``.
The number of resistant lineages alive at diagnosis is Poisson with mean

```
m = bμ ∫_0^T S0 e^{λs} λ/(b - d e^{-λ(T-s)}) ds = (bμN/d) · ln((b - d·S0/N)/(b - d))
```

so ``P(resistant clone at diagnosis) = 1 - exp(-m)``. ``m → μ(N - S0)`` as ``d → 0``; for
``S0 ≪ N`` the factor ``m/(μN) = -ln(1 - d/b)/(d/b)`` grows with the death-to-birth ratio,
between the surviving-lineage count ``μN`` and the mutation count ``μN·b/(b - d)``: a tumour
with more cell death has a higher chance of resistance at the same size (Iwasa, Nowak &
Michor, Genetics 2006;172:2557, who reach this conclusion for this birth–death–mutation
process). The mean resistant count at diagnosis is ``bμN·T`` (``μN·ln N`` for ``d = 0``, the
Luria–Delbrück mean).

Simulation (:func:`resistance_at_diagnosis`) uses :func:`mdrsim.engine.simulate_stochastic`:

- ``"tau"`` (default) and ``"hybrid"``: the sensitive population is continuous (its ODE; it is
  large after the first few divisions), resistant cells are discrete (tau-leaped, or every
  reaction exact), and the horizon is ``T = ln(N/S0)/(b(1 - μ) - d)``, when ``S`` reaches ``N``.
  Feasible to 1e9 cells and beyond with ``"tau"``; ``"hybrid"`` fires every resistant division
  and suits small resistant counts.
- ``"ssa"``: every division exact, from ``S0`` discrete cells; a model event stops the clock
  when ``S`` reaches ``N``; trajectories whose sensitive cells die out are never diagnosed
  and are left out (``n_diagnosed``). Limited to ``N <= 1e6``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from mdrsim.engine.stochastic import simulate_stochastic
from mdrsim.errors import SimulationInputError
from mdrsim.model import Model, ModelBuilder
from mdrsim.stats import wilson_interval

DiagnosisMethod = Literal["tau", "hybrid", "ssa"]
SSA_MAX_CELLS = 1e6
_GC = "Goldie & Coldman, Cancer Treat Rep 1979;63:1727: mutation per division"


def analytic_expected_lineages(
    mutation_rate: float,
    diagnosis_cells: float,
    *,
    birth_rate: float = 1.0,
    death_rate: float = 0.0,
    initial_cells: float = 1.0,
) -> float:
    """Mean number ``m`` of resistant lineages alive at diagnosis (module docstring)."""
    mu, n, b, d, s0 = mutation_rate, diagnosis_cells, birth_rate, death_rate, initial_cells
    if d == 0:
        return -math.log1p(-mu) * (n - s0) if mu < 1 else math.inf
    return b * mu * n / d * math.log((b - d * s0 / n) / (b - d))


def analytic_probability(
    mutation_rate: float,
    diagnosis_cells: float,
    *,
    birth_rate: float = 1.0,
    death_rate: float = 0.0,
    initial_cells: float = 1.0,
) -> float:
    """``1 - exp(-m)``: the probability that a resistant clone exists at diagnosis."""
    m = analytic_expected_lineages(
        mutation_rate,
        diagnosis_cells,
        birth_rate=birth_rate,
        death_rate=death_rate,
        initial_cells=initial_cells,
    )
    return float(-math.expm1(-m))


def analytic_mean_resistant(
    mutation_rate: float,
    diagnosis_cells: float,
    *,
    birth_rate: float = 1.0,
    death_rate: float = 0.0,
    initial_cells: float = 1.0,
) -> float:
    """Mean resistant cells at diagnosis, ``bμN·ln(N/S0)/(b - d)`` (large ``N``)."""
    b, d = birth_rate, death_rate
    return b * mutation_rate * diagnosis_cells * math.log(diagnosis_cells / initial_cells) / (b - d)


@dataclass(frozen=True)
class ResistanceAtDiagnosis:
    """Result of :func:`resistance_at_diagnosis`."""

    probability: float  # fraction of diagnosed tumours holding >= 1 resistant cell
    ci_low: float
    ci_high: float
    confidence: float
    analytic_probability: float
    expected_lineages: float  # m, the analytic Poisson mean
    mean_resistant_cells: float
    analytic_mean_resistant_cells: float
    resistant_cells: np.ndarray = field(repr=False)  # per diagnosed tumour
    n_trajectories: int
    n_diagnosed: int
    method: str
    horizon_days: float  # ln(N/S0)/(b(1 - μ) - d): days to diagnosis (deterministic)
    inputs: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (resistant-cell quantiles rather than every count)."""
        r = self.resistant_cells
        q = [0.5, 0.9, 0.99]
        return {
            "probability": self.probability,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "confidence": self.confidence,
            "analytic_probability": self.analytic_probability,
            "expected_lineages": self.expected_lineages,
            "mean_resistant_cells": self.mean_resistant_cells,
            "analytic_mean_resistant_cells": self.analytic_mean_resistant_cells,
            "resistant_cells_quantiles": (
                {str(k): float(v) for k, v in zip(q, np.quantile(r, q), strict=True)}
                if r.size
                else {}
            ),
            "n_trajectories": self.n_trajectories,
            "n_diagnosed": self.n_diagnosed,
            "method": self.method,
            "horizon_days": self.horizon_days,
            **self.inputs,
        }


def diagnosis_model(
    mutation_rate: float,
    *,
    birth_rate: float,
    death_rate: float,
    initial_cells: float,
    stop_cells: float | None = None,
) -> Model:
    """Sensitive ``S`` and resistant ``R`` cells (counts); with ``stop_cells``, a model event
    freezes every reaction when ``S`` reaches it or when the sensitive cells die out."""
    m = ModelBuilder("resistance_at_diagnosis")
    m.species("S", initial_cells, amount_based=True, unit="cells", description="sensitive")
    m.species("R", 0, amount_based=True, unit="cells", description="resistant")
    m.parameter("b", birth_rate, unit="1/d", source="user input: division rate")
    m.parameter("d", death_rate, unit="1/d", source="user input: death rate")
    m.parameter("mu", mutation_rate, unit="1/division", source=_GC)
    m.parameter("growing", 1.0, constant=False, description="1 until diagnosis")
    m.reaction("divide_S", "growing*b*(1 - mu)*S", reactants={"S": 1}, products={"S": 2})
    m.reaction("mutate_S", "growing*b*mu*S", reactants={"S": 1}, products={"S": 1, "R": 1})
    m.reaction("die_S", "growing*d*S", reactants={"S": 1})
    m.reaction("divide_R", "growing*b*R", reactants={"R": 1}, products={"R": 2})
    m.reaction("die_R", "growing*d*R", reactants={"R": 1})
    if stop_cells is not None:
        m.parameter("N_stop", stop_cells, unit="cells")
        m.event("diagnosed", "S >= N_stop", {"growing": 0})
        m.event("died_out", "S < 0.5", {"growing": 0})
    return m.build()


def _check(name: str, ok: bool, allowed: str, value: object) -> None:
    if not ok:
        raise SimulationInputError(f"{name} = {value!r}: allowed {allowed}")


def resistance_at_diagnosis(
    mutation_rate: float,
    diagnosis_cells: float,
    *,
    birth_rate: float = 1.0,
    death_rate: float = 0.0,
    initial_cells: float = 1.0,
    n_trajectories: int = 2000,
    seed: int | None = None,
    method: DiagnosisMethod = "tau",
    confidence: float = 0.95,
    tau_epsilon: float = 0.01,
) -> ResistanceAtDiagnosis:
    """Simulate tumours growing to ``diagnosis_cells`` sensitive cells; return the fraction
    holding a resistant clone (with a Wilson ``confidence`` interval), the resistant counts
    and the analytic reference. Rates are per day; see the module docstring for the model."""
    _check("mutation_rate", 0 < mutation_rate < 1, "0 < mutation_rate < 1", mutation_rate)
    _check("birth_rate", math.isfinite(birth_rate) and birth_rate > 0, "> 0", birth_rate)
    _check(
        "death_rate",
        math.isfinite(death_rate) and 0 <= death_rate < birth_rate * (1 - mutation_rate),
        "0 <= death_rate < birth_rate*(1 - mutation_rate) (the tumour must grow)",
        death_rate,
    )
    _check("initial_cells", initial_cells >= 1, ">= 1", initial_cells)
    _check(
        "diagnosis_cells",
        math.isfinite(diagnosis_cells) and diagnosis_cells > initial_cells,
        f"a finite number > initial_cells ({initial_cells:g})",
        diagnosis_cells,
    )
    _check("method", method in ("tau", "hybrid", "ssa"), "'tau', 'hybrid' or 'ssa'", method)
    _check("confidence", 0 < confidence < 1, "0 < confidence < 1", confidence)
    if method == "ssa":
        _check(
            "diagnosis_cells",
            diagnosis_cells <= SSA_MAX_CELLS,
            f"<= {SSA_MAX_CELLS:g} with method 'ssa' (every division is simulated); "
            "use 'tau' or 'hybrid'",
            diagnosis_cells,
        )
        _check("initial_cells", float(initial_cells).is_integer(), "a whole number", initial_cells)
    lam = birth_rate * (1 - mutation_rate) - death_rate
    horizon = math.log(diagnosis_cells / initial_cells) / lam
    kw = {"birth_rate": birth_rate, "death_rate": death_rate, "initial_cells": initial_cells}
    if method == "ssa":
        # A surviving lineage reaches N within a few 1/λ of the deterministic time.
        t_max = 2 * horizon + 50 / lam
        model = diagnosis_model(mutation_rate, stop_cells=math.ceil(diagnosis_cells), **kw)
        r = simulate_stochastic(
            model, [0.0, t_max], method="ssa", n_trajectories=n_trajectories, seed=seed
        )
        r.raise_on_failure()
        diagnosed = r.final("S") >= math.ceil(diagnosis_cells)
    else:
        model = diagnosis_model(mutation_rate, **kw)
        r = simulate_stochastic(
            model,
            [0.0, horizon],
            method=method,
            n_trajectories=n_trajectories,
            seed=seed,
            continuous=["S"],
            tau_epsilon=tau_epsilon,
            rtol=1e-8,
            atol=1e-6,
        )
        r.raise_on_failure()
        diagnosed = np.ones(n_trajectories, dtype=bool)
    resistant = np.asarray(r.final("R"))[diagnosed]
    k = int(np.count_nonzero(resistant > 0))
    n = int(diagnosed.sum())
    lo, hi = wilson_interval(k, n, confidence)
    return ResistanceAtDiagnosis(
        probability=k / n if n else math.nan,
        ci_low=lo,
        ci_high=hi,
        confidence=confidence,
        analytic_probability=analytic_probability(mutation_rate, diagnosis_cells, **kw),
        expected_lineages=analytic_expected_lineages(mutation_rate, diagnosis_cells, **kw),
        mean_resistant_cells=float(resistant.mean()) if n else math.nan,
        analytic_mean_resistant_cells=analytic_mean_resistant(mutation_rate, diagnosis_cells, **kw),
        resistant_cells=resistant,
        n_trajectories=n_trajectories,
        n_diagnosed=n,
        method=method,
        horizon_days=horizon,
        inputs={
            "mutation_rate": mutation_rate,
            "diagnosis_cells": diagnosis_cells,
            "birth_rate": birth_rate,
            "death_rate": death_rate,
            "initial_cells": initial_cells,
            "seed": seed,
        },
    )
