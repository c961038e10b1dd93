"""Re-run one run and keep its state over time, for the replay view.

A replay is the same computation as :func:`twinworld.run` for the same scenario, strategy, seed and
sampled values (the tests check the KPIs are equal), plus a read-only probe process that samples
what the systems' own tables do not keep (vehicles on each road link, closed links) at evenly
spaced moments. The probe draws no random numbers and changes no state, so the run's events keep
their order.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from twinworld.dashboard.events import cascade_events, from_cascade_log
from twinworld.dashboard.mapfig import MapState

__all__ = ["Replay", "replay_run", "density_class"]

_DENSITY_CLASSES = ((0.25, "free"), (0.6, "busy"), (0.9, "congested"), (float("inf"), "jammed"))
_LINE_OUT = {"damage": True, "trip": True, "restored": False, "reclosed": False}


def density_class(share: float) -> str:
    """A road link's state from the share of its storage in use."""
    return next(name for limit, name in _DENSITY_CLASSES if share < limit)


@dataclass
class Replay:
    """One run's state over time.

    Attributes
    ----------
    times_h
        The sampled moments (hours from the start).
    links
        Road system -> ``(density share per moment and link, closed per moment and link)``.
    services
        Service levels published during the run: ``time_h, key, level``.
    events
        The run's events (:data:`~twinworld.dashboard.events.CASCADE_COLUMNS`): what the map paints.
    causes
        The run's declared cause chains (disruptions, services lost, consumers degraded, with the
        id of each cause): what the cascade timeline draws.
    tables
        The systems' own tables (``hospitals.occupancy``, ``port.hourly``, ``supply.stock`` ...).
    """

    scenario: str
    strategy: str
    seed: int
    values: dict[str, float]
    kpis: dict[str, float]
    horizon_h: float
    times_h: np.ndarray
    links: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    services: pd.DataFrame = field(default_factory=pd.DataFrame)
    events: pd.DataFrame = field(default_factory=pd.DataFrame)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    systems: dict[str, str] = field(default_factory=dict)
    wall_s: float = 0.0
    causes: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def timeline(self) -> pd.DataFrame:
        """What the cascade timeline draws: the declared cause chains, or the events without them."""
        return self.causes if len(self.causes) else self.events

    def frame(self, time_h: float) -> int:
        """Index of the last sampled moment at or before ``time_h``."""
        return int(np.clip(np.searchsorted(self.times_h, time_h, side="right") - 1, 0, len(self.times_h) - 1))

    def level(self, key: str, time_h: float, default: float = 1.0) -> float:
        """A published service level at ``time_h``."""
        rows = self.services[(self.services["key"] == key) & (self.services["time_h"] <= time_h)]
        return float(rows["level"].iloc[-1]) if len(rows) else default

    def state_at(self, time_h: float) -> MapState:
        """What the map shows at ``time_h``."""
        state = MapState(time_h=time_h)
        for system, kind in self.systems.items():
            painter = _PAINTERS.get(kind)
            if painter is not None:
                painter(self, system, time_h, state)
        return state


# ------------------------------------------------------------------------------ painters --
def _paint_roads(replay: Replay, system: str, time_h: float, state: MapState) -> None:
    if system not in replay.links:
        return
    density, closed = replay.links[system]
    k = replay.frame(time_h)
    for link, (share, shut) in enumerate(zip(density[k], closed[k])):
        state.segments[(system, str(link))] = "closed" if shut else density_class(float(share))


def _paint_hospitals(replay: Replay, system: str, time_h: float, state: MapState) -> None:
    table = replay.tables.get(f"{system}.occupancy")
    if table is None or table.empty:
        return
    now = table[table["time_h"] <= time_h]
    for row in now.groupby("hospital").tail(1).itertuples(index=False):
        share = row.occupied / row.capacity if row.capacity else 1.0
        state.stress[(system, row.hospital)] = float(min(1.0, share))
        state.notes[(system, row.hospital)] = (f"<b>{row.occupied:,} of {row.capacity:,} beds in use "
                                               f"({share:.0%})</b>, {row.waiting:,} waiting")


def _paint_grid(replay: Replay, system: str, time_h: float, state: MapState) -> None:
    prefix = f"{system}.bus."
    levels = replay.services[replay.services["key"].str.startswith(prefix)
                             & (replay.services["time_h"] <= time_h)]
    for key, level in levels.groupby("key")["level"].last().items():
        bus = key[len(prefix):]
        if level < 0.5:
            state.dark.add((system, bus))
            state.notes[(system, bus)] = "<b>dark</b> (not energised)"
    events = replay.events[(replay.events["system"] == system) & (replay.events["time_h"] <= time_h)]
    out: dict[str, bool] = {}
    for row in events.itertuples(index=False):
        if row.kind in _LINE_OUT:
            out[row.element] = _LINE_OUT[row.kind]
    for branch, is_out in out.items():
        state.segments[(system, branch)] = "out" if is_out else "in service"


def _paint_port(replay: Replay, system: str, time_h: float, state: MapState) -> None:
    table = replay.tables.get(f"{system}.hourly")
    if table is None or table.empty:
        return
    now = table[table["time_h"] <= time_h]
    row = (now if len(now) else table).iloc[-1]
    closed = replay.level(f"{system}.open", time_h) < 0.5
    berths = max(1, int(table["berths_occupied"].max()))
    state.stress[(system, "port")] = 1.0 if closed else float(min(1.0, row["anchorage"] / (2.0 * berths)))
    state.notes[(system, "port")] = (("<b>CLOSED</b><br>" if closed else "") +
                                      f"<b>{int(row['anchorage'])} vessel(s) waiting</b> at anchorage, "
                                      f"{int(row['berths_occupied'])} berth(s) busy<br>"
                                      f"yard {row['yard_teu']:,.0f} TEU")


