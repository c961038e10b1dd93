"""Conservation in the port: vessels and TEU are neither created nor lost, under every strategy."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twinworld.experiments.run import build_world
from twinworld.scenario import load_scenario
from twinworld.scenario.uncertain import resolve, sample_values

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def congestion():
    return load_scenario(ROOT / "scenarios" / "port_congestion.yaml")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_vessel_and_every_teu_is_accounted_for(congestion, seed: int) -> None:
    resolved = resolve(congestion, sample_values(congestion, seed))
    for strategy in congestion.strategies:
        world = build_world(resolved, strategy, seed)
        world.run()
        port = world.systems["port"]
        port._advance()
        arrived = [v for v in port.vessels if v.arrived_h <= world.now]
        waiting = [v for v in arrived if v.is_waiting]
        alongside = [v for v in arrived if v.berthed_h is not None and v.departed_h is None]
        departed = [v for v in arrived if v.departed_h is not None]
        diverted = [v for v in arrived if v.diverted_h is not None]
        # Each arrived vessel is in exactly one place.
        assert len(waiting) + len(alongside) + len(departed) + len(diverted) == len(arrived), strategy
        assert sorted(map(id, waiting)) == sorted(map(id, port.anchorage)), strategy
        assert len(alongside) == sum(b.vessel is not None for b in port.berths) <= len(port.berths)
        # Every TEU moved came off a vessel; departed vessels were fully worked.
        worked = sum(v.teu - v.moves_left * port.config.teu_per_move for v in alongside + departed)
        assert port.moved_teu == pytest.approx(worked, rel=1e-9), strategy
        assert all(v.moves_left == 0 for v in departed)
        # Yard balance: initial + discharged imports - trucked out = in the yard now.
        imported = sum(v.imported_teu for v in arrived)
        assert imported == pytest.approx(port.moved_teu * port.config.import_share, rel=1e-9)
        assert port.yard_teu == pytest.approx(port.config.yard_initial_teu + imported - port.gate_out_teu,
                                              rel=1e-9, abs=1e-6)
        assert -1e-6 <= port.yard_teu <= port.yard_capacity() + 1e-6
        assert port.ready_teu >= -1e-9
        # Time order of each call.
        for v in departed:
            assert v.arrived_h <= v.berthed_h <= v.departed_h


calls_strategy = st.lists(st.tuples(st.floats(0, 60), st.floats(50, 3000)), min_size=1, max_size=12)


@settings(max_examples=40, deadline=None)
@given(calls=calls_strategy, berths=st.integers(1, 3), close_at=st.floats(0, 60),
       close_for=st.floats(0, 40), yard=st.floats(200, 5000), trucks=st.floats(0.5, 40),
       share=st.floats(0, 1))
def test_random_ports_conserve_teu_and_never_work_while_closed(calls, berths, close_at, close_for, yard,
                                                               trucks, share) -> None:
    data = {"twinworld": 1, "name": "prop", "horizon": "6d", "systems": {"port": {
        "kind": "port", "berths": berths, "cranes_per_berth": 2, "crane_moves_per_h": 25,
        "teu_per_move": 1.5, "berth_setup": "1h", "import_share": share, "yard_capacity_teu": yard,
        "gate": {"trucks_per_h": trucks, "teu_per_truck": 2.0, "dwell": "6h"},
        "arrivals": {"kind": "schedule", "calls": [{"vessel": f"V{i}", "eta": eta, "teu": teu}
                                                   for i, (eta, teu) in enumerate(calls)]}}},
        "disruptions": [{"kind": "port_closure", "target": "port", "start": close_at, "duration": close_for}]}
    world = build_world(load_scenario(data), "baseline", 0)
    port = world.systems["port"]
    moved_while_closed = []

    def watch() -> None:  # sample the crane rates every 15 minutes
        port._advance()
        port._replan()
        if close_at < world.now < close_at + close_for:
            moved_while_closed.append(sum(b.rate for b in port.berths))
        if world.now + 0.25 <= world.horizon_h:
            world.at(world.now + 0.25, watch)

    world.at(0.0, watch)
    world.run()
    port._advance()
    assert not any(moved_while_closed)
    imported = sum(v.imported_teu for v in port.vessels)
    assert imported == pytest.approx(port.moved_teu * share, rel=1e-9, abs=1e-6)
    assert port.yard_teu == pytest.approx(imported - port.gate_out_teu, abs=1e-6)
    assert -1e-6 <= port.yard_teu <= yard + 1e-6
    for v in port.vessels:
        if v.departed_h is not None:
            assert v.moves_left == 0
            # No faster than the cranes allow: setup plus TEU at full rate (75 TEU/h per crane pair).
            assert v.departed_h - v.berthed_h >= 1.0 + v.teu / 75.0 - 1e-6
