"""What a responder can do for a supply network."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from twinworld.errors import Problem
from twinworld.params import duration, param
from twinworld.systems.base import StrategyConfig, SystemConfig, element_field

__all__ = ["Reroute", "Expedite", "SafetyStock", "DualSourcing", "PriorityAllocation", "STRATEGIES"]


class Reroute(StrategyConfig):
    """Recompute routes over open lanes and open ports, weighing each lane's and port's backlog.

    A shipment re-plans whenever it is at a node and its remaining route has a closed element
    within ``lookahead``; a vessel waiting at a closed port's anchorage may sail on over a sea lane
    to another port. The responder sees what is closed now, not when it will reopen.
    """

    kind: Literal["reroute"]
    lookahead: Annotated[float, duration(ge=0)] = Field(
        96.0, description="avoid closed elements the shipment would reach within this time; one "
                          "further ahead is assumed to reopen before it gets there")
    max_extra_time: Annotated[float, duration(ge=0)] | None = Field(
        None, description="refuse detours longer than the planned route by more than this")


class Expedite(StrategyConfig):
    """Ship replenishment faster (a faster mode) at a cost, while a warehouse is short."""

    kind: Literal["expedite"]
    lead_time_factor: Annotated[float, param(gt=0, le=1)] = Field(0.5, description="transit times x this")
    extra_cost_per_unit: Annotated[float, param(ge=0)] = Field(2.0, description="premium per expedited unit")
    when: Literal["short", "always"] = Field(
        "short", description="short: only orders placed while the warehouse has backorders or "
                             "its stock is below half its reorder point")
    warehouses: list[str] | None = element_field("warehouse", description="where; empty = every warehouse")


class SafetyStock(StrategyConfig):
    """Raise reorder points (and order-up-to levels) by some days of the warehouse's demand."""

    kind: Literal["safety_stock"]
    extra_days: Annotated[float, param(ge=0)] = Field(3.0, description="days of mean demand added to s and S")
    warehouses: list[str] | None = element_field("warehouse", description="where; empty = every warehouse")


class DualSourcing(StrategyConfig):
    """Split replenishment between a warehouse's first two sources, and switch when one is down."""

    kind: Literal["dual_sourcing"]
    secondary_share: Annotated[float, param(ge=0, le=1)] = Field(
        0.3, description="share of each order to the second source")
    switch_when_unavailable: bool = Field(True, description="order all from the other source while "
                                                            "one is failed or cut off")
    warehouses: list[str] | None = element_field("warehouse",
                                                 description="where; empty = every warehouse with two sources")

    def check(self, system: SystemConfig) -> list[Problem]:
        chosen = [w for w in getattr(system, "warehouses", []) if self.warehouses is None or w.name in self.warehouses]
        if chosen and not any(len(w.sources) > 1 for w in chosen):
            return [Problem("dual_sourcing needs a warehouse with two sources", "",
                            valid="give a warehouse `sources: [primary, secondary]`")]
        return []


class PriorityAllocation(StrategyConfig):
    """Critical customers first: their backorders are filled first, and stock is reserved for them."""

    kind: Literal["priority_allocation"]
    reserve_share: Annotated[float, param(ge=0, le=1)] = Field(
        0.25, description="share of the reorder point kept back from non-critical customers")


STRATEGIES = (Reroute, Expedite, SafetyStock, DualSourcing, PriorityAllocation)
