"""Careless and hostile edits of the six bundled scenarios: a clear error, or a sound run.

Hypothesis takes one of the bundled scenarios (horizons shortened so a run takes a moment), picks
any node of its YAML tree and replaces it (NaN, infinity, huge, tiny, negative, wrong types,
distributions with bad parameters, nested junk), nudges the numbers under it (x0.5 .. x3, which
mostly still loads, so the runs get exercised), scales them by extreme factors, deletes it, adds
an unknown key beside it, or wraps it in a list. Then exactly one of these
must happen:

- loading fails with a :class:`ScenarioError` whose every line is ``<scenario>: path: message``;
- loading succeeds, every number in the loaded scenario is finite, and a run either fails with a ScenarioError of the same form, or finishes
  within the time limit with finite KPIs and every system's conservation law holding (patients,
  vessels and TEU, stock, vehicles, hours dark).

Anything else (a traceback from deeper down, NaN KPIs, a hang) fails the test and Hypothesis
shrinks it to the smallest edit that shows it.
"""

from __future__ import annotations

import copy
import math
import re
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from twinworld.errors import ScenarioError
from twinworld.experiments.run import build_world
from twinworld.params import Dist
from twinworld.scenario import load_scenario
from twinworld.scenario.uncertain import resolve, sample_values
from twinworld.scenario.workload import estimate_run

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
#: Runs estimated above this many events are only loaded, not run (keeps each example short).
RUN_EVENTS_BUDGET = 300_000
#: Wall-clock seconds one example may take before it counts as a hang.
HANG_S = 90

_SHORTEN = {"hospital_surge": {"horizon": "3d"}, "storm_cascade": {"horizon": "12h"},
            "heatwave_grid": {"horizon": "12h"}, "port_congestion": {"horizon": "3d"},
            "port_strike": {"horizon": "10d"}, "helsinki_evacuation": {"horizon": "1h"}}


def _base(name: str) -> dict[str, Any]:
    data = yaml.safe_load((SCENARIOS / f"{name}.yaml").read_text())
    data.update(_SHORTEN[name])
    if name == "helsinki_evacuation":
        for zone in data["systems"]["roads"]["zones"]:
            zone["households"] = zone["households"] // 50
    return data


BASES = {name: _base(name) for name in _SHORTEN}
_PROBLEM_LINE = re.compile(r"^<scenario>(:\d+(:\d+)?)?: \S.*|^\.\.\. and [\d,]+ more problem\(s\)$")


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _paths(value, (*prefix, i))
    return found


numbers = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, 0, -1, 1e300, -1e300, 1e9, 1e-12, 2 ** 70]),
    st.integers(-10 ** 6, 10 ** 6), st.floats(allow_nan=True, allow_infinity=True))
durations = st.sampled_from(["1e-9h", "0h", "-3d", "1000000000d", "1s", "2w", "nan h", "3 fortnights",
                             "1e400h", "0.5min"])
scalars = st.one_of(numbers, durations, st.text(max_size=10), st.booleans(), st.none())
distributions = st.one_of(
    st.fixed_dictionaries({"uniform": st.lists(st.one_of(numbers, durations), max_size=3)}),
    st.fixed_dictionaries({"triangular": st.lists(numbers, min_size=3, max_size=3)}),
    st.fixed_dictionaries({"normal": st.lists(numbers, min_size=2, max_size=2)},
                          optional={"low": numbers, "high": numbers}),
    st.fixed_dictionaries({"lognormal": st.lists(numbers, min_size=2, max_size=2)}),
    st.fixed_dictionaries({"choice": st.lists(numbers, max_size=3)},
                          optional={"weights": st.one_of(st.lists(scalars, max_size=3), scalars)}))
