"""Plain state of a supply network: orders, shipments and warehouses (no SimPy here)."""

from __future__ import annotations

import math
from collections import deque
from typing import Iterator

import numpy as np

from twinworld.systems.warehouse.config import (BaseStockPolicy, LeadTime, RSPolicy, SSPolicy,
                                                WarehouseSpec)

__all__ = ["Order", "Shipment", "Warehouse", "draw_lead_time_h"]


def draw_lead_time_h(lead: LeadTime, rng: np.random.Generator) -> float:
    """One transit time (hours) from a resolved :class:`LeadTime`."""
    mean, cv = float(lead.mean), float(lead.cv)
    if lead.distribution == "fixed" or mean == 0 or (cv == 0 and lead.distribution != "exponential"):
        return mean
    if lead.distribution == "exponential":
        return float(rng.exponential(mean))
    if lead.distribution == "gamma":
        shape = 1.0 / cv**2
        return float(rng.gamma(shape, mean / shape))
    if lead.distribution == "uniform":
        half = min(mean, math.sqrt(3.0) * cv * mean)
        return float(rng.uniform(mean - half, mean + half))
    sigma2 = math.log1p(cv**2)
    return float(rng.lognormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2)))


class Order:
    """A request for ``units`` from a buyer (customer or warehouse) to a selling warehouse."""

    __slots__ = ("buyer", "units", "placed_h", "critical", "is_customer", "open_units",
                 "undelivered", "counted", "done")

    def __init__(self, buyer: str, units: int, placed_h: float, *, critical: bool = False,
                 is_customer: bool = True, counted: bool = True) -> None:
        self.buyer = buyer
        self.units = units
        self.placed_h = placed_h
        self.critical = critical
        self.is_customer = is_customer
        self.open_units = units      # not yet taken from stock
        self.undelivered = units     # not yet at the buyer (lost units are written off here too)
        self.counted = counted       # placed after the warm-up
        self.done = False


class Shipment:
    """Units moving from one node to another along a path of lanes."""

    __slots__ = ("id", "units", "path", "order", "factor", "rerouted", "dispatched", "leg", "leg_end_h",
                 "eta_h")

    def __init__(self, ident: int, units: int, path: list[str], *, order: Order | None = None,
                 factor: float = 1.0) -> None:
        self.id = ident
        self.units = units
        self.path = path
        self.order = order
        self.factor = factor
        self.rerouted = False
        self.dispatched = False
        self.leg = 0                        # index of the lane it is on (or about to take)
        self.leg_end_h: float | None = None  # expected end of that lane, once under way
        self.eta_h: float | None = None      # known arrival (direct shipments, warm starts)

    @property
    def origin(self) -> str:
        return self.path[0]

    @property
    def destination(self) -> str:
        return self.path[-1]


class Warehouse:
    """Stock, open orders and the inventory policy of one warehouse."""

    def __init__(self, spec: WarehouseSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self.sources = list(spec.sources)
        policy = spec.policy
        self.periodic_h: float | None = None
        if isinstance(policy, SSPolicy):
            self.s, self.S = float(policy.reorder_point_units), float(policy.order_up_to_units)
        elif isinstance(policy, RSPolicy):
            self.s, self.S = -math.inf, float(policy.order_up_to_units)
            self.periodic_h = float(policy.review_every)
        elif isinstance(policy, BaseStockPolicy):
            level = float(policy.base_stock_units)
            self.s, self.S = level - 1e-9, level
        initial = spec.initial_units
        self.on_hand = int(round(float(initial))) if initial is not None else int(math.floor(self.S))
        self.initial = self.on_hand
        self.on_order = 0
        self.backlog: deque[Order] = deque()
        self.critical_backlog: deque[Order] = deque()
        self.backlog_units = 0
        self.received = 0
        self.shipped = 0
        self.spoiled = 0                   # lost when cold storage lost power
        self.demand_per_day = 0.0
        self.reserve_units = 0.0
        self.in_stock: bool | None = None  # last published availability
        self.storage_factor = 1.0          # share of the order-up-to level it can hold (cold storage)

    @property
    def position(self) -> int:
        """Inventory position: on hand + on order - backordered."""
        return self.on_hand + self.on_order - self.backlog_units

    def raise_levels(self, extra_units: float) -> None:
        """Add safety stock: reorder point and order-up-to level both go up."""
        self.s += extra_units
        self.S += extra_units

    def order_quantity(self) -> int:
        """Units to order now under continuous review (0 if the position is above ``s``)."""
        if self.periodic_h is not None or self.position > self.s * self.storage_factor:
            return 0
        return max(0, math.ceil(self.S * self.storage_factor - self.position - 1e-9))

    def periodic_quantity(self) -> int:
        return max(0, math.ceil(self.S * self.storage_factor - self.position - 1e-9))

    def is_short(self) -> bool:
        """Backorders are open, or stock is below half the reorder point (eating safety stock)."""
        return self.backlog_units > 0 or self.on_hand < 0.5 * max(self.s, 0.0)

    def available_for(self, order: Order) -> int:
        """Stock this order may take (non-critical customers leave the reserve alone)."""
        reserve = 0 if order.critical else self.reserve_units
        return max(0, self.on_hand - int(math.ceil(reserve)))

    def queue(self, order: Order, *, by_priority: bool) -> None:
        (self.critical_backlog if by_priority and order.critical else self.backlog).append(order)
        self.backlog_units += order.open_units

    def waiting(self) -> Iterator[Order]:
        """Backordered orders in serving order (critical ones first when prioritised)."""
        yield from list(self.critical_backlog)
        yield from list(self.backlog)

    def drop_filled(self) -> None:
        self.critical_backlog = deque(o for o in self.critical_backlog if o.open_units)
        self.backlog = deque(o for o in self.backlog if o.open_units)
