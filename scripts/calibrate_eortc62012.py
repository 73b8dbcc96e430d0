"""Calibrate the EORTC 62012 virtual population (examples/trial_eortc62012.yaml).

Grid search over the median Gompertz growth rate and the median tumour EC50 of doxorubicin
(log-normal, sigma 0.5 and 1.0) for the trial's median PFS (4.6 months) and median OS
(12.8 months; Judson et al., Lancet Oncol 2014, PMID 24618336). Prints, for each grid point, the
medians, the 1-year OS, ORR and toxicity of a virtual trial of N patients (default 1000), using
the example's deaths and scan window. Copy the chosen medians into the trial file.

    python scripts/calibrate_eortc62012.py [N] [--r 0.006,0.007] [--ec50 3.5,4.0]

(--ec50 is a factor on the library's in-vitro-calibrated tumour EC50 of doxorubicin.)
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

from mdrsim.data.library import load_library
from mdrsim.patient.deaths import DeathModel
from mdrsim.patient.model import build_patient_model
from mdrsim.patient.runner import default_inputs, run_patients
from mdrsim.patient.scenario import load_scenario
from mdrsim.trial.analysis import kaplan_meier

MONTH = 365.25 / 12
SCENARIO = Path(__file__).parents[1] / "examples" / "sarcoma_doxorubicin.yaml"


def main(n: int, rates: list[float], factors: list[float]) -> None:
    pm = build_patient_model(load_scenario(SCENARIO), load_library())
    names = pm.compiled.parameter_names
    default = pm.compiled.default_parameters()
    r_i, e_i = names.index("tum_r"), names.index("tum_EC50_doxorubicin")
    m_i = names.index("marrow_slope_doxorubicin")
    rng = np.random.default_rng(62012)
    z = rng.standard_normal((3, n))
    bsa = np.clip(1.85 + 0.2 * rng.standard_normal(n), 1.4, 2.4)
    seeds = rng.integers(0, 2**63, n, dtype=np.uint64)
    for r, ec50_factor in itertools.product(rates, factors):
        inputs = default_inputs(pm, n)
        inputs.params[:, r_i] = r * np.exp(0.5 * z[0])
        inputs.params[:, e_i] = default[e_i] * ec50_factor * np.exp(1.0 * z[1])
        inputs.params[:, m_i] = default[m_i] * np.exp(np.sqrt(np.log1p(0.44**2)) * z[2])
        inputs.bsa_m2 = bsa
        inputs.seeds = seeds
        ep = run_patients(
            pm, inputs, untreated_twin=False, record=(), deaths=DeathModel(fn_death=0.026),
            scan_window_days=7.0,
        ).endpoints  # fmt: skip
        ok = ep[ep["status"] == "ok"]
        pfs = kaplan_meier(ok["pfs_days"].to_numpy(float), ok["pfs_event"].to_numpy(bool), "pfs")
        os_ = kaplan_meier(ok["os_days"].to_numpy(float), ok["os_event"].to_numpy(bool), "os")
        t = os_.table
        os_1y = float(t["survival"].iloc[int(np.searchsorted(t["time"], 365.0, "right")) - 1])
        print(
            f"tum_r {r:<7g} EC50 x{ec50_factor:<4g} ({default[e_i] * ec50_factor:.3g} uM) "
            f"PFS {pfs.median / MONTH:5.2f} mo  "
            f"OS {os_.median / MONTH:5.2f} mo  1y OS {os_1y:.2f}  "
            f"ORR {ok['best_response'].isin(['CR', 'PR']).mean():.2f}  "
            f"FN {ok['febrile_neutropenia'].mean():.2f}  failed {len(ep) - len(ok)}",
            flush=True,
        )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", nargs="?", type=int, default=1000, help="patients per grid point")
    ap.add_argument("--r", default="0.0055,0.006,0.0065,0.007", help="median tum_r values (/day)")
    ap.add_argument("--ec50", default="3.0,3.5,4.0", help="EC50 factors on the library value")
    a = ap.parse_args()
    main(a.n, [float(x) for x in a.r.split(",")], [float(x) for x in a.ec50.split(",")])
