"""Hypothesis property tests: random small mass-action networks.

Each species gets a positive integer 'mass'; reactions are drawn so that they conserve mass
(A -> B with equal masses, A + B -> C with m(C) = m(A) + m(B), and the reverse split), so
sum(mass * amount) is an exact invariant. Populations must stay non-negative within atol.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mdrsim.engine import compile_model, simulate
from mdrsim.model import ModelBuilder

MASSES = [1, 1, 2, 3]  # species S0..S3: S0+S1 -> S2, S0+S2 -> S3, S1 <-> S0, ...
TEMPLATES = [
    ({"S0": 1}, {"S1": 1}),
    ({"S1": 1}, {"S0": 1}),
    ({"S0": 1, "S1": 1}, {"S2": 1}),
    ({"S2": 1}, {"S0": 1, "S1": 1}),
    ({"S0": 1, "S2": 1}, {"S3": 1}),
    ({"S3": 1}, {"S1": 1, "S2": 1}),
    ({"S0": 2}, {"S2": 1}),
    ({"S3": 1}, {"S0": 3}),
]


def _network(chosen: list[int]):
    b = ModelBuilder("mass_action")
    for i in range(4):
        b.species(f"S{i}", 1.0, amount_based=True)
    for j, template in enumerate(sorted(set(chosen))):
        reactants, products = TEMPLATES[template]
        b.parameter(f"k{j}", 1.0)
        law = "*".join([f"k{j}"] + [f"{s}^{n}" if n > 1 else s for s, n in reactants.items()])
        b.reaction(f"R{j}", law, reactants=reactants, products=products)
    return b.build()


networks = st.lists(st.integers(0, len(TEMPLATES) - 1), min_size=1, max_size=5)
rates = st.lists(st.floats(1e-3, 1e4), min_size=5, max_size=5)
initial = st.lists(st.floats(0.0, 10.0), min_size=4, max_size=4)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chosen=networks, k=rates, x0=initial)
def test_random_networks_stay_non_negative_and_conserve_mass(chosen, k, x0):
    model = _network(chosen)
    cm = compile_model(model)
    n_rates = len({c for c in chosen})
    atol = 1e-8
    r = simulate(
        cm,
        np.linspace(0, 10, 21),
        params={f"k{j}": k[j] for j in range(n_rates)},
        initial={f"S{i}": x0[i] for i in range(4)},
        rtol=1e-7,
        atol=atol,
        check=True,
    )
    amounts = np.stack([r[f"S{i}"][0] for i in range(4)])
    assert amounts.min() >= -10 * atol
    total = np.tensordot(MASSES, amounts, axes=1)
    np.testing.assert_allclose(total, total[0], rtol=1e-6, atol=1e-6)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 40), workers=st.integers(1, 4))
def test_batch_results_are_independent_of_chunking(seed, n, workers):
    model = _network([0, 2, 3, 4])
    cm = compile_model(model)
    rng = np.random.default_rng(seed)
    params = {f"k{j}": 10 ** rng.uniform(-2, 3, n) for j in range(4)}
    t = np.linspace(0, 5, 6)
    a = simulate(cm, t, params=params, workers=1)
    b = simulate(cm, t, params=params, workers=workers)
    assert np.array_equal(a.states, b.states)
    assert np.array_equal(a.status, b.status)
