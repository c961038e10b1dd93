"""One run: a pure function of (scenario, strategy, seed, sampled values)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from twinworld.core.world import World
from twinworld.errors import ScenarioError
from twinworld.limits import MAX_SEED
from twinworld.scenario.registry import Registry
from twinworld.scenario.uncertain import is_resolved, resolve, sample_values
from twinworld.systems.base import target_system

__all__ = ["RunResult", "run", "build_world"]


@dataclass
class RunResult:
    """What one run reports: KPIs as a flat dict of floats, plus optional detail tables."""

    scenario: str
    strategy: str
    seed: int
    values: dict[str, float]
    kpis: dict[str, float]
    counters: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        """One flat record (strategy, seed, sampled values, KPIs) for a DataFrame."""
        return {"strategy": self.strategy, "seed": self.seed, **self.values, **self.kpis,
                "wall_s": self.wall_s}


def build_world(scenario: Any, strategy: str, seed: int | np.random.SeedSequence, *,
                registry: Registry | None = None) -> World:
    """Build a resolved scenario's World with disruptions scheduled and the strategy applied."""
    registry = registry or scenario.registry
    if strategy not in scenario.strategies:
        raise ScenarioError.single(f"unknown strategy {strategy!r}", path="strategies",
                                   valid=", ".join(scenario.strategies))
    world = World(seed=seed, horizon_h=scenario.horizon)
    world.shared["scenario"] = scenario
    for name, config in scenario.systems.items():
        world.systems[name] = registry.get(config.kind).build(world, name, config)
    for disruption in scenario.disruptions:
        world.systems[target_system(disruption.target)].disrupt(disruption)
    for system, levers in scenario.strategies[strategy].items():
        for lever in levers:
            world.systems[system].respond(lever)
    if scenario.couplings:
        from twinworld.coupling import apply_couplings
        apply_couplings(world, scenario.couplings)
    for system in world.systems.values():
        system.start()
    return world


def run(scenario: Any, strategy: str = "baseline", seed: int | None = None, *,
        values: Mapping[str, float] | None = None, registry: Registry | None = None,
        run_seed: np.random.SeedSequence | None = None, tables: bool = False) -> RunResult:
    """Run one scenario sample under one strategy.

    Parameters
    ----------
    scenario
        A validated :class:`~twinworld.scenario.Scenario` (may still hold distributions).
    strategy
        Name of one of the scenario's strategies.
    seed
        Run seed (default: the scenario's ``seed``). Randomness is drawn from named streams of it,
        so strategies run on the same seed face the same arrivals and failures.
    values
        Values of the uncertain parameters (a sweep's design point). If omitted they are sampled
        from ``seed``'s ``scenario`` streams.
    run_seed
        A SeedSequence for the simulation streams (sweeps pass one per scenario and replication);
        defaults to ``seed``.
    tables
        Also return the systems' detail tables.

    Returns
    -------
    RunResult
        Its ``kpis`` hold every KPI of every system; where two systems report a KPI of the same
        name, each is prefixed with its system name.
    """
    seed = scenario.seed if seed is None else int(seed)
    if not 0 <= seed <= MAX_SEED:
        raise ScenarioError.single(f"must be a whole number from 0 to {MAX_SEED}; got {seed}", path="seed")
    started = time.perf_counter()
    if is_resolved(scenario):
        values, resolved = values or {}, scenario
    else:
        if values is None:
            values = sample_values(scenario, seed)
        resolved = resolve(scenario, values)
    world = build_world(resolved, strategy, run_seed if run_seed is not None else seed,
                        registry=registry)
    world.run()
    kpis: dict[str, float] = {}
    clashes: set[str] = set()
    per_system = {name: system.kpis() for name, system in world.systems.items()}
    for name, system_kpis in per_system.items():
        for key in system_kpis:
            if sum(key in other for other in per_system.values()) > 1:
                clashes.add(key)
    for name, system_kpis in per_system.items():
        for key, value in system_kpis.items():
            kpis[f"{name}.{key}" if key in clashes else key] = float(value)
    detail = {}
    if tables:
        for name, system in world.systems.items():
            for table_name, table in system.tables().items():
                detail[f"{name}.{table_name}"] = table
        if world.recorder.events:
            detail["events"] = pd.DataFrame(world.recorder.events, columns=["time_h", "kind", "detail"])
    return RunResult(scenario=scenario.name, strategy=strategy, seed=seed, values=dict(values),
                     kpis=kpis, counters=dict(world.recorder.counters),
                     wall_s=time.perf_counter() - started, tables=detail)
