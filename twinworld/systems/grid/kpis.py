"""What a power grid measures, and which way is better."""

from twinworld.systems.base import KPI

__all__ = ["KPIS"]

KPIS = (
    KPI("energy_not_served_mwh", "minimize", "MWh", "load shed or dark, integrated over the horizon"),
    KPI("peak_mw_shed", "minimize", "MW", "largest load not served at one time"),
    KPI("customers_affected", "minimize", "customers", "customers whose bus was dark at some time"),
    KPI("customer_hours_lost", "minimize", "customer-h", "customers times the hours their bus was dark"),
    KPI("critical_load_hours_unserved", "minimize", "h", "hours critical loads (hospitals, water, "
        "traffic signals) were dark, summed over them"),
    KPI("lines_tripped", "minimize", "lines", "branches tripped by overload (cascade)"),
    KPI("lines_damaged", "minimize", "lines", "branches taken out by disruptions"),
    KPI("restoration_time_h", "minimize", "h", "from the first load lost to the last load restored "
        "(to the horizon if some is still out)"),
)
