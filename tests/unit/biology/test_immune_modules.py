"""Immune builders: MDR1 function under inhibitors, chemo toxicity, rhodamine-123, NK cells,
and the two forms of CD8 killing of tumour cells."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mdrsim.biology.immune import (
    add_chemo_toxicity,
    add_mdr1_function,
    add_nk_cells,
    add_rhodamine_retention,
    add_tumour_killing,
)
from mdrsim.engine import simulate
from mdrsim.model import ModelBuilder


def _lymphocyte_model(genotype: float, inhibitor: float):
    b = ModelBuilder("lymph")
    b.parameter("drug", 1.0, unit="uM")
    b.parameter("I", inhibitor, unit="uM")
    f = add_mdr1_function(
        b, cell="cd8", genotype_function=genotype, inhibitor="I", inhibitor_ki=0.005
    )
    b.species("M", 1000.0, unit="cells")
    add_chemo_toxicity(
        b,
        cells=("M",),
        drug_plasma="drug",
        mdr1_function=f,
        efflux_efficiency=9.0,
        emax=1.0,
        ec50=1.0,
        source="assumed: test",
    )
    add_rhodamine_retention(b, mdr1_function=f, efflux_efficiency=9.0, source="assumed: test")
    return b.build()


def test_pgp_protects_lymphocytes_from_chemotherapy_until_an_inhibitor_blocks_it():
    t = [0.0, 2.0]
    wild = simulate(_lymphocyte_model(1.0, 0.0), t, rtol=1e-10, atol=1e-12, check=True)
    blocked = simulate(_lymphocyte_model(1.0, 0.27), t, rtol=1e-10, atol=1e-12, check=True)
    knockout = simulate(_lymphocyte_model(0.0, 0.0), t, rtol=1e-10, atol=1e-12, check=True)
    # C_in = 1/(1 + f*9): 0.1 µM with P-gp, 1 µM without; kill = C/(1 + C) per day.
    assert wild["chemo_in_lymphocytes"][0][0] == pytest.approx(0.1)
    assert wild["M"][0][-1] == pytest.approx(1000 * math.exp(-2 * 0.1 / 1.1), rel=1e-8)
    assert knockout["M"][0][-1] == pytest.approx(1000 * math.exp(-2 * 0.5), rel=1e-8)
    f_blocked = 1 / (1 + 0.27 / 0.005)
    c_blocked = 1 / (1 + 9 * f_blocked)
    assert blocked["M"][0][-1] == pytest.approx(
        1000 * math.exp(-2 * c_blocked / (1 + c_blocked)), rel=1e-8
    )
    assert wild["rh123_retention"][0][0] == pytest.approx(0.1)
    assert blocked["rh123_retention"][0][0] > 0.8  # the clinical read-out of P-gp block


def test_nk_cells_reach_their_homeostatic_level():
    b = ModelBuilder("nk")
    add_nk_cells(b, initial=0.0, source_rate=100.0, death_rate=0.1, source="assumed: test")
    r = simulate(b.build(), [0.0, 100.0], rtol=1e-10, atol=1e-10, check=True)
    assert r["NK"][0][-1] == pytest.approx(1000 * (1 - math.exp(-10)), rel=1e-8)


def _tumour_model(form: str, **kw):
    b = ModelBuilder(f"kill_{form}")
    b.species("T", 1e6, unit="cells").species("L", 1e5, unit="cells").species("Ag", 0.0)
    add_tumour_killing(b, tumour="T", effectors="L", form=form, antigen="Ag", **kw)
    return b.build()


def test_ratio_dependent_kill_follows_de_pillis():
    m = _tumour_model("ratio", d_max=2.0, exponent=1.5, half_ratio=0.5, antigen_per_cell=1.0)
    r = simulate(m, [0.0, 1e-6], rtol=1e-12, atol=1e-6, check=True)
    ratio = 1e5 / 1e6
    rate = 2.0 * ratio**1.5 / (0.5 + ratio**1.5) * 1e6
    killed = 1e6 - r["T"][0][-1]
    assert killed / 1e-6 == pytest.approx(rate, rel=1e-4)
    assert r["Ag"][0][-1] == pytest.approx(killed, rel=1e-6)  # antigen released by dying cells


def test_mass_action_kill_and_tumour_induced_inactivation():
    m = _tumour_model("mass_action", k=1e-7, inactivation=1e-8, effector_species="L")
    r = simulate(m, [0.0, 1e-6], rtol=1e-12, atol=1e-6, check=True)
    assert (1e6 - r["T"][0][-1]) / 1e-6 == pytest.approx(1e-7 * 1e5 * 1e6, rel=1e-4)
    assert (1e5 - r["L"][0][-1]) / 1e-6 == pytest.approx(1e-8 * 1e5 * 1e6, rel=1e-4)


def test_unknown_kill_form_is_rejected():
    with pytest.raises(ValueError, match="allowed 'ratio'"):
        _tumour_model("sigmoid")


def test_mouse_rhodamine_readout_tracks_the_inhibitor():
    from mdrsim.experiments.mouse_mdr1 import DEFAULT_GROUPS, run_study

    s = run_study(DEFAULT_GROUPS)
    rh = s.result["rh123_retention"]
    t = s.result.times
    day2 = np.searchsorted(t, 2.0)
    assert rh[0][day2] == pytest.approx(0.1)  # wild type: P-gp pumps it out
    assert rh[2][day2] > 0.8  # under tariquidar: retained
    assert rh[1][day2] == pytest.approx(1.0)  # MDR1-deficient
