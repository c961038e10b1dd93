"""Road traffic and evacuation on real road networks (the ``road_network`` system kind)."""

from __future__ import annotations

from typing import Any

from twinworld.errors import FeedError, Problem, ScenarioError
from twinworld.systems.base import SystemPlugin
from twinworld.systems.traffic.checks import all_problems
from twinworld.systems.traffic.config import RoadNetworkConfig
from twinworld.systems.traffic.disruptions import DISRUPTIONS
from twinworld.systems.traffic.kpis import KPIS
from twinworld.systems.traffic.model import RoadNetworkSystem
from twinworld.systems.traffic.source import load_network
from twinworld.systems.traffic.strategies import STRATEGIES
from twinworld.systems.traffic.travel_times import network_travel_time_matrix, travel_time_matrix
from twinworld.systems.traffic.workload import estimate_events

__all__ = ["plugin", "RoadNetworkSystem", "RoadNetworkConfig", "load_network", "travel_time_matrix",
           "network_travel_time_matrix"]


def check(scenario: Any, name: str, config: RoadNetworkConfig) -> list[Problem]:
    """Shelters, zones, OD ends, places and disruption areas must lie on the network.

    Networks from files are checked after ``prepare`` reads them, when the run builds the system.
    """
    if config.source.osm_file is not None and config.source.resolved_path is None:
        return []
    try:
        net = load_network(config.source)
    except FeedError as err:
        return [Problem(str(err), f"systems.{name}.source")]
    return all_problems(net, config, name, scenario)


def prepare(config: RoadNetworkConfig, files: Any) -> RoadNetworkConfig:
    """Resolve an ``osm_file`` inside ``data_dir``, hash it and read it once (per process)."""
    if config.source.osm_file is None:
        return config
    from twinworld.core.cache import file_digest

    path = files.resolve(config.source.osm_file, path="source.osm_file", kind="osm")
    source = config.source.model_copy(update={"resolved_path": str(path), "digest": file_digest(path)})
    try:
        net = load_network(source)
    except FeedError as err:
        raise ScenarioError.single(str(err), path="source.osm_file") from None
    prepared = config.model_copy(update={"source": source})
    problems = all_problems(net, prepared, "", None)
    if problems:
        raise ScenarioError([Problem(p.message, p.path.removeprefix("systems..").removeprefix("."),
                                     p.line, p.column, p.valid) for p in problems])
    return prepared


plugin = SystemPlugin(
    kind="road_network",
    config=RoadNetworkConfig,
    build=RoadNetworkSystem,
    disruptions=DISRUPTIONS,
    strategies=STRATEGIES,
    kpis=KPIS,
    estimate_events=estimate_events,
    check=check,
    prepare=prepare,
    description="Roads from OpenStreetMap (or a grid) with a mesoscopic queue model: evacuations "
                "to shelters or exits, OD trips, closures, floods, signal outages, contraflow.",
)
