"""The World: one SimPy clock, the systems living on it, their random streams and recorder."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from twinworld.core.agents import AgentLayer
from twinworld.core.cascade import CascadeLog
from twinworld.core.recorder import Recorder
from twinworld.core.rng import RandomStreams

if TYPE_CHECKING:
    from twinworld.systems.base import System

__all__ = ["World", "ServiceBoard", "Process", "on_event"]

#: What a SimPy process function returns (what ``env.process`` takes).
Process = Generator[simpy.Event, Any, Any]


def on_event(fn: Callable[..., Any], *args: Any) -> Callable[[simpy.Event], None]:
    """A SimPy event callback that calls ``fn(*args)`` (the event itself is not passed on)."""
    return lambda _event: fn(*args)


class ServiceBoard:
    """Where systems publish their services over time and others subscribe to them.

    A service is named by a dotted key such as ``"grid.bus.12"`` (the first part is the publishing
    system); its value is a level (1.0 fully served, 0.0 out) or a quantity (minutes, units).
    Couplings subscribe to one key, or to every key under a prefix (``roads.travel_min.``).

    When a level that a coupling depends on drops, the drop is recorded in the cascade log with the
    cause active on the publishing system (a disruption, or a degradation it suffers): :meth:`cause`
    gives it.
    """

    def __init__(self, env: simpy.Environment, cascade: CascadeLog | None = None) -> None:
        self._env = env
        self.cascade = cascade if cascade is not None else CascadeLog()
        self.levels: dict[str, float] = {}
        self.history: defaultdict[str, list[tuple[float, float]]] = defaultdict(list)
        self._subscribers: defaultdict[str, list[Callable[[str, float], None]]] = defaultdict(list)
        self._prefixes: dict[str, list[Callable[[str, float], None]]] = {}
        self._causes: dict[str, int | None] = {}
        self._levels_watched: set[str] = set()   # keys a level coupling hangs on: drops are causes

    def publish(self, key: str, level: float) -> None:
        """Set the value of ``key`` now and tell its subscribers if it changed."""
        previous = self.levels.get(key)
        if previous == level:
            return
        self.levels[key] = level
        self.history[key].append((self._env.now, level))
        callbacks = self._subscribers.get(key, [])
        if self._prefixes:
            callbacks = callbacks + [c for prefix, found in self._prefixes.items() if key.startswith(prefix)
                                     for c in found]
        if not callbacks:
            return
        if previous is not None and level < previous and key in self._levels_watched:
            system = key.partition(".")[0]
            cause = self.cascade.active(system)
            self._causes[key] = self.cascade.record(self._env.now, system, key, "service_dropped",
                                                    f"{previous:g} -> {level:g}", cause)
        elif previous is not None:
            self._causes.pop(key, None)
        for callback in callbacks:
            callback(key, level)

    def subscribe(self, key: str, callback: Callable[[str, float], None], *, level: bool = False) -> None:
        """Call ``callback(key, value)`` whenever ``key`` changes. With ``level``, the key is a
        service level a consumer depends on: each drop is recorded in the cascade log."""
        self._subscribers[key].append(callback)
        if level:
            self._levels_watched.add(key)

    def subscribe_prefix(self, prefix: str, callback: Callable[[str, float], None]) -> None:
        """Call ``callback(key, value)`` whenever any key starting with ``prefix`` changes."""
        self._prefixes.setdefault(prefix, []).append(callback)

    def cause(self, key: str) -> int | None:
        """The cascade event of the last drop of ``key`` (None while it has not dropped)."""
        return self._causes.get(key)

    def level(self, key: str, default: float = 1.0) -> float:
        return self.levels.get(key, default)


class World:
    """Everything one run simulates.

    Parameters
    ----------
    seed
        The run seed (int or SeedSequence); all randomness comes from :attr:`streams`.
    horizon_h
        Simulated hours to run.
    warmup_h
        Simulated hours before statistics start: at that time the recorder's probes restart and
        every system's :meth:`~twinworld.systems.base.System.begin_statistics` is called.

    Notes
    -----
    ``env`` is the only clock. Systems add SimPy processes to it; nothing calls Mesa's
    ``Model.step``.
    """

    def __init__(self, *, seed: int | np.random.SeedSequence, horizon_h: float, warmup_h: float = 0.0) -> None:
        if not horizon_h > 0:
            raise ValueError(f"horizon must be positive, got {horizon_h} h")
        if not 0 <= warmup_h < horizon_h:
            raise ValueError(f"warm-up must be at least 0 and below the horizon, got {warmup_h} h")
        self.env = simpy.Environment()
        self.horizon_h = float(horizon_h)
        self.warmup_h = float(warmup_h)
        self.streams = RandomStreams(seed)
        self.recorder = Recorder(self.env)
        self.cascade = CascadeLog(clock=lambda: self.env.now)
        self.services = ServiceBoard(self.env, self.cascade)
        self._agents: AgentLayer | None = None
        self.systems: dict[str, System] = {}

    @property
    def agents(self) -> AgentLayer:
        """The Mesa agent layer, created on first use (runs that need no agents skip its cost)."""
        if self._agents is None:
            self._agents = AgentLayer(self.streams.integer_seed("mesa"))
        return self._agents

    @property
    def now(self) -> float:
        """Simulated time in hours."""
        return self.env.now

    def at(self, time_h: float, action: Callable[[], None]) -> None:
        """Call ``action`` at simulated time ``time_h`` (ignored if past the horizon)."""
        if time_h > self.horizon_h:
            return
        delay = max(0.0, time_h - self.env.now)
        self.env.timeout(delay).callbacks.append(lambda _event: action())

    def run(self) -> None:
        """Advance the clock to the horizon (statistics restart at the warm-up) and close the probes."""
        if self.warmup_h > 0:
            self.env.run(until=self.warmup_h)
            self.recorder.begin_statistics()
            for system in self.systems.values():
                system.begin_statistics()
        self.env.run(until=self.horizon_h)
        self.recorder.close()
        if self._agents is not None:  # the run creates no more agents
            self._agents.release()
