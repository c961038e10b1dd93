"""Cross-checks of a road-network scenario against its network: every place must be on it.

Each function returns what it resolved plus :class:`~twinworld.errors.Problem` records (with the
field path) for what it could not; the plugin's ``check`` and the disruptions' and levers' own
``check`` report them at load time. A run then takes the snapped nodes from the per-process
cache (:func:`snapped`, :func:`cached_area_links`) instead of checking again.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from twinworld.core.cache import static
from twinworld.errors import Problem
from twinworld.systems.traffic.config import RoadNetworkConfig
from twinworld.systems.traffic.engine import Destination
from twinworld.systems.traffic.network import RoadNetwork

__all__ = ["destinations_of", "zone_nodes", "named_links", "area_links", "place_node", "all_problems",
           "Snapped", "snapped", "cached_area_links"]


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
        place: str | Sequence[float] | None = shelter.node if shelter.node is not None else shelter.location
        assert place is not None  # a Shelter has exactly one of node and location
        node, bad = place_node(net, place, config, where)
        problems += bad
        capacity = float("inf") if shelter.capacity_veh is None else float(shelter.capacity_veh)
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


def all_problems(net: RoadNetwork, config: RoadNetworkConfig) -> list[Problem]:
    """Every place of a road system's section that is not on its network (paths relative to it)."""
    problems = destinations_of(net, config, "")[1] + zone_nodes(net, config, "")[1]
    for i, flow in enumerate(config.od):
        problems += place_node(net, flow.origin, config, f"od.{i}.origin")[1]
    for place, point in config.places.items():
        problems += place_node(net, point, config, f"places.{place}")[1]
    return [Problem(p.message, p.path.lstrip("."), p.line, p.column, p.valid) for p in problems]


@dataclass(frozen=True)
class Snapped:
    """A road system's places snapped to network nodes, once per process (see :func:`snapped`).

    ``destinations`` are (name, node) pairs in order: shelters, then OD destinations not already
    named, or the network's exits when there are neither; capacities come from the run's config.
    """

    destinations: tuple[tuple[str, int], ...]
    zone_nodes: tuple[np.ndarray, ...]
    od_origins: tuple[int, ...]
    places: dict[str, int]


def snapped(net: RoadNetwork, config: RoadNetworkConfig) -> Snapped:
    """The nodes of ``config``'s places on ``net``, computed once per process per geometry.

    The scenario was checked at load time (:func:`all_problems`), so nothing here can fail.
    """
    geometry = config.model_dump_json(include={"shelters", "od", "zones", "places", "max_snap_km"})
    key = f"traffic-places:{net.key}:" + hashlib.sha256(geometry.encode()).hexdigest()
    return static(key, lambda: _snap(net, config))


def _snap(net: RoadNetwork, config: RoadNetworkConfig) -> Snapped:
    found, _ = destinations_of(net, config, "")
    zones, _ = zone_nodes(net, config, "")
    origins = tuple(place_node(net, flow.origin, config, "")[0] for flow in config.od)
    places = {name: place_node(net, point, config, "")[0] for name, point in config.places.items()}
    return Snapped(tuple((d.name, d.node) for d in found), tuple(zones), origins, places)


def cached_area_links(net: RoadNetwork, disruption: Any) -> np.ndarray:
    """:func:`area_links` of a (checked) disruption, once per process per area."""
    area = json.dumps([disruption.kind, list(disruption.roads), disruption.polygon])
    key = f"traffic-area:{net.key}:" + hashlib.sha256(area.encode()).hexdigest()
    return static(key, lambda: area_links(net, disruption, "")[0])
