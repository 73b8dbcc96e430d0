"""Small models with known stochastic answers, shared by the stochastic-engine tests."""

from __future__ import annotations

import numpy as np

from mdrsim.model import Model, ModelBuilder


def birth_death(n0: float = 10, b: float = 1.0, d: float = 0.5) -> Model:
    """Linear birth–death process: X -> 2X at b*X, X -> 0 at d*X."""
    m = ModelBuilder("birth_death")
    m.species("X", n0, amount_based=True, unit="cells")
    m.parameter("b", b, unit="1/d").parameter("d", d, unit="1/d")
    m.reaction("birth", "b*X", reactants={"X": 1}, products={"X": 2})
    m.reaction("death", "d*X", reactants={"X": 1})
    return m.build()


def birth_death_moments(
    n0: float, b: float, d: float, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of the linear birth–death process from n0 cells (Bailey, The Elements of
    Stochastic Processes, 1964, ch. 8):
    m = n0 e^{gt}, var = n0 (b+d)/g e^{gt}(e^{gt} - 1) with g = b - d (var = 2 n0 b t if g = 0)."""
    g = b - d
    if g == 0:
        return np.full_like(t, n0, dtype=float), 2 * n0 * b * t
    e = np.exp(g * t)
    return n0 * e, n0 * (b + d) / g * e * (e - 1)


def mutation_model(alpha: float = 1e-3, b: float = 1.0, d: float = 0.0, s0: float = 1) -> Model:
    """Sensitive cells S divide at b (a daughter is resistant with probability alpha) and die at
    d; resistant cells R divide at b and die at d (Goldie & Coldman 1979)."""
    m = ModelBuilder("goldie_coldman")
    m.species("S", s0, amount_based=True, unit="cells")
    m.species("R", 0, amount_based=True, unit="cells")
    m.parameter("b", b, unit="1/d").parameter("d", d, unit="1/d").parameter("alpha", alpha)
    m.reaction("divide_S", "b*(1 - alpha)*S", reactants={"S": 1}, products={"S": 2})
    m.reaction("mutate_S", "b*alpha*S", reactants={"S": 1}, products={"S": 1, "R": 1})
    m.reaction("die_S", "d*S", reactants={"S": 1})
    m.reaction("divide_R", "b*R", reactants={"R": 1}, products={"R": 2})
    m.reaction("die_R", "d*R", reactants={"R": 1})
    return m.build()


def drug_kill(n0: float = 200, c0: float = 1.0, k: float = 0.7, kmax: float = 0.8) -> Model:
    """Cells N killed at kmax*C*N by a drug C that decays as dC/dt = -k C (a rate rule).

    Each cell survives to t with probability exp(-kmax int_0^t C), so N(t) is binomial."""
    m = ModelBuilder("drug_kill")
    m.species("N", n0, amount_based=True, unit="cells")
    m.parameter("C", c0, unit="uM", constant=False)
    m.parameter("k", k, unit="1/d").parameter("kmax", kmax, unit="1/(uM*d)")
    m.rate_rule("C", "-k*C")
    m.reaction("kill", "kmax*C*N", reactants={"N": 1})
    return m.build()


def drug_kill_species(n0: float = 200, c0: float = 1.0, k: float = 0.7, kmax: float = 0.8) -> Model:
    """The same with the drug as a concentration species eliminated by a reaction in a 5 L
    compartment (integrated continuously with continuous=['C'])."""
    m = ModelBuilder("drug_kill_species")
    m.compartment("plasma", 5.0)
    m.compartment("dish", 1.0)
    m.species("C", c0, compartment="plasma", unit="uM")
    m.species("N", n0, compartment="dish", unit="cells")
    m.parameter("k", k, unit="1/d").parameter("kmax", kmax, unit="1/(uM*d)")
    m.reaction("elimination", "k*C*plasma", reactants={"C": 1})
    m.reaction("kill", "kmax*C*N", reactants={"N": 1})
    return m.build()
