"""What can go wrong to a water network, and what a responder can do."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from twinworld.params import param
from twinworld.systems.base import DisruptionConfig, StrategyConfig, element_field

__all__ = ["PumpFailure", "MainBreak", "Conservation", "BackupGenerators", "DISRUPTIONS", "STRATEGIES"]


class PumpFailure(DisruptionConfig):
    """A pump breaks down over the window (target one pump: ``water.P1``)."""

    targets = ("pump",)

    kind: Literal["pump_failure"]


class MainBreak(DisruptionConfig):
    """A main bursts: a zone's draw rises by the leak over the window (target one zone)."""

    targets = ("zone",)

    kind: Literal["main_break"]
    leak_m3_h: Annotated[float, param(ge=0, le=1e6)] = Field(description="water lost per hour")


class Conservation(StrategyConfig):
    """Ask households to save water once a tank falls below a level."""

    kind: Literal["conservation"]
    below_share: Annotated[float, param(ge=0, le=1)] = Field(0.3, description="tank level that triggers the appeal")
    saving_share: Annotated[float, param(ge=0, le=0.9)] = Field(0.2, description="share of demand saved")


class BackupGenerators(StrategyConfig):
    """Diesel generators at pumping stations: without grid power they keep part of their flow."""

    kind: Literal["backup_generators"]
    pumps: list[str] | None = element_field("pump", description="where; empty = every pump")
    share: Annotated[float, param(ge=0, le=1)] = Field(0.5, description="share of the flow the generator keeps")


DISRUPTIONS = (PumpFailure, MainBreak)
STRATEGIES = (Conservation, BackupGenerators)
