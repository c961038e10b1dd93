"""The twin clock: the scenario's time 0 is an absolute moment; scenario hours count from it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

__all__ = ["TwinClock", "parse_time"]


def parse_time(text: str) -> datetime:
    """An ISO 8601 time with a zone (``2026-03-02T06:00:00Z``) as an aware UTC datetime.

    Raises
    ------
    ValueError
        Not ISO 8601, or no time zone.
    """
    stamp = datetime.fromisoformat(text)
    if stamp.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone; add Z (UTC) or +hh:mm")
    return stamp.astimezone(UTC)


def _aware(stamp: Any) -> datetime:
    if isinstance(stamp, pd.Timestamp):
        stamp = stamp.to_pydatetime()
    if stamp.tzinfo is None:
        raise ValueError(f"time {stamp} has no time zone")
    return stamp.astimezone(UTC)


@dataclass(frozen=True)
class TwinClock:
    """Maps absolute times to scenario hours: ``hours(t0) == 0``.

    Examples
    --------
    >>> clock = TwinClock(parse_time("2026-03-02T00:00:00Z"))
    >>> clock.hours(parse_time("2026-03-02T06:30:00Z"))
    6.5
    """

    t0: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "t0", _aware(self.t0))

    def hours(self, stamp: Any) -> float:
        """Scenario hours at ``stamp`` (an aware datetime or pandas Timestamp)."""
        return (_aware(stamp) - self.t0).total_seconds() / 3600.0

    def time(self, hours: float) -> datetime:
        """The absolute time of scenario hour ``hours``."""
        return self.t0 + timedelta(hours=hours)
