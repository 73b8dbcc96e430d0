"""Greene et al. 2019: with drug-induced resistance, pulsed and constant dosing swap ranks.

Source: Greene JM, Gevertz JL, Sontag ED. A mathematical approach to distinguish spontaneous
from induced evolution of drug resistance during cancer treatment. JCO Clin Cancer Inform
2019;3:1-20, DOI 10.1200/CCI.18.00087; the curated model is BioModels BIOMD0000000825.
Non-dimensional model (time in units of the sensitive cells' growth time, volume in units of
the carrying capacity):

    dS/dt = (1 - (S + R)) S - (eps + alpha u(t)) S - d u(t) S
    dR/dt = p_r (1 - (S + R)) R + (eps + alpha u(t)) S

Parameter values are those of BIOMD0000000825 (its parameter list; the paper itself was not
accessible here): eps = 1e-6, d = 1, p_r = 0.2, S(0) = 0.01, R(0) = 0; treatment starts when
V = S + R reaches V_d = 0.1; treatment fails at t_c, the first time V reaches V_c = 0.9 (the
paper's failure time); pulsed therapy u_on = 1.5 for dt_on = 1 then 0 for dt_off = 3;
alpha = 0.01 with induction. The constant schedule gives the same total dose,
u = u_on dt_on / (dt_on + dt_off) = 0.375 (the paper's comparison at equal cumulative dose).

Built from mdrsim pieces: ``add_tumour`` with two levels (sensitive, density 0; resistant,
density 1), logistic growth with r = 1, K = 1 and a fitness cost 0.8 (so R grows at
p_r = 0.2), spontaneous switching mu_up = eps per division (r = 1), no back-switching, drug
induction ``induction = alpha`` and a linear kill ``Emax*C`` with Emax = d. The resistant
cells' complete resistance is P-gp efflux efficiency 1e12 (assumed: any value making the
residual kill negligible; it is < 2e-12 per unit time here). A second test checks that this
mapping integrates the paper's equations (written separately with ModelBuilder) to 1e-6.

What is asserted (the paper's claim that induction gives qualitatively different responses to
the same dose and schedule; the direction is what the BIOMD0000000825 values give):
without induction constant dosing fails far later than pulsed dosing (pulsed fails early, by
sensitive regrowth between pulses); with induction alpha = 0.01 (and 0.05) the ranking swaps and
pulsed dosing fails later. The ODE is integrated at rtol 1e-9, so t_c is accurate to far better
than the margins asserted (>= 2 % and > 0.5 time unit).
"""

from __future__ import annotations

import numpy as np
import pytest

from mdrsim.biology.tumour import DrugKill, TumourSpec, add_tumour
from mdrsim.engine import CompiledModel, EventTable, compile_model, simulate
from mdrsim.model import ModelBuilder

# BIOMD0000000825 parameter values.
EPS, D_KILL, P_R, S0 = 1e-6, 1.0, 0.2, 0.01
V_D, V_C = 0.1, 0.9
U_ON, DT_ON, DT_OFF = 1.5, 1.0, 3.0
ALPHA_PAPER = 0.01
HORIZON = 250.0
TOL = {"rtol": 1e-9, "atol": 1e-12}


def _events(b: ModelBuilder) -> None:
    b.parameter("u", 0.0, constant=False, description="drug dose u(t)")
    b.parameter("t_detect", -1.0, constant=False)
    b.parameter("t_fail", -1.0, constant=False)
    b.event("detect", f"tumour_total >= {V_D} && t_detect < 0", {"t_detect": "time"})
    b.event("fail", f"tumour_total >= {V_C} && t_fail < 0", {"t_fail": "time"})
    b.observable("detected_at", "t_detect")
    b.observable("failed_at", "t_fail")


def greene_with_add_tumour() -> CompiledModel:
    b = ModelBuilder("greene2019_add_tumour")
    _events(b)
    spec = TumourSpec(
        levels=(("sensitive", 0.0), ("resistant", 1.0)),
        growth="logistic",
        r=1.0,
        K=1.0,
        cost=1 - P_R,
        mu_up=EPS,
        mu_down=0.0,
        induction=ALPHA_PAPER,
        initial_total=S0,
        initial_fractions=(1.0, 0.0),
    )
    drug = DrugKill(
        "drug", "u", 1e12, emax=D_KILL, ec50=1.0, source="BIOMD0000000825", kill="linear"
    )
    add_tumour(b, spec, (drug,))
    return compile_model(b.build())


