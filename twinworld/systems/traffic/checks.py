"""Cross-checks of a road-network scenario against its network: every place must be on it.

Each function returns what it resolved plus :class:`~twinworld.errors.Problem` records (with the
field path) for what it could not; the plugin's ``check`` reports them at load time and the system
raises them as a :class:`~twinworld.errors.ScenarioError` when built from Python.
"""

from __future__ import annotations

import difflib
from typing import Any, Sequence

import numpy as np

from twinworld.errors import Problem
from twinworld.systems.traffic.config import RoadNetworkConfig
from twinworld.systems.traffic.engine import Destination
from twinworld.systems.traffic.network import RoadNetwork

__all__ = ["destinations_of", "zone_nodes", "named_links", "area_links", "place_node", "all_problems"]


def _extent(net: RoadNetwork) -> str:
    return (f"the network spans lat {net.lat.min():.4f}..{net.lat.max():.4f}, "
            f"lon {net.lon.min():.4f}..{net.lon.max():.4f}")


def place_node(net: RoadNetwork, place: str | Sequence[float], config: RoadNetworkConfig,
               path: str) -> tuple[int, list[Problem]]:
    """Node of a node id, a named place of ``config.places``, or a ``(lat, lon)`` point."""
    if isinstance(place, str):
        if net.has_node(place):
            return net.node(place), []
        if place in config.places:
            place = config.places[place]
        else:
            close = difflib.get_close_matches(place, [*config.places, *net.node_ids[:2000]], n=3)
            return -1, [Problem(f"{place!r} is neither a node of the network nor a named place",
                                path, valid=", ".join(close) or "a node id or a key of places")]
    node, km = net.nearest_node(float(place[0]), float(place[1]))
    if km > config.max_snap_km:
        return -1, [Problem(f"point [{place[0]}, {place[1]}] is {km:.2f} km from the nearest road "
                            f"node, so it is not on the network (max_snap_km {config.max_snap_km}); "
                            + _extent(net), path, valid="a point within max_snap_km of a road")]
    return node, []


def destinations_of(net: RoadNetwork, config: RoadNetworkConfig,
                    prefix: str) -> tuple[list[Destination], list[Problem]]:
    """Shelters snapped to nodes; with none, exits on the network's boundary (or the OD ends)."""
    problems: list[Problem] = []
    found: list[Destination] = []
    for i, shelter in enumerate(config.shelters):
        where = f"{prefix}.shelters.{i}." + ("location" if shelter.location is not None else "node")
        node, bad = place_node(net, shelter.node if shelter.node is not None else shelter.location,
                               config, where)
        problems += bad
        capacity = float("inf") if shelter.capacity_veh is None else float(shelter.capacity_veh)  # type: ignore[arg-type]
        found.append(Destination(shelter.name, node, capacity))
    if config.od:
        names = {d.name for d in found}
        for i, flow in enumerate(config.od):
            node, bad = place_node(net, flow.destination, config, f"{prefix}.od.{i}.destination")
            problems += bad
            if flow.destination not in names:
                names.add(flow.destination)
                found.append(Destination(flow.destination, node))
    elif not found:
        found = [Destination(f"exit:{net.node_ids[n]}", int(n)) for n in net.boundary_nodes()]
    return found, problems


def zone_nodes(net: RoadNetwork, config: RoadNetworkConfig, prefix: str) -> tuple[list[np.ndarray], list[Problem]]:
    """Node indices of each zone (every node for a zone without polygon)."""
    problems, nodes = [], []
    for i, zone in enumerate(config.zones):
        if zone.polygon is None:
            nodes.append(np.arange(net.n_nodes))
            continue
        inside = np.flatnonzero(net.nodes_in(zone.polygon))
        if inside.size == 0:
            problems.append(Problem(f"zone {zone.name!r}: the polygon contains no node of the road "
                                    f"network; {_extent(net)}", f"{prefix}.zones.{i}.polygon",
                                    valid="a polygon of [lat, lon] around some of the network's roads"))
        nodes.append(inside)
    return nodes, problems


def named_links(net: RoadNetwork, names: Sequence[str], path: str) -> tuple[np.ndarray, list[Problem]]:
    """Links of the named streets (or link ids); unknown names are problems."""
    mask = net.links_named(names)
    known = sorted({part for r in net.road_names for part in r.split("; ") if part})
    problems = []
    for name in names:
        if not net.links_named([name]).any():
            close = difflib.get_close_matches(name, known, n=3)
            problems.append(Problem(f"no road or link named {name!r} in the network", path,
                                    valid=", ".join(close) if close else f"one of {len(known)} street names"))
    return mask, problems


def area_links(net: RoadNetwork, disruption: Any, path: str) -> tuple[np.ndarray, list[Problem]]:
    """Links a disruption acts on: its named roads and/or the links touching its polygon."""
    mask = np.zeros(net.n_links, bool)
    problems: list[Problem] = []
    if disruption.roads:
        named, problems = named_links(net, disruption.roads, f"{path}.roads")
        mask |= named
    if disruption.polygon is not None:
        inside = net.links_in(disruption.polygon)
        if not inside.any():
            problems.append(Problem(f"the {disruption.kind} polygon does not intersect the road "
                                    f"network; {_extent(net)}", f"{path}.polygon",
                                    valid="a polygon of [lat, lon] over some of the network's roads"))
        if disruption.kind == "bridge_failure" and not disruption.roads:
            inside &= net.bridge
            if not inside.any() and not problems:
                problems.append(Problem("no link tagged as a bridge inside the polygon", f"{path}.polygon",
                                        valid="name the bridge roads in `roads`"))
        mask |= inside
    if disruption.kind == "signal_outage" and not disruption.roads:
        if disruption.polygon is None:
            mask[:] = True
        mask &= (net.street_count >= 3)[net.v]
    return mask, problems


def all_problems(net: RoadNetwork, config: RoadNetworkConfig, name: str, scenario: Any) -> list[Problem]:
    """Every network cross-reference problem of one road system in a scenario."""
    from twinworld.systems.base import target_system
    from twinworld.systems.traffic.strategies import Contraflow, Staged

    prefix = f"systems.{name}"
    problems = destinations_of(net, config, prefix)[1] + zone_nodes(net, config, prefix)[1]
    for i, flow in enumerate(config.od):
        problems += place_node(net, flow.origin, config, f"{prefix}.od.{i}.origin")[1]
    for place, point in config.places.items():
        problems += place_node(net, point, config, f"{prefix}.places.{place}")[1]
    for i, disruption in enumerate(getattr(scenario, "disruptions", [])):
        if target_system(disruption.target) == name:
            problems += area_links(net, disruption, f"disruptions.{i}")[1]
    zones = config.zone_names()
    for strategy, parts in getattr(scenario, "strategies", {}).items():
        for j, lever in enumerate(parts.get(name, ())):
            where = f"strategies.{strategy}.{name}" + (f".{j}" if len(parts[name]) > 1 else "")
            if isinstance(lever, Contraflow):
                problems += named_links(net, lever.roads, f"{where}.roads")[1]
            if isinstance(lever, Staged):
                for k, stage in enumerate(lever.stages):
                    for zone in stage.zones:
                        if zone not in zones:
                            problems.append(Problem(f"no zone {zone!r}", f"{where}.stages.{k}.zones",
                                                    valid=", ".join(zones) or "(no zones defined)"))
    return problems
