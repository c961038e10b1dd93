"""The twin without a broker: the bundled recording replayed deterministically, a twin resumed from
its store doing exactly what an uninterrupted one does, the telemetry schemas, bad options."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import jsonschema
import pytest

from tests.helpers import ROOT, run_cli
from twinworld.scenario import load_scenario
from twinworld.twin import FilterOptions, ForecastOptions, LiveTwin, TwinOptions, TwinStore
from twinworld.twin.replay import read_replay, replay, write_replay
from twinworld.twin.synthetic import simulate_truth

STORM = ROOT / "scenarios" / "storm_cascade.yaml"
SYNTHETIC = ROOT / "tests" / "data" / "twin" / "synthetic_surge.yaml"
T0 = datetime(2026, 3, 2, tzinfo=UTC)
FAST = ["--particles", "3", "--filter-particles", "300", "--horizon", "6h", "--executor", "inprocess"]


def test_the_bundled_day_replays_the_same_way_twice(tmp_path) -> None:
    runs = []
    for k in range(2):
        store = tmp_path / f"twin{k}.duckdb"
        result = run_cli("twin", str(STORM), "--replay", "telemetry/storm_surge_day.jsonl", "--every", "12h",
                         "--store", str(store), *FAST)
        assert result.returncode == 0, result.stdout + result.stderr
        with TwinStore(store, read_only=True) as db:
            runs.append((db.counts(), [r["recommendation"] for r in db.rounds().to_dict("records")]))
    (counts, rounds), (counts2, rounds2) = runs
    assert counts == counts2 == {"received": 295, "stored": 290, "quarantined": 4, "duplicates": 1,
                                 "by_reason": {"malformed": 1, "non_finite": 1, "out_of_range": 1,
                                               "unknown_element": 1}}
    strip = [{k: v for k, v in r.items() if k != "wall_s"} for r in rounds]
    assert strip == [{k: v for k, v in r.items() if k != "wall_s"} for r in rounds2]
    assert [r["scenario_time_h"] for r in rounds] == [12.0, 24.0]
    assert "storm_injuries.multiplier" in rounds[-1]["posterior"] and "coupling0.backup_h" in rounds[-1]["prior_only"]
    assert "recommended:" in result.stdout and "quarantined" in result.stdout


def test_a_twin_resumed_from_its_store_does_what_an_uninterrupted_one_does(tmp_path) -> None:
    scenario = load_scenario(SYNTHETIC)
    truth = simulate_truth(scenario, {"hospitals.hospitals.Central.arrivals_per_day": 95.0, "surge.start": 6.0,
                                      "surge.duration": 100.0, "surge.multiplier": 1.5}, seed=3, t0=T0, hours=18)
    first_half = [r for r in truth.records if r["time"] <= "2026-03-02T06:00:00Z"]
    write_replay(truth.records, tmp_path / "all.jsonl")
    write_replay(first_half, tmp_path / "first.jsonl")
    write_replay([r for r in truth.records if r not in first_half], tmp_path / "second.jsonl")
    options = TwinOptions(t0=T0, filter=FilterOptions(particles=400, seed=2),
                          forecast=ForecastOptions(horizon_h=6.0, particles=3))
    with TwinStore(tmp_path / "whole.duckdb") as db:
        whole = replay(LiveTwin(scenario, db, options), tmp_path / "all.jsonl", every_h=6.0)
    with TwinStore(tmp_path / "parts.duckdb") as db:
        assert len(replay(LiveTwin(scenario, db, options), tmp_path / "first.jsonl", every_h=6.0)) == 1
    with TwinStore(tmp_path / "parts.duckdb") as db:          # a new process, as after a crash
        resumed = LiveTwin(scenario, db, options)
        assert resumed.rounds_done == 1 and resumed.clock.t0 == T0
        later = replay(resumed, tmp_path / "second.jsonl", every_h=6.0)
        counts = db.counts()
    assert counts["stored"] == len(truth.records) and len(whole) == 3
    drop = ("wall_s",)
    assert [{k: v for k, v in r.items() if k not in drop} for r in whole[1:]] == \
           [{k: v for k, v in r.items() if k not in drop} for r in later]


def test_telemetry_schemas_accept_what_the_guard_accepts() -> None:
    result = run_cli("schema", "--telemetry")
    assert result.returncode == 0, result.stderr
    schemas = json.loads(result.stdout)
    assert {"hospital_region", "port", "supply_network", "road_network", "power_grid"} <= set(schemas)
    hospital = schemas["hospital_region"]
    good = {"ward_occupied": 312, "icu_occupied": 22, "time": "2026-03-02T06:00:00Z", "id": "a1"}
    jsonschema.validate(good, hospital["elements"]["hospital"]["schema"])
    for bad in ({"ward_occupied": -1}, {"ward_occupied": 3, "note": "x"}, {"ward_occupied": "3"}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, hospital["elements"]["hospital"]["schema"])
    jsonschema.validate({"kind": "line_tripped", "line": "L5"}, schemas["power_grid"]["events"]["line_tripped"])
    assert set(schemas["power_grid"]["elements"]) == {"bus", "line", "generator"}
    assert schemas["topics"]["recommendation"] == "<prefix>/twin/recommendation"


def test_replay_lines_that_are_not_records_are_quarantined_with_their_line(tmp_path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"time": "2026-03-02T00:00:00Z", "topic": "x", "payload": {}}\n\nnot json\n'
                     + b'{"time": "yesterday", "topic": "x", "payload": {}}\n' + b"[" * 70_000 + b"\n")
    lines = list(read_replay(path))
    assert [item.line for item in lines] == [1, 3, 4, 5]
    assert lines[0].time == T0 and lines[0].pending.verdict is None
    reasons = [(item.pending.verdict.reason.value, item.pending.verdict.detail.split(":")[0]) for item in lines[1:]]
    assert reasons == [("malformed", "replay line 3"), ("malformed", "replay line 4"), ("too_large", "replay line 5")]


@pytest.mark.parametrize("args, message", [
    (["--replay", "../../etc/passwd"], "leaves the scenario's data folder"),
    (["--replay", "telemetry/nope.jsonl"], "not found"),
    (["--every", "soon", "--replay", "telemetry/storm_surge_day.jsonl"], "--every 'soon'"),
    (["--every", "0h", "--replay", "telemetry/storm_surge_day.jsonl"], "--every must be a positive duration"),
    (["--t0", "2026-03-02", "--replay", "telemetry/storm_surge_day.jsonl"], "--t0 '2026-03-02'"),
    (["--horizon", "-3h", "--replay", "telemetry/storm_surge_day.jsonl"], "--horizon must be a positive"),
    (["--broker", "nowhere", "--rounds", "1"], "broker 'nowhere' is not HOST:PORT"),
    (["--executor", "gpu", "--replay", "telemetry/storm_surge_day.jsonl"], "unknown executor 'gpu'"),
])
def test_bad_twin_options_are_one_line_errors(tmp_path, args, message) -> None:
    result = run_cli("twin", str(STORM), "--store", str(tmp_path / "t.duckdb"), *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_store_of_another_scenario_is_refused(tmp_path) -> None:
    store = tmp_path / "t.duckdb"
    with TwinStore(store) as db:
        LiveTwin(load_scenario(SYNTHETIC), db, TwinOptions(t0=T0))
    result = run_cli("twin", str(STORM), "--store", str(store), "--replay", "telemetry/storm_surge_day.jsonl", *FAST)
    assert result.returncode == 2 and "belongs to scenario 'Synthetic surge'" in result.stderr
