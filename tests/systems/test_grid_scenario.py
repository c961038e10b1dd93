"""The heatwave scenario on case118: engine reuse, determinism, published buses, a coupled hospital."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from twinworld.core import cache
from twinworld.experiments.run import build_world, run
from twinworld.scenario import load_scenario, resolve, sample_values

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def heatwave():
    return load_scenario(ROOT / "scenarios" / "heatwave_grid.yaml")


def test_engine_is_built_once_and_reused_by_every_run(heatwave) -> None:
    run(heatwave, "baseline", seed=0)
    builds = cache._PROCESS_CACHE.builds
    for seed in range(1, 4):
        run(heatwave, "rotating", seed=seed)
    assert cache._PROCESS_CACHE.builds == builds


def test_same_seed_same_numbers_and_common_disruptions(heatwave) -> None:
    first = run(heatwave, "baseline", seed=7)
    again = run(heatwave, "baseline", seed=7)
    assert first.kpis == again.kpis and first.values == again.values
    other = run(heatwave, "more_crews", seed=7, tables=True)
    base = run(heatwave, "baseline", seed=7, tables=True)
    damaged = {name: r.tables["grid.outages"].query("what == 'damage'")[["time_h", "element"]].values.tolist()
               for name, r in (("base", base), ("crews", other))}
    assert damaged["base"] == damaged["crews"] and damaged["base"]
    assert all(math.isfinite(v) for v in first.kpis.values())


def test_every_bus_publishes_its_state(heatwave) -> None:
    world = build_world(resolve(heatwave, sample_values(heatwave, 3)), "baseline", 3)
    world.run()
    keys = [k for k in world.services.levels if k.startswith("grid.bus.")]
    assert len(keys) == 118
    grid = world.systems["grid"]
    for row, name in enumerate(grid.case.bus_names):
        assert world.services.level(f"grid.bus.{name}") == (1.0 if grid.energised[row] else 0.0)


def test_energy_not_served_matches_the_dark_buses_when_the_load_is_flat() -> None:
    sc = load_scenario({
        "twinworld": 1, "name": "flat", "horizon": "24h",
        "systems": {"grid": {"kind": "power_grid", "source": {"pandapower": "case118"},
                             "load_profile": [1.0] * 24, "crews": 1,
                             "repair_time": {"distribution": "fixed", "mean": "5h"}}},
        "disruptions": [{"kind": "line_outage", "target": "grid", "count": 8, "start": "2h",
                         "include_transformers": True}]})
    world = build_world(sc, "baseline", 11)
    world.run()
    grid = world.systems["grid"]
    kpis = grid.kpis()
    assert kpis["lines_damaged"] == 8.0
    assert kpis["energy_not_served_mwh"] == pytest.approx(float((grid.dark_h * grid.base_load_mw).sum()))


def test_a_dark_bus_takes_beds_from_the_hospital_it_feeds() -> None:
    sc = load_scenario({
        "twinworld": 1, "name": "grid feeds hospital", "horizon": "24h",
        "systems": {
            "grid": {"kind": "power_grid", "source": {"pandapower": "case9"}, "load_profile": [1.0] * 24},
            "hospitals": {"kind": "hospital_region", "hospitals": [
                {"name": "H1", "ward_beds": 40, "arrivals_per_day": 10, "census": {"ward": 20}}]}},
        "couplings": [{"provider": "grid.bus.4", "consumer": "hospitals.H1", "backup_h": 2,
                       "loss_share": 0.5, "recovery_h": 1}],
        "disruptions": [{"kind": "substation_loss", "target": "grid", "buses": ["4"], "start": "3h",
                         "duration": "6h"}]})
    world = build_world(sc, "baseline", 2)
    pool = world.systems["hospitals"].hospitals["H1"].pools["ward"]
    seen = {}
    for t in (4, 6, 9.5, 11):
        world.env.run(until=t)
        seen[t] = pool.capacity
    assert seen == {4: 40, 6: 20, 9.5: 20, 11: 40}
