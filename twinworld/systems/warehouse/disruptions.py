"""What can go wrong to a supply network.

Each disruption targets the network (``supply``) or one of its elements (``supply.North`` for a
port, ``supply.Shenzhen->North`` for a lane, ...). Closures are scheduled up front from their
resolved windows; shipments consult them before every move, so nothing passes a closed element.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from twinworld.limits import MAX_MULTIPLIER
from twinworld.params import param
from twinworld.systems.base import SYSTEM, DisruptionConfig

__all__ = ["PortClosure", "SupplierFailure", "LaneClosure", "DemandSpike", "CapacityLoss",
           "DISRUPTIONS"]


class PortClosure(DisruptionConfig):
    """A port stops handling (strike, storm): nothing enters or leaves it over the window.

    Vessels arriving wait at its anchorage; shipments inside it wait on the quay.
    Target one port: ``supply.<port>``.
    """

    targets = ("port",)

    kind: Literal["port_closure"]


class SupplierFailure(DisruptionConfig):
    """A supplier dispatches nothing over the window (fire, insolvency, export ban).

    Target one supplier: ``supply.<supplier>``.
    """

    targets = ("supplier",)

    kind: Literal["supplier_failure"]


class LaneClosure(DisruptionConfig):
    """A lane carries nothing over the window; shipments on it stop where they are and wait.

    Target one lane by its name: ``supply.<origin>-><destination>`` (or the lane's ``name``).
    """

    targets = ("lane",)

    kind: Literal["lane_closure"]


class DemandSpike(DisruptionConfig):
    """Customer order rates multiplied over the window (panic buying, an epidemic).

    Target the network (every customer), one customer, or a warehouse (the customers it serves).
    """

    targets = (SYSTEM, "customer", "warehouse")

    kind: Literal["demand_spike"]
    multiplier: param(ge=0, le=MAX_MULTIPLIER) = Field(description="order-rate multiplier, e.g. 1.8")  # type: ignore[valid-type]


class CapacityLoss(DisruptionConfig):
    """A share of a lane's, port's or supplier's capacity lost over the window.

    Losing the whole capacity (``share: 1``) closes the element. An element without a capacity
    limit is unaffected by a partial loss.
    """

    targets = ("lane", "port", "supplier")

    kind: Literal["capacity_loss"]
    share: param(ge=0, le=1) = Field(description="share of capacity lost, 0..1")  # type: ignore[valid-type]


DISRUPTIONS = (PortClosure, SupplierFailure, LaneClosure, DemandSpike, CapacityLoss)
