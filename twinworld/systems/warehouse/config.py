"""The ``supply_network`` section of a scenario: nodes, lanes, inventory policies and demand.

Nodes are suppliers (unlimited stock, a dispatch capacity), ports (a handling time and a
throughput), warehouses/DCs (stock under an inventory policy, replenished from their ``sources``)
and customers (Poisson order streams). Lanes join two nodes with a transport mode, a lead-time
distribution, an optional capacity and a cost per unit.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from twinworld.limits import MAX_CV, MAX_LIST_ITEMS, MAX_MAGNITUDE, MAX_MULTIPLIER
from twinworld.params import Dist, Duration, LatLon, duration, param, step_duration
from twinworld.systems.base import Frozen, SystemConfig

__all__ = ["LeadTime", "SupplierSpec", "PortSpec", "SSPolicy", "RSPolicy", "BaseStockPolicy", "MovingAverage",
           "ExponentialSmoothing", "ForecastPolicy", "InventoryPolicy", "WarehouseSpec", "Panic", "CustomerSpec",
           "LaneSpec", "SupplyNetworkConfig"]


class LeadTime(Frozen):
    """A per-shipment transit time on a lane (each shipment draws its own).

    Written either as a plain duration (``lead_time: 3d``, a fixed time) or as
    ``{distribution: lognormal, mean: 12d, cv: 0.2}``. ``mean`` and ``cv`` may be uncertain.
    """

    distribution: Literal["fixed", "exponential", "lognormal", "gamma", "uniform"] = "fixed"
    mean: Annotated[float, duration(ge=0)] = Field(description="mean transit time, e.g. 3d")
    cv: Annotated[float, param(ge=0, le=MAX_CV)] = Field(0.0, description="coefficient of variation (sd / mean); "
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
    capacity_units_per_day: Annotated[float, param(gt=0)] | None = Field(
        None, description="units it can dispatch per day; empty = unlimited")
    location: LatLon | None = Field(None, description="(latitude, longitude)")


class PortSpec(Frozen):
    """A port that shipments pass through: handled for ``handling_time`` at most at its throughput."""

    name: str
    handling_time: Annotated[float, duration(ge=0)] = Field(12.0, description="unloading and clearing per shipment")
    throughput_units_per_day: Annotated[float, param(gt=0)] | None = Field(
        None, description="units the port can handle per day; empty = unlimited")
    location: LatLon | None = None


class SSPolicy(Frozen):
    """(s, S): when the inventory position falls to ``s`` or below, order up to ``S`` (continuous review)."""

    kind: Literal["s_S"]
    reorder_point_units: Annotated[float, param(ge=0)] = Field(description="s")
    order_up_to_units: Annotated[float, param(gt=0)] = Field(description="S (must exceed s)")

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
    review_every: Annotated[float, step_duration()] = Field(description="R, e.g. 7d")
    order_up_to_units: Annotated[float, param(gt=0)] = Field(description="S")


class BaseStockPolicy(Frozen):
    """Base stock: after every demand, order what was taken (keep the position at ``level``)."""

    kind: Literal["base_stock"]
    base_stock_units: Annotated[float, param(gt=0)] = Field(description="target inventory position")


class MovingAverage(Frozen):
    """Forecast the demand of the next period as the mean of the last ``periods`` periods."""

    method: Literal["moving_average"]
    periods: int = Field(ge=1, le=365, description="p, the periods averaged")


class ExponentialSmoothing(Frozen):
    """Forecast = alpha x last period's demand + (1 - alpha) x the previous forecast."""

    method: Literal["exponential_smoothing"]
    alpha: Annotated[float, param(ge=0, le=1)] = Field(description="smoothing constant; 0 = the forecast never moves")


class ForecastPolicy(Frozen):
    """Order up to a forecast (periodic review): a warehouse or retailer that decides.

    Every ``review_every`` (one period) it counts the demand it got in the period (units asked of
    it, served or not), updates its forecast of the demand per period, sets its order-up-to level
    to ``cover_periods`` x forecast + ``safety_factor`` x (sd of demand) x sqrt(cover_periods),
    and orders what brings its inventory position up to it. Orders then swing more than demand:
    the bullwhip effect (Chen, Drezner, Ryan & Simchi-Levi 2000).
    """

    kind: Literal["forecast"]
    review_every: Annotated[float, step_duration()] = Field(24.0, description="the period, e.g. 1d")
    forecast: Annotated[MovingAverage | ExponentialSmoothing, Field(discriminator="method")]
    cover_periods: float | None = Field(
        None, gt=0, le=MAX_MAGNITUDE, description="periods of forecast demand the level covers; empty = the mean lead "
                                "time of the primary source's route in periods, plus the review period")
    safety_factor: float = Field(0.0, ge=0, le=100, description="z: safety stock in sds of the demand over the cover")
    initial_forecast_units: Annotated[float, param(ge=0, le=MAX_MAGNITUDE)] | None = Field(
        None, description="demand per period to start from; empty = the mean demand of what it serves")


