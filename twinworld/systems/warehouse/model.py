"""A supply network on the World's clock: customers order, warehouses fulfil and replenish,
shipments move hop by hop over lanes and through ports, and nothing passes a closed element.

Verbs: :meth:`SupplyNetwork.order` (a customer or warehouse asks for units),
:meth:`~SupplyNetwork.fulfil` (a warehouse takes stock for an order, backorders or loses the rest),
:meth:`~SupplyNetwork.ship` (a SimPy process moving a shipment along its path) and
:meth:`~SupplyNetwork.receive` (a warehouse books an arriving shipment and serves its backorders).

Customer orders are drawn up front from named streams (Poisson by thinning, with demand spikes),
so every strategy run on one seed sees the same demand. Transit times are drawn per shipment and
leg from per-lane streams.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np
import pandas as pd

import simpy

from twinworld.systems.base import DisruptionConfig, StrategyConfig, System, target_element
from twinworld.systems.warehouse.config import SupplyNetworkConfig
from twinworld.systems.warehouse.disruptions import (CapacityLoss, DemandSpike, LaneClosure,
                                                     PortClosure, SupplierFailure)
from twinworld.systems.warehouse.network import Outages, build_graph, route, route_hours
from twinworld.systems.warehouse.results import network_kpis
from twinworld.systems.warehouse.state import InboundShipment, SupplyNetworkState, WarehouseState
from twinworld.systems.warehouse.stock import Order, Shipment, Warehouse, draw_lead_time_h
from twinworld.systems.warehouse.strategies import (DualSourcing, Expedite, PriorityAllocation,
                                                    Reroute, SafetyStock)

if TYPE_CHECKING:
    from twinworld.core.world import World

__all__ = ["SupplyNetwork", "STREAMS"]

#: A shortage up to a week after a closure ends is still its doing (the backlog clears slowly).
_BACKLOG_LINGER_H = 168.0

#: The network's random streams (after its system name): customer orders, lane transit times.
STREAMS = ("demand", "lead_time")


class SupplyNetwork(System):
    """The ``supply_network`` system."""

    kind = "supply_network"

    def __init__(self, world: "World", name: str, config: SupplyNetworkConfig) -> None:
        super().__init__(world, name, config)
        self.config: SupplyNetworkConfig = config
        self.env = world.env
        self.graph = build_graph(config)
        self.roles = config.roles()
        self.lanes = {lane.label: lane for lane in config.lanes}
        self.road_lanes = {(lane.origin, lane.destination): lane.label for lane in config.lanes
                           if lane.mode == "road"}
        self.lane_of = {(u, v): d["label"] for u, v, d in self.graph.edges(data=True)}
        self.ports = {p.name: p for p in config.ports}
        self.suppliers = {s.name: s for s in config.suppliers}
        self.warehouses = {w.name: Warehouse(w) for w in config.warehouses}
        self.customers = {c.name: c for c in config.customers}
        self.serving = {c.name: self._serving_warehouse(c.name, c.served_by) for c in config.customers}
        self.outages = Outages()
        self.disruption_windows: list[tuple[float, float]] = []
        self.spikes: list[tuple[float, float, float, set[str]]] = []
        self.free_at: dict[str, float] = {}
        self.planned: dict[tuple[str, str], list[str] | None] = {}
        self._direct: dict[tuple[str, str], bool] = {}
        self._lead: dict[str, tuple[Any, np.random.Generator | None]] = {}
        self.reroute: Reroute | None = None
        self.expedite: Expedite | None = None
        self.dual: DualSourcing | None = None
        self.priority: PriorityAllocation | None = None
        self.safety: list[SafetyStock] = []
        self.live: dict[int, Shipment] = {}
        self.inbound: dict[int, Shipment] = {}      # to a warehouse, from order to arrival
        self.moves: list[tuple[int, str, float, float]] = []
        self.departures: list[tuple[int, str, float, bool]] = []
        self.lead_times: list[float] = []
        self.history: list[tuple[float, str, int, int, int]] = []
        self.shortages: list[float] = []
        self.cleared: list[float] = []
        self.counts = dict.fromkeys((
            "demand_units", "filled_units", "backordered_units", "lost_units", "critical_demand_units",
            "critical_filled_units", "dispatched_units", "delivered_units", "rerouted", "shipments",
            "transport_cost", "expediting_cost", "weighted_short_units"), 0.0)
        self._ids = 0
        self._customer_backlog = 0
        self.count_from_h = float(config.warmup)    # customer orders before this are not counted
        self.state: SupplyNetworkState | None = None
        self.cold_storage_loss: dict[str, dict[str, float]] = {w: {} for w in self.warehouses}
        self.closed_since: dict[str, float] = {}       # element -> start of its open-ended closure
        self.reopened: dict[str, simpy.Event] = {}     # woken when that closure ends
        self.capacity_loss: dict[str, float] = {}      # element -> share lost by a coupling
        self.port_delay_h: dict[str, float] = {}       # supply port -> anchorage wait fed by a port
        self.road_h: dict[str, float] = {}             # road lane -> hours the road system says
        self.counts["spoiled_units"] = 0.0
        rec = world.recorder
        self.stock_probes = {w: rec.probe(f"{name}.{w}.on_hand", initial=wh.on_hand)
                             for w, wh in self.warehouses.items()}
        self.backlog_probe = rec.probe(f"{name}.backorders")
        for customer in config.customers:
            rate = float(customer.demand_per_day) * customer.units_per_order
            self.warehouses[self.serving[customer.name]].demand_per_day += rate

    def _serving_warehouse(self, customer: str, served_by: str | None) -> str:
        if served_by is not None:
            return served_by
        feeders = [(d["mean_h"], u) for u, _, d in self.graph.in_edges(customer, data=True)
                   if self.roles[u] == "warehouse"]
        return min(feeders)[1]

    # ---------------------------------------------------------------- disruptions, strategies --
    def disrupt(self, disruption: DisruptionConfig) -> None:
        start, end = disruption.window(self.world.horizon_h)
        element = target_element(disruption.target)
        if isinstance(disruption, (PortClosure, SupplierFailure, LaneClosure)):
            self.outages.close(str(element), start, end)
        elif isinstance(disruption, CapacityLoss):
            self.outages.lose(str(element), start, end, float(disruption.share))
        elif isinstance(disruption, DemandSpike):
            self.spikes.append((start, end, float(disruption.multiplier), self._spiked(element)))
        else:
            super().disrupt(disruption)
        self.disruption_windows.append((start, end))
        self.world.at(start, lambda: self.world.recorder.event(disruption.kind, f"{disruption.target} begins"))

    def _spiked(self, element: str | None) -> set[str]:
        if element is None:
            return set(self.customers)
        if self.roles.get(element) == "warehouse":
            return {c for c, w in self.serving.items() if w == element}
        return {element}

    def respond(self, strategy: StrategyConfig) -> None:
        if isinstance(strategy, Reroute):
            self.reroute = strategy
        elif isinstance(strategy, Expedite):
            self.expedite = strategy
        elif isinstance(strategy, DualSourcing):
            self.dual = strategy
        elif isinstance(strategy, PriorityAllocation):
            self.priority = strategy
        elif isinstance(strategy, SafetyStock):
            self.safety.append(strategy)
        else:
            super().respond(strategy)

    def _apply_levers(self) -> None:
        for plan in self.safety:
            for wh in self.warehouses.values():
                if plan.warehouses is None or wh.name in plan.warehouses:
                    wh.raise_levels(float(plan.extra_days) * wh.demand_per_day)
        if self.priority is not None:
            for wh in self.warehouses.values():
                wh.reserve_units = float(self.priority.reserve_share) * max(wh.s, 0.0)

    # --------------------------------------------------------------- couplings, live state --
    def degrade(self, element: str | None, share_lost: float, *, cause: str, kind: str = "power") -> None:
        """A coupled provider failed: a warehouse loses cold storage (``power``); a port (or lane)
        loses its capacity, closing when all of it is gone (``port_supply``: the port it stands
        for is closed)."""
        if kind == "power":
            self._cold_storage(self.warehouses[str(element)], share_lost, cause)
            return
        self._capacity(str(element), share_lost)

    def _cold_storage(self, wh: Warehouse, share_lost: float, cause: str) -> None:
        """The warehouse can hold only ``1 - share`` of its order-up-to level: stock above that
        spoils at once (``spoiled_units``); its policy orders up to the lower level until power is
        back."""
        losses = self.cold_storage_loss[wh.name]
        if share_lost > 0:
            losses[cause] = share_lost
        else:
            losses.pop(cause, None)
        keep = 1.0 - min(1.0, sum(losses.values()))
        wh.storage_factor = keep
        limit = int(math.floor(keep * max(wh.S, 0.0)))
        if wh.on_hand > limit:
            spoiled = wh.on_hand - limit
            wh.on_hand = limit
            wh.spoiled += spoiled
            self.counts["spoiled_units"] += spoiled
            self._stock_changed(wh)
            self.world.recorder.event("stock_spoiled", f"{self.name}.{wh.name} -{spoiled} units ({cause})")
        self._review(wh)

    def _capacity(self, element: str, share_lost: float) -> None:
        now = self.env.now
        closing = share_lost >= 1.0 - 1e-9
        if closing and element not in self.closed_since:
            self.closed_since[element] = now
            self.outages.close_from(element, now)
            self.reopened[element] = self.env.event()
            self.world.recorder.event("closed_by_coupling", f"{self.name}.{element}")
        elif not closing and element in self.closed_since:
            self.outages.reopen(element, self.closed_since.pop(element), now)
            self.reopened.pop(element).succeed()
            self.world.recorder.event("reopened_by_coupling", f"{self.name}.{element}")
        self.capacity_loss[element] = 0.0 if closing else share_lost

    def _until_open(self, element: str) -> simpy.Event:
        """An event at the moment ``element`` reopens (a timeout, or the end of an open closure)."""
        reopens = self.outages.reopens_at(element, self.env.now)
        if math.isinf(reopens) and element in self.reopened:
            return self.reopened[element]
        return self.env.timeout(reopens - self.env.now)

    def feed(self, kind: str, provider_elements: tuple[str, ...], value: float, *, element: str | None,
             cause: int | None) -> None:
        """A port's expected anchorage wait (``port_supply``: added to the supply port's handling)
        or a road travel time between two places (``road_travel``: road lanes between them take it;
        an unreachable pair closes the lane until a route opens)."""
        if kind == "port_supply" and element is not None:
            self.port_delay_h[element] = max(0.0, value)
        elif kind == "road_travel" and len(provider_elements) == 2:
            label = self.road_lanes.get(provider_elements)
            if label is None:
                return
            self.road_h[label] = value / 60.0
            self._capacity(label, 1.0 if math.isinf(value) else 0.0)
        else:
            super().feed(kind, provider_elements, value, element=element, cause=cause)

    def warm_start(self, state: SupplyNetworkState) -> None:  # type: ignore[override]
        """Start from observed stock, backorders and inbound shipments of the warehouses named."""
        unknown = sorted(set(state.warehouses) - set(self.warehouses))
        if unknown:
            raise ValueError(f"state names warehouse(s) {', '.join(unknown)} that {self.name!r} does not have")
        self.state = state
        for name, observed in state.warehouses.items():
            wh = self.warehouses[name]
            wh.on_hand = wh.initial = observed.on_hand

    def observe(self) -> SupplyNetworkState:
        """Stock, customer backorders and expected arrivals of replenishment, per warehouse, now."""
        now = self.env.now
        inbound: dict[str, list[InboundShipment]] = {w: [] for w in self.warehouses}
        for shipment in self.inbound.values():
            if shipment.units > 0:
                inbound[shipment.destination].append(InboundShipment(
                    units=shipment.units, arrives_in_h=max(0.0, self._eta_h(shipment) - now)))
        return SupplyNetworkState(warehouses={
            name: WarehouseState(on_hand=max(0, wh.on_hand), backordered=self._customer_units_waiting(wh),
                                 in_transit=sorted(inbound[name], key=lambda s: s.arrives_in_h))
            for name, wh in self.warehouses.items()})

    def _customer_units_waiting(self, wh: Warehouse) -> int:
        return sum(order.open_units for order in wh.waiting() if order.is_customer)

    def _eta_h(self, shipment: Shipment) -> float:
        """When a shipment is expected: its known arrival, else the end of its current lane (or
        now) plus the mean transit time of the lanes after it."""
        if shipment.eta_h is not None:
            return shipment.eta_h
        labels = [self.lane_of[a, b] for a, b in zip(shipment.path, shipment.path[1:])]
        start = shipment.leg_end_h if shipment.leg_end_h is not None else self.env.now
        later = labels[shipment.leg + (1 if shipment.leg_end_h is not None else 0):]
        return start + sum(float(self.lanes[label].lead_time.mean) * shipment.factor for label in later)

    def _apply_state(self, state: SupplyNetworkState) -> None:
        """Inbound shipments and backorders of the observed state, at time 0."""
        for name, observed in state.warehouses.items():
            wh = self.warehouses[name]
            for inbound in observed.in_transit:
                shipment = self._new_shipment(inbound.units, [wh.sources[0], name])
                wh.on_order += inbound.units
                self._dispatch(shipment)
                shipment.eta_h = inbound.arrives_in_h
                self.env.timeout(inbound.arrives_in_h).callbacks.append(lambda _e, s=shipment: self._arrive(s))
            if observed.backordered:
                customer = next((c for c, w in self.serving.items() if w == name), None)
                if customer is None:
                    raise ValueError(f"warehouse {name!r} serves no customer, so it cannot have backorders")
                spec = self.customers[customer]
                order = Order(customer, observed.backordered, 0.0, critical=spec.critical, counted=False)
                wh.queue(order, by_priority=self.priority is not None)
                self._customer_backlog_changed(observed.backordered)

    def begin_statistics(self) -> None:
        """The warm-up is over: customer orders from now on count, costs start from zero."""
        self.count_from_h = max(self.count_from_h, self.env.now)
        for key in ("transport_cost", "expediting_cost", "rerouted", "spoiled_units"):
            self.counts[key] = 0.0

    # ------------------------------------------------------------------------------ start --
    def start(self) -> None:
        self._apply_levers()
        if self.state is not None:
            self._apply_state(self.state)
        for customer in self.customers.values():
            times = self._order_times(customer.name)
            if times.size:
                self.env.process(self._demand(customer.name, times))
        for wh in self.warehouses.values():
            self._stock_changed(wh)
            if self.state is None or wh.name not in self.state.warehouses:
                self._seed_pipeline(wh)
            if wh.periodic_h is not None:
                self.env.process(self._periodic_review(wh))
            else:
                self._review(wh)
        self.env.process(self._snapshot(24.0))

    def _snapshot(self, every_h: float) -> Iterator:
        """Process: record each warehouse's stock, pipeline and backorders every ``every_h`` hours."""
        while True:
            for wh in self.warehouses.values():
                self.history.append((self.env.now, wh.name, wh.on_hand, wh.on_order, wh.backlog_units))
            yield self.env.timeout(every_h)

    def _seed_pipeline(self, wh: Warehouse) -> None:
        """Put ``in_transit_units`` on the first leg from the primary source, in weekly lots."""
        units = wh.spec.in_transit_units
        if units <= 0:
            return
        path = self._path(wh.sources[0], wh.name)
        first_leg_h = float(self.lanes[self.lane_of[path[0], path[1]]].lead_time.mean)
        lots = max(1, math.ceil(first_leg_h / 168.0))
        for k in range(lots):
            lot = units // lots + (1 if k < units % lots else 0)
            if lot > 0:
                wh.on_order += lot
                shipment = self._new_shipment(lot, path)
                self.env.process(self.ship(shipment, first_leg_h=(k + 0.5) / lots * first_leg_h))

    def _stream(self, *names: str) -> np.random.Generator:
        return self.world.streams.get(self.name, *names)

    def _order_times(self, customer: str) -> np.ndarray:
        """Order times of one customer: a Poisson process thinned by the demand spikes."""
        horizon = self.world.horizon_h
        base_per_h = float(self.customers[customer].demand_per_day) / 24.0
        spikes = [(s, e, m) for s, e, m, who in self.spikes if customer in who]
        peak = base_per_h * math.prod(max(1.0, m) for _, _, m in spikes)
        rng = self._stream("demand", customer)
        count = int(rng.poisson(peak * horizon)) if peak > 0 else 0
        times = np.sort(rng.uniform(0.0, horizon, count))
        if not spikes:
            return times
        factor = np.ones(count)
        for s, e, m in spikes:
            factor[(times >= s) & (times < e)] *= m
        return times[rng.random(count) * peak < base_per_h * factor]

    def _demand(self, customer: str, times: np.ndarray) -> Iterator:
        """Process: the customer's orders at their pre-drawn times (simulated hours pass)."""
        env = self.env
        spec = self.customers[customer]
        for t in times.tolist():
            yield env.timeout(t - env.now)
            self.order(Order(customer, spec.units_per_order, t, critical=spec.critical,
                             counted=t >= self.count_from_h), self.serving[customer])

    def _periodic_review(self, wh: Warehouse) -> Iterator:
        """Process: every R hours, order up to S."""
        while True:
            self.replenish(wh, wh.periodic_quantity())
            yield self.env.timeout(float(wh.periodic_h))  # type: ignore[arg-type]

    # ---------------------------------------------------------------------------- verbs --
    def order(self, order: Order, seller: str) -> None:
        """A buyer asks warehouse ``seller`` for units; customer demand is counted here."""
        if order.is_customer and order.counted:
            self.counts["demand_units"] += order.units
            if order.critical:
                self.counts["critical_demand_units"] += order.units
        self.fulfil(self.warehouses[seller], order)
        self._review(self.warehouses[seller])

    def fulfil(self, wh: Warehouse, order: Order) -> None:
        """Take what stock allows for a new order and send it; backorder or lose the rest."""
        taken = self._take(wh, order)
        if order.is_customer and order.counted:
            self.counts["filled_units"] += taken
            if order.critical:
                self.counts["critical_filled_units"] += taken
        if order.open_units == 0:
            return
        short = order.open_units
        if order.is_customer:
            if order.counted:
                self.counts["weighted_short_units"] += short * (
                    self.config.critical_cost_factor if order.critical else 1.0)
                self.world.cascade.outcome(self.name, "units_short", short, element=wh.name, anywhere=True,
                                           lingering_h=_BACKLOG_LINGER_H)
            self.shortages.append(self.env.now)
        if order.is_customer and self.config.unmet_demand == "lost_sales":
            order.open_units = 0
            order.undelivered -= short
            if order.counted:
                self.counts["lost_units"] += short
            self._maybe_done(order)
            return
        if order.is_customer and order.counted:
            self.counts["backordered_units"] += short
        wh.queue(order, by_priority=self.priority is not None)
        if order.is_customer:
            self._customer_backlog_changed(short)

    def _take(self, wh: Warehouse, order: Order) -> int:
        units = min(order.open_units, wh.available_for(order))
        if units <= 0:
            return 0
        wh.on_hand -= units
        wh.shipped += units
        order.open_units -= units
        self._stock_changed(wh)
        self._send(wh.name, order, units)
        return units

    def _send(self, seller: str, order: Order, units: int) -> None:
        direct = self._direct.get((seller, order.buyer))
        if direct is None:
            direct = self._direct[seller, order.buyer] = self._is_direct(seller, order.buyer)
        if not direct:
            self.env.process(self.ship(self._new_shipment(units, self._path(seller, order.buyer), order=order)))
            return
        # the common case, a direct lane that never closes and has no capacity limit: no SimPy process
        label = self.lane_of[seller, order.buyer]
        shipment = self._new_shipment(units, [seller, order.buyer], order=order)
        self._dispatch(shipment)
        self._depart(shipment, seller, label)
        hours = self._leg_hours(shipment, label)
        if hours <= 0:
            self._arrive(shipment)
            return
        now = self.env.now
        shipment.eta_h = now + hours
        self.moves.append((shipment.id, label, now, now + hours))
        self.env.timeout(hours).callbacks.append(lambda _e, s=shipment: self._arrive(s))

    def _is_direct(self, seller: str, buyer: str) -> bool:
        path = self._path(seller, buyer)
        if len(path) != 2:
            return False
        label = self.lane_of[seller, buyer]
        return not self.outages.has_any((label, seller)) and self.lanes[label].capacity_units_per_day is None

    def receive(self, wh: Warehouse, shipment: Shipment) -> None:
        """Book an arriving shipment, serve waiting orders, and review the policy."""
        wh.on_hand += shipment.units
        wh.on_order -= shipment.units
        wh.received += shipment.units
        self._stock_changed(wh)
        for order in wh.waiting():
            if wh.on_hand <= 0:
                break
            filled = self._take(wh, order)
            wh.backlog_units -= filled
            if order.is_customer and filled:
                self._customer_backlog_changed(-filled)
        wh.drop_filled()
        self._review(wh)

    def _stock_changed(self, wh: Warehouse) -> None:
        """Record the new stock level; publish ``stock.<warehouse>`` and ``available.<warehouse>``."""
        self.stock_probes[wh.name].update(self.env.now, wh.on_hand)
        publish = self.world.services.publish
        publish(f"{self.name}.stock.{wh.name}", float(wh.on_hand))
        in_stock = wh.on_hand > 0
        if in_stock is not wh.in_stock:
            wh.in_stock = in_stock
            publish(f"{self.name}.available.{wh.name}", 1.0 if in_stock else 0.0)

    def _customer_backlog_changed(self, change: int) -> None:
        self._customer_backlog += change
        self.backlog_probe.update(self.env.now, self._customer_backlog)
        if self._customer_backlog == 0:
            self.cleared.append(self.env.now)

    # ----------------------------------------------------------------------- replenishment --
    def _review(self, wh: Warehouse) -> None:
        quantity = wh.order_quantity()
        if quantity > 0:
            self.replenish(wh, quantity)

    def replenish(self, wh: Warehouse, quantity: int) -> None:
        """Order ``quantity`` units for ``wh`` from its sources (split under dual sourcing)."""
        if quantity <= 0:
            return
        factor = self._expedite_factor(wh)
        for source, units in self._split(wh, quantity):
            if units <= 0:
                continue
            wh.on_order += units
            if self.roles[source] == "supplier":
                shipment = self._new_shipment(units, self._path(source, wh.name), factor=factor)
                if factor < 1.0:
                    self.counts["expediting_cost"] += units * float(self.expedite.extra_cost_per_unit)  # type: ignore[union-attr]
                self.env.process(self.ship(shipment))
            else:
                self.order(Order(wh.name, units, self.env.now, is_customer=False), source)

    def _expedite_factor(self, wh: Warehouse) -> float:
        plan = self.expedite
        if plan is None or (plan.warehouses is not None and wh.name not in plan.warehouses):
            return 1.0
        if plan.when == "short" and not wh.is_short():
            return 1.0
        return float(plan.lead_time_factor)

    def _split(self, wh: Warehouse, quantity: int) -> list[tuple[str, int]]:
        plan = self.dual
        sources = wh.sources
        if plan is None or len(sources) < 2 or (plan.warehouses is not None and wh.name not in plan.warehouses):
            return [(sources[0], quantity)]
        first, second = sources[0], sources[1]
        if plan.switch_when_unavailable:
            up = {s: self._is_available(s, wh.name) for s in (first, second)}
            if up[first] != up[second]:
                return [(first if up[first] else second, quantity)]
        units_second = int(round(quantity * float(plan.secondary_share)))
        return [(first, quantity - units_second), (second, units_second)]

    def _is_available(self, source: str, destination: str) -> bool:
        """Is ``source`` open now with an open route to ``destination``?"""
        now = self.env.now
        if not self.outages.is_open(source, now):
            return False
        path = self._path(source, destination)
        return self._first_closed(path, now) is None

    # ---------------------------------------------------------------------------- routes --
    def _path(self, origin: str, destination: str) -> list[str]:
        """The planned (fastest) path; shipments re-plan on the way under ``reroute``."""
        key = (origin, destination)
        if key not in self.planned:
            self.planned[key] = route(self.graph, origin, destination)
        planned = self.planned[key]
        if planned is None:
            raise RuntimeError(f"no route from {origin} to {destination}")  # check() rules this out
        return planned

    def _first_closed(self, path: list[str], t: float, within_h: float = math.inf) -> str | None:
        """The first closed lane or intermediate node on ``path`` (its origin excluded) that a
        shipment leaving now would reach within ``within_h`` hours (by mean transit times)."""
        reached_h = 0.0
        for u, v in zip(path, path[1:]):
            label = self.lane_of[u, v]
            if not self.outages.is_open(label, t):
                return label
            reached_h += self.graph.edges[u, v]["mean_h"]
            if reached_h > within_h:
                return None
            if v != path[-1] and not self.outages.is_open(v, t):
                return v
        return None

    def _open_route(self, origin: str, destination: str, planned: list[str],
                    first_mode: str | None = None) -> list[str] | None:
        now = self.env.now
        found = route(self.graph, origin, destination, first_mode=first_mode,
                      is_open=lambda e: self.outages.is_open(e, now) or e == origin,
                      extra_h=lambda u, v: self._backlog_h(self.lane_of[u, v]) + self._backlog_h(v))
        limit = self.reroute.max_extra_time if self.reroute is not None else None
        if found is not None and limit is not None and \
                route_hours(self.graph, found) > route_hours(self.graph, planned) + float(limit):
            return None
        return found

    def _backlog_h(self, element: str) -> float:
        return max(0.0, self.free_at.get(element, 0.0) - self.env.now)

    def _new_shipment(self, units: int, path: list[str], *, order: Order | None = None,
                      factor: float = 1.0) -> Shipment:
        self._ids += 1
        self.counts["shipments"] += 1
        shipment = Shipment(self._ids, units, list(path), order=order, factor=factor)
        if self.roles[shipment.destination] == "warehouse":
            self.inbound[shipment.id] = shipment
        return shipment

    # ---------------------------------------------------------------------------- moving --
    def ship(self, shipment: Shipment, *, first_leg_h: float | None = None) -> Iterator:
        """Process: move a shipment node by node to its destination.

        Simulated time passes waiting for a failed supplier or a closed port to reopen, for lane,
        port and supplier capacity, in transit (paused while a lane is closed) and in port handling.
        ``first_leg_h`` starts it already under way, that many hours from the end of its first leg.
        """
        at, i, inside = shipment.origin, 0, first_leg_h is None
        if self.roles[at] == "supplier" and inside:
            yield from self._leave(at, at, shipment.units, self.suppliers[at].capacity_units_per_day)
            if self.reroute is not None:
                self._replan(shipment, 0)
        self._dispatch(shipment)
        while i < len(shipment.path) - 1:
            if self.reroute is not None and (i > 0 or inside):
                self._replan(shipment, i, first_mode=None if inside else "sea")
            nxt = shipment.path[i + 1]
            label = self.lane_of[at, nxt]
            if inside:
                yield from self._leave(at, label, shipment.units, self.lanes[label].capacity_units_per_day)
            self._depart(shipment, at, label, inside)
            hours = first_leg_h if first_leg_h is not None and i == 0 else self._leg_hours(shipment, label)
            shipment.leg, shipment.leg_end_h = i, self.env.now + hours
            yield from self._traverse(shipment, label, hours)
            shipment.leg_end_h = None
            at, i = nxt, i + 1
            inside = True
            if self.roles[at] == "port" and i < len(shipment.path) - 1:
                inside = yield from self._enter_port(shipment, i)
        self._arrive(shipment)

    def _leave(self, node: str, element: str, units: int, capacity_per_day: object) -> Iterator:
        """Wait until ``node`` is open and ``units`` have had their turn on ``element``'s capacity.

        Capacity is booked only while ``element`` is open, so a closure does not eat it.
        """
        env, outages = self.env, self.outages
        booked = capacity_per_day is None
        while True:
            for where in (node, element):
                if not outages.is_open(where, env.now):
                    yield self._until_open(where)
            if not booked:
                booked = True
                ready = self._reserve(element, units, float(capacity_per_day))  # type: ignore[arg-type]
                if ready > env.now:
                    yield env.timeout(ready - env.now)
            if outages.is_open(node, env.now):
                return

    def _reserve(self, element: str, units: int, capacity_per_day: float) -> float:
        """Book ``units`` on an element's FIFO capacity (at its current share); returns when they are through."""
        factor = (self.outages.capacity_factor(element, self.env.now) or 1.0) * (
            1.0 - self.capacity_loss.get(element, 0.0))
        start = max(self.env.now, self.free_at.get(element, 0.0))
        self.free_at[element] = start + units / (capacity_per_day * factor / 24.0)
        return self.free_at[element]

    def _traverse(self, shipment: Shipment, element: str, hours: float) -> Iterator:
        """Spend ``hours`` moving on (or being handled at) ``element``, stopping while it is closed."""
        env, outages = self.env, self.outages
        remaining = hours
        while remaining > 1e-9:
            now = env.now
            if not outages.is_open(element, now):
                yield self._until_open(element)
                continue
            step = min(remaining, outages.next_closure(element, now) - now)
            self.moves.append((shipment.id, element, now, now + step))
            yield env.timeout(step)
            remaining -= step

    def _enter_port(self, shipment: Shipment, i: int) -> Iterator:
        """At a port's anchorage: divert (under reroute) or wait for it to open, then be handled.

        Returns whether the shipment went into the port (False: it sails on from the anchorage).
        """
        port = shipment.path[i]
        env, outages = self.env, self.outages
        if not outages.is_open(port, env.now):
            if self.reroute is not None and self._replan(shipment, i, first_mode="sea", force=True):
                return False
            yield self._until_open(port)
        spec = self.ports[port]
        yield from self._leave(port, port, shipment.units, spec.throughput_units_per_day)
        yield from self._traverse(shipment, port, float(spec.handling_time) + self.port_delay_h.get(port, 0.0))
        return True

    def _replan(self, shipment: Shipment, i: int, *, first_mode: str | None = None,
                force: bool = False) -> bool:
        """Under reroute: take the fastest open route from node ``i`` if the current one is cut."""
        at, remaining = shipment.path[i], shipment.path[i:]
        cut = self._first_closed(remaining, self.env.now, float(self.reroute.lookahead))  # type: ignore[union-attr]
        if cut is None and not force:
            return False
        found = self._open_route(at, shipment.destination, remaining, first_mode=first_mode)
        if found is None or found == remaining:
            return False
        shipment.path = shipment.path[:i] + found
        if not shipment.rerouted:
            shipment.rerouted = True
            self.counts["rerouted"] += 1
            self.world.recorder.event("reroute", f"shipment {shipment.id} at {at} via {'-'.join(found)}")
        return True

    def _leg_hours(self, shipment: Shipment, label: str) -> float:
        lead = self._lead.get(label)
        if lead is None:
            spec = self.lanes[label].lead_time
            fixed = spec.distribution == "fixed" or (float(spec.cv) == 0 and spec.distribution != "exponential")
            lead = self._lead[label] = (float(spec.mean) if fixed else spec,
                                        None if fixed else self._stream("lead_time", label))
        value, rng = lead
        hours = value if rng is None else draw_lead_time_h(value, rng)
        road = self.road_h.get(label)
        if road is not None and math.isfinite(road):
            hours = road              # a truck on the road system's current travel time
        return hours * shipment.factor

    def _dispatch(self, shipment: Shipment) -> None:
        shipment.dispatched = True
        self.live[shipment.id] = shipment
        if self.roles[shipment.origin] == "supplier":
            self.counts["dispatched_units"] += shipment.units

    def _depart(self, shipment: Shipment, node: str, label: str, inside: bool = True) -> None:
        self.departures.append((shipment.id, node, self.env.now, inside))
        self.counts["transport_cost"] += shipment.units * float(self.lanes[label].cost_per_unit)

    def _arrive(self, shipment: Shipment) -> None:
        del self.live[shipment.id]
        self.inbound.pop(shipment.id, None)
        where = shipment.destination
        if self.roles[where] == "warehouse":
            self.receive(self.warehouses[where], shipment)
            return
        order = shipment.order
        self.counts["delivered_units"] += shipment.units
        order.undelivered -= shipment.units  # type: ignore[union-attr]
        self._maybe_done(order, delivered=True)  # type: ignore[arg-type]

    def _maybe_done(self, order: Order, *, delivered: bool = False) -> None:
        if order.undelivered > 0 or order.done:
            return
        order.done = True
        if delivered and order.counted:
            self.lead_times.append(self.env.now - order.placed_h)

    # ------------------------------------------------------------------------------ results --
    def in_transit_units(self) -> int:
        return sum(s.units for s in self.live.values())

    def kpis(self) -> dict[str, float]:
        return network_kpis(self)

    def tables(self) -> dict[str, pd.DataFrame]:
        rows = [{"warehouse": wh.name, "initial": wh.initial, "received": wh.received,
                 "shipped": wh.shipped, "on_hand": wh.on_hand, "on_order": wh.on_order,
                 "backordered": wh.backlog_units, "reorder_point": wh.s, "order_up_to": wh.S,
                 "mean_on_hand": self.stock_probes[wh.name].mean(self.env.now)}
                for wh in self.warehouses.values()]
        moves = pd.DataFrame(self.moves, columns=["shipment", "element", "start_h", "end_h"])
        stock = pd.DataFrame(self.history, columns=["time_h", "warehouse", "on_hand", "on_order", "backordered"])
        return {"warehouses": pd.DataFrame(rows), "movements": moves, "stock": stock}
