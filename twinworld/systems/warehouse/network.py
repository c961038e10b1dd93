"""The supply network as a networkx DiGraph, its outage schedule, and routes over open lanes.

Nodes carry a ``role`` (supplier, port, warehouse, customer); edges carry the lane's ``label`` and
its mean transit hours ``mean_h``. Free functions only: the live model decides what is open.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable

import networkx as nx

from twinworld.params import Dist
from twinworld.systems.warehouse.config import SupplyNetworkConfig

__all__ = ["build_graph", "route", "route_hours", "unreachable_customers", "Outages"]


def _mean_hours(value: float | Dist) -> float:
    """A sampled duration, or the middle of one still a distribution (at check time)."""
    return value.ppf(0.5) if isinstance(value, Dist) else float(value)


def build_graph(config: SupplyNetworkConfig) -> nx.DiGraph:
    """A DiGraph of the configured nodes and lanes (lanes naming unknown nodes are skipped)."""
    graph = nx.DiGraph()
    for name, role in config.roles().items():
        graph.add_node(name, role=role)
    handling = {p.name: _mean_hours(p.handling_time) for p in config.ports}
    for lane in config.lanes:
        if lane.origin not in graph or lane.destination not in graph:
            continue
        mean_h = _mean_hours(lane.lead_time.mean) + handling.get(lane.destination, 0.0)
        if (graph.has_edge(lane.origin, lane.destination)
                and graph.edges[lane.origin, lane.destination]["mean_h"] <= mean_h):
            continue  # a parallel lane: routes use the faster one, the other stays a target
        graph.add_edge(lane.origin, lane.destination, label=lane.label, mean_h=mean_h, mode=lane.mode)
    return graph


def route(graph: nx.DiGraph, origin: str, destination: str, *,
          is_open: Callable[[str], bool] | None = None,
          extra_h: Callable[[str, str], float] | None = None,
          first_mode: str | None = None) -> list[str] | None:
    """The fastest path from ``origin`` to ``destination``, or None.

    Parameters
    ----------
    is_open
        ``is_open(element)`` for node names and lane labels; closed ones are avoided (the origin
        itself is always allowed).
    extra_h
        Extra hours to add to a lane ``(u, v)`` (its backlog and the port's, for capacity).
    first_mode
        Only leave ``origin`` over a lane of this mode (a vessel at anchorage can only sail on).
    """
    def weight(u: str, v: str, data: dict) -> float | None:
        if is_open is not None and not (is_open(data["label"]) and is_open(v)):
            return None
        if first_mode is not None and u == origin and data["mode"] != first_mode:
            return None
        if v != destination and graph.nodes[v]["role"] in ("customer", "supplier"):
            return None  # goods do not pass through customers or suppliers
        return data["mean_h"] + (extra_h(u, v) if extra_h is not None else 0.0)

    try:
        return nx.dijkstra_path(graph, origin, destination, weight=weight)
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        return None


def route_hours(graph: nx.DiGraph, path: list[str]) -> float:
    """Mean transit plus handling hours along a path."""
    return sum(graph.edges[u, v]["mean_h"] for u, v in zip(path, path[1:]))


def unreachable_customers(graph: nx.DiGraph, config: SupplyNetworkConfig) -> dict[str, str]:
    """Customers no supplier can reach through a warehouse: name -> why.

    Linear in the network's size for the usual few distinct sources: one reachability search per
    node that some warehouse orders from, then a work-list over the warehouses.
    """
    reasons: dict[str, str] = {}
    stocked = _fed_warehouses(graph, config)
    for customer in config.customers:
        feeders = [u for u in graph.predecessors(customer.name) if graph.nodes[u]["role"] == "warehouse"]
        if customer.served_by is not None:
            feeders = [u for u in feeders if u == customer.served_by]
        if not feeders:
            target = f"from its warehouse {customer.served_by!r}" if customer.served_by else "from any warehouse"
            reasons[customer.name] = f"has no lane {target}"
        elif not any(u in stocked for u in feeders):
            reasons[customer.name] = (f"is served by {', '.join(feeders)}, which no supplier can reach "
                                      "over the lanes")
    return reasons


def _reach(graph: nx.DiGraph, origin: str) -> set[str]:
    """Nodes a shipment from ``origin`` can get to (as :func:`route` moves: not through a customer
    or a supplier), found by one breadth-first search."""
    reached: set[str] = set()
    frontier = [origin]
    while frontier:
        node = frontier.pop()
        for nxt in graph.successors(node):
            if nxt in reached:
                continue
            reached.add(nxt)
            if graph.nodes[nxt]["role"] not in ("customer", "supplier"):
                frontier.append(nxt)
    return reached


def _fed_warehouses(graph: nx.DiGraph, config: SupplyNetworkConfig) -> set[str]:
    """Warehouses stock can reach: a supplier among their sources reaches them over the lanes, or a
    warehouse among their sources does that is fed itself (the least fixed point)."""
    roles = config.roles()
    reach: dict[str, set[str]] = {}

    def reaches(source: str, warehouse: str) -> bool:
        if source not in graph:
            return False
        if source not in reach:
            reach[source] = _reach(graph, source)
        return warehouse in reach[source]

    fed: set[str] = set()
    waiting_on: defaultdict[str, list[str]] = defaultdict(list)  # source warehouse -> dependents
    queue: list[str] = []
    for wh in config.warehouses:
        for source in wh.sources:
            if not reaches(source, wh.name):
                continue
            if roles.get(source) == "supplier":
                if wh.name not in fed:
                    fed.add(wh.name)
                    queue.append(wh.name)
                break
            if roles.get(source) == "warehouse" and source != wh.name:
                waiting_on[source].append(wh.name)
    while queue:
        for dependent in waiting_on.pop(queue.pop(), []):
            if dependent not in fed:
                fed.add(dependent)
                queue.append(dependent)
    return fed


class Outages:
    """When each element (node name or lane label) is closed, and its lost capacity share.

    Windows are known before the run starts (disruptions are sampled per scenario), so a moving
    shipment can ask when its lane next closes and stop exactly there.
    """

    def __init__(self) -> None:
        self._closed: defaultdict[str, list[tuple[float, float]]] = defaultdict(list)
        self._losses: defaultdict[str, list[tuple[float, float, float]]] = defaultdict(list)

    def close(self, element: str, start_h: float, end_h: float) -> None:
        if end_h > start_h:
            self._closed[element].append((start_h, end_h))
            self._closed[element].sort()

    def lose(self, element: str, start_h: float, end_h: float, share: float) -> None:
        """A share of capacity lost over a window; a total loss is a closure."""
        if share >= 1.0:
            self.close(element, start_h, end_h)
        elif share > 0 and end_h > start_h:
            self._losses[element].append((start_h, end_h, share))

    def close_from(self, element: str, start_h: float) -> None:
        """Closed from ``start_h`` until further notice (:meth:`reopen`): a coupled provider failed."""
        self._closed[element].append((start_h, math.inf))
        self._closed[element].sort()

    def reopen(self, element: str, start_h: float, end_h: float) -> None:
        """End the open-ended closure that began at ``start_h``."""
        windows = self._closed[element]
        if (start_h, math.inf) in windows:
            windows.remove((start_h, math.inf))
            if end_h > start_h:
                windows.append((start_h, end_h))
                windows.sort()

    def windows(self, element: str) -> list[tuple[float, float]]:
        return list(self._closed.get(element, ()))

    def has_any(self, elements: Iterable[str]) -> bool:
        return any(e in self._closed for e in elements)

    def is_open(self, element: str, t: float) -> bool:
        return not any(s <= t < e for s, e in self._closed.get(element, ()))

    def reopens_at(self, element: str, t: float) -> float:
        """The first time at or after ``t`` when ``element`` is open (``t`` itself if open now)."""
        windows = self._closed.get(element, ())
        moved = True
        while moved:
            moved = False
            for s, e in windows:
                if s <= t < e:
                    t, moved = e, True
        return t

    def next_closure(self, element: str, t: float) -> float:
        """The next time after ``t`` at which ``element`` closes (inf if never)."""
        windows = self._closed.get(element, ())
        starts = [s for s, _ in windows]
        i = bisect_right(starts, t)
        return starts[i] if i < len(starts) else math.inf

    def capacity_factor(self, element: str, t: float) -> float:
        lost = sum(share for s, e, share in self._losses.get(element, ()) if s <= t < e)
        return max(0.0, 1.0 - lost) if self.is_open(element, t) else 0.0
