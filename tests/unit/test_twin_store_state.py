"""The twin's store (dedupe, latest state, resume) and the state folded from it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tests.helpers import ROOT
from twinworld.scenario import load_scenario
from twinworld.twin.channels import telemetry_for
from twinworld.twin.guard import Message, check_message
from twinworld.twin.state import TwinState
from twinworld.twin.store import Outcome, Received, TwinStore

PREFIX = "twinworld/t"
T0 = datetime(2026, 3, 2, tzinfo=UTC)


@pytest.fixture(scope="module")
def telemetry():
    return telemetry_for(load_scenario(ROOT / "scenarios" / "storm_cascade.yaml"))


def outcome(telemetry, topic: str, body: dict | bytes, *, hour: float = 12.0) -> Outcome:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    received = Received(f"{PREFIX}/{topic}", payload, T0 + timedelta(hours=hour))
    return Outcome(received, check_message(received.topic, payload, telemetry, prefix=PREFIX,
                                           received_at=received.received_at))


def test_a_redelivered_message_is_stored_once_and_counted_as_a_duplicate(telemetry) -> None:
    store = TwinStore(":memory:")
    a = outcome(telemetry, "hospitals/state/Central", {"ward_occupied": 300, "id": "m1"})
    same_id = outcome(telemetry, "hospitals/state/Central", {"ward_occupied": 301, "id": "m1"})
    b = outcome(telemetry, "hospitals/state/Central", {"ward_occupied": 300})
    first = store.record([a, b, b])
    second = store.record([same_id, b])
    assert (len(first.stored), first.duplicates) == (2, 1)
    assert (len(second.stored), second.duplicates) == (0, 2)
    assert store.counts() == {"received": 5, "stored": 2, "quarantined": 0, "duplicates": 3, "by_reason": {}}
    assert [seq for seq, _ in first.stored] == [0, 1]


def test_latest_keeps_the_newest_observation_whatever_order_it_arrives_in(telemetry) -> None:
    store = TwinStore(":memory:")
    new = outcome(telemetry, "hospitals/state/Central", {"ward_occupied": 320, "time": "2026-03-02T06:00:00Z"})
    old = outcome(telemetry, "hospitals/state/Central", {"ward_occupied": 290, "time": "2026-03-02T05:00:00Z"})
    store.record([new])
    store.record([old])
    latest = store.latest()
    assert len(latest) == 1 and json.loads(latest.iloc[0]["body"]) == {"ward_occupied": 320}
    history = store.history("hospitals")
    assert list(history["observed_at"].dt.hour) == [5, 6]      # the history keeps both, by observation time


def test_a_store_reopened_from_its_file_has_everything(tmp_path, telemetry) -> None:
    path = tmp_path / "twin.duckdb"
    with TwinStore(path) as store:
        store.record([outcome(telemetry, "grid/event", {"kind": "line_tripped", "line": "L5"}),
                      outcome(telemetry, "grid/state/11", {"bus_load_mw": float("nan")}),
                      outcome(telemetry, "grid/state/11", b'{"bus_load_mw": NaN}')])
        store.set_meta(t0=T0.isoformat())
        store.save_round(1, T0, {"recommended": "baseline"}, {"z": np.arange(6.0).reshape(3, 2),
                                                              "names": np.asarray(["a", "b"])})
    with TwinStore(path) as store:
        # the two NaN messages are the same bytes: one quarantined, one duplicate
        assert store.counts() == {"received": 3, "stored": 1, "quarantined": 1, "duplicates": 1,
                                  "by_reason": {"non_finite": 1}}
        assert store.meta()["t0"] == T0.isoformat()
        number, stamp, arrays = store.last_round()
        assert (number, stamp) == (1, T0)
        assert arrays["z"].tolist() == [[0, 1], [2, 3], [4, 5]] and list(arrays["names"]) == ["a", "b"]
        assert store.rounds().iloc[0]["recommendation"] == {"recommended": "baseline"}
        store.record([outcome(telemetry, "grid/event", {"kind": "line_restored", "line": "L5"})])
        assert list(store.history()["seq"]) == [0, 2]     # numbering goes on after a restart


def test_the_state_folds_snapshots_elements_and_events_newest_last(telemetry) -> None:
    store = TwinStore(":memory:")
    state = TwinState(telemetry)
    batch = [
        outcome(telemetry, "hospitals/state", {"hospitals": {"Central": {"ward_occupied": 300, "icu_occupied": 20},
                                                             "Harbour": {"ward_occupied": 200}},
                                               "time": "2026-03-02T01:00:00Z"}),
        outcome(telemetry, "hospitals/state/Central", {"ward_occupied": 310, "time": "2026-03-02T02:00:00Z"}),
        outcome(telemetry, "hospitals/state/Harbour", {"ward_occupied": 150, "time": "2026-03-02T00:30:00Z"}),
        outcome(telemetry, "grid/event", {"kind": "line_tripped", "line": "L5", "time": "2026-03-02T01:00:00Z"}),
        outcome(telemetry, "grid/event", {"kind": "line_tripped", "line": "L7", "time": "2026-03-02T01:00:00Z"}),
        outcome(telemetry, "grid/event", {"kind": "line_restored", "line": "L5", "time": "2026-03-02T02:00:00Z"}),
        outcome(telemetry, "grid/state/L9", {"lines_out": True, "time": "2026-03-02T02:00:00Z"}),
        outcome(telemetry, "grid/state/11", {"bus_load_mw": 40.5, "time": "2026-03-02T02:00:00Z"}),
    ]
    for seq, item in store.record(batch).stored:
        state.take(item.result, seq)
    observed = state.observed(T0 + timedelta(hours=3))
    central, harbour = observed["hospitals"].hospitals["Central"], observed["hospitals"].hospitals["Harbour"]
    assert (central.ward_occupied, central.icu_occupied) == (310, 20)   # element patch keeps icu
    assert harbour.ward_occupied == 200                                 # older element message loses
    assert sorted(observed["grid"].lines_out) == ["L7", "L9"] and observed["grid"].bus_load_mw == {"11": 40.5}
    rebuilt = TwinState(telemetry)
    rebuilt.load(store.latest().to_dict("records"), [])
    assert rebuilt.observed(T0 + timedelta(hours=3)) == observed        # a restart folds the same state


def test_an_observed_state_starts_a_run_with_what_is_broken(telemetry) -> None:
    from twinworld.experiments.run import build_world
    from twinworld.scenario.uncertain import resolve, sample_values

    scenario = load_scenario(ROOT / "scenarios" / "storm_cascade.yaml")
    store, state = TwinStore(":memory:"), TwinState(telemetry)
    for seq, item in store.record([outcome(telemetry, "grid/event", {"kind": "line_tripped", "line": "L5"}),
                                   outcome(telemetry, "hospitals/state/Central", {"ward_occupied": 420})]).stored:
        assert isinstance(item.result, Message)
        state.take(item.result, seq)
    observed = state.observed(T0)
    quiet = scenario.model_copy(update={"disruptions": [], "horizon": 6.0})
    quiet._registry = scenario._registry
    world = build_world(resolve(quiet, sample_values(quiet, 1)), "baseline", 1, state=observed)
    world.run()
    assert world.systems["grid"].observe().lines_out == ["L5"]      # still out at the end: a fact
    assert world.systems["hospitals"].hospitals["Central"].counts["initial"] == 420
