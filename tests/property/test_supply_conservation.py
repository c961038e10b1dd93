"""Invariants of the supply network: stock is conserved and nothing moves through a closed element.

Random networks (suppliers -> ports -> warehouses -> customers, with coastal feeders, capacities
and a warehouse fed by another), random closures and every strategy.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twinworld.experiments.run import build_world, run
from twinworld.scenario import load_scenario

STRATEGIES = {
    "baseline": {},
    "reroute": {"supply": {"kind": "reroute"}},
    "expedite": {"supply": {"kind": "expedite", "when": "always"}},
    "safety_stock": {"supply": {"kind": "safety_stock", "extra_days": 4}},
    "dual_sourcing": {"supply": {"kind": "dual_sourcing", "secondary_share": 0.4}},
    "priority": {"supply": {"kind": "priority_allocation", "reserve_share": 0.5}},
    "all": {"supply": [{"kind": "reroute"}, {"kind": "expedite"}, {"kind": "dual_sourcing"},
                       {"kind": "priority_allocation"}, {"kind": "safety_stock"}]},
}


def network(ports: int, warehouses: int, customers: int, lead_d: list[float], capacity: float | None,
            policy: str, unmet: str, feeder: bool, tiered: bool) -> dict:
    port_names = [f"P{i}" for i in range(ports)]
    wh_names = [f"W{i}" for i in range(warehouses)]
    policies = {"s_S": {"kind": "s_S", "reorder_point_units": 40, "order_up_to_units": 90},
                "R_S": {"kind": "R_S", "review_every": "3d", "order_up_to_units": 90},
                "base_stock": {"kind": "base_stock", "base_stock_units": 60}}
    lanes = [{"origin": s, "destination": p, "mode": "sea", "capacity_units_per_day": capacity,
              "lead_time": {"distribution": "lognormal", "mean": 24.0 * lead_d[i % len(lead_d)], "cv": 0.2}}
             for s in ("S0", "S1") for i, p in enumerate(port_names)]
    if feeder and ports > 1:
        lanes.append({"origin": "P0", "destination": "P1", "mode": "sea", "lead_time": "1d"})
    lanes += [{"origin": p, "destination": w, "lead_time": {"distribution": "gamma", "mean": "10h", "cv": 0.5},
               "capacity_units_per_day": capacity} for p in port_names for w in wh_names]
    lanes += [{"origin": "S1", "destination": w, "lead_time": "2d"} for w in wh_names]
    warehouses_ = [{"name": w, "sources": ["S0", "S1"], "policy": policies[policy], "in_transit_units": 30}
                   for w in wh_names]
    if tiered:
        warehouses_.append({"name": "Local", "sources": [wh_names[0], "S1"], "policy": policies["s_S"]})
        lanes.append({"origin": wh_names[0], "destination": "Local", "lead_time": "6h"})
        wh_names = [*wh_names, "Local"]
    customer_list = [{"name": f"C{i}", "demand_per_day": 3 + i, "units_per_order": 1 + i % 3,
                      "critical": i == 0, "served_by": wh_names[i % len(wh_names)]} for i in range(customers)]
    lanes += [{"origin": c["served_by"], "destination": c["name"], "lead_time": "6h"} for c in customer_list]
    return {"kind": "supply_network", "unmet_demand": unmet, "suppliers": [{"name": "S0"}, {"name": "S1", "capacity_units_per_day": 200}],
            "ports": [{"name": p, "handling_time": "8h", "throughput_units_per_day": capacity} for p in port_names],
            "warehouses": warehouses_, "customers": customer_list, "lanes": lanes}


def scenario(net: dict, closures: list[tuple[str, float, float]], spike: float) -> dict:
    kinds = {"P": "port_closure", "S": "supplier_failure"}
    disruptions = []
    for i, (element, start_d, length_d) in enumerate(closures):
        kind = kinds.get(element[0], "lane_closure") if "->" not in element else "lane_closure"
        if element.startswith("cap:"):
            kind, element = "capacity_loss", element[4:]
        item = {"name": f"d{i}", "kind": kind, "target": f"supply.{element}", "start": 24.0 * start_d,
                "duration": 24.0 * length_d}
        if kind == "capacity_loss":
            item["share"] = 0.7
        disruptions.append(item)
    disruptions.append({"name": "spike", "kind": "demand_spike", "target": "supply", "start": "3d",
                        "duration": "5d", "multiplier": spike})
    return {"twinworld": 1, "name": "prop", "horizon": "30d", "systems": {"supply": net},
            "disruptions": disruptions, "strategies": STRATEGIES}


closures = st.lists(st.tuples(st.sampled_from(["P0", "P1", "S0", "S1", "S0->P0", "P0->W0", "cap:P0", "cap:S0->P0"]),
                              st.floats(0, 20), st.floats(0.1, 12)), max_size=4)
networks = st.builds(network, ports=st.integers(1, 3), warehouses=st.integers(1, 3), customers=st.integers(2, 6),
                     lead_d=st.lists(st.floats(2, 8), min_size=1, max_size=3),
                     capacity=st.sampled_from([None, 60.0, 400.0]), policy=st.sampled_from(["s_S", "R_S", "base_stock"]),
                     unmet=st.sampled_from(["backorder", "lost_sales"]), feeder=st.booleans(), tiered=st.booleans())


def _valid(net: dict, cls: list) -> list:
    ports = {p["name"] for p in net["ports"]}
    return [c for c in cls if c[0].removeprefix("cap:").split("->")[0].rstrip() in ports | {"S0", "S1"}
            and all(part in ports | {"S0", "S1", "W0"} for part in c[0].removeprefix("cap:").split("->"))]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=networks, cls=closures, spike=st.floats(1.0, 3.0), seed=st.integers(0, 2**31),
       strategy=st.sampled_from(sorted(STRATEGIES)))
def test_stock_is_conserved_and_closed_elements_are_never_crossed(net: dict, cls: list, spike: float,
                                                                   seed: int, strategy: str) -> None:
    data = scenario(net, _valid(net, cls), spike)
    world = build_world(load_scenario(data), strategy, seed)
    world.run()
    system = world.systems["supply"]
    # stock at each warehouse: what came in is on hand or went out
    for wh in system.warehouses.values():
        assert wh.initial + wh.received == wh.on_hand + wh.shipped + wh.spoiled, wh.name
        assert wh.on_hand >= 0
    # across the network: initial + dispatched by suppliers = on hand + delivered + in transit
    initial = sum(wh.initial for wh in system.warehouses.values())
    on_hand = sum(wh.on_hand + wh.spoiled for wh in system.warehouses.values())
    assert initial + system.counts["dispatched_units"] == on_hand + system.counts["delivered_units"] + system.in_transit_units()
    # customers: demand = served at once + backordered + lost (after the warm-up, which is 0 here)
    c = system.counts
    assert c["demand_units"] == c["filled_units"] + c["backordered_units"] + c["lost_units"]
    # nothing moves on a closed lane or is handled in a closed port, and nothing leaves a closed node
    outages = system.outages
    for shipment, element, start, end in system.moves:
        for closed_from, closed_to in outages.windows(element):
            assert end <= closed_from + 1e-9 or start >= closed_to - 1e-9, (shipment, element, start, end)
    for shipment, node, t, inside in system.departures:
        if inside:
            assert outages.is_open(node, t), (shipment, node, t)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=networks, cls=closures, seed=st.integers(0, 2**31))
def test_same_seed_same_numbers_and_common_demand(net: dict, cls: list, seed: int) -> None:
    loaded = load_scenario(scenario(net, _valid(net, cls), 1.5))
    assert run(loaded, "reroute", seed=seed).kpis == run(loaded, "reroute", seed=seed).kpis
    demand = {name: run(loaded, name, seed=seed).kpis for name in ("baseline", "safety_stock", "priority")}
    worlds = [build_world(loaded, name, seed) for name in demand]
    for world in worlds:
        world.run()
    totals = {w.systems["supply"].counts["demand_units"] for w in worlds}
    assert len(totals) == 1  # every strategy faces the same customer orders
