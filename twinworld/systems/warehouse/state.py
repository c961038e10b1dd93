"""What a live feed can tell about a supply network now: stock, backorders, shipments under way."""

from __future__ import annotations

from pydantic import Field

from twinworld.systems.base import ObservedState

__all__ = ["InboundShipment", "WarehouseState", "SupplyNetworkState"]

MAX_UNITS = 1e9


class InboundShipment(ObservedState):
    """Units on their way to a warehouse, with the expected hours until they arrive."""

    units: int = Field(gt=0, le=MAX_UNITS)
    arrives_in_h: float = Field(ge=0, le=1e5, description="expected hours until delivery")


class WarehouseState(ObservedState):
    """One warehouse: stock on hand, customer units backordered, replenishment in transit."""

    on_hand: int = Field(0, ge=0, le=MAX_UNITS, description="units in stock")
    backordered: int = Field(0, ge=0, le=MAX_UNITS, description="customer units waiting for stock")
    in_transit: list[InboundShipment] = Field(default_factory=list, max_length=10_000)


class SupplyNetworkState(ObservedState):
    """The state of some or all warehouses of a network (warehouse name -> its state)."""

    warehouses: dict[str, WarehouseState] = Field(default_factory=dict)
