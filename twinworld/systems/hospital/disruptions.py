"""What can go wrong to a hospital region."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from twinworld.limits import MAX_MULTIPLIER
from twinworld.params import param
from twinworld.systems.base import SYSTEM, DisruptionConfig

__all__ = ["PatientSurge", "BedLoss", "StaffShortage", "DISRUPTIONS"]


class PatientSurge(DisruptionConfig):
    """Emergency arrivals multiplied over a window (a flu wave, a mass-casualty event).

    Target the region (``hospitals``) or one hospital (``hospitals.H2``).
    """

    targets = (SYSTEM, "hospital")

    kind: Literal["patient_surge"]
    multiplier: Annotated[float, param(ge=0, le=MAX_MULTIPLIER)] = Field(
        description="arrival-rate multiplier, e.g. 1.5")


class BedLoss(DisruptionConfig):
    """A share of a hospital's beds unusable over a window (flood, fire, power loss)."""

    targets = (SYSTEM, "hospital")

    kind: Literal["bed_loss"]
    share: Annotated[float, param(ge=0, le=1)] = Field(description="share of beds lost, 0..1")
    bed: Literal["ward", "icu", "both"] = "both"


class StaffShortage(DisruptionConfig):
    """Fewer staffed beds over a window (sickness, strike): same beds, fewer nurses."""

    targets = (SYSTEM, "hospital")

    kind: Literal["staff_shortage"]
    share: Annotated[float, param(ge=0, le=1)] = Field(description="share of staffed beds lost, 0..1")


DISRUPTIONS = (PatientSurge, BedLoss, StaffShortage)
