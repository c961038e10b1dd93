"""A minimal hospital region that uses every disruption and strategy (the contract test's example)."""

from __future__ import annotations

from typing import Any

__all__ = ["example"]


def example() -> dict[str, Any]:
    """``{"name", "horizon", "system": section, "disruptions": [...], "strategies": {...}}``
    for system name ``hospitals``."""
    return {
        "name": "hospitals", "horizon": "4d",
        "system": {
            "kind": "hospital_region", "max_wait": "6h",
            "patient_classes": [{"name": "medical", "share": 0.9, "bed": "ward", "los": {"mean": "3d", "cv": 0.8}},
                                {"name": "critical", "share": 0.1, "bed": "icu", "los": {"mean": "2d", "cv": 0.6}}],
            "hospitals": [
                {"name": "H1", "ward_beds": 30, "icu_beds": 4, "arrivals_per_day": 12, "electives_per_day": 2,
                 "census": {"ward": 22, "icu": 2}, "location": [60.17, 24.94]},
                {"name": "H2", "ward_beds": 20, "icu_beds": 2, "arrivals_per_day": 9, "location": [60.20, 24.90]}],
        },
        "disruptions": [
            {"kind": "patient_surge", "target": "hospitals", "start": "1d", "duration": "2d", "multiplier": 1.6},
            {"kind": "bed_loss", "target": "hospitals.H1", "start": "2d", "duration": "1d", "share": 0.3},
            {"kind": "staff_shortage", "target": "hospitals.H2", "start": "1d", "duration": "1d", "share": 0.2},
        ],
        "strategies": {
            "surge": {"kind": "surge_beds", "threshold": 0.85, "hospitals": ["H1"]},
            "cancel": {"kind": "cancel_electives", "when_occupancy_above": 0.7},
            "transfer": {"kind": "transfer", "max_travel_min": 30},
            "divert": {"kind": "divert_ambulances", "max_travel_min": 30, "respect_diversion": 0.8},
        },
    }
