"""The ``water_network`` section of a scenario: tanks, the pumps that fill them, demand zones."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from twinworld.params import param
from twinworld.systems.base import Frozen, SystemConfig

__all__ = ["Tank", "Pump", "Zone", "WaterNetworkConfig"]


class Tank(Frozen):
    """A storage tank (or reservoir) that zones draw from."""

    name: str
    capacity_m3: float = Field(gt=0, le=1e7, description="usable volume")
    initial_share: float = Field(0.8, ge=0, le=1, description="how full it starts")


class Pump(Frozen):
    """A pumping station filling one tank; without power it stops (unless on a backup generator)."""

    name: str
    tank: str = Field(description="the tank it fills")
    rate_m3_h: Annotated[float, param(gt=0, le=1e6)] = Field(description="flow at full power")


class Zone(Frozen):
    """A demand zone served from one tank, with a daily pattern (more in the morning and evening)."""

    name: str
    tank: str
    demand_m3_h: Annotated[float, param(ge=0, le=1e6)] = Field(description="mean demand")
    noise_cv: float = Field(0.1, ge=0, le=2, description="hour-to-hour variation of demand")


class WaterNetworkConfig(SystemConfig):
    """Pumps fill tanks, zones draw from them hour by hour; a zone whose tank is empty goes dry."""

    kind: Literal["water_network"]
    tanks: list[Tank] = Field(min_length=1)
    pumps: list[Pump] = Field(min_length=1)
    zones: list[Zone] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> "WaterNetworkConfig":
        names = [x.name for group in (self.tanks, self.pumps, self.zones) for x in group]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"tank, pump and zone names must be unique; repeated: {', '.join(repeated)}")
        return self
