"""Results depend on the seed and the trajectory index only: not on workers or batch size."""

from __future__ import annotations

import numpy as np
import pytest

from mdrsim.engine import EventTable
from mdrsim.engine.stochastic import simulate_stochastic, trajectory_seeds

from .models import drug_kill, mutation_model

CASES = {
    "ssa": (mutation_model(alpha=0.01, d=0.3, s0=20), {}),
    "tau": (mutation_model(alpha=0.01, d=0.3, s0=2000), {}),
    "hybrid": (drug_kill(300), {"events": EventTable().bolus(0.5, "C", 1.0)}),
}


@pytest.mark.parametrize("method", list(CASES))
def test_bitwise_identical_for_any_worker_count_and_batch_size(method):
    model, kwargs = CASES[method]
    t = np.linspace(0.0, 2.0, 5)
    runs = [
        simulate_stochastic(
            model, t, method=method, n_trajectories=23, seed=2024, workers=w, **kwargs
        )
        for w in (1, 2, 5)
    ]
    for other in runs[1:]:
        assert np.array_equal(runs[0].states, other.states)
        assert np.array_equal(runs[0].stats, other.stats)
    # Trajectory i is the same in a batch of 23 and in a batch of 7.
    small = simulate_stochastic(model, t, method=method, n_trajectories=7, seed=2024, **kwargs)
    assert np.array_equal(small.states, runs[0].states[:7])
    # ... and a different seed gives different trajectories.
    other_seed = simulate_stochastic(model, t, method=method, n_trajectories=7, seed=2025, **kwargs)
    assert not np.array_equal(small.states, other_seed.states)


def test_a_run_without_seed_records_entropy_that_reproduces_it():
    model, _ = CASES["ssa"]
    t = [0.0, 1.0, 2.0]
    first = simulate_stochastic(model, t, n_trajectories=10)
    entropy = first.provenance["seed"]
    assert isinstance(entropy, int)
    again = simulate_stochastic(model, t, n_trajectories=10, seed=entropy)
    assert np.array_equal(first.states, again.states)


def test_trajectory_seeds_are_a_prefix_and_distinct():
    a = trajectory_seeds(7, 5)
    b = trajectory_seeds(7, 1000)
    assert a.dtype == np.uint64 and a.shape == (5, 4)
    assert np.array_equal(a, b[:5])
    assert len({tuple(row) for row in b}) == 1000
    assert not np.array_equal(trajectory_seeds(8, 5), a)
    seq = np.random.SeedSequence(7)
    assert np.array_equal(trajectory_seeds(seq, 5), a)


def test_a_chunked_run_with_the_engine_matches_the_whole_run():
    """What a trial runner does: patients in chunks, each with its rows of the seed stream."""
    from mdrsim.engine.stochastic import run_stochastic_batch
    from mdrsim.engine.stochastic_codegen import compile_stochastic

    model, _ = CASES["ssa"]
    sm = compile_stochastic(model)
    t = np.linspace(0.0, 2.0, 5)
    whole = simulate_stochastic(sm, t, n_trajectories=12, seed=99)
    p = np.tile(sm.ode.default_parameters(), (5, 1))
    y0 = np.tile(sm.ode.default_initial_state(), (5, 1))
    chunk = run_stochastic_batch(sm, p, y0, t, rng_states=trajectory_seeds(99, 5, start=4))
    assert np.array_equal(chunk.states, whole.states[4:9])
    assert np.array_equal(trajectory_seeds(99, 5, start=4), trajectory_seeds(99, 12)[4:9])
