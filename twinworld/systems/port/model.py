"""A container port on the World's clock: arrive, wait at anchorage, berth, unload, depart, gate out.

Vessel calls (arrival time, TEU) are drawn up front from named random streams, so every strategy run
on the same seed meets the same vessels. Quay-crane work and the truck gate are fluids: each berth
moves its vessel's boxes at a rate (cranes x moves per hour x TEU per move), and the gate takes ready
import boxes out of the yard at trucks per hour x TEU per truck. Rates change only at events — a
closure, a crane failure, the yard filling up, a lot of boxes finishing its dwell, extra shifts
starting. Between events nothing needs simulating; one timer fires at the next vessel completion,
the moment the yard fills or the gate runs out of ready boxes. The model is exact (no time steps)
and cheap: a handful of SimPy events per call, plus one per hour for the snapshot table.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np
import pandas as pd

from twinworld.errors import TwinworldError
from twinworld.systems.base import DisruptionConfig, StrategyConfig, System, target_element
from twinworld.systems.port.config import (CallSize, FittedArrivals, PoissonArrivals, PortConfig,
                                           ScheduleArrivals)
from twinworld.systems.port.disruptions import ArrivalSurge, CapacityLoss, CraneFailure, PortClosure
from twinworld.systems.port.state import AnchoredVessel, BerthState, PortState
from twinworld.systems.port.strategies import Divert, ExtraShifts, PriorityBerthing

if TYPE_CHECKING:
    import simpy

    from twinworld.core.world import World

__all__ = ["Port", "Vessel", "Berth", "draw_call_size", "STREAMS"]

#: The port's random streams (after its system name).
STREAMS = ("arrivals", "teu", "surge", "surge_teu", "dwell")
_OBSERVED = "observed"   # the hold key of what a warm start found broken

_EPS = 1e-9
_LOT_TEU = 50.0   # discharged import boxes are booked for pickup in lots of about this size


def draw_call_size(size: CallSize, rng: np.random.Generator, count: int) -> np.ndarray:
    """Draw ``count`` call sizes in TEU from a resolved :class:`CallSize`."""
    return _draw(size.distribution, float(size.mean_teu), float(size.cv), rng, count)


def _draw(distribution: str, mean: float, cv: float, rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` positive values with the given mean and coefficient of variation."""
    if distribution == "fixed" or (cv == 0 and distribution != "exponential"):
        return np.full(count, mean)
    if distribution == "exponential":
        return rng.exponential(mean, count)
    if distribution == "gamma":
        shape = 1.0 / cv**2
        return rng.gamma(shape, mean / shape, count)
    sigma2 = math.log1p(cv**2)
    return rng.lognormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2), count)


def _renewal_times(arrivals: FittedArrivals, rng: np.random.Generator, horizon_h: float) -> np.ndarray:
    mean, cv = float(arrivals.mean_interarrival), float(arrivals.cv)
    batch = int(horizon_h / mean * 1.5) + 16
    chunks, total = [], 0.0
    while total <= horizon_h:
        gaps = _draw(arrivals.distribution, mean, cv, rng, batch)
        chunks.append(gaps)
        total += float(gaps.sum())
    times = np.cumsum(np.concatenate(chunks))
    return times[times < horizon_h]


class Vessel:
    """One call: what it brings and what happened to it."""

    __slots__ = ("index", "name", "teu", "arrived_h", "berthed_h", "departed_h", "diverted_h",
                 "berth", "moves_left", "imported_teu", "unlotted_teu", "dwell_h", "working")

    def __init__(self, index: int, name: str, teu: float, arrived_h: float, dwell_h: float) -> None:
        self.index, self.name, self.teu, self.arrived_h, self.dwell_h = index, name, teu, arrived_h, dwell_h
        self.berthed_h: float | None = None
        self.departed_h: float | None = None
        self.diverted_h: float | None = None
        self.berth: Berth | None = None
        self.moves_left = 0.0
        self.imported_teu = 0.0
        self.unlotted_teu = 0.0     # discharged but not yet booked as a lot for pickup
        self.working = False

    @property
    def is_waiting(self) -> bool:
        return self.berthed_h is None and self.diverted_h is None


