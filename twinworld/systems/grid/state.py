"""What a live feed (SCADA) can tell about a power grid now: branches and units out, bus loads."""

from __future__ import annotations

from pydantic import Field

from twinworld.systems.base import ObservedState

__all__ = ["GridState"]

MAX_BUS_LOAD_MW = 100_000.0   # one bus; the largest stations are a few GW


class GridState(ObservedState):
    """Branches and generating units out of service now, and the load at each bus (MW)."""

    lines_out: list[str] = Field(default_factory=list, max_length=1_000_000, description="branch ids")
    generators_out: list[str] = Field(default_factory=list, max_length=1_000_000, description="unit ids")
    bus_load_mw: dict[str, float] = Field(
        default_factory=dict, description="bus id -> load now (MW); buses left out keep the case's")
