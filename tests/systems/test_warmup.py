"""``warmup:``: statistics start after it, the simulation itself is unchanged; and the share of
patients turned away counts only patients who arrived during the run."""

from __future__ import annotations

import math

import pytest

from twinworld.experiments.run import build_world, run
from twinworld.scenario import load_scenario


def region(warmup: str = "0h", census: int = 0) -> dict:
    return {"twinworld": 1, "name": "warm-up", "horizon": "20d", "warmup": warmup, "seed": 3,
            "systems": {"hospitals": {"kind": "hospital_region", "max_wait": "4h", "hospitals": [
                {"name": "H1", "ward_beds": 40, "arrivals_per_day": 11, "census": {"ward": census}},
                {"name": "H2", "ward_beds": 25, "arrivals_per_day": 7}],
                "patient_classes": [{"name": "medical", "share": 1, "los": {"mean": "3.5d", "cv": 1}}]}}}


def test_kpis_count_from_the_end_of_the_warmup_and_the_run_is_unchanged() -> None:
    plain = build_world(load_scenario(region()), "baseline", 7)
    plain.env.run(until=5 * 24)
    before = {h.name: dict(h.counts) for h in plain.systems["hospitals"].hospitals.values()}
    plain.env.run(until=20 * 24)
    after = {h.name: dict(h.counts) for h in plain.systems["hospitals"].hospitals.values()}
    warm = run(load_scenario(region(warmup="5d")), "baseline", 7)
    turned = sum(after[h]["turned_away"] - before[h]["turned_away"] for h in after)
    arrived = sum(after[h]["arrived"] - before[h]["arrived"] for h in after)
    assert warm.kpis["patients_turned_away"] == turned
    assert warm.kpis["share_turned_away"] == pytest.approx(turned / arrived)
    assert run(load_scenario(region()), "baseline", 7).kpis["patients_turned_away"] == sum(
        after[h]["turned_away"] for h in after)


def test_level_statistics_restart_at_the_warmup() -> None:
    world = build_world(load_scenario(region(warmup="10d")), "baseline", 7)
    world.run()
    probe = world.recorder.probes["hospitals.waiting"]
    assert probe.start_h == 10 * 24
    assert world.systems["hospitals"].kpis()["bed_hours_short"] == pytest.approx(probe.area)


def test_share_turned_away_leaves_out_patients_already_in_bed() -> None:
    world = build_world(load_scenario(region(census=35)), "baseline", 11)
    world.run()
    system = world.systems["hospitals"]
    counts = [h.counts for h in system.hospitals.values()]
    assert sum(c["initial"] for c in counts) == 35
    arrived = sum(c["arrived"] for c in counts)
    turned = sum(c["turned_away"] for c in counts)
    assert turned > 0
    assert system.kpis()["share_turned_away"] == pytest.approx(turned / arrived)
    assert turned / (arrived + 35) < system.kpis()["share_turned_away"]


def test_a_warmup_removes_the_empty_start_bias_of_occupancy() -> None:
    """M/M/c/inf beds from empty: the time-average of beds in use over the whole run is biased low;
    after a warm-up it agrees with the offered load a = lambda x mean stay (Little's law)."""
    def mean_busy(warmup: str) -> float:
        data = region(warmup=warmup)
        data["horizon"] = "30d"
        data["systems"]["hospitals"]["max_wait"] = None
        data["systems"]["hospitals"]["hospitals"] = [{"name": "H", "ward_beds": 60, "arrivals_per_day": 12}]
        data["systems"]["hospitals"]["patient_classes"][0]["los"] = {"distribution": "exponential", "mean": "3d"}
        scenario = load_scenario(data)
        values = []
        for seed in range(12):
            world = build_world(scenario, "baseline", seed)
            world.run()
            values.append(world.recorder.probes["hospitals.occupied"].mean(world.horizon_h))
        return sum(values) / len(values)

    offered = 12 * 3.0      # beds in use on average once in steady state (rho = 0.6, few waits)
    cold, warm = mean_busy("0h"), mean_busy("12d")
    assert cold < offered - 2.0                     # the first days start from empty
    assert math.isclose(warm, offered, rel_tol=0.05)