values = st.recursive(st.one_of(scalars, distributions),
                      lambda inner: st.one_of(st.lists(inner, max_size=3),
                                              st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=6)
FACTORS = [0.0, -1.0, 1e-9, 1e6, 1e12]
NUDGES = [0.5, 0.9, 1.5, 3.0]
#: Edits, repeated to weigh them: junk in, plausible nudges (mostly still valid, so they run), extreme
#: scales, structure.
OPERATIONS = ["replace"] * 4 + ["nudge"] * 4 + ["scale"] * 2 + ["delete", "unknown_key", "wrap"]


def _scale(node: Any, factor: float) -> Any:
    if isinstance(node, bool):
        return node
    if isinstance(node, (int, float)):
        return node * factor
    if isinstance(node, list):
        return [_scale(v, factor) for v in node]
    if isinstance(node, dict):
        return {k: _scale(v, factor) for k, v in node.items()}
    return node


def _mutate(data: dict[str, Any], path: tuple, operation: str, value: Any, factor: float) -> None:
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if operation == "replace":
        parent[last] = value
    elif operation == "delete":
        del parent[last]
    elif operation == "unknown_key" and isinstance(parent, dict):
        parent[f"{last}_typo"] = value
    elif operation in ("scale", "nudge"):
        parent[last] = _scale(parent[last], factor)
    elif operation == "wrap":
        parent[last] = [parent[last]]
    else:
        parent[last] = value


def _assert_clear(err: ScenarioError) -> None:
    lines = str(err).splitlines()
    assert lines, "an error with no message"
    bad = [line for line in lines if not _PROBLEM_LINE.match(line) and not line.startswith("  ")]
    assert not bad, f"not a clear `<scenario>: path: message` line: {bad[:3]}"
    assert "Traceback" not in str(err)


def _assert_all_finite(node: Any, path: str = "") -> None:
    """A scenario that loads holds no NaN or infinity anywhere (NaN passes every bound check)."""
    if isinstance(node, float):
        assert math.isfinite(node), f"{path} = {node} got through validation"
    elif isinstance(node, Dist):
        for number in node.parameters():
            _assert_all_finite(float(number), f"{path}({node.form})")
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            _assert_all_finite(getattr(node, name), f"{path}.{name}")
    elif isinstance(node, dict):
        for key, value in node.items():
            _assert_all_finite(value, f"{path}.{key}")
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            _assert_all_finite(value, f"{path}.{i}")


def _check_conservation(world: Any) -> None:
    for system in world.systems.values():
        kpis = system.kpis()
        assert all(math.isfinite(v) for v in kpis.values()), {k: v for k, v in kpis.items() if not math.isfinite(v)}
        check = _LAWS.get(system.kind)
        if check is not None:
            check(system, world)


def _hospitals(system: Any, world: Any) -> None:
    for hospital in system.hospitals.values():
        c = hospital.counts
        inflow = c["initial"] + c["arrived"] + c["transferred_in"]  # initial: in bed at the start
        outflow = (c["discharged"] + hospital.occupied + hospital.waiting + c["turned_away"]
                   + c["transferred_out"])
        assert inflow == outflow, (hospital.name, dict(c))
        assert hospital.pools["ward"].occupied >= 0 and hospital.pools["icu"].occupied >= 0


def _port(port: Any, world: Any) -> None:
    port._advance()
    arrived = [v for v in port.vessels if v.arrived_h <= world.now]
    waiting = [v for v in arrived if v.is_waiting]
    alongside = [v for v in arrived if v.berthed_h is not None and v.departed_h is None]
    departed = [v for v in arrived if v.departed_h is not None]
    diverted = [v for v in arrived if v.diverted_h is not None]
    assert len(waiting) + len(alongside) + len(departed) + len(diverted) == len(arrived)
    imported = sum(v.imported_teu for v in arrived)
    assert port.yard_teu == pytest.approx(port.config.yard_initial_teu + imported - port.gate_out_teu,
                                          rel=1e-9, abs=1e-6)
    assert -1e-6 <= port.yard_teu <= port.yard_capacity() + 1e-6


def _supply(system: Any, world: Any) -> None:
    for wh in system.warehouses.values():
        assert wh.initial + wh.received == pytest.approx(wh.on_hand + wh.shipped), wh.name
        assert wh.on_hand >= -1e-9
    c = system.counts
    assert c["demand_units"] == pytest.approx(c["filled_units"] + c["backordered_units"] + c["lost_units"])


def _roads(system: Any, world: Any) -> None:
    engine = system.finish()
    total = float(sum(engine.size))
    assert -1e-6 <= engine.arrived_veh <= engine.departed_veh + 1e-6 <= total + 2e-6
    assert sum(d.received_veh for d in system.destinations) == pytest.approx(engine.arrived_veh, abs=1e-6)
    # a shelter with room left takes a whole platoon, so it may end at most one platoon over
    biggest = max(engine.size, default=0.0)
    assert all(d.received_veh < d.capacity_veh + biggest + 1e-6 for d in system.destinations)


def _grid(system: Any, world: Any) -> None:
    assert ((system.dark_h >= -1e-9) & (system.dark_h <= world.horizon_h + 1e-9)).all()


_LAWS = {"hospital_region": _hospitals, "port": _port, "supply_network": _supply,
         "road_network": _roads, "power_grid": _grid}


class _Hang(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Hang(f"one example took more than {HANG_S} s")


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    """Read each bundled scenario once, so the cached grid, road network and AIS fit of the first
    example do not count against its deadline."""
    for data in BASES.values():
        load_scenario(copy.deepcopy(data), base_dir=SCENARIOS)


@settings(max_examples=200, deadline=timedelta(seconds=30),
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_a_mutated_scenario_is_a_clear_error_or_a_sound_run(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(BASES)), label="scenario")
    scenario = copy.deepcopy(BASES[name])
    path = data.draw(st.sampled_from(_paths(scenario)), label="path")
    operation = data.draw(st.sampled_from(OPERATIONS), label="operation")
    value = data.draw(values, label="value") if operation in ("replace", "unknown_key") else None
    factor = 1.0
    if operation in ("scale", "nudge"):
        factor = data.draw(st.sampled_from(FACTORS if operation == "scale" else NUDGES), label="factor")
    _mutate(scenario, path, operation, value, factor)
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG_S)
    try:
        _load_and_run(scenario, data)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _load_and_run(scenario: dict[str, Any], data: st.DataObject) -> None:
    try:
        loaded = load_scenario(scenario, base_dir=SCENARIOS)
    except ScenarioError as err:
        _assert_clear(err)
        event("refused at load")
        return
    _assert_all_finite(loaded)
    if estimate_run(loaded).events > RUN_EVENTS_BUDGET:
        event("loaded, too large to run here")
        return  # loads cleanly; too long to run in a property test
    strategy = data.draw(st.sampled_from(sorted(loaded.strategies)), label="strategy")
    seed = data.draw(st.integers(0, 2 ** 31), label="seed")
    try:
        world = build_world(resolve(loaded, sample_values(loaded, seed)), strategy, seed)
        world.run()
    except ScenarioError as err:
        _assert_clear(err)
        event("refused when built")
        return
    _check_conservation(world)
    event("ran; conservation holds")
