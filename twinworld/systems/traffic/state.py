"""What a live feed can tell about a road network now: links closed and vehicles on links."""

from __future__ import annotations

from pydantic import Field

from twinworld.systems.base import ObservedState

__all__ = ["RoadNetworkState"]

MAX_VEHICLES_PER_LINK = 100_000.0


class RoadNetworkState(ObservedState):
    """Closed links and vehicle counts on links (loop detectors, cameras), by link id."""

    closed_links: list[str] = Field(default_factory=list, max_length=1_000_000,
                                    description="ids of links closed now")
    vehicles_on_links: dict[str, float] = Field(
        default_factory=dict, description="link id -> vehicles on it now (driving or queued)")
