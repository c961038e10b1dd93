"""What a supply network measures, and which way is better."""

from twinworld.systems.base import KPI

__all__ = ["KPIS"]

KPIS = (
    KPI("fill_rate", "maximize", "share", "customer units served from stock on order / units ordered"),
    KPI("critical_fill_rate", "maximize", "share", "fill rate of critical customers (1 if none)"),
    KPI("backordered_units", "minimize", "units", "customer units that had to wait for stock"),
    KPI("open_backorders_units", "minimize", "units", "customer units still waiting at the end"),
    KPI("lost_sales_units", "minimize", "units", "customer units not served (lost_sales networks)"),
    KPI("mean_order_lead_time_h", "minimize", "h", "customer order to delivery, mean over delivered orders"),
    KPI("p95_order_lead_time_h", "minimize", "h", "95th percentile of the order lead time"),
    KPI("holding_cost", "minimize", "cost", "unit-days on hand x holding cost"),
    KPI("transport_cost", "minimize", "cost", "units moved x lane cost"),
    KPI("expediting_cost", "minimize", "cost", "premium paid for expedited units"),
    KPI("shortage_cost", "minimize", "cost", "units short x shortage cost + backorder unit-days x its cost"),
    KPI("total_cost", "minimize", "cost", "holding + transport + expediting + shortage"),
    KPI("time_to_survive_h", "maximize", "h",
        "from the first disruption's start to the first customer shortage (to the end if none)"),
    KPI("time_to_recover_h", "minimize", "h",
        "from the last disruption's end until no customer backorder is open and none was lost"),
    KPI("rerouted_shipments", "minimize", "shipments", "shipments that left their planned route"),
    KPI("mean_stock_units", "minimize", "units", "time-average units on hand over all warehouses"),
)
