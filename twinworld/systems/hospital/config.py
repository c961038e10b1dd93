"""The ``hospital_region`` section of a scenario: hospitals, beds, patient classes, arrivals."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from twinworld.limits import (
    MAX_BEDS,
    MAX_CV,
    MAX_DURATION_H,
    MAX_LIST_ITEMS,
    MAX_MAGNITUDE,
    MAX_SPEED_KMH,
)
from twinworld.params import Dist, DurationParam, LatLon, duration, param
from twinworld.systems.base import Frozen, SystemConfig

__all__ = ["LengthOfStay", "PatientClass", "Census", "HospitalSpec", "HospitalRegionConfig"]

#: Ambulance minutes between two hospitals.
TravelMin = Annotated[float, Field(ge=0, le=MAX_DURATION_H * 60)]


def _lowest(value: float | Dist) -> float:
    return value.bounds[0] if isinstance(value, Dist) else float(value)


class LengthOfStay(Frozen):
    """A per-patient length-of-stay distribution (each patient draws their own).

    ``mean`` and ``cv`` may themselves be uncertain (sampled once per scenario).
    """

    distribution: Literal["exponential", "lognormal", "gamma", "fixed"] = "lognormal"
    mean: duration(gt=0) = Field(description="mean length of stay, e.g. 4d")  # type: ignore[valid-type]
    cv: param(ge=0, le=MAX_CV) = Field(1.0, description="coefficient of variation (sd / mean); "  # type: ignore[valid-type]
                                             "ignored for exponential (1) and fixed (0)")


class PatientClass(Frozen):
    """A kind of emergency patient: its share of arrivals, the bed it needs, how long it stays."""

    name: str
    share: param(ge=0) = Field(description="relative share of emergency arrivals")  # type: ignore[valid-type]
    bed: Literal["ward", "icu"] = "ward"
    los: LengthOfStay


class Census(Frozen):
    """Patients already in bed when the run starts (a warm start)."""

    ward: int = Field(0, ge=0, le=MAX_BEDS)
    icu: int = Field(0, ge=0, le=MAX_BEDS)


class HospitalSpec(Frozen):
    """One hospital."""

    name: str
    ward_beds: int = Field(ge=0, le=MAX_BEDS, description="staffed general ward beds")
    icu_beds: int = Field(0, ge=0, le=MAX_BEDS, description="staffed intensive care beds")
    arrivals_per_day: param(ge=0) = Field(  # type: ignore[valid-type]
        description="emergency admissions per day (before hour-of-day profile and surges)")
    electives_per_day: param(ge=0) = Field(0.0, description="planned admissions per day (8:00-16:00)")  # type: ignore[valid-type]
    census: Census | None = Field(None, description="beds occupied at the start")
    location: LatLon | None = Field(None, description="(latitude, longitude)")


class HospitalRegionConfig(SystemConfig):
    """A region's hospitals under emergency demand.

    Arriving patients take a free bed of the type they need; otherwise they board (wait) at the
    hospital. A patient boarding longer than ``max_wait`` is diverted out of the region (turned
    away). ``max_wait: 0`` means no waiting room (a loss system); leave it out to wait for ever.
    """

    kind: Literal["hospital_region"]
    hospitals: list[HospitalSpec] = Field(min_length=1, max_length=MAX_LIST_ITEMS)
    patient_classes: list[PatientClass] = Field(
        default_factory=lambda: [PatientClass(name="medical", share=1.0, bed="ward",
                                              los=LengthOfStay(mean=96.0, cv=1.0))],
        min_length=1, max_length=MAX_LIST_ITEMS)
    elective_los: LengthOfStay = Field(default_factory=lambda: LengthOfStay(mean=72.0, cv=0.6))
    hourly_profile: list[float] | None = Field(
        None, description="24 relative arrival intensities, hour 0..23 (normalised to mean 1)")
    max_wait: DurationParam | None = Field(
        None, description="longest boarding wait before a patient is turned away; empty = no limit")
    travel_time_min: dict[str, dict[str, TravelMin]] | None = Field(
        None, description="ambulance minutes between hospitals (symmetric if one side is given)")
    road_speed_kmh: float = Field(40.0, gt=0, le=MAX_SPEED_KMH, description="for travel times from locations")
    census_csv: str | None = Field(None, description="CSV (hospital,ward_occupied,icu_occupied) "
                                                     "inside data_dir, read at load time")

    @field_validator("hourly_profile")
    @classmethod
    def _profile(cls, value: list[float] | None) -> list[float] | None:
        if value is None:
            return value
        if len(value) != 24 or any(not 0 <= v <= MAX_MAGNITUDE for v in value) or sum(value) <= 0:
            raise ValueError("needs 24 non-negative numbers (hours 0..23), not all zero")
        return value

    @model_validator(mode="after")
    def _names_unique(self) -> "HospitalRegionConfig":
        counts = Counter(h.name for h in self.hospitals)
        dupes = sorted(n for n, k in counts.items() if k > 1)
        if dupes:
            raise ValueError(f"hospital names must be unique; repeated: {', '.join(dupes[:20])}"
                             + (f" and {len(dupes) - 20} more" if len(dupes) > 20 else ""))
        classes = [c.name for c in self.patient_classes]
        if len(set(classes)) != len(classes):
            raise ValueError("patient class names must be unique")
        if not any(_lowest(c.share) > 0 for c in self.patient_classes):
            raise ValueError("patient class shares are all 0 (in some sample); at least one class "
                             "needs a share above 0 in every sample")
        return self

    def hospital_names(self) -> list[str]:
        return [h.name for h in self.hospitals]
