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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from pydantic import Field, PlainSerializer, PlainValidator, WithJsonSchema
from scipy.special import ndtri

from twinworld.limits import MAX_CV, MAX_DURATION_H, MAX_MAGNITUDE, MIN_STEP_H
from twinworld.units import parse_duration

__all__ = [
    "Dist", "Uniform", "Triangular", "Normal", "LogNormal", "Choice",
    "Param", "param", "DurationParam", "Duration", "duration", "step_duration", "fixed_duration",
    "DIST_FORMS", "Latitude", "Longitude", "LatLon",
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

    def parameters(self) -> tuple[float, ...]:
        """The numbers the distribution was written with (each must be finite)."""
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

    def parameters(self) -> tuple[float, ...]:
        return self.low, self.high


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

    def parameters(self) -> tuple[float, ...]:
        return self.low, self.mode, self.high


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

    def parameters(self) -> tuple[float, ...]:
        return (self.mean, self.sd) + tuple(b for b in (self.low, self.high) if math.isfinite(b))


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

    def parameters(self) -> tuple[float, ...]:
        return self.mean, self.sd


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

    def parameters(self) -> tuple[float, ...]:
        return self.values


_ARITY = {"uniform": 2, "triangular": 3, "normal": 2, "lognormal": 2}
_SHAPES = {"uniform": "[low, high]", "triangular": "[low, mode, high]", "normal": "[mean, sd]",
           "lognormal": "[mean, sd]"}


def _number(value: Any, is_duration: bool) -> float:
    """One finite number (a duration in hours when ``is_duration``); anything else is a ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if is_duration:
        number = parse_duration(value) if isinstance(value, (str, int, float)) else None
    elif isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
    else:
        number = None
    if number is None:
        raise ValueError(f"{_shown(value)} is not a number")
    if not math.isfinite(number):
        raise ValueError(f"{_shown(value)} is not a finite number")
    return number


def _shown(value: Any) -> str:
    """A value as an error message quotes it: short, one line."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _keys(value: dict[Any, Any]) -> list[str]:
    return sorted(str(k) for k in value)


def _parse(value: Any, *, is_duration: bool) -> float | Dist:
    if not isinstance(value, dict):
        try:
            return _number(value, is_duration)
        except ValueError as err:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                raise  # NaN or infinity: the number's own message says so
            if is_duration and isinstance(value, str) and "unknown time unit" in str(err):
                raise
            unit_hint = " or a duration like 30min, 72h, 3d" if is_duration else ""
            raise ValueError(f"expected a number{unit_hint}, or a distribution "
                             f"({', '.join(DIST_FORMS)}); got {_shown(value)}") from err
    forms = [k for k in value if k in (*_ARITY, "choice", "fixed")]
    if len(forms) != 1:
        raise ValueError(f"a distribution needs exactly one of fixed, uniform, triangular, normal, "
                         f"lognormal, choice; got keys {_keys(value)}")
    form = forms[0]
    allowed = {"normal": {"low", "high"}, "choice": {"weights"}}.get(form, set()) | {form}
    extra = set(value) - allowed
    if extra:
        raise ValueError(f"unexpected key(s) {sorted(str(k) for k in extra)} in a {form} distribution")
    args = value[form]
    if form == "fixed":
        return _number(args, is_duration)
    if form == "choice":
        return _choice(args, value.get("weights"), is_duration)
    if not isinstance(args, list) or len(args) != _ARITY[form]:
        raise ValueError(f"{form} needs {_SHAPES[form]}; got {_shown(args)}")
    nums = [_number(v, is_duration) for v in args]
    if form == "uniform":
        if nums[0] > nums[1]:
            raise ValueError(f"uniform low {nums[0]:g} is above high {nums[1]:g}")
        return Uniform(*nums)
    if form == "triangular":
        if not nums[0] <= nums[1] <= nums[2]:
            raise ValueError(f"triangular needs low <= mode <= high; got {_shown(args)}")
        return Triangular(*nums)
    if form == "normal":
        return _normal(nums, value, is_duration)
    return _lognormal(nums)


def _choice(args: Any, weights: Any, is_duration: bool) -> Choice:
    if not isinstance(args, list) or not args:
        raise ValueError("choice needs a non-empty list of values")
    values = tuple(_number(v, is_duration) for v in args)
    if weights is None:
        return Choice(values)
    if not isinstance(weights, list) or len(weights) != len(values):
        raise ValueError(f"choice weights must be a list of {len(values)} numbers, one per value")
    numbers = tuple(_number(w, False) for w in weights)
    if any(w < 0 for w in numbers) or sum(numbers) <= 0:
        raise ValueError("choice weights must be non-negative and not all 0")
    return Choice(values, numbers)


def _normal(nums: list[float], value: dict[str, Any], is_duration: bool) -> Normal:
    mean, sd = nums
    if sd < 0:
        raise ValueError(f"normal needs sd >= 0; got {sd:g}")
    low = _number(value["low"], is_duration) if "low" in value else -math.inf
    high = _number(value["high"], is_duration) if "high" in value else math.inf
    if low > high:
        raise ValueError(f"normal low {low:g} is above high {high:g}")
    return Normal(mean, sd, low, high)


def _lognormal(nums: list[float]) -> LogNormal:
    mean, sd = nums
    if mean <= 0 or sd < 0:
        raise ValueError("lognormal needs sd >= 0 and mean > 0")
    if sd / mean > MAX_CV:
        raise ValueError(f"lognormal sd / mean is {sd / mean:.3g}; at most {MAX_CV:g} "
                         "(a wider spread has no usable quantiles)")
    return LogNormal(mean, sd)


def _hours_text(hours: float) -> str:
    """A duration bound as people read it: 1s, 30min, 12h, 3650d."""
    if not math.isfinite(hours):
        return "infinite" if hours > 0 else "-infinite"
    size = abs(hours)
    if size == 0:
        return "0h"
    if size < 1 / 60:
        return f"{hours * 3600:.3g}s"
    if size < 1:
        return f"{hours * 60:.3g}min"
    if size < 48:
        return f"{hours:.3g}h"
    days = hours / 24
    return f"{days:,.0f}d" if abs(days) < 1e9 else f"{days:.3g}d"


@dataclass(frozen=True)
class _Bounds:
    """The declared range of one uncertain field, and the magnitude limit of its parameters."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    magnitude: float = MAX_MAGNITUDE
    is_duration: bool = False

    def text(self, number: float) -> str:
        return _hours_text(number) if self.is_duration else f"{number:g}"

    def check(self, parsed: float | Dist) -> None:
        self._check_range(parsed)
        numbers = parsed.parameters() if isinstance(parsed, Dist) else (parsed,)
        for number in numbers:
            if abs(number) > self.magnitude:
                raise ValueError(f"{self.text(number)} is beyond the limit of "
                                 f"{self.text(self.magnitude)} (see docs/limits.md)")

    def _check_range(self, parsed: float | Dist) -> None:
        lo, hi = parsed.bounds if isinstance(parsed, Dist) else (parsed, parsed)
        form = f"a {parsed.form} distribution" if isinstance(parsed, Dist) else ""
        for bound, failed, word in ((self.ge, lo < (self.ge or 0), ">="), (self.gt, lo <= (self.gt or 0), ">"),
                                    (self.le, hi > (self.le or 0), "<="), (self.lt, hi >= (self.lt or 0), "<")):
            if bound is None or not failed:
                continue
            got = lo if word.startswith(">") else hi
            if not math.isfinite(got):
                side, clip = ("below", "low") if word.startswith(">") else ("above", "high")
                raise ValueError(f"must be {word} {self.text(bound)}, but {form} is unbounded {side}; "
                                 f"clip it (normal: {clip}: ...) or use uniform or triangular")
            raise ValueError(f"must be {word} {self.text(bound)}; got {self.text(got)}"
                             + (f" ({form} reaches it)" if form else ""))

    def json_limits(self) -> dict[str, float]:
        limits = {"minimum": self.ge, "exclusiveMinimum": self.gt, "maximum": self.le,
                  "exclusiveMaximum": self.lt}
        return {key: value for key, value in limits.items() if value is not None}

    def describe(self) -> str:
        parts = [f"{word} {self.text(b)}" for b, word in ((self.ge, ">="), (self.gt, ">"),
                                                          (self.le, "<="), (self.lt, "<"))
                 if b is not None]
        parts.append(f"|parameters| <= {self.text(self.magnitude)}")
        return ", ".join(parts)


def _checker(bounds: _Bounds) -> Callable[[Any], float | Dist]:
    def check(value: Any) -> float | Dist:
        if isinstance(value, Dist):
            parsed: float | Dist = value
        else:
            parsed = _parse(value, is_duration=bounds.is_duration)
        bounds.check(parsed)
        return parsed
    return check


_DURATION_PATTERN = r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*[a-zA-Z]+\s*$"


def _schema(bounds: _Bounds) -> dict[str, Any]:
    number = {"type": "number", **bounds.json_limits()}
    scalar: dict[str, Any] = ({"anyOf": [number, {"type": "string", "pattern": _DURATION_PATTERN}]}
                              if bounds.is_duration else number)
    plain_scalar: dict[str, Any] = ({"anyOf": [{"type": "number"}, {"type": "string", "pattern": _DURATION_PATTERN}]}
                                    if bounds.is_duration else {"type": "number"})
    pair = {"type": "array", "items": plain_scalar, "minItems": 2, "maxItems": 2}

    def form(name: str, items: dict[str, Any], **more: Any) -> dict[str, Any]:
        return {"type": "object", "properties": {name: items, **more}, "required": [name],
                "additionalProperties": False}

    what = ("a duration (30min, 72h, 3d; plain numbers are hours)" if bounds.is_duration else "a number")
    return {"anyOf": [
        scalar,
        form("fixed", scalar),
        form("uniform", pair),
        form("triangular", {"type": "array", "items": plain_scalar, "minItems": 3, "maxItems": 3}),
        form("normal", pair, low=plain_scalar, high=plain_scalar),
        form("lognormal", pair),
        form("choice", {"type": "array", "items": plain_scalar, "minItems": 1},
             weights={"type": "array", "items": {"type": "number", "minimum": 0}}),
    ], "description": f"{what} or a distribution sampled per scenario; every value {bounds.describe()}"}


def _serialize(value: float | Dist) -> Any:
    return value.to_data() if isinstance(value, Dist) else value


def _annotated(bounds: _Bounds) -> Any:
    return Annotated[float | Dist, PlainValidator(_checker(bounds)), PlainSerializer(_serialize),
                     WithJsonSchema(_schema(bounds))]


def param(*, ge: float | None = None, gt: float | None = None, le: float | None = None,
          lt: float | None = None) -> Any:
    """An uncertain number with optional bounds, e.g. ``multiplier: param(ge=0)``.

    Every value and distribution parameter must be finite and at most :data:`MAX_MAGNITUDE` in
    size; the bounds apply to every value the distribution can produce.
    """
    return _annotated(_Bounds(ge=ge, gt=gt, le=le, lt=lt))


def duration(*, ge: float | None = 0.0, gt: float | None = None, le: float | None = None) -> Any:
    """An uncertain duration in hours (written ``72h``, ``30min``, ``3d`` or a distribution).

    Every value and distribution parameter is at most :data:`MAX_DURATION_H` (100 years).
    """
    return _annotated(_Bounds(ge=None if gt is not None else ge, gt=gt, le=le,
                              magnitude=MAX_DURATION_H, is_duration=True))


def step_duration() -> Any:
    """The period of something that repeats: an uncertain duration of at least :data:`MIN_STEP_H`."""
    return duration(ge=MIN_STEP_H)


def fixed_duration(*, ge: float | None = 0.0, gt: float | None = None,
                   le: float = MAX_DURATION_H) -> Any:
    """A fixed (not uncertain) duration in hours, written with units, within ``[ge, le]``."""
    bounds = _Bounds(ge=None if gt is not None else ge, gt=gt, le=le, magnitude=MAX_DURATION_H,
                     is_duration=True)

    def check(value: Any) -> float:
        if isinstance(value, dict):
            raise ValueError("must be a fixed duration here, not a distribution")
        hours = _number(value, True)
        bounds.check(hours)
        return hours

    schema = {"anyOf": [{"type": "number", **bounds.json_limits()},
                        {"type": "string", "pattern": _DURATION_PATTERN}],
              "description": f"a duration: 30min, 72h, 3d (numbers are hours); {bounds.describe()}"}
    return Annotated[float, PlainValidator(check), WithJsonSchema(schema)]


Param = param()
DurationParam = duration()
#: A fixed (not uncertain) duration in hours, written with units.
Duration = fixed_duration()

#: Degrees north (-90..90) and east (-180..180), as in ``location: [60.17, 24.94]``.
Latitude = Annotated[float, Field(ge=-90, le=90, description="degrees north")]
Longitude = Annotated[float, Field(ge=-180, le=180, description="degrees east")]
LatLon = tuple[Latitude, Longitude]
