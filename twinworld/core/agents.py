"""The only bridge to Mesa: facilities, vehicles and deciding agents in ``AgentSet`` s.

Mesa gives us agent collections with useful verbs (``select``, ``shuffle_do``, ``do``, ``groupby``,
``agg``) and spaces. We never call ``Model.step``: SimPy owns the clock. Agents that decide do so at
*decision epochs*, SimPy processes made by :func:`decision_epochs`.

Two shapes of agent live here:

- small populations (hospitals, warehouses, vessel operators) are ordinary Mesa agents whose
  methods decide, called through the set's verbs at each epoch;
- large populations (a city's households) are a :class:`Cohort`: their state is a table of numpy
  columns, each row is also a thin Mesa agent (:class:`Member`) that reads its row, so Mesa's verbs
  (``select``, ``groupby``, ``agg``) work on them, while the decisions of an epoch are computed for
  the whole table at once.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Mapping
from typing import Any

import mesa
import numpy as np
import pandas as pd

__all__ = ["AgentLayer", "Facility", "Cohort", "Member", "decision_epochs"]


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


class Member(mesa.Agent):
    """One row of a :class:`Cohort` as a Mesa agent: its attributes are the row's columns.

    ``member.zone`` reads ``cohort.columns["zone"][member.index]`` (write through the cohort's
    columns). Keep per-member Python work for the few (a ``select`` result); the many are handled
    by the cohort's columns.
    """

    def __init__(self, model: mesa.Model, *, cohort: "Cohort", index: int) -> None:
        super().__init__(model)
        self.cohort = cohort
        self.index = index
        self.kind = cohort.kind

    def __getattr__(self, name: str) -> Any:
        columns = self.__dict__.get("cohort")
        if columns is not None and name in columns.columns:
            return columns.columns[name][self.__dict__["index"]].item()
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")


class Cohort:
    """Many agents of one kind as numpy columns, each row also a Mesa :class:`Member`.

    Parameters
    ----------
    layer
        The agent layer whose Mesa model registers the members.
    kind
        What the agents are (``"household"``).
    columns
        Column name -> array, all of one length (the number of agents).
    member
        The :class:`Member` subclass to create (its methods are what the agents can do one by one).

    Notes
    -----
    The members are registered with Mesa the first time Mesa is asked for them (:attr:`agents`,
    :attr:`members`, :meth:`subset`, or the layer's :meth:`AgentLayer.of_kind` and
    :attr:`AgentLayer.all`): registering costs Mesa two weak references per agent (about a second
    for 100,000), which a run that only needs the cohort's columns and KPIs does not pay.
    """

    def __init__(self, layer: "AgentLayer", kind: str, columns: Mapping[str, np.ndarray], *,
                 member: type[Member] = Member) -> None:
        sizes = {name: len(values) for name, values in columns.items()}
        if len(set(sizes.values())) > 1:
            raise ValueError(f"cohort {kind!r}: columns of different lengths {sizes}")
        self.kind = kind
        self.columns: dict[str, np.ndarray] = dict(columns)
        self.size = next(iter(sizes.values()), 0)
        self._layer = layer
        self._member = member
        self._members: list[Member] | None = None
        self._agents: mesa.agent.AgentSet | None = None

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, column: str) -> np.ndarray:
        return self.columns[column]

    @property
    def is_registered(self) -> bool:
        """Whether the members exist as Mesa agents yet."""
        return self._members is not None

    @property
    def members(self) -> list[Member]:
        """The Mesa agents, one per row (registered with the layer's model on first use)."""
        if self._members is None:
            model, member = self._layer.model, self._member
            self._members = [member(model, cohort=self, index=i) for i in range(self.size)]
        return self._members

    @property
    def agents(self) -> mesa.agent.AgentSet:
        """All members as a Mesa AgentSet, in row order."""
        if self._agents is None:
            self._agents = mesa.agent.AgentSet(self.members, random=self._layer.model.random)
        return self._agents

    def add_column(self, name: str, values: np.ndarray) -> None:
        if len(values) != self.size:
            raise ValueError(f"cohort {self.kind!r}: column {name!r} has {len(values)} rows, not {self.size}")
        self.columns[name] = values

    def subset(self, rows: Iterable[int] | np.ndarray) -> mesa.agent.AgentSet:
        """An AgentSet of the members at ``rows`` (in that order), for Mesa verbs on a few."""
        members = self.members
        return mesa.agent.AgentSet([members[i] for i in np.asarray(rows, np.int64).tolist()],
                                   random=self._layer.model.random)

    def rows(self, agents: Iterable[Member]) -> np.ndarray:
        """The row numbers of ``agents`` (members of this cohort), e.g. of a ``select`` result."""
        return np.fromiter((agent.index for agent in agents), np.int64)

    def frame(self, columns: Iterable[str] | None = None) -> pd.DataFrame:
        """The cohort as a table, one row per agent (its per-agent record)."""
        names = list(self.columns) if columns is None else list(columns)
        return pd.DataFrame({name: self.columns[name] for name in names})


class AgentLayer:
    """A Mesa model used only as a registry of agents (no scheduler, no ``step``)."""

    def __init__(self, seed: int) -> None:
        self.model = mesa.Model(rng=seed)
        self.cohorts: list[Cohort] = []

    def release(self) -> None:
        """Drop the model from Mesa's class-level id counters (``Agent._ids``, keyed by model),
        which otherwise keep every model and all its agents alive for the life of the process."""
        ids = getattr(mesa.Agent, "_ids", None)
        if isinstance(ids, dict):
            ids.pop(self.model, None)

    def add_facility(self, *, name: str, kind: str, state: Any,
                     location: tuple[float, float] | None = None) -> Facility:
        return Facility(self.model, name=name, kind=kind, state=state, location=location)

    def add_cohort(self, kind: str, columns: Mapping[str, np.ndarray], *,
                   member: type[Member] = Member) -> Cohort:
        """Agents of ``kind`` whose state is ``columns`` (one per row; Mesa agents on first use)."""
        cohort = Cohort(self, kind, columns, member=member)
        self.cohorts.append(cohort)
        return cohort

    @property
    def all(self) -> mesa.agent.AgentSet:
        for cohort in self.cohorts:
            cohort.members  # noqa: B018 - register them with Mesa before Mesa is asked
        return self.model.agents

    def of_kind(self, kind: str) -> mesa.agent.AgentSet:
        """All agents of one kind, as an AgentSet (a view; its order is creation order)."""
        for cohort in self.cohorts:
            if cohort.kind == kind:
                cohort.members  # noqa: B018 - register them with Mesa before Mesa is asked
        return self.model.agents.select(lambda agent: getattr(agent, "kind", None) == kind)

    def named(self, kind: str, name: str) -> Facility:
        found = self.model.agents.select(
            lambda agent: getattr(agent, "kind", None) == kind and agent.name == name)
        if len(found) != 1:
            raise KeyError(f"no {kind} named {name!r}")
        return found[0]

    def where(self, kind: str, predicate: Callable[[Facility], bool]) -> list[Facility]:
        return list(self.of_kind(kind).select(predicate))


def decision_epochs(env: Any, decide: Callable[[float], bool], *, every_h: float,
                    also_at_h: Iterable[float] = (), until_h: float = float("inf")) -> Generator[Any, Any, None]:
    """A SimPy process calling ``decide(now)`` at each decision epoch, until it returns False.

    Epochs fall every ``every_h`` hours from now and also at each time of ``also_at_h`` (an order
    given at 45 min is acted on at 45 min, not at the next multiple of ``every_h``). Simulated time
    passes between epochs; the World's clock stays the only clock.
    """
    if not every_h > 0:
        raise ValueError(f"decision epochs need a positive interval, got {every_h} h")
    start = float(env.now)
    extra = sorted({float(t) for t in also_at_h if start <= float(t) <= until_h})
    step = 0
    while True:
        now = float(env.now)
        if not decide(now) or now >= until_h:
            return
        regular = start + (step + 1) * every_h
        while extra and extra[0] <= now:
            extra.pop(0)
        after = min(regular, extra[0]) if extra else regular
        if after >= regular:
            step += 1
        if after > until_h + 1e-9:
            return
        yield env.timeout(min(after, until_h) - now)
