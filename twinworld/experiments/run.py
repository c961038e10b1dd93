"""One run: a pure function of (scenario, strategy, seed, sampled values, starting state)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from twinworld.core.world import World
from twinworld.errors import ScenarioError
from twinworld.limits import MAX_SEED
from twinworld.results import RunResult, merge_kpis
from twinworld.scenario.registry import Registry
from twinworld.scenario.uncertain import is_resolved, resolve, sample_values
from twinworld.systems.base import ObservedState, target_element, target_system

__all__ = ["RunResult", "run", "build_world"]


def build_world(scenario: Any, strategy: str, seed: int | np.random.SeedSequence, *,
                registry: Registry | None = None,
                state: Mapping[str, ObservedState] | None = None) -> World:
    """Build a resolved scenario's World with disruptions scheduled and the strategy applied.

    Each system gets only its own config, the disruptions that target it and its part of the
    strategy. ``state`` (system name -> observed state) starts those systems from what was
    observed instead of from the scenario's initial conditions.
    """
    registry = registry or scenario.registry
    if strategy not in scenario.strategies:
        raise ScenarioError.single(f"unknown strategy {strategy!r}", path="strategies",
                                   valid=", ".join(scenario.strategies))
    unknown = sorted(set(state or {}) - set(scenario.systems))
    if unknown:
        raise ScenarioError.single(f"state names system(s) {', '.join(unknown)} the scenario does not have",
                                   valid=", ".join(scenario.systems))
    world = World(seed=seed, horizon_h=scenario.horizon, warmup_h=scenario.warmup)
    for name, config in scenario.systems.items():
        world.systems[name] = registry.get(config.kind).build(world, name, config)
    for index, disruption in enumerate(scenario.disruptions):
        _record_root(world, disruption, scenario.disruption_label(index))   # before its effects, at equal times
        world.systems[target_system(disruption.target)].disrupt(disruption)
    for system, levers in scenario.strategies[strategy].items():
        for lever in levers:
            world.systems[system].respond(lever)
    for name, observed in (state or {}).items():
        world.systems[name].warm_start(observed)
    if scenario.couplings:
        from twinworld.coupling import apply_couplings
        apply_couplings(world, scenario.couplings,
                        {name: registry.get(config.kind) for name, config in scenario.systems.items()})
    for system in world.systems.values():
        system.start()
    return world


def _record_root(world: World, disruption: Any, label: str) -> None:
    """While the disruption lasts it is the active cause on its target (the root of cascades)."""
    system, element = target_system(disruption.target), target_element(disruption.target)
    start, end = disruption.effect_window(world.horizon_h)
    event: list[int] = []

    def begin() -> None:
        event.append(world.cascade.record(world.now, system, element, "disruption",
                                          f"{label} ({disruption.kind})"))
        world.cascade.activate(system, element, event[0])

    world.at(start, begin)
    if end < world.horizon_h:
        world.at(end, lambda: event and world.cascade.deactivate(system, element, event[0]))


def run(scenario: Any, strategy: str = "baseline", seed: int | None = None, *,
        values: Mapping[str, float] | None = None, registry: Registry | None = None,
        run_seed: np.random.SeedSequence | None = None, tables: bool = False,
        state: Mapping[str, ObservedState] | None = None) -> RunResult:
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
    state
        Observed states (system name -> the plugin's ``observable`` model) to start from, as a
        live twin does.

    Returns
    -------
    RunResult
        Its ``kpis`` hold every KPI of every system, named as
        :func:`twinworld.results.kpi_definitions` names them.

    Examples
    --------
    >>> import twinworld
    >>> scenario = twinworld.load_scenario("scenarios/hospital_surge.yaml")
    >>> result = twinworld.run(scenario, "transfer", seed=1)
    >>> result.kpis["patients_turned_away"] >= 0
    True
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
                        registry=registry, state=state)
    world.run()
    kpis = merge_kpis({name: system.kpis() for name, system in world.systems.items()})
    detail = {}
    if tables:
        for name, system in world.systems.items():
            for table_name, table in system.tables().items():
                detail[f"{name}.{table_name}"] = table
        if world.recorder.events:
            detail["events"] = pd.DataFrame(world.recorder.events, columns=["time_h", "kind", "detail"])
    return RunResult(scenario=scenario.name, strategy=strategy, seed=seed, values=dict(values),
                     kpis=kpis, counters=dict(world.recorder.counters),
                     wall_s=time.perf_counter() - started, tables=detail,
                     cascades=world.cascade.summary(), cascade_events=world.cascade.events)
