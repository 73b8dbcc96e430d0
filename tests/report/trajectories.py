"""A constructed one-patient trajectory with every variable family the patient figures draw."""

from __future__ import annotations

import numpy as np
import pandas as pd


def make_traj(t_end: float = 120.0, n: int = 241) -> pd.DataFrame:
    """Tidy table (time, variable, value): three clones, one drug with two intracellular
    series, four CD8 states and their MDR1 function, ANC and one pathogen."""
    t = np.linspace(0.0, t_end, n)
    parental = 50.0 * np.exp(-0.08 * t)
    low = 0.5 * np.exp(0.01 * t)
    high = 1e-3 * np.exp(0.06 * t)
    plasma = np.zeros_like(t)
    for day in (0.0, 21.0, 42.0, 63.0):
        on = t >= day
        plasma[on] += 2.0 * np.exp(-0.8 * (t[on] - day))
    series = {
        "T_parental": parental,
        "T_mdr1_low": low,
        "T_mdr1_high": high,
        "tumour_total": parental + low + high,
        "mdr1_high_fraction": high / (parental + low + high),
        "doxorubicin_plasma_uM": plasma,
        "doxorubicin_intracellular_parental_uM": 3.0 * plasma,
        "doxorubicin_intracellular_mdr1_high_uM": 0.2 * plasma,
        "N_cd8": np.full_like(t, 1e5),
        "A_cd8": 1e3 + 1e6 * np.exp(-(((t - 8.0) / 3.0) ** 2)),
        "E_cd8": 1e2 + 1e7 * np.exp(-(((t - 10.0) / 4.0) ** 2)),
        "M_cd8": 1.0 + 1e5 * (1.0 - np.exp(-t / 20.0)),
        "mdr1_function_cd8": 0.5 + 0.4 * np.tanh((t - 30.0) / 10.0),
        "ANC": 4.0 - 3.7 * np.exp(-((((t % 21.0) - 10.0) / 3.0) ** 2)),
        "virus": 1e-3 + 1e5 * np.exp(-(((t - 4.0) / 2.0) ** 2)),
    }
    return pd.concat(
        [pd.DataFrame({"time": t, "variable": k, "value": v}) for k, v in series.items()],
        ignore_index=True,
    )
