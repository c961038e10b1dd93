"""A supply network's KPIs from its counters, samples and level probes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from twinworld.systems.warehouse.model import SupplyNetwork

__all__ = ["network_kpis", "survive_and_recover_h"]


def survive_and_recover_h(windows: list[tuple[float, float]], shortages: list[float],
                          cleared: list[float], open_at_end: bool, horizon_h: float) -> tuple[float, float]:
    """Time-to-survive and time-to-recover (hours).

    Time-to-survive runs from the first disruption's start to the first customer shortage after
    it (to the horizon if none). Time-to-recover runs from the last disruption's end to the last
    moment customers were short after it: the backlog's last clearing or the last lost sale (to
    the horizon if a backlog is still open). Without disruptions both are measured from time 0.
    """
    first_start = min((s for s, _ in windows), default=0.0)
    last_end = max((e for _, e in windows), default=0.0)
    after = [t for t in shortages if t >= first_start]
    survive = (min(after) if after else horizon_h) - first_start
    if open_at_end:
        return survive, max(0.0, horizon_h - last_end)
    last_short = max([t for t in (*shortages, *cleared) if t >= last_end], default=last_end)
    return survive, max(0.0, last_short - last_end)


def network_kpis(system: "SupplyNetwork") -> dict[str, float]:
    """The ``supply_network`` KPIs of a finished run."""
    c = system.counts
    cfg = system.config
    now = system.env.now
    demand = c["demand_units"]
    lead = np.asarray(system.lead_times) if system.lead_times else np.zeros(1)
    for probe in (*system.stock_probes.values(), system.backlog_probe):
        probe.close(now)
    holding = sum(system.stock_probes[w].area / 24.0 * float(wh.spec.holding_cost_per_unit_day)
                  for w, wh in system.warehouses.items())
    backlog_unit_days = system.backlog_probe.area / 24.0
    shortage = (c["weighted_short_units"] * float(cfg.shortage_cost_per_unit)
                + backlog_unit_days * float(cfg.backorder_cost_per_unit_day))
    survive, recover = survive_and_recover_h(system.disruption_windows, system.shortages, system.cleared,
                                             system.backlog_probe.value > 0, system.world.horizon_h)
    return {
        "fill_rate": c["filled_units"] / demand if demand else 1.0,
        "critical_fill_rate": (c["critical_filled_units"] / c["critical_demand_units"]
                               if c["critical_demand_units"] else 1.0),
        "backordered_units": c["backordered_units"],
        "open_backorders_units": float(system.backlog_probe.value),
        "lost_sales_units": c["lost_units"],
        "mean_order_lead_time_h": float(lead.mean()),
        "p95_order_lead_time_h": float(np.percentile(lead, 95)),
        "holding_cost": holding,
        "transport_cost": c["transport_cost"],
        "expediting_cost": c["expediting_cost"],
        "shortage_cost": shortage,
        "total_cost": holding + c["transport_cost"] + c["expediting_cost"] + shortage,
        "time_to_survive_h": survive,
        "time_to_recover_h": recover,
        "rerouted_shipments": c["rerouted"],
        "mean_stock_units": sum(p.mean(now) for p in system.stock_probes.values()),
        "spoiled_units": c["spoiled_units"],
    }
