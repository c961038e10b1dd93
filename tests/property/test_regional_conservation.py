"""The flagship region (scenarios/regional_storm.yaml): conservation holds across couplings, every
degradation has a recorded cause, and the cascade summary accounts for every outcome."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import ROOT
from twinworld.experiments.run import build_world
from twinworld.scenario import load_scenario
from twinworld.scenario.uncertain import resolve, sample_values

SCENARIO = load_scenario(ROOT / "scenarios" / "regional_storm.yaml")


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), strategy=st.sampled_from(["baseline", "combined", "transfers"]))
def test_nothing_created_or_lost_and_every_degradation_has_a_cause(seed: int, strategy: str) -> None:
    world = build_world(resolve(SCENARIO, sample_values(SCENARIO, seed)), strategy, seed)
    world.run()
    hospitals, supply, roads = (world.systems[n] for n in ("hospitals", "supply", "roads"))
    for h in hospitals.hospitals.values():        # patients: in = out, the injured included
        c = h.counts
        assert c["initial"] + c["arrived"] + c["transferred_in"] == (
            c["discharged"] + h.occupied + h.waiting + c["turned_away"] + c["transferred_out"]), h.name
    for wh in supply.warehouses.values():         # stock: what came in is on hand, went out or spoiled
        assert wh.initial + wh.received == wh.on_hand + wh.shipped + wh.spoiled, wh.name
    engine = roads.finish()                       # vehicles: every one is somewhere
    now = world.horizon_h
    waiting = {p for queue in engine.origin_wait for p in queue}
    accounted = engine.arrived_veh + sum(engine.occ) + sum(engine.size[p] for p in waiting) \
        + engine.vehicles_stranded() + sum(s for s, d in zip(engine.size, engine.depart_h) if d > now)
    assert accounted == pytest.approx(sum(engine.size))
    injured = roads.kpis()["casualties"]          # the injured reach a hospital or are counted unreached
    assert hospitals.kpis()["casualties_received"] + roads.casualties_unreached == injured
    log = world.cascade
    for event in log.events:
        if event.what == "degraded":
            assert event.cause is not None, event
            assert log.chain(event.id)[0].what in ("disruption", "service_dropped")
    turned = sum(v for k, v in log.summary().items() if k.endswith(".hospitals.patients_turned_away"))
    assert turned == hospitals.kpis()["patients_turned_away"]
