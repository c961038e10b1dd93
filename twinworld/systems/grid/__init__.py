"""A power grid: DC flows with PTDF/LODF, islands, cascades, load shedding and repair crews."""

from __future__ import annotations

from typing import Any

import numpy as np

from twinworld.errors import FeedError, Problem, ScenarioError
from twinworld.systems.base import SystemPlugin, target_element, target_system
from twinworld.systems.grid.config import PowerGridConfig
from twinworld.systems.grid.disruptions import (
    DISRUPTIONS,
    Flood,
    GeneratorTrip,
    LineOutage,
    SubstationLoss,
)
from twinworld.systems.grid.kpis import KPIS
from twinworld.systems.grid.model import PowerGrid
from twinworld.systems.grid.strategies import STRATEGIES, Microgrids
from twinworld.systems.grid.workload import estimate_events

__all__ = ["plugin", "PowerGrid", "PowerGridConfig"]


def _case(config: PowerGridConfig) -> Any:
    """The grid case when it can be read without the scenario's folder (bundled), else None."""
    if config.source.pandapower is None and config.source.digest is None:
        return None
    from twinworld.systems.grid.engine import cached_case
    from twinworld.systems.grid.model import case_source

    return cached_case(case_source(config), config.source.digest)


def _unknown(ids: list[str], valid: Any, what: str, case: Any, path: str) -> list[Problem]:
    return [Problem(f"no {what} {i!r} in grid {case.name!r}", path, valid=case.describe_ids(what))
            for i in ids if i not in valid]


def check(scenario: Any, name: str, config: PowerGridConfig) -> list[Problem]:
    """Element ids in disruptions, critical loads and strategies must exist in the grid."""
    try:
        case = _case(config)
    except FeedError as err:
        return [Problem(str(err), f"systems.{name}.source")]
    if case is None:
        return []
    buses, lines, units = case.bus_aliases, case.branch_index(), case.gen_index()
    problems: list[Problem] = []
    for i, load in enumerate(config.critical_loads):
        problems += _unknown([load.bus], buses, "bus", case, f"systems.{name}.critical_loads.{i}.bus")
    for i, d in enumerate(scenario.disruptions):
        if target_system(d.target) != name:
            continue
        where = f"disruptions.{i}"
        element = target_element(d.target)
        if isinstance(d, LineOutage):
            problems += _unknown(d.lines or [], lines, "line", case, f"{where}.lines")
            problems += _unknown([element] if element else [], lines, "line", case, f"{where}.target")
        elif isinstance(d, GeneratorTrip):
            problems += _unknown(d.generators or [], units, "generator", case, f"{where}.generators")
            problems += _unknown([element] if element else [], units, "generator", case, f"{where}.target")
        elif isinstance(d, SubstationLoss):
            problems += _unknown(d.buses + ([element] if element else []), buses, "bus", case,
                                 f"{where}.buses")
        elif isinstance(d, Flood) and not np.isfinite(case.bus_xy).any():
            problems.append(Problem(f"grid {case.name!r} has no bus coordinates for a flood polygon",
                                    f"{where}.polygon", valid="substation_loss with named buses"))
    for strategy, parts in scenario.strategies.items():
        for lever in parts.get(name, ()):
            if isinstance(lever, Microgrids) and lever.buses:
                problems += _unknown(lever.buses, buses, "bus", case, f"strategies.{strategy}.{name}")
    return problems


def prepare(config: PowerGridConfig, files: Any) -> PowerGridConfig:
    """Resolve a case file inside ``data_dir``, read it once (errors now, not mid-sweep), key it."""
    from twinworld.feeds.grid_cases import case_key
    from twinworld.systems.grid.engine import cached_engine

    source = config.source
    try:
        if source.file is not None:
            path = files.resolve(source.file, path="source.file", kind="grid_case")
            key = case_key(path)
            cached_engine(path, key)
            return config.model_copy(update={"source": source.model_copy(
                update={"file": str(path), "digest": key})})
        cached_engine(source.pandapower)
    except FeedError as err:
        raise ScenarioError.single(str(err), path="source") from None
    return config


plugin = SystemPlugin(
    kind="power_grid",
    config=PowerGridConfig,
    build=PowerGrid,
    disruptions=DISRUPTIONS,
    strategies=STRATEGIES,
    kpis=KPIS,
    estimate_events=estimate_events,
    check=check,
    prepare=prepare,
    description="A power grid on the DC flow (PTDF/LODF): outages, cascades, island balancing, "
                "load shedding with priorities and repair crews; publishes <name>.bus.<bus>.",
)
