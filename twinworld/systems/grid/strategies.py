"""What a grid operator can do: shed wisely, rotate, redispatch, island microgrids, steer crews."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from twinworld.limits import MAX_CREWS, MAX_MULTIPLIER
from twinworld.params import param, step_duration
from twinworld.systems.base import StrategyConfig, element_field

__all__ = ["PriorityShedding", "RotatingOutages", "Redispatch", "Microgrids", "CrewDispatch",
           "STRATEGIES"]


class PriorityShedding(StrategyConfig):
    """Shed ordinary loads before critical ones (``critical_loads`` priorities), largest first."""

    kind: Literal["priority_shedding"]
    order: Literal["largest_first", "smallest_first"] = Field(
        "largest_first", description="within one priority: fewest buses dark, or least MW overshoot")


class RotatingOutages(StrategyConfig):
    """Share a shortage: every ``block`` the buses dark longest are restored and others shed."""

    kind: Literal["rotating_outages"]
    block: Annotated[float, step_duration()] = Field(2.0, description="rotation period, e.g. 2h")


class Redispatch(StrategyConfig):
    """Move generation (linear program on the post-outage PTDF) to clear overloads before lines trip."""

    kind: Literal["redispatch"]
    target_loading: Annotated[float, param(gt=0, le=1)] = Field(
        0.95, description="loading aimed for on overloaded lines")


class Microgrids(StrategyConfig):
    """Critical buses (or the listed ones) can island on local generation when the grid fails them."""

    kind: Literal["islanded_microgrids"]
    buses: list[str] | None = element_field("bus", description="bus ids; default: every critical load's bus")
    capacity_share: Annotated[float, param(ge=0, le=MAX_MULTIPLIER)] = Field(
        1.0, description="local capacity as a share of the bus's peak load")


class CrewDispatch(StrategyConfig):
    """Which broken branch a free crew takes first, and optionally how many crews there are."""

    kind: Literal["crew_dispatch"]
    priority: Literal["fifo", "critical_first", "largest_load_first"] = "critical_first"
    crews: int | None = Field(None, ge=0, le=MAX_CREWS, description="crew count (overrides the grid's crews)")


STRATEGIES = (PriorityShedding, RotatingOutages, Redispatch, Microgrids, CrewDispatch)
