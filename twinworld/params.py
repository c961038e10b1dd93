"""Uncertain numeric parameters: a fixed number or a distribution, sampled per scenario.

A planner writes ``multiplier: 1.5`` or ``multiplier: {uniform: [1.2, 2.0]}``; durations may carry
units (``start: {uniform: [0d, 3d]}``). Every distribution has an inverse CDF (:meth:`Dist.ppf`),
so Monte Carlo, Latin hypercube and user designs all sample the same way: a design picks quantiles
in [0, 1) and the distribution turns them into values.

Supported forms (``a``, ``b`` ... numbers, or durations for duration fields)::

    1.5                          fixed
    {fixed: 1.5}                 fixed, spelled out
    {uniform: [low, high]}
    {triangular: [low, mode, high]}
    {normal: [mean, sd]}         optionally {normal: [mean, sd], low: x, high: y} to clip
    {lognormal: [mean, sd]}      mean and sd of the quantity itself (not of its log)
    {choice: [v1, v2, ...]}      equally likely; or {choice: [...], weights: [...]}
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, Callable

import numpy as np
from pydantic import PlainSerializer, PlainValidator, WithJsonSchema
from scipy.special import ndtri

from twinworld.units import parse_duration

__all__ = [
    "Dist", "Uniform", "Triangular", "Normal", "LogNormal", "Choice",
    "Param", "param", "DurationParam", "Duration", "duration", "DIST_FORMS",
]

DIST_FORMS = ("{uniform: [low, high]}", "{triangular: [low, mode, high]}", "{normal: [mean, sd]}",
              "{lognormal: [mean, sd]}", "{choice: [v1, v2, ...]}")


class Dist:
    """A distribution over one parameter."""

    form: str = ""

    def ppf(self, u: float) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def sample(self, rng: np.random.Generator) -> float:
        return self.ppf(float(rng.random()))

    @property
    def bounds(self) -> tuple[float, float]:
        """Smallest and largest value the distribution can produce (may be infinite)."""
        raise NotImplementedError  # pragma: no cover

    def to_data(self) -> dict[str, Any]:
        raise NotImplementedError  # pragma: no cover


@dataclass(frozen=True)
class Uniform(Dist):
    low: float
    high: float
    form = "uniform"

    def ppf(self, u: float) -> float:
        return self.low + u * (self.high - self.low)

    @property
    def bounds(self) -> tuple[float, float]:
        return self.low, self.high

    def to_data(self) -> dict[str, Any]:
        return {"uniform": [self.low, self.high]}


@dataclass(frozen=True)
class Triangular(Dist):
    low: float
    mode: float
    high: float
    form = "triangular"

    def ppf(self, u: float) -> float:
        lo, c, hi = self.low, self.mode, self.high
        if hi == lo:
            return lo
        cut = (c - lo) / (hi - lo)
        if u < cut:
            return lo + math.sqrt(u * (hi - lo) * (c - lo))
        return hi - math.sqrt((1 - u) * (hi - lo) * (hi - c))

    @property
    def bounds(self) -> tuple[float, float]:
        return self.low, self.high

    def to_data(self) -> dict[str, Any]:
        return {"triangular": [self.low, self.mode, self.high]}


@dataclass(frozen=True)
class Normal(Dist):
    mean: float
    sd: float
    low: float = -math.inf
    high: float = math.inf
    form = "normal"

    def ppf(self, u: float) -> float:
        u = min(max(u, 1e-12), 1 - 1e-12)
        return float(min(max(self.mean + self.sd * ndtri(u), self.low), self.high))

    @property
    def bounds(self) -> tuple[float, float]:
        return self.low, self.high

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"normal": [self.mean, self.sd]}
        if math.isfinite(self.low):
            data["low"] = self.low
        if math.isfinite(self.high):
            data["high"] = self.high
        return data


@dataclass(frozen=True)
class LogNormal(Dist):
    mean: float
    sd: float
    form = "lognormal"

    @property
    def log_params(self) -> tuple[float, float]:
        """``(mu, sigma)`` of the underlying normal giving this mean and sd."""
        sigma2 = math.log1p((self.sd / self.mean) ** 2)
        return math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2)

    def ppf(self, u: float) -> float:
        mu, sigma = self.log_params
        u = min(max(u, 1e-12), 1 - 1e-12)
        return float(math.exp(mu + sigma * ndtri(u)))

    def sample_many(self, rng: np.random.Generator, size: int) -> np.ndarray:
        mu, sigma = self.log_params
        return rng.lognormal(mu, sigma, size)

    @property
    def bounds(self) -> tuple[float, float]:
        return 0.0, math.inf

    def to_data(self) -> dict[str, Any]:
        return {"lognormal": [self.mean, self.sd]}


@dataclass(frozen=True)
class Choice(Dist):
    values: tuple[float, ...]
    weights: tuple[float, ...] | None = None
    form = "choice"

    def ppf(self, u: float) -> float:
        if self.weights is None:
            return self.values[min(int(u * len(self.values)), len(self.values) - 1)]
        cumulative = np.cumsum(self.weights) / sum(self.weights)
        return self.values[min(int(np.searchsorted(cumulative, u, side="right")), len(self.values) - 1)]

    @property
    def bounds(self) -> tuple[float, float]:
        return min(self.values), max(self.values)

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"choice": list(self.values)}
        if self.weights is not None:
            data["weights"] = list(self.weights)
        return data


_ARITY = {"uniform": 2, "triangular": 3, "normal": 2, "lognormal": 2}


def _number(value: Any, is_duration: bool) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if is_duration:
        return parse_duration(value)
    if isinstance(value, (int, float)):
        return float(value)
    raise ValueError(f"{value!r} is not a number")


def _parse(value: Any, *, is_duration: bool) -> float | Dist:
    if not isinstance(value, dict):
        try:
            return _number(value, is_duration)
        except ValueError as err:
            unit_hint = " or a duration like 30min, 72h, 3d" if is_duration else ""
            raise ValueError(f"expected a number{unit_hint}, or a distribution "
                             f"({', '.join(DIST_FORMS)}); got {value!r}") from err
    forms = [k for k in value if k in (*_ARITY, "choice", "fixed")]
    if len(forms) != 1:
        raise ValueError(f"a distribution needs exactly one of fixed, uniform, triangular, normal, "
                         f"lognormal, choice; got keys {sorted(value)}")
    form = forms[0]
    allowed = {"normal": {"low", "high"}, "choice": {"weights"}}.get(form, set()) | {form}
    extra = set(value) - allowed
    if extra:
        raise ValueError(f"unexpected key(s) {sorted(extra)} in a {form} distribution")
    args = value[form]
    if form == "fixed":
        return _number(args, is_duration)
    if form == "choice":
        if not isinstance(args, list) or not args:
            raise ValueError("choice needs a non-empty list of values")
        weights = value.get("weights")
        if weights is not None and (len(weights) != len(args) or any(w < 0 for w in weights)
                                    or sum(weights) <= 0):
            raise ValueError("choice weights must be as many as the values, non-negative, not all 0")
        return Choice(tuple(_number(v, is_duration) for v in args),
                      tuple(float(w) for w in weights) if weights is not None else None)
    if not isinstance(args, list) or len(args) != _ARITY[form]:
        names = {"uniform": "[low, high]", "triangular": "[low, mode, high]",
                 "normal": "[mean, sd]", "lognormal": "[mean, sd]"}[form]
        raise ValueError(f"{form} needs {names}; got {args!r}")
    nums = [_number(v, is_duration) for v in args]
    if form == "uniform":
        if nums[0] > nums[1]:
            raise ValueError(f"uniform low {nums[0]:g} is above high {nums[1]:g}")
        return Uniform(*nums)
    if form == "triangular":
        if not nums[0] <= nums[1] <= nums[2]:
            raise ValueError(f"triangular needs low <= mode <= high; got {args!r}")
        return Triangular(*nums)
    if nums[1] < 0 or (form == "lognormal" and nums[0] <= 0):
        raise ValueError(f"{form} needs sd >= 0" + (" and mean > 0" if form == "lognormal" else ""))
    if form == "normal":
        low = _number(value.get("low", -math.inf), is_duration) if "low" in value else -math.inf
        high = _number(value.get("high", math.inf), is_duration) if "high" in value else math.inf
        return Normal(nums[0], nums[1], low, high)
    return LogNormal(*nums)


def _checker(*, ge: float | None, gt: float | None, le: float | None,
             is_duration: bool) -> Callable[[Any], float | Dist]:
    def check(value: Any) -> float | Dist:
        if isinstance(value, Dist):
            parsed: float | Dist = value
        else:
            parsed = _parse(value, is_duration=is_duration)
        lo, hi = parsed.bounds if isinstance(parsed, Dist) else (parsed, parsed)
        if ge is not None and lo < ge:
            raise ValueError(f"must be >= {ge:g}; got {lo:g}")
        if gt is not None and lo <= gt:
            raise ValueError(f"must be > {gt:g}; got {lo:g}")
        if le is not None and hi > le:
            raise ValueError(f"must be <= {le:g}; got {hi:g}")
        return parsed
    return check


def _schema(is_duration: bool) -> dict[str, Any]:
    scalar: dict[str, Any] = {"anyOf": [{"type": "number"}, {"type": "string", "pattern": r"^\s*[-+]?\d*\.?\d+\s*[a-zA-Z]+\s*$"}]} if is_duration else {"type": "number"}
    pair = {"type": "array", "items": scalar, "minItems": 2, "maxItems": 2}
    return {"anyOf": [
        scalar,
        {"type": "object", "properties": {"fixed": scalar}, "required": ["fixed"], "additionalProperties": False},
        {"type": "object", "properties": {"uniform": pair}, "required": ["uniform"], "additionalProperties": False},
        {"type": "object", "properties": {"triangular": {"type": "array", "items": scalar, "minItems": 3, "maxItems": 3}},
         "required": ["triangular"], "additionalProperties": False},
        {"type": "object", "properties": {"normal": pair, "low": scalar, "high": scalar},
         "required": ["normal"], "additionalProperties": False},
        {"type": "object", "properties": {"lognormal": pair}, "required": ["lognormal"], "additionalProperties": False},
        {"type": "object", "properties": {"choice": {"type": "array", "items": scalar, "minItems": 1},
                                          "weights": {"type": "array", "items": {"type": "number"}}},
         "required": ["choice"], "additionalProperties": False},
    ], "description": ("a duration (30min, 72h, 3d; plain numbers are hours)" if is_duration else "a number")
        + " or a distribution sampled per scenario"}


def _serialize(value: float | Dist) -> Any:
    return value.to_data() if isinstance(value, Dist) else value


def param(*, ge: float | None = None, gt: float | None = None, le: float | None = None) -> Any:
    """An uncertain number with optional bounds, e.g. ``multiplier: param(ge=0)``."""
    return Annotated[float | Dist, PlainValidator(_checker(ge=ge, gt=gt, le=le, is_duration=False)),
                     PlainSerializer(_serialize), WithJsonSchema(_schema(False))]


def duration(*, ge: float | None = 0.0, gt: float | None = None) -> Any:
    """An uncertain duration in hours (written ``72h``, ``30min``, ``3d`` or a distribution)."""
    return Annotated[float | Dist, PlainValidator(_checker(ge=ge, gt=gt, le=None, is_duration=True)),
                     PlainSerializer(_serialize), WithJsonSchema(_schema(True))]


def _fixed_duration(value: Any) -> float:
    if isinstance(value, dict):
        raise ValueError("must be a fixed duration here, not a distribution")
    hours = _number(value, True)
    if hours < 0:
        raise ValueError(f"must be >= 0; got {hours:g} h")
    return hours


Param = param()
DurationParam = duration()
#: A fixed (not uncertain) duration in hours, written with units.
Duration = Annotated[float, PlainValidator(_fixed_duration),
                     WithJsonSchema({"anyOf": [{"type": "number", "minimum": 0},
                                               {"type": "string"}],
                                     "description": "a duration: 30min, 72h, 3d (numbers are hours)"})]

