"""Current link travel times for route choice, from the kinematic-wave state of each link.

UXsim's dynamic user optimum routes on each link's *instantaneous* travel time: its length over
the mean speed of the vehicles on it. The event engine has no vehicle positions, but the
kinematic wave model tells their speeds: a platoon that has not yet reached the link's exit moves
at the free-flow speed; a platoon queued at the exit stands in the congested state whose flow is
the rate the link is discharging its queue, at density ``k_j - rate / w`` (the congested branch of
the triangular fundamental diagram) and speed ``rate / density``. A link held back by spillback
discharges slowly, so its queue crawls and its time is long, however large its capacity.

The discharge rate is measured (:class:`DischargeMeter`): vehicles that left from a queue over the
time the exit was busy with them, exponentially weighted over the link's memory (the longer of its
free-flow time and the backward wave's crossing time: how long the link's state takes to reflect
what happens at its ends).
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from twinworld.systems.traffic.network import RoadNetwork

__all__ = ["DischargeMeter", "fd_wave_speed_kmh", "instantaneous_times_h", "platoons_on_links",
           "wave_speed_kmh"]

EPS_H: Final = 1e-12
#: Slowest mean speed as a share of free flow (UXsim's floor: a link whose vehicles all stand
#: still takes 100 x its free-flow time).
MIN_SPEED_SHARE: Final = 0.01


def wave_speed_kmh(network: RoadNetwork, *, floor_kmh: float = 5.0) -> np.ndarray:
    """Backward wave speed of each link's triangular fundamental diagram (km/h), as built."""
    return fd_wave_speed_kmh(network.capacity_veh_h, network.speed_kmh,
                             network.storage_veh / np.maximum(network.length_km, 1e-9),
                             floor_kmh=floor_kmh)


def fd_wave_speed_kmh(capacity_veh_h: np.ndarray, speed_kmh: np.ndarray, jam_veh_km: np.ndarray, *,
                      floor_kmh: float = 5.0) -> np.ndarray:
    """Backward wave speed of triangular fundamental diagrams: w = q / (k_j - q / v) (km/h).

    Clipped to ``[floor_kmh, v]`` (a capacity beyond what the jam density allows would make it
    infinite or negative).
    """
    capacity = np.asarray(capacity_veh_h, float)
    speed = np.asarray(speed_kmh, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        wave = capacity / np.maximum(jam_veh_km - capacity / speed, 1e-9)
    return np.clip(np.nan_to_num(wave, nan=floor_kmh), floor_kmh, np.maximum(speed, floor_kmh))


class DischargeMeter:
    """How fast each link has lately been discharging its queue (vehicles per hour).

    Parameters
    ----------
    memory_h
        Per link, the time constant of the exponential weighting (hours).
    """

    def __init__(self, memory_h: np.ndarray) -> None:
        self.memory_h = np.maximum(np.asarray(memory_h, float), EPS_H)
        self._memory: list[float] = self.memory_h.tolist()
        n_links = len(self._memory)
        self.served_veh = [0.0] * n_links
        self.busy_h = [0.0] * n_links
        self.last_exit_h = [0.0] * n_links

    def record(self, link: int, now: float, ready: float, n: float) -> None:
        """A platoon of ``n`` vehicles, due at the exit at ``ready``, left ``link`` at ``now``."""
        last = self.last_exit_h[link]
        decay = math.exp(-(now - last) / self._memory[link])
        busy = self.busy_h[link] * decay
        served = self.served_veh[link] * decay
        if now > ready + EPS_H:  # it waited at the exit: the exit was busy serving the queue
            start = last if last > ready else ready
            if now > start:
                busy += now - start
            served += n
        self.busy_h[link] = busy
        self.served_veh[link] = served
        self.last_exit_h[link] = now

    def rate_veh_h(self, now: float, head_due_h: np.ndarray, capacity: np.ndarray) -> np.ndarray:
        """Discharge rate of every link; ``capacity`` where it has not been queued lately.

        ``head_due_h`` is when each link's head platoon was due at the exit (inf: no platoon): a
        head still waiting has kept the exit busy since then, serving nobody yet.
        """
        last = np.asarray(self.last_exit_h)
        decay = np.exp(-(now - last) / self.memory_h)
        busy = np.asarray(self.busy_h) * decay
        served = np.asarray(self.served_veh) * decay
        waiting = now - np.maximum(last, head_due_h)
        busy = busy + np.where(np.isfinite(head_due_h) & (waiting > 0), waiting, 0.0)
        return np.where(busy > EPS_H, served / np.maximum(busy, EPS_H), capacity)


def platoons_on_links(queues: list, ready_h: list[float], size: list[float],
                      now: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per link: vehicles moving (not yet due at the exit), vehicles queued, and when the head
    platoon was due at the exit (inf for an empty link)."""
    n_links = len(queues)
    moving, queued = np.zeros(n_links), np.zeros(n_links)
    head_due = np.full(n_links, np.inf)
    for link, queue in enumerate(queues):
        if queue:
            head_due[link] = ready_h[queue[0]]
            for p in queue:
                if ready_h[p] > now:
                    moving[link] += size[p]
                else:
                    queued[link] += size[p]
    return moving, queued, head_due


def instantaneous_times_h(*, free_flow_h: np.ndarray, length_km: np.ndarray, storage_veh: np.ndarray,
                          wave_kmh: np.ndarray, rate_veh_h: np.ndarray, capacity_veh_h: np.ndarray,
                          moving_veh: np.ndarray, queued_veh: np.ndarray) -> np.ndarray:
    """Each link's length over the mean speed of its vehicles (hours; free flow when empty).

    Moving vehicles count at the free-flow speed, queued ones at the speed of the congested state
    that discharges at ``rate_veh_h`` (clipped to 1%..100% of capacity).
    """
    length = np.maximum(length_km, 1e-9)
    speed = length / np.maximum(free_flow_h, EPS_H)
    cap = np.maximum(capacity_veh_h, 1e-9)
    rate = np.clip(rate_veh_h, cap / 100.0, cap)
    density = np.maximum(storage_veh / length - rate / np.maximum(wave_kmh, 1e-9), rate / speed)
    queued_share = np.minimum(1.0, rate / density / speed)
    total = moving_veh + queued_veh
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, (moving_veh + queued_veh * queued_share) / total, 1.0)
    return free_flow_h / np.maximum(share, MIN_SPEED_SHARE)
