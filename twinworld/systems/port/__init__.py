"""A container port: anchorage, berths, quay cranes, yard and truck gate under strikes and storms."""

from __future__ import annotations

from typing import Any

import pandas as pd

from twinworld.errors import FeedError, Problem, ScenarioError
from twinworld.params import Dist
from twinworld.systems.base import SystemPlugin, target_element, target_system
from twinworld.systems.port.config import (AISArrivals, CallSize, FittedArrivals, PortConfig,
                                           ScheduleArrivals, ScheduledCall)
from twinworld.systems.port.disruptions import DISRUPTIONS, CraneFailure
from twinworld.systems.port.kpis import KPIS
from twinworld.systems.port.model import Port
from twinworld.systems.port.strategies import STRATEGIES
from twinworld.systems.port.workload import estimate_events

__all__ = ["plugin", "Port", "PortConfig", "check", "prepare"]


def check(scenario: Any, name: str, config: PortConfig) -> list[Problem]:
    """Disruptions aimed at one berth must name a real berth, and cannot fail more cranes than exist."""
    berths = config.berth_names()
    problems = []
    for i, disruption in enumerate(scenario.disruptions):
        if target_system(disruption.target) != name:
            continue
        element = target_element(disruption.target)
        if element is not None and element not in berths:
            problems.append(Problem(f"no berth {element!r} in port {name!r}", f"disruptions.{i}.target",
                                    valid=f"{name} or {name}.<one of {', '.join(berths)}>"))
        if isinstance(disruption, CraneFailure):
            available = config.cranes_per_berth * (1 if element else config.berths)
            if disruption.cranes > available:
                problems.append(Problem(f"{disruption.cranes} cranes fail but {disruption.target} has only "
                                        f"{available}", f"disruptions.{i}.cranes", valid=f"1..{available}"))
    return problems


def _nominal(value: float | Dist) -> float:
    return value.ppf(0.5) if isinstance(value, Dist) else float(value)


def _vessel_label(name: Any, mmsi: Any) -> str:
    return str(name).strip() if isinstance(name, str) and name.strip() else f"MMSI {mmsi}"


def prepare(config: PortConfig, files: Any) -> PortConfig:
    """Turn ``arrivals: {kind: ais}`` into a fitted process or a schedule, reading the file once."""
    arrivals = config.arrivals
    if not isinstance(arrivals, AISArrivals):
        return config
    from twinworld.feeds.ais import arrival_statistics, port_calls, read_ais

    path = files.resolve(arrivals.file, path="arrivals.file", kind="ais")
    try:
        data = read_ais(path, format=arrivals.format)
    except FeedError as err:
        raise ScenarioError.single(str(err), path="arrivals.file") from None
    calls = port_calls(data.positions, arrivals.port_polygon, berth_polygon=arrivals.berth_polygon,
                       speed_below_kn=arrivals.speed_below_kn, new_call_gap_h=arrivals.new_call_gap,
                       vessel_types=arrivals.vessel_types)
    if len(calls) < arrivals.min_calls:
        raise ScenarioError.single(
            f"AIS file {arrivals.file!r} gives {len(calls)} port call(s) (reports under "
            f"{arrivals.speed_below_kn:g} kn inside port_polygon) from {len(data.positions)} good reports; "
            f"need at least {arrivals.min_calls}", path="arrivals.port_polygon",
            valid="a polygon of [lat, lon] vertices (latitude first) around the port and its anchorage")
    quarantined = ", ".join(f"{n} {reason}" for reason, n in data.reasons().items()) or "none"
    source = (f"{arrivals.file}: {len(calls)} calls derived from {data.records_read} records "
              f"({data.quarantined} quarantined: {quarantined})")
    berth_teu_h = config.cranes_per_berth * _nominal(config.crane_moves_per_h) * config.teu_per_move
    setup_h = _nominal(config.berth_setup)
    work_h = (calls["berth_hours"] - setup_h).clip(lower=0.5)
    update: dict[str, Any] = {}
    if arrivals.mode == "replay":
        t0 = calls["arrival"].min().floor("D")
        update["arrivals"] = ScheduleArrivals(kind="schedule", source=source, calls=[
            ScheduledCall(vessel=_vessel_label(row.vessel_name, row.mmsi),
                          eta=(row.arrival - t0).total_seconds() / 3600.0,
                          teu=float(work * berth_teu_h) if pd.notna(work) else None)
            for row, work in zip(calls.itertuples(), work_h)])
    else:
        stats = arrival_statistics(calls).loc["interarrival_h"]
        update["arrivals"] = FittedArrivals(kind="fitted", distribution=str(stats["best"]),
                                            mean_interarrival=float(stats["mean"]),
                                            cv=float(stats["cv"]), source=source)
        if "call_size" not in config.model_fields_set and work_h.notna().sum() >= 2:
            teu = work_h.dropna() * berth_teu_h
            update["call_size"] = CallSize(distribution="lognormal", mean_teu=float(teu.mean()),
                                           cv=float(teu.std(ddof=1) / teu.mean()))
    return config.model_copy(update=update)


plugin = SystemPlugin(
    kind="port",
    config=PortConfig,
    build=Port,
    disruptions=DISRUPTIONS,
    strategies=STRATEGIES,
    kpis=KPIS,
    estimate_events=estimate_events,
    check=check,
    prepare=prepare,
    description="A container port: anchorage queue, berths with quay cranes, yard and truck gate; "
                "arrivals from a schedule, a fitted distribution or AIS port calls.",
    elements=lambda config: config.berth_names(),
)
