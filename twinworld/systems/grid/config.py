"""The ``power_grid`` section of a scenario: which grid, how loads move, ratings, crews."""

from __future__ import annotations

import difflib
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from twinworld.feeds.grid_cases import BUNDLED_CASES, CASE_FILE_SUFFIXES
from twinworld.limits import (
    MAX_CREWS,
    MAX_CV,
    MAX_LIST_ITEMS,
    MAX_MAGNITUDE,
    MAX_MULTIPLIER,
    MIN_STEP_H,
)
from twinworld.params import LatLon, duration, fixed_duration, param
from twinworld.systems.base import Frozen, SystemConfig

__all__ = ["CaseSource", "CriticalLoad", "Ratings", "RepairTime", "PowerGridConfig", "SUMMER_PROFILE"]

#: A summer weekday's load shape (hour 0..23, mean about 1): low at night, peak late afternoon.
SUMMER_PROFILE = (0.78, 0.74, 0.71, 0.70, 0.70, 0.73, 0.80, 0.88, 0.95, 1.00, 1.05, 1.09,
                  1.12, 1.15, 1.18, 1.20, 1.21, 1.20, 1.16, 1.12, 1.07, 1.00, 0.91, 0.83)


class CaseSource(Frozen):
    """Where the grid comes from: a case bundled with pandapower, or a file inside ``data_dir``."""

    pandapower: str | None = Field(None, description="bundled case: case9 ... case9241pegase, "
                                                     "mv_oberrhein, cigre_mv, ...")
    file: str | None = Field(None, description="MATPOWER .m/.mat or pandapower .json inside data_dir")
    digest: str | None = Field(None, description="content key, filled in when the scenario is loaded")

    @field_validator("pandapower")
    @classmethod
    def _bundled(cls, value: str | None) -> str | None:
        if value is None or value in BUNDLED_CASES:
            return value
        if value.lower().endswith(CASE_FILE_SUFFIXES):
            raise ValueError("pandapower: names a case bundled with pandapower, not a file; "
                             "write file: <path inside data_dir> for a case file")
        close = difflib.get_close_matches(value, list(BUNDLED_CASES), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown grid case {value[:60]!r}{hint} "
                         f"(bundled: {', '.join(BUNDLED_CASES)})")

    @model_validator(mode="after")
    def _one_source(self) -> "CaseSource":
        if (self.pandapower is None) == (self.file is None):
            raise ValueError("give exactly one of pandapower: <case name> or file: <path>")
        return self


class CriticalLoad(Frozen):
    """A load shed last and counted in ``critical_load_hours_unserved`` (a hospital, water works)."""

    bus: str = Field(description="bus id (the pandapower bus index, e.g. '12')")
    kind: Literal["hospital", "water", "traffic_signals", "telecom", "port", "warehouse", "other"] = "other"
    priority: int = Field(3, ge=1, le=9, description="higher is shed later (ordinary loads are 0)")
    name: str | None = None


class Ratings(Frozen):
    """Branch limits (MW). Many test cases carry none (0 or 9900 MVA), so they can be derived.

    ``base_flow``: margin x the branch's flow at the planning load (the profile's peak).
    ``n_minus_1``: margin x the branch's largest flow over the base case and every single outage
    that does not island the grid, at the planning load: a grid planned N-1 secure.
    ``case_or_...``: the case's rating where it has one, else derived.
    """

    source: Literal["case", "base_flow", "n_minus_1", "case_or_base_flow", "case_or_n_minus_1"] = \
        "case_or_n_minus_1"
    margin: Annotated[float, param(gt=0, le=MAX_MULTIPLIER)] = Field(
        1.1, description="derived limit = margin x planning flow")
    min_mw: float = Field(10.0, ge=0, le=MAX_MAGNITUDE, description="smallest derived limit")


class RepairTime(Frozen):
    """Time a crew needs to restore one damaged line (each repair draws its own)."""

    distribution: Literal["lognormal", "exponential", "fixed"] = "lognormal"
    mean: Annotated[float, duration(gt=0)] = Field(8.0, description="mean repair time, e.g. 8h")
    cv: Annotated[float, param(ge=0, le=MAX_CV)] = Field(0.5, description="coefficient of variation (lognormal)")


class PowerGridConfig(SystemConfig):
    """A transmission or distribution grid on the DC power flow, with cascades and crews.

    Loads follow ``load_profile`` (hourly shape) times ``load_scale`` times any active heatwave.
    A branch loaded above its rating times ``overload_tolerance`` for ``trip_delay`` trips; tripped
    and damaged branches wait for one of ``crews`` repair crews.
    """

    kind: Literal["power_grid"]
    source: CaseSource
    load_scale: Annotated[float, param(ge=0, le=MAX_MULTIPLIER)] = Field(
        1.0, description="multiplier on every load of the case")
    load_profile: list[float] | None = Field(
        None, description="24 hourly load multipliers (hour 0..23); default: a summer weekday shape")
    step: Annotated[float, fixed_duration(ge=MIN_STEP_H)] = Field(
        1.0, description="how often loads are updated, e.g. 1h")
    ratings: Ratings = Ratings()
    overload_tolerance: Annotated[float, param(gt=0, le=MAX_MULTIPLIER)] = Field(
        1.0, description="trip above rating x this")
    trip_delay: Annotated[float, duration(gt=0)] = Field(
        0.25, description="how long an overload lasts before the line trips")
    balancing: Literal["slack", "proportional"] = Field(
        "proportional", description="who covers an island's mismatch: its slack unit, or all units")
    crews: int = Field(2, ge=0, le=MAX_CREWS, description="repair crews available")
    repair_time: RepairTime = RepairTime()
    reclose_time: Annotated[float, duration(ge=0)] = Field(
        1.0, description="time to reclose a line tripped on overload")
    critical_loads: list[CriticalLoad] = Field([], max_length=MAX_LIST_ITEMS)
    customers_per_mw: float = Field(400.0, ge=0, le=MAX_MAGNITUDE, description="customers behind each MW of base load")
    bus_locations: dict[str, LatLon] = Field(
        {}, max_length=MAX_LIST_ITEMS,
        description="bus id -> (latitude, longitude): places the case's buses on the region's map, "
                    "so facilities are fed by their nearest bus")
    max_snap_km: float = Field(5.0, gt=0, le=500, description="a facility farther than this from every "
                                                              "located bus cannot be fed by location")

    @field_validator("load_profile")
    @classmethod
    def _profile(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and (len(value) != 24 or any(not 0 <= v <= MAX_MULTIPLIER for v in value)):
            raise ValueError(f"needs 24 multipliers between 0 and {MAX_MULTIPLIER:g} (hours 0..23)")
        return value

    def source_name(self) -> str:
        return self.source.pandapower or str(self.source.file)
