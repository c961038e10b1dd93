"""Cascades as data: every degradation records what caused it, back to the disruption that began it.

A :class:`CascadeLog` holds events ``(id, time, system, element, what, detail, cause)``. A
disruption that begins is a *root* (no cause). While it lasts it is *active* on its system (and
element); a service that a system publishes and that drops while a cause is active on that system
is recorded as caused by it; a consumer degraded by a coupling records the provider's drop as its
cause and becomes active on the consumer; outcomes (a patient turned away, a vessel diverted) are
counted against the cause active where they happen. :meth:`CascadeLog.chain` walks an event back
to its root, and :meth:`CascadeLog.summary` says, per root system and final system, how many
outcomes each chain produced: what a sweep stores to answer "in how many scenarios did a grid
fault end in patients turned away?".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["CascadeLog", "CascadeEvent"]


@dataclass(frozen=True)
class CascadeEvent:
    """One link of a cascade."""

    id: int
    time_h: float
    system: str
    element: str | None
    what: str
    detail: str
    cause: int | None


class CascadeLog:
    """The cause-and-effect record of one run (kept by the :class:`~twinworld.core.world.World`)."""

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self._clock = clock or (lambda: 0.0)
        self.events: list[CascadeEvent] = []
        self._active: defaultdict[tuple[str, str | None], list[int]] = defaultdict(list)
        self._ended: defaultdict[str, list[tuple[int, float]]] = defaultdict(list)   # system -> (event, end)
        self.outcomes: defaultdict[tuple[int | None, str, str], float] = defaultdict(float)

    @property
    def now_h(self) -> float:
        """Simulated time now (the World's clock)."""
        return self._clock()

    # ------------------------------------------------------------------------- recording --
    def record(self, time_h: float, system: str, element: str | None, what: str, detail: str = "",
               cause: int | None = None) -> int:
        """Add an event and return its id."""
        event = CascadeEvent(len(self.events), time_h, system, element, what, detail, cause)
        self.events.append(event)
        return event.id

    def activate(self, system: str, element: str | None, event: int) -> None:
        """``event`` now acts on ``system`` (or one element of it)."""
        self._active[system, element].append(event)

    def deactivate(self, system: str, element: str | None, event: int) -> None:
        stack = self._active.get((system, element))
        if stack and event in stack:
            stack.remove(event)
            self._ended[system].append((event, self.now_h))

    def active(self, system: str, element: str | None = None, *, anywhere: bool = False,
               lingering_h: float = 0.0) -> int | None:
        """The most recent cause acting on ``element`` of ``system`` or on the whole system (with
        ``anywhere``: on any of its elements, for networks where a closed port starves a warehouse;
        with ``lingering_h``: also causes that ended at most that long ago, for effects that outlast
        their cause, like a backlog after a port reopens)."""
        if anywhere:
            found = [e for (s, _), ids in self._active.items() if s == system for e in ids]
        else:
            found = list(self._active.get((system, element), ()))
            if element is not None:
                found += self._active.get((system, None), ())
        if lingering_h > 0:
            found += [e for e, end in self._ended.get(system, ()) if self.now_h - end <= lingering_h]
        return max(found) if found else None

    def outcome(self, system: str, what: str, amount: float = 1.0, *, element: str | None = None,
                anywhere: bool = False, lingering_h: float = 0.0) -> None:
        """Count an outcome (``patients_turned_away``) against the cause acting where it happened."""
        cause = self.active(system, element, anywhere=anywhere, lingering_h=lingering_h)
        self.outcomes[cause, system, what] += amount

    # ------------------------------------------------------------------------- reading --
    def chain(self, event: int) -> list[CascadeEvent]:
        """From the root disruption to ``event``, in time order."""
        links: list[CascadeEvent] = []
        current: int | None = event
        seen: set[int] = set()
        while current is not None and current not in seen:
            seen.add(current)
            links.append(self.events[current])
            current = self.events[current].cause
        return links[::-1]

    def summary(self) -> dict[str, float]:
        """``{"cascade.<root system>.<outcome system>.<outcome>": amount}`` over every outcome.

        Outcomes with no cause active count under ``none`` (``cascade.none.hospitals.…``).
        """
        totals: defaultdict[str, float] = defaultdict(float)
        for (cause, system, what), amount in self.outcomes.items():
            root = self.chain(cause)[0].system if cause is not None else "none"
            totals[f"cascade.{root}.{system}.{what}"] += amount
        return dict(sorted(totals.items()))

    def timeline(self) -> list[tuple[CascadeEvent, list[CascadeEvent]]]:
        """Every event that ended a chain crossing systems, with its chain (for printing)."""
        causes = {e.cause for e in self.events if e.cause is not None}
        ends = [e for e in self.events if e.id not in causes and e.cause is not None]
        return [(end, self.chain(end.id)) for end in ends
                if len({link.system for link in self.chain(end.id)}) > 1]
