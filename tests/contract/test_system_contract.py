"""The system contract, checked for every registered plugin (built-ins and third-party ones).

A plugin passes when its declarations tell the truth: the KPIs it declares are the KPIs it
returns, the services it declares are the services it publishes (within their ranges), the
random streams it declares are the ones it draws from, every disruption and strategy kind works
in its example, it pickles (so sweeps can send it to workers), and a run started from an observed
state reports that state at time 0.
"""

from __future__ import annotations

import math
import pickle
from collections import defaultdict
from typing import Any

import pytest
from pydantic import BaseModel

from twinworld.core.rng import RandomStreams
from twinworld.experiments.run import build_world
from twinworld.scenario import load_scenario
from twinworld.scenario.contract import system_elements
from twinworld.scenario.registry import default_registry
from twinworld.scenario.uncertain import resolve, sample_values
from twinworld.systems.base import SYSTEM, Direction, SystemPlugin

PLUGINS = sorted(default_registry(), key=lambda p: p.kind)


def scenario_of(plugin: SystemPlugin) -> dict[str, Any]:
    example = plugin.example()
    name = example["name"]
    return {"twinworld": 1, "name": f"{plugin.kind} contract", "horizon": example["horizon"], "seed": 5,
            "systems": {name: example["system"]}, "disruptions": example["disruptions"],
            "strategies": {"baseline": {}, **{s: {name: lever} for s, lever in example["strategies"].items()}}}


@pytest.fixture(scope="module", params=PLUGINS, ids=[p.kind for p in PLUGINS])
def case(request: pytest.FixtureRequest) -> dict[str, Any]:
    """A plugin, its example scenario (loaded and resolved) and what each strategy's run did."""
    plugin: SystemPlugin = request.param
    assert plugin.example is not None, f"{plugin.kind} declares no example: the contract cannot be checked"
    scenario = load_scenario(scenario_of(plugin))
    resolved = resolve(scenario, sample_values(scenario, 5))
    name = next(iter(scenario.systems))
    used: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    original = RandomStreams.get

    def recording(self: RandomStreams, *names: str) -> Any:
        used[id(self)].add(names)
        return original(self, *names)

    runs = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(RandomStreams, "get", recording)
        for strategy in scenario.strategies:
            world = build_world(resolved, strategy, 5)
            world.run()
            runs[strategy] = {"kpis": world.systems[name].kpis(), "streams": used.pop(id(world.streams), set()),
                              "history": dict(world.services.history)}
    return {"plugin": plugin, "scenario": scenario, "resolved": resolved, "name": name, "runs": runs,
            "elements": system_elements(scenario, scenario.registry)[name]}


def test_the_plugin_pickles(case: dict[str, Any]) -> None:
    plugin = case["plugin"]
    again = pickle.loads(pickle.dumps(plugin))
    assert again.kind == plugin.kind and [k.name for k in again.kpis] == [k.name for k in plugin.kpis]


def test_the_example_uses_every_disruption_and_strategy_kind(case: dict[str, Any]) -> None:
    scenario, plugin = case["scenario"], case["plugin"]
    assert sorted({d.kind for d in scenario.disruptions}) == sorted(plugin.disruption_kinds)
    levers = {lever.kind for parts in scenario.strategies.values() for levers in parts.values() for lever in levers}
    assert sorted(levers) == sorted(plugin.strategy_kinds)


def test_declared_kpis_are_the_kpis_returned(case: dict[str, Any]) -> None:
    plugin = case["plugin"]
    declared = [k.name for k in plugin.kpis]
    assert len(declared) == len(set(declared)) > 0
    for k in plugin.kpis:
        assert isinstance(k.direction, Direction) and k.unit, f"{k.name}: direction and unit are declared"
    for strategy, seen in case["runs"].items():
        assert sorted(seen["kpis"]) == sorted(declared), strategy
        bad = {k: v for k, v in seen["kpis"].items() if not math.isfinite(v)}
        assert not bad, f"{strategy}: non-finite KPIs {bad}"


def test_declared_services_are_the_services_published(case: dict[str, Any]) -> None:
    plugin, name, elements = case["plugin"], case["name"], case["elements"]
    matched: set[str] = set()
    for strategy, seen in case["runs"].items():
        for key, history in seen["history"].items():
            system, _, rest = key.partition(".")
            assert system == name, f"{key!r} is published under another system's name"
            found = plugin.service_for(rest, elements)
            assert found is not None, f"{strategy}: {key!r} is published but not declared"
            service, _ = found
            matched.add(service.pattern)
            for time_h, level in history:
                assert service.low <= level <= service.high, f"{key!r} = {level} at {time_h} h"
    assert matched == {s.pattern for s in plugin.services}, "every declared service is published"


def test_every_stream_drawn_is_declared(case: dict[str, Any]) -> None:
    """Streams named ``<system>.<stream>...`` keep common random numbers apart between systems; a
    stream used only under a coupling (the injured a hospital receives) may go undrawn here."""
    plugin, name = case["plugin"], case["name"]
    drawn: set[str] = set()
    for strategy, seen in case["runs"].items():
        for key in seen["streams"]:
            assert key[0] == name and len(key) >= 2, f"{strategy}: stream {key} is not named <system>.<stream>"
            drawn.add(key[1])
    assert drawn <= set(plugin.streams), f"undeclared: {sorted(drawn - set(plugin.streams))}"
    assert len(drawn) >= len(plugin.streams) / 2, f"most declared streams are drawn: {sorted(drawn)}"


def test_every_consumer_kind_acts_on_a_declared_element(case: dict[str, Any]) -> None:
    plugin, elements = case["plugin"], case["elements"]
    kinds = {k for c in plugin.consumes for k in c.kinds}
    assert kinds, f"{plugin.kind} consumes no coupling kind"
    assert any(s.kinds for s in plugin.services), f"{plugin.kind} provides no coupling kind"
    for consumer in plugin.consumes:
        assert consumer.element_type == SYSTEM or consumer.element_type in plugin.element_types
    assert set(elements.values()) <= set(plugin.element_types)


@pytest.mark.parametrize("share", [0.25, 0.5])
def test_observed_state_round_trips_through_warm_start(case: dict[str, Any], share: float) -> None:
    plugin, name, resolved = case["plugin"], case["name"], case["resolved"]
    assert plugin.observable is not None
    world = build_world(resolved, "baseline", 5)
    world.env.run(until=world.horizon_h * share)
    observed = world.systems[name].observe()
    assert isinstance(observed, plugin.observable)
    again = plugin.observable.model_validate_json(observed.model_dump_json())   # as telemetry carries it
    restarted = build_world(resolved, "baseline", 6, state={name: again})
    at_zero = restarted.systems[name].observe()
    assert _same(at_zero.model_dump(), observed.model_dump()), (at_zero, observed)
    restarted.run()                                    # and the run goes on from there
    assert all(math.isfinite(v) for v in restarted.systems[name].kpis().values())
    assert plugin.observable.model_json_schema()["type"] == "object"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        return a == pytest.approx(b, rel=1e-9, abs=1e-9)
    if isinstance(a, BaseModel):
        return _same(a.model_dump(), b.model_dump())
    return a == b
