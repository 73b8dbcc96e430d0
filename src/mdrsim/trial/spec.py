"""The trial file (YAML) schema, validated with pydantic.

Errors become :class:`~mdrsim.trial.errors.TrialSpecError` naming the field path, e.g.
``population.parameters.r_s.cv: must be > 0``. Files are read with
:func:`mdrsim.io.safe_yaml.load_yaml` only (safe tags, no aliases, bounded depth and size,
no duplicate keys, UTF-8); nothing in a trial file is evaluated.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mdrsim.errors import InputFileError
from mdrsim.io.safe_yaml import load_yaml, read_text_file
from mdrsim.trial.errors import TrialSpecError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ARM = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")  # also a directory name in the store


class _Strict(BaseModel):
    # allow_inf_nan=False: `.inf` / `.nan` in a trial file are refused, not sampled from.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


#: Largest spread of a log-normal (sigma of log(x)): beyond it exp(sigma·z) overflows a double
#: for ordinary z, and no real population varies over hundreds of orders of magnitude.
MAX_LOG_SD = 20.0
#: Smallest non-zero magnitude of a distribution's number (doubles are subnormal below ~2e-308).
MIN_MAGNITUDE = 1e-300
#: Most RECIST scans a trial may schedule per patient (horizon / scan interval).
MAX_SCANS = 5000
#: Longest horizon (days): 100 years.
MAX_HORIZON_DAYS = 36_500.0
#: A trial's name also names its default output folder results/trial_NAME: no separators.
_TRIAL_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+ -]{0,99}$")


class _Bounded(_Strict):
    # Truncation: the distribution is restricted to [lower, upper] exactly (inverse-CDF of the
    # truncated law), unlike plausibility bounds, which reject whole patients.
    lower: float | None = None
    upper: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> _Bounded:
        for name, value in self:
            if isinstance(value, float) and value != 0 and abs(value) < MIN_MAGNITUDE:
                raise ValueError(
                    f"{name} {value:g} is too close to 0 (below {MIN_MAGNITUDE:g}, where doubles "
                    "lose precision); rescale the variable's unit"
                )
        if self.lower is not None and self.upper is not None and not self.lower < self.upper:
            raise ValueError(f"lower ({self.lower}) must be < upper ({self.upper})")
        return self


class LogNormal(_Bounded):
    dist: Literal["lognormal"]
    median: float = Field(gt=0)
    cv: float | None = Field(default=None, gt=0)  # coefficient of variation of the variable
    sigma: float | None = Field(default=None, gt=0, le=MAX_LOG_SD)  # sd of log(variable)

    @model_validator(mode="after")
    def _one_spread(self) -> LogNormal:
        if (self.cv is None) == (self.sigma is None):
            raise ValueError("give exactly one of cv, sigma")
        if self.cv is not None and (
            not math.isfinite(self.cv * self.cv) or math.log1p(self.cv**2) > MAX_LOG_SD**2
        ):
            raise ValueError(
                f"cv {self.cv:g} is too large: the spread of log(x) would exceed {MAX_LOG_SD:g}"
            )
        return self

    @property
    def log_sd(self) -> float:
        # CV of a log-normal: sqrt(exp(sigma^2) - 1)  ⇒  sigma = sqrt(log(1 + cv^2)).
        return self.sigma if self.sigma is not None else math.sqrt(math.log1p(self.cv**2))  # type: ignore[operator]


class Normal(_Bounded):
    dist: Literal["normal"]
    mean: float
    sd: float = Field(gt=0)

    @model_validator(mode="after")
    def _finite(self) -> Normal:
        if not math.isfinite(abs(self.mean) + 40 * self.sd):
            raise ValueError("mean and sd are too large: draws would overflow a double")
        return self


class Uniform(_Bounded):
    dist: Literal["uniform"]
    low: float
    high: float

    @model_validator(mode="after")
    def _order(self) -> Uniform:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be < high ({self.high})")
        if not math.isfinite(self.high - self.low):
            raise ValueError("high - low overflows a double")
        return self


class Beta(_Bounded):
    dist: Literal["beta"]
    # Beyond these the law is a point mass at 0 or 1 in double precision.
    alpha: float = Field(ge=1e-3, le=1e6)
    beta: float = Field(ge=1e-3, le=1e6)


class LogitNormal(_Bounded):
    dist: Literal["logitnormal"]
    median: float = Field(gt=0, lt=1)
    sigma: float = Field(gt=0, le=MAX_LOG_SD)  # sd of logit(variable)


Distribution = Annotated[
    LogNormal | Normal | Uniform | Beta | LogitNormal, Field(discriminator="dist")
]


class Correlation(_Strict):
    between: tuple[str, str]
    rho: float = Field(gt=-1, lt=1)


class Bounds(_Strict):
    lower: float | None = None
    upper: float | None = None


class MatchTarget(_Strict):
    """Select patients so that ``variable`` follows ``target`` (Allen et al. 2016)."""

    variable: str
    target: Distribution


class Match(_Strict):
    targets: list[MatchTarget] = Field(min_length=1)
    pilot_size: int = Field(default=4000, ge=200, le=1_000_000, strict=True)


class PopulationSpec(_Strict):
    parameters: dict[str, Distribution] = Field(default_factory=dict)
    covariates: dict[str, Distribution] = Field(default_factory=dict)
    correlations: list[Correlation] = Field(default_factory=list)
    plausibility: dict[str, Bounds] = Field(default_factory=dict)
    match: Match | None = None
    max_draws: int = Field(default=1000, ge=1, le=1_000_000, strict=True)
    #: What to do with a draw outside a variable's physical bounds (a negative clearance, a
    #: fraction above 1): "refuse" the trial (default: the distribution is wrong), or
    #: "truncate" — redraw, like a plausibility bound, and count it in n_implausible.
    physical_bounds: Literal["refuse", "truncate"] = "refuse"

    @model_validator(mode="after")
    def _names(self) -> PopulationSpec:
        both = set(self.parameters) & set(self.covariates)
        if both:
            raise ValueError(f"names in both parameters and covariates: {sorted(both)}")
        names = self.variable_names
        for n in names:
            if not _NAME.match(n):
                raise ValueError(f"{n!r} is not a valid name (letters, digits, _)")
        for i, c in enumerate(self.correlations):
            for n in c.between:
                if n not in names:
                    raise ValueError(
                        f"correlations[{i}].between: {n!r} is not a sampled name; "
                        f"allowed: {', '.join(names) or '(none)'}"
                    )
            if c.between[0] == c.between[1]:
                raise ValueError(f"correlations[{i}].between: a name cannot correlate with itself")
        for n in self.plausibility:
            if n not in names:
                raise ValueError(
                    f"plausibility.{n}: not a sampled name; allowed: {', '.join(names) or '(none)'}"
                )
        if self.match is not None:
            for i, t in enumerate(self.match.targets):
                if t.variable not in names:
                    raise ValueError(
                        f"match.targets[{i}].variable: {t.variable!r} is not a sampled name; "
                        f"allowed: {', '.join(names) or '(none)'}"
                    )
        return self

    @property
    def variable_names(self) -> list[str]:
        return [*self.parameters, *self.covariates]

    def distributions(self) -> dict[str, LogNormal | Normal | Uniform | Beta | LogitNormal]:
        return {**self.parameters, **self.covariates}


class ArmBase(BaseModel):
    """What every arm has; the simulator validates the rest of the arm (``extra`` allowed)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    name: str
    description: str = ""


