"""Telemetry events of the built-in systems: what happened, as it is reported.

An event message is a JSON object with a ``kind`` (and the reserved envelope keys ``time`` and
``id``), published on ``<prefix>/<system>/event``. Each kind is a strict pydantic model: unknown
fields, wrong types, non-finite numbers and values out of their physical range are quarantined.

An event that changes what is broken or present now (a line tripped, a road closed, a berth out, a
stock count) has a *facet*: the twin keeps the latest event per facet and element, and folds it
into the system's observed state (:meth:`Event.apply`). Events without a facet (``admissions``)
are observations for calibration only; they stay in the history.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Event", "EVENTS", "event_models", "Admissions", "PortClosed", "PortReopened", "BerthOut",
           "BerthBack", "CranesOut", "VesselArrived", "VesselDeparted", "VesselPosition", "StockCount",
           "RoadClosed", "RoadReopened", "LinkCount", "LineTripped", "LineRestored", "GeneratorTripped",
           "GeneratorRestored"]

NAME = Field(min_length=1, max_length=200)


class Event(BaseModel):
    """Base of every event: strict about input, numbers finite."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True, frozen=True)

    #: The field naming the element the event is about (checked against the scenario), if any.
    element_field: ClassVar[str | None] = None
    #: Its element type (``hospital``, ``line`` ...).
    element_type: ClassVar[str | None] = None
    #: Latest-per-element key; "" = an observation only (kept in the history, not in the state).
    facet: ClassVar[str] = ""

    def element(self) -> str:
        return str(getattr(self, self.element_field)) if self.element_field else ""

    def apply(self, state: dict[str, Any], context: Any) -> None:
        """Fold this event into a system's state (a plain dict of its observable model)."""


def _add(items: list[str], name: str) -> None:
    if name not in items:
        items.append(name)


def _remove(items: list[str], name: str) -> None:
    if name in items:
        items.remove(name)


# --------------------------------------------------------------------------- hospitals --
class Admissions(Event):
    """Emergency and elective patients admitted at a hospital in the ``hours`` ending at ``time``."""

    element_field: ClassVar[str | None] = "hospital"
    element_type: ClassVar[str | None] = "hospital"

    kind: Literal["admissions"]
    hospital: str = NAME
    count: int = Field(ge=0, le=100_000, description="patients who arrived for a bed")
    hours: float = Field(1.0, gt=0, le=168, description="length of the counting period")


# -------------------------------------------------------------------------------- port --
class PortClosed(Event):
    """The whole port stopped working (strike, storm)."""

    facet: ClassVar[str] = "open"
    kind: Literal["port_closed"]

    def apply(self, state: dict[str, Any], context: Any) -> None:
        state["open"] = False


class PortReopened(Event):
    """The port works again."""

    facet: ClassVar[str] = "open"
    kind: Literal["port_reopened"]

    def apply(self, state: dict[str, Any], context: Any) -> None:
        state["open"] = True


def _berth(state: dict[str, Any], name: str) -> dict[str, Any]:
    return state.setdefault("berths", {}).setdefault(name, {})


class BerthOut(Event):
    """A berth is closed (damaged, blocked)."""

    element_field: ClassVar[str | None] = "berth"
    element_type: ClassVar[str | None] = "berth"
    facet: ClassVar[str] = "berth"
    kind: Literal["berth_out"]
    berth: str = NAME

    def apply(self, state: dict[str, Any], context: Any) -> None:
        _berth(state, self.berth)["open"] = False


class BerthBack(Event):
    """A closed berth works again."""

    element_field: ClassVar[str | None] = "berth"
    element_type: ClassVar[str | None] = "berth"
    facet: ClassVar[str] = "berth"
    kind: Literal["berth_back"]
    berth: str = NAME

    def apply(self, state: dict[str, Any], context: Any) -> None:
        _berth(state, self.berth)["open"] = True


class CranesOut(Event):
    """How many quay cranes of a berth are out of service now (0 when all are back)."""

    element_field: ClassVar[str | None] = "berth"
    element_type: ClassVar[str | None] = "berth"
    facet: ClassVar[str] = "cranes"
    kind: Literal["cranes_out"]
    berth: str = NAME
    cranes: int = Field(ge=0, le=100)

    def apply(self, state: dict[str, Any], context: Any) -> None:
        _berth(state, self.berth)["cranes_out"] = self.cranes


class VesselArrived(Event):
    """A vessel reached the anchorage and waits for a berth (a port call begins)."""

    element_field: ClassVar[str | None] = "vessel"
    element_type: ClassVar[str | None] = "vessel"
    facet: ClassVar[str] = "vessel"
    kind: Literal["vessel_arrived"]
    vessel: str = NAME
    teu: float | None = Field(None, gt=0, le=100_000, description="TEU to move; empty = the port's mean")

    def apply(self, state: dict[str, Any], context: Any) -> None:
        context.vessel_at_anchor(state, self.vessel, self.teu)


class VesselDeparted(Event):
    """A vessel left (its call is over, or it was diverted)."""

    element_field: ClassVar[str | None] = "vessel"
    element_type: ClassVar[str | None] = "vessel"
    facet: ClassVar[str] = "vessel"
    kind: Literal["vessel_departed"]
    vessel: str = NAME

    def apply(self, state: dict[str, Any], context: Any) -> None:
        state["anchorage"] = [v for v in state.get("anchorage", []) if v.get("name") != self.vessel]


