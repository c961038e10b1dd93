"""The road engine against kinematic-wave theory: spillback density, node rules, link times.

Links have UXsim's default fundamental diagram: free flow 72 km/h, capacity 2880 veh/h, jam
density 200 veh/km, so the backward wave runs at w = q / (k_j - q / v) = 2880 / (200 - 40) = 18 km/h
and crosses a 1 km link in 200 s.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twinworld.systems.traffic.engine import Destination, TrafficEngine
from twinworld.systems.traffic.link_times import (DischargeMeter, fd_wave_speed_kmh,
                                                  instantaneous_times_h)
from twinworld.systems.traffic.network import RoadNetwork
from twinworld.systems.traffic.routing import RouteGenerations

H = 1 / 3600  # one second in hours


def _network(links: list[tuple[str, str, float, float]]) -> RoadNetwork:
    """Links ``(u, v, speed_kmh, capacity_veh_h)``, 1 km each, 200 veh/km of storage."""
    names = sorted({n for u, v, *_ in links for n in (u, v)})
    nodes = pd.DataFrame({"node_id": names, "lat": np.arange(len(names)) * 0.01, "lon": 0.0})
    table = pd.DataFrame([{"link_id": u + v, "u": u, "v": v, "length_km": 1.0, "speed_kmh": speed,
                           "lanes": 1, "capacity_veh_h": cap, "storage_veh": 200.0}
                          for u, v, speed, cap in links])
    return RoadNetwork.from_tables(nodes, table)


def _demand(engine: TrafficEngine, net: RoadNetwork, origin: str, dest_row: int, veh_h: float,
            end_h: float, start_h: float = 0.0) -> None:
    """Platoons of 5 vehicles every 5 / ``veh_h`` hours from ``origin``."""
    depart = np.arange(start_h, end_h, 5.0 / veh_h)
    engine.add_platoons(np.full(depart.size, net.node(origin)), np.full(depart.size, dest_row), depart,
                        np.full(depart.size, 5.0))


def test_backward_wave_speed_of_the_triangular_diagram() -> None:
    assert fd_wave_speed_kmh(np.array([2880.0]), np.array([72.0]), np.array([200.0])) == pytest.approx(18.0)
    # at half the speed the critical density doubles and the wave runs faster: 2880 / (200 - 80)
    assert fd_wave_speed_kmh(np.array([2880.0]), np.array([36.0]), np.array([200.0])) == pytest.approx(24.0)


@pytest.mark.parametrize("backward_wave, queued_veh", [(True, 100.0), (False, 200.0)])
def test_a_queue_spills_back_at_the_congested_density(backward_wave: bool, queued_veh: float) -> None:
    """A -> B -> C -> D -> E; D -> E is an 18 km/h link (1800 veh/h); 2520 veh/h arrive.

    Kinematic wave: the queue upstream of the bottleneck discharges at q = 1800 veh/h, so it
    stands at the congested density k_j - q / w = 200 - 1800 / 18 = 100 veh/km. A point queue
    whose room returns at once packs to the jam density instead (200 veh on each 1 km link).
    """
    net = _network([("A", "B", 72, 2880), ("B", "C", 72, 2880), ("C", "D", 72, 2880),
                    ("D", "E", 18, 1800)])
    engine = TrafficEngine(net, [Destination("E", net.node("E"))], backward_wave=backward_wave)
    _demand(engine, net, "A", 0, 2520.0, 1.0)
    engine.advance_to(0.9)  # 720 veh/h queue up: enough to fill three links at either density
    for link in ("AB", "BC", "CD"):
        assert engine.occ[net.link(link)] == pytest.approx(queued_veh, abs=5.0)  # one platoon
    assert engine.occ[net.link("DE")] == pytest.approx(100.0, abs=5.0)  # 1800 veh/h at 18 km/h
    engine.advance_to(3.0)
    assert engine.arrived_veh == engine.departed_veh == pytest.approx(2520, abs=5)


def test_departures_enter_before_traffic_from_upstream() -> None:
    """A -> B -> C -> D: 2160 veh/h from A and 1440 veh/h leaving B share B -> C (2880 veh/h).

    As UXsim's nodes release waiting departures before they transfer vehicles, the departures at
    B lose no time; the 720 veh/h of excess queue on A -> B.
    """
    net = _network([("A", "B", 72, 2880), ("B", "C", 72, 2880), ("C", "D", 72, 2880)])
    engine = TrafficEngine(net, [Destination("D", net.node("D"))])
    _demand(engine, net, "A", 0, 2160.0, 0.5)
    _demand(engine, net, "B", 0, 1440.0, 0.5, start_h=2 * H)
    engine.advance_to(5.0)
    depart, arrive = np.asarray(engine.depart_h), np.asarray(engine.arrive_h)
    from_b = np.asarray(engine.origin) == net.node("B")
    assert (arrive - depart)[from_b].max() <= 100 * H + 10 * H  # free flow, at most an entry slot
    # Vickrey's point queue at B for A's platoons, served at the 1440 veh/h the departures leave
    # while they last, then at 2880 veh/h
    last_b = depart[from_b].max()
    exit_h, previous = [], -np.inf
    for t in np.sort(depart[~from_b]) + 50 * H:
        previous = max(t, previous + 5.0 / (1440.0 if previous < last_b else 2880.0))
        exit_h.append(previous)
    expected = np.asarray(exit_h) + 100 * H - np.sort(depart[~from_b])
    np.testing.assert_allclose(np.sort(arrive[~from_b] - depart[~from_b]).mean(), expected.mean(), rtol=0.02)
    assert (arrive - depart)[~from_b].max() == pytest.approx(expected.max(), abs=20 * H)


def test_saturated_merge_shares_the_capacity_by_the_capacity_of_the_approaches() -> None:
    """A two-lane (5760 veh/h) and a one-lane approach, both saturated, into one 2880 veh/h link.

    Kinematic-wave node models share a saturated merge in proportion to the approaches'
    capacities: 2/3 and 1/3 of 2880 veh/h. Each entry slot is drawn between the waiting heads,
    so over 1.5 h (864 platoons) the share is binomial: standard deviation 0.016, allowed 3 of it.
    """
    net = _network([("A", "M", 72, 5760), ("B", "M", 72, 2880), ("M", "C", 72, 2880),
                    ("C", "D", 72, 2880)])
    engine = TrafficEngine(net, [Destination("D", net.node("D"))], rng=np.random.default_rng(4))
    _demand(engine, net, "A", 0, 3000.0, 2.0)
    _demand(engine, net, "B", 0, 3000.0, 2.0)
    engine.advance_to(2.5)
    arrive, origin = np.asarray(engine.arrive_h), np.asarray(engine.origin)
    window = (arrive > 0.25) & (arrive <= 1.75)  # 1.5 h of saturated merging
    total = 5.0 * window.sum()
    assert total == pytest.approx(2880.0 * 1.5, abs=10.0)
    assert 5.0 * (window & (origin == net.node("A"))).sum() / total == pytest.approx(2 / 3, abs=0.05)


def test_route_generations_weigh_like_uxsim_duo_updates() -> None:
    routes = RouteGenerations(3, np.random.default_rng(0))
    routes.reset([[5, 6]])
    assert routes.weights == [1.0] and routes.draw() == 0
    routes.add([[7, 6]])
    routes.add([[7, 8]])
    assert routes.weights == pytest.approx([0.5, 0.25, 0.25])
    assert routes.choices(0, 0) == pytest.approx({7: 0.75, 5: 0.25})
    assert routes.generation_taking(0, 0, 5) == 2
    routes.add([[9, 9]])  # three kept: the oldest goes
    assert [t[0][0] for t in routes.trees] == [9, 7, 7]
    draws = np.bincount([routes.draw() for _ in range(20000)], minlength=3) / 20000
    assert draws == pytest.approx([0.5, 0.25, 0.25], abs=0.015)


def test_instantaneous_time_is_length_over_the_mean_speed() -> None:
    one = np.ones(1)
    kwargs = {"free_flow_h": one / 72, "length_km": one, "storage_veh": 200 * one,
              "wave_kmh": 18 * one, "capacity_veh_h": 2880 * one}
    def time_h(rate: float, moving: float, queued: float) -> float:
        return float(instantaneous_times_h(rate_veh_h=rate * one, moving_veh=moving * one,
                                           queued_veh=queued * one, **kwargs)[0])
    assert time_h(2880, 0, 0) == pytest.approx(1 / 72)      # empty: free flow
    assert time_h(2880, 20, 0) == pytest.approx(1 / 72)     # moving at free flow
    assert time_h(2880, 0, 40) == pytest.approx(1 / 72)     # queued at capacity: the critical state
    # discharging 1440 veh/h: density 200 - 1440 / 18 = 120 veh/km, speed 12 km/h
    assert time_h(1440, 0, 100) == pytest.approx(1 / 12)
    # half moving at 72, half crawling at 12: mean speed 42 km/h
    assert time_h(1440, 50, 50) == pytest.approx(1 / 42)
    assert time_h(0, 0, 200) == pytest.approx(100 / 72)     # standing still: UXsim's 100 x floor


def test_discharge_meter_measures_the_rate_of_a_queue() -> None:
    meter = DischargeMeter(np.array([200 * H]))
    t = 0.0
    for _ in range(50):  # platoons of 5 due long ago, leaving every 12.5 s: 1440 veh/h
        t += 12.5 * H
        meter.record(0, t, ready=0.0, n=5.0)
    assert meter.rate_veh_h(t, np.array([np.inf]), np.array([2880.0]))[0] == pytest.approx(1440.0)
    # a head due since t and still waiting 200 s later: the exit served nobody meanwhile
    stalled = meter.rate_veh_h(t + 200 * H, np.array([t]), np.array([2880.0]))[0]
    assert stalled < 1440.0 * 0.6
    fresh = DischargeMeter(np.array([200 * H]))
    fresh.record(0, 0.1, ready=0.1, n=5.0)  # left on time: nothing queued
    assert fresh.rate_veh_h(0.2, np.array([np.inf]), np.array([2880.0]))[0] == 2880.0
