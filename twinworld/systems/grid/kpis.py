"""What a power grid measures, and which way is better."""

from twinworld.systems.base import KPI, Direction

MINIMIZE, MAXIMIZE = Direction.MINIMIZE, Direction.MAXIMIZE

__all__ = ["KPIS"]

KPIS = (
    KPI("energy_not_served_mwh", MINIMIZE, "MWh", "load shed or dark, integrated over the horizon"),
    KPI("peak_mw_shed", MINIMIZE, "MW", "largest load not served at one time"),
    KPI("customers_affected", MINIMIZE, "customers", "customers whose bus was dark at some time"),
    KPI("customer_hours_lost", MINIMIZE, "customer-h", "customers times the hours their bus was dark"),
    KPI("critical_load_hours_unserved", MINIMIZE, "h", "hours critical loads (hospitals, water, "
        "traffic signals) were dark, summed over them"),
    KPI("lines_tripped", MINIMIZE, "lines", "branches tripped by overload (cascade)"),
    KPI("lines_damaged", MINIMIZE, "lines", "branches taken out by disruptions"),
    KPI("restoration_time_h", MINIMIZE, "h", "from the first load lost to the last load restored "
        "(to the horizon if some is still out)"),
)
