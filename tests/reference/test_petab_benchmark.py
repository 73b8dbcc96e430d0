"""PEtab benchmark collection: log-likelihood at the nominal parameters vs AMICI's reference.

Source: Hass et al., Bioinformatics 2019 (doi:10.1093/bioinformatics/bty1047), problems from
Benchmarking-Initiative/Benchmark-Models-PEtab; reference values from AMICI's test suite
(tests/benchmark_models/benchmark_models.yaml), copied into ``reference_llh.tsv`` of the data
folder (see its README). Tolerance: 1e-3 absolute on the log-likelihood.

Each problem either matches or is refused with a typed error that names the unsupported feature
(``REFUSED`` lists what we expect, so a new refusal or a new pass is noticed). The data live
outside the repository: ``MDRSIM_PETAB_BENCHMARK`` or ``../shared/petab-benchmark`` next to the
repository root; the tests skip with the path they looked at when it is absent.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest

from mdrsim.errors import MdrsimError

ROOT = Path(__file__).resolve().parents[2]
BENCHMARK = Path(
    os.environ.get("MDRSIM_PETAB_BENCHMARK", ROOT.parent / "shared" / "petab-benchmark")
)
TOLERANCE = 1e-3

#: Problems whose evaluation takes minutes (big models compile slowly): marked slow.
SLOW = {
    "Bachmann_MSB2011",
    "Beer_MolBioSystems2014",
    "Chen_MSB2009",
    "Isensee_JCB2018",
    "Lucarelli_CellSystems2018",
    "Smith_BMCSystBiol2013",
}

#: Problems whose model takes longer to compile than a CI run allows (Chen_MSB2009: 500 species;
#: generating and numba-compiling its Jacobian took > 20 min on 2 shared cores). Run them with
#: MDRSIM_PETAB_HUGE=1.
HUGE: set[str] = set()

#: Problems mdrsim refuses, with a fragment of the error message naming the feature.
REFUSED: dict[str, str] = {"Chen_MSB2009": "500 species; the PEtab objective is validated up to"}

#: Problems where mdrsim's value differs from the reference by more than the tolerance for a
#: documented reason; each is checked against a second oracle (the collection's own
#: simulations, ``simulatedData_*.tsv``) in test_known_deviation_oracle.
KNOWN_DEVIATIONS = {
    "Crauste_CellSystems2017": (
        "reference differs by 1.24e-3: mdrsim's value is converged (rtol 1e-8..1e-12), agrees "
        "with scipy Radau/LSODA at rtol 1e-12, and equals petab.calculate_llh on the "
        "collection's own simulatedData to 1e-7; AMICI's reference trajectory is less accurate"
    ),
    "Smith_BMCSystBiol2013": (
        "reference differs by 2.3e-3 on an llh of -8.9e5 (2.6e-9 relative; converged value at "
        "rtol 1e-12: 2.4e-3): every simulated point agrees with the collection's simulatedData "
        "to 1e-7 relative, whose own llh is 1.0e-3 from the reference the other way; 1e-3 "
        "absolute would need trajectories agreeing to ~1e-9 relative across tools"
    ),
}

#: Problems where mdrsim is WRONG and the cause is not yet known: these are bugs, not
#: deviations. The test is expected to fail (strict), so a fix is noticed.
#: Chen_MSB2009 was one (llh -130591.75 vs reference -115700.12 with max_species raised; eval
#: 1018 s, compile 454 s on 2 shared cores; cause not found): load_petab now refuses models
#: above the validated size, so it is in REFUSED instead.
WRONG: dict[str, str] = {}

#: How each known deviation is cross-checked: 'llh' (petab.calculate_llh on simulatedData,
#: 1e-5 absolute) or 'points' (every simulated measurement vs simulatedData, 1e-6 relative).
ORACLE = {"Crauste_CellSystems2017": "llh", "Smith_BMCSystBiol2013": "points"}


def _problems() -> list[str]:
    if not BENCHMARK.is_dir():
        return []
    return sorted(p.name for p in BENCHMARK.iterdir() if (p / f"{p.name}.yaml").is_file())


def _reference() -> dict[str, float]:
    with (BENCHMARK / "reference_llh.tsv").open(encoding="utf-8") as fh:
        return {
            r["problem"]: float(r["llh_at_nominal"]) for r in csv.DictReader(fh, delimiter="\t")
        }


def _params() -> list[object]:
    out = []
    for name in _problems():
        marks = [pytest.mark.slow] if name in SLOW else []
        if name in HUGE and not os.environ.get("MDRSIM_PETAB_HUGE"):
            marks.append(
                pytest.mark.skip(reason=f"{name}: compile time; set MDRSIM_PETAB_HUGE=1 to run")
            )
        if name in KNOWN_DEVIATIONS:
            marks.append(pytest.mark.xfail(reason=KNOWN_DEVIATIONS[name], strict=True))
        if name in WRONG:
            marks.append(pytest.mark.xfail(reason=WRONG[name], strict=True))
        out.append(pytest.param(name, marks=marks, id=name))
    if not out:
        out.append(
            pytest.param(
                None,
                marks=pytest.mark.skip(
                    reason=f"PEtab benchmark data not found at {BENCHMARK} "
                    "(set MDRSIM_PETAB_BENCHMARK)"
                ),
            )
        )
    return out


def _objective(name: str):  # type: ignore[no-untyped-def]
    from mdrsim.fit import Objective
    from mdrsim.io.petab import load_petab

    return Objective(load_petab(BENCHMARK / name / f"{name}.yaml"))


@pytest.mark.parametrize("name", _params())
def test_llh_at_nominal_matches_reference(name: str) -> None:
    reference = _reference()[name]
    if name in REFUSED:
        with pytest.raises(MdrsimError, match=REFUSED[name]):
            _objective(name).llh()
        return
    llh = _objective(name).llh()
    assert abs(llh - reference) < TOLERANCE, f"{name}: mdrsim {llh!r}, reference {reference!r}"


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=[pytest.mark.slow] if n in SLOW else [], id=n)
        for n in sorted(KNOWN_DEVIATIONS)
    ],
)
def test_known_deviation_oracle(name: str) -> None:
    """Where mdrsim differs from AMICI's reference, it agrees with the collection's own
    simulations (a second, independent reference)."""
    if not (BENCHMARK / name).is_dir():
        pytest.skip(f"PEtab benchmark data not found at {BENCHMARK}")
    import pandas as pd

    sim = pd.read_csv(BENCHMARK / name / f"simulatedData_{name}.tsv", sep="\t")
    objective = _objective(name)
    if ORACLE[name] == "llh":
        from petab.v1 import Problem, calculate

        problem = Problem.from_yaml(str(BENCHMARK / name / f"{name}.yaml"))
        oracle = calculate.calculate_llh(
            problem.measurement_df, sim, problem.observable_df, problem.parameter_df
        )
        assert objective.llh() == pytest.approx(oracle, abs=1e-5)
    else:
        m = objective.problem.measurements.copy()
        m["mdrsim"] = objective.simulated_measurements()
        keys = ["observableId", "simulationConditionId", "time"]
        joined = m.merge(sim[[*keys, "simulation"]], on=keys, how="left")
        assert joined["simulation"].notna().all()
        np.testing.assert_allclose(joined["mdrsim"], joined["simulation"], rtol=1e-6)


#: Crauste_CellSystems2017 is left out: at its nominal parameters a 2e-4 relative change of
#: rho_P already makes Pathogen blow up in finite time (scipy Radau fails as well), so central
#: differences are not a usable oracle there.
GRADIENT_PROBLEMS = [
    "Boehm_JProteomeRes2014",
    "Brannmark_JBC2010",
    "Elowitz_Nature2000",
    "Fujita_SciSignal2010",
    "Schwen_PONE2014",
]


@pytest.mark.slow
@pytest.mark.parametrize("name", GRADIENT_PROBLEMS)
def test_gradient_matches_finite_differences(name: str) -> None:
    """Forward-sensitivity gradient vs central differences (1e-4 relative), near the nominal
    parameters (shifted so that the gradient is not ~0)."""
    if not (BENCHMARK / name).is_dir():
        pytest.skip(f"PEtab benchmark data not found at {BENCHMARK}")
    from mdrsim.fit import Objective, ObjectiveOptions
    from mdrsim.io.petab import load_petab

    problem = load_petab(BENCHMARK / name / f"{name}.yaml")
    obj = Objective(problem, ObjectiveOptions(rtol=1e-10, atol=1e-12, include_priors=False))
    rng = np.random.default_rng(0)
    theta = problem.nominal_theta() + 0.05 * rng.standard_normal(len(problem.estimated))
    _, grad = obj.value_and_gradient(theta)
    h = 1e-4
    fd = np.array([(obj(theta + h * e) - obj(theta - h * e)) / (2 * h) for e in np.eye(theta.size)])
    np.testing.assert_allclose(grad, fd, rtol=1e-4, atol=1e-4 * max(1.0, np.abs(fd).max()))


@pytest.mark.slow
def test_multistart_reaches_reference_optimum_boehm() -> None:
    """Boehm_JProteomeRes2014: 4 seeded starts; the best converged one is within 0.1 of the
    reference −llh (measured: 2 of 4 starts reach 138.221976, reference 138.221997)."""
    name = "Boehm_JProteomeRes2014"
    if not (BENCHMARK / name).is_dir():
        pytest.skip(f"PEtab benchmark data not found at {BENCHMARK}")
    from mdrsim.fit.multistart import multistart

    result = multistart(_objective(name), n_starts=4, seed=0)
    assert result.best_objective <= -_reference()[name] + 0.1


@pytest.mark.slow
def test_fit_from_near_the_published_optimum_fujita() -> None:
    """Fujita_SciSignal2010: the published estimates (the collection's nominal parameters) are
    a local optimum of mdrsim's objective, and fides (hybrid FIM/BFGS Hessian) gets back there
    from a start 0.1·N(0, 1) away on the log10 scale (seed 0; objective at the start 492). This
    is not the random-start criterion of issue 18 (uniform starts in 1e-8…1e8 did not reach it
    in the 18 starts tried, docs/calibration.md). Reference: −llh 53.0838 at the nominal
    parameters (reference_llh.tsv); tolerance 0.1. Measured: converged (FTOL) at −53.230681,
    0.147 better than the published point, in 232 evaluations."""
    name = "Fujita_SciSignal2010"
    if not (BENCHMARK / name).is_dir():
        pytest.skip(f"PEtab benchmark data not found at {BENCHMARK}")
    from mdrsim.fit.multistart import multistart

    objective = _objective(name)
    nominal = objective.problem.nominal_theta()
    rng = np.random.default_rng(0)
    start = np.clip(nominal + 0.1 * rng.standard_normal(nominal.size), objective.lower,
                    objective.upper)  # fmt: skip
    result = multistart(objective, starts=start[None, :], hessian="hybrid", max_iter=500)
    assert result.table["status"].iloc[0] == "converged", result.table["reason"].iloc[0]
    assert result.best_objective <= -_reference()[name] + 0.1
