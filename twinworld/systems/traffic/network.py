"""The road network as arrays: a link table and shortest-path trees over it.

A :class:`RoadNetwork` is static data (built once per worker through the per-process cache): node
coordinates and, per directed link, ``length_km``, ``speed_kmh`` (free flow), ``lanes``,
``capacity_veh_h`` and ``storage_veh``. The live state of a run (closures, capacity losses,
queues) lives in the engine, never here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

__all__ = ["RoadNetwork", "grid_tables", "point_in_polygon", "haversine_km"]


def haversine_km(lat1: np.ndarray | float, lon1: np.ndarray | float,
                 lat2: np.ndarray | float, lon2: np.ndarray | float) -> np.ndarray:
    """Great-circle distance in km (vectorised)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat, dlon = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(h))


def point_in_polygon(lat: np.ndarray, lon: np.ndarray, polygon: Sequence[Sequence[float]]) -> np.ndarray:
    """Which points lie inside a polygon of ``(lat, lon)`` vertices (ray casting, vectorised)."""
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    inside = np.zeros(lat.shape, bool)
    vertices = [(float(a), float(b)) for a, b in polygon]
    for (lat_a, lon_a), (lat_b, lon_b) in zip(vertices, vertices[1:] + vertices[:1]):
        crosses = (lat_a > lat) != (lat_b > lat)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = lon_a + (lat - lat_a) * (lon_b - lon_a) / (lat_b - lat_a)
        inside ^= crosses & (lon < at)
    return inside


