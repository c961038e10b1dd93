"""Ambulance travel times between a region's hospitals (minutes)."""

from __future__ import annotations

import math

from twinworld.systems.hospital.config import HospitalRegionConfig

__all__ = ["travel_matrix_min", "haversine_km"]

ROAD_DETOUR = 1.3  # road distance / straight-line distance, a common urban rule of thumb


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def travel_matrix_min(config: HospitalRegionConfig) -> dict[str, dict[str, float]]:
    """Minutes between every pair of hospitals.

    Taken from ``travel_time_min`` where given (one direction is enough), otherwise estimated from
    locations (straight-line distance x 1.3 at ``road_speed_kmh``); pairs with neither are unreachable
    (infinite).
    """
    names = config.hospital_names()
    given = config.travel_time_min or {}
    locations = {h.name: h.location for h in config.hospitals}
    matrix: dict[str, dict[str, float]] = {a: {} for a in names}
    for a in names:
        for b in names:
            if a == b:
                matrix[a][b] = 0.0
            elif b in given.get(a, {}):
                matrix[a][b] = float(given[a][b])
            elif a in given.get(b, {}):
                matrix[a][b] = float(given[b][a])
            elif locations[a] is not None and locations[b] is not None:
                km = haversine_km(locations[a], locations[b]) * ROAD_DETOUR
                matrix[a][b] = 60.0 * km / config.road_speed_kmh
            else:
                matrix[a][b] = math.inf
    return matrix
