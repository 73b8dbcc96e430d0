"""RECIST 1.1 classification on constructed trajectories (Eisenhauer et al., Eur J Cancer
2009;45:228): each category and the nadir rule."""

import numpy as np
import pytest

from mdrsim.regimen.recist import Response, classify, diameter_mm

T = np.arange(6) * 42.0  # baseline, then scans every 6 weeks


def test_partial_response_then_progression_over_the_nadir():
    # 50 mm -> 30 (PR, -40 %) -> 28 -> 34 (+21 % over nadir 28, +6 mm: PD)
    a = classify(T[:4], np.array([50.0, 30.0, 28.0, 34.0]))
    assert a.best_response is Response.PR
    assert a.progression_time == T[3]
    assert a.nadir_mm == 28.0


def test_nadir_rule_needs_both_20_percent_and_5_mm():
    # 20 mm nadir: 24 mm is +20 % but only +4 mm -> not PD; 25.5 mm is +27.5 % and +5.5 mm -> PD
    a = classify(T[:4], np.array([30.0, 20.0, 24.0, 25.5]))
    assert a.responses == [Response.PR, Response.SD, Response.PD]
    assert a.progression_time == T[3]


def test_stable_disease_and_growth_from_baseline():
    a = classify(T[:3], np.array([40.0, 36.0, 41.0]))  # -10 %, then +14 % over nadir
    assert a.best_response is Response.SD and a.progression_time is None
    b = classify(T[:2], np.array([40.0, 48.5]))  # +21 %, +8.5 mm at the first scan
    assert b.best_response is Response.PD and b.progression_time == T[1]


def test_complete_response():
    a = classify(T[:3], np.array([25.0, 8.0, 3.0]))
    assert a.best_response is Response.CR


def test_thirty_percent_boundary():
    assert classify(T[:2], np.array([50.0, 35.0])).best_response is Response.PR
    assert classify(T[:2], np.array([50.0, 35.1])).best_response is Response.SD


def test_diameter_scales_with_cube_root_of_volume():
    d = diameter_mm(np.array([1.0, 8.0]), reference_burden=1.0, reference_mm=20.0)
    assert d.tolist() == pytest.approx([20.0, 40.0])


def test_bad_input():
    with pytest.raises(ValueError):
        classify(np.array([0.0]), np.array([10.0]))
    with pytest.raises(ValueError):
        classify(T[:2], np.array([10.0, -1.0]))


def test_adaptive_progression_is_measured_against_baseline():
    d = np.array([40.0, 20.0, 30.0])  # planned regrowth in a pause: +50 % over the nadir
    assert classify(T[:3], d).progression_time == T[2]
    assert classify(T[:3], d, progression_reference="baseline").progression_time is None
    with pytest.raises(ValueError):
        classify(T[:3], d, progression_reference="peak")
