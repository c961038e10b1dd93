"""What a hospital region measures, and which way is better."""

from twinworld.systems.base import KPI, Direction

MINIMIZE, MAXIMIZE = Direction.MINIMIZE, Direction.MAXIMIZE

KPIS = (
    KPI("patients_turned_away", MINIMIZE, "patients", "diverted out of the region after the maximum wait"),
    KPI("share_turned_away", MINIMIZE, "share", "turned away / emergency arrivals"),
    KPI("mean_boarding_wait_h", MINIMIZE, "h", "mean wait for a bed over admitted patients"),
    KPI("p95_boarding_wait_h", MINIMIZE, "h", "95th percentile of the wait for a bed"),
    KPI("peak_occupancy", MINIMIZE, "share", "highest region occupancy (occupied / staffed beds at start)"),
    KPI("hours_above_90pct", MINIMIZE, "h", "hours a hospital spends above 90% occupancy (mean over hospitals)"),
    KPI("transfers", MINIMIZE, "patients", "boarding patients moved to another hospital"),
    KPI("bed_hours_short", MINIMIZE, "patient-h", "patient-hours spent boarding without a bed"),
    KPI("surge_bed_hours", MINIMIZE, "bed-h", "extra bed-hours opened by surge plans"),
    KPI("electives_cancelled", MINIMIZE, "patients", "planned admissions cancelled"),
    KPI("casualties_received", MINIMIZE, "patients", "injured brought in from the roads (a casualties coupling)"),
)