def _paint_supply(replay: Replay, system: str, time_h: float, state: MapState) -> None:
    stock = replay.tables.get(f"{system}.stock")
    levels = replay.tables.get(f"{system}.warehouses")
    if stock is None or stock.empty or levels is None:
        return
    target = dict(zip(levels["warehouse"], levels["order_up_to"]))
    now = stock[stock["time_h"] <= time_h]
    for row in now.groupby("warehouse").tail(1).itertuples(index=False):
        full = float(target.get(row.warehouse) or 1.0)
        state.stress[(system, row.warehouse)] = float(np.clip(1.0 - row.on_hand / full, 0.0, 1.0))
        state.notes[(system, row.warehouse)] = (f"<b>{row.on_hand:,} units on hand</b> "
                                                f"(order-up-to {full:,.0f}), {row.on_order:,} on order, "
                                                f"{row.backordered:,} backordered")


_PAINTERS = {"road_network": _paint_roads, "hospital_region": _paint_hospitals, "power_grid": _paint_grid,
             "port": _paint_port, "supply_network": _paint_supply}


# ------------------------------------------------------------------------------ running --
def _sample(world: Any, store: dict[str, tuple[list, list]]) -> None:
    """Record each road system's link densities and closures now (read-only)."""
    for name, system in world.systems.items():
        if getattr(system, "kind", "") != "road_network" or system.engine is None:
            continue
        engine = system.engine
        storage = np.maximum(np.asarray(engine.storage, float), 1e-9)
        density, closed = store.setdefault(name, ([], []))
        density.append(np.asarray(engine.occ, float) / storage)
        closed.append(~np.asarray(engine.is_open, bool))


def _probe(world: Any, times_h: np.ndarray, store: dict[str, tuple[list, list]]):
    """Sample at ``times_h`` before the horizon (advances no engine, draws no numbers)."""
    for t in times_h:
        if t >= world.horizon_h:
            return
        yield world.env.timeout(max(0.0, float(t) - world.env.now))
        _sample(world, store)


def _kpis(world: Any) -> dict[str, float]:
    """The run's KPIs, named as :func:`twinworld.run` names them (system-prefixed on a clash)."""
    per_system = {name: system.kpis() for name, system in world.systems.items()}
    names = [k for kpis in per_system.values() for k in kpis]
    return {(f"{name}.{key}" if names.count(key) > 1 else key): float(value)
            for name, kpis in per_system.items() for key, value in kpis.items()}


def _resolved(scenario: Any, seed: int, values: Mapping[str, float] | None) -> tuple[Any, dict[str, float]]:
    from twinworld.scenario.uncertain import is_resolved, resolve, sample_values

    if is_resolved(scenario):
        return scenario, dict(values or {})
    values = dict(sample_values(scenario, seed) if values is None else values)
    resolved = resolve(scenario, values)
    resolved._registry = scenario._registry
    return resolved, values


def replay_run(scenario: Any, strategy: str, *, seed: int | None = None,
               values: Mapping[str, float] | None = None, run_seed: np.random.SeedSequence | None = None,
               frames: int = 120) -> Replay:
    """Run ``strategy`` on ``scenario`` as :func:`twinworld.run` would, keeping its state over time.

    Parameters
    ----------
    scenario
        A loaded scenario (it may still hold distributions).
    strategy
        One of its strategies.
    seed, values, run_seed
        As for :func:`twinworld.run`: the run seed, the sampled parameter values (sampled from
        ``seed`` when omitted) and the simulation streams' seed (a sweep passes
        ``SeedSequence(seed)``).
    frames
        Intervals the horizon is cut into for the map: ``frames + 1`` moments, both ends included.
    """
    from twinworld.experiments.run import build_world

    started = time.perf_counter()
    seed = scenario.seed if seed is None else int(seed)
    resolved, values = _resolved(scenario, seed, values)
    world = build_world(resolved, strategy, run_seed if run_seed is not None else seed,
                        registry=scenario.registry)
    times_h = np.linspace(0.0, world.horizon_h, max(2, int(frames)) + 1)
    store: dict[str, tuple[list, list]] = {}
    world.env.process(_probe(world, times_h, store))
    world.run()
    kpis = _kpis(world)  # brings every system to the horizon
    _sample(world, store)  # the final moment (SimPy stops before events at the horizon itself)
    tables = {f"{name}.{t}": frame for name, system in world.systems.items()
              for t, frame in system.tables().items()}
    raw = pd.DataFrame(world.recorder.events, columns=["time_h", "kind", "detail"])
    services = pd.DataFrame([(t, key, level) for key, history in world.services.history.items()
                             for t, level in history], columns=["time_h", "key", "level"])
    links = {name: (np.array(d), np.array(c)) for name, (d, c) in store.items()}
    return Replay(scenario.name, strategy, seed, values, kpis, world.horizon_h, times_h, links,
                  services.sort_values("time_h", kind="stable").reset_index(drop=True),
                  cascade_events(raw, scenario), tables,
                  {name: config.kind for name, config in scenario.systems.items()},
                  time.perf_counter() - started,
                  from_cascade_log(pd.DataFrame([vars(e) for e in world.cascade.events])
                                   if world.cascade.events else None))
