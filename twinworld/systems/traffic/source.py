"""Build a scenario's road network once per worker process (keyed by the source's content)."""

from __future__ import annotations

import hashlib
import json

from twinworld.core.cache import file_digest, static
from twinworld.errors import FeedError
from twinworld.systems.traffic.config import NetworkSource
from twinworld.systems.traffic.network import RoadNetwork, grid_tables

__all__ = ["load_network", "source_key"]


def source_key(source: NetworkSource) -> str:
    """Content key of a network source: the file's hash (or the grid's spec) plus the reader."""
    if source.grid is not None:
        spec = json.dumps(source.grid.model_dump(), sort_keys=True)
        return "grid:" + hashlib.sha256(spec.encode()).hexdigest()[:16]
    if source.digest:
        return f"osm:{source.digest}"
    if source.osm_pbf == "helsinki":
        from twinworld.feeds.osm import helsinki_pbf_path

        path = helsinki_pbf_path()
        return "helsinki:" + static(f"digest:{path}", lambda: file_digest(path))
    if source.resolved_path:
        resolved = source.resolved_path
        return "osm:" + static(f"digest:{resolved}", lambda: file_digest(resolved))
    raise FeedError(f"the road network file {source.osm_file!r} has not been resolved; "
                    "load the scenario with twinworld.load_scenario")


def _build(source: NetworkSource, key: str) -> RoadNetwork:
    if source.grid is not None:
        g = source.grid
        nodes, links = grid_tables(g.rows, g.cols, link_km=g.link_km, speed_kmh=g.speed_kmh,
                                   lanes=g.lanes, capacity_veh_h_lane=g.capacity_veh_h_lane,
                                   jam_density_veh_km_lane=g.jam_density_veh_km_lane)
    elif source.osm_pbf == "helsinki":
        from twinworld.feeds.osm import read_helsinki

        nodes, links = read_helsinki()
    else:
        from twinworld.feeds.osm import read_osm_file

        nodes, links = read_osm_file(source.resolved_path or str(source.osm_file))
    return RoadNetwork.from_tables(nodes, links, key=key)


def load_network(source: NetworkSource) -> RoadNetwork:
    """The network of ``source``, built on first use in this process and shared afterwards."""
    key = source_key(source)
    return static(f"road_network:{key}", lambda: _build(source, key))
