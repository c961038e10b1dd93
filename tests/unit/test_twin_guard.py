"""The guard: every bad message of the corpus gets its reason; nothing can make it raise."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import ROOT
from twinworld.scenario import load_scenario
from twinworld.twin.channels import telemetry_for
from twinworld.twin.guard import Limits, Message, Reason, Rejection, check_message, deeper_than, json_depth
from twinworld.twin.store import Outcome, Received, TwinStore

CORPUS = ROOT / "tests" / "data" / "bad_telemetry"
CASES = yaml.safe_load((CORPUS / "cases.yaml").read_text())
PREFIX = "twinworld/test"
NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def telemetry():
    return telemetry_for(load_scenario(ROOT / "scenarios" / "storm_cascade.yaml"))


def payload_of(case: dict) -> bytes:
    if "file" in case:
        return (CORPUS / case["file"]).read_bytes()
    if "generate" in case:
        g = case["generate"]
        return (g.get("prefix", "") + g["repeat"] * g["times"] + g.get("suffix", "")).encode()
    return case["payload_text"].encode()


def check(telemetry, topic: str, payload: bytes):
    return check_message(f"{PREFIX}/{topic}", payload, telemetry, prefix=PREFIX, received_at=NOW)


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_bad_message_gets_its_reason(telemetry, name: str) -> None:
    case = CASES[name]
    result = check(telemetry, case["topic"], payload_of(case))
    assert isinstance(result, Rejection), f"{name} was accepted: {result}"
    assert result.reason == Reason(case["reason"]), f"{name}: {result.detail}"
    assert case["detail"] in result.detail, f"{name}: {result.detail!r}"
    assert "\n" not in result.detail and len(result.detail) < 400


def test_the_corpus_covers_every_reason_a_message_can_get() -> None:
    given = {Reason(c["reason"]) for c in CASES.values()}
    assert given == set(Reason) - {Reason.INTERNAL}


def test_the_whole_corpus_is_quarantined_and_counted_by_reason(telemetry) -> None:
    store = TwinStore(":memory:")
    outcomes = [Outcome(Received(f"{PREFIX}/{c['topic']}", payload_of(c), NOW),
                        check(telemetry, c["topic"], payload_of(c))) for c in CASES.values()]
    result = store.record(outcomes)
    counts = store.counts()
    assert (len(result.stored), len(result.quarantined), result.duplicates) == (0, len(CASES), 0)
    assert counts["received"] == counts["quarantined"] == len(CASES)
    assert counts["by_reason"] == dict(Counter(c["reason"] for c in CASES.values()))
    big = store.quarantine().set_index("reason").loc["too_large"]
    assert sorted(big["size_bytes"]) == [100_000, 1_048_576 + len('{"ward_occupied": 3, "pad": ""}')]
    assert set(big["excerpt"].str.len()) == {200}   # an excerpt is kept, never the megabyte


@pytest.mark.parametrize("topic, body, kind, element", [
    ("hospitals/state/Central", {"ward_occupied": 371, "icu_occupied": 30}, "element", "Central"),
    ("hospitals/state", {"hospitals": {"Central": {"ward_occupied": 371}}}, "state", ""),
    ("hospitals/event", {"kind": "admissions", "hospital": "Harbour", "count": 7, "hours": 1}, "admissions", "Harbour"),
    ("grid/state/11", {"bus_load_mw": 41.5}, "element", "11"),
    ("grid/state/L5", {"lines_out": True}, "element", "L5"),
    ("grid/event", {"kind": "line_tripped", "line": "L5"}, "line_tripped", "L5"),
    ("grid/state", {"lines_out": ["L5"], "bus_load_mw": {"11": 40.0}}, "state", ""),
])
def test_good_messages_are_accepted_with_their_element(telemetry, topic, body, kind, element) -> None:
    result = check(telemetry, topic, json.dumps({**body, "time": "2026-03-02T06:00:00Z", "id": "m1"}).encode())
    assert isinstance(result, Message), result
    assert (result.kind, result.element, result.message_id) == (kind, element, "m1")
    assert result.observed_at == datetime(2026, 3, 2, 6, tzinfo=UTC)
    assert "time" not in result.body and "id" not in result.body


def test_an_element_message_keeps_only_the_fields_it_sent(telemetry) -> None:
    result = check(telemetry, "hospitals/state/Central", b'{"ward_occupied": 300}')
    assert isinstance(result, Message) and result.body == {"ward_occupied": 300}


def test_depth_is_counted_on_the_raw_bytes_outside_strings() -> None:
    assert json_depth(b'{"a": [1, {"b": "[[[[{{{{"}]}', 16) == 3
    assert json_depth(b'"\\"[[[["', 16) == 0
    assert json_depth(b"[" * 1_000_000, 16) == 17       # stops counting past the limit
    assert not deeper_than(b'{"a": [1, {"b": "[[[[{{{{[[[[{{{{[[[[{{{{"}]}', 16)
    assert deeper_than(b'{"a":' * 17 + b"1" + b"}" * 17, 16) and not deeper_than(b'{"a":' * 16 + b"1", 16)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_no_bytes_make_the_guard_raise(payload: bytes) -> None:
    telemetry = _TELEMETRY()
    result = check_message(f"{PREFIX}/hospitals/state/Central", payload, telemetry, prefix=PREFIX,
                           received_at=NOW, limits=Limits(max_bytes=200))
    assert isinstance(result, (Message, Rejection))


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                     lambda inner: (st.lists(inner, max_size=4)
                                    | st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                     max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["ward_occupied", "icu_occupied", "boarding_ward", "kind", "time", "id",
                                        "hospital", "count", "hospitals", "x"]), _json, max_size=5),
       st.sampled_from(["hospitals/state/Central", "hospitals/state", "hospitals/event", "grid/state/11",
                        "grid/event", "grid/state"]))
def test_no_json_makes_the_guard_raise_and_accepted_bodies_are_valid(body: dict, topic: str) -> None:
    telemetry = _TELEMETRY()
    result = check_message(f"{PREFIX}/{topic}", json.dumps(body).encode(), telemetry, prefix=PREFIX, received_at=NOW)
    assert isinstance(result, (Message, Rejection))
    if isinstance(result, Message):
        json.dumps(result.body, allow_nan=False)    # what is stored is finite JSON


_CACHE: dict = {}


def _TELEMETRY():
    if "t" not in _CACHE:
        _CACHE["t"] = telemetry_for(load_scenario(ROOT / "scenarios" / "storm_cascade.yaml"))
    return _CACHE["t"]


def test_corpus_files_exist() -> None:
    assert Path(CORPUS / "not_utf8.bin").read_bytes().startswith(b'{"ward_occupied": \xff')
