"""A minimal power grid that uses every disruption and strategy (the contract test's example)."""

from __future__ import annotations

from typing import Any

__all__ = ["example"]


def example() -> dict[str, Any]:
    """``{"name", "horizon", "system": section, "disruptions": [...], "strategies": {...}}`` for system name ``grid``.

    pandapower's 9-bus case (ships with pandapower, with bus coordinates).
    """
    return {
        "name": "grid", "horizon": "1d",
        "system": {"kind": "power_grid", "source": {"pandapower": "case9"}, "crews": 1,
                   "ratings": {"source": "base_flow", "margin": 1.1, "min_mw": 10},
                   "critical_loads": [{"bus": "4", "kind": "hospital", "priority": 5}]},
        "disruptions": [
            {"kind": "line_outage", "target": "grid", "lines": ["L3"], "start": "2h"},
            {"kind": "generator_trip", "target": "grid.G1", "start": "5h", "duration": "3h"},
            {"kind": "substation_loss", "target": "grid", "buses": ["6"], "start": "8h", "duration": "2h"},
            {"kind": "heatwave_load", "target": "grid", "start": "0h", "duration": "12h", "multiplier": 1.2},
            {"kind": "flood", "target": "grid", "polygon": [[-100, -100], [-100, 100], [100, 100]], "start": "20h",
             "duration": "1h"},
        ],
        "strategies": {
            "priority": {"kind": "priority_shedding"},
            "rotate": {"kind": "rotating_outages", "block": "2h"},
            "redispatch": {"kind": "redispatch"},
            "microgrids": {"kind": "islanded_microgrids", "buses": ["4"]},
            "crews": {"kind": "crew_dispatch", "priority": "critical_first", "crews": 2},
        },
    }
