"""A minimal supply network that uses every disruption and strategy (the contract test's example)."""

from __future__ import annotations

from typing import Any

__all__ = ["example"]


def example() -> dict[str, Any]:
    """``{"name", "horizon", "system": section, "disruptions": [...], "strategies": {...}}``
    for system name ``supply``."""
    return {
        "name": "supply", "horizon": "12d",
        "system": {
            "kind": "supply_network", "unmet_demand": "backorder",
            "suppliers": [{"name": "Overseas", "capacity_units_per_day": 400}, {"name": "Local"}],
            "ports": [{"name": "P0", "handling_time": "12h", "throughput_units_per_day": 500}],
            "warehouses": [
                {"name": "W", "sources": ["Overseas", "Local"],
                 "policy": {"kind": "s_S", "reorder_point_units": 300, "order_up_to_units": 600},
                 "initial_units": 400, "in_transit_units": 200},
                {"name": "V", "sources": ["Local"], "policy": {"kind": "forecast", "review_every": "1d",
                                                              "forecast": {"method": "moving_average", "periods": 3}}},
                {"name": "U", "sources": ["Local"], "policy": {"kind": "base_stock", "base_stock_units": 200}}],
            "customers": [{"name": "Clinic", "served_by": "W", "demand_per_day": 6, "units_per_order": 5,
                           "critical": True},
                          {"name": "Shop", "served_by": "V", "demand_per_day": 4, "units_per_order": 5,
                           "panic": {"share": 0.4, "multiplier": 2, "duration": "2d", "shoppers": 30}},
                          {"name": "Kiosk", "served_by": "U", "demand_per_day": 3, "units_per_order": 2}],
            "lanes": [
                {"origin": "Overseas", "destination": "P0", "mode": "sea",
                 "lead_time": {"distribution": "lognormal", "mean": "5d", "cv": 0.1}},
                {"origin": "P0", "destination": "W", "lead_time": "12h"},
                {"origin": "Local", "destination": "W", "lead_time": "2d", "cost_per_unit": 3},
                {"origin": "Local", "destination": "V", "lead_time": "1d", "capacity_units_per_day": 300},
                {"origin": "W", "destination": "Clinic", "lead_time": "4h"},
                {"origin": "V", "destination": "Shop", "lead_time": "6h"},
                {"origin": "Local", "destination": "U", "lead_time": "1d"},
                {"origin": "U", "destination": "Kiosk", "lead_time": "6h"}],
        },
        "disruptions": [
            {"kind": "port_closure", "target": "supply.P0", "start": "2d", "duration": "3d"},
            {"kind": "supplier_failure", "target": "supply.Local", "start": "4d", "duration": "1d"},
            {"kind": "lane_closure", "target": "supply.W->Clinic", "start": "1d", "duration": "6h"},
            {"kind": "demand_spike", "target": "supply", "start": "3d", "duration": "2d", "multiplier": 1.8},
            {"kind": "capacity_loss", "target": "supply.Overseas", "start": "1d", "duration": "2d", "share": 0.5},
        ],
        "strategies": {
            "reroute": {"kind": "reroute"},
            "expedite": {"kind": "expedite", "warehouses": ["W"]},
            "safety": {"kind": "safety_stock", "extra_days": 2},
            "dual": {"kind": "dual_sourcing", "warehouses": ["W"]},
            "priority": {"kind": "priority_allocation"},
        },
    }
