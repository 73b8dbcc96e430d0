"""The fitted CD8 parameter set (CD8_FIT) is opt-in, carries its source, and d_ox stays assumed."""

from __future__ import annotations

import math

from mdrsim.biology.immune import (
    CD8_FIT,
    D_OX_FITTED_KINETICS,
    CD8Parameters,
    add_cd8_response,
)
from mdrsim.model import ModelBuilder


def test_default_stays_assumed_and_fitted_set_is_opt_in():
    default = CD8Parameters()
    assert not default.fitted
    assert default.sources()["d_E"].startswith("De Boer")
    fitted = CD8Parameters.fitted_crauste2017(precursors=200.0)
    assert fitted.precursors == 200.0
    for name, (value, lo, hi) in CD8_FIT.items():
        assert getattr(fitted, name) == value
        if lo is not None and hi is not None:
            assert lo <= value <= hi  # the estimate lies inside its own profile interval
    assert fitted.d_ox == D_OX_FITTED_KINETICS


def test_fitted_sources_name_the_data_and_the_interval():
    src = CD8Parameters.fitted_crauste2017().sources()
    assert "doi:10.1016/j.cels.2017.01.014" in src["d_E"]
    assert "profile-likelihood interval [" in src["d_E"]
    assert src["d_ox"].startswith("assumed:")
    assert src["k_rec"].startswith("assumed:")
    lo = CD8_FIT["k_act"][1]
    if lo is not None and CD8_FIT["k_act"][2] is not None and math.isinf(CD8_FIT["k_act"][2]):
        assert "open (search bound)" in src["k_act"]


def test_fitted_set_reaches_the_model_with_its_sources():
    b = ModelBuilder("t")
    b.parameter("f", 1.0)
    add_cd8_response(b, antigen="0", mdr1_function="f", params=CD8Parameters.fitted_crauste2017())
    m = b.build()
    assert m.parameters["d_E"].value == CD8_FIT["d_E"][0]
    assert "Crauste" in m.parameters["d_E"].source
    assert "fitted" not in m.parameters
