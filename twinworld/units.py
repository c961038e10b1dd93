"""Durations as planners write them ("72h", "30min", "3d") -> float hours, the simulation's time unit."""

from __future__ import annotations

import math
import re

__all__ = ["HOURS_PER", "parse_duration", "format_hours"]

HOURS_PER = {
    "s": 1 / 3600, "sec": 1 / 3600, "second": 1 / 3600, "seconds": 1 / 3600,
    "min": 1 / 60, "m": 1 / 60, "minute": 1 / 60, "minutes": 1 / 60,
    "h": 1.0, "hr": 1.0, "hour": 1.0, "hours": 1.0,
    "d": 24.0, "day": 24.0, "days": 24.0,
    "w": 168.0, "wk": 168.0, "week": 168.0, "weeks": 168.0,
}
_DURATION = re.compile(r"^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*([a-zA-Z]+)\s*$")


def parse_duration(text: str | float | int) -> float:
    """Return a duration in hours.

    Numbers are taken as hours already. Strings need a unit.

    Examples
    --------
    >>> parse_duration("90min")
    1.5
    >>> parse_duration("3d")
    72.0
    >>> parse_duration(4)
    4.0
    """
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a duration")
    shown = repr(text) if len(repr(text)) <= 40 else repr(text)[:37] + "..."
    if isinstance(text, (int, float)):
        return _finite(text, shown)
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(
            f"{shown} is not a duration; write a number and a unit, e.g. 30min, 72h, 3d, 2w")
    number, unit = match.groups()
    factor = HOURS_PER.get(unit.lower())
    if factor is None:
        raise ValueError(
            f"unknown time unit {unit!r} in {shown}; use one of s, min, h, d, w")
    return _finite(float(number) * factor, shown)


def _finite(value: float, shown: object) -> float:
    """``value`` as a float; infinite, NaN or too large for a float is a ValueError."""
    try:
        hours = float(value)
    except OverflowError:
        hours = math.inf
    if not math.isfinite(hours):
        raise ValueError(f"{shown} is not a finite duration")
    return hours


def format_hours(hours: float) -> str:
    """A short human form of a duration in hours (``1.5`` -> ``"1h30min"``)."""
    if hours >= 48 and abs(hours / 24 - round(hours / 24)) < 1e-9:
        return f"{round(hours / 24)}d"
    total_min = round(hours * 60)
    whole, minutes = divmod(total_min, 60)
    if whole and minutes:
        return f"{whole}h{minutes}min"
    return f"{whole}h" if whole else f"{minutes}min"
