"""A road network on the World's clock: evacuating households (or OD trips) driving to safety.

The :class:`~twinworld.systems.traffic.engine.TrafficEngine` moves platoons; this system builds the
demand from named random streams (so every strategy on a seed sees the same households leaving at
the same moments), schedules disruptions and strategies as link effects at exact times, drives the
engine from a SimPy process, and exposes platoons and shelters as Mesa agents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import mesa
import numpy as np
import pandas as pd

from twinworld.errors import ScenarioError
from twinworld.systems.base import DisruptionConfig, StrategyConfig, System
from twinworld.systems.traffic import checks
from twinworld.systems.traffic.config import RoadNetworkConfig
from twinworld.systems.traffic.demand import Vehicles, assign_destinations, departure_hours, form_platoons
from twinworld.systems.traffic.disruptions import BridgeFailure, Flood, RoadClosure, SignalOutage
from twinworld.systems.traffic.engine import TrafficEngine
from twinworld.systems.traffic.kpis import compute_kpis
from twinworld.systems.traffic.source import load_network
from twinworld.systems.traffic.strategies import (Contraflow, DynamicRerouting, ShelterAssignment,
                                                  Simultaneous, Staged)

if TYPE_CHECKING:
    from twinworld.core.world import World

__all__ = ["RoadNetworkSystem", "Platoon", "LinkEffect"]


@dataclass
class LinkEffect:
    """A change to links over a window: closures and speed/capacity multipliers."""

    name: str
    closed: np.ndarray | None = None
    capacity: np.ndarray | None = None
    speed: np.ndarray | None = None
    storage_add: np.ndarray | None = None
    active: bool = False


class Platoon(mesa.Agent):
    """A platoon of evacuating vehicles as a Mesa agent; its live state is in the engine."""

    def __init__(self, model: mesa.Model, *, index: int, engine: TrafficEngine, zone: str) -> None:
        super().__init__(model)
        self.kind = "platoon"
        self.index = index
        self.engine = engine
        self.zone = zone

    @property
    def vehicles(self) -> float:
        return self.engine.size[self.index]

    @property
    def has_arrived(self) -> bool:
        return self.engine.arrive_h[self.index] < float("inf")

    @property
    def link(self) -> int:
        return self.engine.link_of[self.index]


class RoadNetworkSystem(System):
    """The ``road_network`` system."""

    kind = "road_network"

    def __init__(self, world: "World", name: str, config: RoadNetworkConfig) -> None:
        super().__init__(world, name, config)
        self.config: RoadNetworkConfig = config
        self.net = load_network(config.source)
        problems = checks.all_problems(self.net, config, name, world.shared.get("scenario"))
        if problems:
            raise ScenarioError(problems)
        self.destinations, _ = checks.destinations_of(self.net, config, f"systems.{name}")
        self.zone_nodes, _ = checks.zone_nodes(self.net, config, f"systems.{name}")
        self.effects: list[LinkEffect] = []
        self.stage_delay_h: dict[str, float] = {}
        self.shelter_rule = "nearest"
        self.reroute_every_h = None if config.reroute_every is None else float(config.reroute_every)  # type: ignore[arg-type]
        self.contraflows: list[Contraflow] = []
        self.engine: TrafficEngine | None = None
        self.agents: mesa.agent.AgentSet | None = None

    # ---------------------------------------------------------------- disruptions, strategies --
    def disrupt(self, disruption: DisruptionConfig) -> None:
        links, problems = checks.area_links(self.net, disruption, "disruption")
        if problems:
            raise ScenarioError(problems)
        start, end = disruption.window(self.world.horizon_h)
        label = disruption.name or disruption.kind
        if isinstance(disruption, Flood):
            warning = float(disruption.warning)  # type: ignore[arg-type]
            if warning > 0:
                speed = np.where(links, 1.0 - float(disruption.slowdown), 1.0)  # type: ignore[arg-type]
                self._schedule(LinkEffect(f"{label}:wet", speed=speed), max(0.0, start - warning), start)
            self._schedule(LinkEffect(label, closed=links), start, end)
        elif isinstance(disruption, (RoadClosure, BridgeFailure)):
            self._schedule(LinkEffect(label, closed=links), start, end)
        elif isinstance(disruption, SignalOutage):
            capacity = np.where(links, 1.0 - float(disruption.capacity_loss), 1.0)  # type: ignore[arg-type]
            self._schedule(LinkEffect(label, capacity=capacity), start, end)
        else:
            super().disrupt(disruption)

    def respond(self, strategy: StrategyConfig) -> None:
        if isinstance(strategy, Simultaneous):
            self.stage_delay_h = {}
        elif isinstance(strategy, Staged):
            for stage in strategy.stages:
                for zone in stage.zones:
                    self.stage_delay_h[zone] = float(stage.delay)  # type: ignore[arg-type]
        elif isinstance(strategy, ShelterAssignment):
            self.shelter_rule = strategy.rule
        elif isinstance(strategy, DynamicRerouting):
            self.reroute_every_h = float(strategy.every) if strategy.enabled else None  # type: ignore[arg-type]
        elif isinstance(strategy, Contraflow):
            self.contraflows.append(strategy)
        else:
            super().respond(strategy)

    def _schedule(self, effect: LinkEffect, start: float, end: float) -> None:
        self.effects.append(effect)
        self.world.at(start, lambda: self._set(effect, True))
        if end < self.world.horizon_h:
            self.world.at(end, lambda: self._set(effect, False))

    def _set(self, effect: LinkEffect, active: bool) -> None:
        engine = self.engine
        assert engine is not None, "effects act only after start()"
        engine.advance_to(self.world.now)
        effect.active = active
        self.world.recorder.event(f"{self.name}.{'on' if active else 'off'}", effect.name)
        closed = np.zeros(self.net.n_links, bool)
        capacity = np.ones(self.net.n_links)
        speed = np.ones(self.net.n_links)
        storage = self.net.storage_veh.astype(float).copy()
        for e in self.effects:
            if e.active:
                closed |= e.closed if e.closed is not None else False
                capacity *= e.capacity if e.capacity is not None else 1.0
                speed *= e.speed if e.speed is not None else 1.0
                storage += e.storage_add if e.storage_add is not None else 0.0
        changed = (closed != ~engine.is_open) | (capacity != engine.cap_factor) | (speed != engine.speed_factor)
        engine.is_open = ~closed
        engine.cap_factor = capacity
        engine.speed_factor = speed
        engine.storage = storage.tolist()
        engine.refresh_links(changed)
        self._publish_access()

    def _publish_access(self) -> None:
        """Publish each named place's road access: the share of the other places reachable from it
        (``<system>.<place>``, 1.0 = all), for couplings such as hospitals' ``road_access``."""
        places = self.config.places
        if len(places) < 2:
            return
        matrix = self.travel_time_matrix(congested=False).to_numpy()
        reachable = np.isfinite(matrix).sum(axis=1) - 1
        for place, count in zip(places, reachable):
            self.world.services.publish(f"{self.name}.{place}", float(count) / (len(places) - 1))

    def _contraflow_effect(self, lever: Contraflow, time_to_h: np.ndarray) -> LinkEffect:
        """Outbound direction (ending nearer to safety) takes the reverse link's lanes."""
        named, _ = checks.named_links(self.net, lever.roads, "contraflow")
        reverse = self.net.reverse
        to_safety = time_to_h.min(axis=0)
        closed = np.zeros(self.net.n_links, bool)
        capacity = np.ones(self.net.n_links)
        storage = np.zeros(self.net.n_links)
        for link in np.flatnonzero(named & (reverse >= 0)):
            back = reverse[link]
            if to_safety[self.net.v[link]] < to_safety[self.net.v[back]] and named[back]:
                closed[back] = True
                capacity[link] = 1.0 + self.net.capacity_veh_h[back] / self.net.capacity_veh_h[link]
                storage[link] = self.net.storage_veh[back]
        return LinkEffect(f"contraflow:{','.join(lever.roads)}", closed=closed, capacity=capacity,
                          storage_add=storage)

    # ---------------------------------------------------------------------------- demand --
    def _vehicles(self, time_to_h: np.ndarray) -> Vehicles:
        config, streams = self.config, self.world.streams
        parts = []
        per_household = float(config.vehicles_per_household)  # type: ignore[arg-type]
        for z, (zone, nodes) in enumerate(zip(config.zones, self.zone_nodes)):
            households = (float(zone.households) if zone.households is not None  # type: ignore[arg-type]
                          else float(zone.households_per_node) * nodes.size)  # type: ignore[arg-type]
            count = int(round(households * per_household))
            rng = streams.get("traffic", self.name, "zone", zone.name)
            origin = nodes[rng.integers(0, nodes.size, count)] if nodes.size else np.zeros(0, np.int64)
            depart = departure_hours(config.mobilisation, rng.random(count))
            depart += self.stage_delay_h.get(zone.name, 0.0)
            parts.append(Vehicles(origin.astype(np.int64), np.full(count, z), depart, np.full(count, -1)))
        names = [d.name for d in self.destinations]
        for i, flow in enumerate(config.od):
            count = int(round(float(flow.vehicles)))  # type: ignore[arg-type]
            start, end = float(flow.start), float(flow.end)  # type: ignore[arg-type]
            origin, _ = checks.place_node(self.net, flow.origin, config, "od")
            depart = start + (np.arange(count) + 0.5) * (end - start) / max(count, 1)
            parts.append(Vehicles(np.full(count, origin, np.int64), np.full(count, -1 - i), depart,
                                  np.full(count, names.index(flow.destination))))
        vehicles = Vehicles.concat(parts)
        unset = vehicles.dest < 0
        if unset.any():
            capacity = np.array([d.capacity_veh for d in self.destinations])
            chosen = assign_destinations(Vehicles(vehicles.origin[unset], vehicles.zone[unset],
                                                  vehicles.depart_h[unset], vehicles.dest[unset]),
                                         time_to_h, capacity, rule=self.shelter_rule)
            vehicles.dest[unset] = chosen
        return vehicles

    # ----------------------------------------------------------------------------- start --
    def start(self) -> None:
        config, world = self.config, self.world
        in_zone = np.zeros(self.net.n_nodes, bool) if config.zones else np.ones(self.net.n_nodes, bool)
        for zone, nodes in zip(config.zones, self.zone_nodes):
            in_zone[nodes] = True
        engine = TrafficEngine(self.net, self.destinations, reroute_every_h=self.reroute_every_h,
                               in_zone=in_zone, route_noise=config.route_noise,
                               rng=world.streams.get("traffic", self.name, "routes"),
                               inflow_factor=config.inflow_capacity_factor,
                               backward_wave=config.backward_wave, route_sets=config.route_sets)
        engine.replan(congested=False)
        self.engine = engine
        platoons = form_platoons(self._vehicles(engine.time_to_h), config.platoon_size)
        engine.add_platoons(platoons["origin"], platoons["dest"], platoons["depart_h"], platoons["size"])
        zone_names = [z.name for z in config.zones]
        self.platoon_zone = [zone_names[z] if z >= 0 else f"od{-1 - z}" for z in platoons["zone"]]
        model = world.agents.model
        self.agents = mesa.agent.AgentSet(
            [Platoon(model, index=i, engine=engine, zone=zone) for i, zone in enumerate(self.platoon_zone)],
            random=model.random)
        self.shelter_agents = [world.agents.add_facility(
            name=d.name, kind="shelter", state=d,
            location=(float(self.net.lat[d.node]), float(self.net.lon[d.node]))) for d in self.destinations]
        for lever in self.contraflows:
            self._schedule(self._contraflow_effect(lever, engine.time_to_h), float(lever.start),  # type: ignore[arg-type]
                           world.horizon_h)
        self._publish_access()
        world.env.process(self._drive(float(config.tick)))  # type: ignore[arg-type]
        if self.reroute_every_h is not None:
            world.env.process(self._reroute(self.reroute_every_h))

    def _drive(self, tick_h: float):
        """Advance the engine with the World's clock, one tick (simulated hours) at a time."""
        while True:
            self.engine.advance_to(self.world.now)
            yield self.world.env.timeout(tick_h)

    def _reroute(self, every_h: float):
        """Re-plan every vehicle's route on current travel times every ``every_h`` hours."""
        while True:
            yield self.world.env.timeout(every_h)
            self.engine.advance_to(self.world.now)
            self.engine.replan(congested=True, all_sets=False)

    # --------------------------------------------------------------------------- results --
    def finish(self) -> TrafficEngine:
        """The engine advanced to the end of the run."""
        assert self.engine is not None, "start() first"
        self.engine.advance_to(self.world.horizon_h)
        return self.engine

    def kpis(self) -> dict[str, float]:
        engine = self.finish()
        return compute_kpis(engine, horizon_h=self.world.horizon_h,
                            deadline_h=float(self.config.deadline))  # type: ignore[arg-type]

    def tables(self) -> dict[str, pd.DataFrame]:
        engine = self.finish()
        platoons = pd.DataFrame({"zone": self.platoon_zone, "vehicles": engine.size,
                                 "origin": [self.net.node_ids[o] for o in engine.origin],
                                 "destination": [self.destinations[d].name for d in engine.dest],
                                 "depart_h": engine.depart_h, "arrive_h": engine.arrive_h,
                                 "cleared_h": engine.cleared_h})
        shelters = pd.DataFrame({"shelter": [d.name for d in self.destinations],
                                 "node": [self.net.node_ids[d.node] for d in self.destinations],
                                 "capacity_veh": [d.capacity_veh for d in self.destinations],
                                 "received_veh": [d.received_veh for d in self.destinations]})
        return {"platoons": platoons, "shelters": shelters}

    def travel_time_matrix(self, places: Mapping[str, Any] | Sequence[str] | None = None, *,
                           congested: bool = True) -> pd.DataFrame:
        """Minutes between named places under the network's state now (see :mod:`.travel_times`)."""
        from twinworld.systems.traffic.travel_times import travel_time_matrix

        return travel_time_matrix(self, places, congested=congested)
