"""The World: one SimPy clock, the systems living on it, their random streams and recorder."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import simpy

from twinworld.core.agents import AgentLayer
from twinworld.core.recorder import Recorder
from twinworld.core.rng import RandomStreams

if TYPE_CHECKING:
    from twinworld.systems.base import System

__all__ = ["World", "ServiceBoard"]


class ServiceBoard:
    """Where systems publish their service level over time and others subscribe to it.

    A service is named by a dotted key such as ``"grid.bus.12"``; its level is a float (1.0 fully
    served, 0.0 out). Couplings subscribe to make one system's capacity depend on another's service.
    """

    def __init__(self, env: simpy.Environment) -> None:
        self._env = env
        self.levels: dict[str, float] = {}
        self.history: defaultdict[str, list[tuple[float, float]]] = defaultdict(list)
        self._subscribers: defaultdict[str, list[Callable[[str, float], None]]] = defaultdict(list)

    def publish(self, key: str, level: float) -> None:
        """Set the service level of ``key`` now and tell its subscribers if it changed."""
        if self.levels.get(key) == level:
            return
        self.levels[key] = level
        self.history[key].append((self._env.now, level))
        for callback in self._subscribers[key]:
            callback(key, level)

    def subscribe(self, key: str, callback: Callable[[str, float], None]) -> None:
        self._subscribers[key].append(callback)

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

    Notes
    -----
    ``env`` is the only clock. Systems add SimPy processes to it; nothing calls Mesa's
    ``Model.step``.
    """

    def __init__(self, *, seed: int | np.random.SeedSequence, horizon_h: float) -> None:
        if horizon_h <= 0:
            raise ValueError(f"horizon must be positive, got {horizon_h} h")
        self.env = simpy.Environment()
        self.horizon_h = float(horizon_h)
        self.streams = RandomStreams(seed)
        self.recorder = Recorder(self.env)
        self.services = ServiceBoard(self.env)
        self._agents: AgentLayer | None = None
        self.systems: dict[str, System] = {}
        self.shared: dict[str, Any] = {}

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
        """Advance the clock to the horizon and close the recorder's probes."""
        self.env.run(until=self.horizon_h)
        self.recorder.close()
        if self._agents is not None:  # the run creates no more agents
            self._agents.release()
