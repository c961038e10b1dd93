"""What a live feed can tell about a hospital region now: beds in use and patients boarding."""

from __future__ import annotations

from pydantic import Field

from twinworld.systems.base import ObservedState

__all__ = ["HospitalState", "HospitalRegionState"]

MAX_PATIENTS = 100_000  # per hospital and bed type: far above any real hospital, far below a typo


class HospitalState(ObservedState):
    """One hospital's census: patients in ward and ICU beds, and patients boarding for each."""

    ward_occupied: int = Field(0, ge=0, le=MAX_PATIENTS, description="patients in ward beds")
    icu_occupied: int = Field(0, ge=0, le=MAX_PATIENTS, description="patients in ICU beds")
    boarding_ward: int = Field(0, ge=0, le=MAX_PATIENTS, description="admitted, waiting for a ward bed")
    boarding_icu: int = Field(0, ge=0, le=MAX_PATIENTS, description="admitted, waiting for an ICU bed")


class HospitalRegionState(ObservedState):
    """The census of some or all hospitals of a region (hospital name -> its state)."""

    hospitals: dict[str, HospitalState] = Field(default_factory=dict)
