"""What can go wrong to a power grid.

Target the grid system (``grid``) and name elements in the fields, or name one element in the
target (``grid.L12`` for a line outage, ``grid.45`` for a substation loss, ``grid.G3`` for a
generator trip).
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from twinworld.errors import Problem
from twinworld.limits import MAX_LIST_ITEMS, MAX_MULTIPLIER, MAX_RANDOM_OUTAGES
from twinworld.params import duration, param
from twinworld.systems.base import SYSTEM, DisruptionConfig, SystemConfig, element_field

__all__ = ["LineOutage", "GeneratorTrip", "SubstationLoss", "HeatwaveLoad", "Flood", "DISRUPTIONS"]


class LineOutage(DisruptionConfig):
    """Branches out: named ones, ``count`` random ones (N-k), or by storm fragility against wind.

    Without ``duration`` the branches stay out until a repair crew restores them; with one they
    come back by themselves at its end. Each branch fails at ``start`` plus a uniform delay within
    ``spread`` (a storm front passing).
    """

    targets = (SYSTEM, "line")

    kind: Literal["line_outage"]
    lines: list[str] | None = element_field("line", description="branch ids, e.g. [L12, T3]")
    count: Annotated[float, param(ge=0, le=MAX_RANDOM_OUTAGES)] | None = Field(
        None, description="number of random branches (N-k)")
    wind_speed_ms: Annotated[float, param(ge=0, le=150)] | None = Field(None, description="storm: peak gust, m/s")
    fragility_median_ms: float = Field(45.0, gt=0, le=150, description="gust at which half the lines fail")
    fragility_beta: float = Field(0.25, gt=0, le=10, description="log-standard deviation of the fragility curve")
    include_transformers: bool = Field(False, description="random and storm outages may hit transformers")
    spread: Annotated[float, duration()] = Field(0.0, description="failures spread uniformly over this time")

    @model_validator(mode="after")
    def _one_way(self) -> "LineOutage":
        given = [k for k in ("lines", "count", "wind_speed_ms") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"give one of lines, count, wind_speed_ms; got {', '.join(given)}")
        return self


class GeneratorTrip(DisruptionConfig):
    """Generating units trip (named, or ``count`` random ones) for the window."""

    targets = (SYSTEM, "generator")

    kind: Literal["generator_trip"]
    generators: list[str] | None = element_field("generator", description="generator ids, e.g. [G3, EG0]")
    count: Annotated[float, param(ge=0, le=MAX_RANDOM_OUTAGES)] | None = Field(
        None, description="number of random units")


class SubstationLoss(DisruptionConfig):
    """Substations (buses) lost for the window: their load, units and branches are out."""

    targets = (SYSTEM, "bus")

    kind: Literal["substation_loss"]
    buses: list[str] = element_field("bus", [], description="bus ids, e.g. ['12', '45']")


class HeatwaveLoad(DisruptionConfig):
    """Load multiplied over the window; hot lines may also carry less (``rating_derate``)."""

    targets = (SYSTEM,)

    kind: Literal["heatwave_load"]
    multiplier: Annotated[float, param(ge=0, le=MAX_MULTIPLIER)] = Field(description="load multiplier, e.g. 1.25")
    rating_derate: Annotated[float, param(ge=0, le=1)] = Field(0.0, description="share of line ratings lost to heat")


class Flood(DisruptionConfig):
    """Substations inside a polygon (bus coordinates of the case) are lost for the window."""

    targets = (SYSTEM,)

    kind: Literal["flood"]
    polygon: list[tuple[float, float]] = Field(
        min_length=3, max_length=MAX_LIST_ITEMS, description="[[x, y], ...] in the case's bus coordinates")

    def check(self, system: SystemConfig) -> list[Problem]:
        from twinworld.systems.grid import _case

        case = _case(system)  # type: ignore[arg-type]
        if case is not None and not np.isfinite(case.bus_xy).any():
            return [Problem(f"grid {case.name!r} has no bus coordinates for a flood polygon", "polygon",
                            valid="substation_loss with named buses")]
        return []


DISRUPTIONS = (LineOutage, GeneratorTrip, SubstationLoss, HeatwaveLoad, Flood)
