"""A mesoscopic, event-driven link transmission model of road traffic.

Vehicles move in platoons (``platoon_size`` vehicles sharing origin, destination and departure
time). Each link follows the kinematic wave model with a triangular fundamental diagram (free-flow
speed, capacity, jam density) in the event-driven form of Yperman's link transmission model:

- sending: a platoon may leave at max(entry + free-flow time, previous exit + size / capacity)
  (Vickrey's point queue at the downstream end, FIFO per link);
- receiving: a link admits at most ``inflow_factor`` x its capacity (0 = no limit), and only while
  its vehicles, the room still travelling upstream and the platoon fit in its storage (jam density
  x length x lanes). With ``backward_wave``, room left at the exit reaches the entry after the
  backward wave crossed the link (length / w), so a link holds at most ``storage - outflow x
  length / w``: queues stand at the congested density and spill back at the wave's speed. Without
  it, room returns at once (queues pack to jam density);
- a platoon that cannot leave waits at the head of its link, blocking those behind it, and is
  woken when a link it may take frees room or an entry slot;
- nodes: waiting departures enter before platoons from upstream links (as UXsim's nodes generate
  vehicles before transferring them); heads from several links competing for one entry are drawn
  in proportion to their links' capacities (the merge rule of kinematic-wave node models).

Routing follows shortest-path trees towards each destination (next link per node), recomputed
when links close or open and, with dynamic rerouting, every ``reroute_every_h`` on current travel
times (:mod:`.link_times`), kept as generations mixed like UXsim's dynamic user optimum
(:mod:`.routing`); a head held by a full link may leave by another link its generations use.

The engine keeps its own event heap in plain Python lists for speed; the World's SimPy clock
drives it through :meth:`TrafficEngine.advance_to`, so disruptions and other systems act at exact
simulated times."""

from __future__ import annotations

import gc
import heapq
import math
from collections import deque
from dataclasses import dataclass
from typing import Final

import numpy as np

from twinworld.systems.traffic.link_times import (
    DischargeMeter,
    fd_wave_speed_kmh,
    instantaneous_times_h,
    platoons_on_links,
    wave_speed_kmh,
)
from twinworld.systems.traffic.network import RoadNetwork
from twinworld.systems.traffic.routing import RouteGenerations

__all__ = ["TrafficEngine", "Destination", "INF", "wave_speed_kmh"]

