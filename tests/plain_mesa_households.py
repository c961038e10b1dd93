"""The households' decision rule written agent by agent, as a plain Mesa model would be.

A reference for the bulk (numpy) decisions of :mod:`twinworld.systems.traffic.mobilise` and the
peer of ``benchmarks/households_vs_mesa.py``: a ``mesa.Model`` whose households each tick
(``model.agents.shuffle_do("step")``) look at their own official warnings and at each contact
(has it told me yet? has it left?), add up what they heard, and decide. Same draws, same rule.

Without word of mouth the two agree exactly (a test checks it). With word of mouth they differ in
one detail: here a message from a contact warned during the same tick is heard only if that
contact happened to step first (then at its true time, else one tick later); the bulk model
follows such chains within the tick.
"""

from __future__ import annotations

import math

import mesa
import numpy as np

__all__ = ["PlainHouseholds", "PlainHousehold"]


class PlainHousehold(mesa.Agent):
    """One household deciding by itself each tick."""

    def __init__(self, model: "PlainHouseholds", index: int) -> None:
        super().__init__(model)
        self.index = index
        self.warned_h = math.inf
        self.decided_h = math.inf
        self.depart_h = math.inf
        self.cues = 0.0
        self.told: set[int] = set()   # contacts whose message reached me
        self.seen: set[int] = set()   # contacts I saw leave

    def step(self) -> None:
        model: PlainHouseholds = self.model  # type: ignore[assignment]
        t0, t = model.last_h, model.now_h
        if self.decided_h < math.inf:
            return
        heard = [(time, weight) for time, weight in model.official[self.index] if t0 < time <= t]
        for contact, delay in model.incoming[self.index]:
            arrive = model.households[contact].warned_h + delay
            if contact not in self.told and arrive <= t:
                self.told.add(contact)
                heard.append((arrive, model.word_weight))
        if heard:
            self.warned_h = min(self.warned_h, min(time for time, _ in heard))
        for contact in model.contacts_of[self.index]:
            other = model.households[contact]
            if contact not in self.seen and other.depart_h <= t:
                self.seen.add(contact)
                heard.append((other.depart_h, model.departure_weight))
        if not heard:
            return
        heard.sort()
        needs = model.needs[self.index]
        for time, weight in heard:
            self.cues += weight
            if self.cues >= needs and self.cues > 0:
                self.decided_h = time
                if self.warned_h == math.inf:        # convinced by neighbours leaving alone
                    self.warned_h = time
                depart = max(time, model.turn_h[self.index]) + model.prep_h[self.index]
                self.depart_h = max(depart, t)
                return


class PlainHouseholds(mesa.Model):
    """Households stepping every ``tick_h`` with ``shuffle_do`` (Mesa's own loop, no numpy).

    Parameters
    ----------
    needs, prep_h, turn_h
        Per household: warnings needed, preparation time, earliest start of preparation.
    official
        Per household: its official warnings as ``(time, weight)`` pairs.
    incoming
        Per household: ``(contact, delay)`` for each contact who would tell it (delay after the
        contact is warned); empty without word of mouth.
    contacts_of
        Per household: every contact (whom it sees leave); default none.
    """

    def __init__(self, *, needs: np.ndarray, prep_h: np.ndarray, turn_h: np.ndarray,
                 official: list[list[tuple[float, float]]], incoming: list[list[tuple[int, float]]],
                 contacts_of: list[list[int]] | None = None, word_weight: float = 0.0,
                 departure_weight: float = 0.0, seed: int = 0) -> None:
        super().__init__(rng=seed)
        self.needs, self.prep_h, self.turn_h = needs.tolist(), prep_h.tolist(), turn_h.tolist()
        self.official, self.incoming = official, incoming
        self.contacts_of = contacts_of if contacts_of is not None else [[] for _ in official]
        self.word_weight, self.departure_weight = word_weight, departure_weight
        self.households = [PlainHousehold(self, i) for i in range(len(self.needs))]
        self.last_h = -math.inf
        self.now_h = 0.0

    def tick(self, now_h: float) -> None:
        """Every household takes stock at ``now_h`` (in random order)."""
        self.now_h = now_h
        self.agents.shuffle_do("step")
        self.last_h = now_h

    def run_until(self, horizon_h: float, tick_h: float) -> None:
        for k in range(int(round(horizon_h / tick_h)) + 1):
            self.tick(k * tick_h)

    def column(self, name: str) -> np.ndarray:
        return np.array([getattr(h, name) for h in self.households])
