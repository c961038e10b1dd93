"""The power grid over time: short stories on IEEE case9 with exact outcomes.

case9 (pandapower numbering): load buses 4 (90 MW), 6 (100 MW), 8 (125 MW); units EG0 (slack, bus
0), G0 (bus 1), G1 (bus 2); bus 4 hangs on lines L1 (3-4) and L2 (4-5). A flat load profile makes
energy figures exact.
"""

from __future__ import annotations

import pytest

from twinworld.experiments.run import build_world, run
from twinworld.scenario import load_scenario

FLAT = [1.0] * 24


def scenario(disruptions: list, strategies: dict | None = None, horizon: str = "8h", **grid) -> object:
    system = {"kind": "power_grid", "source": {"pandapower": "case9"}, "load_profile": FLAT,
              "customers_per_mw": 10, **grid}
    return load_scenario({"twinworld": 1, "name": "case9 story", "horizon": horizon,
                          "systems": {"grid": system}, "disruptions": disruptions,
                          "strategies": strategies or {"baseline": {}}})


def world_of(sc, strategy: str = "baseline", seed: int = 1):
    world = build_world(sc, strategy, seed)
    world.run()
    return world


def test_substation_loss_darkens_its_bus_and_publishes_it() -> None:
    sc = scenario([{"kind": "substation_loss", "target": "grid", "buses": ["4"], "start": "1h",
                    "duration": "2h"}], critical_loads=[{"bus": "4", "kind": "hospital"}])
    world = world_of(sc)
    assert world.services.history["grid.bus.4"] == [(0.0, 1.0), (1.0, 0.0), (3.0, 1.0)]
    assert world.services.history["grid.bus.6"] == [(0.0, 1.0)]
    kpis = world.systems["grid"].kpis()
    assert kpis["energy_not_served_mwh"] == pytest.approx(180.0)
    assert kpis["peak_mw_shed"] == pytest.approx(90.0)
    assert kpis["customers_affected"] == 900.0
    assert kpis["customer_hours_lost"] == pytest.approx(1800.0)
    assert kpis["critical_load_hours_unserved"] == pytest.approx(2.0)
    assert kpis["restoration_time_h"] == pytest.approx(2.0)
    assert kpis["lines_tripped"] == 0.0


@pytest.mark.parametrize("crews, restored", [(1, [3.0, 5.0]), (2, [3.0, 3.0])])
def test_crews_repair_damaged_lines_one_job_each(crews: int, restored: list[float]) -> None:
    sc = scenario([{"kind": "line_outage", "target": "grid", "lines": ["L1", "L2"], "start": "1h"}],
                  crews=crews, repair_time={"distribution": "fixed", "mean": "2h"},
                  overload_tolerance=10)
    world = world_of(sc)
    log = world.systems["grid"].tables()["outages"]
    assert log[log.what == "damage"].time_h.tolist() == [1.0, 1.0]
    assert log[log.what == "restored"].time_h.tolist() == restored
    assert world.services.history["grid.bus.4"] == [(0.0, 1.0), (1.0, 0.0), (3.0, 1.0)]
    kpis = world.systems["grid"].kpis()
    assert kpis["energy_not_served_mwh"] == pytest.approx(180.0)
    assert kpis["lines_damaged"] == 2.0


def test_overloads_trip_after_the_delay_and_cascade() -> None:
    sc = scenario([{"kind": "line_outage", "target": "grid.L5", "start": "1h"}], crews=0,
                  ratings={"source": "base_flow", "margin": 1.05, "min_mw": 0}, trip_delay="15min")
    grid = world_of(sc).systems["grid"]
    log = grid.tables()["outages"]
    trips = log[log.what == "trip"]
    assert len(trips) >= 1
    assert trips.time_h.min() == pytest.approx(1.25)          # 15 min after the outage
    steps = sorted(set(trips.time_h.round(6)))
    assert all(round((b - a) / 0.25, 6) == round((b - a) / 0.25) for a, b in zip(steps, steps[1:]))
    assert grid.kpis()["lines_tripped"] == len(trips)
    for k in (grid.case.branch_index()[e] for e in trips.element):
        assert grid.out[k] or k not in grid.tripped_at


def test_redispatch_relieves_the_overload_before_the_line_trips() -> None:
    # G0 trips; EG0 and G1 pick up its 163 MW, and with limits at 75 % of the case ratings the
    # line from bus 5 to bus 6 overloads. Moving output between EG0 and G1 clears it.
    sc = scenario([{"kind": "generator_trip", "target": "grid", "generators": ["G0"], "start": "1h"}],
                  {"baseline": {}, "redispatch": {"grid": {"kind": "redispatch"}}}, crews=0,
                  ratings={"source": "case"}, overload_tolerance=0.75)
    plain = run(sc, "baseline", seed=1).kpis
    shifted = world_of(sc, "redispatch").systems["grid"]
    assert plain["lines_tripped"] >= 1 and plain["energy_not_served_mwh"] > 0
    assert shifted.kpis()["lines_tripped"] == 0.0
    assert shifted.kpis()["energy_not_served_mwh"] == 0.0
    assert shifted.state.gen_mw.sum() == pytest.approx(315.0)
    assert (abs(shifted.flows_mw) <= shifted.limits_mw(5.0) + 1e-6).all()