class VesselPosition(Event):
    """One AIS position report (the AIS feed turns NMEA sentences into these)."""

    element_field: ClassVar[str | None] = "mmsi"
    element_type: ClassVar[str | None] = "vessel"
    facet: ClassVar[str] = "position"
    kind: Literal["vessel_position"]
    mmsi: int = Field(ge=100_000_000, le=999_999_999)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    sog_kn: float = Field(ge=0, le=102.2, description="speed over ground, knots")
    name: str | None = Field(None, max_length=200)


# ------------------------------------------------------------------------------ supply --
class StockCount(Event):
    """A stock count at a warehouse: units on hand now."""

    element_field: ClassVar[str | None] = "warehouse"
    element_type: ClassVar[str | None] = "warehouse"
    facet: ClassVar[str] = "stock"
    kind: Literal["stock_count"]
    warehouse: str = NAME
    on_hand: int = Field(ge=0, le=1_000_000_000)

    def apply(self, state: dict[str, Any], context: Any) -> None:
        state.setdefault("warehouses", {}).setdefault(self.warehouse, {})["on_hand"] = self.on_hand


# ------------------------------------------------------------------------------- roads --
class RoadClosed(Event):
    """A road link is closed (flood, crash, police)."""

    element_field: ClassVar[str | None] = "link"
    element_type: ClassVar[str | None] = "link"
    facet: ClassVar[str] = "closed"
    kind: Literal["road_closed"]
    link: str = NAME

    def apply(self, state: dict[str, Any], context: Any) -> None:
        _add(state.setdefault("closed_links", []), self.link)


class RoadReopened(Event):
    """A closed road link is open again."""

    element_field: ClassVar[str | None] = "link"
    element_type: ClassVar[str | None] = "link"
    facet: ClassVar[str] = "closed"
    kind: Literal["road_reopened"]
    link: str = NAME

    def apply(self, state: dict[str, Any], context: Any) -> None:
        _remove(state.setdefault("closed_links", []), self.link)


class LinkCount(Event):
    """Vehicles counted on a link now (a loop detector or camera)."""

    element_field: ClassVar[str | None] = "link"
    element_type: ClassVar[str | None] = "link"
    facet: ClassVar[str] = "vehicles"
    kind: Literal["link_count"]
    link: str = NAME
    vehicles: float = Field(ge=0, le=100_000)

    def apply(self, state: dict[str, Any], context: Any) -> None:
        state.setdefault("vehicles_on_links", {})[self.link] = self.vehicles


# -------------------------------------------------------------------------------- grid --
class LineTripped(Event):
    """A branch (line or transformer) is out of service."""

    element_field: ClassVar[str | None] = "line"
    element_type: ClassVar[str | None] = "line"
    facet: ClassVar[str] = "line"
    kind: Literal["line_tripped"]
    line: str = NAME

    def apply(self, state: dict[str, Any], context: Any) -> None:
        _add(state.setdefault("lines_out", []), self.line)


class LineRestored(Event):
    """A branch is back in service."""

    element_field: ClassVar[str | None] = "line"
    element_type: ClassVar[str | None] = "line"
    facet: ClassVar[str] = "line"
    kind: Literal["line_restored"]
    line: str = NAME

    def apply(self, state: dict[str, Any], context: Any) -> None:
        _remove(state.setdefault("lines_out", []), self.line)


class GeneratorTripped(Event):
    """A generating unit is out of service."""

    element_field: ClassVar[str | None] = "generator"
    element_type: ClassVar[str | None] = "generator"
    facet: ClassVar[str] = "generator"
    kind: Literal["generator_tripped"]
    generator: str = NAME

    def apply(self, state: dict[str, Any], context: Any) -> None:
        _add(state.setdefault("generators_out", []), self.generator)


class GeneratorRestored(Event):
    """A generating unit is back in service."""

    element_field: ClassVar[str | None] = "generator"
    element_type: ClassVar[str | None] = "generator"
    facet: ClassVar[str] = "generator"
    kind: Literal["generator_restored"]
    generator: str = NAME

    def apply(self, state: dict[str, Any], context: Any) -> None:
        _remove(state.setdefault("generators_out", []), self.generator)


#: System kind -> its event models.
EVENTS: dict[str, tuple[type[Event], ...]] = {
    "hospital_region": (Admissions,),
    "port": (PortClosed, PortReopened, BerthOut, BerthBack, CranesOut, VesselArrived, VesselDeparted,
             VesselPosition),
    "supply_network": (StockCount,),
    "road_network": (RoadClosed, RoadReopened, LinkCount),
    "power_grid": (LineTripped, LineRestored, GeneratorTripped, GeneratorRestored),
}


def event_models(kind: str) -> dict[str, type[Event]]:
    """Event ``kind`` literal -> model, for a system kind (empty for kinds without events)."""
    return {model.model_fields["kind"].annotation.__args__[0]: model  # type: ignore[union-attr]
            for model in EVENTS.get(kind, ())}
