"""The membrane-leaflet ("hydrophobic vacuum cleaner") variant of P-gp efflux."""

import pytest

from mdrsim.biology.cell import DrugTransport, add_drug_exchange
from mdrsim.engine import simulate
from mdrsim.model import ModelBuilder

DRUG = DrugTransport("d", k_pass=100.0, pgp_vmax=100.0 * 1.0 * 9.0, pgp_km=1.0, k_inactivation=50.0)


def _steady_free(leaflet: bool, k_flip: float | None = None) -> float:
    b = ModelBuilder("leaflet" if leaflet else "plain")
    b.species("medium", 0.01, boundary=True, unit="uM")
    b.parameter("rho", 1.0)
    free = add_drug_exchange(
        b, DRUG, cell="c", medium="medium", pgp_density="rho", leaflet=leaflet, k_flip=k_flip
    )
    r = simulate(b.build(), [0.0, 5.0], rtol=1e-10, atol=1e-14, check=True)
    return float(r[free][0][-1])


def test_fast_flip_flop_recovers_the_plain_model():
    plain = _steady_free(False)
    # Closed form of the plain model with a cytosolic sink (linear regime):
    # k (Cout - C) = (Vmax/Km) C + k_inact C
    expected = 100.0 * 0.01 / (100.0 + 900.0 + 50.0)
    assert plain == pytest.approx(expected, rel=1e-3)
    assert _steady_free(True, k_flip=1e6) == pytest.approx(plain, rel=1e-3)


def test_slow_flip_flop_lets_the_pump_intercept_drug_before_the_cytosol():
    # Steady state with a leaflet pool L: cytosol k_flip (L - C) = k_inact C, membrane
    # k (Cout - L) = (Vmax/Km) L + k_flip (L - C), hence
    # C = k Cout / ((k + Vmax/Km) (1 + k_inact/k_flip) + k_inact).
    k_flip = 50.0
    expected = 100.0 * 0.01 / ((100.0 + 900.0) * (1 + 50.0 / k_flip) + 50.0)
    leaflet = _steady_free(True, k_flip=k_flip)
    assert leaflet == pytest.approx(expected, rel=1e-3)
    assert leaflet < 0.6 * _steady_free(False)


def test_leaflet_needs_a_flip_rate():
    b = ModelBuilder("x")
    b.species("medium", 1.0, boundary=True)
    b.parameter("rho", 1.0)
    with pytest.raises(ValueError, match="k_flip"):
        add_drug_exchange(b, DRUG, cell="c", medium="medium", pgp_density="rho", leaflet=True)
