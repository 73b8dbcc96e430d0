"""Property: patient i's draw depends only on (trial seed, i) — never on N or chunking."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from mdrsim.trial import Population
from mdrsim.trial.spec import PopulationSpec

SPEC = PopulationSpec.model_validate(
    {
        "parameters": {
            "a": {"dist": "lognormal", "median": 1.0, "cv": 0.4},
            "b": {"dist": "normal", "mean": 0.0, "sd": 1.0, "lower": -1.5},
            "f": {"dist": "beta", "alpha": 1.2, "beta": 30},
        },
        "correlations": [{"between": ["a", "b"], "rho": 0.5}],
        "plausibility": {"a": {"lower": 0.5, "upper": 2.0}},
    }
)


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**40),
    n=st.integers(1, 60),
    chunk=st.integers(1, 25),
    order=st.randoms(use_true_random=False),
)
def test_patient_draw_independent_of_n_and_chunking(
    seed: int, n: int, chunk: int, order: object
) -> None:
    pop = Population(SPEC, seed)
    whole = pop.sample(np.arange(n))
    starts = list(range(0, n, chunk))
    order.shuffle(starts)  # type: ignore[attr-defined]
    parts = [Population(SPEC, seed).sample(np.arange(s, min(n, s + chunk))) for s in starts]
    joined = pd.concat(parts).sort_values("patient").reset_index(drop=True)
    assert joined.equals(whole)
    i = n - 1
    single = pop.sample(np.array([i]))
    assert single.equals(whole.iloc[[i]].reset_index(drop=True))
