"""Find each drug's pgp_efficiency so that the full cell model (72 h assay, Km, binding) gives
the published MES-SA/Dx5 fold at P-gp density 1 - the definition of the reference line.

The linear-regime rule ``efficiency = fold - 1`` assumes steady state; with doxorubicin's
assumed DNA binding ratio (100) parental cells are still filling during a 72 h assay, so that
rule made the calibration return density 1.37 for MES-SA/Dx5 and every other MES-SA/Dx5 pair
came out 1.3x high (issue 17). Run: PYTHONPATH=src python research/calibrate_pgp_efficiency.py
"""

from __future__ import annotations

import math
from dataclasses import replace

from scipy.optimize import brentq

from mdrsim.data.library import load_library
from mdrsim.experiments.invitro import ic50
from mdrsim.experiments.pharmacology import conditions_for, drug_transport, kill_parameters

LIB = load_library()
LINE = LIB.cell_line("MES-SA/Dx5")
COND = conditions_for("MES-SA", library=LIB)

for drug, fold in LINE.fold_resistance.items():
    if fold.use not in ("calibration", "efficiency"):
        continue
    base = drug_transport(drug, library=LIB)
    kill = kill_parameters(drug, "MES-SA", library=LIB)
    unit_vmax = base.k_pass * base.pgp_km  # Vmax per unit efficiency
    parental = ic50(base, kill, density=0.0, conditions=COND)

    def gap(
        log_e: float, base=base, kill=kill, unit_vmax=unit_vmax, parental=parental, fold=fold
    ) -> float:
        t = replace(base, pgp_vmax=math.exp(log_e) * unit_vmax)
        return math.log(ic50(t, kill, density=1.0, conditions=COND) / parental) - math.log(
            fold.value
        )

    e = math.exp(brentq(gap, math.log(0.1), math.log(1e4), xtol=1e-6))
    print(f"{drug}: fold {fold.value:g} -> efficiency {e:.4g} (linear rule {fold.value - 1:g})")
