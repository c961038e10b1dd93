"""What a responder can do for a hospital region."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from twinworld.errors import Problem
from twinworld.limits import MAX_MULTIPLIER
from twinworld.params import duration, param, step_duration
from twinworld.systems.base import StrategyConfig, SystemConfig, element_field

__all__ = ["SurgeBeds", "CancelElectives", "Transfer", "DivertAmbulances", "STRATEGIES"]


class SurgeBeds(StrategyConfig):
    """Open extra ward beds at a hospital once its occupancy passes a threshold.

    Checked hourly; beds open ``delay`` after the threshold is first passed and close again once
    occupancy falls below ``release_below``.
    """

    kind: Literal["surge_beds"]
    threshold: Annotated[float, param(ge=0, le=1)] = Field(0.95, description="occupancy share that triggers it")
    extra_share: Annotated[float, param(ge=0, le=MAX_MULTIPLIER)] = Field(
        0.1, description="extra ward beds, as a share of ward beds")
    delay: Annotated[float, duration()] = Field(6.0, description="time to open the beds (staffing, equipment)")
    release_below: Annotated[float, param(ge=0, le=1)] = Field(0.8, description="occupancy share that closes them")
    hospitals: list[str] | None = element_field("hospital", description="where; empty = every hospital")


class CancelElectives(StrategyConfig):
    """Cancel planned admissions while the region is crowded."""

    kind: Literal["cancel_electives"]
    share: Annotated[float, param(ge=0, le=1)] = Field(1.0, description="share of electives cancelled")
    when_occupancy_above: Annotated[float, param(ge=0, le=1)] = Field(
        0.85, description="region occupancy share above which electives are cancelled")


class Transfer(StrategyConfig):
    """Move boarding patients to the nearest hospital with a free bed of the type they need."""

    kind: Literal["transfer"]
    max_travel_min: Annotated[float, param(gt=0)] = Field(45.0, description="longest ambulance trip allowed")
    check_every: Annotated[float, step_duration()] = Field(0.5, description="how often boarding patients are reviewed")

    def check(self, system: SystemConfig) -> list[Problem]:
        """Ambulances need travel times: given, or estimated from every hospital's location."""
        hospitals = getattr(system, "hospitals", [])
        if len(hospitals) < 2 or getattr(system, "travel_time_min", None) \
                or all(h.location is not None for h in hospitals):
            return []
        missing = [h.name for h in hospitals if h.location is None]
        return [Problem(f"{self.kind} needs travel times, but hospital(s) {', '.join(missing[:5])} have no "
                        "location", "", valid="give travel_time_min, or each hospital's location")]


class DivertAmbulances(StrategyConfig):
    """A regional diversion protocol: ambulances bypass hospitals that declare diversion and take
    patients to the nearest accepting hospital within ``max_travel_min`` (see ``ambulances:``)."""

    kind: Literal["divert_ambulances"]
    max_travel_min: Annotated[float, param(gt=0)] = Field(30.0, description="longest extra drive to another hospital")
    respect_diversion: Annotated[float, param(ge=0, le=1)] = Field(1.0, description="share of crews that follow it")

    def check(self, system: SystemConfig) -> list[Problem]:
        return Transfer.check(self, system)  # type: ignore[arg-type]


STRATEGIES = (SurgeBeds, CancelElectives, Transfer, DivertAmbulances)
