"""Households as agents in an evacuation: stories with exact or statistical assertions.

The network is the 5 x 5 grid of the road plugin's example; most stories give households no car
(``vehicles_per_household: 0``), so what is measured is the decisions alone.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from twinworld import load_scenario
from twinworld.errors import ScenarioError
from twinworld.experiments.run import build_world, run
from twinworld.scenario.uncertain import resolve, sample_values

KM = 0.009


def box(r0: float, c0: float, r1: float, c1: float) -> list[list[float]]:
    return [[r0 * KM, c0 * KM], [r0 * KM, c1 * KM], [r1 * KM, c1 * KM], [r1 * KM, c0 * KM]]


def grid(households: dict[str, Any] | None, *, zones: list[dict[str, Any]] | None = None, cars: float = 0.0,
         horizon: str = "6h", strategies: dict[str, Any] | None = None, **roads: Any) -> dict[str, Any]:
    system = {"kind": "road_network", "source": {"grid": {"rows": 5, "cols": 5}}, "vehicles_per_household": cars,
              "zones": zones or [{"name": "south", "households": 4000, "polygon": box(-0.5, -0.5, 2.5, 4.5)}],
              "shelters": [{"name": "exit", "node": "4,4"}], "mobilisation": {"curve": "rayleigh", "mean": "45min"},
              **roads}
    if households is not None:
        system["households"] = households
    return {"twinworld": 1, "name": "households", "horizon": horizon, "seed": 3, "systems": {"roads": system},
            "strategies": {"baseline": {}, **(strategies or {})}}


def households_of(data: dict[str, Any], strategy: str = "baseline", seed: int = 3):
    result = run(load_scenario(data), strategy, seed, tables=True)
    return result, result.tables["roads.households"]


def binomial_ok(successes: int, n: int, p: float, sigmas: float = 4.0) -> bool:
    return abs(successes - n * p) <= sigmas * math.sqrt(n * p * (1 - p))


def test_a_share_compliance_of_warned_households_leaves() -> None:
    data = grid({"compliance": 0.6, "channels": [{"name": "order"}]})
    result, table = households_of(data)
    left = int(np.isfinite(table["depart_h"]).sum())
    assert binomial_ok(left, 4000, 0.6)
    assert result.kpis["households_left_behind"] == 4000 - left
    assert (table["warned_h"] == 0.0).all()             # one order, heard by everyone at once
    assert table["warned_by"].eq("order").all()


def test_further_warnings_confirm_by_the_confirmation_share() -> None:
    # two channels reaching everyone: P(leave) = 1 - (1 - c)^(1 + confirmation)
    data = grid({"compliance": 0.3, "confirmation": 0.5,
                 "channels": [{"name": "sirens"}, {"name": "radio", "start": "30min"}]})
    _, table = households_of(data)
    left = int(np.isfinite(table["depart_h"]).sum())
    assert binomial_ok(left, 4000, 1 - 0.7 ** 1.5)
    late = table[(table["decided_h"] > 0) & np.isfinite(table["decided_h"])]   # convinced by the radio
    assert len(late) > 0 and (late["decided_h"] == 0.5).all()


def test_beta_spread_of_compliance_keeps_its_mean() -> None:
    _, table = households_of(grid({"compliance": 0.6, "compliance_sd": 0.25}))
    assert table["compliance"].std() == pytest.approx(0.25, rel=0.1)
    assert binomial_ok(int(np.isfinite(table["depart_h"]).sum()), 4000, 0.6)


def test_door_to_door_teams_visit_at_their_rate() -> None:
    # nobody leaves (compliance 0), so the teams visit 600 households per hour, 2400 by 4 h
    data = grid({"compliance": 0.0, "channels": [{"name": "teams", "kind": "door_to_door", "households_per_h": 600,
                                                  "start": "30min"}]}, horizon="8h")
    _, table = households_of(data)
    warned = np.sort(table["warned_h"].to_numpy())
    assert np.isfinite(warned).sum() == 4000                  # all visited by 0.5 h + 4000/600 h
    assert (warned >= 0.5).all()
    assert np.searchsorted(warned, 1.5, side="right") == 600  # one hour of visits
    assert np.searchsorted(warned, 4.5, side="right") == 2400


def test_shadow_households_leave_at_their_share_when_warned_everywhere() -> None:
    data = grid({"channels": [{"name": "cell_broadcast", "area": "everywhere"}],
                 "shadow": {"households": 5000, "compliance": 0.2}},
                zones=[{"name": "south", "households": 1000, "polygon": box(-0.5, -0.5, 1.5, 4.5)}])
    result, table = households_of(data)
    shadow = table[table["zone"] == "shadow"]
    assert len(shadow) == 5000
    assert binomial_ok(int(np.isfinite(shadow["depart_h"]).sum()), 5000, 0.2)
    assert (table[table["zone"] == "south"]["depart_h"] < math.inf).all()
    zones = result.tables["roads.household_zones"].set_index("zone")
    assert zones.loc["shadow", "households"] == 5000 and zones.loc["south", "households"] == 1000


def test_a_zone_whose_turn_comes_later_prepares_from_its_turn() -> None:
    data = grid({}, zones=[{"name": "south", "households": 1000, "polygon": box(-0.5, -0.5, 1.5, 4.5)},
                           {"name": "middle", "households": 1000, "polygon": box(1.5, -0.5, 2.5, 4.5)}],
                strategies={"staged": {"roads": {"kind": "staged", "stages": [{"zones": ["middle"], "delay": "1h"}]}}})
    _, base = households_of(data)
    _, staged = households_of(data, "staged")
    middle = (staged["zone"] == "middle").to_numpy()
    assert (staged["warned_h"] == 0.0).all()                 # the plan is heard at the first order
    gap = staged["depart_h"].to_numpy() - base["depart_h"].to_numpy()
    assert gap[middle] == pytest.approx(np.ones(middle.sum()))   # same household, its turn an hour later
    assert (gap[~middle] == 0).all()


def test_word_of_mouth_warns_households_no_channel_reached() -> None:
    data = grid({"channels": [{"name": "sirens", "reach": 0.3}],
                 "word_of_mouth": {"contacts": 6, "share_telling": 0.8, "delay": "10min"}})
    _, table = households_of(data)
    by = table["warned_by"].value_counts()
    assert binomial_ok(int(by["sirens"]), 4000, 0.3, sigmas=5)
    assert by["word_of_mouth"] > 2000
    heard = table[table["warned_by"] == "word_of_mouth"]
    assert (heard["warned_h"] > 0).all()


def test_the_same_households_under_every_strategy() -> None:
    """Common random numbers: a strategy changes what happens to households, not who they are."""
    data = grid({"compliance": 0.7, "channels": [{"name": "sirens", "reach": 0.5, "delay": "10min"}]},
                strategies={"teams": {"roads": {"kind": "warning_channels", "add": [
                    {"name": "teams", "kind": "door_to_door", "households_per_h": 2000}]}}})
    _, base = households_of(data)
    _, teams = households_of(data, "teams")
    for column in ("home", "vehicles", "compliance", "needs", "prep_h"):
        assert (base[column] == teams[column]).all(), column
    reached = np.isfinite(base["warned_h"]).to_numpy()
    assert (teams["warned_h"].to_numpy()[reached] <= base["warned_h"].to_numpy()[reached]).all()
    assert np.isfinite(teams["depart_h"]).sum() > np.isfinite(base["depart_h"]).sum()


def test_bulk_decisions_equal_a_plain_mesa_model_stepping_each_household() -> None:
    """Without word of mouth the numpy epochs and a per-agent Mesa ``shuffle_do`` loop agree exactly."""
    from tests.plain_mesa_households import PlainHouseholds

    data = grid({"compliance": 0.5, "compliance_sd": 0.2, "confirmation": 0.4,
                 "channels": [{"name": "sirens", "reach": 0.7, "delay": "5min"},
                              {"name": "radio", "start": "20min", "reach": 0.6, "delay": "30min",
                               "delay_distribution": "lognormal", "delay_cv": 0.5}]})
    scenario = load_scenario(data)
    world = build_world(resolve(scenario, sample_values(scenario, 3)), "baseline", 3)
    world.run()
    mob = world.systems["roads"].evacuees.mobiliser
    official: list[list[tuple[float, float]]] = [[] for _ in range(mob.table.size)]
    for h, t, w in zip(mob.ev_household.tolist(), mob.ev_time.tolist(), mob.ev_weight.tolist()):
        official[h].append((t, w))
    plain = PlainHouseholds(needs=mob.table.needs, prep_h=mob.prep_h, turn_h=mob.turn_h, official=official,
                            incoming=[[] for _ in official])
    plain.run_until(6.0, 1 / 12)
    for column in ("warned_h", "decided_h", "depart_h"):
        assert np.array_equal(plain.column(column), getattr(mob, column)), column


def test_households_are_mesa_agents_on_request() -> None:
    scenario = load_scenario(grid({"compliance": 0.5}))
    world = build_world(resolve(scenario, sample_values(scenario, 3)), "baseline", 3)
    world.run()
    cohort = world.systems["roads"].evacuees.cohort
    assert not cohort.is_registered                    # a KPI-only run never pays for 4000 Mesa objects
    households = world.agents.of_kind("household")
    assert len(households) == 4000 and cohort.is_registered
    gone = households.select(lambda h: h.has_left)
    assert sorted(cohort.rows(gone)) == np.flatnonzero(np.isfinite(cohort["depart_h"])).tolist()
    assert households.agg("vehicles", sum) == 0
    assert households.groupby("group").count() == {0: 4000}


def test_informed_drivers_share_zero_route_as_without_rerouting() -> None:
    """Nobody informed: everyone keeps to free-flow routes, whatever the app would re-plan."""
    common = dict(cars=1.0, route_noise=0.0, platoon_size=5, horizon="4h")
    plain = grid({}, **common)
    nobody = grid({"informed_drivers": {"share": 0.0, "replan_every": "10min"}}, **common)
    half = grid({"informed_drivers": {"share": 0.5, "replan_every": "10min"}}, **common)
    for data in (plain, nobody, half):
        data["systems"]["roads"]["zones"][0]["households"] = 3000
    base = run(load_scenario(plain), "baseline", 3).kpis
    nobody_kpis = run(load_scenario(nobody), "baseline", 3).kpis
    # the same trips; only the order in which the periodic re-plans re-try waiting heads adds up
    # delays differently, in the last digits
    assert nobody_kpis == pytest.approx(base, rel=1e-12, abs=1e-12)
    assert nobody_kpis["trips_completed"] == base["trips_completed"]
    assert run(load_scenario(half), "baseline", 3).kpis != pytest.approx(base, rel=1e-6)


@pytest.mark.parametrize("households, strategy, message", [
    ({"shadow": {"households": 10, "polygon": box(1.0, 1.0, 1.8, 1.8)}}, None, "shadow"),
    (None, {"kind": "warning_channels", "add": [{"name": "x"}]}, "no households: section"),
    ({}, {"kind": "warning_channels", "drop": ["sirenz"]}, "no channel named 'sirenz'"),
    ({"channels": [{"name": "teams", "kind": "door_to_door"}]}, None, "households_per_h"),
    ({"vehicles": [0.5, float("nan")]}, None, "finite"),
])
def test_bad_household_sections_are_clear_errors(households: Any, strategy: Any, message: str) -> None:
    data = grid(households, strategies={"s": {"roads": strategy}} if strategy else None)
    with pytest.raises(ScenarioError) as err:
        load_scenario(data)
    assert message in str(err.value)
    assert "systems.roads" in str(err.value) or "strategies.s" in str(err.value)


def test_no_informed_or_uninformed_platoon_waits_for_a_link_with_room() -> None:
    """Mixed routing re-plans while platoons wait; a head waiting for a link that has room must
    have a wake-up coming for that link (its entry slot), so no wait lasts for ever."""
    import yaml

    from twinworld.systems.traffic.informed import MixedRoutingEngine

    root = __import__("pathlib").Path(__file__).resolve().parents[2]
    data = yaml.safe_load((root / "scenarios" / "helsinki_households.yaml").read_text())
    data["disruptions"] = []
    roads = data["systems"]["roads"]
    roads["vehicles_per_household"] = 0.1
    del roads["households"]["shadow"]
    roads["households"]["informed_drivers"] = {"share": 0.4, "replan_every": "10min"}
    scenario = load_scenario(data, base_dir=root / "scenarios")
    world = build_world(resolve(scenario, sample_values(scenario, 1)), "baseline", 1)
    engine = None
    for until in (1.0, 2.0, 3.0, 10.0):
        world.env.run(until=until)
        engine = world.systems["roads"].finish_to_now()
        assert isinstance(engine, MixedRoutingEngine)
        for link, wanted in enumerate(engine.blocked_on):
            if wanted >= 0 and engine._has_room(wanted, engine.size[engine.queue[link][0]]):
                assert engine.wake_h[wanted] < math.inf, (until, link, wanted)
    assert world.systems["roads"].kpis()["vehicles_en_route"] == 0
