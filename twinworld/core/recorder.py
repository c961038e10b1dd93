"""What a run measures: counters, events and time-weighted levels.

Systems write here instead of keeping ad-hoc lists; the run turns the recorder into KPIs. Levels are
integrated exactly between changes (a piecewise-constant signal), which is what occupancy, queue
length and "hours above 90%" need.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import simpy

__all__ = ["Recorder", "LevelProbe"]


@dataclass
class LevelProbe:
    """A piecewise-constant level integrated over simulated time.

    Parameters
    ----------
    thresholds
        Levels whose time-above is tracked (e.g. 0.9 for "hours above 90% occupancy").
    """

    name: str
    start_h: float = 0.0
    value: float = 0.0
    thresholds: tuple[float, ...] = ()
    area: float = 0.0
    peak: float = 0.0
    above_h: dict[float, float] = field(default_factory=dict)
    _last_h: float = 0.0

    def __post_init__(self) -> None:
        self._last_h = self.start_h
        self.peak = self.value
        self.above_h = {t: 0.0 for t in self.thresholds}

    def update(self, now_h: float, value: float) -> None:
        """The level becomes ``value`` at ``now_h``."""
        self._advance(now_h)
        self.value = value
        if value > self.peak:
            self.peak = value

    def _advance(self, now_h: float) -> None:
        span = now_h - self._last_h
        if span > 0:
            self.area += span * self.value
            for t in self.above_h:
                if self.value > t:
                    self.above_h[t] += span
            self._last_h = now_h

    def close(self, now_h: float) -> None:
        """Integrate up to ``now_h`` (the end of the run)."""
        self._advance(now_h)

    def restart(self, now_h: float) -> None:
        """Forget the past: integrate from ``now_h`` on, with the current value as the peak so far."""
        self.close(now_h)
        self.start_h = self._last_h = now_h
        self.area = 0.0
        self.peak = self.value
        self.above_h = {t: 0.0 for t in self.above_h}

    def mean(self, now_h: float) -> float:
        """Time-average of the level from ``start_h`` to ``now_h``."""
        self.close(now_h)
        span = now_h - self.start_h
        return self.area / span if span > 0 else self.value


class Recorder:
    """Counters, events and level probes of one run.

    Parameters
    ----------
    env
        The world's clock; probes read ``env.now`` when updated through :meth:`level`.
    """

    def __init__(self, env: "simpy.Environment") -> None:
        self._env = env
        self.counters: defaultdict[str, float] = defaultdict(float)
        self.probes: dict[str, LevelProbe] = {}
        self.events: list[tuple[float, str, str]] = []

    def count(self, name: str, amount: float = 1.0) -> None:
        self.counters[name] += amount

    def probe(self, name: str, *, initial: float = 0.0, thresholds: tuple[float, ...] = ()) -> LevelProbe:
        """Create (or return) the level probe ``name``."""
        probe = self.probes.get(name)
        if probe is None:
            probe = LevelProbe(name, start_h=self._env.now, value=initial, thresholds=thresholds)
            self.probes[name] = probe
        return probe

    def level(self, name: str, value: float) -> None:
        self.probes[name].update(self._env.now, value)

    def event(self, kind: str, detail: str = "") -> None:
        """Log a notable event (a line trip, a port closing) for the run's event table."""
        self.events.append((self._env.now, kind, detail))

    def begin_statistics(self) -> None:
        """The warm-up is over: every level probe starts integrating afresh from now."""
        for probe in self.probes.values():
            probe.restart(self._env.now)

    def close(self) -> None:
        for probe in self.probes.values():
            probe.close(self._env.now)