# Final: constants mypyc compiles in (see hatch_build.py); the per-link and per-platoon lists below are
# typed for the same reason (a list of known element type is read without a generic lookup)
INF: Final = math.inf
EPS_H: Final = 1e-12
_DEPART: Final = 0
_TRY: Final = 1
_WAKE: Final = 2


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
        Route cost noise of each re-plan (see :meth:`RoadNetwork.trees_to`) and the run's stream
        for it, for route generations and for merges.
    backward_wave
        Return a link's room upstream only after the backward wave crossed it (kinematic wave).
    route_sets
        How many generations of routing trees a re-plan on current times keeps (see
        :class:`~twinworld.systems.traffic.routing.RouteGenerations`); 1 = everyone takes the
        newest trees.
    inflow_factor
        A link admits at most ``inflow_factor`` x its capacity (merges and departures share it);
        0 removes the limit (a pure point queue at each link's exit).
    """

    def __init__(self, network: RoadNetwork, destinations: list[Destination], *,
                 reroute_every_h: float | None = None, in_zone: np.ndarray | None = None,
                 route_noise: float = 0.0, rng: np.random.Generator | None = None,
                 backward_wave: bool = True, inflow_factor: float = 1.0,
                 route_sets: int = 1) -> None:
        self.net = network
        self.destinations = destinations
        self.dest_node = [d.node for d in destinations]
        self.reroute_every_h = reroute_every_h
        self.route_noise = route_noise
        self.rng = rng if rng is not None else np.random.default_rng(0)  # a local, seeded stream
        self._freed: list[int] = []
        self._seen_h = EPS_H  # ghost room that arrived before this time counts (see advance_to)
        self.inflow_factor = inflow_factor
        self.in_zone: list[bool] = (np.zeros(network.n_nodes, bool) if in_zone is None else in_zone).tolist()
        self._init_links(backward_wave)
        self._init_platoons()
        self.heap: list[tuple[float, int, int, int]] = []
        self._seq = 0
        self.now = 0.0
        self.departed_veh = 0.0
        self.arrived_veh = 0.0
        self.delay_veh_h = 0.0
        self.on_links = 0  # platoons on links now
        self.routes = RouteGenerations(route_sets, self.rng)
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
        self.end: list[int] = net.v.tolist()
        self.tf: list[float] = self.base_tf.tolist()
        self.cap: list[float] = self.base_cap.tolist()
        self.storage: list[float] = net.storage_veh.astype(float).tolist()
        self.backward_wave = backward_wave
        self.wave_kmh = wave_speed_kmh(net)
        wave_h = net.length_km / self.wave_kmh
        self.wave_h: list[float] = wave_h.tolist() if backward_wave else [0.0] * n_links
        self.discharge = DischargeMeter(np.maximum(wave_h, self.base_tf))
        self.ghost = [0.0] * n_links  # room left at the exit, not yet at the entry
        self.ghost_q: list[deque[tuple[float, float]]] = [deque() for _ in range(n_links)]  # (arrives, veh)
        self.occ = [0.0] * n_links
        self.queue: list[deque[int]] = [deque() for _ in range(n_links)]
        self.next_out = [0.0] * n_links
        self.next_in = [0.0] * n_links
        self.last_ready = [0.0] * n_links
        self.pending = [False] * n_links
        self.wake_h = [INF] * n_links  # the earliest wake-up pending for each link
        self.blocked_on = [-1] * n_links  # the link a blocked head wants (-1: not blocked)
        self.retried = [False] * n_links  # the head came back once for an entry slot
        self.claim = [-1] * n_links  # the one link whose head alone waits for this entry slot
        self.blocked_alts: list[tuple[int, ...]] = [()] * n_links  # every link it may take
        self.waiters: list[list[int]] = [[] for _ in range(n_links)]  # links whose head waits here
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
        """Each link's travel time now: its length over the mean speed of its vehicles (hours).

        See :mod:`.link_times`: moving platoons at free flow, queued ones at the speed of the
        congested state that discharges at the link's measured rate. With no platoon on any link
        that is every link's free-flow time, returned without the computation (which gives the
        same numbers: a share of 1 at free flow).
        """
        if self.on_links == 0:
            return np.array(self.tf, dtype=float)
        moving, queued, head_due = platoons_on_links(self.queue, self.ready, self.size, self.now)
        cap = np.asarray(self.cap)
        return instantaneous_times_h(
            free_flow_h=np.asarray(self.tf), length_km=self.net.length_km,
            storage_veh=np.asarray(self.storage), wave_kmh=self.wave_kmh,
            rate_veh_h=self.discharge.rate_veh_h(self.now, head_due, cap), capacity_veh_h=cap,
            moving_veh=moving, queued_veh=queued)

    def replan(self, *, congested: bool | None = None, all_sets: bool = True) -> None:
        """Recompute routing trees (on current times if ``congested``) and wake blocked heads.

        ``all_sets=True`` (network changes) keeps only the new trees; ``False`` (a periodic
        re-plan) adds them as the newest generation.
        """
        if congested is None:
            congested = self.reroute_every_h is not None
        cost = self.current_cost_h() if congested else np.asarray(self.tf)
        next_link, time_h = self.net.trees_to(self.dest_node, cost, self.is_open,
                                              noise=self.route_noise, rng=self.rng)
        if all_sets:
            self.routes.reset(next_link.tolist())
        else:
            self.routes.add(next_link.tolist())
        self.time_to_h = time_h
        for link, wanted in enumerate(self.blocked_on):
            if wanted >= 0:  # blocked heads choose again on the new routes
                self.blocked_on[link] = -1
                self._try(link, self.now)
        for link in np.flatnonzero(~self.is_open).tolist():  # departures queued at a closed link
            waiting, self.origin_wait[link] = self.origin_wait[link], deque()
            for p in waiting:
                self._depart(p, self.now, from_node=self.origin[p])
        parked, self.parked = self.parked, []
        for p in parked:
            self._depart(p, self.now, from_node=self.origin[p])
        self._flush(self.now)

    def _route(self, p: int, d: int, node: int) -> int:
        """The link platoon ``p`` takes at ``node`` towards destination row ``d`` (-1: none)."""
        trees = self.routes.trees
        gen = self.route_of[p]
        return trees[gen if gen < len(trees) else -1][d][node]

    def _other_way(self, p: int, d: int, node: int, blocked: int,
                   choices: dict[int, float] | None = None) -> int:
        """A link of the route generations at ``node`` that can take ``p`` now, other than
        ``blocked`` (-1: none), drawn by the generations' weights (UXsim's vehicles draw their
        next link again at every step while the one they drew cannot take them)."""
        if len(self.routes.trees) == 1:
            return -1
        n = self.size[p]
        if choices is None:
            choices = self.routes.choices(d, node)
        free = [(link, w) for link, w in choices.items() if link != blocked and self._is_free(link, n)]
        if not free:
            return -1
        chosen = self.routes.pick(free)
        self.route_of[p] = self.routes.generation_taking(d, node, chosen)
        return chosen

    # -------------------------------------------------------------------- the events --
    def _schedule(self, link: int, time_h: float) -> None:
        if self.pending[link] or time_h == INF:
            return
        self.pending[link] = True
        self._seq += 1
        heapq.heappush(self.heap, (time_h, _TRY, self._seq, link))

    def _enter(self, link: int, p: int, now: float) -> None:
        n = self.size[p]
        self.claim[link] = -1
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
        self.route_of[p] = self.routes.draw() if len(self.routes.trees) > 1 else 0
        if self.cleared_h[p] == INF and not self.in_zone[self.end[link]]:
            self.cleared_h[p] = ready
        queue = self.queue[link]
        queue.append(p)
        self.on_links += 1
        if len(queue) == 1:
            out = self.next_out[link]
            self._schedule(link, ready if ready > out else out)

    def _has_room(self, link: int, n: float) -> bool:
        ghosts = self.ghost_q[link]
        if ghosts and ghosts[0][0] < self._seen_h:  # room that has reached the entry
            while ghosts and ghosts[0][0] < self._seen_h:
                self.ghost[link] -= ghosts.popleft()[1]
            if not ghosts:
                self.ghost[link] = 0.0
        used = self.occ[link] + self.ghost[link]
        return used <= 0.0 or used + n <= self.storage[link] + 1e-9

    def _arm(self, link: int) -> None:
        """Wake ``link`` when its next room in transit reaches the entry (someone waits for room)."""
        ghosts = self.ghost_q[link]
        if ghosts:
            self._wake_at(link, ghosts[0][0])

    def _is_free(self, link: int, n: float) -> bool:
        """Whether ``link`` has room for ``n`` more vehicles and no departure waits to enter it."""
        return not self.origin_wait[link] and self._has_room(link, n)

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
        if not self._is_free(link, self.size[p]):
            other = self._other_way(p, d, from_node, link)
            link = other if other >= 0 else link
        if self._is_free(link, self.size[p]) and self.next_in[link] <= now + EPS_H:
            self._enter(link, p, now)
        else:
            self.entered[p] = now
            if not self.origin_wait[link]:
                self._wake_at(link, self.next_in[link])
                self._arm(link)
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
        self.on_links -= 1
        self.retried[link] = False
        n = self.size[p]
        self.occ[link] -= n
        cap = self.cap[link]
        out = self.next_out[link]
        self.next_out[link] = (out if out > now else now) + (n / cap if cap > 0 else INF)
        lost = now - self.entered[p] - self.entered_tf[p]
        if lost > 0:
            self.delay_veh_h += n * lost
        self.discharge.record(link, now, self.ready[p], n)
        self.link_of[p] = -1
        if queue:
            head = queue[0]
            ready, out = self.ready[head], self.next_out[link]
            self._schedule(link, ready if ready > out else out)
        wave = self.wave_h[link]  # the room reaches the entry when the backward wave has crossed
        if wave > 1e-9:
            self.ghost[link] += n
            self.ghost_q[link].append((now + wave, n))
            if self.waiters[link] or self.origin_wait[link]:
                self._arm(link)
        else:
            self._freed.append(link)

    def _try(self, link: int, now: float, *, granted: bool = False) -> None:
        """Let the head platoon of ``link`` leave it if its time has come and a link takes it
        (``granted``: it was drawn for the entry slot it waited for, ahead of other waiters)."""
        queue = self.queue[link]
        if not queue or self.blocked_on[link] >= 0:
            return
        p = queue[0]
        ready, out = self.ready[p], self.next_out[link]
        due = ready if ready > out else out
        if due > now + EPS_H:
            self._schedule(link, due)
            return
        nxt = self._next_link(link, p, now)
        if nxt < 0:
            return
        entry = self.next_in[nxt]
        if entry > now + EPS_H or (self.waiters[nxt] and not granted):
            claim = self.claim[nxt]
            if not self.waiters[nxt] and (claim < 0 or claim == link) and not self.retried[link]:
                self.claim[nxt] = link  # uncontested so far: come back when the slot opens
                self.retried[link] = True
                self._schedule(link, entry)
                return
            # a contested slot goes to one of the heads waiting for it, drawn at the slot time
            self._block(link, (nxt,))
            self._wake_at(nxt, max(entry, now))
            return
        self._leave(link, p, now)
        self._enter(nxt, p, now)

    def _next_link(self, link: int, p: int, now: float) -> int:
        """Where ``link``'s due head ``p`` goes now: a link with room, or -1 when it arrived, was
        parked or waits blocked (then it is registered with the links it may take)."""
        node = self.end[link]
        d = self.dest[p]
        if node == self.dest_node[d]:
            self._arrive_at(p, node, now, link=link)
            return -1
        nxt = self._route(p, d, node)
        if nxt < 0:
            other = self._nearest_open_destination(node)
            if other >= 0 and other != d:
                self.dest[p] = other
                return self._next_link(link, p, now)
            self._leave(link, p, now)
            self.origin[p] = node
            self.parked.append(p)
            return -1
        if self.origin_wait[nxt]:
            self._serve_origin(nxt, now)
        if self._is_free(nxt, self.size[p]):
            return nxt
        if len(self.routes.trees) == 1:
            self._block(link, (nxt,))
            return -1
        choices = self.routes.choices(d, node)
        other = self._other_way(p, d, node, nxt, choices)
        if other < 0:
            self._block(link, (nxt, *(a for a in choices if a != nxt)))
        return other

    def _block(self, link: int, wanted: tuple[int, ...]) -> None:
        """``link``'s head waits until one of ``wanted`` (the first is its own route) takes it."""
        self.blocked_on[link] = wanted[0]
        self.blocked_alts[link] = wanted
        for other in wanted:
            self.waiters[other].append(link)
            self._arm(other)

    def _wake(self, link: int, now: float) -> None:
        """Room or an entry slot freed on ``link``: waiting departures go first, then heads of
        upstream links, drawn in proportion to their links' capacities (merging)."""
        if self.origin_wait[link]:
            self._serve_origin(link, now)
        waiters = self.waiters[link]
        for _ in range(len(waiters)):
            if self.origin_wait[link] or not waiters:
                return
            if self.next_in[link] > now + EPS_H:
                self._wake_at(link, self.next_in[link])
                return
            blocked_on, alts, queue, size = self.blocked_on, self.blocked_alts, self.queue, self.size
            if len(waiters) > 1:
                waiters[:] = [up for up in dict.fromkeys(waiters)
                              if blocked_on[up] >= 0 and link in alts[up]]
            elif blocked_on[waiters[0]] < 0 or link not in alts[waiters[0]]:
                waiters.clear()
            fits = [(up, self.cap[up]) for up in waiters if self._has_room(link, size[queue[up][0]])]
            if not fits:
                if waiters:
                    self._arm(link)
                return
            up = fits[0][0] if len(fits) == 1 else self.routes.pick(fits)
            waiters.remove(up)
            blocked_on[up] = -1
            self._try(up, now, granted=True)

    def _serve_origin(self, link: int, now: float) -> None:
        """Let departures waiting at ``link``'s entry in while it has room and an entry slot."""
        origin = self.origin_wait[link]
        while origin:
            if not self._has_room(link, self.size[origin[0]]):
                self._arm(link)
                return
            if self.next_in[link] > now + EPS_H:
                self._wake_at(link, self.next_in[link])
                return
            p = origin.popleft()
            if self._route(p, self.dest[p], self.origin[p]) == link:
                waited = now - self.entered[p]
                if waited > 0:
                    self.delay_veh_h += self.size[p] * waited
                self._enter(link, p, now)
            else:
                self._depart(p, now, from_node=self.origin[p])

    def _wake_at(self, link: int, time_h: float) -> None:
        """Wake ``link``'s waiting departures and heads at ``time_h`` (or earlier if already due)."""
        if time_h < self.wake_h[link]:
            self.wake_h[link] = time_h
            self._seq += 1
            heapq.heappush(self.heap, (time_h, _WAKE, self._seq, link))

    def _flush(self, now: float) -> None:
        """Wake the links that freed room."""
        freed = self._freed
        while freed:
            self._wake(freed.pop(), now)

    # -------------------------------------------------------------------- the clock --
    def advance_to(self, until_h: float) -> None:
        """Process every event up to and including ``until_h`` (hours).

        Python's cyclic garbage collector is paused meanwhile: the loop allocates hundreds of
        thousands of event tuples, none of them in a reference cycle, and each collection they
        trigger would walk the whole world's objects (about a tenth of the loop's time)."""
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._events_to(until_h)
        finally:
            if collecting:
                gc.enable()
        self.now = max(self.now, until_h)
        self._seen_h = self.now + EPS_H

    def _events_to(self, until_h: float) -> None:
        heap = self.heap
        pop = heapq.heappop
        self._flush(self.now)
        while heap and heap[0][0] <= until_h:
            time_h, kind, _, item = pop(heap)
            self.now = time_h
            # room reaching an entry at t is seen by wake-ups at t, by other events only after t
            # (as a time-stepped model's transfers see the positions of the step before)
            self._seen_h = time_h + EPS_H if kind == _WAKE else time_h - EPS_H
            if kind == _DEPART:
                self.departed_veh += self.size[item]
                self.route_of[item] = self.routes.draw()
                self._depart(item, time_h, from_node=self.origin[item])
            elif kind == _WAKE:
                if time_h >= self.wake_h[item]:
                    self.wake_h[item] = INF
                self._freed.append(item)
            else:
                self.pending[item] = False
                self._try(item, time_h)
            if self._freed:
                self._flush(time_h)

    def refresh_links(self, links: np.ndarray | None = None) -> None:
        """Apply changed speed/capacity factors and closures, then re-plan and restart queues."""
        tf = self.base_tf / np.maximum(self.speed_factor, 1e-9)
        cap = self.base_cap * self.cap_factor
        self.tf = tf.tolist()
        self.cap = cap.tolist()
        length = self.net.length_km  # slower or narrower links have another backward wave
        self.wave_kmh = fd_wave_speed_kmh(cap, length / np.maximum(tf, 1e-12),
                                          np.asarray(self.storage) / np.maximum(length, 1e-9))
        if self.backward_wave:
            self.wave_h = (length / self.wave_kmh).tolist()
        changed = range(len(self.tf)) if links is None else np.flatnonzero(links).tolist()
        for link in changed:
            if self.cap[link] > 0:  # a link that had lost all capacity opens its ends again
                if self.next_out[link] == INF:
                    self.next_out[link] = self.now
                if self.next_in[link] == INF:
                    self.next_in[link] = self.now
            queue = self.queue[link]
            if queue and not self.pending[link] and self.blocked_on[link] < 0:
                head = queue[0]
                self._schedule(link, max(self.ready[head], self.next_out[link], self.now))
            self._freed.append(link)
        self.replan()

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
        for queue in self.queue:
            for p in queue:
                lost = self.now - self.entered[p] - self.entered_tf[p]
                if lost > 0:
                    total += self.size[p] * lost
        return total