InventoryPolicy = Annotated[SSPolicy | RSPolicy | BaseStockPolicy | ForecastPolicy, Field(discriminator="kind")]


class WarehouseSpec(Frozen):
    """A warehouse or distribution centre holding stock."""

    name: str
    sources: list[str] = Field(
        min_length=1, max_length=MAX_LIST_ITEMS,
        description="suppliers or warehouses it orders from, in order of preference (the first is primary)")
    policy: InventoryPolicy
    initial_units: Annotated[float, param(ge=0)] | None = Field(
        None, description="stock at the start; empty = the policy's order-up-to level")
    in_transit_units: int = Field(
        0, ge=0, le=MAX_MAGNITUDE, description="units already on their way from the primary source at the start, "
                             "arriving in weekly lots spread over the first leg's mean transit time")
    holding_cost_per_unit_day: Annotated[float, param(ge=0)] = 0.0
    location: LatLon | None = None


_period = duration   # Panic has a field named ``duration``; its annotations use this alias


class Panic(Frozen):
    """Panic buying: some shoppers buy more for a while when they meet an empty shelf, or hear of one.

    The customer's orders come from ``shoppers`` shoppers (each order is one shopper's). A share
    ``share`` of them are prone to panic: when one of their orders is not filled at once, or a
    contact tells them of a shortage (each tells its ``contacts`` after an exponential delay of
    mean ``tell_delay``), they order ``multiplier`` times as much for ``duration``.
    """

    share: Annotated[float, param(ge=0, le=1)] = Field(0.3, description="share of shoppers prone to panic")
    multiplier: Annotated[float, param(ge=1, le=MAX_MULTIPLIER)] = Field(
        2.0, description="order size while panicking, x the usual")
    tell_delay: Annotated[float, _period(gt=0)] = Field(12.0, description="mean time to tell a contact, e.g. 12h")
    shoppers: int = Field(100, ge=1, le=100_000, description="shoppers placing the customer's orders")
    contacts: int = Field(4, ge=0, le=50, description="contacts each shopper tells of a shortage")
    duration: Annotated[float, _period(gt=0)] = Field(72.0, description="how long a panic lasts, e.g. 3d")


class CustomerSpec(Frozen):
    """A customer ordering from its warehouse as a Poisson stream of orders."""

    name: str
    demand_per_day: Annotated[float, param(ge=0)] = Field(description="Poisson rate of orders per day")
    units_per_order: int = Field(1, ge=1, le=MAX_MAGNITUDE)
    served_by: str | None = Field(None, description="the warehouse it orders from; empty = the one "
                                                    "with the shortest lane to it")
    critical: bool = Field(False, description="served first under priority_allocation (e.g. a hospital)")
    location: LatLon | None = None
    panic: Panic | None = Field(None, description="shoppers who buy more when they meet or hear of a shortage")


class LaneSpec(Frozen):
    """A transport lane from one node to another."""

    origin: str
    destination: str
    name: str | None = Field(None, description="label for targets and results; default origin->destination")
    mode: Literal["sea", "road", "rail", "air", "inland_water"] = "road"
    lead_time: LeadTime = Field(description="a fixed duration (3d) or {distribution, mean, cv}",
                                json_schema_extra=_or_duration)
    capacity_units_per_day: Annotated[float, param(gt=0)] | None = Field(
        None, description="units that can leave on it per day; empty = unlimited")
    cost_per_unit: Annotated[float, param(ge=0)] = 0.0

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
    shortage_cost_per_unit: Annotated[float, param(ge=0)] = Field(
        0.0, description="per unit lost, and per unit backordered")
    backorder_cost_per_unit_day: Annotated[float, param(ge=0)] = 0.0
    critical_cost_factor: float = Field(
        1.0, ge=0, le=MAX_MULTIPLIER, description="shortage costs of critical customers x this")
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
