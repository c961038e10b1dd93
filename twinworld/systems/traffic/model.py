"""A road network on the World's clock: evacuating households (or OD trips) driving to safety.

The :class:`~twinworld.systems.traffic.engine.TrafficEngine` moves platoons; this system builds the
demand from named random streams (so every strategy on a seed sees the same households leaving at
the same moments), schedules disruptions and strategies as link effects at exact times, drives the
engine from a SimPy process, and exposes platoons and shelters as Mesa agents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np
import pandas as pd

from twinworld.systems.base import DisruptionConfig, StrategyConfig, System
from twinworld.systems.traffic import checks
from twinworld.systems.traffic.config import RoadNetworkConfig
from twinworld.systems.traffic.demand import Vehicles, assign_destinations, departure_hours, form_platoons
from twinworld.systems.traffic.disruptions import BridgeFailure, Flood, RoadClosure, SignalOutage
from twinworld.systems.traffic.engine import Destination, TrafficEngine
from twinworld.systems.traffic.evacuees import SHADOW, Evacuees, apply_channels
from twinworld.systems.traffic.informed import MixedRoutingEngine
from twinworld.systems.traffic.kpis import compute_kpis
from twinworld.systems.traffic.network import haversine_km
from twinworld.systems.traffic.source import load_network
from twinworld.systems.traffic.state import RoadNetworkState
from twinworld.systems.traffic.strategies import (
    Contraflow,
    DynamicRerouting,
    InformDrivers,
    ShelterAssignment,
    Simultaneous,
    Staged,
    WarningChannels,
)

if TYPE_CHECKING:
    from twinworld.core.world import World

__all__ = ["RoadNetworkSystem", "Platoon", "LinkEffect", "STREAMS"]

#: The road system's random streams (after its system name): vehicles per zone (the rule-based
#: draws), route noise, the injured on hazardous roads; with households as agents also their
#: draws (households, shadow, compliance), informed drivers and their free-flow route noise, the
#: warning channels, door-to-door visits and the social ties.
STREAMS = ("zone", "routes", "casualties", "households", "shadow", "compliance", "informed", "free_routes",
           "warning", "door", "social")


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
        self.snapped = checks.snapped(self.net, config)
        self.destinations = [Destination(name, node, _capacity(config, name))
                             for name, node in self.snapped.destinations]
        self.zone_nodes = list(self.snapped.zone_nodes)
        self.state: RoadNetworkState | None = None
        self.signal_effects: dict[str, LinkEffect] = {}
        self._last_costs: tuple[np.ndarray, np.ndarray | None] | None = None
        self.casualties: dict[str, int] = {p: 0 for p in config.casualty_places}
        self.casualties_unreached = 0
        self.effects: list[LinkEffect] = []
        self.stage_delay_h: dict[str, float] = {}
        self.shelter_rule = "nearest"
        self.reroute_every_h = None if config.reroute_every is None else float(config.reroute_every)
        self.contraflows: list[Contraflow] = []
        self.engine: TrafficEngine | None = None
        self.agents: mesa.agent.AgentSet | None = None
        self.platoon_zone: list[str] = []
        self.behaviour = config.households
        self.inform: InformDrivers | None = None
        self.evacuees: Evacuees | None = None

    # ---------------------------------------------------------------- disruptions, strategies --
    def disrupt(self, disruption: DisruptionConfig) -> None:
        links = checks.cached_area_links(self.net, disruption)
        start, end = disruption.window(self.world.horizon_h)
        label = disruption.name or disruption.kind
        if isinstance(disruption, Flood):
            warning = float(disruption.warning)
            if warning > 0:
                speed = np.where(links, 1.0 - float(disruption.slowdown), 1.0)
                self._schedule(LinkEffect(f"{label}:wet", speed=speed), max(0.0, start - warning), start)
            self._schedule(LinkEffect(label, closed=links), start, end)
        elif isinstance(disruption, (RoadClosure, BridgeFailure)):
            self._schedule(LinkEffect(label, closed=links), start, end)
        elif isinstance(disruption, SignalOutage):
            capacity = np.where(links, 1.0 - float(disruption.capacity_loss), 1.0)
            self._schedule(LinkEffect(label, capacity=capacity), start, end)
        else:
            super().disrupt(disruption)

    def respond(self, strategy: StrategyConfig) -> None:
        if isinstance(strategy, Simultaneous):
            self.stage_delay_h = {}
        elif isinstance(strategy, Staged):
            for stage in strategy.stages:
                for zone in stage.zones:
                    self.stage_delay_h[zone] = float(stage.delay)
        elif isinstance(strategy, ShelterAssignment):
            self.shelter_rule = strategy.rule
        elif isinstance(strategy, DynamicRerouting):
            self.reroute_every_h = float(strategy.every) if strategy.enabled else None
        elif isinstance(strategy, Contraflow):
            self.contraflows.append(strategy)
        elif isinstance(strategy, WarningChannels):
            assert self.behaviour is not None, "checked at load time"
            self.behaviour = apply_channels(self.behaviour, list(strategy.add), list(strategy.drop))
        elif isinstance(strategy, InformDrivers):
            self.inform = strategy
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
        """Publish, for the named places, ``access.<place>`` (the share of the other places reachable
        from it) and ``travel_min.<a>.<b>`` (minutes from a to b over open roads, queues included)."""
        places = self.snapped.places
        if not places:
            return
        engine = self.engine
        cost = engine.current_cost_h() if engine is not None else self.net.free_flow_h
        is_open = engine.is_open if engine is not None else None
        seen = (cost, None if is_open is None else is_open.copy())
        last = self._last_costs
        if last is not None and np.array_equal(last[0], cost) and (
                (last[1] is None and seen[1] is None) or (last[1] is not None and seen[1] is not None
                                                           and np.array_equal(last[1], seen[1]))):
            return      # nothing on the roads changed since the last publication: the times stand
        self._last_costs = seen
        names = list(places)
        time_h = self.net.times_to([places[n] for n in names], cost, is_open)
        minutes = 60.0 * time_h[:, [places[n] for n in names]].T
        publish = self.world.services.publish
        for i, origin in enumerate(names):
            row = minutes[i]
            others = len(names) - 1
            publish(f"{self.name}.access.{origin}",
                    float(np.isfinite(row).sum() - 1) / others if others else 1.0)
            for j, destination in enumerate(names):
                publish(f"{self.name}.travel_min.{origin}.{destination}", float(row[j]))

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

    # --------------------------------------------------------------- couplings, live state --
    def degrade(self, element: str | None, share_lost: float, *, cause: str, kind: str = "power") -> None:
        """Signals go dark near a place (or everywhere): links into signalised intersections
        (three or more streets) within ``signal_radius_km`` lose ``share_lost`` of their capacity."""
        effect = self.signal_effects.get(cause)
        if effect is None:
            near = np.ones(self.net.n_nodes, bool)
            if element is not None:
                node = self.snapped.places[element]
                near = haversine_km(self.net.lat, self.net.lon, float(self.net.lat[node]),
                                    float(self.net.lon[node])) <= self.config.signal_radius_km
            signalised = (self.net.street_count >= 3) & near
            effect = LinkEffect(f"signals dark ({cause})", capacity=np.ones(self.net.n_links))
            effect.signalised = signalised[self.net.v]  # type: ignore[attr-defined]
            self.signal_effects[cause] = effect
            self.effects.append(effect)
        effect.capacity = np.where(effect.signalised, 1.0 - share_lost, 1.0)  # type: ignore[attr-defined]
        if self.engine is not None:
            self._set(effect, share_lost > 0)
        else:
            effect.active = share_lost > 0

    def warm_start(self, state: RoadNetworkState) -> None:  # type: ignore[override]
        """Start from observed closures (kept for the run) and vehicles on links (driving on to the
        nearest shelter or exit)."""
        unknown = sorted({*state.closed_links, *state.vehicles_on_links} - set(self.net.link_ids))
        if unknown:
            raise ValueError(f"state names link(s) {', '.join(unknown[:5])} that {self.name!r} does not have")
        self.state = state

    def _apply_state(self, state: RoadNetworkState) -> None:
        if state.closed_links:
            closed = np.zeros(self.net.n_links, bool)
            closed[[self.net.link(link) for link in state.closed_links]] = True
            self._schedule(LinkEffect("observed closures", closed=closed), 0.0, self.world.horizon_h)
            self._set(self.effects[-1], True)
        engine = self.engine
        assert engine is not None
        links = [self.net.link(link) for link, n in state.vehicles_on_links.items() if n > 0]
        sizes = [state.vehicles_on_links[self.net.link_ids[k]] for k in links]
        # Python ints, not numpy's: the compiled engine checks its typed arguments
        dest = engine.time_to_h[:, self.net.v[links]].argmin(axis=0).tolist() if links else []
        engine.place_platoons(links, dest, sizes)
        self.platoon_zone += ["observed"] * len(links)

    def observe(self) -> RoadNetworkState:
        """Links closed now and vehicles on each link (driving or queued), by link id."""
        engine = self.finish_to_now()
        ids = self.net.link_ids
        return RoadNetworkState(
            closed_links=[ids[k] for k in np.flatnonzero(~engine.is_open)],
            vehicles_on_links={ids[k]: float(n) for k, n in enumerate(engine.occ) if n > 1e-9})

    def finish_to_now(self) -> TrafficEngine:
        assert self.engine is not None, "start() first"
        self.engine.advance_to(self.world.now)
        return self.engine

    # ---------------------------------------------------------------------------- demand --
    def _vehicles(self, time_to_h: np.ndarray) -> Vehicles:
        """Every vehicle of the rule-based model: households' cars per zone leaving along the
        mobilisation curve (after their stage's delay), and OD trips; destinations assigned."""
        config, streams = self.config, self.world.streams
        parts = []
        per_household = float(config.vehicles_per_household)
        for z, (zone, nodes) in enumerate(zip(config.zones, self.zone_nodes)):
            households = (float(zone.households) if zone.households is not None
                          else float(zone.households_per_node) * nodes.size)  # type: ignore[arg-type]
            count = int(round(households * per_household))
            rng = streams.get(self.name, "zone", zone.name)
            origin = nodes[rng.integers(0, nodes.size, count)] if nodes.size else np.zeros(0, np.int64)
            depart = departure_hours(config.mobilisation, rng.random(count))
            depart += self.stage_delay_h.get(zone.name, 0.0)
            parts.append(Vehicles(origin.astype(np.int64), np.full(count, z), depart, np.full(count, -1)))
        vehicles = Vehicles.concat([*parts, self._od_vehicles()])
        share, _ = self._informed()
        if share < 1.0:
            vehicles.informed = streams.get(self.name, "informed").random(vehicles.origin.size) < share
        unset = vehicles.dest < 0
        if unset.any():
            chosen = assign_destinations(vehicles.take(np.flatnonzero(unset)), time_to_h,
                                         self._capacities(), rule=self.shelter_rule)
            vehicles.dest[unset] = chosen
        return vehicles

    def _od_vehicles(self) -> Vehicles:
        """OD trips, evenly spread over their windows, with their destinations."""
        names = [d.name for d in self.destinations]
        parts = []
        for i, flow in enumerate(self.config.od):
            count = int(round(float(flow.vehicles)))
            start, end = float(flow.start), float(flow.end)
            origin = self.snapped.od_origins[i]
            depart = start + (np.arange(count) + 0.5) * (end - start) / max(count, 1)
            parts.append(Vehicles(np.full(count, origin, np.int64), np.full(count, -1 - i), depart,
                                  np.full(count, names.index(flow.destination))))
        return Vehicles.concat(parts)

    def _capacities(self) -> np.ndarray:
        return np.array([d.capacity_veh for d in self.destinations])

    def _informed(self) -> tuple[float, float | None]:
        """Share of informed drivers and how often their app re-plans (None: the system's rerouting)."""
        if self.inform is not None:
            return float(self.inform.share), float(self.inform.replan_every)
        if self.behaviour is not None:
            drivers = self.behaviour.informed_drivers
            return float(drivers.share), None if drivers.replan_every is None else float(drivers.replan_every)
        return 1.0, None

    # ----------------------------------------------------------------------------- start --
    def start(self) -> None:
        config, world = self.config, self.world
        in_zone = np.zeros(self.net.n_nodes, bool) if config.zones else np.ones(self.net.n_nodes, bool)
        for nodes in self.zone_nodes:
            in_zone[nodes] = True
        engine = self._engine(in_zone)
        engine.replan(congested=False)
        self.engine = engine
        model = world.agents.model
        self.agents = mesa.agent.AgentSet([], random=model.random)
        if self.behaviour is None:
            self._add_platoons(form_platoons(self._vehicles(engine.time_to_h), config.platoon_size))
        if self.state is not None:
            self._apply_state(self.state)
        self.shelter_agents = [world.agents.add_facility(
            name=d.name, kind="shelter", state=d,
            location=(float(self.net.lat[d.node]), float(self.net.lon[d.node]))) for d in self.destinations]
        for lever in self.contraflows:
            self._schedule(self._contraflow_effect(lever, engine.time_to_h), float(lever.start),
                           world.horizon_h)
        self._publish_access()
        for place in self.casualties:
            world.services.publish(f"{self.name}.casualties.{place}", 0.0)
        world.env.process(self._drive(float(config.tick)))
        if self.reroute_every_h is not None:
            world.env.process(self._reroute(self.reroute_every_h))
        if self.behaviour is not None:
            share, _ = self._informed()
            self.evacuees = Evacuees(self, self.behaviour, informed_share=share, add_platoons=self._add_platoons)
            self.evacuees.start(engine.time_to_h, self._capacities(), self._od_vehicles())

    def _engine(self, in_zone: np.ndarray) -> TrafficEngine:
        """The traffic engine; with uninformed drivers under rerouting, one that routes them on
        free-flow trees."""
        config, streams = self.config, self.world.streams
        share, every = self._informed()
        if every is not None:
            self.reroute_every_h = every
        options: dict[str, Any] = dict(
            reroute_every_h=self.reroute_every_h, in_zone=in_zone, route_noise=config.route_noise,
            rng=streams.get(self.name, "routes"), inflow_factor=config.inflow_capacity_factor,
            backward_wave=config.backward_wave, route_sets=config.route_sets)
        if share < 1.0 and self.reroute_every_h is not None:
            return MixedRoutingEngine(self.net, self.destinations, free_rng=streams.get(self.name, "free_routes"),
                                      **options)
        return TrafficEngine(self.net, self.destinations, **options)

    def _add_platoons(self, platoons: dict[str, np.ndarray]) -> None:
        """Put platoons on the roads (departing at their times) and record them as Mesa agents."""
        engine = self.engine
        assert engine is not None
        start = len(engine.size)
        if isinstance(engine, MixedRoutingEngine):
            engine.add_platoons(platoons["origin"], platoons["dest"], platoons["depart_h"], platoons["size"],
                                informed=platoons.get("informed"))
        else:
            engine.add_platoons(platoons["origin"], platoons["dest"], platoons["depart_h"], platoons["size"])
        zone_names = [z.name for z in self.config.zones]
        self.platoon_zone += [(zone_names[z] if z < len(zone_names) else SHADOW) if z >= 0 else f"od{-1 - z}"
                              for z in platoons["zone"].tolist()]
        model = self.world.agents.model
        for i in range(start, len(engine.size)):
            self.agents.add(Platoon(model, index=i, engine=engine, zone=self.platoon_zone[i]))  # type: ignore[union-attr]

    def _drive(self, tick_h: float):
        """Advance the engine with the World's clock, one tick (simulated hours) at a time; publish
        the named places' travel times (queues change them) and the injured every tick."""
        rate = float(self.config.casualties_per_1000_veh_h) / 1000.0
        rng = self.world.streams.get(self.name, "casualties") if rate > 0 and self.casualties else None
        engine = self.engine
        assert engine is not None  # start() built it
        while True:
            engine.advance_to(self.world.now)
            if self.snapped.places and self.world.now > 0:
                self._publish_access()
            if rng is not None:
                self._injure(rng, rate * tick_h)
            yield self.world.env.timeout(tick_h)

    def _injure(self, rng: np.random.Generator, per_vehicle: float) -> None:
        """Injuries on hazardous links (wet or flooded roads, dark signals) in the last tick: Poisson
        in the vehicles on them; each injured goes to the nearest reachable casualty place."""
        engine = self.engine
        assert engine is not None
        hazard = (engine.speed_factor < 1.0) | (engine.cap_factor < 1.0)
        on = np.asarray(engine.occ) * hazard
        count = int(rng.poisson(per_vehicle * on.sum())) if on.sum() > 0 else 0
        if count == 0:
            return
        links = rng.choice(self.net.n_links, size=count, p=on / on.sum())
        names = list(self.casualties)
        nodes = [self.snapped.places[p] for p in names]
        time_h = self.net.times_to(nodes, engine.current_cost_h(), engine.is_open)
        for link in links.tolist():
            times = time_h[:, self.net.v[link]]
            if not np.isfinite(times).any():
                self.casualties_unreached += 1
                continue
            self.casualties[names[int(np.argmin(times))]] += 1
        for place, total in self.casualties.items():
            self.world.services.publish(f"{self.name}.casualties.{place}", float(total))
        self.world.cascade.outcome(self.name, "injured", float(count))

    def _reroute(self, every_h: float):
        """Re-plan every vehicle's route on current travel times every ``every_h`` hours."""
        engine = self.engine
        assert engine is not None  # start() built it
        while True:
            yield self.world.env.timeout(every_h)
            engine.advance_to(self.world.now)
            engine.replan(congested=True, all_sets=False)
            self._publish_access()

    # --------------------------------------------------------------------------- results --
    def finish(self) -> TrafficEngine:
        """The engine advanced to the end of the run."""
        assert self.engine is not None, "start() first"
        self.engine.advance_to(self.world.horizon_h)
        return self.engine

    def kpis(self) -> dict[str, float]:
        engine = self.finish()
        shadow = np.array([zone == SHADOW for zone in self.platoon_zone], bool)
        kpis = compute_kpis(engine, horizon_h=self.world.horizon_h,
                            deadline_h=float(self.config.deadline),
                            since_h=self.world.warmup_h, evacuees=~shadow if shadow.any() else None)
        kpis["casualties"] = float(sum(self.casualties.values()) + self.casualties_unreached)
        kpis.update(self.evacuees.kpis(self.world.horizon_h) if self.evacuees is not None else self._rule_kpis())
        return kpis

    def _rule_kpis(self) -> dict[str, float]:
        """The households KPIs of the rule-based model: every household hears the plan at the first
        order and leaves on the curve after its zone's turn; those whose departure falls after the
        horizon are left behind (the zone's households in proportion to its late vehicles)."""
        engine = self.engine
        assert engine is not None
        zone_names = [z.name for z in self.config.zones]
        if not zone_names:
            return {"households_left_behind": 0.0, "warned90_h": 0.0}
        zone_of = np.array(self.platoon_zone, dtype=object)
        size, depart = np.asarray(engine.size), np.asarray(engine.depart_h)
        left_behind = 0.0
        for zone, nodes in zip(self.config.zones, self.zone_nodes):
            households = (float(zone.households) if zone.households is not None
                          else float(zone.households_per_node) * nodes.size)  # type: ignore[arg-type]
            mine = zone_of == zone.name
            vehicles = float(size[mine].sum())
            if vehicles > 0:
                left_behind += households * float(size[mine & (depart > self.world.horizon_h)].sum()) / vehicles
        first_order = min(self.stage_delay_h.get(name, 0.0) for name in zone_names)
        return {"households_left_behind": float(round(left_behind)), "warned90_h": float(first_order)}

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
        found = {"platoons": platoons, "shelters": shelters}
        if self.evacuees is not None:
            found.update(self.evacuees.tables(self.net.node_ids, self.world.horizon_h))
        return found

    def travel_time_matrix(self, places: Mapping[str, Any] | Sequence[str] | None = None, *,
                           congested: bool = True) -> pd.DataFrame:
        """Minutes between named places under the network's state now (see :mod:`.travel_times`)."""
        from twinworld.systems.traffic.travel_times import travel_time_matrix

        return travel_time_matrix(self, places, congested=congested)


def _capacity(config: RoadNetworkConfig, name: str) -> float:
    """A destination's capacity in vehicles: its shelter's (resolved), or unlimited."""
    shelter = next((s for s in config.shelters if s.name == name), None)
    if shelter is None or shelter.capacity_veh is None:
        return float("inf")
    return float(shelter.capacity_veh)
