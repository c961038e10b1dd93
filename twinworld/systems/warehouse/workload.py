"""How large one run of a supply network is: an upper-end estimate of its SimPy events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from twinworld.systems.workload import high, low, surge_factor

__all__ = ["estimate_events"]

#: Events per customer order: the order, its fulfilment, a replenishment order and shipment legs.
EVENTS_PER_ORDER = 8


def estimate_events(config: Any, horizon_h: float, disruptions: Sequence[Any],
                    levers: Sequence[Any]) -> float:
    """Orders (demand spikes included) times their events, periodic reviews and daily snapshots."""
    days = horizon_h / 24.0
    orders = sum(high(c.demand_per_day) for c in config.customers) * days
    orders *= surge_factor(disruptions, "demand_spike")
    reviews = sum(horizon_h / max(low(w.policy.review_every), 1e-9)
                  for w in config.warehouses if w.policy.kind == "R_S")
    return EVENTS_PER_ORDER * orders + 4 * reviews + (days + 1) * len(config.warehouses)
