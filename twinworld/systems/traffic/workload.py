"""How large one run of a road network is: an upper-end estimate of its engine events."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from twinworld.systems.workload import high, low

__all__ = ["estimate_events"]

#: Engine events per platoon and link it crosses (enter, leave, free the room it held).
EVENTS_PER_HOP = 3


def _network_size(config: Any) -> tuple[int, int]:
    """(nodes, links) of the configured network, when it can be read now (it is cached)."""
    grid = config.source.grid
    if grid is not None:
        return grid.rows * grid.cols, 4 * grid.rows * grid.cols
    try:
        from twinworld.systems.traffic.source import load_network

        net = load_network(config.source)
        return int(net.n_nodes), int(net.n_links)
    except Exception:  # noqa: BLE001 - an unreadable network is reported by the plugin's own checks
        return 2_000, 5_000


def estimate_events(config: Any, horizon_h: float, disruptions: Sequence[Any],
                    levers: Sequence[Any]) -> float:
    """Platoons times the links they cross, the clock's ticks, and every re-plan of the routes."""
    nodes, links = _network_size(config)
    per_household = high(config.vehicles_per_household)
    vehicles = sum(high(z.households) * per_household if z.households is not None
                   else high(z.households_per_node) * nodes * per_household for z in config.zones)
    vehicles += sum(high(flow.vehicles) for flow in config.od)
    platoons = vehicles / config.platoon_size
    hops = 2.0 * math.sqrt(max(nodes, 1))
    events = EVENTS_PER_HOP * platoons * hops + horizon_h / low(config.tick)
    every = None if config.reroute_every is None else low(config.reroute_every)
    for lever in levers:
        if lever.kind == "dynamic_rerouting":
            every = low(lever.every) if lever.enabled else None
    if every:
        destinations = max(len(config.shelters), 10)
        events += horizon_h / every * (links * destinations + platoons)
    return events
