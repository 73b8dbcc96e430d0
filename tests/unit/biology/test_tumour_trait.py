"""The optional non-P-gp resistance trait of ``add_tumour``.

Numbers are assumed (chosen so that the kill and growth rates are clearly apart):
logistic growth r = 0.1/d, K = 1000; a drug at 2 µM with EC50 1 µM; the trait multiplies EC50
by 50 and costs 10 % of growth.
"""

from __future__ import annotations

import numpy as np
import pytest

from mdrsim.biology.tumour import DrugKill, TumourSpec, add_tumour
from mdrsim.engine import compile_model, simulate
from mdrsim.model import ModelBuilder

BASE = ("T_parental", "T_mdr1_low", "T_mdr1_high")
TRAIT = dict(trait_fold=50.0, trait_cost=0.1, trait_initial_fraction=0.01)


def _spec(**kw: object) -> TumourSpec:
    args: dict[str, object] = {
        "growth": "logistic",
        "r": 0.1,
        "K": 1000.0,
        "initial_total": 10.0,
        "initial_fractions": (0.5, 0.25, 0.25),
        "mu_up": 0.0,
        "mu_down": 0.0,
    }
    args.update(kw)
    return TumourSpec(**args)  # type: ignore[arg-type]


def _model(spec: TumourSpec, efflux: float, emax: float, inhibitor: bool = False):
    b = ModelBuilder("trait")
    b.parameter("c", 2.0, unit="uM")
    b.parameter("inh", 0.0, unit="uM")
    drug = DrugKill("drug", "c", efflux, emax=emax, ec50=1.0, source="assumed: test")
    inh = "inh" if inhibitor else None
    clones = add_tumour(b, spec, (drug,), inhibitor=inh, inhibitor_ki=0.1).clones
    return compile_model(b.build()), clones


def test_trait_off_by_default_leaves_the_model_unchanged():
    b1, b2 = ModelBuilder("a"), ModelBuilder("a")
    drug = DrugKill("drug", "1.0", 3.0, emax=1.0, ec50=1.0, source="assumed: test")
    n1 = add_tumour(b1, TumourSpec(), (drug,))
    n2 = add_tumour(
        b2,
        TumourSpec(trait_fold=1.0, trait_mu=0.0, trait_cost=0.5, trait_initial_fraction=0.0),
        (drug,),
    )
    assert n1.clones == tuple(BASE) == n2.clones
    m1 = b1.build()
    assert not any("trait" in n for n in [*m1.parameters, *m1.species, *m1.reactions])
    # trait_cost alone does not switch the trait on; the models are identical.
    assert m1.content_hash() == b2.build().content_hash()
    assert not TumourSpec().has_trait and TumourSpec(trait_mu=1e-7).has_trait


def test_trait_clones_names_and_summaries():
    cm, clones = _model(_spec(**TRAIT), efflux=0.0, emax=0.0)
    assert list(clones) == [*BASE, *(f"{n}_trait" for n in BASE)]
    r = simulate(cm, [0.0, 1.0], rtol=1e-9, atol=1e-12, check=True)
    total = sum(r[c][0] for c in clones)
    np.testing.assert_allclose(r["tumour_total"][0], total, rtol=1e-12)
    high = r["T_mdr1_high"][0] + r["T_mdr1_high_trait"][0]
    np.testing.assert_allclose(r["mdr1_high_fraction"][0], high / total, rtol=1e-12)
    # Initial split: 1 % of every MDR1 level carries the trait.
    assert r["T_mdr1_high_trait"][0, 0] == pytest.approx(10.0 * 0.25 * 0.01)
    assert r["T_parental"][0, 0] == pytest.approx(10.0 * 0.5 * 0.99)


def test_trait_clone_survives_a_non_substrate_drug_that_kills_mdr1_high_cells():
    # Non-substrate (efflux 0): every clone without the trait sees 2 µM, kill 2/3 per day,
    # far above growth 0.1; trait clones see EC50 50 µM, kill 2/52 per day, below growth.
    cm, _ = _model(_spec(**TRAIT), efflux=0.0, emax=1.0)
    r = simulate(cm, np.linspace(0, 60, 61), rtol=1e-9, atol=1e-14, check=True)
    assert r["T_mdr1_high"][0, -1] < 1e-6 * r["T_mdr1_high"][0, 0]
    trait = sum(r[f"{n}_trait"][0] for n in BASE)
    assert trait[-1] > 5 * trait[0]
    assert trait[-1] / r["tumour_total"][0, -1] > 0.99


def test_p_gp_inhibitor_does_not_help_against_the_trait():
    # A substrate (efflux 10) that spares MDR1-high cells until an inhibitor blocks P-gp.
    spec = _spec(**TRAIT)
    cm, _ = _model(spec, efflux=10.0, emax=0.3, inhibitor=True)
    t = np.linspace(0, 150, 151)
    without = simulate(cm, t, rtol=1e-9, atol=1e-14, check=True)
    with_inh = simulate(cm, t, params={"inh": 10.0}, rtol=1e-9, atol=1e-14, check=True)
    # The inhibitor works on MDR1-high cells without the trait ...
    assert without["T_mdr1_high"][0, -1] > without["T_mdr1_high"][0, 0]
    assert with_inh["T_mdr1_high"][0, -1] < 1e-2 * with_inh["T_mdr1_high"][0, 0]
    # ... but trait-carrying cells grow regardless and take over the tumour.
    for r in (without, with_inh):
        trait = sum(r[f"{n}_trait"][0] for n in BASE)
        assert trait[-1] > 10 * trait[0]
    trait_inh = sum(with_inh[f"{n}_trait"][0, -1] for n in BASE)
    trait_no = sum(without[f"{n}_trait"][0, -1] for n in BASE)
    assert trait_inh >= 0.9 * trait_no
    assert trait_inh / with_inh["tumour_total"][0, -1] > 0.9


def test_trait_is_gained_per_division_and_costs_growth():
    cm, _ = _model(_spec(trait_mu=1e-3, trait_cost=0.3), efflux=0.0, emax=0.0)
    r = simulate(cm, [0.0, 1e-3], rtol=1e-12, atol=1e-15, check=True)
    # Initial slope of a trait clone: gain mu*r*N_parental (no trait cells at t = 0).
    slope = r["T_parental_trait"][0, 1] / 1e-3
    assert slope == pytest.approx(1e-3 * 0.1 * 5.0, rel=1e-3)
    # Half the cells carry the trait: their per-cell growth is (1 - 0.3) times the others'.
    cm, _ = _model(_spec(trait_cost=0.3, trait_initial_fraction=0.5), efflux=0.0, emax=0.0)
    r = simulate(cm, [0.0, 1e-3], rtol=1e-12, atol=1e-15, check=True)
    per_cell = {n: np.log(r[n][0, 1] / r[n][0, 0]) for n in ("T_parental", "T_parental_trait")}
    assert per_cell["T_parental_trait"] / per_cell["T_parental"] == pytest.approx(0.7, rel=1e-4)


@pytest.mark.parametrize(
    ("field", "value"),
    [("trait_fold", 0.0), ("trait_mu", -1.0), ("trait_cost", 1.0), ("trait_initial_fraction", 2)],
)
def test_invalid_trait_settings_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        TumourSpec(**{field: value})
