"""The ``port`` section of a scenario: arrivals, berths, quay cranes, yard and truck gate."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from twinworld.limits import (
    MAX_BERTHS,
    MAX_CRANES_PER_BERTH,
    MAX_CV,
    MAX_LIST_ITEMS,
    MAX_MAGNITUDE,
)
from twinworld.params import Duration, LatLon, duration, param
from twinworld.systems.base import Frozen, SystemConfig

__all__ = ["CallSize", "PoissonArrivals", "FittedArrivals", "ScheduledCall", "ScheduleArrivals",
           "AISArrivals", "Arrivals", "Gate", "Operators", "PortConfig"]

#: An AIS ship type code (0-99; 70-79 cargo ships, 80-89 tankers).
AISType = Annotated[int, Field(ge=0, le=99)]


class CallSize(Frozen):
    """TEU handled per vessel call (discharge plus load), drawn per call.

    ``exponential`` gives the memoryless service of an M/M/c berth queue; ``lognormal`` and
    ``gamma`` use ``cv`` (sd / mean); ``fixed`` gives every call ``mean_teu``.
    """

    distribution: Literal["exponential", "lognormal", "gamma", "fixed"] = "lognormal"
    mean_teu: Annotated[float, param(gt=0)] = Field(description="mean TEU moved per call")
    cv: Annotated[float, param(ge=0, le=MAX_CV)] = Field(
        0.5, description="coefficient of variation (ignored for exponential, fixed)")


class PoissonArrivals(Frozen):
    """Vessels arrive as a Poisson process."""

    kind: Literal["poisson"]
    rate_per_day: Annotated[float, param(gt=0)] = Field(description="mean vessel arrivals per day")


class FittedArrivals(Frozen):
    """A renewal process: independent interarrival times from a fitted distribution.

    This is what ``arrivals: {kind: ais, mode: fit}`` becomes at load time.
    """

    kind: Literal["fitted"]
    distribution: Literal["exponential", "lognormal", "gamma"] = "exponential"
    mean_interarrival: Annotated[float, duration(gt=0)] = Field(description="mean time between arrivals, e.g. 5h")
    cv: Annotated[float, param(ge=0, le=MAX_CV)] = Field(
        1.0, description="coefficient of variation (ignored for exponential)")
    source: str = Field("", description="where the fit came from (set when derived from AIS)")


class ScheduledCall(Frozen):
    """One expected call: vessel name, ETA from the start of the run, optional TEU."""

    vessel: str
    eta: Duration = Field(description="expected arrival, from the start of the run (e.g. 30h, 2d)")
    teu: float | None = Field(None, gt=0, le=MAX_MAGNITUDE, description="TEU moved; empty = drawn from call_size")


class ScheduleArrivals(Frozen):
    """A liner schedule (or replayed AIS calls), optionally with random deviations from the ETAs."""

    kind: Literal["schedule"]
    calls: list[ScheduledCall] = Field(min_length=1, max_length=MAX_LIST_ITEMS)
    eta_sd: Annotated[float, duration()] = Field(0.0, description="sd of each vessel's deviation from its ETA")
    source: str = Field("", description="where the calls came from (set when derived from AIS)")


class AISArrivals(Frozen):
    """Arrivals derived from an AIS file at load time (CSV or NMEA, inside ``data_dir``).

    Port calls are found as speed under ``speed_below_kn`` inside ``port_polygon``; a silence longer
    than ``new_call_gap`` starts a new call. ``mode: fit`` turns them into a fitted renewal process
    (and, with a ``berth_polygon``, a call size matching the observed berth hours); ``mode: replay``
    into a schedule of the observed calls, each moving the TEU its observed berth time implies.
    """

    kind: Literal["ais"]
    file: str = Field(description="AIS file inside data_dir (.csv MarineCadastre, or .nmea)")
    format: Literal["csv", "nmea"] | None = Field(None, description="default: from the file suffix")
    port_polygon: list[LatLon] = Field(min_length=3, max_length=MAX_LIST_ITEMS,
                                       description="port limits incl. the anchorage, [lat, lon]")
    berth_polygon: list[LatLon] | None = Field(None, min_length=3, max_length=MAX_LIST_ITEMS,
                                               description="the quay, [lat, lon]")
    speed_below_kn: float = Field(5.0, gt=0, le=100)
    new_call_gap: Duration = Field(24.0, description="a silence longer than this starts a new call")
    vessel_types: tuple[AISType, AISType] | None = Field(
        None, description="AIS ship type codes to keep, e.g. [70, 89] for cargo ships and tankers")
    mode: Literal["fit", "replay"] = "fit"
    min_calls: int = Field(5, ge=2, le=MAX_LIST_ITEMS, description="fewer derived calls than this is an error")


Arrivals = Annotated[PoissonArrivals | FittedArrivals | ScheduleArrivals | AISArrivals,
                     Field(discriminator="kind")]


class Gate(Frozen):
    """The truck gate: import boxes leave the yard after their dwell time, one truck at a time."""

    trucks_per_h: Annotated[float, param(gt=0)] = Field(60.0, description="trucks the gate processes per hour")
    teu_per_truck: float = Field(1.6, gt=0, le=100, description="TEU a truck takes out")
    dwell: Annotated[float, duration(gt=0)] = Field(
        72.0, description="mean time an import box waits in the yard before pickup")
    dwell_cv: float = Field(0.5, ge=0, le=MAX_CV, description="coefficient of variation of the dwell (lognormal)")


class Operators(Frozen):
    """Vessel operators who divert their ships when the expected anchorage wait gets too long.

    Each vessel belongs to one of ``count`` operators (drawn per call); each operator has its own
    threshold (lognormal across operators: mean ``wait_threshold``, sd ``threshold_cv`` x mean).
    A vessel arriving when the port's expected wait (``port.wait_h``) passes its operator's
    threshold sails on at once; a vessel at anchor is diverted at its operator's next review
    (every ``review_every``) once the expected wait still ahead of it passes the threshold. A
    diverted vessel's cargo arrives ``extra_sailing`` later than planned.
    """

    count: int = Field(6, ge=1, le=1000, description="operators (carriers) calling at the port")
    wait_threshold: Annotated[float, duration(gt=0)] = Field(48.0, description="mean wait an operator accepts, e.g. 2d")
    threshold_cv: float = Field(0.5, ge=0, le=5, description="spread of thresholds between operators")
    review_every: Annotated[float, duration(gt=0)] = Field(
        6.0, description="how often operators review their waiting ships")
    extra_sailing: Annotated[float, duration(ge=0)] = Field(
        24.0, description="extra time a diverted call's cargo takes")
    to: str = Field("alternative port", description="where they go (a label in the results)")


class PortConfig(SystemConfig):
    """A container port: vessels queue at the anchorage for a berth, quay cranes move their boxes,
    imports go to the yard and leave through the truck gate.

    A berth serves one vessel at a time: ``berth_setup`` (mooring, unmooring) plus its TEU divided by
    the berth's crane rate (``cranes_per_berth * crane_moves_per_h * teu_per_move``). Crane work stops
    while the berth is closed, slows with failed cranes and capacity losses, and is throttled to the
    gate's pace while the yard is full.
    """

    kind: Literal["port"]
    arrivals: Arrivals
    berths: int = Field(ge=1, le=MAX_BERTHS, description="berths (each serves one vessel at a time)")
    location: LatLon | None = Field(None, description="(latitude, longitude) of the terminal")
    cranes_per_berth: int = Field(2, ge=1, le=MAX_CRANES_PER_BERTH)
    crane_moves_per_h: Annotated[float, param(gt=0)] = Field(28.0, description="moves per hour per quay crane")
    teu_per_move: float = Field(1.5, gt=0, le=100, description="TEU per crane move (TEU factor)")
    berth_setup: Annotated[float, duration()] = Field(2.0, description="mooring plus unmooring time per call")
    call_size: CallSize = Field(default_factory=lambda: CallSize(mean_teu=2000.0, cv=0.5))
    import_share: float = Field(0.5, ge=0, le=1, description="share of a call's TEU discharged into the yard")
    yard_capacity_teu: float = Field(50_000.0, gt=0, le=MAX_MAGNITUDE)
    yard_initial_teu: float = Field(0.0, ge=0, le=MAX_MAGNITUDE, description="import TEU in the yard at the start")
    gate: Gate = Field(default_factory=Gate)
    operators: Operators | None = Field(None, description="operators who divert ships when the wait is "
                                                          "too long; empty = every ship waits its turn")

    @field_validator("arrivals", mode="before")
    @classmethod
    def _arrivals_kind(cls, value: object) -> object:
        kinds = ("poisson", "fitted", "schedule", "ais")
        if isinstance(value, dict) and value.get("kind") not in kinds:
            raise ValueError(f"arrivals kind {value.get('kind')!r} is not one of {', '.join(kinds)}")
        return value

    @model_validator(mode="after")
    def _yard_fits(self) -> "PortConfig":
        if self.yard_initial_teu > self.yard_capacity_teu:
            raise ValueError(f"yard_initial_teu {self.yard_initial_teu:g} exceeds yard_capacity_teu "
                             f"{self.yard_capacity_teu:g}")
        return self

    def berth_names(self) -> list[str]:
        """``B1``, ``B2``, ...: the elements a disruption may target (``port.B2``)."""
        return [f"B{i + 1}" for i in range(self.berths)]
