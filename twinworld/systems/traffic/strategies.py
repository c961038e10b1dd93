"""What an evacuation planner can do: stage departures, contraflow, assign shelters, reroute."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from twinworld.errors import FeedError, Problem
from twinworld.params import duration, param, step_duration
from twinworld.systems.base import Frozen, StrategyConfig, SystemConfig, element_field
from twinworld.systems.traffic.behaviour import Channel

__all__ = ["Simultaneous", "Stage", "Staged", "Contraflow", "ShelterAssignment", "DynamicRerouting",
           "WarningChannels", "InformDrivers", "STRATEGIES"]


class Simultaneous(StrategyConfig):
    """Everyone is ordered out at once and leaves along the mobilisation curve (the default)."""

    kind: Literal["simultaneous"]


class Stage(Frozen):
    """Zones ordered out ``delay`` after the first order."""

    zones: list[str] = element_field("zone", ..., description="zones ordered out at this stage", min_length=1)
    delay: Annotated[float, duration(ge=0)] = 0.0


class Staged(StrategyConfig):
    """Zones leave in stages; a zone in no stage leaves with the first order (no delay).

    With households as agents (``households:``), every zone hears the plan from the first order
    on; a household that decides to leave starts preparing at its zone's turn.
    """

    kind: Literal["staged"]
    stages: list[Stage] = Field(min_length=1)


class Contraflow(StrategyConfig):
    """Named roads run one way, away from danger: the outbound direction takes the inbound lanes.

    The outbound direction of a two-way link is the one ending nearer (in free-flow time) to a
    shelter or exit; its reverse closes from ``start``.
    """

    kind: Literal["contraflow"]
    roads: list[str] = Field(min_length=1, description="street names or link ids")
    start: Annotated[float, duration(ge=0)] = 0.0

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
    every: Annotated[float, step_duration()] = 1 / 6


class WarningChannels(StrategyConfig):
    """Warn households through other channels: add sirens, cell broadcast, door-to-door teams
    (a channel of the same name is replaced), or drop some. Needs ``households:``."""

    kind: Literal["warning_channels"]
    add: list[Channel] = Field([], description="channels to add (or replace, by name)")
    drop: list[str] = Field([], description="names of channels to stop using")

    def check(self, system: SystemConfig) -> list[Problem]:
        behaviour = getattr(system, "households", None)
        if behaviour is None:
            return [Problem("warning_channels acts on households as agents, but the system has no "
                            "households: section", "", valid="give the road system a households: section")]
        known = [c.name for c in behaviour.channels]
        problems = [Problem(f"no channel named {name!r} to drop", f"drop.{i}", valid=", ".join(known))
                    for i, name in enumerate(self.drop) if name not in known]
        left = [c for c in behaviour.channels if c.name not in self.drop and c.name not in {a.name for a in self.add}]
        if not left and not self.add:
            problems.append(Problem("dropping every channel leaves nobody warned", "drop",
                                    valid="keep or add at least one channel"))
        return problems


class InformDrivers(StrategyConfig):
    """Give drivers live traffic information (an app, radio, variable message signs): a share
    ``share`` follow routes re-planned on current travel times every ``replan_every``; the others
    keep to the shortest roads at free-flow speed."""

    kind: Literal["inform_drivers"]
    share: Annotated[float, param(ge=0, le=1)] = Field(0.8, description="share of drivers informed")
    replan_every: Annotated[float, step_duration()] = Field(1 / 6, description="how often informed drivers re-plan")


STRATEGIES = (Simultaneous, Staged, Contraflow, ShelterAssignment, DynamicRerouting, WarningChannels, InformDrivers)
