"""How large one run of a port is: an upper-end estimate of its SimPy events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from twinworld.systems.workload import high, low, surge_factor

__all__ = ["estimate_events"]

#: Events per vessel call: arrival, berthing, set-up halves, crane-rate timers, gate releases, departure.
EVENTS_PER_CALL = 20


def _calls(arrivals: Any, horizon_h: float) -> float:
    if arrivals.kind == "poisson":
        return high(arrivals.rate_per_day) * horizon_h / 24.0
    if arrivals.kind == "fitted":
        return horizon_h / max(low(arrivals.mean_interarrival), 1e-9)
    if arrivals.kind == "schedule":
        return float(len(arrivals.calls))
    return 0.0  # AIS arrivals become fitted or scheduled ones when the scenario is loaded


def estimate_events(config: Any, horizon_h: float, disruptions: Sequence[Any],
                    levers: Sequence[Any]) -> float:
    """Vessel calls (arrival surges included) times their events, plus hourly snapshots."""
    calls = _calls(config.arrivals, horizon_h) * surge_factor(disruptions, "arrival_surge")
    return EVENTS_PER_CALL * calls + 2 * horizon_h + 4 * len(disruptions)
