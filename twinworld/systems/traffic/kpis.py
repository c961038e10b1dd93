"""What a road network measures, and which way is better; computed from the engine's records."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from twinworld.systems.base import KPI, Direction

MINIMIZE, MAXIMIZE = Direction.MINIMIZE, Direction.MAXIMIZE

if TYPE_CHECKING:
    from twinworld.systems.traffic.engine import TrafficEngine

__all__ = ["KPIS", "compute_kpis"]

KPIS = (
    KPI("clearance_time_h", MINIMIZE, "h", "when the last evacuee left the zones (horizon if not all did)"),
    KPI("ete50_h", MINIMIZE, "h", "time until 50% of vehicles reached safety (horizon if never)"),
    KPI("ete90_h", MINIMIZE, "h", "time until 90% of vehicles reached safety (horizon if never)"),
    KPI("ete100_h", MINIMIZE, "h", "time until every vehicle reached safety (horizon if never)"),
    KPI("share_evacuated_by_deadline", MAXIMIZE, "share", "vehicles safe by the deadline / all"),
    KPI("mean_travel_time_min", MINIMIZE, "min", "departure to arrival, over arrived vehicles"),
    KPI("p95_travel_time_min", MINIMIZE, "min", "95th percentile of the travel time"),
    KPI("vehicle_hours_delay", MINIMIZE, "veh-h", "time lost against free flow, all vehicles"),
    KPI("vehicles_stranded", MINIMIZE, "veh", "vehicles left with no open route to safety"),
    KPI("vehicles_en_route", MINIMIZE, "veh", "vehicles still driving at the end of the run"),
    KPI("trips_completed", MAXIMIZE, "veh", "vehicles that arrived"),
    KPI("total_travel_time_veh_h", MINIMIZE, "veh-h", "vehicle-hours driven or queued (to the end)"),
    KPI("casualties", MINIMIZE, "persons", "injured on hazardous roads (wet, flooded, dark signals)"),
)


def _ete(arrive: np.ndarray, size: np.ndarray, total: float, share: float, horizon: float) -> float:
    if total <= 0:
        return 0.0
    order = np.argsort(arrive)
    cumulative = np.cumsum(size[order])
    hit = np.searchsorted(cumulative, share * total - 1e-9)
    if hit >= order.size or not np.isfinite(arrive[order[hit]]):
        return horizon
    return float(arrive[order[hit]])


def compute_kpis(engine: "TrafficEngine", *, horizon_h: float, deadline_h: float,
                 since_h: float = 0.0) -> dict[str, float]:
    """The run's KPIs from the engine's platoon records (weighted by platoon size).

    With a warm-up (``since_h`` > 0) only trips that depart after it count; times (clearance,
    ETE) are still measured from the start of the run, and delay totals cover the whole run.
    """
    size = np.asarray(engine.size)
    arrive = np.asarray(engine.arrive_h)
    depart = np.asarray(engine.depart_h)
    cleared = np.asarray(engine.cleared_h)
    if since_h > 0:
        counted = depart >= since_h
        size, arrive, depart, cleared = size[counted], arrive[counted], depart[counted], cleared[counted]
    total = float(size.sum())
    done = np.isfinite(arrive)
    travel = (arrive - depart)[done]
    weights = size[done]
    started = depart <= horizon_h
    on_road = started & ~done
    kpis = {
        "clearance_time_h": float(cleared.max()) if size.size and np.isfinite(cleared).all() else
        (horizon_h if size.size else 0.0),
        "ete50_h": _ete(arrive, size, total, 0.5, horizon_h),
        "ete90_h": _ete(arrive, size, total, 0.9, horizon_h),
        "ete100_h": _ete(arrive, size, total, 1.0, horizon_h),
        "share_evacuated_by_deadline": float(size[done & (arrive <= deadline_h)].sum() / total) if total else 1.0,
        "mean_travel_time_min": 60.0 * float(np.average(travel, weights=weights)) if travel.size else 0.0,
        "p95_travel_time_min": 60.0 * float(np.percentile(np.repeat(travel, weights.astype(int)), 95))
        if travel.size else 0.0,
        "vehicle_hours_delay": engine.delay_veh_h + engine.pending_delay_veh_h(),
        "vehicles_stranded": engine.vehicles_stranded(),
        "vehicles_en_route": engine.vehicles_en_route(),
        "trips_completed": float(weights.sum()),
        "total_travel_time_veh_h": float((travel * weights).sum()
                                         + ((horizon_h - depart[on_road]) * size[on_road]).sum()),
    }
    return kpis
