"""Route choice with a share of informed drivers: a navigation app, or the roads as they look.

Informed platoons follow the engine's routing trees, re-planned on current travel times (queues
included) when rerouting is on. The others follow the shortest routes at free-flow speed, re-planned
only when roads close or open (they see a closed road; they do not see a queue). This is a subclass
of :class:`~twinworld.systems.traffic.engine.TrafficEngine` that changes only which tree a platoon
reads; with every platoon informed it is never built (the system uses the plain engine).
"""

from __future__ import annotations

import numpy as np

from twinworld.systems.traffic.engine import Destination, TrafficEngine
from twinworld.systems.traffic.network import RoadNetwork

__all__ = ["MixedRoutingEngine"]


class MixedRoutingEngine(TrafficEngine):
    """A :class:`TrafficEngine` where uninformed platoons route on free-flow trees.

    Parameters
    ----------
    free_rng
        The stream for the free-flow trees' route noise (kept apart from the engine's own stream).
    network, destinations, reroute_every_h, in_zone, route_noise, rng, backward_wave, inflow_factor, route_sets
        As for :class:`TrafficEngine`, all given (spelt out: the compiled engine takes no ``*args`` or
        ``**kwargs`` on to it; no defaults, so the engine's stay the only ones).
    """

    def __init__(self, network: RoadNetwork, destinations: list[Destination], *, free_rng: np.random.Generator,
                 reroute_every_h: float | None, in_zone: np.ndarray | None, route_noise: float,
                 rng: np.random.Generator | None, backward_wave: bool, inflow_factor: float,
                 route_sets: int) -> None:
        self.uninformed: list[bool] = []
        self.free_routes: list[list[int]] = []
        self._free_rng = free_rng
        super().__init__(network, destinations, reroute_every_h=reroute_every_h, in_zone=in_zone,
                         route_noise=route_noise, rng=rng, backward_wave=backward_wave,
                         inflow_factor=inflow_factor, route_sets=route_sets)

    def add_platoons(self, origin: np.ndarray, dest: np.ndarray, depart_h: np.ndarray, size: np.ndarray,
                     *, informed: np.ndarray | None = None) -> None:
        """As :meth:`TrafficEngine.add_platoons`, with each platoon's ``informed`` flag (default: all)."""
        super().add_platoons(origin, dest, depart_h, size)
        flags = np.ones(len(origin), bool) if informed is None else np.asarray(informed, bool)
        self.uninformed += (~flags).tolist()

    def place_platoons(self, links: list[int], dest: list[int], size: list[float]) -> None:
        self.uninformed += [False] * len(links)
        super().place_platoons(links, dest, size)

    def _route(self, p: int, d: int, node: int) -> int:
        if self.uninformed[p]:
            return self.free_routes[d][node]
        return super()._route(p, d, node)

    def _other_way(self, p: int, d: int, node: int, blocked: int,
                   choices: dict[int, float] | None = None) -> int:
        """Uninformed drivers know one way (their free-flow route): no other generation to try."""
        if self.uninformed[p]:
            return -1
        return super()._other_way(p, d, node, blocked, choices)

    def _block(self, link: int, wanted: tuple[int, ...]) -> None:
        """An uninformed head waits for its own route's link only: registered on the informed
        routes' alternatives too, it would be woken there, find its way still blocked and take
        the wake-up from the heads that could have used it."""
        if self.uninformed[self.queue[link][0]]:
            wanted = wanted[:1]
        super()._block(link, wanted)

    def replan(self, *, congested: bool | None = None, all_sets: bool = True) -> None:
        """Re-plan; free-flow trees follow changes to the network (closures, speeds) only. The
        base re-plan then lets every blocked head choose again (on its own trees) and wakes the
        links that freed room."""
        if all_sets or not self.free_routes:
            next_link, _ = self.net.trees_to(self.dest_node, np.asarray(self.tf), self.is_open,
                                             noise=self.route_noise, rng=self._free_rng)
            self.free_routes = next_link.tolist()
        super().replan(congested=congested, all_sets=all_sets)
