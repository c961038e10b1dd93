"""Vessel operators as agents: divert a ship when the expected anchorage wait passes a threshold.

Each operator (a carrier) has its own patience, drawn once per run from the port's ``operators``
stream. Decisions are taken at two kinds of epoch on the World's clock: when one of its ships
arrives (it reads the port's published expected wait, ``wait_h``) and at its periodic reviews,
which all operators make together through Mesa's ``shuffle_do`` (each looks at its ships at
anchor: the wait still ahead of a ship is the port's expected wait for the ships in front of it).
"""

from __future__ import annotations

import math
from random import Random  # seeded from the named streams: Mesa's AgentSet shuffles with it
from typing import TYPE_CHECKING

import mesa
import numpy as np

from twinworld.core.agents import decision_epochs
from twinworld.systems.port.config import Operators

if TYPE_CHECKING:
    from twinworld.systems.port.model import Port, Vessel

__all__ = ["VesselOperator", "Fleet"]


class VesselOperator(mesa.Agent):
    """A carrier whose ships call at the port, with the longest wait it accepts."""

    def __init__(self, model: mesa.Model, *, fleet: "Fleet", index: int, threshold_h: float) -> None:
        super().__init__(model)
        self.kind = "vessel_operator"
        self.fleet, self.port, self.index, self.threshold_h = fleet, fleet.port, index, threshold_h
        self.diverted = 0

    def on_arrival(self, vessel: "Vessel") -> bool:
        """Sail on at once if the expected wait for a ship arriving now is too long."""
        port = self.port
        if port.expected_wait_h(len(port.anchorage) - 1) > self.threshold_h:   # the ships before it
            port.divert_vessel(vessel, to=self.fleet.spec.to, extra_h=self.fleet.extra_h, why="operator")
            self.diverted += 1
            return True
        return False

    def review(self) -> None:
        """Divert its ships at anchor whose expected wait still ahead passes the threshold."""
        port = self.port
        fleet = self.fleet
        mine = [(i, v) for i, v in enumerate(port.anchorage) if fleet.operator_of[v.index] == self.index]
        for ahead, vessel in reversed(mine):     # from the back: removing one keeps the others' places
            if port.expected_wait_h(ahead) > self.threshold_h:
                port.divert_vessel(vessel, to=fleet.spec.to, extra_h=fleet.extra_h, why="operator")
                self.diverted += 1


class Fleet:
    """The operators of one port run: who owns which ship, and their review epochs."""

    def __init__(self, port: "Port", spec: Operators) -> None:
        self.port, self.spec = port, spec
        world = port.world
        rng = world.streams.get(port.name, "operators")
        mean, cv = float(spec.wait_threshold), spec.threshold_cv
        if cv > 0:
            sigma2 = math.log1p(cv**2)
            thresholds = rng.lognormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2), spec.count)
        else:
            thresholds = np.full(spec.count, mean)
        model = world.agents.model
        self.operators = [VesselOperator(model, fleet=self, index=i, threshold_h=float(t))
                          for i, t in enumerate(thresholds)]
        self.agents = mesa.agent.AgentSet(self.operators, random=Random(world.streams.integer_seed(
            port.name, "operators", "reviews")))
        self.owner_rng = rng
        self.operator_of: dict[int, int] = {}
        self.extra_h = float(spec.extra_sailing)

    def start(self) -> None:
        env = self.port.env

        def review(now: float) -> bool:
            if self.port.anchorage:
                self.agents.shuffle_do("review")
            return True

        env.process(decision_epochs(env, review, every_h=float(self.spec.review_every),
                                    until_h=self.port.world.horizon_h))

    def arrived(self, vessel: "Vessel", *, decide: bool = True) -> bool:
        """A ship joined the anchorage: its operator (drawn now) may send it on at once (not a ship
        found at anchor by a warm start: that one already chose to wait)."""
        operator = int(self.owner_rng.integers(0, len(self.operators)))
        self.operator_of[vessel.index] = operator
        return decide and self.operators[operator].on_arrival(vessel)