def greene_equations() -> CompiledModel:
    """The paper's two equations, written directly (for the mapping check)."""
    b = ModelBuilder("greene2019_equations")
    b.species("T_sensitive", S0)
    b.species("T_resistant", 0.0)
    b.parameter("tumour_total", 0.0, constant=False)
    b.assignment_rule("tumour_total", "T_sensitive + T_resistant")
    _events(b)
    b.parameter("tum_alpha", ALPHA_PAPER)
    b.rate_rule(
        "T_sensitive",
        f"(1 - tumour_total)*T_sensitive - ({EPS} + tum_alpha*u)*T_sensitive"
        f" - {D_KILL}*u*T_sensitive",
    )
    b.rate_rule(
        "T_resistant",
        f"{P_R}*(1 - tumour_total)*T_resistant + ({EPS} + tum_alpha*u)*T_sensitive",
    )
    return compile_model(b.build())


def _schedule(t_start: float, kind: str) -> EventTable:
    ev = EventTable()
    if kind == "constant":
        ev.set_parameter(t_start, "u", U_ON * DT_ON / (DT_ON + DT_OFF))
        return ev
    period = DT_ON + DT_OFF
    for k in range(int(HORIZON / period) + 1):
        ev.set_parameter(t_start + k * period, "u", U_ON)
        ev.set_parameter(t_start + k * period + DT_ON, "u", 0.0)
    return ev


def run(cm: CompiledModel, alpha: float, kind: str) -> dict[str, float]:
    """Time to failure t_c and the resistant fraction then, for one schedule."""
    params = {"tum_alpha": alpha}
    untreated = simulate(cm, until=20.0, points=20, params=params, **TOL).raise_on_failure()
    t_start = float(untreated["detected_at"][0, -1])
    assert t_start > 0, "the untreated tumour must reach V_d"
    r = simulate(
        cm,
        np.linspace(0.0, HORIZON, 2501),
        params=params,
        events=_schedule(t_start, kind),
        **TOL,
    ).raise_on_failure()
    t_fail = float(r["failed_at"][0, -1])
    assert t_fail > t_start, f"{kind}, alpha={alpha}: no failure before {HORIZON}"
    i = int(np.searchsorted(r.times, t_fail))
    return {
        "t_start": t_start,
        "t_c": t_fail,
        "resistant_fraction": float(r["T_resistant"][0, i] / r["tumour_total"][0, i]),
    }


@pytest.fixture(scope="module")
def model() -> CompiledModel:
    return greene_with_add_tumour()


def test_add_tumour_integrates_the_papers_equations(model):
    direct = greene_equations()
    ev = _schedule(2.4, "pulsed")
    t = np.linspace(0.0, 60.0, 61)
    a = simulate(model, t, events=ev, **TOL).raise_on_failure()
    b = simulate(direct, t, events=ev, **TOL).raise_on_failure()
    for name in ("T_sensitive", "T_resistant"):
        np.testing.assert_allclose(a[name], b[name], rtol=1e-6, atol=1e-9)


def test_without_induction_constant_dosing_beats_pulsed(model):
    const = run(model, 0.0, "constant")
    pulsed = run(model, 0.0, "pulsed")
    # Untreated logistic growth from 0.01 to 0.1 takes ln(11) = 2.398 time units.
    assert const["t_start"] == pytest.approx(np.log(11.0), rel=1e-4)
    assert const["t_c"] > 2 * pulsed["t_c"]
    assert const["resistant_fraction"] > 0.5  # constant dosing fails by resistance
    assert pulsed["resistant_fraction"] < 0.01  # pulsed fails by sensitive regrowth


@pytest.mark.parametrize("alpha", [ALPHA_PAPER, 0.05])
def test_with_induction_the_ranking_swaps(model, alpha):
    const = run(model, alpha, "constant")
    pulsed = run(model, alpha, "pulsed")
    assert pulsed["t_c"] > 1.02 * const["t_c"]
    assert pulsed["t_c"] - const["t_c"] > 0.5
    # Both now fail by resistance, and sooner than constant dosing without induction.
    assert const["resistant_fraction"] > 0.5 and pulsed["resistant_fraction"] > 0.5
    assert const["t_c"] < run(model, 0.0, "constant")["t_c"]
