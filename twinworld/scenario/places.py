"""Places tie the systems of a region together: couplings resolved by location at load time.

- A coupling whose provider is a bare system (``provider: grid``) is fed by the element of that
  system nearest to the consumer: the provider's service with one placeholder that drives the
  coupling's kind (``bus.{bus}``) is filled with the nearest located element (a grid case's
  ``bus_locations``), within the provider's ``max_snap_km``; else a located error.
- A ``road_travel`` or ``casualties`` coupling from a road system adds the consumer's located
  facilities (hospitals, the ends of supply road lanes) to the road system's ``places`` (and
  casualties to ``casualty_places``), so the road system publishes their travel times and brings
  the injured to them. The road system's own check then says if one is off its network.
- A ``power`` coupling from a grid bus makes that bus a critical load with the consumer's declared
  criticality, so restoration and shedding follow what each bus feeds.

Every change is written into the scenario (``twinworld validate`` shows it), so a sweep's
manifest records the region exactly as it ran.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from twinworld.errors import Problem
from twinworld.systems.base import target_element, target_system

if TYPE_CHECKING:
    from twinworld.scenario.model import Scenario
    from twinworld.scenario.registry import Registry

__all__ = ["link_places", "haversine_km"]

_CRITICAL_KIND = {"hospital_region": "hospital", "water_network": "water", "road_network": "traffic_signals",
                  "port": "port", "supply_network": "warehouse"}


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(min(1.0, h)))


def link_places(scenario: Scenario, registry: Registry) -> tuple[Scenario, list[Problem], dict[str, tuple[int, str]]]:
    """The scenario with couplings resolved by location (see the module), what could not be, and
    which road places came from which coupling (so a place off the network is reported there)."""
    linker = _Linker(scenario, registry)
    for index, coupling in enumerate(scenario.couplings):
        linker.link(index, coupling)
    return linker.result(), linker.problems, linker.added_places


class _Linker:
    def __init__(self, scenario: Scenario, registry: Registry) -> None:
        self.scenario, self.registry = scenario, registry
        self.systems: dict[str, Any] = dict(scenario.systems)
        self.couplings = list(scenario.couplings)
        self.problems: list[Problem] = []
        self.changed = False
        self.added_places: dict[str, tuple[int, str]] = {}   # "systems.<roads>.places.<name>" -> coupling

    def result(self) -> Scenario:
        if not self.changed:
            return self.scenario
        return self.scenario.model_copy(update={"systems": self.systems, "couplings": self.couplings})

    def link(self, index: int, coupling: Any) -> None:
        provider, consumer = str(coupling.provider), str(coupling.consumer)
        psys, _, rest = provider.partition(".")
        csys = target_system(consumer)
        if psys not in self.systems or csys not in self.systems:
            return   # the contract check names the missing system
        if not rest:
            provider = self._nearest(index, coupling, psys, csys, target_element(consumer))
            if provider is None:
                return
        if coupling.kind in ("road_travel", "casualties") and hasattr(self.systems[psys], "places"):
            for name in self._add_places(psys, csys, target_element(consumer),
                                         casualties=coupling.kind == "casualties"):
                self.added_places[f"systems.{psys}.places.{name}"] = (index, f"{csys}.{name}")
        if coupling.kind == "power":
            self._critical(psys, provider, csys, target_element(consumer))

    # -------------------------------------------------------------------- bare providers --
    def _nearest(self, index: int, coupling: Any, psys: str, csys: str, element: str | None) -> str | None:
        path = f"couplings.{index}.provider"
        pplugin = self.registry.get(self.systems[psys].kind)
        services = [s for s in pplugin.services if coupling.kind in s.kinds and len(s.element_types) == 1]
        if not services:
            self.problems.append(Problem(f"{psys!r} has no service that drives a {coupling.kind} coupling from "
                                         "one element, so it cannot be matched by location", path,
                                         valid=f"a key such as {psys}.<service>.<element>"))
            return None
        service = services[0]
        wanted = service.element_types[0]
        elements = pplugin.elements(self.systems[psys])
        located = {n: loc for n, loc in pplugin.locations(self.systems[psys]).items() if elements.get(n) == wanted}
        where = self._location(csys, element)
        if where is None:
            self.problems.append(Problem(f"{coupling.consumer!r} has no location to match to a {wanted} of "
                                         f"{psys!r}", f"couplings.{index}.consumer",
                                         valid="give the facility a location, or name the provider key"))
            return None
        if not located:
            self.problems.append(Problem(f"{psys!r} places no {wanted} on the map, so {coupling.consumer!r} "
                                         "cannot be matched by location", path,
                                         valid=f"a {wanted} location table in {psys} (bus_locations), or "
                                               f"a key such as {service.key(psys, '<' + wanted + '>')}"))
            return None
        name, km = min(((n, haversine_km(where, loc)) for n, loc in located.items()), key=lambda x: x[1])
        limit = float(getattr(self.systems[psys], "max_snap_km", 5.0))
        if km > limit:
            self.problems.append(Problem(f"the nearest located {wanted} of {psys!r} ({name}) is {km:.1f} km "
                                         f"from {coupling.consumer!r}, beyond max_snap_km {limit:g}", path,
                                         valid=f"a {wanted} within {limit:g} km, or name the key"))
            return None
        key = service.key(psys, name)
        self.couplings[index] = coupling.model_copy(update={"provider": key})
        self.changed = True
        return key

    def _location(self, system: str, element: str | None) -> tuple[float, float] | None:
        """Where an element is, or the centre of a whole system's located elements."""
        located = self.registry.get(self.systems[system].kind).locations(self.systems[system])
        if element is not None:
            return located.get(element)
        if not located:
            return None
        points = list(located.values())
        return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))

    # --------------------------------------------------------------------------- roads --
    def _add_places(self, roads: str, consumer: str, element: str | None, *, casualties: bool) -> list[str]:
        config = self.systems[roads]
        cplugin = self.registry.get(self.systems[consumer].kind)
        located = cplugin.locations(self.systems[consumer])
        wanted = _facilities(self.systems[consumer], located, element)
        places = dict(config.places)
        added = {n: tuple(loc) for n, loc in wanted.items() if n not in places}
        places.update(added)
        update: dict[str, Any] = {"places": places}
        if casualties:
            update["casualty_places"] = list(dict.fromkeys([*config.casualty_places, *wanted]))
        if added or casualties:
            self.systems[roads] = config.model_copy(update=update)
            self.changed = True
        return list(added)

    # ------------------------------------------------------------------------ criticality --
    def _critical(self, psys: str, provider: str, csys: str, element: str | None) -> None:
        config = self.systems[psys]
        if not hasattr(config, "critical_loads"):
            return
        rest = provider.partition(".")[2]
        bus = rest.partition(".")[2] if rest.startswith("bus.") else None
        cplugin = self.registry.get(self.systems[csys].kind)
        kinds = [c for c in cplugin.consumes if "power" in c.kinds]
        criticality = max((c.criticality for c in kinds), default=0)
        if bus is None or criticality <= 0 or any(load.bus == bus for load in config.critical_loads):
            return
        if self.registry.get(config.kind).elements(config).get(bus) != "bus":
            return   # not a bus of the grid: the contract check says so at the coupling
        model = type(config).model_fields["critical_loads"].annotation.__args__[0]
        load = model(bus=bus, kind=_CRITICAL_KIND.get(cplugin.kind, "other"), priority=criticality,
                            name=f"{csys}.{element}" if element else csys)
        self.systems[psys] = config.model_copy(update={"critical_loads": [*config.critical_loads, load]})
        self.changed = True


def _facilities(config: Any, located: Mapping[str, tuple[float, float]],
                element: str | None) -> dict[str, tuple[float, float]]:
    """The consumer's located elements a road coupling needs: one element, its road lanes' ends
    (a supply network), or every located element (hospitals)."""
    if element is not None:
        return {element: located[element]} if element in located else {}
    lanes = getattr(config, "lanes", None)
    if lanes is not None:
        ends = {n for lane in lanes if lane.mode == "road" for n in (lane.origin, lane.destination)}
        return {n: loc for n, loc in located.items() if n in ends}
    return dict(located)
