"""What a port measures, and which way is better."""

from twinworld.systems.base import KPI, Direction

MINIMIZE, MAXIMIZE = Direction.MINIMIZE, Direction.MAXIMIZE

__all__ = ["KPIS"]

KPIS = (
    KPI("port_hours_per_call", MINIMIZE, "h", "arrival to departure, mean over calls that left the port"),
    KPI("mean_anchorage_wait_h", MINIMIZE, "h",
        "wait for a berth, mean over arrived calls (a vessel still waiting at the end counts its wait so far)"),
    KPI("p95_anchorage_wait_h", MINIMIZE, "h", "95th percentile of the anchorage wait"),
    KPI("berth_occupancy", MINIMIZE, "share",
        "time-average share of berths with a vessel alongside (for the same vessels, lower = faster turnaround)"),
    KPI("throughput_teu_per_day", MAXIMIZE, "TEU/day", "TEU moved by the quay cranes per day"),
    KPI("gate_teu_per_day", MAXIMIZE, "TEU/day", "import TEU trucked out through the gate per day"),
    KPI("vessels_diverted", MINIMIZE, "vessels", "calls sent to another port"),
    KPI("mean_delay_per_call_h", MINIMIZE, "h",
        "anchorage wait, plus the extra sailing of diverted calls, mean over arrived calls"),
    KPI("vessels_waiting_at_end", MINIMIZE, "vessels", "vessels still at the anchorage when the run ends"),
    KPI("peak_yard_utilisation", MINIMIZE, "share", "highest yard fill (TEU / capacity)"),
    KPI("yard_blocked_h", MINIMIZE, "h", "hours discharge was stopped because the yard was full"),
    KPI("port_closed_h", MINIMIZE, "h", "hours the whole port was closed"),
    KPI("extra_shift_h", MINIMIZE, "h", "hours extra crane shifts were worked"),
)
