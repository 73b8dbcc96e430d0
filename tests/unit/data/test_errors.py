"""Typed errors of the data layer: every one is an MdrsimError that names the value."""

from __future__ import annotations

import pytest

import mdrsim.errors as errors
from mdrsim.data import UnitError, convert, load_library
from mdrsim.errors import MdrsimError, UnknownNameError


def test_every_error_class_lives_in_mdrsim_errors() -> None:
    from mdrsim.data import library
    from mdrsim.patient import scenario
    from mdrsim.regimen import schedule
    from mdrsim.trial import errors as trial_errors

    assert library.LibraryError is errors.LibraryError
    assert schedule.RegimenError is errors.RegimenError
    assert scenario.ScenarioError is errors.ScenarioError
    assert trial_errors.TrialSpecError is errors.TrialSpecError
    assert trial_errors.PopulationError is errors.PopulationError
    assert trial_errors.TrialStoreError is errors.TrialStoreError
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type) and name != "SchemaFieldError":
            assert issubclass(obj, MdrsimError), name


def test_convert_between_kinds_is_a_typed_error() -> None:
    with pytest.raises(UnitError) as info:
        convert(2.0, "h", "L/h")
    assert isinstance(info.value, MdrsimError) and isinstance(info.value, ValueError)
    assert "'h'" in str(info.value) and "'L/h'" in str(info.value) and "time" in str(info.value)


def test_convert_still_converts() -> None:
    assert convert(90.0, "min", "h") == pytest.approx(1.5)
    assert convert(1.0, "mL/min/m2", "L/h/m2") == pytest.approx(0.06)


def test_unknown_drug_names_the_value_and_suggests() -> None:
    with pytest.raises(UnknownNameError) as info:
        load_library().drug("paclitaxol")
    message = str(info.value)
    assert isinstance(info.value, MdrsimError) and isinstance(info.value, KeyError)
    assert "'paclitaxol'" in message and "did you mean: paclitaxel" in message


def test_long_lists_of_known_names_are_cut() -> None:
    known = [f"p{i}" for i in range(100)]
    message = str(UnknownNameError("parameter", "q", known))
    assert "(70 more)" in message and "p99" not in message


def test_every_error_class_is_exported() -> None:
    import inspect

    defined = {
        name for name, obj in vars(errors).items()
        if inspect.isclass(obj) and issubclass(obj, Exception) and obj.__module__ == errors.__name__
    }
    assert defined <= set(errors.__all__), sorted(defined - set(errors.__all__))
