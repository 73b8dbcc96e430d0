"""Small models used across engine tests, each with a known answer."""

from __future__ import annotations

from mdrsim.model import Model, ModelBuilder


def one_compartment_pk(*, k_el: float = 0.5, volume: float = 10.0) -> Model:
    """Drug amount in a central compartment of ``volume`` L, first-order elimination.

    The species is a concentration (mg/L), so a bolus of D mg adds D/V to it.
    """
    b = ModelBuilder("pk1")
    b.compartment("central", volume, unit="L")
    b.species("C", 0.0, compartment="central", unit="mg/L")
    b.parameter("k_el", k_el, unit="1/d", source="assumed: test value")
    b.reaction("elimination", "k_el*C*central", reactants={"C": 1})
    b.observable("amount", "C*central", unit="mg")
    return b.build()


def logistic(r: float = 0.3, K: float = 100.0, N0: float = 1.0) -> Model:
    b = ModelBuilder("logistic")
    b.species("N", N0, unit="1e9 cells")
    b.parameter("r", r, unit="1/d").parameter("K", K, unit="1e9 cells")
    b.reaction("growth", "r*N*(1 - N/K)", products={"N": 1})
    return b.build()


def gompertz(r: float = 0.2, K: float = 50.0, N0: float = 0.5) -> Model:
    b = ModelBuilder("gompertz")
    b.species("N", N0, unit="1e9 cells")
    b.parameter("r", r, unit="1/d").parameter("K", K, unit="1e9 cells")
    b.rate_rule("N", "r*N*ln(K/N)")
    return b.build()


def forced_oscillator() -> Model:
    """dy/dt = -y + sin(t): non-autonomous, exercises the df/dt term of the method."""
    b = ModelBuilder("forced")
    b.parameter("y", 1.0, constant=False)
    b.rate_rule("y", "-2*y + sin(3*time)")
    return b.build()


def robertson() -> Model:
    b = ModelBuilder("robertson")
    b.species("y1", 1.0).species("y2", 0.0).species("y3", 0.0)
    b.parameter("k1", 0.04).parameter("k2", 3e7).parameter("k3", 1e4)
    b.reaction("r1", "k1*y1", reactants={"y1": 1}, products={"y2": 1})
    b.reaction("r2", "k2*y2^2", reactants={"y2": 2}, products={"y2": 1, "y3": 1})
    b.reaction("r3", "k3*y2*y3", reactants={"y2": 1, "y3": 1}, products={"y1": 1, "y3": 1})
    return b.build()


def van_der_pol(mu: float = 1000.0) -> Model:
    b = ModelBuilder("vdp")
    b.parameter("x", 2.0, constant=False).parameter("v", 0.0, constant=False)
    b.parameter("mu", mu)
    b.rate_rule("x", "v").rate_rule("v", "mu*(1 - x^2)*v - x")
    return b.build()
