"""Travel times between named places under a road network's state at a given moment.

Other systems (ambulance transfers between hospitals, supply trucks) ask a running road system::

    roads = world.systems["roads"]
    minutes = roads.travel_time_matrix({"Central": (60.170, 24.941), "Harbour": (60.166, 24.951)})

The answer reflects closures, floods and capacity losses active now and, with ``congested=True``,
the traffic now on the links (each link's current travel time: its length over the mean speed of
its vehicles, see :mod:`.link_times`). Unreachable pairs are ``inf``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from twinworld.errors import ScenarioError

if TYPE_CHECKING:
    from twinworld.systems.traffic.model import RoadNetworkSystem
    from twinworld.systems.traffic.network import RoadNetwork

__all__ = ["travel_time_matrix", "network_travel_time_matrix"]


def _nodes(net: "RoadNetwork", places: Mapping[str, Any], max_snap_km: float) -> dict[str, int]:
    nodes = {}
    for name, place in places.items():
        if isinstance(place, str):
            if not net.has_node(place):
                raise ScenarioError.single(f"place {name!r}: no node {place!r} in the network",
                                           path=f"places.{name}", valid="a node id or [lat, lon]")
            nodes[name] = net.node(place)
            continue
        node, km = net.nearest_node(float(place[0]), float(place[1]))
        if km > max_snap_km:
            raise ScenarioError.single(f"place {name!r} is {km:.2f} km from the nearest road node "
                                       f"(max {max_snap_km} km): not on the network",
                                       path=f"places.{name}", valid="a point near a road")
        nodes[name] = node
    return nodes


def network_travel_time_matrix(net: "RoadNetwork", places: Mapping[str, Any], *,
                               cost_h: np.ndarray | None = None, is_open: np.ndarray | None = None,
                               max_snap_km: float = 0.5) -> pd.DataFrame:
    """Minutes from each place (rows) to each place (columns) on link times ``cost_h``.

    Parameters
    ----------
    net
        The road network.
    places
        Name -> ``(lat, lon)`` (snapped to the nearest node) or a node id.
    cost_h
        Link travel times in hours (default: free flow).
    is_open
        Links that can be used (default: all).
    """
    nodes = _nodes(net, places, max_snap_km)
    names = list(nodes)
    cost = net.free_flow_h if cost_h is None else cost_h
    time_h = net.times_to([nodes[n] for n in names], cost, is_open)
    matrix = 60.0 * time_h[:, [nodes[n] for n in names]].T
    return pd.DataFrame(matrix, index=pd.Index(names, name="from"), columns=pd.Index(names, name="to"))


def travel_time_matrix(system: "RoadNetworkSystem", places: Mapping[str, Any] | Sequence[str] | None = None,
                       *, congested: bool = True) -> pd.DataFrame:
    """Minutes between places under ``system``'s network state at the World's current time.

    Parameters
    ----------
    system
        A road system of a World (started or not: before its start it answers for free flow).
    places
        Name -> ``(lat, lon)`` or node id; a list of names of the scenario's ``places``; or
        ``None`` for all of them.
    congested
        Include the queues on the links now (else only closures and speed changes count).
    """
    config = system.config
    if places is None:
        places = dict(config.places)
    elif not isinstance(places, Mapping):
        unknown = [p for p in places if p not in config.places]
        if unknown:
            raise ScenarioError.single(f"unknown place(s) {unknown}", path="places",
                                       valid=", ".join(config.places) or "(no places defined)")
        places = {p: config.places[p] for p in places}
    engine = system.engine
    if engine is None:
        return network_travel_time_matrix(system.net, places, max_snap_km=config.max_snap_km)
    engine.advance_to(system.world.now)
    cost = engine.current_cost_h() if congested else np.asarray(engine.tf)
    return network_travel_time_matrix(system.net, places, cost_h=cost, is_open=engine.is_open,
                                      max_snap_km=config.max_snap_km)
