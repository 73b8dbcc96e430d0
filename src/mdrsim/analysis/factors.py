"""What an analysis varies: factors (a model parameter, an initial value or a scenario field),
their grids for scans and their ranges for global sensitivity.

A scenario field is addressed by its path in the scenario file, e.g. ``lines[0].doses[0].dose``
or ``lines[0].inhibitors[0].offset_h``; a changed scenario is validated again by the pydantic
scenario model and the library checks (:func:`mdrsim.patient.scenario.parse_scenario` rules), so a
value the scenario file would refuse is refused here too, with its path.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from mdrsim.errors import AnalysisError, did_you_mean

if TYPE_CHECKING:
    from mdrsim.data.library import Library
    from mdrsim.patient.scenario import Scenario

__all__ = [
    "Factor",
    "Grid",
    "Range",
    "apply_scenario_values",
    "get_path",
    "is_scenario_path",
    "parse_grid",
    "parse_path",
    "parse_range",
    "set_path",
]

FactorKind = Literal["parameter", "initial", "scenario"]


@dataclass(frozen=True)
class Factor:
    """One input an analysis varies, with its nominal value and unit (for the tables)."""

    name: str
    kind: FactorKind
    nominal: float
    unit: str = ""


@dataclass(frozen=True)
class Grid:
    """The values of one scanned factor."""

    name: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class Range:
    """The range of one factor in a global sensitivity analysis (sampled uniformly, or
    uniformly in its logarithm when ``log``)."""

    name: str
    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise AnalysisError(
                f"range of {self.name!r}: [{self.low!r}, {self.high!r}]; allowed: finite "
                "numbers with low < high"
            )
        if self.log and self.low <= 0:
            raise AnalysisError(
                f"range of {self.name!r}: a log-uniform range needs low > 0, got {self.low!r}"
            )

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Map points of [0, 1] onto the range."""
        if self.log:
            return np.exp(np.log(self.low) + u * (np.log(self.high) - np.log(self.low)))
        return self.low + u * (self.high - self.low)


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise AnalysisError(f"{what}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise AnalysisError(f"{what}: {text!r} must be finite")
    return value


def parse_grid(spec: str) -> Grid:
    """``NAME=LO:HI:N`` (N evenly spaced values), ``NAME=LO:HI:N:log`` (evenly spaced in the
    logarithm) or ``NAME=V1,V2,...`` (a list)."""
    name, sep, body = spec.partition("=")
    name = name.strip()
    if not sep or not name or not body.strip():
        raise AnalysisError(
            f"--vary {spec!r}: expected NAME=LO:HI:N, NAME=LO:HI:N:log or NAME=V1,V2,..."
        )
    what = f"--vary {spec!r}"
    if ":" in body:
        parts = [p.strip() for p in body.split(":")]
        log = len(parts) == 4 and parts[3] == "log"
        if len(parts) not in (3, 4) or (len(parts) == 4 and not log):
            raise AnalysisError(f"{what}: expected LO:HI:N or LO:HI:N:log")
        lo, hi = _number(parts[0], what), _number(parts[1], what)
        try:
            n = int(parts[2])
        except ValueError:
            raise AnalysisError(f"{what}: N must be a whole number, got {parts[2]!r}") from None
        if n < 2 or n > 10_000:
            raise AnalysisError(f"{what}: N must be between 2 and 10000, got {n}")
        if log:
            if lo <= 0 or hi <= 0:
                raise AnalysisError(f"{what}: a log grid needs LO > 0 and HI > 0")
            values = np.geomspace(lo, hi, n)
        else:
            values = np.linspace(lo, hi, n)
        return Grid(name, tuple(float(v) for v in values))
    values_list = [_number(v.strip(), what) for v in body.split(",") if v.strip()]
    if not values_list:
        raise AnalysisError(f"{what}: no values")
    return Grid(name, tuple(values_list))


def parse_range(spec: str, nominal: Mapping[str, float] | None = None) -> Range:
    """``NAME=LO:HI`` or ``NAME=LO:HI:log``; a bare ``NAME`` means half to twice its nominal
    value (``nominal``), log-uniform."""
    name, sep, body = spec.partition("=")
    name = name.strip()
    if not sep:
        if nominal is None or name not in nominal:
            raise AnalysisError(f"--factor {spec!r}: expected NAME=LO:HI or NAME=LO:HI:log")
        value = nominal[name]
        if not value > 0:
            raise AnalysisError(
                f"--factor {name!r}: its nominal value is {value!r}, so the default range "
                "(half to twice it) is empty; give NAME=LO:HI"
            )
        return Range(name, value / 2, value * 2, log=True)
    parts = [p.strip() for p in body.split(":")]
    log = len(parts) == 3 and parts[2] == "log"
    if len(parts) not in (2, 3) or (len(parts) == 3 and not log):
        raise AnalysisError(f"--factor {spec!r}: expected NAME=LO:HI or NAME=LO:HI:log")
    what = f"--factor {spec!r}"
    return Range(name, _number(parts[0], what), _number(parts[1], what), log=log)


# --- scenario paths ---

_TOKEN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|(\.)")


def is_scenario_path(name: str) -> bool:
    """Whether ``name`` addresses a scenario field (it has a ``.`` or an ``[index]``) rather
    than naming a model parameter."""
    return "." in name or "[" in name


def parse_path(path: str) -> tuple[str | int, ...]:
    """``lines[0].doses[0].dose`` → ``("lines", 0, "doses", 0, "dose")``."""
    parts: list[str | int] = []
    pos = 0
    expect_name = True
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if m is None:
            raise AnalysisError(
                f"scenario path {path!r}: cannot read it at {path[pos:]!r}; expected e.g. "
                "lines[0].doses[0].dose"
            )
        if m.group(1) is not None:
            if not expect_name:
                raise AnalysisError(f"scenario path {path!r}: a '.' must separate field names")
            parts.append(m.group(1))
            expect_name = False
        elif m.group(2) is not None:
            if not parts:
                raise AnalysisError(f"scenario path {path!r}: cannot start with an index")
            parts.append(int(m.group(2)))
            expect_name = False
        else:
            expect_name = True
        pos = m.end()
    if not parts or expect_name:
        raise AnalysisError(f"scenario path {path!r}: incomplete")
    return tuple(parts)


def _walk(data: Any, path: str) -> tuple[Any, str | int]:
    """The container holding the last element of ``path`` and that element's key."""
    keys = parse_path(path)
    node = data
    done = ""
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        if isinstance(key, int):
            if not isinstance(node, list):
                where = done or "the scenario"
                raise AnalysisError(f"scenario path {path!r}: {where} is not a list")
            if key >= len(node):
                raise AnalysisError(
                    f"scenario path {path!r}: {done} has {len(node)} item(s), index {key} is "
                    "out of range"
                )
        else:
            if not isinstance(node, dict):
                raise AnalysisError(f"scenario path {path!r}: {done} is not a mapping of fields")
            if key not in node:
                raise AnalysisError(
                    f"scenario path {path!r}: {done or 'the scenario'} has no field {key!r}"
                    + did_you_mean(key, node)
                    + f"; fields: {', '.join(node)}"
                )
        if last:
            return node, key
        node = node[key]
        done += f"[{key}]" if isinstance(key, int) else (f".{key}" if done else key)
    raise AssertionError("unreachable")


def _dump(scenario: Scenario) -> dict[str, Any]:
    # JSON mode turns tuples into lists, so indices address list items.
    return scenario.model_dump(mode="json")


def get_path(scenario: Scenario, path: str) -> Any:
    """The value of a scenario field by path."""
    node, key = _walk(_dump(scenario), path)
    return node[key]


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set a field of a dumped scenario (``Scenario.model_dump(mode="json")``) in place."""
    node, key = _walk(data, path)
    node[key] = value


def apply_scenario_values(
    scenario: Scenario, values: Mapping[str, Any], library: Library
) -> Scenario:
    """A copy of ``scenario`` with fields set by path, validated as a scenario file would be
    (:meth:`Scenario.with_changes`: the schema, the library gaps and the label dose limits).

    Raises :class:`~mdrsim.errors.AnalysisError` naming the fields and values when a path does
    not exist or the changed scenario is not valid."""
    from mdrsim.errors import ScenarioError

    data = _dump(scenario)
    for path in values:
        _walk(data, path)  # an unknown path gets its did-you-mean here, before validation
    what = ", ".join(f"{p}={v!r}" for p, v in values.items())
    try:
        return scenario.with_changes(dict(values), library=library)
    except ScenarioError as exc:
        raise AnalysisError(
            f"scenario with {what} is not valid: {'; '.join(exc.problems)}"
        ) from None


def scenario_factor(scenario: Scenario, path: str) -> Factor:
    """A scenario field as a factor: it must hold a number (or nothing yet, e.g. an
    inhibitor's ``concentration_uM`` left to the library: nominal NaN, scans only)."""
    value = get_path(scenario, path)
    if value is None:
        return Factor(path, "scenario", math.nan)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AnalysisError(
            f"scenario path {path!r} holds {value!r}; only numeric fields can be varied"
        )
    return Factor(path, "scenario", float(value))


def check_names(names: Sequence[str], option: str) -> None:
    """Factors must be distinct."""
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise AnalysisError(f"{option}: {n!r} is given twice")
        seen.add(n)
