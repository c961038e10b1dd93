"""The ``supply_network`` section of a scenario: nodes, lanes, inventory policies and demand.

Nodes are suppliers (unlimited stock, a dispatch capacity), ports (a handling time and a
throughput), warehouses/DCs (stock under an inventory policy, replenished from their ``sources``)
and customers (Poisson order streams). Lanes join two nodes with a transport mode, a lead-time
distribution, an optional capacity and a cost per unit.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any, Literal, Union

from pydantic import Field, field_validator, model_validator

from twinworld.limits import MAX_CV, MAX_LIST_ITEMS, MAX_MAGNITUDE, MAX_MULTIPLIER
from twinworld.params import Dist, Duration, LatLon, duration, param, step_duration
from twinworld.systems.base import Frozen, SystemConfig

__all__ = ["LeadTime", "SupplierSpec", "PortSpec", "SSPolicy", "RSPolicy", "BaseStockPolicy",
           "InventoryPolicy", "WarehouseSpec", "CustomerSpec", "LaneSpec", "SupplyNetworkConfig"]


class LeadTime(Frozen):
    """A per-shipment transit time on a lane (each shipment draws its own).

    Written either as a plain duration (``lead_time: 3d``, a fixed time) or as
    ``{distribution: lognormal, mean: 12d, cv: 0.2}``. ``mean`` and ``cv`` may be uncertain.
    """

    distribution: Literal["fixed", "exponential", "lognormal", "gamma", "uniform"] = "fixed"
    mean: duration(ge=0) = Field(description="mean transit time, e.g. 3d")  # type: ignore[valid-type]
    cv: param(ge=0, le=MAX_CV) = Field(0.0, description="coefficient of variation (sd / mean); "  # type: ignore[valid-type]
                                             "ignored for fixed (0) and exponential (1)")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            return {"distribution": "fixed", "mean": value}
        return value


def _or_duration(schema: dict[str, Any]) -> None:
    """JSON Schema: a lead time may also be written as a plain duration (the shorthand)."""
    model = dict(schema)
    description = model.pop("description", None)
    schema.clear()
    schema["anyOf"] = [model, {"type": "number", "minimum": 0},
                       {"type": "string", "pattern": r"^\s*\+?\d*\.?\d+\s*[a-zA-Z]+\s*$"}]
    if description:
        schema["description"] = description


def _high(value: float | Dist) -> float:
    return value.bounds[1] if isinstance(value, Dist) else float(value)


def _low(value: float | Dist) -> float:
    return value.bounds[0] if isinstance(value, Dist) else float(value)


class SupplierSpec(Frozen):
    """A source of goods with unlimited stock; orders leave at most at its dispatch rate."""

    name: str
    capacity_units_per_day: param(gt=0) | None = Field(  # type: ignore[valid-type]
        None, description="units it can dispatch per day; empty = unlimited")
    location: LatLon | None = Field(None, description="(latitude, longitude)")


class PortSpec(Frozen):
    """A port that shipments pass through: handled for ``handling_time`` at most at its throughput."""

    name: str
    handling_time: duration(ge=0) = Field(12.0, description="unloading and clearing per shipment")  # type: ignore[valid-type]
    throughput_units_per_day: param(gt=0) | None = Field(  # type: ignore[valid-type]
        None, description="units the port can handle per day; empty = unlimited")
    location: LatLon | None = None


class SSPolicy(Frozen):
    """(s, S): when the inventory position falls to ``s`` or below, order up to ``S`` (continuous review)."""

    kind: Literal["s_S"]
    reorder_point_units: param(ge=0) = Field(description="s")  # type: ignore[valid-type]
    order_up_to_units: param(gt=0) = Field(description="S (must exceed s)")  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _s_below_S(self) -> SSPolicy:
        s_high = _high(self.reorder_point_units)
        big_s_low = _low(self.order_up_to_units)
        if s_high >= big_s_low:
            s_text = f"up to {s_high:g}" if isinstance(self.reorder_point_units, Dist) else f"{s_high:g}"
            big_text = f"as low as {big_s_low:g}" if isinstance(self.order_up_to_units, Dist) else f"{big_s_low:g}"
            raise ValueError(f"reorder_point_units s ({s_text}) must be below order_up_to_units S "
                             f"({big_text}) in every sample")
        return self


class RSPolicy(Frozen):
    """(R, S): every ``review_every``, order up to ``S`` (periodic review)."""

    kind: Literal["R_S"]
    review_every: step_duration() = Field(description="R, e.g. 7d")  # type: ignore[valid-type]
    order_up_to_units: param(gt=0) = Field(description="S")  # type: ignore[valid-type]


class BaseStockPolicy(Frozen):
    """Base stock: after every demand, order what was taken (keep the position at ``level``)."""

    kind: Literal["base_stock"]
    base_stock_units: param(gt=0) = Field(description="target inventory position")  # type: ignore[valid-type]


InventoryPolicy = Annotated[Union[SSPolicy, RSPolicy, BaseStockPolicy], Field(discriminator="kind")]


class WarehouseSpec(Frozen):
    """A warehouse or distribution centre holding stock."""

    name: str
    sources: list[str] = Field(min_length=1, max_length=MAX_LIST_ITEMS, description="suppliers or warehouses it orders from, "
                                                         "in order of preference (the first is primary)")
    policy: InventoryPolicy
    initial_units: param(ge=0) | None = Field(  # type: ignore[valid-type]
        None, description="stock at the start; empty = the policy's order-up-to level")
    in_transit_units: int = Field(
        0, ge=0, le=MAX_MAGNITUDE, description="units already on their way from the primary source at the start, "
                             "arriving in weekly lots spread over the first leg's mean transit time")
    holding_cost_per_unit_day: param(ge=0) = 0.0  # type: ignore[valid-type]
    location: LatLon | None = None


class CustomerSpec(Frozen):
    """A customer ordering from its warehouse as a Poisson stream of orders."""

    name: str
    demand_per_day: param(ge=0) = Field(description="Poisson rate of orders per day")  # type: ignore[valid-type]
    units_per_order: int = Field(1, ge=1, le=MAX_MAGNITUDE)
    served_by: str | None = Field(None, description="the warehouse it orders from; empty = the one "
                                                    "with the shortest lane to it")
    critical: bool = Field(False, description="served first under priority_allocation (e.g. a hospital)")
    location: LatLon | None = None


class LaneSpec(Frozen):
    """A transport lane from one node to another."""

    origin: str
    destination: str
    name: str | None = Field(None, description="label for targets and results; default origin->destination")
    mode: Literal["sea", "road", "rail", "air", "inland_water"] = "road"
    lead_time: LeadTime = Field(description="a fixed duration (3d) or {distribution, mean, cv}",
                                json_schema_extra=_or_duration)
    capacity_units_per_day: param(gt=0) | None = Field(  # type: ignore[valid-type]
        None, description="units that can leave on it per day; empty = unlimited")
    cost_per_unit: param(ge=0) = 0.0  # type: ignore[valid-type]

    @property
    def label(self) -> str:
        return self.name or f"{self.origin}->{self.destination}"


class SupplyNetworkConfig(SystemConfig):
    """A supply network of suppliers, ports, warehouses and customers joined by lanes.

    Customers' orders are served from their warehouse's stock; what cannot be served at once is
    backordered (``unmet_demand: backorder``) or lost (``lost_sales``). Warehouses replenish from
    their sources by their inventory policy; shipments follow the fastest planned route and never
    move over a closed lane or through a closed port.
    """

    kind: Literal["supply_network"]
    suppliers: list[SupplierSpec] = Field(min_length=1, max_length=MAX_LIST_ITEMS)
    ports: list[PortSpec] = Field([], max_length=MAX_LIST_ITEMS)
    warehouses: list[WarehouseSpec] = Field(min_length=1, max_length=MAX_LIST_ITEMS)
    customers: list[CustomerSpec] = Field(min_length=1, max_length=MAX_LIST_ITEMS)
    lanes: list[LaneSpec] = Field(min_length=1, max_length=MAX_LIST_ITEMS)
    unmet_demand: Literal["backorder", "lost_sales"] = "backorder"
    shortage_cost_per_unit: param(ge=0) = Field(  # type: ignore[valid-type]
        0.0, description="per unit lost, and per unit backordered")
    backorder_cost_per_unit_day: param(ge=0) = 0.0  # type: ignore[valid-type]
    critical_cost_factor: float = Field(1.0, ge=0, le=MAX_MULTIPLIER, description="shortage costs of critical customers x this")
    warmup: Duration = Field(0.0, description="demand before this time is not counted in the KPIs")

    @field_validator("lanes")
    @classmethod
    def _lane_labels(cls, value: list[LaneSpec]) -> list[LaneSpec]:
        repeated = sorted(x for x, k in Counter(lane.label for lane in value).items() if k > 1)
        if repeated:
            raise ValueError(f"lanes must be distinct; repeated: {', '.join(repeated)} "
                             "(give a parallel lane its own name)")
        return value

    @model_validator(mode="after")
    def _names_unique(self) -> "SupplyNetworkConfig":
        repeated = sorted(n for n, k in Counter(self.node_names()).items() if k > 1)
        if repeated:
            raise ValueError(f"node names must be unique across suppliers, ports, warehouses and "
                             f"customers; repeated: {', '.join(repeated)}")
        return self

    def node_names(self) -> list[str]:
        return [n.name for group in (self.suppliers, self.ports, self.warehouses, self.customers)
                for n in group]

    def roles(self) -> dict[str, str]:
        """Node name -> ``supplier``, ``port``, ``warehouse`` or ``customer``."""
        return {**{s.name: "supplier" for s in self.suppliers}, **{p.name: "port" for p in self.ports},
                **{w.name: "warehouse" for w in self.warehouses},
                **{c.name: "customer" for c in self.customers}}

    def lane_labels(self) -> list[str]:
        return [lane.label for lane in self.lanes]
