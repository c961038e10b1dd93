"""What can go wrong to a road network: closures, floods, signal outages, bridge failures.

Each acts over its window (``start``, ``duration``; no duration = to the end of the run) on a set
of links chosen by street name / link id (``roads``) and/or an area (``polygon`` of ``[lat, lon]``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from twinworld.errors import FeedError, Problem
from twinworld.params import duration, param
from twinworld.systems.base import SYSTEM, DisruptionConfig, SystemConfig
from twinworld.systems.traffic.config import Polygon, check_polygon

__all__ = ["RoadClosure", "Flood", "SignalOutage", "BridgeFailure", "DISRUPTIONS"]


class _Area(DisruptionConfig):
    targets = (SYSTEM,)

    roads: list[str] = Field([], description="street names or link ids")
    polygon: Polygon | None = Field(None, description="[[lat, lon], ...]: links touching it")

    @field_validator("polygon")
    @classmethod
    def _polygon(cls, value: Polygon | None) -> Polygon | None:
        return check_polygon(value)

    def check(self, system: SystemConfig) -> list[Problem]:
        """The named roads exist and the polygon touches the network."""
        from twinworld.systems.traffic.checks import area_links
        from twinworld.systems.traffic.source import load_network

        try:
            net = load_network(system.source)  # type: ignore[attr-defined]
        except FeedError:
            return []  # the system's own check reports an unreadable network
        return [Problem(p.message, p.path.lstrip("."), p.line, p.column, p.valid)
                for p in area_links(net, self, "")[1]]


class RoadClosure(_Area):
    """Links closed to new entries (vehicles already on them drive off)."""

    kind: Literal["road_closure"]

    @model_validator(mode="after")
    def _something(self) -> "RoadClosure":
        if not self.roads and self.polygon is None:
            raise ValueError("name the closed roads or give a polygon")
        return self


class Flood(_Area):
    """Water over an area: from ``start`` (the onset) its links close; before it they slow down.

    ``slowdown`` is the share of free-flow speed lost during the ``warning`` hours before onset.
    """

    kind: Literal["flood"]
    polygon: Polygon = Field(description="the flooded area, [[lat, lon], ...]")
    warning: Annotated[float, duration(ge=0)] = Field(
        0.0, description="slow, wet roads this long before the links close")
    slowdown: Annotated[float, param(ge=0, le=0.99)] = Field(0.5, description="share of speed lost during the warning")

    def effect_window(self, horizon_h: float) -> tuple[float, float]:
        start, end = self.window(horizon_h)
        return max(0.0, start - float(self.warning)), end


class SignalOutage(_Area):
    """Traffic signals out at the intersections of an area (the whole network if no polygon):
    links into intersections (3 or more streets) lose ``capacity_loss`` of their capacity."""

    kind: Literal["signal_outage"]
    capacity_loss: Annotated[float, param(ge=0, le=1)] = Field(0.5, description="share of capacity lost, 0..1")


class BridgeFailure(_Area):
    """Bridges fail and close: the links tagged ``bridge`` in the polygon, or the named ones."""

    kind: Literal["bridge_failure"]

    @model_validator(mode="after")
    def _something(self) -> "BridgeFailure":
        if not self.roads and self.polygon is None:
            raise ValueError("name the bridge roads or give a polygon around the bridges")
        return self


DISRUPTIONS = (RoadClosure, Flood, SignalOutage, BridgeFailure)
