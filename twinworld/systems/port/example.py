"""A minimal port that uses every disruption and strategy (the contract test's example)."""

from __future__ import annotations

from typing import Any

__all__ = ["example"]


def example() -> dict[str, Any]:
    """``{"name", "horizon", "system": section, "disruptions": [...], "strategies": {...}}``
    for system name ``port``."""
    return {
        "name": "port", "horizon": "4d",
        "system": {"kind": "port", "berths": 2, "cranes_per_berth": 2,
                   "arrivals": {"kind": "poisson", "rate_per_day": 4},
                   "call_size": {"distribution": "lognormal", "mean_teu": 1500, "cv": 0.4},
                   "yard_capacity_teu": 20000, "yard_initial_teu": 2000,
                   "operators": {"count": 3, "wait_threshold": "12h", "threshold_cv": 0.5, "review_every": "4h"}},
        "disruptions": [
            {"kind": "port_closure", "target": "port", "start": "1d", "duration": "12h"},
            {"kind": "crane_failure", "target": "port.B1", "start": "2d", "duration": "6h", "cranes": 1},
            {"kind": "capacity_loss", "target": "port", "resource": "gate", "start": "1d", "duration": "1d",
             "share": 0.5},
            {"kind": "arrival_surge", "target": "port", "start": "2d", "duration": "1d", "multiplier": 2},
        ],
        "strategies": {
            "divert": {"kind": "divert", "after": "24h"},
            "shifts": {"kind": "extra_shifts", "when_queue_at_least": 2},
            "priority": {"kind": "priority_berthing", "rule": "shortest_first"},
        },
    }