SHORTAGE = [{"kind": "generator_trip", "target": "grid", "generators": ["EG0", "G0"], "start": "1h",
             "duration": "4h"}]


def test_priority_shedding_keeps_the_hospital_lit() -> None:
    sc = scenario(SHORTAGE, {"baseline": {}, "priority": {"grid": {"kind": "priority_shedding"}}},
                  critical_loads=[{"bus": "4", "kind": "hospital", "priority": 5}])
    plain = world_of(sc, "baseline").systems["grid"]
    # 315 MW of load, 270 MW left in G1: baseline sheds in bus order, so bus 4 (the hospital) first.
    assert plain.kpis()["critical_load_hours_unserved"] == pytest.approx(4.0)
    assert plain.kpis()["energy_not_served_mwh"] == pytest.approx(4 * 90.0)
    prioritised = world_of(sc, "priority").systems["grid"]
    assert prioritised.kpis()["critical_load_hours_unserved"] == 0.0
    assert prioritised.kpis()["energy_not_served_mwh"] == pytest.approx(4 * 125.0)   # largest first
    assert prioritised.state.gen_mw.sum() == pytest.approx(315.0)


def test_rotating_outages_share_the_darkness() -> None:
    sc = scenario(SHORTAGE, {"baseline": {}, "rotating": {"grid": {"kind": "rotating_outages", "block": "1h"}}})
    plain = world_of(sc, "baseline").systems["grid"]
    rotating = world_of(sc, "rotating").systems["grid"]
    assert plain.dark_h.max() == pytest.approx(4.0)
    assert rotating.dark_h.max() < 4.0
    assert rotating.kpis()["customers_affected"] > plain.kpis()["customers_affected"]


def test_microgrid_carries_an_islanded_critical_load() -> None:
    lines_out = [{"kind": "line_outage", "target": "grid", "lines": ["L1", "L2"], "start": "1h",
                  "duration": "2h"}]
    sc = scenario(lines_out, {"baseline": {}, "micro": {"grid": {"kind": "islanded_microgrids"}}},
                  critical_loads=[{"bus": "4", "kind": "hospital"}], overload_tolerance=10)
    assert run(sc, "baseline", seed=1).kpis["critical_load_hours_unserved"] == pytest.approx(2.0)
    kpis = run(sc, "micro", seed=1).kpis
    assert kpis["critical_load_hours_unserved"] == 0.0
    assert kpis["energy_not_served_mwh"] == 0.0


def test_flood_takes_out_the_substations_inside_the_polygon() -> None:
    sc = scenario([{"kind": "flood", "target": "grid", "start": "2h", "duration": "3h",
                    "polygon": [[-2.5, 0.9], [-1.9, 0.9], [-1.9, 1.4], [-2.5, 1.4]]}])
    world = world_of(sc)
    assert world.services.history["grid.bus.4"] == [(0.0, 1.0), (2.0, 0.0), (5.0, 1.0)]
    assert world.systems["grid"].kpis()["energy_not_served_mwh"] == pytest.approx(270.0)


def test_heatwave_scales_load_and_derates_lines() -> None:
    sc = scenario([{"kind": "heatwave_load", "target": "grid", "multiplier": 1.2, "start": "2h",
                    "duration": "2h", "rating_derate": 0.1}])
    world = build_world(sc, "baseline", 1)
    grid = world.systems["grid"]
    assert grid.load_factor(1.0) == 1.0 and grid.load_factor(2.5) == pytest.approx(1.2)
    assert grid.limits_mw(3.0) == pytest.approx(0.9 * grid.limits_mw(1.0))
    world.run()
    assert grid.state.served_mw.sum() == pytest.approx(315.0)


def test_random_outages_are_the_same_for_every_strategy_and_seed() -> None:
    sc = scenario([{"kind": "line_outage", "target": "grid", "count": 3, "start": "1h", "spread": "2h"}],
                  {"baseline": {}, "crews": {"grid": {"kind": "crew_dispatch", "crews": 3}}},
                  horizon="12h", overload_tolerance=10)
    damage = {}
    for strategy in ("baseline", "crews"):
        log = world_of(sc, strategy, seed=5).systems["grid"].tables()["outages"]
        damage[strategy] = log[log.what == "damage"][["time_h", "element"]].values.tolist()
    assert damage["baseline"] == damage["crews"] and len(damage["baseline"]) == 3
    again = world_of(sc, "baseline", seed=5).systems["grid"].tables()["outages"]
    assert again[again.what == "damage"][["time_h", "element"]].values.tolist() == damage["baseline"]
    other = world_of(sc, "baseline", seed=6).systems["grid"].tables()["outages"]
    assert other[other.what == "damage"][["time_h", "element"]].values.tolist() != damage["baseline"]


def test_storm_fragility_fails_more_lines_in_stronger_wind() -> None:
    failed = []
    for wind in (30.0, 45.0, 60.0):
        sc = scenario([{"kind": "line_outage", "target": "grid", "wind_speed_ms": wind,
                        "include_transformers": True}], overload_tolerance=10, crews=0)
        failed.append(run(sc, "baseline", seed=3).kpis["lines_damaged"])
    assert failed[0] <= failed[1] <= failed[2] and failed[2] > failed[0]
