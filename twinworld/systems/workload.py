"""Helpers for the systems' run-size estimates (``SystemPlugin.estimate_events``).

An estimate is an upper-end guess of the SimPy events (or comparable units of work) one run
processes, made at load time from the configuration, the disruptions aimed at the system and one
strategy's levers. Uncertain values count at their high end (the 99.9th percentile of an unbounded
distribution), so a scenario is refused only when some sample would be too large to run.
"""

from __future__ import annotations

import math
from typing import Any

from twinworld.params import Dist

__all__ = ["high", "low", "surge_factor"]


def high(value: Any, default: float = 0.0) -> float:
    """The largest value a parameter takes (finite: unbounded distributions at their 99.9%)."""
    if value is None:
        return default
    if isinstance(value, Dist):
        top = value.bounds[1]
        return float(top if math.isfinite(top) else value.ppf(0.999))
    return float(value)


def low(value: Any, default: float = 0.0) -> float:
    """The smallest value a parameter takes (finite: unbounded distributions at their 0.1%)."""
    if value is None:
        return default
    if isinstance(value, Dist):
        bottom = value.bounds[0]
        return float(bottom if math.isfinite(bottom) else value.ppf(0.001))
    return float(value)


def surge_factor(disruptions: Any, kind: str, field: str = "multiplier") -> float:
    """Product of the high ends of every ``kind`` disruption's multiplier above 1 (overlap bound)."""
    factor = 1.0
    for disruption in disruptions:
        if disruption.kind == kind:
            factor *= max(1.0, high(getattr(disruption, field, 1.0), 1.0))
    return factor
