"""What an evacuation planner can do: stage departures, contraflow, assign shelters, reroute."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from twinworld.errors import FeedError, Problem
from twinworld.params import duration, step_duration
from twinworld.systems.base import Frozen, StrategyConfig, SystemConfig, element_field

__all__ = ["Simultaneous", "Stage", "Staged", "Contraflow", "ShelterAssignment", "DynamicRerouting",
           "STRATEGIES"]


class Simultaneous(StrategyConfig):
    """Everyone is ordered out at once and leaves along the mobilisation curve (the default)."""

    kind: Literal["simultaneous"]


class Stage(Frozen):
    """Zones ordered out ``delay`` after the first order."""

    zones: list[str] = element_field("zone", ..., description="zones ordered out at this stage", min_length=1)
    delay: duration(ge=0) = 0.0  # type: ignore[valid-type]


class Staged(StrategyConfig):
    """Zones leave in stages; a zone in no stage leaves with the first order (no delay)."""

    kind: Literal["staged"]
    stages: list[Stage] = Field(min_length=1)


class Contraflow(StrategyConfig):
    """Named roads run one way, away from danger: the outbound direction takes the inbound lanes.

    The outbound direction of a two-way link is the one ending nearer (in free-flow time) to a
    shelter or exit; its reverse closes from ``start``.
    """

    kind: Literal["contraflow"]
    roads: list[str] = Field(min_length=1, description="street names or link ids")
    start: duration(ge=0) = 0.0  # type: ignore[valid-type]

    def check(self, system: SystemConfig) -> list[Problem]:
        """The named roads exist in the network."""
        from twinworld.systems.traffic.checks import named_links
        from twinworld.systems.traffic.source import load_network

        try:
            net = load_network(system.source)  # type: ignore[attr-defined]
        except FeedError:
            return []
        return named_links(net, self.roads, "roads")[1]


class ShelterAssignment(StrategyConfig):
    """Which shelter each household heads for: the nearest, or the nearest with room left
    (capacity-balanced, households assigned in order of departure)."""

    kind: Literal["shelter_assignment"]
    rule: Literal["nearest", "capacity_balanced"] = "capacity_balanced"


class DynamicRerouting(StrategyConfig):
    """Vehicles re-plan on current travel times every ``every`` (or never, if disabled)."""

    kind: Literal["dynamic_rerouting"]
    enabled: bool = True
    every: step_duration() = 1 / 6  # type: ignore[valid-type]


STRATEGIES = (Simultaneous, Staged, Contraflow, ShelterAssignment, DynamicRerouting)
