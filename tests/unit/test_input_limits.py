"""The work limits and the file resolver, one rule at a time, with exact numbers."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest

from twinworld import limits
from twinworld.errors import FeedError, Problem, ScenarioError
from twinworld.feeds.safe_files import check_file, describe_error, read_text
from twinworld.scenario import load_scenario, safe_yaml
from twinworld.scenario.files import ScenarioFiles
from twinworld.scenario.workload import estimate_run, work_problems
from twinworld.systems.hospital.config import HospitalRegionConfig
from twinworld.systems.hospital.travel import (
    TravelTimes,
    has_any_route,
    travel_matrix_min,
)

ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------- data files --
def test_only_regular_files_within_the_limit_are_read(tmp_path: Path) -> None:
    (tmp_path / "zero.csv").symlink_to("/dev/zero")  # a device: endless bytes
    with pytest.raises(FeedError, match=r"^census CSV 'zero.csv' is not a regular file \(a FIFO, device"):
        read_text(tmp_path / "zero.csv", max_bytes=10, what="census CSV")
    os.mkfifo(tmp_path / "pipe.csv")
    with pytest.raises(FeedError, match=r"^data file 'pipe.csv' is not a regular file \(a FIFO"):
        read_text(tmp_path / "pipe.csv", max_bytes=10)  # returns at once: a FIFO is never opened
    (tmp_path / "sub").mkdir()
    with pytest.raises(FeedError, match="'sub' is a folder, not a file"):
        check_file(tmp_path / "sub", max_bytes=10)
    (tmp_path / "big.csv").write_bytes(b"x" * 11)
    with pytest.raises(FeedError, match=r"'big.csv' is 11 B; such files are limited to 10 B"):
        check_file(tmp_path / "big.csv", max_bytes=10)
    assert check_file(tmp_path / "big.csv", max_bytes=11) == tmp_path / "big.csv"


def test_a_wrong_encoding_names_the_line_not_the_content(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_bytes("a,b\nok,1\nTräskända,2\n".encode("latin-1"))
    with pytest.raises(FeedError) as info:
        read_text(tmp_path / "c.csv", max_bytes=1000, what="census CSV")
    assert str(info.value) == ("census CSV 'c.csv' is not UTF-8 text: byte 0xe4 on line 3 cannot be "
                               "decoded; save the file as UTF-8")


def test_parser_errors_lose_their_quoted_content() -> None:
    err = ValueError("could not convert string to float: 'root:x:0:0:root:/root:/bin/bash'")
    assert describe_error(err) == "ValueError: could not convert string to float: '…'"


def test_data_dir_must_stay_in_the_scenario_folder_unless_a_root_allows_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home, shared = tmp_path / "project", tmp_path / "shared"
    (home / "data").mkdir(parents=True)
    shared.mkdir()
    (shared / "census.csv").write_text("hospital,ward_occupied,icu_occupied\n")
    assert ScenarioFiles.for_scenario("data", scenario_dir=home).root == (home / "data").resolve()
    with pytest.raises(ScenarioError, match=r"data_dir: '\.\./shared' lies outside the scenario's folder"):
        ScenarioFiles.for_scenario("../shared", scenario_dir=home)
    files = ScenarioFiles.for_scenario("../shared", scenario_dir=home, roots=[shared])
    assert files.resolve("census.csv", kind="census") == (shared / "census.csv").resolve()
    monkeypatch.setenv(limits.DATA_ROOT_ENV, os.pathsep.join(["", str(shared)]))
    assert ScenarioFiles.for_scenario(str(shared), scenario_dir=home).root == shared.resolve()


def test_every_reference_kind_has_its_own_size_limit(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_bytes(b"x" * (limits.MAX_CENSUS_CSV_BYTES + 1))
    files = ScenarioFiles(tmp_path)
    with pytest.raises(ScenarioError, match=r"census CSV 'c.csv' is 16 MiB; such files are limited to 16 MiB"):
        files.resolve("c.csv", path="census_csv", kind="census")
    assert files.resolve("c.csv", kind="ais") == (tmp_path / "c.csv").resolve()
    with pytest.raises(ScenarioError, match="without control characters"):
        files.resolve("a\x00b.csv")


# ------------------------------------------------------------------------------- YAML --
def test_alias_expansion_is_counted_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    # mapping 1, key a 1, list 1 + 3 items, key b 1, list 1, two aliases of 4 nodes each: 16
    text = "a: &a [1, 2, 3]\nb: [*a, *a]\n"
    monkeypatch.setattr(safe_yaml, "MAX_YAML_NODES", 16)
    safe_yaml.scan_yaml(text, None)
    monkeypatch.setattr(safe_yaml, "MAX_YAML_NODES", 15)
    with pytest.raises(ScenarioError, match=r"<scenario>:2:9: the YAML expands to more than 15 nodes"):
        safe_yaml.scan_yaml(text, None)


def test_nesting_is_counted_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(safe_yaml, "MAX_YAML_DEPTH", 3)
    safe_yaml.scan_yaml("a: [[1]]\n", None)
    with pytest.raises(ScenarioError, match=r"<scenario>:1:6: mappings and lists nest more than 3 deep"):
        safe_yaml.scan_yaml("a: [[[1]]]\n", None)


def test_yaml_1_2_numbers_and_overrides() -> None:
    assert safe_yaml.load_yaml("a: 1e9\nb: 3d\n", None) == {"a": 1e9, "b": "3d"}
    with pytest.raises(ScenarioError, match=r"override name=\.\.\.: YAML syntax error"):
        load_scenario(ROOT / "scenarios" / "hospital_surge.yaml", overrides=["name=[unclosed"])


def test_error_lines_cannot_be_broken_or_forged() -> None:
    rendered = Problem("no system 'a\x1eb'", "systems.a\u2028b").render("f.yaml")
    assert rendered == "f.yaml: systems.a\\u2028b: no system 'a\\x1eb'"
    assert len(rendered.splitlines()) == 1


# -------------------------------------------------------------------------- run size --
def _one_hospital(arrivals_per_day: float, horizon: str = "10d") -> dict:
    return {"twinworld": 1, "name": "h", "horizon": horizon, "systems": {"h": {
        "kind": "hospital_region",
        "hospitals": [{"name": "A", "ward_beds": 10, "arrivals_per_day": arrivals_per_day}]}}}


def test_the_run_estimate_counts_patients_and_hourly_snapshots() -> None:
    estimate = estimate_run(load_scenario(_one_hospital(10)))
    assert estimate.events == 5 * 10 * 10 + 240 * 1  # 5 events a patient, one snapshot an hour
    assert estimate.per_system == {"h": estimate.events} and estimate.strategy == "baseline"


def test_too_large_runs_are_refused_unless_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    huge = _one_hospital(1e6, horizon="3650d")
    with pytest.raises(ScenarioError, match=r"systems.h: one run would process about 1.8e\+10 events"):
        load_scenario(huge)
    assert load_scenario(huge, allow_large=True).systems["h"].hospitals[0].arrivals_per_day == 1e6
    monkeypatch.setenv(limits.ALLOW_LARGE_ENV, "1")
    assert work_problems(load_scenario(huge)) == []


@pytest.mark.parametrize("name", ["hospital_surge", "port_congestion", "port_strike", "heatwave_grid",
                                  "storm_cascade", "helsinki_evacuation"])
def test_bundled_scenarios_are_well_inside_the_limits(name: str) -> None:
    scenario = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    assert estimate_run(scenario).events < limits.MAX_RUN_EVENTS / 10


# --------------------------------------------------------------- validation is O(N) --
def _region(n: int) -> dict:
    hospitals = [{"name": f"H{i}", "ward_beds": 100, "arrivals_per_day": 20,
                  "location": [60 + i * 1e-4, 24.9]} for i in range(n)]
    return {"twinworld": 1, "name": "big", "horizon": "7d",
            "systems": {"h": {"kind": "hospital_region", "hospitals": hospitals}},
            "strategies": {"baseline": {}, "transfer": {"h": {"kind": "transfer"}}}}


def _peak_bytes(data: dict) -> int:
    """Peak traced memory of validating ``data``."""
    tracemalloc.start()
    try:
        load_scenario(data)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_validating_n_hospitals_takes_memory_linear_in_n() -> None:
    """4x the hospitals must take about 4x the memory (a travel matrix would take 16x)."""
    small, large = _peak_bytes(_region(1_000)), _peak_bytes(_region(4_000))
    assert 3.0 < large / small < 5.0, (small, large)


def test_lazy_travel_times_equal_the_full_matrix() -> None:
    config = HospitalRegionConfig.model_validate(_region(4)["systems"]["h"])
    times = TravelTimes(config)
    assert {a: times.row(a) for a in times.names} == travel_matrix_min(config)
    assert has_any_route(config)
    one = config.model_copy(update={"hospitals": [config.hospitals[0].model_copy(update={"location": None}),
                                                  *config.hospitals[1:2]]})
    assert not has_any_route(one)


def test_docs_show_every_limit_as_the_code_has_it() -> None:
    docs = (ROOT / "docs" / "limits.md").read_text(encoding="utf-8")
    assert limits.limits_table() in docs, "run: python -m twinworld.limits, paste into docs/limits.md"


def _supply(customers: int) -> dict:
    warehouses = max(1, customers // 10)
    wh = [{"name": f"W{i}", "sources": ["S"],
           "policy": {"kind": "s_S", "reorder_point_units": 5, "order_up_to_units": 10}} for i in range(warehouses)]
    cu = [{"name": f"C{i}", "demand_per_day": 0.01, "served_by": f"W{i % warehouses}"} for i in range(customers)]
    lanes = ([{"origin": "S", "destination": w["name"], "lead_time": "2d"} for w in wh]
             + [{"origin": f"W{i % warehouses}", "destination": f"C{i}", "lead_time": "1d"} for i in range(customers)])
    return {"twinworld": 1, "name": "net", "horizon": "1d",
            "systems": {"s": {"kind": "supply_network", "suppliers": [{"name": "S"}], "warehouses": wh,
                              "customers": cu, "lanes": lanes}}}


def test_validating_a_supply_network_takes_memory_linear_in_its_size() -> None:
    small, large = _peak_bytes(_supply(1_000)), _peak_bytes(_supply(4_000))
    assert 3.0 < large / small < 5.0, (small, large)


def test_stock_reaches_warehouses_through_echelons_but_not_round_a_cycle() -> None:
    policy = {"kind": "s_S", "reorder_point_units": 5, "order_up_to_units": 10}
    data = {"twinworld": 1, "name": "echelons", "horizon": "1d", "systems": {"s": {
        "kind": "supply_network", "suppliers": [{"name": "S"}],
        "warehouses": [{"name": "W1", "sources": ["S"], "policy": policy},
                       {"name": "W2", "sources": ["W1"], "policy": policy},
                       {"name": "W3", "sources": ["W4"], "policy": policy},
                       {"name": "W4", "sources": ["W3"], "policy": policy}],
        "customers": [{"name": "C2", "demand_per_day": 1, "served_by": "W2"},
                      {"name": "C3", "demand_per_day": 1, "served_by": "W3"}],
        "lanes": [{"origin": a, "destination": b, "lead_time": "1d"} for a, b in
                  [("S", "W1"), ("W1", "W2"), ("W2", "C2"), ("W3", "W4"), ("W4", "W3"), ("W3", "C3")]]}}}
    with pytest.raises(ScenarioError) as info:
        load_scenario(data)
    assert str(info.value) == ("<scenario>: systems.s.customers.1: customer 'C3' cannot be reached: it is "
                               "served by W3, which no supplier can reach over the lanes (valid: a lane "
                               "from a warehouse that a supplier reaches through lanes)")
