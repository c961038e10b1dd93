"""The kernel: named streams, recorder probes, the World clock, the Mesa adapter, the cache."""

from __future__ import annotations

import numpy as np
import pytest
import simpy

from twinworld.core.cache import StaticCache
from twinworld.core.recorder import LevelProbe
from twinworld.core.rng import RandomStreams
from twinworld.core.world import World


def test_streams_depend_on_name_not_creation_order() -> None:
    a = RandomStreams(7)
    first = a.get("arrivals", "H1").random(3)
    b = RandomStreams(7)
    b.get("los", "H2").random(100)          # another stream drawn first
    assert np.array_equal(b.get("arrivals", "H1").random(3), first)
    assert not np.array_equal(RandomStreams(8).get("arrivals", "H1").random(3), first)
    assert not np.array_equal(a.get("arrivals", "H2").random(3), first)


def test_streams_from_seed_sequences_are_distinct_per_spawn_key() -> None:
    s1 = RandomStreams(np.random.SeedSequence(5, spawn_key=(1, 0))).get("x").random()
    s2 = RandomStreams(np.random.SeedSequence(5, spawn_key=(2, 0))).get("x").random()
    again = RandomStreams(np.random.SeedSequence(5, spawn_key=(1, 0))).get("x").random()
    assert s1 != s2 and s1 == again


def test_level_probe_integrates_piecewise_constant_levels() -> None:
    probe = LevelProbe("occ", value=2, thresholds=(3,))
    probe.update(1.0, 5)   # 2 for 1 h
    probe.update(3.0, 1)   # 5 for 2 h
    probe.close(4.0)       # 1 for 1 h
    assert probe.area == pytest.approx(2 + 10 + 1)
    assert probe.peak == 5
    assert probe.above_h[3] == pytest.approx(2.0)
    assert probe.mean(4.0) == pytest.approx(13 / 4)


def test_world_runs_processes_on_one_clock_and_schedules_actions() -> None:
    world = World(seed=1, horizon_h=10)
    log = []

    def ticker(env: simpy.Environment):
        while True:
            yield env.timeout(4)
            log.append(("tick", env.now))

    world.env.process(ticker(world.env))
    world.at(5, lambda: log.append(("at", world.now)))
    world.at(50, lambda: log.append(("never", world.now)))
    world.run()
    assert log == [("tick", 4), ("at", 5), ("tick", 8)]
    assert world.now == 10


def test_world_rejects_non_positive_horizon() -> None:
    with pytest.raises(ValueError, match="horizon"):
        World(seed=1, horizon_h=0)


def test_agent_layer_selects_facilities() -> None:
    world = World(seed=1, horizon_h=1)
    for name, beds in [("A", 3), ("B", 0), ("C", 7)]:
        world.agents.add_facility(name=name, kind="hospital", state={"beds": beds})
    world.agents.add_facility(name="P", kind="port", state={})
    free = world.agents.where("hospital", lambda a: a.state["beds"] > 0)
    assert [a.name for a in free] == ["A", "C"]
    assert world.agents.named("port", "P").kind == "port"
    assert len(world.agents.of_kind("hospital")) == 3


def test_service_board_notifies_on_change_only() -> None:
    world = World(seed=1, horizon_h=1)
    seen = []
    world.services.subscribe("grid.bus.1", lambda key, level: seen.append(level))
    world.services.publish("grid.bus.1", 1.0)
    world.services.publish("grid.bus.1", 1.0)
    world.services.publish("grid.bus.1", 0.0)
    assert seen == [1.0, 0.0]
    assert world.services.level("grid.bus.1") == 0.0


def test_static_cache_builds_once() -> None:
    cache = StaticCache()
    calls = []
    for _ in range(3):
        assert cache.get("k", lambda: calls.append(1) or "value") == "value"
    assert calls == [1] and cache.builds == 1
