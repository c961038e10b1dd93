"""Vehicles of households that decided, waiting to be formed into platoons and put on the roads.

The rule-based model knows every departure at the start and forms platoons once
(:func:`~twinworld.systems.traffic.demand.form_platoons`). When households decide during the run,
their vehicles arrive in batches: each gets a destination as it comes (capacity carried over), and
platoons are released to the engine as soon as they are final: a full platoon at once, a partial
one when its first vehicle is due before the next epoch. When nobody can decide any more, all
that waits is released together, so a population that decides at once gives exactly the
rule-based platoons.
"""

from __future__ import annotations

import numpy as np

from twinworld.systems.traffic.demand import Vehicles, assign_destinations, form_platoons, platoon_chunks

__all__ = ["DepartureBuffer"]


class DepartureBuffer:
    """Vehicles decided but not yet on the roads.

    Parameters
    ----------
    platoon_size
        Vehicles per platoon.
    time_to_h
        Free-flow hours from every node to each destination (rows), for the shelter choice.
    capacity
        Each destination's capacity in vehicles (inf for an exit).
    rule
        ``nearest`` or ``capacity_balanced`` (see :func:`assign_destinations`).
    """

    def __init__(self, platoon_size: int, time_to_h: np.ndarray, capacity: np.ndarray, *, rule: str) -> None:
        self.size = platoon_size
        self.time_to_h = time_to_h
        self.capacity = capacity
        self.left = capacity.astype(float).copy()
        self.rule = rule
        self.pending = Vehicles.concat([])

    def __len__(self) -> int:
        return int(self.pending.origin.size)

    def add(self, vehicles: Vehicles) -> None:
        """Vehicles whose households decided now; those without a destination get one."""
        unset = vehicles.dest < 0
        if unset.any():
            vehicles.dest[unset] = assign_destinations(vehicles.take(np.flatnonzero(unset)), self.time_to_h,
                                                       self.capacity, rule=self.rule, left=self.left)
        self.pending = vehicles if len(self) == 0 else Vehicles.concat([self.pending, vehicles])

    def release(self, *, due_before_h: float, final: bool) -> dict[str, np.ndarray] | None:
        """Platoons ready to go: all of them if ``final``, else the full ones and those whose first
        vehicle leaves before ``due_before_h``. None when there is nothing to release."""
        pending = self.pending
        if len(self) == 0:
            return None
        if final:
            self.pending = Vehicles.concat([])
            return form_platoons(pending, self.size)
        order, chunk = platoon_chunks(pending, self.size)
        counts = np.bincount(chunk)
        earliest = np.full(counts.size, np.inf)
        np.minimum.at(earliest, chunk, pending.depart_h[order])
        ready = (counts >= self.size) | (earliest < due_before_h)
        if not ready.any():
            return None
        going = np.zeros(len(self), bool)
        going[order[ready[chunk]]] = True
        self.pending = pending.take(np.flatnonzero(~going))
        return form_platoons(pending.take(np.flatnonzero(going)), self.size)
