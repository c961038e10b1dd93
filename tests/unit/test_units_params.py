"""Durations and uncertain parameters."""

from __future__ import annotations

import math
from typing import Annotated

import numpy as np
import pytest
from pydantic import BaseModel, ValidationError

from twinworld.params import Choice, LogNormal, Normal, Triangular, Uniform, duration, param
from twinworld.units import format_hours, parse_duration


@pytest.mark.parametrize("text, hours", [("72h", 72), ("30min", 0.5), ("3d", 72), ("2w", 336),
                                         ("1.5 h", 1.5), (4, 4.0), ("90s", 0.025)])
def test_parse_duration(text, hours) -> None:
    assert parse_duration(text) == pytest.approx(hours)


@pytest.mark.parametrize("bad", ["3 fortnights", "abc", "", True])
def test_parse_duration_rejects(bad) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_format_hours_round_trips() -> None:
    assert format_hours(43.9999) == "44h"
    assert format_hours(1.5) == "1h30min"
    assert format_hours(72) == "3d"


class Model(BaseModel):
    x: Annotated[float, param(ge=0)] = 0.0
    t: Annotated[float, duration()] = 0.0


def test_distribution_forms_parse() -> None:
    m = Model(x={"uniform": [1, 2]}, t={"triangular": ["1d", "2d", "7d"]})
    assert m.x == Uniform(1, 2)
    assert m.t == Triangular(24, 48, 168)
    assert Model(x={"choice": [1, 2, 3], "weights": [1, 0, 1]}).x == Choice((1, 2, 3), (1, 0, 1))
    assert Model(x={"normal": [5, 1], "low": 0}).x == Normal(5, 1, 0)
    assert Model(x={"fixed": 3}).x == 3


@pytest.mark.parametrize("value, fragment", [
    ({"uniform": [2, 1]}, "above high"),
    ({"uniform": [-1, 1]}, "must be >= 0"),
    ({"triangular": [1, 5, 2]}, "low <= mode <= high"),
    ({"beta": [1, 2]}, "exactly one of"),
    ({"uniform": [1, 2], "low": 0}, "unexpected key"),
    ("lots", "expected a number"),
])
def test_bad_distributions_say_what_is_wrong(value, fragment) -> None:
    with pytest.raises(ValidationError) as info:
        Model(x=value)
    assert fragment in str(info.value)


@pytest.mark.parametrize("dist", [Uniform(1, 3), Triangular(0, 1, 4), Normal(10, 2), LogNormal(5, 2),
                                  Choice((1.0, 2.0, 5.0), (0.2, 0.3, 0.5))])
def test_ppf_matches_sampling_moments(dist) -> None:
    u = (np.arange(20000) + 0.5) / 20000
    values = np.array([dist.ppf(x) for x in u])
    assert np.all(np.diff(values) >= -1e-12), "ppf must be monotone"
    expected = {Uniform: 2.0, Triangular: 5 / 3, Normal: 10.0, LogNormal: 5.0, Choice: 3.3}[type(dist)]
    assert values.mean() == pytest.approx(expected, rel=0.01)
    lo, hi = dist.bounds
    assert values.min() >= lo - 1e-9 and values.max() <= hi + 1e-9


def test_lognormal_sd() -> None:
    u = (np.arange(50000) + 0.5) / 50000
    values = np.array([LogNormal(5, 2).ppf(x) for x in u])
    assert values.std() == pytest.approx(2.0, rel=0.03)
    assert math.isinf(LogNormal(5, 2).bounds[1])
