"""How households come to leave: warnings, word of mouth and decisions, epoch by epoch.

At each decision epoch (a SimPy process on the World's clock) the :class:`Mobiliser` gathers the
warnings that reached households since the last epoch, each with its exact time:

- official channels: a broadcast reaches a household at a pre-drawn time after the first order
  (sirens, cell broadcast, radio); door-to-door teams visit households still at home at their rate;
- word of mouth: a warned household tells each contact (with some chance, after an exponential
  delay) over the social network; a household also notices contacts leaving.

A household leaves once the warnings it got add up to what it needs (drawn once per household):
it decides at the moment of the warning that completes them, prepares (its preparation time) and
leaves, but not before its zone's turn in a staged evacuation. Everything is computed for all
households at once with numpy: the many are a table, not a loop.

Word of mouth is exact in time except within one epoch: a household warned both officially and by
a contact in the same epoch passes the warning on from the first of them processed (official).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from twinworld.core.rng import RandomStreams
from twinworld.systems.traffic.behaviour import Channel, HouseholdBehaviour
from twinworld.systems.traffic.households import HouseholdTable
from twinworld.systems.traffic.social import Contacts

__all__ = ["Mobiliser", "WORD_OF_MOUTH", "NEIGHBOURS", "NOT_WARNED"]

NOT_WARNED, WORD_OF_MOUTH, NEIGHBOURS = -1, 1000, 1001   # warned_by codes besides channel indices


@dataclass
class _Cues:
    """Warnings reaching households in one epoch: who, when, how much, from where."""

    household: list[np.ndarray] = field(default_factory=list)
    time: list[np.ndarray] = field(default_factory=list)
    weight: list[np.ndarray] = field(default_factory=list)
    source: list[np.ndarray] = field(default_factory=list)

    def add(self, household: np.ndarray, time: np.ndarray, weight: float | np.ndarray,
            source: int | np.ndarray) -> None:
        if household.size:
            self.household.append(household)
            self.time.append(time)
            self.weight.append(np.broadcast_to(np.asarray(weight, float), household.shape))
            self.source.append(np.broadcast_to(np.asarray(source, np.int64), household.shape))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if not self.household:
            empty = np.zeros(0, np.int64)
            return empty, np.zeros(0), np.zeros(0), empty
        return (np.concatenate(self.household), np.concatenate(self.time), np.concatenate(self.weight),
                np.concatenate(self.source))


class _Pool:
    """Messages on their way (a tie and its arrival time), in time-sorted batches, so that taking
    those due by ``t`` costs a binary search per batch rather than a pass over all of them."""

    def __init__(self) -> None:
        self.batches: list[list] = []   # [times (sorted), ties, first not yet taken]

    def __len__(self) -> int:
        return sum(times.size - first for times, _, first in self.batches)

    def add(self, ties: np.ndarray, times: np.ndarray) -> None:
        if ties.size:
            order = np.argsort(times, kind="stable")
            self.batches.append([times[order], ties[order], 0])

    def due(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """The ties (and times) of messages arriving by ``t``, taken out of the pool."""
        ties, times, kept = [], [], []
        for batch in self.batches:
            when, tie, first = batch
            end = int(np.searchsorted(when, t, side="right"))
            if end > first:
                ties.append(tie[first:end])
                times.append(when[first:end])
                batch[2] = end
            if batch[2] < when.size:
                kept.append(batch)
        self.batches = kept
        if not ties:
            return np.zeros(0, np.int64), np.zeros(0)
        return np.concatenate(ties), np.concatenate(times)


class _DoorToDoor:
    """Teams visiting the zones' households still at home, in a pre-drawn order, at their rate.

    Visit number m (counting from 0) is made at ``start + (m + 1) / rate``; households that left
    are skipped without using a visit.
    """

    def __init__(self, index: int, channel: Channel, table: HouseholdTable, rng: np.random.Generator,
                 start_h: float) -> None:
        self.index, self.channel = index, channel
        self.rate_per_h = float(channel.households_per_h)  # type: ignore[arg-type]
        self.start_h = start_h + float(channel.start)
        inside = np.flatnonzero(table.in_zone)
        self.order = inside[np.argsort(rng.random(inside.size), kind="stable")]
        self.home_u = rng.random(table.size)       # someone opens the door if below reach
        self.visited = np.zeros(table.size, bool)
        self.made = 0
        self.done = self.order.size == 0

    def visit(self, t: float, gone: np.ndarray, cues: _Cues) -> None:
        if self.done or t <= self.start_h:
            return
        budget = int(np.floor((t - self.start_h) * self.rate_per_h + 1e-9)) - self.made
        waiting = self.order[~(self.visited[self.order] | gone[self.order])]
        if waiting.size == 0:
            self.done = True
            return
        chosen = waiting[:max(budget, 0)]
        self.visited[chosen] = True
        times = self.start_h + (self.made + np.arange(chosen.size) + 1) / self.rate_per_h
        self.made += chosen.size
        opened = self.home_u[chosen] < float(self.channel.reach)
        cues.add(chosen[opened], times[opened], self.channel.weight, self.index)


class Mobiliser:
    """The households' warnings, word of mouth and decisions, advanced one epoch at a time.

    Parameters
    ----------
    table
        The households.
    behaviour
        Their behaviour (channels, word of mouth).
    streams, system
        The run's streams and the system's name (streams ``warning``, ``door``, ``social``).
    first_order_h
        When the first evacuation order is given (channels start from it).
    turn_h
        Per zone, when its households may start preparing (its stage; the shadow region's entry is
        the first order).
    prep_h
        Per household, its preparation time.
    contacts
        The social network (None without word of mouth).
    """

    def __init__(self, table: HouseholdTable, behaviour: HouseholdBehaviour, *, streams: RandomStreams,
                 system: str, first_order_h: float, turn_h: np.ndarray, prep_h: np.ndarray,
                 contacts: Contacts | None) -> None:
        n = table.size
        self.table, self.behaviour = table, behaviour
        self.turn_h = turn_h[table.group]
        self.prep_h = prep_h
        self.warned_h = np.full(n, np.inf)
        self.warned_by = np.full(n, NOT_WARNED, np.int64)
        self.cues = np.zeros(n)
        self.decided_h = np.full(n, np.inf)
        self.depart_h = np.full(n, np.inf)
        self.last_h = first_order_h
        self.channels = list(behaviour.channels)
        self._official(streams, system, first_order_h)
        self.doors = [_DoorToDoor(i, c, table, streams.get(system, "door", c.name), first_order_h)
                      for i, c in enumerate(self.channels) if c.kind == "door_to_door"]
        self.contacts = contacts
        self._social(streams, system)

    # ----------------------------------------------------------------------------- setup --
    def _official(self, streams: RandomStreams, system: str, first_order_h: float) -> None:
        """Every broadcast's receipt times, drawn up front and sorted (one draw per household)."""
        table = self.table
        households, times, weights, sources = [], [], [], []
        for index, channel in enumerate(self.channels):
            if channel.kind != "broadcast":
                continue
            rng = streams.get(system, "warning", channel.name)
            reached = rng.random(table.size) < float(channel.reach)
            delay = _delays(channel, rng, table.size)
            if channel.area == "zones":
                reached &= table.in_zone
            chosen = np.flatnonzero(reached)
            households.append(chosen)
            times.append(first_order_h + float(channel.start) + delay[chosen])
            weights.append(np.full(chosen.size, channel.weight))
            sources.append(np.full(chosen.size, index, np.int64))
        def cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
            return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)

        self.ev_household, self.ev_time = cat(households, np.int64), cat(times, float)
        self.ev_weight, self.ev_source = cat(weights, float), cat(sources, np.int64)
        order = np.argsort(self.ev_time, kind="stable")
        for name in ("ev_household", "ev_time", "ev_weight", "ev_source"):
            setattr(self, name, getattr(self, name)[order])
        self.ev_next = 0

    def _social(self, streams: RandomStreams, system: str) -> None:
        """Per tie: whether a warned household tells that contact, and after how long."""
        mouth = self.behaviour.word_of_mouth
        self.messages = _Pool()      # ties whose message is on its way
        self.leaving = _Pool()       # ties along which a household will be seen leaving
        self.told = np.zeros(self.table.size, bool)   # its messages are on their way
        if mouth is None or self.contacts is None:
            self.tell_delay = None
            return
        rng = streams.get(system, "social")
        ties = self.contacts.ties
        tells = rng.random(ties) < float(mouth.share_telling)
        self.tell_delay = np.where(tells, rng.exponential(float(mouth.delay), ties), np.inf)

    # ------------------------------------------------------------------------------ step --
    def step(self, t: float) -> np.ndarray:
        """Advance to time ``t``: gather the warnings since the last epoch and decide.

        Returns the households that decided to leave in this epoch (their ``depart_h`` is set).
        """
        self.last_h = t
        cues = _Cues()
        end = int(np.searchsorted(self.ev_time, t, side="right"))
        due = slice(self.ev_next, end)
        self.ev_next = end
        cues.add(self.ev_household[due], self.ev_time[due], self.ev_weight[due], self.ev_source[due])
        gone = self.depart_h <= t
        for door in self.doors:
            door.visit(t, gone, cues)
        self._seen_leaving(t, cues)
        self._warn(cues)
        self._word_of_mouth(t, cues)
        return self._decide(t, cues)

    def _warn(self, cues: _Cues, start: int = 0) -> None:
        """Record first warnings (time and source) among ``cues`` from part ``start`` on."""
        if len(cues.household) <= start:
            return
        household = np.concatenate(cues.household[start:])
        time = np.concatenate(cues.time[start:])
        earlier = time < self.warned_h[household]
        if not earlier.any():
            return
        household, time = household[earlier], time[earlier]
        source = np.concatenate(cues.source[start:])[earlier]
        np.minimum.at(self.warned_h, household, time)
        first = time == self.warned_h[household]
        self.warned_by[household[first]] = source[first]

    def _word_of_mouth(self, t: float, cues: _Cues) -> None:
        """Messages from contacts due by ``t``, following on from those warned in this epoch."""
        if self.tell_delay is None:
            return
        weight = self.behaviour.word_of_mouth.weight  # type: ignore[union-attr]
        while True:
            self._push(np.flatnonzero(np.isfinite(self.warned_h) & ~self.told))
            tie, time = self.messages.due(t)
            if tie.size == 0:
                return
            part = len(cues.household)
            cues.add(self.contacts.indices[tie], time, weight, WORD_OF_MOUTH)  # type: ignore[union-attr]
            self._warn(cues, part)

    def _push(self, households: np.ndarray) -> None:
        """Start the messages of newly warned households to their contacts."""
        if households.size == 0:
            return
        self.told[households] = True
        ties = self.contacts.edges_from(households)  # type: ignore[union-attr]
        senders = np.repeat(households, self.contacts.degree()[households])  # type: ignore[union-attr]
        arrive = self.warned_h[senders] + self.tell_delay[ties]  # type: ignore[index]
        keep = np.isfinite(arrive)
        self.messages.add(ties[keep], arrive[keep])

    def _seen_leaving(self, t: float, cues: _Cues) -> None:
        """Contacts who saw a household leave since the last epoch count it as a warning."""
        tie, time = self.leaving.due(t)
        if tie.size == 0:
            return
        cues.add(self.contacts.indices[tie], time,  # type: ignore[union-attr]
                 self.behaviour.word_of_mouth.departure_weight, NEIGHBOURS)  # type: ignore[union-attr]

    def _decide(self, t: float, cues: _Cues) -> np.ndarray:
        """Each household leaves at the warning that completes the warnings it needs."""
        household, time, weight, _ = cues.arrays()
        open_ = np.isinf(self.decided_h[household])
        household, time, weight = household[open_], time[open_], weight[open_]
        if household.size == 0:
            return np.zeros(0, np.int64)
        before = self.cues.copy()
        self.cues += np.bincount(household, weights=weight, minlength=self.cues.size)
        convinced = (self.cues >= self.table.needs) & (self.cues > 0)
        mine = convinced[household]
        household, time, weight = household[mine], time[mine], weight[mine]
        if household.size == 0:
            return np.zeros(0, np.int64)
        order = np.lexsort((time, household))
        household, time, weight = household[order], time[order], weight[order]
        starts = np.flatnonzero(np.diff(household, prepend=-1))
        running = np.cumsum(weight)
        offset = np.repeat(running[starts] - weight[starts], np.diff(np.append(starts, household.size)))
        total = running - offset + before[household]
        hit = np.flatnonzero((total >= self.table.needs[household]) & (total > 0))
        firsts = hit[np.unique(household[hit], return_index=True)[1]]
        deciders, when = household[firsts], time[firsts]
        self.decided_h[deciders] = when
        no_warning = ~np.isfinite(self.warned_h[deciders])
        self.warned_h[deciders[no_warning]] = when[no_warning]
        self.warned_by[deciders[no_warning]] = NEIGHBOURS
        depart = np.maximum(when, self.turn_h[deciders]) + self.prep_h[deciders]
        self.depart_h[deciders] = np.maximum(depart, t)
        self._announce_departures(deciders)
        return deciders

    def _announce_departures(self, households: np.ndarray) -> None:
        """Their contacts will see them leave (a warning of ``departure_weight``)."""
        mouth = self.behaviour.word_of_mouth
        if self.contacts is None or mouth is None or mouth.departure_weight <= 0:
            return
        ties = self.contacts.edges_from(households)
        senders = np.repeat(households, self.contacts.degree()[households])
        self.leaving.add(ties, self.depart_h[senders])

    # ---------------------------------------------------------------------------- state --
    def is_settled(self) -> bool:
        """No warning can reach anyone any more (official, door-to-door, word of mouth, seen)."""
        return (self.ev_next >= self.ev_time.size and all(d.done for d in self.doors)
                and not self.messages.batches and not self.leaving.batches
                and (self.tell_delay is None or not bool((np.isfinite(self.warned_h) & ~self.told).any())))

    def all_decided(self) -> bool:
        return bool(np.isfinite(self.decided_h).all())


def _delays(channel: Channel, rng: np.random.Generator, size: int) -> np.ndarray:
    """Each household's delay in taking a channel's warning in (drawn for all, used where reached)."""
    mean = float(channel.delay)
    if mean <= 0:
        return np.zeros(size)
    if channel.delay_distribution == "exponential":
        return rng.exponential(mean, size)
    sigma2 = np.log1p(channel.delay_cv**2)
    return rng.lognormal(np.log(mean) - sigma2 / 2, np.sqrt(sigma2), size)