class Berth:
    """One berth and its quay cranes."""

    __slots__ = ("index", "name", "cranes", "cranes_out", "losses", "closed_by", "vessel", "rate")

    def __init__(self, index: int, cranes: int) -> None:
        self.index, self.name, self.cranes = index, f"B{index + 1}", cranes
        self.cranes_out: dict[int | str, int] = {}
        self.losses: dict[int | str, float] = {}
        self.closed_by: set[int | str] = set()
        self.vessel: Vessel | None = None
        self.rate = 0.0   # crane moves per hour right now

    @property
    def is_open(self) -> bool:
        return not self.closed_by

    def cranes_working(self) -> int:
        return max(0, self.cranes - sum(self.cranes_out.values()))


class Port(System):
    """The ``port`` system."""

    kind = "port"

    def __init__(self, world: "World", name: str, config: PortConfig) -> None:
        super().__init__(world, name, config)
        self.config: PortConfig = config
        self.env: "simpy.Environment" = world.env
        self.berths = [Berth(i, config.cranes_per_berth) for i in range(config.berths)]
        self.anchorage: list[Vessel] = []
        self.vessels: list[Vessel] = []
        self.moves_per_h = float(config.crane_moves_per_h)
        self.setup_h = float(config.berth_setup)
        self.yard_teu = float(config.yard_initial_teu)
        self.ready_teu = 0.0
        self.moved_teu = 0.0
        self.gate_out_teu = 0.0
        self.yard_losses: dict[int, float] = {}
        self.gate_losses: dict[int, float] = {}
        self.port_closures: set[int | str] = set()
        self.gate_closures: set[int] = set()
        self.surges: list[tuple[float, float, float, str]] = []
        self.divert: Divert | None = None
        self.extra: ExtraShifts | None = None
        self.priority: PriorityBerthing | None = None
        self.extra_active = False
        self._ids = 0
        self._token = 0
        self._last_h = 0.0
        self.gate_rate_teu_h = 0.0   # trucks taking ready boxes out, TEU per hour, right now
        self.history: list[tuple[float, int, int, float, float]] = []
        self.state: PortState | None = None
        self.stats_from_h = 0.0
        self.moved_at_warmup = 0.0
        self.gate_at_warmup = 0.0
        rec = world.recorder
        self.occupied_probe = rec.probe(f"{name}.berths_occupied")
        self.anchorage_probe = rec.probe(f"{name}.anchorage")
        self.yard_probe = rec.probe(f"{name}.yard_teu", initial=self.yard_teu)
        self.blocked_probe = rec.probe(f"{name}.yard_blocked")
        self.closed_probe = rec.probe(f"{name}.closed")
        self.extra_probe = rec.probe(f"{name}.extra_shifts")

    # ---------------------------------------------------------------- disruptions, strategies --
    def _berths_of(self, target: str) -> list[Berth]:
        element = target_element(target)
        return self.berths if element is None else [b for b in self.berths if b.name == element]

    def disrupt(self, disruption: DisruptionConfig) -> None:
        start, end = disruption.window(self.world.horizon_h)
        self._ids += 1
        key = self._ids
        if isinstance(disruption, PortClosure):
            self._window(start, end, lambda: self._close(disruption, key, True),
                         lambda: self._close(disruption, key, False))
        elif isinstance(disruption, CraneFailure):
            self._window(start, end, lambda: self._cranes_out(disruption, key, disruption.cranes),
                         lambda: self._cranes_out(disruption, key, 0))
        elif isinstance(disruption, CapacityLoss):
            share = float(disruption.share)
            self._window(start, end, lambda: self._lose(disruption, key, share),
                         lambda: self._lose(disruption, key, 0.0))
        elif isinstance(disruption, ArrivalSurge):
            label = disruption.name or f"surge{key}"
            self.surges.append((start, end, float(disruption.multiplier), label))
        else:
            super().disrupt(disruption)

    def _window(self, start: float, end: float, begin: Callable[[], None], finish: Callable[[], None]) -> None:
        """Call ``begin`` at ``start`` and ``finish`` at ``end`` (unless the run is over by then)."""
        self.world.at(start, begin)
        if end < self.world.horizon_h:
            self.world.at(end, finish)

    def _close(self, closure: PortClosure, key: int, closing: bool) -> None:
        self._advance()
        whole = target_element(closure.target) is None
        for berth in self._berths_of(closure.target):
            (berth.closed_by.add if closing else berth.closed_by.discard)(key)
        if whole:
            (self.port_closures.add if closing else self.port_closures.discard)(key)
            self.closed_probe.update(self.env.now, 1.0 if self.port_closures else 0.0)
            self.world.services.publish(f"{self.name}.open", 0.0 if self.port_closures else 1.0)
        if closure.gate_closed:
            (self.gate_closures.add if closing else self.gate_closures.discard)(key)
        self.world.recorder.event("port_closed" if closing else "port_reopened",
                                  f"{self.name} {closure.target}")
        self._anchorage_changed()   # the expected wait follows the berths working
        self._try_berth()
        self._replan()

    def _cranes_out(self, failure: CraneFailure, key: int, cranes: int) -> None:
        self._advance()
        targets = self._berths_of(failure.target)
        left = cranes
        for berth in sorted(targets, key=lambda b: -b.index):   # spread from the last berth back
            share = min(left, berth.cranes) if len(targets) > 1 else cranes
            if share:
                berth.cranes_out[key] = share
            else:
                berth.cranes_out.pop(key, None)
            left -= share
        self._replan()

    def _lose(self, loss: CapacityLoss, key: int, share: float) -> None:
        self._advance()
        if loss.resource == "cranes":
            for berth in self._berths_of(loss.target):
                berth.losses[key] = share
        elif loss.resource == "yard":
            self.yard_losses[key] = share
        else:
            self.gate_losses[key] = share
        self._replan()

    def degrade(self, element: str | None, share_lost: float, *, cause: str, kind: str = "power") -> None:
        """Lose a share of crane productivity (at one berth, or all) while a provider is out."""
        self._advance()
        for berth in (self.berths if element is None else [b for b in self.berths if b.name == element]):
            if share_lost > 0:
                berth.losses[cause] = share_lost
            else:
                berth.losses.pop(cause, None)
        self.world.recorder.event("cranes_degraded", f"{self.name}.{element or '*'} -{share_lost:.0%} ({cause})")
        self._replan()

    def respond(self, strategy: StrategyConfig) -> None:
        if isinstance(strategy, Divert):
            self.divert = strategy
        elif isinstance(strategy, ExtraShifts):
            self.extra = strategy
        elif isinstance(strategy, PriorityBerthing):
            self.priority = strategy
        else:
            super().respond(strategy)

    # ------------------------------------------------------------------------------ start --
    def warm_start(self, state: PortState) -> None:  # type: ignore[override]
        """Start from an observed state: vessels at anchor and at berth, berths, yard.

        What is observed broken (a closed berth or port, cranes out) stays so for the run: future
        repairs are not known. Vessels drawn for the run arrive as usual after time 0.
        """
        unknown = sorted(set(state.berths) - {b.name for b in self.berths})
        if unknown:
            raise ValueError(f"state names berth(s) {', '.join(unknown)} that {self.name!r} does not have")
        self.state = state

    def observe(self) -> PortState:
        """Vessels at the anchorage and at each berth, berth status and yard fill, now."""
        self._advance()
        now, per_move = self.env.now, self.config.teu_per_move
        berths = {}
        for berth in self.berths:
            vessel = berth.vessel
            berths[berth.name] = BerthState(
                vessel=vessel.name if vessel else None, teu=vessel.teu if vessel else 0.0,
                teu_left=vessel.moves_left * per_move if vessel else 0.0,
                open=berth.is_open, cranes_out=min(berth.cranes, sum(berth.cranes_out.values())))
        return PortState(open=not self.port_closures,
                         anchorage=[AnchoredVessel(name=v.name, teu=v.teu, waiting_h=now - v.arrived_h)
                                    for v in self.anchorage],
                         berths=berths, yard_teu=max(0.0, self.yard_teu), ready_teu=max(0.0, self.ready_teu))

    def start(self) -> None:
        self.world.services.publish(f"{self.name}.open", 1.0)
        self.world.services.publish(f"{self.name}.queue", 0.0)
        self.world.services.publish(f"{self.name}.wait_h", 0.0)
        drawn = self._draw_vessels()
        self.vessels = list(drawn)
        if self.state is not None:
            self._apply_state(self.state)
        else:
            self._initial_yard(self.yard_teu)
        self.env.process(self._arrivals(drawn))
        self.env.process(self._hourly_snapshot())

    def _apply_state(self, state: PortState) -> None:
        """Put the observed vessels, closures and yard in place at time 0."""
        if not state.open:
            self.port_closures.add(_OBSERVED)
            self.closed_probe.update(0.0, 1.0)
            self.world.services.publish(f"{self.name}.open", 0.0)
        for berth in self.berths:
            observed = state.berths.get(berth.name)
            if observed is None:
                continue
            if not observed.open or not state.open:
                berth.closed_by.add(_OBSERVED)
            if observed.cranes_out:
                berth.cranes_out[_OBSERVED] = min(observed.cranes_out, berth.cranes)
            if observed.vessel is not None:
                vessel = self._observed_vessel(observed.vessel, observed.teu or observed.teu_left, 0.0)
                self.berth(vessel, berth)
                vessel.moves_left = observed.teu_left / self.config.teu_per_move
                vessel.working = True
        for anchored in state.anchorage:
            self.arrive(self._observed_vessel(anchored.name, anchored.teu, -anchored.waiting_h))
        self.yard_teu = state.yard_teu
        self.ready_teu = min(state.ready_teu, state.yard_teu)
        self.yard_probe.update(0.0, self.yard_teu)
        self._initial_yard(self.yard_teu - self.ready_teu)
        self._replan()

    def _observed_vessel(self, name: str, teu: float, arrived_h: float) -> Vessel:
        vessel = Vessel(len(self.vessels), name, teu, arrived_h, float(self._dwell(1)[0]))
        self.vessels.insert(0, vessel)
        return vessel

    def begin_statistics(self) -> None:
        """The warm-up is over: calls, moves and gate counts for the KPIs start now."""
        self._advance()
        self.stats_from_h = self.env.now
        self.moved_at_warmup = self.moved_teu
        self.gate_at_warmup = self.gate_out_teu

    def _stream(self, *names: str) -> np.random.Generator:
        return self.world.streams.get(self.name, *names)

    def _base_calls(self) -> tuple[np.ndarray, list[str], np.ndarray, float]:
        """Arrival times, vessel names, TEU (NaN = draw) and the mean arrival rate per hour."""
        arrivals, horizon = self.config.arrivals, self.world.horizon_h
        rng = self._stream("arrivals")
        if isinstance(arrivals, PoissonArrivals):
            rate = float(arrivals.rate_per_day) / 24.0
            times = np.sort(rng.uniform(0.0, horizon, rng.poisson(rate * horizon)))
        elif isinstance(arrivals, FittedArrivals):
            rate = 1.0 / float(arrivals.mean_interarrival)
            times = _renewal_times(arrivals, rng, horizon)
        elif isinstance(arrivals, ScheduleArrivals):
            etas = np.array([c.eta for c in arrivals.calls], dtype=float)
            etas = np.maximum(0.0, etas + rng.normal(0.0, 1.0, etas.size) * float(arrivals.eta_sd))
            order = np.argsort(etas, kind="stable")
            rate = len(etas) / horizon
            teu = np.array([c.teu if c.teu is not None else np.nan for c in arrivals.calls])[order]
            names = [arrivals.calls[i].vessel for i in order]
            keep = etas[order] < horizon
            return etas[order][keep], [n for n, k in zip(names, keep) if k], teu[keep], rate
        else:
            raise TwinworldError(f"port {self.name!r}: arrivals of kind {arrivals.kind!r} must be read at load "
                                 f"time; load the scenario with twinworld.load_scenario")
        return times, [f"V{i + 1}" for i in range(times.size)], np.full(times.size, np.nan), rate

    def _draw_vessels(self) -> list[Vessel]:
        times, names, teu, rate = self._base_calls()
        sizes = draw_call_size(self.config.call_size, self._stream("teu"), times.size)
        teu = np.where(np.isnan(teu), sizes, teu)
        for start, end, multiplier, label in self.surges:
            rng = self._stream("surge", label)
            extra = rng.poisson(max(0.0, multiplier - 1.0) * rate * max(0.0, end - start))
            extra_times = np.sort(rng.uniform(start, end, extra))
            times = np.concatenate([times, extra_times])
            names = names + [f"{label}-{i + 1}" for i in range(extra)]
            teu = np.concatenate([teu, draw_call_size(self.config.call_size, self._stream("surge_teu", label), extra)])
        order = np.argsort(times, kind="stable")
        dwell = self._dwell(times.size)
        return [Vessel(k, names[i], float(teu[i]), float(times[i]), float(dwell[k])) for k, i in enumerate(order)]

    def _dwell(self, count: int) -> np.ndarray:
        gate = self.config.gate
        return _draw("lognormal", float(gate.dwell), gate.dwell_cv, self._stream("dwell"), count)

    def _initial_yard(self, teu: float) -> None:
        """Boxes already in the yard become ready for pickup evenly over the first dwell time."""
        lots = 12
        if teu <= 0:
            return
        dwell = float(self.config.gate.dwell)
        for i in range(lots):
            self.world.at(dwell * (i + 0.5) / lots, lambda: self.gate_out(teu / lots))

    def _arrivals(self, vessels: list[Vessel]) -> Iterator:
        """Process: release the pre-drawn vessels at their arrival times (simulated hours pass)."""
        for vessel in vessels:
            yield self.env.timeout(vessel.arrived_h - self.env.now)
            self.arrive(vessel)

    def _hourly_snapshot(self) -> Iterator:
        """Process: record anchorage queue, berths in use and yard fill every simulated hour."""
        while True:
            self._advance()
            busy = sum(b.vessel is not None for b in self.berths)
            self.history.append((self.env.now, len(self.anchorage), busy, self.yard_teu, self.ready_teu))
            yield self.env.timeout(1.0)

    # ----------------------------------------------------------------------- vessel flow --
    def arrive(self, vessel: Vessel) -> None:
        """A vessel reaches the anchorage and asks for a berth."""
        self.anchorage.append(vessel)
        self._anchorage_changed()
        if self.divert is not None:
            self.world.at(self.env.now + float(self.divert.after), lambda: self._maybe_divert(vessel))
        self._advance()
        self._try_berth()
        self._replan()

    def _anchorage_changed(self) -> None:
        queue = len(self.anchorage)
        self.anchorage_probe.update(self.env.now, queue)
        publish = self.world.services.publish
        publish(f"{self.name}.queue", float(queue))
        publish(f"{self.name}.wait_h", self.expected_wait_h(queue))

    def expected_wait_h(self, queue: int) -> float:
        """Expected anchorage wait of a vessel arriving now: the vessels ahead times a mean berth
        time, shared by the berths working (a closed port: as if one berth reopened)."""
        if queue == 0:
            return 0.0
        working = sum(1 for b in self.berths if b.is_open) or 1
        per_move = self.config.cranes_per_berth * self.moves_per_h * self.config.teu_per_move
        mean_teu = float(self.config.call_size.mean_teu)  # type: ignore[arg-type]
        return queue * (mean_teu / per_move + self.setup_h) / working

    def _pick(self) -> Vessel:
        if self.priority is None:
            return self.anchorage[0]
        if self.priority.rule == "shortest_first":
            return min(self.anchorage, key=lambda v: (v.teu, v.arrived_h))
        return max(self.anchorage, key=lambda v: (v.teu, -v.arrived_h))

    def _try_berth(self) -> None:
        """Berth waiting vessels while open berths are free (state already advanced to now)."""
        while self.anchorage:
            berth = next((b for b in self.berths if b.vessel is None and b.is_open), None)
            if berth is None:
                return
            vessel = self._pick()
            self.anchorage.remove(vessel)
            self._anchorage_changed()
            self.berth(vessel, berth)

    def berth(self, vessel: Vessel, berth: Berth) -> None:
        """Moor ``vessel`` at ``berth``; discharge starts after half the setup time."""
        vessel.berthed_h = self.env.now
        vessel.berth = berth
        vessel.moves_left = vessel.teu / self.config.teu_per_move
        berth.vessel = vessel
        self.occupied_probe.update(self.env.now, self.occupied_probe.value + 1)
        if self.setup_h > 0:
            self.env.timeout(self.setup_h / 2).callbacks.append(lambda _e: self.unload(vessel))
        else:
            vessel.working = True

    def unload(self, vessel: Vessel) -> None:
        """Mooring done: the berth's cranes start on the vessel (rates replanned)."""
        self._advance()
        vessel.working = True
        self._replan()

    def _book_lot(self, vessel: Vessel) -> None:
        """Boxes discharged so far start their dwell; they are ready for pickup ``dwell_h`` later."""
        teu, vessel.unlotted_teu = vessel.unlotted_teu, 0.0
        if teu > 0:
            self.world.at(self.env.now + vessel.dwell_h, lambda: self.gate_out(teu))

    def _finished(self, vessel: Vessel) -> None:
        self._book_lot(vessel)
        vessel.working = False
        vessel.moves_left = 0.0
        if self.setup_h > 0:
            self.env.timeout(self.setup_h / 2).callbacks.append(lambda _e: self.depart(vessel))
        else:
            self.depart(vessel, replan=False)

    def depart(self, vessel: Vessel, *, replan: bool = True) -> None:
        """Unmooring done: free the berth for the next vessel."""
        if replan:
            self._advance()
        berth = vessel.berth
        assert berth is not None
        berth.vessel = None
        berth.rate = 0.0
        vessel.departed_h = self.env.now
        self.occupied_probe.update(self.env.now, self.occupied_probe.value - 1)
        self._try_berth()
        if replan:
            self._replan()

    def _maybe_divert(self, vessel: Vessel) -> None:
        if not vessel.is_waiting or vessel not in self.anchorage:
            return
        self.anchorage.remove(vessel)
        vessel.diverted_h = self.env.now
        self._anchorage_changed()
        self.world.recorder.count(f"{self.name}.diverted")
        if self.env.now >= self.stats_from_h:
            self.world.cascade.outcome(self.name, "vessels_diverted", anywhere=True)
        self.world.recorder.event("vessel_diverted", f"{vessel.name} -> {self.divert.to}")  # type: ignore[union-attr]
        self._advance()
        self._replan()

    # ------------------------------------------------------------------------ crane fluid --
    def yard_capacity(self) -> float:
        """Usable yard TEU now (after capacity losses)."""
        return self.config.yard_capacity_teu * (1.0 - min(1.0, sum(self.yard_losses.values())))

    def _advance(self) -> None:
        """Move boxes at the current rates from the last event up to now (cranes in, trucks out)."""
        now = self.env.now
        span = now - self._last_h
        if span <= 0:
            return
        share = self.config.import_share
        for berth in self.berths:
            vessel = berth.vessel
            if berth.rate > 0 and vessel is not None:
                moves = min(vessel.moves_left, berth.rate * span)
                vessel.moves_left -= moves
                teu = moves * self.config.teu_per_move
                self.moved_teu += teu
                vessel.imported_teu += teu * share
                vessel.unlotted_teu += teu * share
                self.yard_teu += teu * share
                if vessel.unlotted_teu >= _LOT_TEU:
                    self._book_lot(vessel)
        if self.gate_rate_teu_h > 0:
            out = min(self.ready_teu, self.gate_rate_teu_h * span)
            self.ready_teu -= out
            self.yard_teu -= out
            self.gate_out_teu += out
        self._last_h = now
        self.yard_probe.update(now, self.yard_teu)

    def _replan(self) -> None:
        """Finish completed vessels, set the crane and gate rates, and time the next change.

        When the yard is full, discharge is throttled to what the gate takes out (the fluid limit
        of "a truck leaves, a crane fills the slot"); with the gate idle it stops.
        """
        for berth in self.berths:
            vessel = berth.vessel
            if vessel is not None and vessel.working and vessel.moves_left <= 1e-7 * max(1.0, vessel.teu):
                self._finished(vessel)
        now = self.env.now
        self._set_extra(now)
        gate = self.config.gate
        self.gate_rate_teu_h = 0.0 if self.gate_closures or self.ready_teu <= _EPS else (
            float(gate.trucks_per_h) * gate.teu_per_truck * (1.0 - min(1.0, sum(self.gate_losses.values()))))
        gain = 1.0 + (float(self.extra.productivity_gain) if self.extra_active else 0.0)  # type: ignore[union-attr]
        inflow = 0.0
        for berth in self.berths:
            vessel = berth.vessel
            if vessel is None or not vessel.working or not berth.is_open:
                berth.rate = 0.0
                continue
            loss = min(1.0, sum(berth.losses.values()))
            berth.rate = berth.cranes_working() * self.moves_per_h * (1.0 - loss) * gain
            inflow += berth.rate * self.config.teu_per_move * self.config.import_share
        full = self.yard_teu >= self.yard_capacity() - 1e-6
        blocked = full and inflow > self.gate_rate_teu_h + _EPS
        if blocked:
            factor = self.gate_rate_teu_h / inflow
            for berth in self.berths:
                berth.rate *= factor
            inflow = self.gate_rate_teu_h
        self.blocked_probe.update(now, 1.0 if blocked else 0.0)
        self._schedule_next(inflow)

    def _schedule_next(self, inflow: float) -> None:
        """One timer at the next vessel completion, yard filling up, or gate running out of boxes."""
        next_h = math.inf
        for berth in self.berths:
            if berth.rate > 0 and berth.vessel is not None:
                next_h = min(next_h, berth.vessel.moves_left / berth.rate)
        net = inflow - self.gate_rate_teu_h
        if net > _EPS:
            next_h = min(next_h, max(0.0, (self.yard_capacity() - self.yard_teu) / net))
        if self.gate_rate_teu_h > 0:
            next_h = min(next_h, self.ready_teu / self.gate_rate_teu_h)
        self._token += 1
        if math.isfinite(next_h):
            token = self._token
            self.env.timeout(next_h).callbacks.append(lambda _e: self._on_timer(token))

    def _on_timer(self, token: int) -> None:
        if token == self._token:
            self._advance()
            self._replan()

    def _set_extra(self, now: float) -> None:
        if self.extra is None:
            return
        active = len(self.anchorage) >= self.extra.when_queue_at_least
        if active != self.extra_active:
            self.extra_active = active
            self.extra_probe.update(now, 1.0 if active else 0.0)

    # ------------------------------------------------------------------------------- gate --
    def gate_out(self, teu: float) -> None:
        """A lot of import boxes has dwelt its time: trucks start taking it out through the gate.

        The gate works as a fluid too: while boxes are ready and the gate is open, trucks take
        ``trucks_per_h * teu_per_truck`` TEU per hour out of the yard.
        """
        self._advance()
        self.ready_teu += teu
        self._replan()

    # ------------------------------------------------------------------------------ results --
    def _arrived(self, since_h: float = -math.inf) -> list[Vessel]:
        return [v for v in self.vessels if since_h <= v.arrived_h <= self.env.now]

    def kpis(self) -> dict[str, float]:
        """KPIs over the measured window: calls arriving after the warm-up, moves since then."""
        self._advance()
        now, start = self.env.now, self.stats_from_h
        span = self.world.horizon_h - start
        days = span / 24.0
        arrived = self._arrived(start if start > 0 else -math.inf)
        waits = np.array([(v.berthed_h if v.berthed_h is not None else
                           v.diverted_h if v.diverted_h is not None else now) - v.arrived_h for v in arrived])
        stays = np.array([(v.departed_h if v.departed_h is not None else now) - v.arrived_h
                          for v in arrived if v.diverted_h is None])
        extra_sail = float(self.divert.extra_sailing) if self.divert is not None else 0.0
        delays = waits + np.array([extra_sail if v.diverted_h is not None else 0.0 for v in arrived])
        return {
            "port_hours_per_call": float(stays.mean()) if stays.size else 0.0,
            "mean_anchorage_wait_h": float(waits.mean()) if waits.size else 0.0,
            "p95_anchorage_wait_h": float(np.percentile(waits, 95)) if waits.size else 0.0,
            "berth_occupancy": self.occupied_probe.area / (span * len(self.berths)),
            "throughput_teu_per_day": (self.moved_teu - self.moved_at_warmup) / days,
            "gate_teu_per_day": (self.gate_out_teu - self.gate_at_warmup) / days,
            "vessels_diverted": float(sum(v.diverted_h is not None for v in arrived)),
            "mean_delay_per_call_h": float(delays.mean()) if delays.size else 0.0,
            "vessels_waiting_at_end": float(len(self.anchorage)),
            "peak_yard_utilisation": self.yard_probe.peak / self.config.yard_capacity_teu,
            "yard_blocked_h": self.blocked_probe.area,
            "port_closed_h": self.closed_probe.area,
            "extra_shift_h": self.extra_probe.area,
        }

    def tables(self) -> dict[str, pd.DataFrame]:
        calls = pd.DataFrame([{
            "vessel": v.name, "teu": v.teu, "arrived_h": v.arrived_h, "berthed_h": v.berthed_h,
            "departed_h": v.departed_h, "diverted_h": v.diverted_h,
            "berth": v.berth.name if v.berth is not None else None} for v in self._arrived()])
        hourly = pd.DataFrame(self.history, columns=["time_h", "anchorage", "berths_occupied", "yard_teu",
                                                     "ready_teu"])
        return {"calls": calls, "hourly": hourly}
