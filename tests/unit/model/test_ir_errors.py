"""Model look-ups of undefined names raise a typed error with suggestions."""

from __future__ import annotations

import pytest

from mdrsim.errors import MdrsimError, UnknownNameError
from mdrsim.model import ModelBuilder


def test_value_of_an_unknown_name_is_a_typed_error() -> None:
    b = ModelBuilder("m")
    b.parameter("kdeg", 0.5)
    b.species("A", 2.0)
    model = b.build()
    assert model.value_of("kdeg") == 0.5 and model.value_of("A") == 2.0
    with pytest.raises(UnknownNameError) as info:
        model.value_of("kdg")
    message = str(info.value)
    assert isinstance(info.value, MdrsimError) and isinstance(info.value, KeyError)
    assert "'kdg'" in message and "did you mean: kdeg" in message and "A" in message