#: Trial-file schema version this mdrsim reads (``schema_version:``, optional, default 1).
SCHEMA_VERSION: Literal[1] = 1


class TrialSpec(_Strict):
    schema_version: Literal[1] = SCHEMA_VERSION
    name: str = Field(min_length=1)
    seed: int = Field(ge=0, lt=2**63, strict=True)  # strict: `seed: true` is not seed 1
    horizon_days: float = Field(gt=0, le=MAX_HORIZON_DAYS)
    scan_interval_days: float = Field(gt=0)
    simulator: dict[str, Any]
    population: PopulationSpec = Field(default_factory=PopulationSpec)
    arms: list[ArmBase] = Field(min_length=1)
    trajectories_first: int = Field(default=30, ge=0, le=10_000, strict=True)

    @model_validator(mode="after")
    def _arms(self) -> TrialSpec:
        if not _TRIAL_NAME.match(self.name) or ".." in self.name:
            raise ValueError(
                f"name: {self.name!r} must be 1-100 letters, digits, space, _ . + - (no '/', "
                "no '..'): it names the output folder results/trial_NAME"
            )
        if self.horizon_days / self.scan_interval_days > MAX_SCANS:
            raise ValueError(
                f"scan_interval_days: {self.scan_interval_days:g} gives "
                f"{self.horizon_days / self.scan_interval_days:.3g} scans over the horizon; "
                f"at most {MAX_SCANS} are allowed (horizon_days / scan_interval_days)"
            )
        seen: set[str] = set()
        for i, arm in enumerate(self.arms):
            if not _ARM.match(arm.name):
                raise ValueError(
                    f"arms[{i}].name: {arm.name!r} must be letters, digits, _ . - "
                    "(it names a directory)"
                )
            if arm.name in seen:
                raise ValueError(f"arms[{i}].name: {arm.name!r} is used twice")
            seen.add(arm.name)
        if self.scan_interval_days > self.horizon_days:
            raise ValueError("scan_interval_days must be <= horizon_days")
        return self

    def spec_hash(self) -> str:
        """SHA-256 of the canonical JSON of the validated spec (key order does not matter)."""
        # schema_version is left out: the same trial keeps its hash (and its stores resume).
        data = self.model_dump(mode="json", exclude={"schema_version"})
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def _location(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in ("lognormal", "normal", "uniform", "beta", "logitnormal"):
            continue  # the discriminated-union tag is not a field the user wrote
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def format_validation_error(exc: ValidationError, prefix: str = "") -> str:
    """One line per problem: ``field.path: message``."""
    lines = []
    for err in exc.errors():
        loc = _location(tuple(err["loc"]))
        where = ".".join(p for p in (prefix, loc) if p) or "(top level)"
        msg = err["msg"]
        msg = msg.removeprefix("Value error, ")
        msg = re.sub(r"^Input should be (greater|less) than", r"must be \1 than", msg)
        msg = msg.replace("must be greater than or equal to", "must be >=")
        msg = msg.replace("must be less than or equal to", "must be <=")
        msg = msg.replace("must be greater than", "must be >")
        msg = msg.replace("must be less than", "must be <")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        elif err["type"] == "union_tag_invalid":
            msg = "dist must be one of lognormal, normal, uniform, beta, logitnormal"
        elif err["type"] == "union_tag_not_found":
            msg = "missing `dist:` (lognormal, normal, uniform, beta, logitnormal)"
        lines.append(f"{where}: {msg}")
    return "\n".join(lines)


_Doc = TypeVar("_Doc", bound=BaseModel)


def parse_document(data: Mapping[str, Any], model: type[_Doc], what: str) -> _Doc:
    """Validate a versioned YAML document (already parsed) against ``model``: the top level
    must be a mapping and ``schema_version`` (default: this version) must be this mdrsim's.
    Shared by trial files and the population-calibration files of :mod:`mdrsim.fit.vpop`."""
    if not isinstance(data, Mapping):
        raise TrialSpecError(f"{what}: the top level must be a mapping of fields")
    version = data.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise TrialSpecError(
            f"schema_version: got {version!r}; this mdrsim reads schema_version {SCHEMA_VERSION}"
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise TrialSpecError(format_validation_error(exc)) from None


def load_document(path: str | Path, model: type[_Doc], what: str) -> tuple[_Doc, Path]:
    """Read (safe YAML loader, size and nesting limits) and validate a versioned document;
    returns it and the file's directory (relative paths inside it are relative to that)."""
    p = Path(path)
    if not p.is_file():
        raise TrialSpecError(f"{what} {str(p)!r} does not exist")
    try:
        data = load_yaml(read_text_file(p, what), f"{what} {p}")
    except InputFileError as exc:
        raise TrialSpecError(str(exc)) from None
    try:
        return parse_document(data, model, what), p.resolve().parent
    except TrialSpecError as exc:
        raise TrialSpecError(f"{what} {p}:\n{exc}") from None


def parse_trial(data: Mapping[str, Any]) -> TrialSpec:
    """Validate a trial document (already parsed from YAML)."""
    return parse_document(data, TrialSpec, "trial file")


def load_trial(path: str | Path) -> tuple[TrialSpec, Path]:
    """Read and validate a trial YAML file; returns the spec and the file's directory."""
    return load_document(path, TrialSpec, "trial file")
