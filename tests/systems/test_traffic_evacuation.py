"""The Helsinki evacuation scenario end to end: strategies, common random numbers, travel times,
speed, and clear errors for places that are not on the network."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest

from twinworld import load_scenario
from twinworld.errors import ScenarioError
from twinworld.experiments.run import build_world, run
from twinworld.scenario.uncertain import resolve, sample_values

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "helsinki_evacuation.yaml"


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(SCENARIO)


def test_every_strategy_runs_and_reports_every_kpi(scenario) -> None:
    from twinworld.systems.traffic import plugin

    results = {name: run(scenario, name, 11) for name in scenario.strategies}
    for name, result in results.items():
        assert set(result.kpis) == {k.name for k in plugin.kpis}, name
        k = result.kpis
        assert 0.0 <= k["share_evacuated_by_deadline"] <= 1.0
        assert k["ete50_h"] <= k["ete90_h"] <= k["ete100_h"] <= scenario.horizon
    # the same sampled flood and households: staging the centre behind the waterfront changes outcomes
    assert results["staged"].values == results["baseline"].values
    assert results["staged"].kpis != results["baseline"].kpis


def test_same_seed_same_numbers(scenario) -> None:
    assert run(scenario, "rerouting", 4).kpis == run(scenario, "rerouting", 4).kpis
    assert run(scenario, "baseline", 4).kpis != run(scenario, "baseline", 5).kpis


def test_flood_closes_the_waterfront_for_travel_times(scenario) -> None:
    values = {**sample_values(scenario, 1), "surge_flood.start": 1.0,
              "signals_out.capacity_loss": 0.0, "bridge_approach.start": 9.0}
    world = build_world(resolve(scenario, values), "baseline", 1)
    roads = world.systems["roads"]
    world.env.run(until=0.25)
    before = roads.travel_time_matrix(["Market_square", "Kamppi", "Hakaniemi"], congested=False)
    world.env.run(until=1.25)
    after = roads.travel_time_matrix(["Market_square", "Kamppi", "Hakaniemi"], congested=False)
    assert math.isfinite(before.loc["Kamppi", "Market_square"])
    assert math.isinf(after.loc["Kamppi", "Market_square"])  # the square is under water
    assert after.loc["Kamppi", "Hakaniemi"] == pytest.approx(before.loc["Kamppi", "Hakaniemi"], abs=1e-9)
    assert (np.diag(after.to_numpy()) == 0).all()


def test_capacity_balanced_shelters_respect_capacity(scenario) -> None:
    result = run(scenario, "balanced_shelters", 2, tables=True)
    shelters = result.tables["roads.shelters"]
    assert (shelters["received_veh"] <= shelters["capacity_veh"] + 5).all()  # at most one platoon over


def test_100000_household_evacuation_runs_in_under_60_s() -> None:
    big = load_scenario(SCENARIO, overrides=["systems.roads.vehicles_per_household=1.0"])
    started = time.perf_counter()
    result = run(big, "rerouting", 1)
    elapsed = time.perf_counter() - started
    households = 15000 + 85000
    assert result.kpis["trips_completed"] + result.kpis["vehicles_en_route"] + \
        result.kpis["vehicles_stranded"] == pytest.approx(households, abs=1)
    assert elapsed < 60.0


def _small(**roads) -> dict:
    system = {"kind": "road_network", "source": {"osm_pbf": "helsinki"},
              "zones": [{"name": "all", "households": 100}], **roads}
    return {"twinworld": 1, "name": "bad", "horizon": "2h", "systems": {"roads": system}}


def test_shelter_off_the_network_is_a_clear_error() -> None:
    data = _small(shelters=[{"name": "Espoo", "location": [60.20, 24.65], "capacity_veh": 10}])
    with pytest.raises(ScenarioError) as err:
        load_scenario(data)
    message = str(err.value)
    assert "systems.roads.shelters.0.location" in message
    assert "not on the network" in message and "km from the nearest road node" in message


def test_polygon_that_misses_the_network_is_a_clear_error() -> None:
    data = _small()
    data["disruptions"] = [{"kind": "flood", "target": "roads", "start": "1h",
                            "polygon": [[61.0, 25.0], [61.0, 25.1], [61.1, 25.1]]}]
    with pytest.raises(ScenarioError) as err:
        load_scenario(data)
    assert "disruptions.0.polygon" in str(err.value)
    assert "does not intersect the road network" in str(err.value)


def test_unknown_road_names_suggest_close_ones() -> None:
    data = _small()
    data["strategies"] = {"baseline": {}, "cf": {"roads": {"kind": "contraflow", "roads": ["Mannerheimintei"]}}}
    with pytest.raises(ScenarioError, match="Mannerheimintie"):
        load_scenario(data)


def test_osm_file_without_drivable_roads_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "park.osm").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n'
        '<node id="1" lat="60.17" lon="24.94"/><node id="2" lat="60.171" lon="24.941"/>\n'
        '<node id="3" lat="60.172" lon="24.942"/>\n'
        '<way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="footway"/></way>\n'
        '</osm>\n')
    data = _small()
    data["systems"]["roads"]["source"] = {"osm_file": "park.osm"}
    with pytest.raises(ScenarioError) as err:
        load_scenario(data, base_dir=tmp_path)
    assert "systems.roads.source.osm_file" in str(err.value)
    assert "no drivable roads" in str(err.value)


def test_road_access_of_places_is_published_for_couplings(scenario) -> None:
    values = {**sample_values(scenario, 1), "surge_flood.start": 1.0, "bridge_approach.start": 9.0}
    world = build_world(resolve(scenario, values), "baseline", 1)
    world.env.run(until=0.25)
    assert world.services.level("roads.access.Market_square") == 1.0
    world.env.run(until=1.25)
    assert world.services.level("roads.access.Market_square") == 0.0  # flooded: no other place reachable
    assert world.services.level("roads.access.Kamppi") == pytest.approx(2 / 3)  # all but the square


def test_households_derived_from_the_network_nodes() -> None:
    from twinworld.systems.traffic.config import NetworkSource
    from twinworld.systems.traffic.source import load_network

    data = _small()
    data["systems"]["roads"]["zones"] = [{"name": "all", "households_per_node": 3}]
    data["horizon"] = "8h"  # everyone has left by then
    result = run(load_scenario(data), "baseline", 0)
    nodes = load_network(NetworkSource(osm_pbf="helsinki")).n_nodes
    k = result.kpis
    assert k["trips_completed"] + k["vehicles_en_route"] + k["vehicles_stranded"] == 3 * nodes


def _street_grid_osm(path: Path) -> None:
    """A 3 x 3 grid of two-way residential streets as an OSM XML file."""
    nodes = [f'<node id="{r * 3 + c + 1}" lat="{60.17 + 0.002 * r:.4f}" lon="{24.94 + 0.004 * c:.4f}"/>'
             for r in range(3) for c in range(3)]
    ways = []
    for r in range(3):
        refs = "".join(f'<nd ref="{r * 3 + c + 1}"/>' for c in range(3))
        ways.append(f'<way id="{100 + r}">{refs}<tag k="highway" v="residential"/>'
                    f'<tag k="name" v="Row{r}"/></way>')
    for c in range(3):
        refs = "".join(f'<nd ref="{r * 3 + c + 1}"/>' for r in range(3))
        ways.append(f'<way id="{200 + c}">{refs}<tag k="highway" v="tertiary"/>'
                    f'<tag k="name" v="Col{c}"/></way>')
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n'
                    + "\n".join(nodes + ways) + "\n</osm>\n")


def test_osm_file_network_runs_with_a_closure(tmp_path: Path) -> None:
    _street_grid_osm(tmp_path / "town.osm")
    data = {"twinworld": 1, "name": "town", "horizon": "3h", "data_dir": ".",
            "systems": {"roads": {"kind": "road_network", "source": {"osm_file": "town.osm"},
                                  "zones": [{"name": "all", "households": 300}], "platoon_size": 1,
                                  "shelters": [{"name": "edge", "node": "8"}]}},
            "disruptions": [{"kind": "road_closure", "target": "roads", "roads": ["Row2"], "start": 0}]}
    scenario = load_scenario(data, base_dir=tmp_path)
    assert scenario.systems["roads"].source.digest  # hashed once at load time for the cache key
    result = run(scenario, "baseline", 0)
    assert result.kpis["trips_completed"] == 300  # node 8 stays reachable along Col1
    data["disruptions"][0]["roads"] = ["Row2", "Col1"]  # both streets through node 8
    closed = run(load_scenario(data, base_dir=tmp_path), "baseline", 0)
    stranded = closed.kpis["vehicles_stranded"]
    assert closed.kpis["trips_completed"] + stranded == 300 and stranded > 200  # only node 8 itself is safe


def test_same_numbers_in_fresh_processes_whatever_the_hash_seed() -> None:
    """The network (merged OSM ways' names and classes included) and the run are reproducible
    across worker processes, as sweeps need."""
    import json
    import os
    import subprocess
    import sys

    code = ("import json, warnings; warnings.simplefilter('ignore');"
            "from twinworld import load_scenario; from twinworld.experiments.run import run;"
            f"r = run(load_scenario({str(SCENARIO)!r}), 'combined', 3); print(json.dumps(r.kpis))")
    outputs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed,
               "PYTHONPATH": str(SCENARIO.parents[1])}
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                              timeout=300, check=True)
        outputs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    assert outputs[0] == outputs[1]


def test_route_generations_mix_like_uxsim_duo() -> None:
    import sys

    sys.path.insert(0, str(SCENARIO.parents[1] / "benchmarks"))
    from traffic_vs_uxsim import grid_scenario

    scenario = load_scenario(grid_scenario(5, 0.05, route_sets=3))
    world = build_world(scenario, "baseline", 0)
    world.run()
    engine = world.systems["roads"].finish()
    assert len(engine.routes.trees) == 3  # re-planned every 10 min, three generations kept
    assert engine.routes.cumulative == pytest.approx([0.5, 0.75, 1.0])
    assert set(engine.route_of) == {0, 1, 2}
    assert engine.arrived_veh == 15000
    again = build_world(scenario, "baseline", 0)
    again.run()
    assert again.systems["roads"].kpis() == world.systems["roads"].kpis()


def _grid_trips(disruptions: list[dict]) -> dict[str, float]:
    roads = {"kind": "road_network", "source": {"grid": {"rows": 4, "cols": 4}}, "platoon_size": 1,
             "od": [{"origin": "0,0", "destination": "3,3", "vehicles": 4000, "end": "1h"}]}
    data = {"twinworld": 1, "name": "grid", "horizon": "4h", "systems": {"roads": roads},
            "disruptions": disruptions}
    return run(load_scenario(data), "baseline", 0).kpis


def test_signal_outage_flood_and_bridge_failure_act_on_the_roads() -> None:
    base = _grid_trips([])
    outage = _grid_trips([{"kind": "signal_outage", "target": "roads", "capacity_loss": 0.5}])
    # 4000 veh/h leave one corner on two 2880 veh/h links: halved capacity makes a queue
    assert outage["mean_travel_time_min"] > base["mean_travel_time_min"] + 5
    assert outage["trips_completed"] == base["trips_completed"] == 4000
    wet = _grid_trips([{"kind": "flood", "target": "roads", "start": "3h", "warning": "3h", "slowdown": 0.5,
                        "polygon": [[-0.01, -0.01], [-0.01, 0.05], [0.05, 0.05], [0.05, -0.01]]}])
    # half speed over the whole 6 km trip: 5 more minutes of free flow on top of the same queue
    assert wet["mean_travel_time_min"] - base["mean_travel_time_min"] == pytest.approx(5.0, abs=0.5)
    cut = _grid_trips([{"kind": "bridge_failure", "target": "roads", "roads": ["row0", "col0"],
                        "start": "30min"}])
    assert cut["vehicles_stranded"] > 1500  # the corner's only two roads are gone
    assert cut["trips_completed"] + cut["vehicles_stranded"] + cut["vehicles_en_route"] == 4000
