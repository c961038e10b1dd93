"""What can go wrong to a port."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from twinworld.errors import Problem
from twinworld.limits import MAX_BERTHS, MAX_CRANES_PER_BERTH, MAX_MULTIPLIER
from twinworld.params import param
from twinworld.systems.base import SYSTEM, DisruptionConfig, SystemConfig, target_element

__all__ = ["PortClosure", "CraneFailure", "CapacityLoss", "ArrivalSurge", "DISRUPTIONS"]


class PortClosure(DisruptionConfig):
    """Berths stop working over a window (a strike, a storm): no vessel berths, cranes stand still,
    vessels wait at the anchorage. Target the port (``port``) or one berth (``port.B2``).

    While the whole port is closed it publishes ``<name>.open = 0`` on the service board.
    """

    targets = (SYSTEM, "berth")

    kind: Literal["port_closure"]
    gate_closed: bool = Field(True, description="the truck gate closes too (a strike); false for a storm")


class CraneFailure(DisruptionConfig):
    """Quay cranes out of service over a window, at one berth (``port.B1``) or spread over all."""

    targets = (SYSTEM, "berth")

    kind: Literal["crane_failure"]
    cranes: int = Field(1, ge=1, le=MAX_BERTHS * MAX_CRANES_PER_BERTH, description="cranes out of service")

    def check(self, system: SystemConfig) -> list[Problem]:
        per_berth = int(getattr(system, "cranes_per_berth", 0))
        available = per_berth * (1 if target_element(self.target) else int(getattr(system, "berths", 0)))
        if self.cranes > available:
            return [Problem(f"{self.cranes} cranes fail but {self.target} has only {available}", "cranes",
                            valid=f"1..{available}")]
        return []


class CapacityLoss(DisruptionConfig):
    """A share of one resource's capacity lost over a window (slow cranes, flooded yard blocks,
    a gate lane shut)."""

    targets = (SYSTEM, "berth")

    kind: Literal["capacity_loss"]
    resource: Literal["cranes", "yard", "gate"] = "cranes"
    share: Annotated[float, param(ge=0, le=1)] = Field(description="share of capacity lost, 0..1")


class ArrivalSurge(DisruptionConfig):
    """More vessels than usual over a window (bunching after a closure elsewhere).

    Adds Poisson arrivals at ``multiplier - 1`` times the port's mean arrival rate inside the
    window; the regular arrivals are unchanged, so strategies still face the same base vessels.
    """

    targets = (SYSTEM,)

    kind: Literal["arrival_surge"]
    multiplier: Annotated[float, param(ge=1, le=MAX_MULTIPLIER)] = Field(
        description="arrival-rate multiplier over the window, e.g. 1.5")


DISRUPTIONS = (PortClosure, CraneFailure, CapacityLoss, ArrivalSurge)
