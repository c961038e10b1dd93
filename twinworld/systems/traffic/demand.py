"""Demand: evacuating vehicles from households by zone (or OD trips), shelters, platoons."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from twinworld.systems.traffic.config import Mobilisation

__all__ = ["Vehicles", "departure_hours", "assign_destinations", "form_platoons"]


@dataclass
class Vehicles:
    """One row per vehicle: origin node, zone index, departure hour, destination row (-1 unset)."""

    origin: np.ndarray
    zone: np.ndarray
    depart_h: np.ndarray
    dest: np.ndarray

    @classmethod
    def concat(cls, parts: list["Vehicles"]) -> "Vehicles":
        if not parts:
            empty = np.zeros(0, np.int64)
            return cls(empty, empty.copy(), np.zeros(0), empty.copy())
        return cls(*(np.concatenate([getattr(p, f) for p in parts])
                     for f in ("origin", "zone", "depart_h", "dest")))


def departure_hours(curve: Mobilisation, quantiles: np.ndarray) -> np.ndarray:
    """Departure times (hours after the order) at the given quantiles of the mobilisation curve."""
    mean = float(curve.mean)  # type: ignore[arg-type]
    u = np.clip(quantiles, 0.0, 1.0 - 1e-12)
    if curve.curve == "uniform":
        return 2.0 * mean * u
    if curve.curve == "rayleigh":
        sigma = mean / math.sqrt(math.pi / 2.0)
        return sigma * np.sqrt(-2.0 * np.log1p(-u))
    scale = mean / 4.0  # logistic: 90% leave within about +-2.2 scale of the median... ~1.1 x mean
    return np.maximum(0.0, mean + scale * np.log(np.maximum(u, 1e-12) / (1.0 - u)))


def assign_destinations(vehicles: Vehicles, time_to_h: np.ndarray, capacity: np.ndarray, *,
                        rule: str) -> np.ndarray:
    """Destination row of each vehicle: ``nearest`` by free-flow time, or ``capacity_balanced``
    (in order of departure, the nearest destination that still has room; exits never fill)."""
    options = time_to_h[:, vehicles.origin]  # rows: destinations, columns: vehicles
    if rule == "nearest" or vehicles.origin.size == 0:
        return np.argmin(options, axis=0)
    prefs = np.argsort(options, axis=0).T
    left = capacity.astype(float).copy()
    dest = np.empty(vehicles.origin.size, np.int64)
    for i in np.argsort(vehicles.depart_h, kind="stable"):
        row = prefs[i]
        for d in row:
            if left[d] >= 1.0 and np.isfinite(options[d, i]):
                left[d] -= 1.0
                dest[i] = d
                break
        else:
            dest[i] = row[0]
    return dest


def form_platoons(vehicles: Vehicles, size: int) -> dict[str, np.ndarray]:
    """Group vehicles with the same origin, destination and zone, in departure order, ``size`` at a time.

    A platoon leaves at the mean departure time of its vehicles.
    """
    if vehicles.origin.size == 0:
        empty = np.zeros(0, np.int64)
        return {"origin": empty, "dest": empty, "zone": empty, "depart_h": np.zeros(0), "size": np.zeros(0)}
    order = np.lexsort((vehicles.depart_h, vehicles.zone, vehicles.origin, vehicles.dest))
    origin, dest, zone = vehicles.origin[order], vehicles.dest[order], vehicles.zone[order]
    new_group = np.ones(order.size, bool)
    new_group[1:] = (origin[1:] != origin[:-1]) | (dest[1:] != dest[:-1]) | (zone[1:] != zone[:-1])
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(order.size), 0))
    rank = np.arange(order.size) - group_start
    chunk_start = new_group | (rank % size == 0)
    chunk = np.cumsum(chunk_start) - 1
    counts = np.bincount(chunk).astype(float)
    depart = np.bincount(chunk, weights=vehicles.depart_h[order]) / counts
    first = np.flatnonzero(chunk_start)
    return {"origin": origin[first], "dest": dest[first], "zone": zone[first],
            "depart_h": depart, "size": counts}
