"""Invariants of the hospital model: patients are conserved; same seed, same numbers; CRN."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twinworld.experiments.run import build_world, run
from twinworld.scenario import load_scenario


def region(beds: list[int], arrivals: list[float], max_wait: str | None, los_cv: float,
           surge: float, loss: float) -> dict:
    names = [f"H{i}" for i in range(len(beds))]
    hospitals = [{"name": n, "ward_beds": b, "icu_beds": max(1, b // 10), "arrivals_per_day": a,
                  "electives_per_day": 2, "location": [60 + i * 0.03, 25.0]}
                 for i, (n, b, a) in enumerate(zip(names, beds, arrivals))]
    system = {"kind": "hospital_region", "hospitals": hospitals,
              "patient_classes": [
                  {"name": "ward", "share": 0.9, "bed": "ward", "los": {"mean": "2d", "cv": los_cv}},
                  {"name": "icu", "share": 0.1, "bed": "icu", "los": {"mean": "1d", "cv": los_cv}}]}
    if max_wait is not None:
        system["max_wait"] = max_wait
    return {
        "twinworld": 1, "name": "prop", "horizon": "10d", "systems": {"hospitals": system},
        "disruptions": [
            {"kind": "patient_surge", "target": "hospitals", "start": "2d", "duration": "4d", "multiplier": surge},
            {"kind": "bed_loss", "target": f"hospitals.{names[0]}", "start": "3d", "duration": "2d", "share": loss}],
        "strategies": {
            "baseline": {},
            "transfer": {"hospitals": {"kind": "transfer", "max_travel_min": 60}},
            "surge": {"hospitals": {"kind": "surge_beds", "threshold": 0.8, "delay": "2h"}},
            "everything": {"hospitals": [{"kind": "transfer", "max_travel_min": 60},
                                         {"kind": "surge_beds", "threshold": 0.8, "delay": "2h"},
                                         {"kind": "cancel_electives", "when_occupancy_above": 0.7}]}},
    }


regions = st.builds(
    region,
    beds=st.lists(st.integers(5, 60), min_size=2, max_size=4),
    arrivals=st.lists(st.floats(2, 40), min_size=4, max_size=4),
    max_wait=st.sampled_from([None, "0h", "4h"]),
    los_cv=st.floats(0.2, 1.5),
    surge=st.floats(1.0, 2.5),
    loss=st.floats(0.0, 1.0),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=regions, seed=st.integers(0, 2**31), strategy=st.sampled_from(["baseline", "transfer", "surge", "everything"]))
def test_patients_are_conserved_at_every_hospital(data: dict, seed: int, strategy: str) -> None:
    world = build_world(load_scenario(data), strategy, seed)
    world.run()
    system = world.systems["hospitals"]
    total_in = total_out = 0
    for hospital in system.hospitals.values():
        c = hospital.counts
        inflow = c["initial"] + c["arrived"] + c["transferred_in"]
        outflow = c["discharged"] + hospital.occupied + hospital.waiting + c["turned_away"] + c["transferred_out"]
        assert inflow == outflow, (hospital.name, c, hospital.occupied, hospital.waiting)
        assert hospital.pools["ward"].occupied >= 0 and hospital.pools["icu"].occupied >= 0
        total_in += c["initial"] + c["arrived"]
        total_out += c["discharged"] + hospital.occupied + hospital.waiting + c["turned_away"]
    assert total_in == total_out
    assert system.kpis()["transfers"] == sum(h.counts["transferred_in"] for h in system.hospitals.values())


@settings(max_examples=10, deadline=None)
@given(data=regions, seed=st.integers(0, 2**31))
def test_same_seed_gives_identical_kpis(data: dict, seed: int) -> None:
    scenario = load_scenario(data)
    assert run(scenario, "everything", seed).kpis == run(scenario, "everything", seed).kpis


@settings(max_examples=10, deadline=None)
@given(data=regions, seed=st.integers(0, 2**31))
def test_strategies_see_the_same_patients(data: dict, seed: int) -> None:
    scenario = load_scenario(data)
    arrivals = {}
    for strategy in scenario.strategies:
        world = build_world(scenario, strategy, seed)
        world.run()
        hospitals = world.systems["hospitals"].hospitals.values()
        arrivals[strategy] = [h.counts["arrived"] + h.counts["electives_cancelled"] for h in hospitals]
    assert len({tuple(v) for v in arrivals.values()}) == 1, arrivals


def test_different_seeds_differ() -> None:
    scenario = load_scenario(region([20, 20], [30, 30, 30, 30], "4h", 1.0, 1.5, 0.5))
    assert run(scenario, "baseline", 1).kpis != run(scenario, "baseline", 2).kpis
