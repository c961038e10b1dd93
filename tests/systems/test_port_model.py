"""The port system as short stories: one or two vessels, exact times, exact TEU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twinworld.errors import ScenarioError
from twinworld.experiments.run import build_world, run
from twinworld.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]

# 2 cranes x 28 moves/h x 1.5 TEU/move = 84 TEU/h per berth; 840 TEU = 10 h of crane work.


def port(calls: list[tuple[str, float, float]], *, berths: int = 1, **fields) -> dict:
    system = {"kind": "port", "berths": berths, "cranes_per_berth": 2, "crane_moves_per_h": 28,
              "teu_per_move": 1.5, "berth_setup": "2h", "import_share": 0.0,
              "arrivals": {"kind": "schedule", "calls": [{"vessel": v, "eta": eta, "teu": teu}
                                                         for v, eta, teu in calls]}}
    system.update(fields)
    return system


def scenario(system: dict, *, disruptions=(), strategies=None, horizon: str = "3d") -> dict:
    return {"twinworld": 1, "name": "story", "horizon": horizon, "systems": {"port": system},
            "disruptions": list(disruptions), "strategies": {"baseline": {}, **(strategies or {})}}


def simulate(data: dict, strategy: str = "baseline", seed: int = 0):
    world = build_world(load_scenario(data), strategy, seed)
    world.run()
    return world.systems["port"], world


def times(port_system) -> dict[str, tuple]:
    return {v.name: (v.arrived_h, v.berthed_h, v.departed_h) for v in port_system.vessels}


def test_one_call_moors_unloads_and_leaves_on_time() -> None:
    p, _ = simulate(scenario(port([("ALBA", 2.0, 840.0)])))
    assert times(p) == {"ALBA": (2.0, 2.0, pytest.approx(14.0))}      # 1 h mooring + 10 h + 1 h
    kpis = p.kpis()
    assert kpis["port_hours_per_call"] == pytest.approx(12.0)
    assert kpis["mean_anchorage_wait_h"] == 0.0
    assert kpis["throughput_teu_per_day"] == pytest.approx(840.0 / 3)
    assert kpis["berth_occupancy"] == pytest.approx(12.0 / 72.0)


def test_second_vessel_waits_at_anchorage_for_the_berth() -> None:
    p, _ = simulate(scenario(port([("ALBA", 0.0, 840.0), ("BRIO", 1.0, 420.0)])))
    assert times(p)["BRIO"] == (1.0, pytest.approx(12.0), pytest.approx(19.0))
    assert p.kpis()["mean_anchorage_wait_h"] == pytest.approx(11.0 / 2)


def test_a_strike_stops_the_cranes_and_the_port_publishes_that_it_is_closed() -> None:
    strike = {"kind": "port_closure", "target": "port", "start": "5h", "duration": "4h"}
    p, world = simulate(scenario(port([("ALBA", 0.0, 840.0), ("BRIO", 6.0, 420.0)], berths=2),
                                 disruptions=[strike]))
    assert times(p)["ALBA"][2] == pytest.approx(16.0)            # 12 h of work and mooring + 4 h idle
    assert times(p)["BRIO"][1] == pytest.approx(9.0)             # waited at anchorage until reopening
    assert world.services.history["port.open"] == [(0.0, 1.0), (5.0, 0.0), (9.0, 1.0)]
    assert p.kpis()["port_closed_h"] == pytest.approx(4.0)


def test_closing_one_berth_sends_vessels_to_the_other_and_the_port_stays_open() -> None:
    storm = {"kind": "port_closure", "target": "port.B1", "start": 0, "duration": "1d", "gate_closed": False}
    p, world = simulate(scenario(port([("ALBA", 1.0, 840.0)], berths=2), disruptions=[storm]))
    assert p.vessels[0].berth.name == "B2" and times(p)["ALBA"][2] == pytest.approx(13.0)
    assert world.services.history["port.open"] == [(0.0, 1.0)]


def test_a_crane_failure_slows_the_berth_for_its_window() -> None:
    failure = {"kind": "crane_failure", "target": "port.B1", "cranes": 1, "start": "4h", "duration": "2h"}
    p, _ = simulate(scenario(port([("ALBA", 0.0, 840.0)]), disruptions=[failure]))
    assert times(p)["ALBA"][2] == pytest.approx(13.0)            # 2 h at half rate cost 1 h


def test_capacity_loss_of_crane_productivity() -> None:
    loss = {"kind": "capacity_loss", "target": "port", "resource": "cranes", "share": 0.5}
    p, _ = simulate(scenario(port([("ALBA", 0.0, 840.0)]), disruptions=[loss]))
    assert times(p)["ALBA"][2] == pytest.approx(22.0)


def test_a_full_yard_stops_discharge_until_trucks_make_room() -> None:
    yard = {"import_share": 1.0, "yard_capacity_teu": 420.0,
            "gate": {"trucks_per_h": 10, "teu_per_truck": 2.0, "dwell": "2h", "dwell_cv": 0}}
    p, _ = simulate(scenario(port([("ALBA", 0.0, 420.0), ("BRIO", 0.0, 420.0)], berths=2, **yard)))
    kpis = p.kpis()
    assert kpis["peak_yard_utilisation"] == pytest.approx(1.0)
    assert kpis["yard_blocked_h"] > 10.0
    # Nothing is created or lost: everything discharged is in the yard or went out of the gate.
    assert p.moved_teu == pytest.approx(840.0)
    assert p.yard_teu + p.gate_out_teu == pytest.approx(840.0)
    assert all(v.departed_h is not None for v in p.vessels)
    # Once in the yard, boxes left at the gate's rate: 20 TEU per hour after their dwell.
    assert p.gate_out_teu == pytest.approx(840.0)


def test_divert_sends_long_waiting_vessels_elsewhere() -> None:
    divert = {"port": {"kind": "divert", "after": "5h", "extra_sailing": "30h", "to": "Wrenmouth"}}
    data = scenario(port([("ALBA", 0.0, 840.0), ("BRIO", 1.0, 420.0)]), strategies={"divert": divert})
    p, world = simulate(data, "divert")
    brio = p.vessels[1]
    assert brio.diverted_h == pytest.approx(6.0) and brio.berthed_h is None
    kpis = p.kpis()
    assert kpis["vessels_diverted"] == 1.0
    assert kpis["mean_delay_per_call_h"] == pytest.approx((0.0 + 5.0 + 30.0) / 2)
    assert ("vessel_diverted", "BRIO -> Wrenmouth") in [(k, d) for _, k, d in world.recorder.events]


def test_priority_berthing_serves_the_smallest_call_first() -> None:
    calls = [("ALBA", 0.0, 840.0), ("BIG", 1.0, 1680.0), ("SMALL", 2.0, 168.0)]
    strategies = {"sjf": {"port": {"kind": "priority_berthing", "rule": "shortest_first"}}}
    fifo, _ = simulate(scenario(port(calls), strategies=strategies))
    sjf, _ = simulate(scenario(port(calls), strategies=strategies), "sjf")
    assert times(fifo)["BIG"][1] == pytest.approx(12.0) and times(fifo)["SMALL"][1] == pytest.approx(34.0)
    assert times(sjf)["SMALL"][1] == pytest.approx(12.0) and times(sjf)["BIG"][1] == pytest.approx(16.0)
    assert sjf.kpis()["mean_anchorage_wait_h"] < fifo.kpis()["mean_anchorage_wait_h"]


def test_extra_shifts_speed_the_cranes_while_vessels_queue() -> None:
    strategies = {"shifts": {"port": {"kind": "extra_shifts", "productivity_gain": 0.5, "when_queue_at_least": 1}}}
    p, _ = simulate(scenario(port([("ALBA", 0.0, 840.0), ("BRIO", 3.0, 420.0)]), strategies=strategies), "shifts")
    # ALBA: 2 h at 84 TEU/h, then (BRIO waiting) 126 TEU/h for the remaining 672 TEU: 5.33 h.
    assert times(p)["ALBA"][2] == pytest.approx(1.0 + 2.0 + 672.0 / 126.0 + 1.0)
    assert p.kpis()["extra_shift_h"] == pytest.approx(times(p)["ALBA"][2] - 3.0)


def test_an_arrival_surge_adds_vessels_inside_its_window_only() -> None:
    base = {"kind": "poisson", "rate_per_day": 4}
    surge = {"kind": "arrival_surge", "target": "port", "start": "2d", "duration": "2d", "multiplier": 3.0}
    calm, _ = simulate(scenario(port([], arrivals=base) | {"arrivals": base}, horizon="6d"), seed=3)
    busy, _ = simulate(scenario(port([], arrivals=base) | {"arrivals": base}, horizon="6d",
                                disruptions=[surge]), seed=3)
    extra = [v for v in busy.vessels if v.name.startswith("arrival_surge") or v.name.startswith("surge")]
    assert len(extra) > 4 and all(48.0 <= v.arrived_h < 96.0 for v in extra)
    regular = [(v.name, v.arrived_h, v.teu) for v in busy.vessels if v not in extra]
    assert regular == [(v.name, v.arrived_h, v.teu) for v in calm.vessels]   # the same base vessels


def test_strategies_on_one_seed_meet_the_same_vessels() -> None:
    data = scenario(port([], arrivals={"kind": "poisson", "rate_per_day": 6}), horizon="5d",
                    strategies={"sjf": {"port": {"kind": "priority_berthing"}}})
    a, _ = simulate(data, "baseline", seed=11)
    b, _ = simulate(data, "sjf", seed=11)
    c, _ = simulate(data, "baseline", seed=12)
    key = lambda p: [(v.arrived_h, v.teu) for v in p.vessels]  # noqa: E731
    assert key(a) == key(b) and key(a) != key(c)


def test_power_loss_through_a_coupling_slows_the_cranes() -> None:
    world = build_world(load_scenario(scenario(port([("ALBA", 0.0, 840.0)]))), "baseline", 0)
    p = world.systems["port"]
    world.at(1.0, lambda: p.degrade(None, 0.5, cause="grid"))    # cranes at half power 1 h..5 h
    world.at(5.0, lambda: p.degrade(None, 0.0, cause="grid"))
    world.run()
    assert times(p)["ALBA"][2] == pytest.approx(12.0 + 2.0)        # 4 h at half rate cost 2 h


def test_bad_targets_are_clear_scenario_errors() -> None:
    failure = {"kind": "crane_failure", "target": "port.B7", "cranes": 5}
    with pytest.raises(ScenarioError) as info:
        load_scenario(scenario(port([("ALBA", 0.0, 840.0)], berths=2), disruptions=[failure]))
    text = str(info.value)
    assert "no berth 'B7' in 'port'" in text and "port.<one of B1, B2>" in text
    assert "cranes fail" not in text           # no crane count is checked against a berth that is not there
    with pytest.raises(ScenarioError, match=r"disruptions.0.cranes: 5 cranes fail but port.B2 has only 2"):
        load_scenario(scenario(port([("ALBA", 0.0, 840.0)], berths=2),
                               disruptions=[{**failure, "target": "port.B2"}]))
    with pytest.raises(ScenarioError, match="arrivals kind 'liner' is not one of"):
        load_scenario(scenario(port([], arrivals={"kind": "liner"})))


def test_ais_arrivals_outside_the_port_polygon_give_a_clear_error() -> None:
    data = scenario(port([], arrivals={"kind": "ais", "file": "ais/kestrel_bay.csv",
                                       "port_polygon": [[4.0, 51.9], [4.1, 51.9], [4.1, 52.0]]}))
    data["data_dir"] = "scenarios/data"
    with pytest.raises(ScenarioError) as info:
        load_scenario(data, base_dir=ROOT)
    assert "gives 0 port call(s)" in str(info.value) and "latitude first" in str(info.value)
    data["systems"]["port"]["arrivals"]["file"] = "../pyproject.toml"
    with pytest.raises(ScenarioError, match="leaves the scenario's data folder"):
        load_scenario(data, base_dir=ROOT)


def test_ais_replay_turns_observed_calls_into_a_schedule() -> None:
    polygons = {"port_polygon": [[51.90, 3.95], [52.00, 3.95], [52.00, 4.15], [51.90, 4.15], [51.88, 4.05]],
                "berth_polygon": [[51.925, 4.08], [51.945, 4.08], [51.945, 4.13], [51.925, 4.13]]}
    data = scenario(port([], arrivals={"kind": "ais", "file": "ais/kestrel_bay.nmea", "mode": "replay",
                                       **polygons}, berths=3), horizon="3d")
    data["data_dir"] = "scenarios/data"
    loaded = load_scenario(data, base_dir=ROOT)
    arrivals = loaded.systems["port"].arrivals
    assert arrivals.kind == "schedule" and "6 quarantined" in arrivals.source
    assert len(arrivals.calls) == 21
    # A call seen at the quay moves the TEU its berth hours imply; one still at anchorage when the
    # recording ends has no berth time, so its size will be drawn from call_size.
    assert sum(c.teu is not None and c.teu > 0 for c in arrivals.calls) >= 15
    assert all(c.teu is None or c.teu > 0 for c in arrivals.calls)
    result = run(loaded, "baseline", seed=1)
    assert result.kpis["throughput_teu_per_day"] > 0


def test_ais_fit_gives_a_renewal_process_and_call_sizes_from_berth_hours() -> None:
    loaded = load_scenario(ROOT / "scenarios" / "port_congestion.yaml")
    config = loaded.systems["port"]
    arrivals = config.arrivals
    assert arrivals.kind == "fitted" and arrivals.distribution == "exponential"
    assert arrivals.mean_interarrival == pytest.approx(4.770, abs=1e-3)       # 64 calls in 14 days
    assert "64 calls derived from 5199 records (8 quarantined" in arrivals.source
    # Observed berth hours minus the 2 h setup, at 3 cranes x 28 moves/h x 1.5 TEU: 126 TEU/h.
    assert config.call_size.distribution == "lognormal"
    assert config.call_size.mean_teu == pytest.approx(126.0 * (11.4427 - 2.0), rel=1e-3)


@pytest.mark.parametrize("distribution", ["lognormal", "gamma"])
def test_fitted_arrivals_reproduce_their_mean_and_cv(distribution: str) -> None:
    arrivals = {"kind": "fitted", "distribution": distribution, "mean_interarrival": "5h", "cv": 0.5}
    p, _ = simulate(scenario(port([], arrivals=arrivals) | {"arrivals": arrivals, "berths": 50},
                             horizon="400d"), seed=4)
    gaps = np.diff([v.arrived_h for v in p.vessels])
    assert gaps.mean() == pytest.approx(5.0, rel=0.05)
    assert gaps.std() / gaps.mean() == pytest.approx(0.5, rel=0.08)
