"""Island balancing: who generates, who is served, who is shed, after outages split the grid.

Every island of the outaged grid must balance (generation = served load) before its flows can be
computed. Per island:

1. no generator in service: dark, except buses with a microgrid that carry their own load;
2. demand above the island's generating capacity: microgrid buses island themselves off, then whole
   buses are shed in the given order (lowest priority first) until demand fits;
3. generation follows the served load: ``slack`` lets the island's slack unit take the mismatch
   (others keep their set points, helping only past the slack's limit), ``proportional`` shares it
   among all units by headroom (up) or output (down).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from twinworld.systems.grid.engine import Islands

__all__ = ["Fleet", "Dispatch", "dispatch"]

_EPS = 1e-9


@dataclass
class Fleet:
    """Generating units of one run: bus, set point, limits, whether in service, slack role."""

    bus: np.ndarray
    setpoint_mw: np.ndarray
    pmax_mw: np.ndarray
    on: np.ndarray
    slack: np.ndarray
    can_absorb: np.ndarray

    def __len__(self) -> int:
        return len(self.bus)


@dataclass
class Dispatch:
    """The balanced state of every island."""

    gen_mw: np.ndarray
    served_mw: np.ndarray
    energised: np.ndarray
    shed_mw: float
    injection_mw: np.ndarray
    self_supplied: np.ndarray


def dispatch(islands: Islands, demand_mw: np.ndarray, fleet: Fleet, *, shed_order: np.ndarray,
             policy: Literal["slack", "proportional"] = "proportional",
             microgrid_mw: np.ndarray | None = None) -> Dispatch:
    """Balance every island; returns generation, served load and the buses left energised.

    Parameters
    ----------
    islands
        Components of the outaged grid.
    demand_mw
        Net demand per bus (negative where local generation exceeds load).
    fleet
        Generators; units whose ``on`` is False produce nothing.
    shed_order
        Bus indices, first shed first (buses not listed are never shed for a deficit).
    policy
        ``slack`` or ``proportional`` (see the module docstring).
    microgrid_mw
        Local generating capacity per bus that can carry that bus alone when its island cannot.
    """
    labels, count = islands.labels, islands.count
    n_bus = len(demand_mw)
    gen_on = fleet.on & (fleet.pmax_mw > 0)
    gen_island = labels[fleet.bus[gen_on]]
    capacity = np.bincount(gen_island, weights=fleet.pmax_mw[gen_on], minlength=count)
    has_gen = np.bincount(gen_island, minlength=count) > 0
    served = np.array(demand_mw, dtype=float)
    energised = has_gen[labels]
    self_supplied = np.zeros(n_bus, dtype=bool)
    if microgrid_mw is not None and microgrid_mw.any():
        can_self = (microgrid_mw > 0) & (microgrid_mw + _EPS >= np.maximum(demand_mw, 0.0))
        self_supplied = ~energised & can_self
        energised = energised | self_supplied
    else:
        can_self = self_supplied
    served[~energised] = 0.0
    demand_island = np.bincount(labels, weights=np.where(has_gen[labels], served, 0.0), minlength=count)
    deficit = np.where(has_gen, demand_island - capacity, 0.0)
    if (deficit > _EPS).any():
        _shed(shed_order, labels, deficit, served, energised, self_supplied, can_self)
    grid_served = np.where(self_supplied, 0.0, served)
    gen_mw = _share_generation(labels, count, grid_served, fleet, gen_on, policy)
    _curtail_surplus(labels, count, grid_served, served, gen_mw, fleet)
    injection = (np.bincount(fleet.bus, weights=gen_mw, minlength=n_bus) - grid_served)
    shed = float(np.maximum(demand_mw, 0.0).sum() - np.maximum(served, 0.0).sum())
    return Dispatch(gen_mw, served, energised, max(shed, 0.0), injection, self_supplied)


def _shed(order: np.ndarray, labels: np.ndarray, deficit: np.ndarray, served: np.ndarray,
          energised: np.ndarray, self_supplied: np.ndarray, can_self: np.ndarray) -> None:
    """Island microgrid buses off, then drop whole buses in ``order`` until each deficit is met."""
    short = deficit > _EPS
    remaining = deficit.copy()
    islanding = can_self & short[labels] & (served > 0) & ~self_supplied
    if islanding.any():
        self_supplied |= islanding
        remaining -= np.bincount(labels[islanding], weights=served[islanding], minlength=len(deficit))
    candidates = order[short[labels[order]] & (served[order] > 0) & ~self_supplied[order]]
    if candidates.size == 0:
        return
    grouped = candidates[np.argsort(labels[candidates], kind="stable")]
    island = labels[grouped]
    load = served[grouped]
    total = np.cumsum(load)
    starts = np.concatenate(([0], np.flatnonzero(island[1:] != island[:-1]) + 1))
    offset = np.repeat(total[starts] - load[starts], np.diff(np.append(starts, len(grouped))))
    before = total - offset - load
    drop = grouped[before < remaining[island] - _EPS]
    served[drop] = 0.0
    energised[drop] = False


def _curtail_surplus(labels: np.ndarray, count: int, grid_served: np.ndarray, served: np.ndarray,
                     gen_mw: np.ndarray, fleet: Fleet) -> None:
    """Where local generation (negative demand) exceeds what an island can absorb, curtail it."""
    if not (grid_served < 0).any():
        return
    residual = (np.bincount(labels, weights=grid_served, minlength=count)
                - np.bincount(labels[fleet.bus], weights=gen_mw, minlength=count))
    for island in np.flatnonzero(residual < -_EPS):
        negative = (labels == island) & (grid_served < 0)
        total = -grid_served[negative].sum()
        scale = max(total + residual[island], 0.0) / total if total > 0 else 0.0
        grid_served[negative] *= scale
        served[negative] *= scale


def _share_generation(labels: np.ndarray, count: int, served: np.ndarray, fleet: Fleet,
                      gen_on: np.ndarray, policy: str) -> np.ndarray:
    target = np.bincount(labels, weights=served, minlength=count)
    gen_island = labels[fleet.bus]
    gen_mw = np.where(gen_on, np.clip(fleet.setpoint_mw, 0.0, fleet.pmax_mw), 0.0)
    slack_units = np.flatnonzero(gen_on & fleet.slack)
    by_slack = np.zeros(count, dtype=bool)
    if policy == "slack" and slack_units.size:
        first = np.full(count, -1)
        first[gen_island[slack_units[::-1]]] = slack_units[::-1]
        by_slack = first >= 0
        for island in np.flatnonzero(by_slack):
            units = np.flatnonzero(gen_on & (gen_island == island))
            gen_mw[units] = _slack_share(target[island], units, first[island], gen_mw, fleet)
    prop = gen_on & ~by_slack[gen_island]
    if prop.any():
        gen_mw[prop] = _proportional_all(target, gen_island[prop], gen_mw[prop], fleet.pmax_mw[prop], count)
    return gen_mw


def _proportional_all(target: np.ndarray, island: np.ndarray, current: np.ndarray, pmax: np.ndarray,
                      count: int) -> np.ndarray:
    """:func:`_proportional` for many islands at once (units labelled by ``island``)."""
    total = np.bincount(island, weights=current, minlength=count)
    headroom = np.maximum(pmax - current, 0.0)
    room = np.bincount(island, weights=headroom, minlength=count)
    with np.errstate(divide="ignore", invalid="ignore"):
        up = np.where(room > _EPS, np.minimum((target - total) / room, 1.0), 0.0)
        down = np.where(total > _EPS, np.maximum(target, 0.0) / total, 1.0)
    rising = (target >= total)[island]
    return np.where(rising, current + headroom * up[island], current * down[island])


def _slack_share(target: float, units: np.ndarray, slack: int, gen_mw: np.ndarray,
                 fleet: Fleet) -> np.ndarray:
    others = units[units != slack]
    out = gen_mw.copy()
    value = target - out[others].sum()
    floor = -np.inf if fleet.can_absorb[slack] else 0.0
    if value > fleet.pmax_mw[slack] or value < floor:
        out[slack] = min(max(value, floor), fleet.pmax_mw[slack])
        out[others] = _proportional(target - out[slack], out[others], fleet.pmax_mw[others])
    else:
        out[slack] = value
    return out[units]


def _proportional(target: float, current: np.ndarray, pmax: np.ndarray) -> np.ndarray:
    total = current.sum()
    if target >= total:
        headroom = pmax - current
        room = headroom.sum()
        if room <= _EPS:
            return current.copy()
        return current + headroom * min((target - total) / room, 1.0)
    if total <= _EPS:
        return current.copy()
    return current * max(target, 0.0) / total
