"""Transitions between MDR1 levels in ``add_tumour``: drug-induced up-regulation, reversion
off drug, spontaneous switching per division, and mass balance.

Fluxes are checked by evaluating the model's reaction rates at chosen states and comparing
them with the formulas of the module docstring written out by hand; dynamics by simulation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy

from mdrsim.biology.tumour import DrugKill, TumourSpec, add_tumour
from mdrsim.engine import EventTable, simulate
from mdrsim.model import Model, ModelBuilder

ALPHA = 0.02  # 1/(µM·d)
MU = 3e-3  # per division
R = 0.05  # 1/d
REV = 0.1  # 1/d
REV_HALF = 0.05  # µM


def _build(spec: TumourSpec, emax: float = 0.0, drugs: int = 1) -> tuple[Model, list[str]]:
    b = ModelBuilder("transitions")
    kills = []
    for k in range(drugs):
        b.parameter(f"c{k}", 0.0, constant=False, unit="uM")
        kills.append(DrugKill(f"d{k}", f"c{k}", 5.0, emax=emax, ec50=1.0, source="assumed: test"))
    clones = add_tumour(b, spec, tuple(kills)).clones
    return b.build(), clones


def _spec(**kw: object) -> TumourSpec:
    base: dict[str, object] = {
        "growth": "logistic",
        "r": R,
        "K": 100.0,
        "mu_up": MU,
        "mu_down": MU / 2,
        "induction": ALPHA,
        "reversion": REV,
        "reversion_half_uM": REV_HALF,
        "initial_total": 100.0,
        "initial_fractions": (0.6, 0.3, 0.1),
    }
    base.update(kw)
    return TumourSpec(**base)  # type: ignore[arg-type]


def _flux(model: Model, reaction: str, values: dict[str, float]) -> float:
    """A reaction's rate with the model's parameters, ``values`` overriding, rules applied."""
    subs = {sympy.Symbol(n): p.value for n, p in model.parameters.items()}
    subs.update({sympy.Symbol(n): s.initial for n, s in model.species.items()})
    subs.update({sympy.Symbol(k): v for k, v in values.items()})
    for name, rule in model.assignment_rules.items():
        subs[sympy.Symbol(name)] = rule.expression.xreplace(subs)
    return float(model.reactions[reaction].rate.xreplace(subs))


def test_induced_up_regulation_is_proportional_to_exposure():
    model, _ = _build(_spec(), drugs=2)
    state = {"T_parental": 40.0, "T_mdr1_low": 7.0}
    for c0, c1 in [(0.0, 0.0), (0.5, 0.0), (2.0, 0.0), (0.5, 1.5)]:
        v = {**state, "c0": c0, "c1": c1}
        assert _flux(model, "induced_up_T_parental", v) == pytest.approx(
            ALPHA * (c0 + c1) * 40.0, rel=1e-12, abs=1e-300
        )
        assert _flux(model, "induced_up_T_mdr1_low", v) == pytest.approx(
            ALPHA * (c0 + c1) * 7.0, rel=1e-12, abs=1e-300
        )
    # The highest level has nowhere to go.
    assert "induced_up_T_mdr1_high" not in model.reactions


def test_no_drug_induces_nothing():
    """Without drug and without spontaneous switching, no MDR1-high cell ever appears."""
    model, _ = _build(_spec(mu_up=0.0, initial_fractions=(1.0, 0.0, 0.0)))
    r = simulate(model, np.linspace(0, 200, 21), rtol=1e-9, atol=1e-14, check=True)
    assert np.all(r["T_mdr1_low"] == 0.0) and np.all(r["T_mdr1_high"] == 0.0)
    # The same tumour on drug at 1 µM does up-regulate.
    on = simulate(
        model, np.linspace(0, 200, 21), params={"c0": 1.0}, rtol=1e-9, atol=1e-14, check=True
    )
    assert on["T_mdr1_high"][0, -1] > 1.0


def test_reversion_flux_falls_with_drug_exposure():
    model, _ = _build(_spec())
    for c in (0.0, REV_HALF, 1.0):
        v = {"T_mdr1_high": 9.0, "c0": c}
        assert _flux(model, "reversion_T_mdr1_high", v) == pytest.approx(
            REV * REV_HALF / (REV_HALF + c) * 9.0, rel=1e-12
        )
    # At the half-exposure the reversion rate is half its drug-free value.
    half = _flux(model, "reversion_T_mdr1_high", {"T_mdr1_high": 1.0, "c0": REV_HALF})
    assert half == pytest.approx(REV / 2, rel=1e-12)


def test_mdr1_high_fraction_falls_with_the_expected_half_time_off_drug():
    """Off drug, over-expression is lost (science.md §3: within ~1 month, KB/VCR). With a
    7-day half-time (assumed: 'lost within a month' read as < 6 % left at day 30) the
    MDR1-high fraction halves every 7 days; the total is unchanged (logistic at K)."""
    half_time = 7.0
    spec = _spec(
        mu_up=0.0, mu_down=0.0, reversion=math.log(2) / half_time, initial_fractions=(0, 0, 1.0)
    )
    model, _ = _build(spec)
    t = np.linspace(0, 35, 36)
    r = simulate(model, t, rtol=1e-10, atol=1e-12, check=True)
    np.testing.assert_allclose(r["mdr1_high_fraction"][0], 2.0 ** (-t / half_time), rtol=1e-6)
    assert r["mdr1_high_fraction"][0, 30] < 0.06
    np.testing.assert_allclose(r["tumour_total"][0], 100.0, rtol=1e-9)


def test_spontaneous_switching_is_per_division():
    model, _ = _build(_spec())
    v = {"T_parental": 30.0, "T_mdr1_low": 5.0, "T_mdr1_high": 2.0, "c0": 0.7}
    assert _flux(model, "switch_up_T_parental", v) == pytest.approx(MU * R * 30.0, rel=1e-12)
    assert _flux(model, "switch_up_T_mdr1_low", v) == pytest.approx(MU * R * 5.0, rel=1e-12)
    assert _flux(model, "switch_down_T_mdr1_low", v) == pytest.approx(MU / 2 * R * 5.0, rel=1e-12)
    assert _flux(model, "switch_down_T_mdr1_high", v) == pytest.approx(MU / 2 * R * 2.0, rel=1e-12)
    # Twice the division rate, twice the switching.
    fast = _build(_spec(r=2 * R))[0]
    assert _flux(fast, "switch_up_T_parental", v) == pytest.approx(2 * MU * R * 30.0, rel=1e-12)


@pytest.mark.parametrize("trait", [False, True])
def test_transitions_alone_conserve_cells(trait):
    """Growth is zero (logistic at K) and the drug kills nothing (Emax = 0): every transition
    moves cells between clones, so the total stays K while the composition changes."""
    extra = {"trait_mu": 0.01, "trait_fold": 5.0} if trait else {}
    model, clones = _build(_spec(mu_up=0.1, mu_down=0.05, **extra), emax=0.0)
    for name, rx in model.reactions.items():
        if name.startswith(("switch_", "induced_", "reversion_", "trait_gain_")):
            assert len(rx.reactants) == 1 and len(rx.products) == 1, name
            assert list(rx.reactants.values()) == [1.0] == list(rx.products.values()), name
    t = np.linspace(0, 300, 31)
    # Drug on for 100 days (induction), then off (reversion).
    drug = EventTable().set_parameter(0.0, "c0", 0.5).set_parameter(100.0, "c0", 0.0)
    r = simulate(model, t, events=drug, rtol=1e-10, atol=1e-12, check=True)
    total = sum(r[c][0] for c in clones)
    np.testing.assert_allclose(total, 100.0, rtol=1e-8)
    np.testing.assert_allclose(r["tumour_total"][0], 100.0, rtol=1e-8)
    assert abs(r["T_parental"][0, -1] - 60.0) > 10.0  # the composition did change
