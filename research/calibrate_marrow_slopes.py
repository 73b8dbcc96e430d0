"""Choose the assumed marrow slopes of drugs that Friberg et al. 2002 did not model.

With the docetaxel system parameters (MTT 88.7 h, γ 0.161, Circ0 5.05e9/L) and the drug's
library PK, find the slope (1/µM) at which one standard single-agent dose (BSA 1.8 m²) gives
the target ANC nadir. Targets are assumptions stated in mdrsim.biology.marrow.MARROW_SLOPES.
Run: .venv/bin/python research/calibrate_marrow_slopes.py
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from mdrsim.biology.marrow import MarrowSlope, add_marrow
from mdrsim.biology.pk import add_pk
from mdrsim.data.library import load_library
from mdrsim.engine import EventTable, compile_model, simulate
from mdrsim.model import ModelBuilder
from mdrsim.patient.library_bridge import pk_from_library
from mdrsim.regimen.schedule import Patient

# drug: (dose mg/m2, days given in the cycle, infusion h, target nadir 1e9/L)
TARGETS = {
    "doxorubicin": (75.0, (1,), 0.0, 0.8),
    "cisplatin": (75.0, (1,), 1.0, 2.5),
    "etoposide": (100.0, (1, 2, 3), 1.0, 1.5),
    "vincristine": (1.4, (1,), 0.0, 4.5),
}


def nadir_for(drug: str, slope: float, dose: float, days: tuple[int, ...], inf_h: float) -> float:
    patient = Patient(bsa_m2=1.8)
    pk = pk_from_library(drug, patient, load_library())
    b = ModelBuilder("marrow_cal")
    conc = add_pk(b, drug, pk).plasma_uM
    circ, _ = add_marrow(b, {drug: conc}, slopes={drug: MarrowSlope(1.0, "calibration")})
    cm = compile_model(b.build())
    ev = EventTable()
    for d in days:
        c = dose * patient.bsa_m2 / pk.v1
        if inf_h > 0:
            ev.infusion(d - 1, d - 1 + inf_h / 24, f"{drug}_central", c / (inf_h / 24))
        else:
            ev.bolus(d - 1, f"{drug}_central", c)
    r = simulate(cm, np.linspace(0, 28, 673), params={f"marrow_slope_{drug}": slope}, events=ev)
    return float(np.min(r[circ][0]))


for drug, (dose, days, inf_h, target) in TARGETS.items():
    s = brentq(lambda x: nadir_for(drug, x, dose, days, inf_h) - target, 1e-4, 1e2, xtol=1e-6)
    print(f"{drug}: slope {s:.4g} 1/uM gives nadir {nadir_for(drug, s, dose, days, inf_h):.3f}")
