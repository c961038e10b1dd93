"""The only bridge to Mesa: facilities and vehicles as agents in an ``AgentSet``.

Mesa gives us agent collections with useful verbs (``select``, ``groupby``, ``agg``) and spaces.
We never call ``Model.step``: SimPy owns the clock. The Mesa model here is a container.
"""

from __future__ import annotations

from typing import Any, Callable

import mesa

__all__ = ["AgentLayer", "Facility"]


class Facility(mesa.Agent):
    """A physical site (hospital, berth, warehouse, substation) as a Mesa agent.

    Parameters
    ----------
    model
        The layer's Mesa model.
    name
        The facility's name in the scenario (``"H1"``).
    kind
        What it is (``"hospital"``).
    state
        The system object holding its live state; agents expose it for ``select``/``agg``.
    """

    def __init__(self, model: mesa.Model, *, name: str, kind: str, state: Any,
                 location: tuple[float, float] | None = None) -> None:
        super().__init__(model)
        self.name = name
        self.kind = kind
        self.state = state
        self.location = location


class AgentLayer:
    """A Mesa model used only as a registry of agents (no scheduler, no ``step``)."""

    def __init__(self, seed: int) -> None:
        self.model = mesa.Model(rng=seed)

    def release(self) -> None:
        """Drop the model from Mesa's class-level id counters (``Agent._ids``, keyed by model),
        which otherwise keep every model and all its agents alive for the life of the process."""
        ids = getattr(mesa.Agent, "_ids", None)
        if isinstance(ids, dict):
            ids.pop(self.model, None)

    def add_facility(self, *, name: str, kind: str, state: Any,
                     location: tuple[float, float] | None = None) -> Facility:
        return Facility(self.model, name=name, kind=kind, state=state, location=location)

    @property
    def all(self) -> mesa.agent.AgentSet:
        return self.model.agents

    def of_kind(self, kind: str) -> mesa.agent.AgentSet:
        """All agents of one kind, as an AgentSet (a view; its order is creation order)."""
        return self.model.agents.select(lambda agent: getattr(agent, "kind", None) == kind)

    def named(self, kind: str, name: str) -> Facility:
        found = self.model.agents.select(
            lambda agent: getattr(agent, "kind", None) == kind and agent.name == name)
        if len(found) != 1:
            raise KeyError(f"no {kind} named {name!r}")
        return found[0]

    def where(self, kind: str, predicate: Callable[[Facility], bool]) -> list[Facility]:
        return list(self.of_kind(kind).select(predicate))
