"""Couplings: a provider's outage drains the consumer's buffer, then takes its capacity."""

from __future__ import annotations

from tests.coupling_fixtures import registry_with_schedule as registry
from twinworld.experiments.run import build_world
from twinworld.scenario import load_scenario


def scenario(backup_h: float) -> dict:
    return {
        "twinworld": 1, "name": "blackout", "horizon": 48,
        "systems": {
            "power": {"kind": "schedule", "outages_h": [[10, 20]]},   # tests/coupling_fixtures.py
            "hospitals": {"kind": "hospital_region", "max_wait": "2h", "hospitals": [
                {"name": "H1", "ward_beds": 50, "arrivals_per_day": 12, "census": {"ward": 45}},
                {"name": "H2", "ward_beds": 50, "arrivals_per_day": 12, "census": {"ward": 45}}]},
        },
        "couplings": [{"provider": "power.feed", "consumer": "hospitals.H1", "backup_h": backup_h,
                       "loss_share": 0.8, "recovery_h": 3}],
    }


def capacity_over_time(backup_h: float) -> dict[float, int]:
    world = build_world(load_scenario(scenario(backup_h), registry=registry()), "baseline", 1)
    pool = world.systems["hospitals"].hospitals["H1"].pools["ward"]
    seen: dict[float, int] = {}
    for t in (5, 12, 16, 21, 22, 24, 30):
        world.env.run(until=t)
        seen[t] = pool.capacity
    return seen


def test_outage_shorter_than_the_buffer_costs_nothing() -> None:
    assert set(capacity_over_time(backup_h=12).values()) == {50}


def test_outage_longer_than_the_buffer_loses_beds_until_recovery() -> None:
    seen = capacity_over_time(backup_h=4)
    assert seen[12] == 50            # on generator
    assert seen[16] == 10            # buffer spent at 14 h: 80% of beds lost
    assert seen[21] == 10 and seen[22] == 10   # power back at 20 h, recovery takes 3 h
    assert seen[24] == 50 and seen[30] == 50


def test_cascade_shows_in_kpis() -> None:
    reg = registry()
    lost = build_world(load_scenario(scenario(backup_h=1), registry=reg), "baseline", 3)
    safe = build_world(load_scenario(scenario(backup_h=30), registry=reg), "baseline", 3)
    lost.run()
    safe.run()
    assert lost.systems["hospitals"].kpis()["patients_turned_away"] > safe.systems["hospitals"].kpis()["patients_turned_away"]
    assert lost.recorder.counters["coupling.degradations"] == 1
    assert "coupling.degradations" not in safe.recorder.counters


def test_coupling_to_unknown_system_is_a_clear_error() -> None:
    import pytest

    from twinworld.errors import ScenarioError
    bad = scenario(1)
    bad["couplings"][0]["provider"] = "grid.bus.3"
    with pytest.raises(ScenarioError, match="provider 'grid.bus.3' names no system"):
        load_scenario(bad, registry=registry())
