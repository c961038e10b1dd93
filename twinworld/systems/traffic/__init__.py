"""Road traffic and evacuation on real road networks (the ``road_network`` system kind)."""

from __future__ import annotations

import math
from typing import Any

from twinworld.errors import FeedError, Problem, ScenarioError
from twinworld.systems.base import SYSTEM, Consumes, Service, SystemPlugin
from twinworld.systems.traffic._native import ENGINE_BUILD  # first: picks the engine build (see there)
from twinworld.systems.traffic.checks import all_problems
from twinworld.systems.traffic.config import RoadNetworkConfig
from twinworld.systems.traffic.disruptions import DISRUPTIONS
from twinworld.systems.traffic.example import example
from twinworld.systems.traffic.kpis import KPIS
from twinworld.systems.traffic.model import STREAMS, RoadNetworkSystem
from twinworld.systems.traffic.source import load_network
from twinworld.systems.traffic.state import RoadNetworkState
from twinworld.systems.traffic.strategies import STRATEGIES
from twinworld.systems.traffic.travel_times import network_travel_time_matrix, travel_time_matrix
from twinworld.systems.traffic.workload import estimate_events

__all__ = ["plugin", "ENGINE_BUILD", "RoadNetworkSystem", "RoadNetworkConfig", "load_network", "travel_time_matrix",
           "network_travel_time_matrix"]


def check(config: RoadNetworkConfig) -> list[Problem]:
    """Shelters, zones, OD ends and places must lie on the network (paths relative to the section);
    casualty places must be named places."""
    problems = [Problem(f"casualty place {p!r} is not one of the places", f"casualty_places.{i}",
                        valid=", ".join(config.places) or "(no places)")
                for i, p in enumerate(config.casualty_places) if p not in config.places]
    try:
        net = load_network(config.source)
    except FeedError as err:
        return [*problems, Problem(str(err), "source")]
    problems += all_problems(net, config)
    if config.households is not None and config.households.shadow is not None and not problems:
        from twinworld.systems.traffic.evacuees import shadow_nodes

        if shadow_nodes(net, config).size == 0:
            where = "inside its polygon " if config.households.shadow.polygon is not None else ""
            problems.append(Problem(f"the shadow region has no road node {where}outside the zones",
                                    "households.shadow", valid="a polygon reaching roads outside every zone, "
                                                               "or zones that leave some of the network out"))
    return problems


def prepare(config: RoadNetworkConfig, files: Any) -> RoadNetworkConfig:
    """Resolve an ``osm_file`` inside ``data_dir``, hash it and read it once (per process)."""
    if config.source.osm_file is None:
        return config
    from twinworld.core.cache import file_digest

    path = files.resolve(config.source.osm_file, path="source.osm_file", kind="osm")
    source = config.source.model_copy(update={"resolved_path": str(path), "digest": file_digest(path)})
    try:
        load_network(source)
    except FeedError as err:
        raise ScenarioError.single(str(err), path="source.osm_file") from None
    return config.model_copy(update={"source": source})


def locations(config: RoadNetworkConfig) -> dict[str, tuple[float, float]]:
    """Named places given as ``[lat, lon]``."""
    return {name: (float(p[0]), float(p[1])) for name, p in config.places.items() if not isinstance(p, str)}


def elements(config: RoadNetworkConfig) -> dict[str, str]:
    """Named places, zones and shelters."""
    return {**{name: "place" for name in config.places}, **{z.name: "zone" for z in config.zones},
            **{s.name: "shelter" for s in config.shelters}}


plugin = SystemPlugin(
    kind="road_network",
    config=RoadNetworkConfig,
    build=RoadNetworkSystem,
    disruptions=DISRUPTIONS,
    strategies=STRATEGIES,
    kpis=KPIS,
    estimate_events=estimate_events,
    elements=elements,
    element_types={"place": "a named point on the network (places:)", "zone": "an area evacuated together",
                   "shelter": "a shelter or exit evacuees drive to"},
    services=(
        Service("access.{place}", "share of the other named places reachable from this one",
                kinds=("road_travel",)),
        Service("travel_min.{place}.{place}", "minutes from one named place to another now (queues, "
                "closures; inf when cut off)", unit="min", high=math.inf, kinds=("road_travel",)),
        Service("casualties.{place}", "injured so far for whom this casualty place is the nearest "
                "reachable", unit="persons", high=math.inf, kinds=("casualties",)),
    ),
    consumes=(Consumes("place", ("power",), "capacity of links into signalised intersections within "
                                            "signal_radius_km of the place", criticality=3),
              Consumes(SYSTEM, ("power",), "capacity of links into every signalised intersection", criticality=3)),
    observable=RoadNetworkState,
    streams=STREAMS,
    check=check,
    prepare=prepare,
    example=example,
    locations=locations,
    description="Roads from OpenStreetMap (or a grid) with a mesoscopic queue model: evacuations "
                "to shelters or exits, OD trips, closures, floods, signal outages, contraflow.",
)
