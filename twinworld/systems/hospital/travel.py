"""Ambulance travel times between a region's hospitals (minutes)."""

from __future__ import annotations

import math

from twinworld.systems.hospital.config import HospitalRegionConfig

__all__ = ["travel_matrix_min", "haversine_km", "TravelTimes", "has_any_route"]

ROAD_DETOUR = 1.3  # road distance / straight-line distance, a common urban rule of thumb


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


class TravelTimes:
    """Minutes from one hospital to every other, computed per origin when first asked for.

    Taken from ``travel_time_min`` where given (one direction is enough), otherwise estimated from
    locations (straight-line distance x 1.3 at ``road_speed_kmh``); pairs with neither are
    unreachable (infinite). A region of N hospitals costs O(N) per origin actually used, never a
    full N x N matrix up front.
    """

    def __init__(self, config: HospitalRegionConfig) -> None:
        self.names = config.hospital_names()
        self.given = config.travel_time_min or {}
        self.locations = {h.name: h.location for h in config.hospitals}
        self.speed_kmh = config.road_speed_kmh
        self._rows: dict[str, dict[str, float]] = {}

    def minutes(self, a: str, b: str) -> float:
        if a == b:
            return 0.0
        if b in self.given.get(a, {}):
            return float(self.given[a][b])
        if a in self.given.get(b, {}):
            return float(self.given[b][a])
        here, there = self.locations[a], self.locations[b]
        if here is not None and there is not None:
            return 60.0 * haversine_km(here, there) * ROAD_DETOUR / self.speed_kmh
        return math.inf

    def row(self, origin: str) -> dict[str, float]:
        """Minutes from ``origin`` to every hospital (cached)."""
        found = self._rows.get(origin)
        if found is None:
            found = self._rows[origin] = {b: self.minutes(origin, b) for b in self.names}
        return found

    def __getitem__(self, origin: str) -> dict[str, float]:
        return self.row(origin)


def travel_matrix_min(config: HospitalRegionConfig) -> dict[str, dict[str, float]]:
    """Minutes between every pair of hospitals (a full N x N matrix: for small regions and tests)."""
    times = TravelTimes(config)
    return {a: times.row(a) for a in times.names}


def has_any_route(config: HospitalRegionConfig) -> bool:
    """True when at least one pair of distinct hospitals has a finite travel time (O(N))."""
    names = set(config.hospital_names())
    for origin, row in (config.travel_time_min or {}).items():
        if origin in names and any(other in names and other != origin for other in row):
            return True
    return sum(h.location is not None for h in config.hospitals) >= 2
