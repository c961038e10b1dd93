"""A minimal road network that uses every disruption and strategy (the contract test's example)."""

from __future__ import annotations

from typing import Any

__all__ = ["example"]

_KM = 0.009   # degrees of latitude per km in the synthetic grid's local frame


def example() -> dict[str, Any]:
    """``{"name", "horizon", "system": section, "disruptions": [...], "strategies": {...}}`` for system name ``roads``.

    A 5 x 5 grid of 1 km links (nodes ``"r,c"`` at ``[r x 0.009, c x 0.009]``): two zones evacuate to
    a shelter and an exit; three named places get published travel times.
    """
    def box(r0: float, c0: float, r1: float, c1: float) -> list[list[float]]:
        return [[r0 * _KM, c0 * _KM], [r0 * _KM, c1 * _KM], [r1 * _KM, c1 * _KM], [r1 * _KM, c0 * _KM]]

    return {
        "name": "roads", "horizon": "4h",
        "system": {
            "kind": "road_network", "source": {"grid": {"rows": 5, "cols": 5}}, "platoon_size": 5,
            "zones": [{"name": "south", "households": 600, "polygon": box(-0.5, -0.5, 1.5, 4.5)},
                      {"name": "middle", "households": 200, "polygon": box(1.5, -0.5, 2.5, 4.5)}],
            "shelters": [{"name": "school", "node": "4,1", "capacity_veh": 250}, {"name": "exit", "node": "4,4"}],
            "places": {"A": [0.0, 0.0], "B": [2 * _KM, 2 * _KM], "C": [4 * _KM, 4 * _KM]},
            "deadline": "2h", "casualties_per_1000_veh_h": 20, "casualty_places": ["B", "C"],
        },
        "disruptions": [
            {"kind": "road_closure", "target": "roads", "roads": ["col0"], "start": "30min", "duration": "1h"},
            {"kind": "flood", "target": "roads", "polygon": box(2.6, 2.6, 3.4, 3.4), "start": "1h", "warning": "20min"},
            {"kind": "signal_outage", "target": "roads", "start": "0h", "duration": "2h", "capacity_loss": 0.3},
            {"kind": "bridge_failure", "target": "roads", "roads": ["row1"], "start": "2h"},
        ],
        "strategies": {
            "all_at_once": {"kind": "simultaneous"},
            "staged": {"kind": "staged", "stages": [{"zones": ["south"]}, {"zones": ["middle"], "delay": "30min"}]},
            "contraflow": {"kind": "contraflow", "roads": ["col2"]},
            "balanced": {"kind": "shelter_assignment", "rule": "capacity_balanced"},
            "rerouting": {"kind": "dynamic_rerouting", "every": "15min"},
        },
    }