@dataclass
class RoadNetwork:
    """Nodes and directed links of a road network (immutable by convention; shared between runs).

    Parameters
    ----------
    node_ids
        External node names (OSM ids or grid labels) as strings.
    lat, lon
        Node coordinates (degrees; grids use a local made-up frame).
    u, v
        Start and end node index of each link.
    length_km, speed_kmh, lanes, capacity_veh_h, storage_veh
        The link table.
    link_ids, road_names, highway, bridge
        Link labels, street names, OSM class and whether the link is a bridge.
    """

    node_ids: list[str]
    lat: np.ndarray
    lon: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length_km: np.ndarray
    speed_kmh: np.ndarray
    lanes: np.ndarray
    capacity_veh_h: np.ndarray
    storage_veh: np.ndarray
    link_ids: list[str]
    road_names: list[str]
    highway: list[str]
    bridge: np.ndarray
    street_count: np.ndarray = field(init=False, repr=False)
    key: str = ""
    _node_index: dict[str, int] = field(default_factory=dict, repr=False)
    _link_index: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._node_index = {name: i for i, name in enumerate(self.node_ids)}
        self._link_index = {name: i for i, name in enumerate(self.link_ids)}
        # streets meeting at a node = distinct neighbours over the drivable links kept
        pairs = np.unique(np.sort(np.stack([self.u, self.v], axis=1), axis=1), axis=0)
        self.street_count = np.bincount(pairs.ravel(), minlength=self.n_nodes)
        self.reverse = self._reverse_links()

    # ------------------------------------------------------------------ construction --
    @classmethod
    def from_tables(cls, nodes: pd.DataFrame, links: pd.DataFrame, *, key: str = "") -> "RoadNetwork":
        """Build from the ``nodes``/``links`` tables of :mod:`twinworld.feeds.osm`."""
        node_ids = [str(n) for n in nodes["node_id"]]
        index = {name: i for i, name in enumerate(node_ids)}
        u = np.array([index[str(n)] for n in links["u"]], dtype=np.int64)
        v = np.array([index[str(n)] for n in links["v"]], dtype=np.int64)
        if not key:
            digest = hashlib.sha256(pd.util.hash_pandas_object(links[["length_km", "capacity_veh_h"]]).values)
            key = digest.hexdigest()[:16]
        return cls(node_ids=node_ids, lat=nodes["lat"].to_numpy(float), lon=nodes["lon"].to_numpy(float),
                   u=u, v=v, length_km=links["length_km"].to_numpy(float),
                   speed_kmh=links["speed_kmh"].to_numpy(float), lanes=links["lanes"].to_numpy(float),
                   capacity_veh_h=links["capacity_veh_h"].to_numpy(float),
                   storage_veh=links["storage_veh"].to_numpy(float),
                   link_ids=[str(x) for x in links["link_id"]],
                   road_names=[str(x) for x in links.get("name", [""] * len(links))],
                   highway=[str(x) for x in links.get("highway", ["road"] * len(links))],
                   bridge=np.asarray(links.get("bridge", np.zeros(len(links), bool)), bool),
                   key=key)

    # --------------------------------------------------------------------- properties --
    @property
    def n_nodes(self) -> int:
        return len(self.node_ids)

    @property
    def n_links(self) -> int:
        return len(self.link_ids)

    @property
    def free_flow_h(self) -> np.ndarray:
        """Free-flow travel time of each link in hours."""
        return self.length_km / self.speed_kmh

    def node(self, name: str) -> int:
        """Index of a node by its external id (KeyError if absent)."""
        return self._node_index[str(name)]

    def has_node(self, name: str) -> bool:
        return str(name) in self._node_index

    def link(self, name: str) -> int:
        return self._link_index[str(name)]

    def has_link(self, name: str) -> bool:
        return str(name) in self._link_index

    def nearest_node(self, lat: float, lon: float) -> tuple[int, float]:
        """Index of the node nearest to a point and its distance in km."""
        dist = haversine_km(lat, lon, self.lat, self.lon)
        i = int(np.argmin(dist))
        return i, float(dist[i])

    def nodes_in(self, polygon: Sequence[Sequence[float]]) -> np.ndarray:
        """Boolean mask of nodes inside a ``(lat, lon)`` polygon."""
        return point_in_polygon(self.lat, self.lon, polygon)

    def links_in(self, polygon: Sequence[Sequence[float]]) -> np.ndarray:
        """Boolean mask of links with either end, or their midpoint, inside the polygon."""
        inside = self.nodes_in(polygon)
        mid = point_in_polygon((self.lat[self.u] + self.lat[self.v]) / 2,
                               (self.lon[self.u] + self.lon[self.v]) / 2, polygon)
        return inside[self.u] | inside[self.v] | mid

    def links_named(self, names: Sequence[str]) -> np.ndarray:
        """Boolean mask of links whose street name (any of a merged link's names) or id is in ``names``."""
        wanted = set(names)
        return np.array([i in wanted or not wanted.isdisjoint(r.split("; "))
                         for r, i in zip(self.road_names, self.link_ids)], bool)

    def boundary_nodes(self, share: float = 0.1) -> np.ndarray:
        """Nodes on the network's edge: those in the outer ``share`` of its extent, or dead ends there."""
        lat0, lat1 = self.lat.min(), self.lat.max()
        lon0, lon1 = self.lon.min(), self.lon.max()
        d_lat, d_lon = (lat1 - lat0) * share, (lon1 - lon0) * share
        outer = ((self.lat <= lat0 + d_lat) | (self.lat >= lat1 - d_lat)
                 | (self.lon <= lon0 + d_lon) | (self.lon >= lon1 - d_lon))
        return np.flatnonzero(outer)

    def _reverse_links(self) -> np.ndarray:
        """Index of the opposite-direction link of each link (-1 if one-way)."""
        lookup = {(int(a), int(b)): i for i, (a, b) in enumerate(zip(self.u, self.v))}
        return np.array([lookup.get((int(b), int(a)), -1) for a, b in zip(self.u, self.v)], np.int64)

    # ---------------------------------------------------------------------- routing --
    def trees_to(self, destinations: Sequence[int], cost_h: np.ndarray,
                 is_open: np.ndarray | None = None, *, noise: float = 0.0,
                 rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Shortest-path trees towards each destination node.

        Parameters
        ----------
        destinations
            Node indices.
        cost_h
            Travel time of each link (hours) to route on.
        is_open
            Links that may be used (default all).
        noise, rng
            With ``noise > 0``, the trees are built on costs multiplied by ``1 + noise * U(0, 1)``,
            one draw per link (from ``rng``) shared by every destination, as UXsim's ``duo_noise``
            breaks ties between equally short routes. ``time_h`` is then the noisy time (at most
            ``1 + noise`` times the true one).

        Returns
        -------
        next_link, time_h
            ``next_link[d, node]`` is the link to take at ``node`` towards destination ``d`` (-1 at
            the destination or where it cannot be reached); ``time_h[d, node]`` the time to reach it.
        """
        n = self.n_nodes
        best, weights, graph = self._reversed_graph(cost_h, is_open)
        dest = np.asarray(destinations, dtype=np.int64)
        if dest.size == 0:
            return np.zeros((0, n), np.int64), np.zeros((0, n))
        if noise > 0 and rng is not None:  # one draw per link, shared by every destination
            weights = weights * (1.0 + noise * rng.random(best.size))
            graph = csr_matrix((weights, (self.v[best], self.u[best])), shape=(n, n))
        time_h, pred = dijkstra(graph, directed=True, indices=dest, return_predecessors=True)
        keys = self.u[best] * n + self.v[best]
        sort = np.argsort(keys)
        keys, best_sorted = keys[sort], best[sort]
        nodes = np.arange(n)
        next_link = np.full((dest.size, n), -1, np.int64)
        for row in range(dest.size):
            succ = pred[row]
            ok = succ >= 0
            want = nodes[ok] * n + succ[ok]
            pos = np.searchsorted(keys, want)
            next_link[row, ok] = best_sorted[pos]
        return next_link, time_h

    def times_to(self, destinations: Sequence[int], cost_h: np.ndarray,
                 is_open: np.ndarray | None = None) -> np.ndarray:
        """``time_h`` of :meth:`trees_to` without noise, without building the trees (the same
        numbers: the same graph and the same shortest-path search)."""
        n = self.n_nodes
        dest = np.asarray(destinations, dtype=np.int64)
        if dest.size == 0:
            return np.zeros((0, n))
        _, _, graph = self._reversed_graph(cost_h, is_open)
        return dijkstra(graph, directed=True, indices=dest)

    def _reversed_graph(self, cost_h: np.ndarray,
                        is_open: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, csr_matrix]:
        """The usable links (the cheapest of parallel ones), their weights, and the graph with an
        edge v -> u for each, so that a search from d gives times *to* d."""
        n = self.n_nodes
        usable = np.ones(self.n_links, bool) if is_open is None else is_open.copy()
        usable &= np.isfinite(cost_h)
        cand = np.flatnonzero(usable)
        order = cand[np.lexsort((cost_h[cand], self.v[cand], self.u[cand]))]
        pair = self.u[order] * n + self.v[order]
        keep = np.ones(order.size, bool)
        keep[1:] = pair[1:] != pair[:-1]
        best = order[keep]
        weights = np.maximum(cost_h[best], 1e-12)
        return best, weights, csr_matrix((weights, (self.v[best], self.u[best])), shape=(n, n))

    def free_flow_times_h(self, origins: Sequence[int], destinations: Sequence[int]) -> np.ndarray:
        """Free-flow shortest-path hours from each origin to each destination."""
        return self.times_to(destinations, self.free_flow_h)[:, np.asarray(origins, np.int64)].T


def grid_tables(rows: int, cols: int, *, link_km: float = 1.0, speed_kmh: float = 72.0,
                lanes: int = 1, capacity_veh_h_lane: float = 2880.0,
                jam_density_veh_km_lane: float = 200.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A rows x cols grid of two-way links, as ``nodes``/``links`` tables.

    Nodes are named ``"r,c"``; coordinates are a local frame (0.009 degrees of latitude per km).
    The defaults match UXsim's default link (20 m/s, jam density 0.2 veh/m, 1 s reaction time).
    """
    deg = 0.009 * link_km
    nodes = pd.DataFrame([{"node_id": f"{r},{c}", "lat": r * deg, "lon": c * deg}
                          for r in range(rows) for c in range(cols)])
    links = []
    for r in range(rows):
        for c in range(cols):
            for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0)):
                rr, cc = r + dr, c + dc
                if 0 <= rr < rows and 0 <= cc < cols:
                    links.append({"link_id": f"{r},{c}>{rr},{cc}", "u": f"{r},{c}", "v": f"{rr},{cc}",
                                  "length_km": link_km, "speed_kmh": speed_kmh, "lanes": lanes,
                                  "capacity_veh_h": capacity_veh_h_lane * lanes,
                                  "storage_veh": jam_density_veh_km_lane * link_km * lanes,
                                  "highway": "grid", "name": f"row{r}" if dr == 0 else f"col{c}",
                                  "bridge": False})
    return nodes, pd.DataFrame(links)

