"""What a quantity can physically be, declared where the quantity is defined.

A :class:`Domain` travels with a model parameter (``Parameter.domain``), a species
(``Species.domain``, or ``non_negative``) or a covariate of the patient model, and says which
values are possible: a clearance ``> 0``, a fraction in ``[0, 1]``, a tumour burden below the
carrying capacity ``tum_K``. The biology modules declare it when they add the parameter; the
population sampler, the scenario's fields and value overrides (``--param``, ``simulate(params=
...)``) all check against that one declaration — nothing is guessed from a name or a unit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Domain:
    """``lower < x`` (or ``<=``) and ``x < upper`` (or ``<=``); ``None`` is unbounded.

    ``upper_name`` names another quantity whose value is the upper bound (a tumour burden
    below the carrying capacity ``tum_K``); ``upper`` is then that quantity's default, used
    when it is not given per patient. ``why`` says what the quantity is and where the bound
    comes from (a definition, a source or an explicit assumption).
    """

    lower: float | None = None
    upper: float | None = None
    lower_inclusive: bool = True
    upper_inclusive: bool = True
    why: str = ""
    upper_name: str | None = None

    def describe(self) -> str:
        """``0 < x <= 1 (a fraction)`` — the bound as a message shows it."""
        lo = (
            "" if self.lower is None else f"{self.lower:g} {'<=' if self.lower_inclusive else '<'} "
        )
        if self.upper_name is not None:
            up = f" {'<=' if self.upper_inclusive else '<'} {self.upper_name}"
        elif self.upper is not None:
            up = f" {'<=' if self.upper_inclusive else '<'} {self.upper:g}"
        else:
            up = ""
        return f"{lo}x{up}" + (f" ({self.why})" if self.why else "")

    def inside(self, x: Any, upper: Any = None) -> np.ndarray:
        """Elementwise: finite and within the domain (``upper`` replaces a named bound)."""
        v = np.asarray(x, dtype=float)
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(v)
            if self.lower is not None:
                ok &= (v >= self.lower) if self.lower_inclusive else (v > self.lower)
            hi = upper if upper is not None else self.upper
            if hi is not None:
                ok &= (v <= hi) if self.upper_inclusive else (v < hi)
        return np.asarray(ok)

    def problem(self, name: str, value: float, upper: float | None = None) -> str | None:
        """``None`` when ``value`` is allowed, else a message naming the field, the value and
        the allowed range."""
        if bool(self.inside(value, upper)):
            return None
        shown = self.describe()
        if upper is not None and self.upper_name is not None:
            shown += f", {self.upper_name} = {upper:g}"
        return f"{name}: {value:g} is outside its physical range {shown}"

    def field_constraints(self) -> dict[str, float]:
        """The bound as pydantic ``Field`` keywords (``gt``/``ge``/``lt``/``le``), so a scenario
        field validates against the same declaration the sampler uses."""
        out: dict[str, float] = {}
        if self.lower is not None:
            out["ge" if self.lower_inclusive else "gt"] = self.lower
        if self.upper is not None and self.upper_name is None:
            out["le" if self.upper_inclusive else "lt"] = self.upper
        return out


def positive(why: str) -> Domain:
    """``0 < x``: something the model divides by or takes the logarithm of."""
    return Domain(0.0, lower_inclusive=False, why=why)


def non_negative(why: str) -> Domain:
    """``0 <= x``: a rate, amount, count or concentration that may be zero."""
    return Domain(0.0, why=why)


def fraction(why: str, *, upper_inclusive: bool = True) -> Domain:
    """``0 <= x <= 1`` (or ``< 1``)."""
    return Domain(0.0, 1.0, upper_inclusive=upper_inclusive, why=why)


def between(
    lower: float,
    upper: float,
    why: str,
    *,
    lower_inclusive: bool = True,
    upper_inclusive: bool = True,
) -> Domain:
    """A closed (or half-open) interval with finite ends."""
    if not (math.isfinite(lower) and math.isfinite(upper) and lower < upper):
        raise ValueError(f"between: need finite lower < upper, got {lower}, {upper}")
    return Domain(lower, upper, lower_inclusive, upper_inclusive, why)


def below(name: str, default: float, why: str) -> Domain:
    """``0 <= x <= name``: bounded above by another quantity (``default``: its usual value);
    at the bound is allowed (a tumour at its carrying capacity is on its plateau)."""
    return Domain(0.0, default, why=why, upper_name=name)


__all__ = ["Domain", "below", "between", "fraction", "non_negative", "positive"]
