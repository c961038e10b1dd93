"""How evacuating households behave: the ``households:`` part of a ``road_network`` section.

Left out, households leave along the ``mobilisation`` curve as a rule (the rule-based model).
Given, each household is an agent: it receives the order through official warning channels or from
its social contacts (word of mouth), decides whether to leave (its compliance), prepares, and
leaves with its vehicles; households outside the zones may leave too (shadow evacuation); a share
of drivers follows a navigation app. The departure curve is then an outcome, not an input.

The defaults are the limit in which the agents reproduce the rule-based model exactly: everyone
complies, one official order reaches everyone at once, preparation follows the ``mobilisation``
curve, nobody outside the zones leaves, every driver follows the same routes.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, field_validator, model_validator

from twinworld.limits import MAX_HOUSEHOLDS, MAX_LIST_ITEMS
from twinworld.params import LatLon, duration, param, step_duration
from twinworld.systems.base import Frozen

__all__ = ["Channel", "WordOfMouth", "HouseholdArea", "Shadow", "InformedDrivers", "HouseholdBehaviour", "Mobilisation",
           "LatLon", "Polygon", "check_polygon"]

Polygon = Annotated[list[LatLon], Field(max_length=MAX_LIST_ITEMS)]


def check_polygon(value: Polygon | None) -> Polygon | None:
    """A polygon needs at least three ``[lat, lon]`` corners."""
    if value is not None and len(value) < 3:
        raise ValueError("a polygon needs at least 3 [lat, lon] corners")
    return value


class HouseholdArea(Frozen):
    """An area of households given by a count or a count per road node, inside an optional polygon.

    Subclasses declare ``households``, ``households_per_node`` and ``polygon`` with their own
    descriptions; the checks live here once.
    """

    if TYPE_CHECKING:   # declared by each subclass, as fields of its own
        households: float | None
        households_per_node: float | None

    @model_validator(mode="after")
    def _one_count(self) -> "HouseholdArea":
        if (self.households is None) == (self.households_per_node is None):
            raise ValueError("give exactly one of households or households_per_node")
        return self

    @field_validator("polygon", check_fields=False)
    @classmethod
    def _polygon(cls, value: Polygon | None) -> Polygon | None:
        return check_polygon(value)


class Mobilisation(Frozen):
    """When households leave after the evacuation order (at time 0).

    ``rayleigh`` (the classic loading curve) and ``logistic`` have mean (median) ``mean``;
    ``uniform`` spreads departures evenly over ``[0, 2 x mean]``.
    """

    curve: Literal["rayleigh", "logistic", "uniform"] = "rayleigh"
    mean: Annotated[float, duration(gt=0)] = Field(1.0, description="mean (logistic: median) time to leave, e.g. 45min")


class Channel(Frozen):
    """An official warning channel: sirens, cell broadcast, radio and TV, door-to-door teams.

    A ``broadcast`` channel starts ``start`` after a zone's order and reaches a share ``reach`` of
    its households, each after its own delay (``delay``: exponential by default; lognormal with
    ``delay_cv``; 0 = at once). A ``door_to_door`` channel visits the zone's households still at
    home, ``households_per_h`` of them per hour, finding someone in with probability ``reach``.
    """

    name: str
    kind: Literal["broadcast", "door_to_door"] = "broadcast"
    start: Annotated[float, duration(ge=0)] = Field(0.0, description="after the zone's order, e.g. 5min")
    reach: Annotated[float, param(ge=0, le=1)] = Field(1.0, description="share of households it reaches")
    delay: Annotated[float, duration(ge=0)] = Field(0.0, description="mean time until a reached household takes "
                                                   "the warning in; 0 = at once")
    delay_distribution: Literal["exponential", "lognormal"] = "exponential"
    delay_cv: float = Field(1.0, gt=0, description="lognormal delays: sd / mean")
    area: Literal["zones", "everywhere"] = Field(
        "zones", description="zones: only households ordered out; everywhere: also those outside "
                             "the zones (cell broadcast, radio), which may then leave as shadow evacuees")
    weight: float = Field(1.0, gt=0, description="how persuasive it is, in warnings (an official "
                                                 "warning is 1; a knock on the door may count 2)")
    households_per_h: Annotated[float, param(gt=0, le=MAX_HOUSEHOLDS)] | None = Field(
        None, description="door_to_door: households all teams visit per hour")

    @model_validator(mode="after")
    def _rate(self) -> "Channel":
        if (self.kind == "door_to_door") != (self.households_per_h is not None):
            raise ValueError("households_per_h is given for (and only for) a door_to_door channel")
        if self.kind == "door_to_door" and self.area != "zones":
            raise ValueError("door_to_door teams visit the zones only (area: zones)")
        return self


class WordOfMouth(Frozen):
    """Warnings passed between households over a social network (networkx Watts-Strogatz).

    Households are placed on a ring by where they live, each knows ``contacts`` others (its
    nearest on the ring, with a share ``rewire`` of far-away ties). A warned household tells each
    contact with probability ``share_telling``, after an exponential delay of mean ``delay``; a
    household that hears it counts ``weight`` warnings, and each contact it sees leave counts
    ``departure_weight``. The network's shape is a static input (built once per process from
    ``seed``); who lives where on it follows the run's households.
    """

    contacts: int = Field(6, ge=2, le=50, description="social contacts per household (even)")
    rewire: float = Field(0.1, ge=0, le=1, description="share of contacts outside the neighbourhood")
    share_telling: Annotated[float, param(ge=0, le=1)] = Field(
        0.5, description="chance a warned household tells a contact")
    delay: Annotated[float, duration(gt=0)] = Field(0.5, description="mean time to tell a contact, e.g. 30min")
    weight: float = Field(0.5, ge=0, description="warnings a message from a contact counts as")
    departure_weight: float = Field(0.25, ge=0, description="warnings each contact seen leaving counts as")
    seed: int = Field(0, ge=0, description="the network's shape (not the run's seed: a static input)")


class Shadow(HouseholdArea):
    """Households outside the zones who were not ordered out but may leave (shadow evacuation).

    They live on the network's nodes outside every zone (inside ``polygon`` when given), take the
    warnings of channels with ``area: everywhere`` and word of mouth, and their first warning makes
    them leave with probability ``compliance`` (later ones confirm it, as for the zones). As we
    read NUREG/CR-7002 (2011), evacuation time estimates assume that 20% of the residents of a band
    beyond the planning zone leave: the default.
    """

    households: Annotated[float, param(ge=0, le=MAX_HOUSEHOLDS)] | None = Field(
        None, description="households in the shadow region")
    households_per_node: Annotated[float, param(ge=0, le=MAX_HOUSEHOLDS)] | None = Field(
        None, description="households per road node of the shadow region, instead of a count")
    polygon: Polygon | None = Field(None, description="[[lat, lon], ...] of the shadow region; "
                                                      "empty = every node outside the zones")
    compliance: Annotated[float, param(ge=0, le=1)] = Field(0.2, description="chance a warning makes one leave")


class InformedDrivers(Frozen):
    """Drivers with a navigation app follow routes re-planned on current travel times; the others
    follow the shortest routes at free-flow speed (re-planned only when roads close or open)."""

    share: Annotated[float, param(ge=0, le=1)] = Field(
        1.0, description="share of households whose drivers are informed")
    replan_every: Annotated[float, step_duration()] | None = Field(
        None, description="how often the app re-plans; empty = the system's own rerouting")


class HouseholdBehaviour(Frozen):
    """Households as agents that receive warnings, decide, prepare and leave.

    A household's compliance c (drawn per household: mean ``compliance``, sd ``compliance_sd``)
    is the chance that its first warning makes it leave; further warnings (another channel, a
    contact, neighbours seen leaving) confirm it, each counting ``confirmation`` times a first
    warning: after warnings worth w it has left with probability
    1 - (1 - c)^(min(w, 1) + confirmation x max(w - 1, 0)). Each household draws once how much it
    needs, so it decides alike under every strategy. It then prepares for a time drawn from
    ``preparation`` (default: the system's ``mobilisation`` curve) and leaves with its vehicles.
    """

    compliance: Annotated[float, param(ge=0, le=1)] = Field(1.0, description="mean chance the first warning makes a "
                                                           "household leave")
    confirmation: float = Field(0.25, ge=0, le=1, description="how much each further warning persuades, "
                                                              "relative to the first")
    compliance_sd: float = Field(0.0, ge=0, lt=0.5, description="spread of compliance between households "
                                                                "(a beta distribution); 0 = all alike")
    vehicles: list[float] | None = Field(
        None, max_length=100,
        description="shares of households with 0, 1, 2, ... vehicles; empty = the system's "
                    "vehicles_per_household (cars drawn as the rule-based model draws them)")
    preparation: Mobilisation | None = Field(None, description="time to get ready once decided; "
                                                               "empty = the system's mobilisation curve")
    channels: list[Channel] = Field(default_factory=lambda: [Channel(name="order")], min_length=1,
                                    max_length=MAX_LIST_ITEMS)
    word_of_mouth: WordOfMouth | None = None
    shadow: Shadow | None = None
    informed_drivers: InformedDrivers = Field(default_factory=InformedDrivers)
    epoch: Annotated[float, step_duration()] = Field(1 / 12, description="how often households take stock, e.g. 5min")

    @field_validator("vehicles")
    @classmethod
    def _shares(cls, value: list[float] | None) -> list[float] | None:
        if value is None:
            return value
        if not value or any(not math.isfinite(v) or v < 0 for v in value) or sum(value) <= 0:
            raise ValueError("vehicle shares must be finite, non-negative and not all zero")
        return value

    @field_validator("channels")
    @classmethod
    def _unique(cls, value: list[Channel]) -> list[Channel]:
        names = [c.name for c in value]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"channel names must be unique; repeated: {', '.join(repeated)}")
        return value
