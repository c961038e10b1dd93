"""Demand: evacuating vehicles from households by zone (or OD trips), shelters, platoons."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from twinworld.systems.traffic.config import Mobilisation

__all__ = ["Vehicles", "departure_hours", "assign_destinations", "form_platoons", "platoon_chunks"]


@dataclass
class Vehicles:
    """One row per vehicle: origin node, zone index, departure hour, destination row (-1 unset),
    and whether its driver is informed (follows a navigation app; None: every driver is)."""

    origin: np.ndarray
    zone: np.ndarray
    depart_h: np.ndarray
    dest: np.ndarray
    informed: np.ndarray | None = None

    @classmethod
    def concat(cls, parts: list["Vehicles"]) -> "Vehicles":
        if not parts:
            empty = np.zeros(0, np.int64)
            return cls(empty, empty.copy(), np.zeros(0), empty.copy())
        origin, zone, depart_h, dest = (np.concatenate([getattr(p, f) for p in parts])
                                        for f in ("origin", "zone", "depart_h", "dest"))
        informed = None
        if any(p.informed is not None for p in parts):
            informed = np.concatenate([np.ones(p.origin.size, bool) if p.informed is None else p.informed
                                       for p in parts])
        return cls(origin, zone, depart_h, dest, informed=informed)

    def take(self, rows: np.ndarray) -> "Vehicles":
        """The vehicles at ``rows``."""
        return Vehicles(self.origin[rows], self.zone[rows], self.depart_h[rows], self.dest[rows],
                        None if self.informed is None else self.informed[rows])


def departure_hours(curve: Mobilisation, quantiles: np.ndarray) -> np.ndarray:
    """Departure times (hours after the order) at the given quantiles of the mobilisation curve."""
    mean = float(curve.mean)
    u = np.clip(quantiles, 0.0, 1.0 - 1e-12)
    if curve.curve == "uniform":
        return 2.0 * mean * u
    if curve.curve == "rayleigh":
        sigma = mean / math.sqrt(math.pi / 2.0)
        return sigma * np.sqrt(-2.0 * np.log1p(-u))
    scale = mean / 4.0  # logistic: 90% leave within about +-2.2 scale of the median... ~1.1 x mean
    return np.maximum(0.0, mean + scale * np.log(np.maximum(u, 1e-12) / (1.0 - u)))


def assign_destinations(vehicles: Vehicles, time_to_h: np.ndarray, capacity: np.ndarray, *,
                        rule: str, left: np.ndarray | None = None) -> np.ndarray:
    """Destination row of each vehicle: ``nearest`` by free-flow time, or ``capacity_balanced``
    (in order of departure, the nearest destination that still has room; exits never fill).

    ``left`` (room left per destination, updated in place) carries the capacity from one batch of
    vehicles to the next when they are assigned as households decide; default: all of ``capacity``.
    """
    options = time_to_h[:, vehicles.origin]  # rows: destinations, columns: vehicles
    if rule == "nearest" or vehicles.origin.size == 0:
        return np.argmin(options, axis=0)
    prefs = np.argsort(options, axis=0).T
    if left is None:
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


def platoon_chunks(vehicles: Vehicles, size: int) -> tuple[np.ndarray, np.ndarray]:
    """How :func:`form_platoons` groups vehicles: the sort ``order`` and each sorted vehicle's
    ``chunk`` (platoon number). Vehicles with the same origin, destination, zone (and informed
    flag, when given) form a group, in departure order, ``size`` at a time."""
    keys: tuple[np.ndarray, ...] = (vehicles.depart_h, vehicles.zone, vehicles.origin, vehicles.dest)
    if vehicles.informed is not None:
        keys = (vehicles.depart_h, vehicles.informed, vehicles.zone, vehicles.origin, vehicles.dest)
    order = np.lexsort(keys)
    origin, dest, zone = vehicles.origin[order], vehicles.dest[order], vehicles.zone[order]
    new_group = np.ones(order.size, bool)
    new_group[1:] = (origin[1:] != origin[:-1]) | (dest[1:] != dest[:-1]) | (zone[1:] != zone[:-1])
    if vehicles.informed is not None:
        informed = vehicles.informed[order]
        new_group[1:] |= informed[1:] != informed[:-1]
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(order.size), 0))
    rank = np.arange(order.size) - group_start
    chunk_start = new_group | (rank % size == 0)
    return order, np.cumsum(chunk_start) - 1


def form_platoons(vehicles: Vehicles, size: int) -> dict[str, np.ndarray]:
    """Group vehicles with the same origin, destination and zone, in departure order, ``size`` at a time.

    A platoon leaves at the mean departure time of its vehicles. With ``informed`` flags, informed
    and other drivers form separate platoons (``informed`` per platoon is returned too).
    """
    if vehicles.origin.size == 0:
        empty = np.zeros(0, np.int64)
        found = {"origin": empty, "dest": empty, "zone": empty, "depart_h": np.zeros(0), "size": np.zeros(0)}
        if vehicles.informed is not None:
            found["informed"] = np.zeros(0, bool)
        return found
    order, chunk = platoon_chunks(vehicles, size)
    counts = np.bincount(chunk).astype(float)
    depart = np.bincount(chunk, weights=vehicles.depart_h[order]) / counts
    first = np.flatnonzero(np.diff(chunk, prepend=-1))
    found = {"origin": vehicles.origin[order][first], "dest": vehicles.dest[order][first],
             "zone": vehicles.zone[order][first], "depart_h": depart, "size": counts}
    if vehicles.informed is not None:
        found["informed"] = vehicles.informed[order][first]
    return found
