"""What a supply network measures, and which way is better."""

from twinworld.systems.base import KPI, Direction

MINIMIZE, MAXIMIZE = Direction.MINIMIZE, Direction.MAXIMIZE

__all__ = ["KPIS"]

KPIS = (
    KPI("fill_rate", MAXIMIZE, "share", "customer units served from stock on order / units ordered"),
    KPI("critical_fill_rate", MAXIMIZE, "share", "fill rate of critical customers (1 if none)"),
    KPI("backordered_units", MINIMIZE, "units", "customer units that had to wait for stock"),
    KPI("open_backorders_units", MINIMIZE, "units", "customer units still waiting at the end"),
    KPI("lost_sales_units", MINIMIZE, "units", "customer units not served (lost_sales networks)"),
    KPI("mean_order_lead_time_h", MINIMIZE, "h", "customer order to delivery, mean over delivered orders"),
    KPI("p95_order_lead_time_h", MINIMIZE, "h", "95th percentile of the order lead time"),
    KPI("holding_cost", MINIMIZE, "cost", "unit-days on hand x holding cost"),
    KPI("transport_cost", MINIMIZE, "cost", "units moved x lane cost"),
    KPI("expediting_cost", MINIMIZE, "cost", "premium paid for expedited units"),
    KPI("shortage_cost", MINIMIZE, "cost", "units short x shortage cost + backorder unit-days x its cost"),
    KPI("total_cost", MINIMIZE, "cost", "holding + transport + expediting + shortage"),
    KPI("time_to_survive_h", MAXIMIZE, "h",
        "from the first disruption's start to the first customer shortage (to the end if none)"),
    KPI("time_to_recover_h", MINIMIZE, "h",
        "from the last disruption's end until no customer backorder is open and none was lost"),
    KPI("rerouted_shipments", MINIMIZE, "shipments", "shipments that left their planned route"),
    KPI("mean_stock_units", MINIMIZE, "units", "time-average units on hand over all warehouses"),
    KPI("spoiled_units", MINIMIZE, "units", "stock lost when a warehouse's cold storage lost power"),
    KPI("bullwhip_ratio", MINIMIZE, "ratio", "largest Var(orders per day) / Var(demand per day) of a "
        "warehouse over the measured window (1 when no warehouse's demand varied)"),
    KPI("panic_extra_units", MINIMIZE, "units", "units customers ordered beyond their usual because they "
        "were panic buying"),
)
