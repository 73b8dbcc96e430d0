"""How the MDR1 effect ``d_ox`` (a labelled assumption) moves the mouse and patient read-outs.

    python docs/scripts/cd8_d_ox_range.py [--values 0,1,2,4,6,10,20] [--fitted]

For each value of ``d_ox`` (1/d, the extra death of newly activated CD8 T cells without MDR1
protection) prints the mouse study's MDR1-deficient/wild-type ratio of the peak and of day-60
memory (the quantity Chen et al., J Exp Med 2020, PMID 32302378, would pin down once read off
its figures), with the module's default (assumed) kinetics or, with ``--fitted``, the kinetics
of the CD8 fit (``CD8_FIT``). The patient-level scan is the CLI:

    mdrsim scan examples/doxorubicin.yaml --vary d_ox=0,1,2,4,6,10,20 --output cd8_memory_ratio
    mdrsim scan examples/doxorubicin_tariquidar.yaml --vary d_ox=0,1,2,4,6,10,20 \\
        --output cd8_memory_ratio

(docs/immune.md shows both tables side by side).
"""

from __future__ import annotations

import argparse

import numpy as np

from mdrsim.biology.immune import CD8_FIT
from mdrsim.engine import compile_model, simulate
from mdrsim.experiments.mouse_mdr1 import CHALLENGE_DAY, mouse_model


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--values", default="0,1,2,4,6,10,20")
    ap.add_argument("--fitted", action="store_true", help="the fitted kinetics (CD8_FIT)")
    args = ap.parse_args()
    values = [float(v) for v in args.values.split(",")]
    compiled = compile_model(mouse_model())
    t = np.arange(0.0, CHALLENGE_DAY + 0.01, 0.25)
    n = 2 * len(values)
    params: dict[str, object] = {
        "d_ox": np.repeat(values, 2),
        "mdr1_genotype_cd8": [1.0, 0.0] * len(values),
    }
    if args.fitted:
        params.update({name: v[0] for name, v in CD8_FIT.items()})
    res = simulate(
        compiled,
        t,
        params=params,  # type: ignore[arg-type]
        n_patients=n,
        rtol=1e-8,
        atol=1e-6,
        check=True,
    )
    cells = np.asarray(res["cd8_antigen_experienced"])
    print("| d_ox (1/d) | WT peak | MDR1-deficient peak | peak ratio | memory ratio (day 60) |")
    print("|---|---|---|---|---|")
    for i, v in enumerate(values):
        wt, ko = cells[2 * i], cells[2 * i + 1]
        print(
            f"| {v:g} | {wt.max():.3g} | {ko.max():.3g} | {ko.max() / wt.max():.2f} | "
            f"{ko[-1] / wt[-1]:.2f} |"
        )


if __name__ == "__main__":
    main()
