"""A finished run lets go of its Mesa model: Mesa's class-level id counter (``Agent._ids``, keyed
by model) would otherwise keep every run's model and agents alive in a sweep worker."""

from __future__ import annotations

import gc
import weakref

import mesa

from twinworld.core.world import World


def test_a_finished_run_releases_its_mesa_model_and_agents() -> None:
    world = World(seed=3, horizon_h=2)
    facility = world.agents.add_facility(name="H1", kind="hospital", state=None)
    model, agent = weakref.ref(world.agents.model), weakref.ref(facility)
    assert world.agents.model in mesa.Agent._ids
    world.run()
    assert model() not in mesa.Agent._ids
    del world, facility
    gc.collect()
    assert model() is None and agent() is None
