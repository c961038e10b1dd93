"""A mesoscopic, event-driven queue model of road traffic with spillback.

Vehicles move in platoons (``platoon_size`` vehicles that share an origin, a destination and a
departure time; size 1 is vehicle by vehicle). A link delays a platoon by its free-flow time and
then by a point queue at its downstream end:

- exit time of a platoon = max(entry + free-flow time, previous exit + size / outflow capacity)
  (Vickrey's point queue, FIFO per link);
- a link also admits at most ``inflow_factor`` x its capacity (merging streams and departures
  share it; 0 = no limit);
- it may leave only if the next link has room: its vehicles + the platoon's size <= its storage
  (jam density x length x lanes), or the next link is empty. Otherwise it waits at the head of its
  link, blocking those behind it (spillback), and is woken when the next link frees room;
- optionally (``backward_wave``), room left by a platoon at a link's downstream end reaches its
  upstream end only after the backward wave has crossed the standing vehicles (their share of the
  storage x length / wave speed of the triangular fundamental diagram), as in kinematic-wave
  models.

Routing follows shortest-path trees towards each destination (next link per node), recomputed
when links close or open and, with dynamic rerouting, every ``reroute_every_h`` on current travel
times (free-flow time or the time to discharge the link's queue, whichever is longer).

The engine keeps its own event heap (one event per platoon per link) in plain Python lists for
speed; the World's SimPy clock drives it through :meth:`TrafficEngine.advance_to`, so disruptions
and other systems act at exact simulated times.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from twinworld.systems.traffic.network import RoadNetwork

__all__ = ["TrafficEngine", "Destination", "INF", "wave_speed_kmh"]

INF = math.inf
_DEPART, _TRY, _FREE, _WAKE = 0, 1, 2, 3


def wave_speed_kmh(network: RoadNetwork, *, floor_kmh: float = 5.0) -> np.ndarray:
    """Backward wave speed of each link's triangular fundamental diagram (km/h).

    With capacity q, free-flow speed v and jam density k_j (storage / length): w = q / (k_j - q / v).
    """
    jam = network.storage_veh / np.maximum(network.length_km, 1e-9)
    critical = network.capacity_veh_h / network.speed_kmh
    with np.errstate(divide="ignore", invalid="ignore"):
        wave = network.capacity_veh_h / np.maximum(jam - critical, 1e-9)
    return np.clip(np.nan_to_num(wave, nan=floor_kmh), floor_kmh, network.speed_kmh)


@dataclass
class Destination:
    """A shelter or exit: a node, a remaining capacity (vehicles; inf for an exit) and a name."""

    name: str
    node: int
    capacity_veh: float = INF
    received_veh: float = 0.0


class TrafficEngine:
    """Platoons on a road network; see the module docstring for the model.

    Parameters
    ----------
    network
        The static network.
    destinations
        Where platoons go (rows of the routing trees).
    reroute_every_h
        Re-plan on current travel times this often; ``None`` routes on free-flow times (re-planned
        only when links close or open).
    in_zone
        Per node, whether it lies inside an evacuation zone (for the zone clearance time).
    route_noise, rng
        Per-destination route cost noise (see :meth:`RoadNetwork.trees_to`) and its stream.
    backward_wave
        Return a link's room upstream only after the backward wave crossed it.
    route_sets
        How many generations of routing trees a re-plan on current times keeps. Entering a link, a
        platoon draws the tree it follows at the link's end: the newest with probability 1/2, the
        one before with 1/4, ... (the oldest kept takes the rest), as UXsim's dynamic user optimum
        mixes route preferences with weight 1/2 per update. 1 = everyone takes the newest tree.
    inflow_factor
        A link admits at most ``inflow_factor`` x its capacity (merges and departures share it);
        0 removes the limit (a pure point queue at each link's exit). The default 1.25 lets a lane
        take one vehicle per second (a 1 s reaction time) where its discharge capacity is
        2880 veh/h, as UXsim's node model does.
    """

    def __init__(self, network: RoadNetwork, destinations: list[Destination], *,
                 reroute_every_h: float | None = None, in_zone: np.ndarray | None = None,
                 route_noise: float = 0.0, rng: np.random.Generator | None = None,
                 backward_wave: bool = False, inflow_factor: float = 1.25,
                 route_sets: int = 1) -> None:
        self.net = network
        self.destinations = destinations
        self.dest_node = [d.node for d in destinations]
        self.reroute_every_h = reroute_every_h
        self.route_noise = route_noise
        self.rng = rng if rng is not None else np.random.default_rng(0)  # a local, seeded stream
        self._freed: list[int] = []
        self.inflow_factor = inflow_factor
        self.in_zone = (np.zeros(network.n_nodes, bool) if in_zone is None else in_zone).tolist()
        self._init_links(backward_wave)
        self._init_platoons()
        self.heap: list[tuple[float, int, int, int]] = []
        self._seq = 0
        self.now = 0.0
        self.departed_veh = 0.0
        self.arrived_veh = 0.0
        self.delay_veh_h = 0.0
        self.transitions = 0
        self.route_sets = max(1, int(route_sets))
        self.routes: list[list[list[int]]] = []  # generations of trees, newest first
        self._cumulative = [1.0]
        self._draws: list[float] = []
        self.time_to_h = np.zeros((0, network.n_nodes))
        self.replan(congested=False)

    def _init_links(self, backward_wave: bool) -> None:
        """Per-link state as plain lists (fast scalar access in the event loop)."""
        net = self.net
        n_links = net.n_links
        self.base_tf = net.free_flow_h.copy()
        self.base_cap = net.capacity_veh_h.astype(float).copy()
        self.speed_factor = np.ones(n_links)
        self.cap_factor = np.ones(n_links)
        self.is_open = np.ones(n_links, bool)
        self.end = net.v.tolist()
        self.tf = self.base_tf.tolist()
        self.cap = self.base_cap.tolist()
        self.storage = net.storage_veh.astype(float).tolist()
        self.wave_h = (net.length_km / wave_speed_kmh(net)).tolist() if backward_wave else [0.0] * n_links
        self.ghost = [0.0] * n_links  # room left at the exit, not yet at the entry
        self.ghost_q: list[deque[float]] = [deque() for _ in range(n_links)]
        self.occ = [0.0] * n_links
        self.queue: list[deque[int]] = [deque() for _ in range(n_links)]
        self.next_out = [0.0] * n_links
        self.next_in = [0.0] * n_links
        self.last_ready = [0.0] * n_links
        self.pending = [False] * n_links
        self.wake_pending = [False] * n_links
        self.blocked_on = [-1] * n_links
        self.waiters: list[deque[int]] = [deque() for _ in range(n_links)]
        self.origin_wait: list[deque[int]] = [deque() for _ in range(n_links)]

    def _init_platoons(self) -> None:
        """Per-platoon records (filled by :meth:`add_platoons`)."""
        self.size: list[float] = []
        self.dest: list[int] = []
        self.origin: list[int] = []
        self.depart_h: list[float] = []
        self.arrive_h: list[float] = []
        self.cleared_h: list[float] = []
        self.link_of: list[int] = []
        self.entered: list[float] = []
        self.entered_tf: list[float] = []
        self.ready: list[float] = []
        self.route_of: list[int] = []  # the generation of trees each platoon follows next
        self.parked: list[int] = []

    # ------------------------------------------------------------------------ demand --
    def add_platoons(self, origin: np.ndarray, dest: np.ndarray, depart_h: np.ndarray,
                     size: np.ndarray) -> None:
        """Add platoons (origin node, destination row, departure hour, vehicles) before running."""
        start = len(self.size)
        count = len(origin)
        self.size += np.asarray(size, float).tolist()
        self.dest += np.asarray(dest, np.int64).tolist()
        self.origin += np.asarray(origin, np.int64).tolist()
        self.depart_h += np.asarray(depart_h, float).tolist()
        self.arrive_h += [INF] * count
        self.route_of += [0] * count
        self.cleared_h += [INF] * count
        self.link_of += [-1] * count
        self.entered += [0.0] * count
        self.entered_tf += [0.0] * count
        self.ready += [0.0] * count
        for p in range(start, start + count):
            self.heap.append((self.depart_h[p], _DEPART, p, p))
        heapq.heapify(self.heap)
        self._seq = max(self._seq, start + count)

    def place_platoons(self, links: list[int], dest: list[int], size: list[float]) -> None:
        """Put platoons on links now, as if they had just driven onto them (a warm start).

        Each heads for its destination row from its link's end; it counts as departed now.
        """
        start = len(self.size)
        count = len(links)
        tails = [int(self.net.u[link]) for link in links]
        self.size += [float(n) for n in size]
        self.dest += [int(d) for d in dest]
        self.origin += tails
        self.depart_h += [self.now] * count
        self.arrive_h += [INF] * count
        self.route_of += [0] * count
        self.cleared_h += [INF] * count
        self.link_of += [-1] * count
        self.entered += [0.0] * count
        self.entered_tf += [0.0] * count
        self.ready += [0.0] * count
        self._seq = max(self._seq, start + count)
        for p, link in zip(range(start, start + count), links):
            self.departed_veh += self.size[p]
            self._enter(link, p, self.now)

    # ----------------------------------------------------------------------- routing --
    def current_cost_h(self) -> np.ndarray:
        """Each link's expected time for a vehicle entering now (free flow or queue discharge)."""
        tf = np.asarray(self.tf)
        cap = np.maximum(np.asarray(self.cap), 1e-9)
        return np.maximum(tf, np.asarray(self.occ) / cap)

    def replan(self, *, congested: bool | None = None, all_sets: bool = True) -> None:
        """Recompute routing trees (on current times if ``congested``) and wake blocked heads.

        ``all_sets=True`` (network changes) keeps only the new trees; ``False`` (a periodic
        re-plan) adds them as the newest generation, keeping ``route_sets`` generations.
        """
        if congested is None:
            congested = self.reroute_every_h is not None
        cost = self.current_cost_h() if congested else np.asarray(self.tf)
        next_link, time_h = self.net.trees_to(self.dest_node, cost, self.is_open,
                                              noise=self.route_noise, rng=self.rng)
        if all_sets:
            self.routes = [next_link.tolist()]
        else:
            self.routes = [next_link.tolist()] + self.routes[:self.route_sets - 1]
        weights = [0.5 ** (g + 1) for g in range(len(self.routes))]
        weights[-1] += 1.0 - sum(weights)
        self._cumulative = np.cumsum(weights).tolist()
        self.time_to_h = time_h
        for link, wanted in enumerate(self.blocked_on):
            if wanted >= 0:
                head = self.queue[link][0]
                gen = min(self.route_of[head], len(self.routes) - 1)
                if self.routes[gen][self.dest[head]][self.end[link]] != wanted:
                    self.blocked_on[link] = -1
                    self._try(link, self.now)
        for link in np.flatnonzero(~self.is_open).tolist():  # departures queued at a closed link
            waiting, self.origin_wait[link] = self.origin_wait[link], deque()
            for p in waiting:
                self._depart(p, self.now, from_node=self.origin[p])
        parked, self.parked = self.parked, []
        for p in parked:
            self._depart(p, self.now, from_node=self.origin[p])

    def _route(self, p: int, d: int, node: int) -> int:
        """The link platoon ``p`` takes at ``node`` towards destination row ``d`` (-1: none)."""
        gen = self.route_of[p]
        routes = self.routes
        return routes[gen if gen < len(routes) else -1][d][node]

    def _draw_generation(self) -> int:
        """Which generation of trees a platoon follows next (newest 1/2, then 1/4, ...)."""
        if len(self._cumulative) == 1:
            return 0
        if not self._draws:
            self._draws = self.rng.random(4096).tolist()
        u = self._draws.pop()
        for gen, edge in enumerate(self._cumulative):
            if u < edge:
                return gen
        return len(self._cumulative) - 1

    # -------------------------------------------------------------------- the events --
    def _schedule(self, link: int, time_h: float) -> None:
        if self.pending[link] or time_h == INF:
            return
        self.pending[link] = True
        self._seq += 1
        heapq.heappush(self.heap, (time_h, _TRY, self._seq, link))

    def _enter(self, link: int, p: int, now: float) -> None:
        n = self.size[p]
        self.occ[link] += n
        if self.inflow_factor > 0:
            cap = self.cap[link]
            last_in = self.next_in[link]
            self.next_in[link] = (last_in if last_in > now else now) + (
                n / (cap * self.inflow_factor) if cap > 0 else INF)
        self.link_of[p] = link
        self.entered[p] = now
        tf = self.tf[link]
        self.entered_tf[p] = tf
        ready = now + tf
        if ready < self.last_ready[link]:
            ready = self.last_ready[link]
        self.last_ready[link] = ready
        self.ready[p] = ready
        self.route_of[p] = self._draw_generation()
        if self.cleared_h[p] == INF and not self.in_zone[self.end[link]]:
            self.cleared_h[p] = ready
        queue = self.queue[link]
        queue.append(p)
        self.transitions += 1
        if len(queue) == 1:
            out = self.next_out[link]
            self._schedule(link, ready if ready > out else out)

    def _has_room(self, link: int, n: float) -> bool:
        used = self.occ[link] + self.ghost[link]
        return used <= 0.0 or used + n <= self.storage[link] + 1e-9

    def _depart(self, p: int, now: float, *, from_node: int) -> None:
        """Platoon ``p`` starts (or restarts) from ``from_node``."""
        d = self.dest[p]
        if self.cleared_h[p] == INF and not self.in_zone[from_node]:
            self.cleared_h[p] = now
        if from_node == self.dest_node[d]:
            self._arrive_at(p, from_node, now, link=-1)
            return
        link = self._route(p, d, from_node)
        if link < 0:
            other = self._nearest_open_destination(from_node)
            if other < 0 or other == d:
                self.parked.append(p)
                self.origin[p] = from_node
                return
            self.dest[p] = d = other
            if from_node == self.dest_node[d]:
                self._arrive_at(p, from_node, now, link=-1)
                return
            link = self._route(p, d, from_node)
        if self._has_room(link, self.size[p]) and not self.origin_wait[link] \
                and self.next_in[link] <= now + 1e-12:
            self._enter(link, p, now)
        else:
            self.entered[p] = now
            if not self.origin_wait[link]:
                self._wake_at(link, self.next_in[link])
            self.origin_wait[link].append(p)

    def _arrive_at(self, p: int, node: int, now: float, *, link: int) -> bool:
        """Platoon ``p`` reaches its destination node: accepted, redirected or parked."""
        d = self.dest[p]
        target = self.destinations[d]
        if target.capacity_veh - target.received_veh > 0:
            target.received_veh += self.size[p]
            self.arrive_h[p] = now
            self.arrived_veh += self.size[p]
            if self.cleared_h[p] == INF:
                self.cleared_h[p] = now
            if link >= 0:
                self._leave(link, p, now)
            return True
        other = self._nearest_open_destination(node)
        if link >= 0:
            self._leave(link, p, now)
        if other < 0:
            self.origin[p] = node
            self.parked.append(p)
            return False
        self.dest[p] = other
        self._depart(p, now, from_node=node)
        return False

    def _nearest_open_destination(self, node: int) -> int:
        """The reachable destination with room left nearest to ``node`` (-1 if none)."""
        best, best_time = -1, INF
        for row, target in enumerate(self.destinations):
            if target.capacity_veh - target.received_veh > 0:
                t = self.time_to_h[row, node]
                if t < best_time:
                    best, best_time = row, t
        return best

    def _leave(self, link: int, p: int, now: float) -> None:
        queue = self.queue[link]
        queue.popleft()
        n = self.size[p]
        self.occ[link] -= n
        cap = self.cap[link]
        out = self.next_out[link]
        self.next_out[link] = (out if out > now else now) + (n / cap if cap > 0 else INF)
        lost = now - self.entered[p] - self.entered_tf[p]
        if lost > 0:
            self.delay_veh_h += n * lost
        self.link_of[p] = -1
        if queue:
            head = queue[0]
            ready, out = self.ready[head], self.next_out[link]
            self._schedule(link, ready if ready > out else out)
        # the backward wave crosses only the standing queue: (vehicles left / storage) x length
        wave = self.wave_h[link] * min(1.0, (self.occ[link] + n) / self.storage[link])
        if wave > 1e-9:
            self.ghost[link] += n
            self.ghost_q[link].append(n)
            self._seq += 1
            heapq.heappush(self.heap, (now + wave, _FREE, self._seq, link))
        else:
            self._freed.append(link)

    def _try(self, link: int, now: float) -> None:
        """Let the head platoon of ``link`` leave it if its time has come and there is room."""
        queue = self.queue[link]
        if not queue or self.blocked_on[link] >= 0:
            return
        p = queue[0]
        ready, out = self.ready[p], self.next_out[link]
        due = ready if ready > out else out
        if due > now + 1e-12:
            self._schedule(link, due)
            return
        node = self.end[link]
        d = self.dest[p]
        if node == self.dest_node[d]:
            self._arrive_at(p, node, now, link=link)
            return
        nxt = self._route(p, d, node)
        if nxt < 0:
            other = self._nearest_open_destination(node)
            if other >= 0 and other != d:
                self.dest[p] = other
                self._try(link, now)
                return
            self._leave(link, p, now)
            self.origin[p] = node
            self.parked.append(p)
            return
        if not self._has_room(nxt, self.size[p]):
            self.blocked_on[link] = nxt
            self.waiters[nxt].append(link)
            return
        entry = self.next_in[nxt]
        if entry > now + 1e-12:
            self._schedule(link, entry)
            return
        self._leave(link, p, now)
        self._enter(nxt, p, now)

    def _wake(self, link: int, now: float) -> None:
        """Room was freed on ``link``: let blocked upstream heads, then waiting departures, in."""
        waiters = self.waiters[link]
        while waiters and self._has_room(link, 0.0):
            up = waiters[0]
            if self.blocked_on[up] != link:
                waiters.popleft()
                continue
            head = self.queue[up][0]
            if not self._has_room(link, self.size[head]):
                break
            waiters.popleft()
            self.blocked_on[up] = -1
            self._try(up, now)
        origin = self.origin_wait[link]
        while origin and self._has_room(link, self.size[origin[0]]):
            if self.next_in[link] > now + 1e-12:
                self._wake_at(link, self.next_in[link])
                break
            p = origin.popleft()
            if self._route(p, self.dest[p], self.origin[p]) == link:
                waited = now - self.entered[p]
                if waited > 0:
                    self.delay_veh_h += self.size[p] * waited
                self._enter(link, p, now)
            else:
                self._depart(p, now, from_node=self.origin[p])

    def _wake_at(self, link: int, time_h: float) -> None:
        """Wake ``link``'s waiting departures at ``time_h`` (one pending wake per link)."""
        if time_h < INF and not self.wake_pending[link]:
            self.wake_pending[link] = True
            self._seq += 1
            heapq.heappush(self.heap, (time_h, _WAKE, self._seq, link))

    # -------------------------------------------------------------------- the clock --
    def advance_to(self, until_h: float) -> None:
        """Process every event up to and including ``until_h`` (hours)."""
        heap = self.heap
        self._freed: list[int] = []
        pop = heapq.heappop
        while heap and heap[0][0] <= until_h:
            time_h, kind, _, item = pop(heap)
            self.now = time_h
            if kind == _DEPART:
                self.departed_veh += self.size[item]
                self.route_of[item] = self._draw_generation()
                self._depart(item, time_h, from_node=self.origin[item])
            elif kind == _FREE:
                self.ghost[item] -= self.ghost_q[item].popleft()
                if self.ghost[item] < 1e-9:
                    self.ghost[item] = 0.0
                self._freed.append(item)
            elif kind == _WAKE:
                self.wake_pending[item] = False
                self._freed.append(item)
            else:
                self.pending[item] = False
                self._try(item, time_h)
            freed = self._freed
            while freed:
                self._wake(freed.pop(), time_h)
        self.now = max(self.now, until_h)

    def refresh_links(self, links: np.ndarray | None = None) -> None:
        """Apply changed speed/capacity factors and closures, then re-plan and restart queues."""
        self._freed = []
        tf = self.base_tf / np.maximum(self.speed_factor, 1e-9)
        cap = self.base_cap * self.cap_factor
        self.tf = tf.tolist()
        self.cap = cap.tolist()
        changed = range(len(self.tf)) if links is None else np.flatnonzero(links).tolist()
        for link in changed:
            queue = self.queue[link]
            if queue and not self.pending[link] and self.blocked_on[link] < 0:
                out = self.next_out[link]
                if out == INF and self.cap[link] > 0:
                    self.next_out[link] = self.now
                head = queue[0]
                self._schedule(link, max(self.ready[head], self.next_out[link], self.now))
            elif self.cap[link] > 0 and self.next_out[link] == INF:
                self.next_out[link] = self.now
        self.replan()
        while self._freed:
            self._wake(self._freed.pop(), self.now)

    # ------------------------------------------------------------------------- state --
    def vehicles_en_route(self) -> float:
        """Vehicles that departed and have neither arrived nor been stranded."""
        parked = sum(self.size[p] for p in self.parked)
        return self.departed_veh - self.arrived_veh - parked

    def vehicles_stranded(self) -> float:
        """Vehicles stopped with no open route to any destination with room."""
        return float(sum(self.size[p] for p in self.parked))

    def pending_delay_veh_h(self) -> float:
        """Delay so far of the platoons still on links (for the end-of-run total)."""
        total = 0.0
        for link, queue in enumerate(self.queue):
            for p in queue:
                lost = self.now - self.entered[p] - self.entered_tf[p]
                if lost > 0:
                    total += self.size[p] * lost
        return total
