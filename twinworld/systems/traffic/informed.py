"""Route choice with a share of informed drivers: a navigation app, or the roads as they look.

Informed platoons follow the engine's routing trees, re-planned on current travel times (queues
included) when rerouting is on. The others follow the shortest routes at free-flow speed, re-planned
only when roads close or open (they see a closed road; they do not see a queue). This is a subclass
of :class:`~twinworld.systems.traffic.engine.TrafficEngine` that changes only which tree a platoon
reads; with every platoon informed it is never built (the system uses the plain engine).
"""

from __future__ import annotations

import numpy as np

from twinworld.systems.traffic.engine import TrafficEngine

__all__ = ["MixedRoutingEngine"]


class MixedRoutingEngine(TrafficEngine):
    """A :class:`TrafficEngine` where uninformed platoons route on free-flow trees.

    Parameters
    ----------
    free_rng
        The stream for the free-flow trees' route noise (kept apart from the engine's own stream).
    *args, **kwargs
        As for :class:`TrafficEngine`.
    """

    def __init__(self, *args, free_rng: np.random.Generator, **kwargs) -> None:
        self.uninformed: list[bool] = []
        self.free_routes: list[list[int]] = []
        self._free_rng = free_rng
        super().__init__(*args, **kwargs)

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

    def replan(self, *, congested: bool | None = None, all_sets: bool = True) -> None:
        """Re-plan; free-flow trees follow changes to the network (closures, speeds) only."""
        if all_sets or not self.free_routes:
            next_link, _ = self.net.trees_to(self.dest_node, np.asarray(self.tf), self.is_open,
                                             noise=self.route_noise, rng=self._free_rng)
            self.free_routes = next_link.tolist()
        super().replan(congested=congested, all_sets=all_sets)
        for link, wanted in enumerate(self.blocked_on):   # the base class checked informed trees only
            if wanted >= 0:
                head = self.queue[link][0]
                if self.uninformed[head] and self.free_routes[self.dest[head]][self.end[link]] != wanted:
                    self.blocked_on[link] = -1
                    self._try(link, self.now)
        # Platoons that moved on during the re-plan freed room; wake whoever waits for it now (the
        # next advance_to starts a fresh list of freed links, which would lose these wake-ups and
        # leave heads blocked on empty links for ever).
        while self._freed:
            self._wake(self._freed.pop(), self.now)
