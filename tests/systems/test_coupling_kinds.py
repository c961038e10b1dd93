"""Every coupling kind as a short story with exact outcomes, through scenario files.

The provider is either a real system (roads, port, warehouse, hospitals) or a ``schedule`` whose
level is 0 during fixed windows (tests/coupling_fixtures.py), so each story knows exactly when the
service fails and can say exactly what the consumer must do.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.coupling_fixtures import registry_with_schedule
from tests.systems.test_port_model import port, times
from twinworld.experiments.run import build_world, run
from twinworld.scenario import load_scenario

KM = 0.009   # degrees of latitude per km on the synthetic road grid


def scenario(systems: dict, couplings: list, *, horizon: str = "2d", disruptions=(), strategies=None) -> dict:
    return {"twinworld": 1, "name": "coupling story", "horizon": horizon, "systems": systems,
            "couplings": couplings, "disruptions": list(disruptions),
            "strategies": {"baseline": {}, **(strategies or {})}}


def world_of(data: dict, strategy: str = "baseline", seed: int = 1):
    return build_world(load_scenario(data, registry=registry_with_schedule()), strategy, seed)


# ----------------------------------------------------------------------------------- power --
def test_power_to_a_port_slows_its_cranes_after_the_backup() -> None:
    data = scenario({"grid": {"kind": "schedule", "outages_h": [[1.0, 7.0]]},
                     "port": port([("ALBA", 0.0, 840.0)])},
                    [{"provider": "grid.feed", "consumer": "port", "kind": "power", "backup_h": 2,
                      "loss_share": 0.5}])
    world = world_of(data)
    world.run()
    # dark 1 h..7 h, generators for 2 h: half the crane rate from 3 h to 7 h costs 2 h
    assert times(world.systems["port"])["ALBA"][2] == pytest.approx(12.0 + 2.0)
    chain = world.cascade.chain(max(e.id for e in world.cascade.events if e.what == "degraded"))
    assert [e.what for e in chain] == ["service_dropped", "degraded"] and chain[-1].system == "port"


def supply_network(**warehouse) -> dict:
    return {"kind": "supply_network",
            "suppliers": [{"name": "S"}],
            "warehouses": [{"name": "W", "sources": ["S"],
                            "policy": {"kind": "s_S", "reorder_point_units": 50, "order_up_to_units": 200},
                            "initial_units": 200, **warehouse}],
            "customers": [{"name": "C", "served_by": "W", "demand_per_day": 0.0001}],
            "lanes": [{"origin": "S", "destination": "W", "lead_time": "10d"},
                      {"origin": "W", "destination": "C", "lead_time": "1h"}]}


def test_power_to_a_warehouse_spoils_the_stock_its_cold_storage_cannot_hold() -> None:
    data = scenario({"grid": {"kind": "schedule", "outages_h": [[5.0, 20.0]]}, "supply": supply_network()},
                    [{"provider": "grid.feed", "consumer": "supply.W", "kind": "power", "backup_h": 3,
                      "loss_share": 0.6}])
    world = world_of(data)
    world.run()
    supply = world.systems["supply"]
    wh = supply.warehouses["W"]
    assert wh.spoiled == 120                                  # 200 on hand, room left for 40% of S = 80
    assert supply.kpis()["spoiled_units"] == 120
    assert wh.initial + wh.received == wh.on_hand + wh.shipped + wh.spoiled    # nothing created or lost
    assert wh.storage_factor == 1.0                           # power back at 20 h


def road_grid(**extra) -> dict:
    return {"kind": "road_network", "source": {"grid": {"rows": 3, "cols": 3}}, "platoon_size": 1,
            "zones": [], "od": [], **extra}


def test_power_to_a_place_darkens_the_signals_near_it() -> None:
    roads = road_grid(places={"Square": [1 * KM, 1 * KM]}, signal_radius_km=0.2)
    data = scenario({"grid": {"kind": "schedule", "outages_h": [[1.0, 3.0]]}, "roads": roads},
                    [{"provider": "grid.feed", "consumer": "roads.Square", "kind": "power", "loss_share": 0.5}])
    world = world_of(data)
    world.env.run(until=2.0)
    system = world.systems["roads"]
    net, engine = system.net, system.engine
    into_centre = net.v == net.node("1,1")                    # the only node with 3+ streets within 0.2 km
    assert np.allclose(engine.cap_factor[into_centre], 0.5) and np.allclose(engine.cap_factor[~into_centre], 1.0)
    world.env.run(until=3.5)
    assert np.allclose(engine.cap_factor, 1.0)


def test_power_to_a_grid_bus_leaves_its_load_unserved_until_the_feed_returns() -> None:
    grid = {"kind": "power_grid", "source": {"pandapower": "case9"}, "load_profile": [1.0] * 24}
    data = scenario({"upstream": {"kind": "schedule", "outages_h": [[2.0, 6.0]]}, "grid": grid},
                    [{"provider": "upstream.feed", "consumer": "grid.4", "kind": "power"}], horizon="10h")
    world = world_of(data)
    world.run()
    grid_system = world.systems["grid"]
    row = grid_system.bus("4", "test")
    load_mw = float(grid_system.base_load_mw[row])
    assert load_mw > 0
    assert grid_system.kpis()["energy_not_served_mwh"] == pytest.approx(4.0 * load_mw)
    assert world.services.history["grid.bus.4"] == [(0.0, 1.0), (2.0, 0.0), (6.0, 1.0)]


def test_a_provider_that_never_fails_changes_nothing() -> None:
    hospitals = {"kind": "hospital_region", "max_wait": "6h", "hospitals": [
        {"name": "H1", "ward_beds": 20, "arrivals_per_day": 8, "census": {"ward": 18}},
        {"name": "H2", "ward_beds": 15, "arrivals_per_day": 6}]}
    alone = run(load_scenario(scenario({"hospitals": hospitals}, [])), "baseline", 4).kpis
    coupled = run(load_scenario(scenario(
        {"grid": {"kind": "schedule"}, "hospitals": hospitals, "port": port([("ALBA", 3.0, 840.0)])},
        [{"provider": "grid.feed", "consumer": "hospitals", "kind": "power"},
         {"provider": "grid.feed", "consumer": "port", "kind": "power"}]), registry=registry_with_schedule()),
        "baseline", 4).kpis
    assert {k: coupled[k] for k in alone} == alone            # exactly: the same patients, the same beds


# ------------------------------------------------------------------------------ road travel --
def two_hospitals_on_roads(*, flood_window: tuple[float, float] | None) -> dict:
    """H1 (2 beds, busy) at node 0,0 and H2 (60 beds, idle) at node 2,2 of a 3 x 3 road grid; a flood
    over the middle row and column cuts every road between them while it lasts."""
    hospitals = {"kind": "hospital_region", "max_wait": "48h", "hospitals": [
        {"name": "H1", "ward_beds": 2, "arrivals_per_day": 24, "location": [0.0, 0.0]},
        {"name": "H2", "ward_beds": 60, "arrivals_per_day": 0, "location": [2 * KM, 2 * KM]}],
        "patient_classes": [{"name": "m", "share": 1, "los": {"distribution": "fixed", "mean": "3d"}}]}
    disruptions = []
    if flood_window is not None:
        start, end = flood_window
        cross = [[0.5 * KM, -0.5 * KM], [0.5 * KM, 2.5 * KM], [1.5 * KM, 2.5 * KM], [1.5 * KM, -0.5 * KM]]
        disruptions.append({"kind": "flood", "target": "roads", "polygon": cross, "start": start,
                            "duration": end - start})
    return scenario({"roads": road_grid(), "hospitals": hospitals},
                    [{"provider": "roads.travel_min", "consumer": "hospitals", "kind": "road_travel"}],
                    horizon="30h", disruptions=disruptions,
                    strategies={"transfer": {"hospitals": {"kind": "transfer", "max_travel_min": 60,
                                                           "check_every": "15min"}}})


def transfers_at(world, hours: list[float]) -> list[int]:
    counts = []
    for t in hours:
        world.env.run(until=t)
        counts.append(sum(h.counts["transferred_out"] for h in world.systems["hospitals"].hospitals.values()))
    return counts


def test_transfers_follow_the_road_system_and_stop_while_the_only_roads_are_flooded() -> None:
    world = world_of(two_hospitals_on_roads(flood_window=(6.0, 18.0)), "transfer")
    hospitals = world.systems["hospitals"]
    assert hospitals.travel_min["H1"]["H2"] == pytest.approx(60 * 4 / 72)   # 4 links of 1 km at 72 km/h
    before, during_start, during_end, after = transfers_at(world, [5.9, 6.5, 17.9, 30.0])
    assert before > 0                                       # H1 is full: its boarders go to H2
    assert math.isinf(hospitals.travel_min["H1"]["H2"]) is False   # (read after the flood: roads open again)
    assert during_end == during_start                       # flooded: not one transfer is made
    assert after > during_end                               # reopened: they resume
    unflooded = world_of(two_hospitals_on_roads(flood_window=None), "transfer")
    assert transfers_at(unflooded, [17.9])[0] > during_end


def test_a_road_lane_takes_the_road_systems_travel_time() -> None:
    supply = supply_network()
    supply["warehouses"][0]["location"] = [0.0, 0.0]
    supply["customers"][0].update(location=[2 * KM, 2 * KM], demand_per_day=12)
    supply["lanes"][1]["mode"] = "road"
    data = scenario({"roads": road_grid(), "supply": supply},
                    [{"provider": "roads.travel_min", "consumer": "supply", "kind": "road_travel"}], horizon="1d")
    world = world_of(data)
    world.run()
    legs = [end - start for _, element, start, end in world.systems["supply"].moves if element == "W->C"]
    assert legs and all(h == pytest.approx(4 / 72) for h in legs)   # 4 km at 72 km/h, not the lane's 1 h


# ----------------------------------------------------------------------------- port supply --
def port_and_supply(closure: tuple[float, float]) -> dict:
    supply = supply_network(initial_units=10, in_transit_units=0)
    supply["ports"] = [{"name": "P", "handling_time": "2h"}]
    supply["lanes"] = [{"origin": "S", "destination": "P", "mode": "sea", "lead_time": "1h"},
                       {"origin": "P", "destination": "W", "lead_time": "1h"},
                       {"origin": "W", "destination": "C", "lead_time": "1h"}]
    start, end = closure
    return scenario({"port": port([("ALBA", 40.0, 840.0)]), "supply": supply},
                    [{"provider": "port.open", "consumer": "supply.P", "kind": "port_supply"},
                     {"provider": "port.wait_h", "consumer": "supply.P", "kind": "port_supply"}],
                    horizon="2d", disruptions=[{"kind": "port_closure", "target": "port", "start": start,
                                                "duration": end - start}])


def test_a_closed_port_holds_the_supply_lanes_through_it_until_it_reopens() -> None:
    world = world_of(port_and_supply((0.5, 20.0)))
    world.run()
    supply = world.systems["supply"]
    # the replenishment ordered at 0 h sails 1 h, reaches a port closed from 0.5 h to 20 h, is handled
    # (2 h) and trucked (1 h) after it reopens: it arrives at 23 h, not at 4 h
    arrivals = [end for _, element, _, end in supply.moves if element == "P->W"]
    assert arrivals and min(arrivals) == pytest.approx(23.0)
    assert any(e.what == "degraded" and e.system == "supply" for e in world.cascade.events)
    shortages = {k: v for k, v in world.cascade.summary().items() if k.endswith("units_short")}
    assert all(k.startswith("cascade.port.supply") for k in shortages)   # the port's closure did it


# ------------------------------------------------------------------------------- casualties --
def test_the_injured_go_to_the_nearest_reachable_hospital() -> None:
    roads = road_grid(zones=[{"name": "all", "households": 400}], mobilisation={"curve": "uniform", "mean": "2h"},
                      shelters=[{"name": "out", "node": "2,0"}], casualties_per_1000_veh_h=300)
    hospitals = {"kind": "hospital_region", "hospitals": [
        {"name": "Near", "ward_beds": 50, "arrivals_per_day": 0, "location": [1 * KM, 0.0]},
        {"name": "Far", "ward_beds": 50, "arrivals_per_day": 0, "location": [1 * KM, 2 * KM]}]}
    cut_far = [[0.5 * KM, 1.5 * KM], [0.5 * KM, 2.5 * KM], [1.5 * KM, 2.5 * KM], [1.5 * KM, 1.5 * KM]]
    data = scenario({"roads": roads, "hospitals": hospitals},
                    [{"provider": "roads.casualties", "consumer": "hospitals", "kind": "casualties"}],
                    horizon="6h",
                    disruptions=[{"kind": "signal_outage", "target": "roads", "capacity_loss": 0.3},
                                 {"kind": "road_closure", "target": "roads", "polygon": cut_far}])
    world = world_of(data)
    world.run()
    received = {h.name: h.counts["casualties"] for h in world.systems["hospitals"].hospitals.values()}
    injured = world.systems["roads"].kpis()["casualties"]
    assert injured > 0 and received == {"Near": injured, "Far": 0}    # Far is cut off by the closure
    assert world.systems["hospitals"].kpis()["casualties_received"] == injured


# --------------------------------------------------------------------------------- priority --
def test_a_full_hospital_raises_the_priority_of_the_bus_that_feeds_it() -> None:
    hospitals = {"kind": "hospital_region", "hospitals": [
        {"name": "H1", "ward_beds": 20, "arrivals_per_day": 0, "census": {"ward": 19}}]}
    data = scenario({"grid": {"kind": "power_grid", "source": {"pandapower": "case9"}}, "hospitals": hospitals},
                    [{"provider": "hospitals.occupancy.H1", "consumer": "grid.4", "kind": "priority"}],
                    horizon="3h")
    world = world_of(data)
    world.env.run(until=0.5)
    grid = world.systems["grid"]
    assert grid.priority[grid.bus("4", "test")] == 10          # 19 of 20 beds: round(10 x 0.95)
    assert grid.priority[grid.bus("5", "test")] == 0
