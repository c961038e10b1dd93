"""How large one run of a hospital region is: an upper-end estimate of its SimPy events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from twinworld.systems.workload import high, low, surge_factor

__all__ = ["estimate_events"]

#: Events per patient: arrival, admission (or boarding), discharge timer, discharge, a give-up timer.
EVENTS_PER_PATIENT = 5


def estimate_events(config: Any, horizon_h: float, disruptions: Sequence[Any],
                    levers: Sequence[Any]) -> float:
    """Patients times their events, plus the hourly snapshots and the strategies' periodic reviews."""
    days = horizon_h / 24.0
    surge = surge_factor(disruptions, "patient_surge")
    emergency = sum(high(h.arrivals_per_day) for h in config.hospitals) * days * surge
    electives = sum(high(h.electives_per_day) for h in config.hospitals) * days
    hospitals = len(config.hospitals)
    events = EVENTS_PER_PATIENT * (emergency + electives) + horizon_h * hospitals
    for lever in levers:
        if lever.kind == "transfer":
            events += horizon_h / max(low(lever.check_every), 1e-9) * hospitals
        elif lever.kind in ("surge_beds", "cancel_electives"):
            events += horizon_h * hospitals
    return events
