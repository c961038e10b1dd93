"""The road engine against theory: Vickrey's point queue, free-flow shortest paths, conservation."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from twinworld import load_scenario
from twinworld.experiments.run import build_world
from twinworld.scenario.uncertain import resolve, sample_values
from twinworld.systems.traffic.engine import Destination, TrafficEngine
from twinworld.systems.traffic.network import RoadNetwork

DEMAND_VEH_H, CAPACITY_VEH_H, SPAN_H = 1500.0, 1000.0, 1.0


def _line(inflow_factor: float) -> TrafficEngine:
    """A -> B -> C, 1 km each at 60 km/h; B -> C is the bottleneck; storage never binds."""
    nodes = pd.DataFrame({"node_id": ["A", "B", "C"], "lat": [0.0, 0.01, 0.02], "lon": [0.0] * 3})
    links = pd.DataFrame({"link_id": ["AB", "BC"], "u": ["A", "B"], "v": ["B", "C"],
                          "length_km": [1.0, 1.0], "speed_kmh": [60.0, 60.0], "lanes": [2, 1],
                          "capacity_veh_h": [3000.0, CAPACITY_VEH_H], "storage_veh": [1e6, 1e6]})
    net = RoadNetwork.from_tables(nodes, links)
    engine = TrafficEngine(net, [Destination("C", net.node("C"))], inflow_factor=inflow_factor)
    count = int(DEMAND_VEH_H * SPAN_H)
    depart = (np.arange(count) + 0.5) / DEMAND_VEH_H
    engine.add_platoons(np.zeros(count, np.int64), np.zeros(count, np.int64), depart, np.ones(count))
    return engine


@pytest.mark.parametrize("inflow_factor", [0.0, 1.0, 1.25])
def test_bottleneck_queue_grows_at_demand_minus_capacity(inflow_factor: float) -> None:
    engine = _line(inflow_factor)
    free_flow_h = 2 / 60
    for t in (0.25, 0.5, 0.75, 1.0):
        engine.advance_to(t)
        in_system = engine.departed_veh - engine.arrived_veh
        queue = in_system - DEMAND_VEH_H * free_flow_h  # vehicles beyond those driving at free flow
        assert queue == pytest.approx((DEMAND_VEH_H - CAPACITY_VEH_H) * (t - free_flow_h), abs=2.0)


@pytest.mark.parametrize("inflow_factor", [0.0, 1.0, 1.25])
def test_bottleneck_delays_match_point_queue_theory(inflow_factor: float) -> None:
    engine = _line(inflow_factor)
    engine.advance_to(10.0)
    depart = np.asarray(engine.depart_h)
    expected = np.empty_like(depart)
    previous = -np.inf
    for k, t in enumerate(depart):  # Vickrey: exit = max(free-flow arrival, previous exit + 1/capacity)
        previous = max(t + 2 / 60, previous + 1 / CAPACITY_VEH_H)
        expected[k] = previous
    np.testing.assert_allclose(engine.arrive_h, expected, atol=1e-9)
    # total delay: the triangle between cumulative arrivals and departures at the bottleneck
    excess = DEMAND_VEH_H - CAPACITY_VEH_H
    theory_veh_h = 0.5 * (excess * SPAN_H) * (DEMAND_VEH_H * SPAN_H / CAPACITY_VEH_H)
    assert engine.delay_veh_h == pytest.approx(theory_veh_h, rel=0.01)
    assert max(engine.arrive_h) == pytest.approx(2 / 60 + SPAN_H * DEMAND_VEH_H / CAPACITY_VEH_H, abs=1e-3)


def _helsinki_od(pairs: list[tuple[str, str]], noise: float) -> dict:
    od = [{"origin": o, "destination": d, "vehicles": 1, "start": f"{i * 10}min", "end": f"{i * 10 + 1}min"}
          for i, (o, d) in enumerate(pairs)]
    roads = {"kind": "road_network", "source": {"osm_pbf": "helsinki"}, "od": od, "platoon_size": 1,
             "route_noise": noise}
    return {"twinworld": 1, "name": "empty Helsinki", "horizon": "12h", "systems": {"roads": roads}}


def _oracle(net) -> nx.DiGraph:
    graph = nx.DiGraph()
    for i in range(net.n_links):
        u, v, w = net.node_ids[net.u[i]], net.node_ids[net.v[i]], float(net.free_flow_h[i])
        if not graph.has_edge(u, v) or graph[u][v]["weight"] > w:
            graph.add_edge(u, v, weight=w)
    return graph


@pytest.mark.parametrize("noise", [0.0, 0.05])
def test_empty_network_trip_times_are_free_flow_shortest_paths(noise: float) -> None:
    from twinworld.systems.traffic.config import NetworkSource
    from twinworld.systems.traffic.source import load_network

    net = load_network(NetworkSource(osm_pbf="helsinki"))
    rng = np.random.default_rng(3)
    pairs = [(net.node_ids[a], net.node_ids[b]) for a, b in rng.integers(0, net.n_nodes, (40, 2)) if a != b]
    world = build_world(load_scenario(_helsinki_od(pairs, noise)), "baseline", 0)
    world.run()
    engine = world.systems["roads"].finish()
    graph = _oracle(net)
    names = [d.name for d in engine.destinations]
    for p in range(len(engine.size)):
        origin = net.node_ids[engine.origin[p]]
        shortest = nx.shortest_path_length(graph, origin, names[engine.dest[p]], weight="weight")
        travel = engine.arrive_h[p] - engine.depart_h[p]
        if noise == 0:
            assert travel == pytest.approx(shortest, abs=1e-9)
        else:  # noisy routes are at most (1 + noise) times longer than the shortest
            assert shortest - 1e-9 <= travel <= shortest * (1 + noise) + 1e-9


def test_times_without_trees_are_the_trees_times_exactly() -> None:
    """``times_to`` (travel-time publication, casualties) skips building the trees, not a digit."""
    from twinworld.systems.traffic.config import NetworkSource
    from twinworld.systems.traffic.source import load_network

    net = load_network(NetworkSource(osm_pbf="helsinki"))
    rng = np.random.default_rng(8)
    cost = net.free_flow_h * rng.uniform(1.0, 4.0, net.n_links)
    is_open = rng.random(net.n_links) > 0.05
    dest = rng.integers(0, net.n_nodes, 6).tolist()
    _, trees_time = net.trees_to(dest, cost, is_open)
    assert np.array_equal(net.times_to(dest, cost, is_open), trees_time)
    assert np.isinf(trees_time).any() and np.isfinite(trees_time).sum() > net.n_nodes  # closures cut some off
    assert net.times_to([], cost).shape == (0, net.n_nodes)


def test_vehicles_are_conserved_through_floods_and_closures(root) -> None:
    scenario = load_scenario(root / "scenarios" / "helsinki_evacuation.yaml",
                             overrides=["systems.roads.zones.1.households=20000"])
    scenario = resolve(scenario, sample_values(scenario, 5))
    world = build_world(scenario, "contraflow", 5)
    roads = world.systems["roads"]
    checked = 0
    for t in np.arange(0.5, scenario.horizon + 0.01, 0.5):
        world.env.run(until=float(t))
        engine = roads.engine
        engine.advance_to(float(t))
        on_links = sum(engine.occ)
        waiting = sum(engine.size[p] for q in engine.origin_wait for p in q)
        stranded = engine.vehicles_stranded()
        assert engine.departed_veh == pytest.approx(engine.arrived_veh + on_links + waiting + stranded)
        assert engine.vehicles_en_route() == pytest.approx(on_links + waiting)
        assert engine.on_links == sum(len(q) for q in engine.queue)  # the count current_cost_h trusts
        checked += 1
    total = sum(engine.size)
    not_departed = sum(s for s, d in zip(engine.size, engine.depart_h) if d > scenario.horizon)
    assert engine.departed_veh == pytest.approx(total - not_departed)
    assert checked == 20


def test_departures_queued_at_a_link_that_closes_take_another_road() -> None:
    """A -> B directly (a 100 veh/h lane) or A -> C -> B; 200 vehicles queue for A -> B, which closes."""
    nodes = pd.DataFrame({"node_id": ["A", "B", "C"], "lat": [0.0, 0.01, 0.005], "lon": [0.0, 0.0, 0.01]})
    ids = ["AB", "AC", "CB", "BA", "CA", "BC"]
    links = pd.DataFrame({"link_id": ids, "u": [i[0] for i in ids], "v": [i[1] for i in ids],
                          "length_km": 1.0, "speed_kmh": 60.0, "lanes": 1,
                          "capacity_veh_h": [100.0, 2000, 2000, 2000, 2000, 2000], "storage_veh": 1e6})
    net = RoadNetwork.from_tables(nodes, links)
    engine = TrafficEngine(net, [Destination("B", net.node("B"))])
    engine.add_platoons(np.zeros(200, np.int64), np.zeros(200, np.int64), np.full(200, 0.01), np.ones(200))
    engine.advance_to(0.5)
    waiting = sum(len(q) for q in engine.origin_wait)
    assert waiting > 100  # the direct lane admits 100 veh/h
    engine.is_open[net.link("AB")] = False
    engine.refresh_links()
    engine.advance_to(3.0)
    assert engine.arrived_veh == 200 and sum(len(q) for q in engine.origin_wait) == 0
