"""A container port: anchorage, berths, quay cranes, yard and truck gate under strikes and storms."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from twinworld.errors import FeedError, Problem, ScenarioError
from twinworld.params import Dist
from twinworld.systems.base import SYSTEM, Consumes, Service, SystemPlugin
from twinworld.systems.port.config import (AISArrivals, CallSize, FittedArrivals, PortConfig,
                                           ScheduleArrivals, ScheduledCall)
from twinworld.systems.port.example import example
from twinworld.systems.port.disruptions import DISRUPTIONS
from twinworld.systems.port.kpis import KPIS
from twinworld.systems.port.model import STREAMS, Port
from twinworld.systems.port.state import PortState
from twinworld.systems.port.strategies import STRATEGIES
from twinworld.systems.port.workload import estimate_events

__all__ = ["plugin", "Port", "PortConfig", "PortState", "prepare"]


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


def elements(config: PortConfig) -> dict[str, str]:
    """Its berths, ``B1``, ``B2`` ..."""
    return {name: "berth" for name in config.berth_names()}


def locations(config: PortConfig) -> dict[str, tuple[float, float]]:
    """Every berth at the terminal's location (when given)."""
    return {} if config.location is None else {name: config.location for name in config.berth_names()}


plugin = SystemPlugin(
    kind="port",
    config=PortConfig,
    build=Port,
    disruptions=DISRUPTIONS,
    strategies=STRATEGIES,
    kpis=KPIS,
    estimate_events=estimate_events,
    elements=elements,
    element_types={"berth": "a berth with its quay cranes (B1, B2, ...)"},
    services=(
        Service("open", "1 while the port works, 0 while the whole port is closed", kinds=("port_supply",)),
        Service("queue", "vessels waiting at the anchorage", unit="vessels", high=math.inf,
                kinds=("port_supply",)),
        Service("wait_h", "expected anchorage wait of a vessel arriving now (queue x mean berth time / "
                "working berths)", unit="h", high=math.inf, kinds=("port_supply",)),
    ),
    consumes=(Consumes("berth", ("power",), "quay crane moves per hour at the berth", criticality=2),
              Consumes(SYSTEM, ("power",), "quay crane moves per hour at every berth", criticality=2)),
    observable=PortState,
    streams=STREAMS,
    prepare=prepare,
    example=example,
    locations=locations,
    description="A container port: anchorage queue, berths with quay cranes, yard and truck gate; "
                "arrivals from a schedule, a fitted distribution or AIS port calls.",
)
