"""Evacuating households as agents: who they are (drawn per run from named streams).

Each household has a home node, a zone (or the shadow region outside the zones), vehicles, a
compliance (the chance one warning makes it leave), the number of warnings it needs (drawn once,
so it decides alike under every strategy), a preparation time and whether its driver follows a
navigation app. Its cars are listed separately (a household may have none, or several).

With no vehicle mix given, cars are drawn exactly as the rule-based model draws its vehicles (the
same stream, the same calls): ``round(households x vehicles_per_household)`` cars per zone, each
from a home node drawn uniformly, each with a quantile of the mobilisation curve. Car ``j`` is the
car of household ``j`` (households without a car come after; with more cars than households, car
``j`` belongs to household ``j mod households`` and leaves from its home). With every household
compliant and warned at once, departures are then the rule-based model's, vehicle for vehicle.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from twinworld.core.agents import Member
from twinworld.core.rng import RandomStreams
from twinworld.systems.traffic.behaviour import HouseholdBehaviour

__all__ = ["Household", "HouseholdTable", "draw_households", "cues_needed", "draw_compliance"]

#: Stream names (after the system's name) the households draw from; see :data:`model.STREAMS`.
HOUSEHOLD_STREAMS = ("zone", "households", "shadow", "compliance", "informed")


class Household(Member):
    """One household as a Mesa agent (a row of the households' table).

    Its columns are readable as attributes (``household.zone``, ``household.depart_h``), so Mesa's
    ``select``, ``groupby`` and ``agg`` work on households; their decisions are computed for all of
    them at once each epoch (:class:`~twinworld.systems.traffic.mobilise.Mobiliser`).
    """

    @property
    def has_left(self) -> bool:
        return math.isfinite(self.depart_h)

    @property
    def is_warned(self) -> bool:
        return math.isfinite(self.warned_h)


@dataclass
class HouseholdTable:
    """Households and their cars as arrays (one row per household; cars in their own arrays)."""

    group: np.ndarray          # zone index; n_zones for the shadow region
    home: np.ndarray           # node index
    vehicles: np.ndarray       # cars
    prep_u: np.ndarray         # quantile of the preparation curve
    compliance: np.ndarray     # chance one warning makes it leave
    needs: np.ndarray          # warnings it needs to leave (inf: never)
    informed: np.ndarray       # its driver follows a navigation app
    car_household: np.ndarray  # per car: its household
    car_origin: np.ndarray     # per car: where it starts
    n_zones: int

    @property
    def size(self) -> int:
        return self.group.size

    @property
    def in_zone(self) -> np.ndarray:
        return self.group < self.n_zones


def draw_compliance(mean: float, sd: float, rng: np.random.Generator, size: int) -> np.ndarray:
    """Per-household compliance: all ``mean``, or a beta distribution with that mean and sd
    (clipped so that it exists: sd < sqrt(mean (1 - mean)))."""
    if sd <= 0 or mean <= 0 or mean >= 1:
        return np.full(size, float(mean))
    sd = min(sd, 0.999 * math.sqrt(mean * (1 - mean)))
    common = mean * (1 - mean) / sd**2 - 1
    return rng.beta(mean * common, (1 - mean) * common, size)


def cues_needed(compliance: np.ndarray, u: np.ndarray, confirmation: float = 1.0) -> np.ndarray:
    """Warnings a household needs to leave, from its compliance c and a uniform draw u.

    The first warning convinces with probability c; each further one counts ``confirmation``
    times as much (0: only the first matters; 1: every warning as much as the first). With w
    warnings a household has left with probability 1 - (1 - c)^(min(w, 1) + confirmation x
    max(w - 1, 0)): it needs the least w for which that reaches u. c = 1 needs nothing beyond the
    first warning (0); c = 0 never leaves (inf).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        units = np.log1p(-u) / np.log1p(-compliance)
    units = np.where(compliance >= 1.0, 0.0, np.maximum(units, 0.0))
    if confirmation <= 0:
        beyond = np.where(units <= 1.0, units, np.inf)
    else:
        beyond = np.where(units <= 1.0, units, 1.0 + (units - 1.0) / confirmation)
    return np.where(compliance <= 0.0, np.inf, beyond)


@dataclass
class _Group:
    home: np.ndarray
    vehicles: np.ndarray
    prep_u: np.ndarray
    car_household: np.ndarray
    car_origin: np.ndarray


def _cars_as_drawn(nodes: np.ndarray, households: float, per_household: float, cars_rng: np.random.Generator,
                   extra_rng: np.random.Generator) -> _Group:
    """Cars drawn as the rule-based model draws vehicles; households without a car drawn after."""
    count = int(round(households * per_household))
    origin = nodes[cars_rng.integers(0, nodes.size, count)] if nodes.size else np.zeros(0, np.int64)
    car_u = cars_rng.random(count)
    n = max(int(round(households)), 1 if count else 0)
    with_car = min(count, n)
    extra = n - with_car
    home = np.concatenate([origin[:with_car], nodes[extra_rng.integers(0, nodes.size, extra)]
                           if nodes.size else np.zeros(0, np.int64)]).astype(np.int64)
    prep_u = np.concatenate([car_u[:with_car], extra_rng.random(extra)])
    car_household = np.arange(count, dtype=np.int64) % max(n, 1)
    car_origin = np.where(np.arange(count) < n, origin, home[car_household]).astype(np.int64)
    vehicles = np.bincount(car_household, minlength=n).astype(np.int64)
    return _Group(home, vehicles, prep_u, car_household, car_origin)


def _cars_by_mix(nodes: np.ndarray, households: float, shares: Sequence[float],
                 rng: np.random.Generator) -> _Group:
    """Households with 0, 1, 2 ... cars in the given shares; their cars leave from home."""
    n = int(round(households))
    p = np.asarray(shares, float)
    home = nodes[rng.integers(0, nodes.size, n)].astype(np.int64) if nodes.size else np.zeros(0, np.int64)
    vehicles = rng.choice(p.size, size=n, p=p / p.sum()).astype(np.int64)
    prep_u = rng.random(n)
    car_household = np.repeat(np.arange(n, dtype=np.int64), vehicles)
    return _Group(home, vehicles, prep_u, car_household, home[car_household])


def draw_households(streams: RandomStreams, system: str, behaviour: HouseholdBehaviour, *,
                    zones: Sequence[tuple[str, float, np.ndarray]], shadow: tuple[float, np.ndarray] | None,
                    per_household: float, informed_share: float) -> HouseholdTable:
    """Every household of the zones (``(name, households, nodes)``) and of the shadow region.

    Draws come from the streams ``<system>.zone.<zone>`` (cars, as the rule-based model),
    ``households``, ``shadow``, ``compliance`` and ``informed``.
    """
    groups: list[_Group] = []
    for name, households, nodes in zones:
        extra_rng = streams.get(system, "households", name)
        groups.append(_cars_by_mix(nodes, households, behaviour.vehicles, extra_rng) if behaviour.vehicles
                      else _cars_as_drawn(nodes, households, per_household, streams.get(system, "zone", name),
                                          extra_rng))
    if shadow is not None:
        households, nodes = shadow
        groups.append(_cars_by_mix(nodes, households, behaviour.vehicles, streams.get(system, "shadow", "households"))
                      if behaviour.vehicles else
                      _cars_as_drawn(nodes, households, per_household, streams.get(system, "shadow", "cars"),
                                     streams.get(system, "shadow", "households")))
    sizes = [g.home.size for g in groups]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    group = np.repeat(np.arange(len(groups)), sizes).astype(np.int64)
    n_zones = len(zones)
    compliance = _compliance(streams, system, behaviour, group, n_zones)
    needs = cues_needed(compliance, streams.get(system, "compliance", "needs").random(group.size),
                        behaviour.confirmation)
    informed = streams.get(system, "informed").random(group.size) < informed_share \
        if informed_share < 1.0 else np.ones(group.size, bool)
    return HouseholdTable(
        group=group, home=_cat([g.home for g in groups], np.int64),
        vehicles=_cat([g.vehicles for g in groups], np.int64),
        prep_u=_cat([g.prep_u for g in groups], float), compliance=compliance, needs=needs, informed=informed,
        car_household=_cat([g.car_household + offsets[i] for i, g in enumerate(groups)], np.int64),
        car_origin=_cat([g.car_origin for g in groups], np.int64), n_zones=n_zones)


def _compliance(streams: RandomStreams, system: str, behaviour: HouseholdBehaviour, group: np.ndarray,
                n_zones: int) -> np.ndarray:
    rng = streams.get(system, "compliance", "spread")
    inside = group < n_zones
    compliance = np.empty(group.size)
    compliance[inside] = draw_compliance(float(behaviour.compliance), behaviour.compliance_sd,
                                         rng, int(inside.sum()))
    if behaviour.shadow is not None:
        compliance[~inside] = float(behaviour.shadow.compliance)
    return compliance


def _cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)
