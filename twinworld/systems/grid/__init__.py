"""A power grid: DC flows with PTDF/LODF, islands, cascades, load shedding and repair crews."""

from __future__ import annotations

from typing import Any

from twinworld.errors import FeedError, Problem, ScenarioError
from twinworld.systems.base import Consumes, Service, SystemPlugin
from twinworld.systems.grid.config import PowerGridConfig
from twinworld.systems.grid.disruptions import DISRUPTIONS
from twinworld.systems.grid.example import example
from twinworld.systems.grid.kpis import KPIS
from twinworld.systems.grid.model import STREAMS, PowerGrid
from twinworld.systems.grid.state import GridState
from twinworld.systems.grid.strategies import STRATEGIES
from twinworld.systems.grid.workload import estimate_events

__all__ = ["plugin", "PowerGrid", "PowerGridConfig", "GridState"]


def _case(config: PowerGridConfig) -> Any:
    """The grid case when it can be read without the scenario's folder (bundled), else None."""
    if config.source.pandapower is None and config.source.digest is None:
        return None
    from twinworld.systems.grid.engine import cached_case
    from twinworld.systems.grid.model import case_source

    return cached_case(case_source(config), config.source.digest)


def check(config: PowerGridConfig) -> list[Problem]:
    """Critical loads must name buses of the grid (paths relative to the section)."""
    try:
        case = _case(config)
    except FeedError as err:
        return [Problem(str(err), "source")]
    problems = [Problem(f"no bus {load.bus!r} in grid {case.name!r}", f"critical_loads.{i}.bus",
                        valid=case.describe_ids("bus"))
                for i, load in enumerate(config.critical_loads) if load.bus not in case.bus_aliases]
    problems += [Problem(f"no bus {bus!r} in grid {case.name!r}", f"bus_locations.{bus}",
                         valid=case.describe_ids("bus"))
                 for bus in config.bus_locations if bus not in case.bus_aliases]
    return problems


def locations(config: PowerGridConfig) -> dict[str, tuple[float, float]]:
    """Buses placed on the map by the section's ``bus_locations`` table."""
    return dict(config.bus_locations)


def elements(config: PowerGridConfig) -> dict[str, str]:
    """Buses (by index and name), branches and generating units of the grid's case."""
    case = _case(config)
    if case is None:
        return {}
    from twinworld.core.cache import static

    def build() -> dict[str, str]:
        found = {alias: "bus" for alias in case.bus_aliases}
        found.update((line, "line") for line in case.branch_ids)
        found.update((unit, "generator") for unit in case.gen_ids)
        return found

    return static(f"grid-elements:{case.key}", build)


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
    elements=elements,
    element_types={"bus": "a bus (substation) of the case, by index or name", "line": "a branch (line "
                   "or transformer)", "generator": "a generating unit"},
    services=(Service("bus.{bus}", "1 while the bus is energised and its load served, 0 when dark",
                      kinds=("power",)),),
    consumes=(Consumes("bus", ("power",), "the load served at the bus (fed from an upstream grid)"),
              Consumes("bus", ("priority",), "the bus's restoration and shedding priority")),
    observable=GridState,
    streams=STREAMS,
    check=check,
    prepare=prepare,
    example=example,
    locations=locations,
    description="A power grid on the DC flow (PTDF/LODF): outages, cascades, island balancing, "
                "load shedding with priorities and repair crews; publishes <name>.bus.<bus>.",
)
