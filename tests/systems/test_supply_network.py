"""Stories of the supply network: closures, reroutes, strategies, KPIs and bad input, with exact times."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from twinworld.errors import ScenarioError
from twinworld.experiments.run import build_world, run
from twinworld.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]


def chain(*, initial: int = 0, demand: float = 0.0, ports: int = 1, feeder: bool = False,
          extra_lanes: list[dict] | None = None, second_supplier: bool = False, **system: object) -> dict:
    """S0 -> P0 (sea 5d) -> W (road 1d) -> C (6h); an order of 100 units leaves S0 at time 0."""
    port_names = [f"P{i}" for i in range(ports)]
    lanes = [{"origin": "S0", "destination": "P0", "mode": "sea", "lead_time": "5d"},
             {"origin": "P0", "destination": "W", "lead_time": "1d"},
             {"origin": "W", "destination": "C", "lead_time": "6h"}]
    if ports > 1:
        lanes += [{"origin": "S0", "destination": "P1", "mode": "sea", "lead_time": "6d"},
                  {"origin": "P1", "destination": "W", "lead_time": "1d"}]
    if feeder:
        lanes.append({"origin": "P0", "destination": "P1", "mode": "sea", "lead_time": "1d"})
    suppliers = [{"name": "S0"}] + ([{"name": "S1"}] if second_supplier else [])
    if second_supplier:
        lanes.append({"origin": "S1", "destination": "W", "lead_time": "2d", "cost_per_unit": 3})
    net = {"kind": "supply_network", "suppliers": suppliers,
           "ports": [{"name": p, "handling_time": "12h"} for p in port_names],
           "warehouses": [{"name": "W", "sources": ["S0", "S1"] if second_supplier else ["S0"],
                           "initial_units": initial,
                           "policy": {"kind": "s_S", "reorder_point_units": 10, "order_up_to_units": 100}}],
           "customers": [{"name": "C", "demand_per_day": demand}],
           "lanes": lanes + (extra_lanes or []), **system}
    return net


def scenario(net: dict, disruptions: list[dict] = (), strategies: dict | None = None,
             horizon: str = "20d") -> dict:
    return {"twinworld": 1, "name": "story", "horizon": horizon, "systems": {"supply": net},
            "disruptions": list(disruptions), "strategies": strategies or {"baseline": {}}}


def simulate(data: dict, strategy: str = "baseline", seed: int = 1):
    world = build_world(load_scenario(data), strategy, seed)
    world.run()
    return world.systems["supply"]


def moves_of(system, shipment: int = 1) -> list[tuple[str, float, float]]:
    return [(element, start, end) for sid, element, start, end in system.moves if sid == shipment]


def test_an_undisturbed_shipment_takes_the_lead_times_and_the_handling() -> None:
    system = simulate(scenario(chain()))
    assert moves_of(system) == [("S0->P0", 0.0, 120.0), ("P0", 120.0, 132.0), ("P0->W", 132.0, 156.0)]
    assert system.warehouses["W"].received == 100


def test_a_vessel_waits_at_the_anchorage_of_a_closed_port() -> None:
    strike = {"kind": "port_closure", "target": "supply.P0", "start": "100h", "duration": "100h"}
    system = simulate(scenario(chain(), [strike]))
    assert moves_of(system) == [("S0->P0", 0.0, 120.0), ("P0", 200.0, 212.0), ("P0->W", 212.0, 236.0)]


def test_reroute_sails_on_from_the_anchorage_to_another_port() -> None:
    strike = {"kind": "port_closure", "target": "supply.P0", "start": "100h", "duration": "100h"}
    data = scenario(chain(ports=2, feeder=True), [strike],
                    {"baseline": {}, "reroute": {"supply": {"kind": "reroute"}}})
    system = simulate(data, "reroute")
    assert moves_of(system) == [("S0->P0", 0.0, 120.0), ("P0->P1", 120.0, 144.0), ("P1", 144.0, 156.0),
                                ("P1->W", 156.0, 180.0)]
    assert system.counts["rerouted"] == 1
    assert not any(element == "P0" for _, element, _, _ in system.moves)


def test_reroute_plans_new_shipments_around_a_closed_port_within_its_lookahead() -> None:
    strike = {"kind": "port_closure", "target": "supply.P0", "start": 0, "duration": "3d"}
    data = scenario(chain(ports=2), [strike], {"baseline": {}, "near": {"supply": {"kind": "reroute"}},
                                               "far": {"supply": {"kind": "reroute", "lookahead": "6d"}}})
    assert [m[0] for m in moves_of(simulate(data))] == ["S0->P0", "P0", "P0->W"]
    # P0 is 5 days away: with the default 4-day lookahead the strike is expected to be over by then
    assert [m[0] for m in moves_of(simulate(data, "near"))] == ["S0->P0", "P0", "P0->W"]
    assert [m[0] for m in moves_of(simulate(data, "far"))] == ["S0->P1", "P1", "P1->W"]


def test_a_shipment_stops_on_a_closed_lane_and_goes_on_when_it_reopens() -> None:
    storm = {"kind": "lane_closure", "target": "supply.S0->P0", "start": "48h", "duration": "48h"}
    system = simulate(scenario(chain(), [storm]))
    assert moves_of(system)[:2] == [("S0->P0", 0.0, 48.0), ("S0->P0", 96.0, 168.0)]


def test_a_failed_supplier_dispatches_after_it_recovers() -> None:
    fire = {"kind": "supplier_failure", "target": "supply.S0", "start": 0, "duration": "72h"}
    system = simulate(scenario(chain(), [fire]))
    assert moves_of(system)[0] == ("S0->P0", 72.0, 192.0)
    assert system.departures[0] == (1, "S0", 72.0, True)


def test_dual_sourcing_switches_to_the_other_supplier_while_one_is_down() -> None:
    fire = {"kind": "supplier_failure", "target": "supply.S0", "start": 0}
    data = scenario(chain(second_supplier=True), [fire],
                    {"baseline": {}, "dual": {"supply": {"kind": "dual_sourcing", "secondary_share": 0.3}}})
    assert simulate(data).warehouses["W"].received == 0
    dual = simulate(data, "dual")
    assert dual.warehouses["W"].received == 100
    assert moves_of(dual) == [("S1->W", 0.0, 48.0)]
    assert dual.counts["transport_cost"] == 300.0


def test_dual_sourcing_splits_orders_when_both_are_up() -> None:
    data = scenario(chain(second_supplier=True),
                    strategies={"baseline": {}, "dual": {"supply": {"kind": "dual_sourcing", "secondary_share": 0.3}}})
    system = simulate(data, "dual")
    assert system.warehouses["W"].received == 100
    assert [d[1] for d in system.departures[:2]] == ["S0", "S1"]
    assert system.counts["transport_cost"] == 30 * 3.0  # 30% of 100 units on the S1 lane at 3 per unit


def test_expedite_always_halves_transit_and_charges_the_premium() -> None:
    data = scenario(chain(), strategies={"baseline": {}, "fast": {"supply": {
        "kind": "expedite", "lead_time_factor": 0.5, "extra_cost_per_unit": 2.5, "when": "always"}}})
    system = simulate(data, "fast")
    assert moves_of(system) == [("S0->P0", 0.0, 60.0), ("P0", 60.0, 72.0), ("P0->W", 72.0, 84.0)]
    assert system.kpis()["expediting_cost"] == 250.0


def test_capacity_loss_slows_what_a_lane_can_take() -> None:
    net = chain()
    net["lanes"][0]["capacity_units_per_day"] = 100
    assert moves_of(simulate(scenario(net)))[0] == ("S0->P0", 24.0, 144.0)
    loss = {"kind": "capacity_loss", "target": "supply.S0->P0", "start": 0, "duration": "10d", "share": 0.5}
    assert moves_of(simulate(scenario(net, [loss])))[0] == ("S0->P0", 48.0, 168.0)


def test_safety_stock_raises_reorder_point_and_order_up_to_by_days_of_demand() -> None:
    data = scenario(chain(initial=100, demand=4.0), strategies={
        "baseline": {}, "ss": {"supply": {"kind": "safety_stock", "extra_days": 5}}})
    wh = simulate(data, "ss").warehouses["W"]
    assert (wh.s, wh.S) == (30.0, 120.0)


def test_backorders_and_lost_sales_account_for_every_unit_ordered() -> None:
    for unmet in ("backorder", "lost_sales"):
        system = simulate(scenario(chain(initial=20, demand=30.0, unmet_demand=unmet)))
        c = system.counts
        short = c["backordered_units"] if unmet == "backorder" else c["lost_units"]
        assert c["demand_units"] == c["filled_units"] + short
        assert short > 0 and (c["lost_units"] == 0) == (unmet == "backorder")
        kpis = system.kpis()
        assert kpis["fill_rate"] == pytest.approx(c["filled_units"] / c["demand_units"])


def test_order_lead_time_is_the_delivery_time_when_stock_is_plenty() -> None:
    kpis = simulate(scenario(chain(initial=500, demand=5.0))).kpis()
    assert kpis["fill_rate"] == 1.0
    assert kpis["mean_order_lead_time_h"] == pytest.approx(6.0)


def test_priority_allocation_serves_critical_customers_first() -> None:
    net = chain(initial=30, demand=0.0)
    net["customers"] = [{"name": "Hospital", "demand_per_day": 6, "critical": True, "served_by": "W"},
                        {"name": "Shop", "demand_per_day": 6, "served_by": "W"}]
    net["lanes"] = [lane for lane in net["lanes"] if lane["destination"] != "C"] + [
        {"origin": "W", "destination": "Hospital", "lead_time": "2h"},
        {"origin": "W", "destination": "Shop", "lead_time": "2h"}]
    strike = {"kind": "port_closure", "target": "supply.P0", "start": 0, "duration": "15d"}
    data = scenario(net, [strike], {"baseline": {}, "prio": {"supply": {"kind": "priority_allocation",
                                                                         "reserve_share": 1.0}}}, horizon="30d")
    base, prio = simulate(data, seed=4), simulate(data, "prio", seed=4)
    assert prio.kpis()["critical_fill_rate"] > base.kpis()["critical_fill_rate"]
    c = prio.counts
    others = (c["filled_units"] - c["critical_filled_units"]) / (c["demand_units"] - c["critical_demand_units"])
    assert c["critical_filled_units"] / c["critical_demand_units"] > others


def test_demand_spike_raises_orders_only_for_its_target() -> None:
    net = chain(initial=1000, demand=10.0)
    net["customers"].append({"name": "D", "demand_per_day": 10.0})
    net["lanes"].append({"origin": "W", "destination": "D", "lead_time": "6h"})
    spike = {"kind": "demand_spike", "target": "supply.C", "start": "2d", "duration": "10d", "multiplier": 3}
    calm, busy = simulate(scenario(net)), simulate(scenario(net, [spike]))
    assert busy.counts["demand_units"] > calm.counts["demand_units"] + 100
    assert len(busy._order_times("D")) == len(calm._order_times("D"))


def test_time_to_survive_and_recover_follow_the_shortage() -> None:
    strike = {"kind": "port_closure", "target": "supply.P0", "start": "2d", "duration": "6d"}
    kpis = simulate(scenario(chain(initial=60, demand=10.0), [strike], horizon="40d")).kpis()
    assert 0 < kpis["time_to_survive_h"] < 6 * 24 + 24
    assert 0 <= kpis["time_to_recover_h"] < 40 * 24
    assert kpis["total_cost"] == pytest.approx(kpis["holding_cost"] + kpis["transport_cost"]
                                               + kpis["expediting_cost"] + kpis["shortage_cost"])


# ------------------------------------------------------------------------------ bad input --
def problem(data: dict) -> str:
    with pytest.raises(ScenarioError) as err:
        load_scenario(data)
    return str(err.value)


def test_a_lane_to_an_unknown_node_is_named() -> None:
    net = chain()
    net["lanes"][1]["destination"] = "Wharehouse"
    message = problem(scenario(net))
    assert "systems.supply.lanes.1.destination" in message and "unknown node 'Wharehouse'" in message
    assert "valid: S0, P0, W, C" in message


def test_a_customer_without_a_route_from_a_supplier_is_named() -> None:
    net = chain()
    net["lanes"] = [lane for lane in net["lanes"] if lane["origin"] != "P0"]
    message = problem(scenario(net))
    assert "systems.supply.customers.0" in message and "customer 'C' cannot be reached" in message
    net = chain()
    net["lanes"] = [lane for lane in net["lanes"] if lane["destination"] != "C"]
    assert "customer 'C' cannot be reached: it has no lane from any warehouse" in problem(scenario(net))


def test_a_negative_lead_time_is_named() -> None:
    net = chain()
    net["lanes"][2]["lead_time"] = "-6h"
    message = problem(scenario(net))
    assert "systems.supply.lanes.2.lead_time" in message and "must be >= 0" in message
    net["lanes"][2]["lead_time"] = {"distribution": "lognormal", "mean": "-2d", "cv": 0.3}
    assert "systems.supply.lanes.2.lead_time.mean" in problem(scenario(net))


def test_a_port_closure_must_target_a_port() -> None:
    message = problem(scenario(chain(), [{"kind": "port_closure", "target": "supply.W", "start": 0}]))
    assert "disruptions.0.target" in message and "port_closure cannot hit 'W', a warehouse" in message and "supply.P0" in message


def test_the_scenario_file_validates_and_runs_every_strategy() -> None:
    loaded = load_scenario(ROOT / "scenarios" / "port_strike.yaml")
    config = loaded.systems["supply"]
    assert len(config.ports) == 3 and len(config.warehouses) == 4 and len(config.customers) >= 20
    assert {"strike.start", "strike.duration"} <= set(__import__("twinworld.scenario.uncertain",
                                                                   fromlist=["x"]).uncertainties(loaded))
    results = {name: run(loaded, name, seed=11) for name in loaded.strategies}
    assert set(results) >= {"baseline", "reroute", "expedite", "safety_stock", "dual_sourcing", "priority_allocation"}
    for name, result in results.items():
        assert all(math.isfinite(v) for v in result.kpis.values()), name
    assert results["reroute"].kpis["rerouted_shipments"] > 0
    assert results["expedite"].kpis["expediting_cost"] > 0


def test_warehouses_publish_whether_they_have_stock() -> None:
    strike = {"kind": "port_closure", "target": "supply.P0", "start": 0, "duration": "15d"}
    system = simulate(scenario(chain(initial=30, demand=10.0), [strike], horizon="30d"))
    history = system.world.services.history["supply.available.W"]
    assert history[0] == (0.0, 1.0)
    assert (0.0 in [level for _, level in history]) and history[-1][1] in (0.0, 1.0)
    empty_at = next(t for t, level in history if level == 0.0)
    assert 0 < empty_at < 15 * 24  # ran dry during the strike


def test_a_warehouse_running_dry_degrades_a_coupled_hospital() -> None:
    strike = {"kind": "port_closure", "target": "supply.P0", "start": 0, "duration": "15d"}
    data = scenario(chain(initial=30, demand=10.0), [strike], horizon="30d")
    data["systems"]["hospitals"] = {"kind": "hospital_region", "hospitals": [
        {"name": "H1", "ward_beds": 20, "arrivals_per_day": 4}]}
    data["couplings"] = [{"provider": "supply.available.W", "consumer": "hospitals.H1", "kind": "supply",
                          "backup_h": 24, "loss_share": 0.5}]
    world = build_world(load_scenario(data), "baseline", 1)
    world.run()
    events = [detail for _, kind, detail in world.recorder.events if kind == "buffer_spent"]
    assert any("supply.available.W" in detail and "hospitals.H1" in detail for detail in events)
