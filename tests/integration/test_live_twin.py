"""The live twin against a real mosquitto broker on loopback."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from tests.helpers import ROOT, run_cli
from twinworld.experiments.twin import LiveTwin
from twinworld.feeds.mqtt import CensusSubscriber, publish_json
from twinworld.scenario import load_scenario

pytestmark = pytest.mark.mqtt
MOSQUITTO = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
SCENARIO = ROOT / "scenarios" / "hospital_surge.yaml"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def broker(tmp_path: Path):
    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    port = free_port()
    config = tmp_path / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    process = subprocess.Popen([MOSQUITTO, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(100):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    else:
        process.kill()
        pytest.fail("mosquitto did not start")
    yield "127.0.0.1", port
    process.terminate()
    process.wait(timeout=10)


def test_subscriber_keeps_latest_and_quarantines_bad_messages(broker) -> None:
    host, port = broker
    sub = CensusSubscriber(host, port, "tw/h", {"A", "B"}).start()
    try:
        publish_json(host, port, "tw/h/census/A", {"ward_occupied": 10, "icu_occupied": 1})
        publish_json(host, port, "tw/h/census/A", {"ward_occupied": 12, "icu_occupied": 2})
        publish_json(host, port, "tw/h/census/B", b"{not json")
        publish_json(host, port, "tw/h/census/Z", {"ward_occupied": 1})
        publish_json(host, port, "tw/h/census/B", {"ward_occupied": -3})
        deadline = time.monotonic() + 10
        while sub.received < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        sub.stop()
    assert sub.received == 5
    assert sub.snapshot()["A"].ward_occupied == 12 and "B" not in sub.snapshot()
    reasons = [q.reason for q in sub.quarantine]
    assert len(reasons) == 3
    assert any("not JSON" in r for r in reasons)
    assert any("unknown hospital 'Z'" in r for r in reasons)
    assert any("ward_occupied must be a whole number >= 0" in r for r in reasons)


def test_forecast_starts_from_the_live_census() -> None:
    twin = LiveTwin(load_scenario(SCENARIO))
    quiet = twin.forecast(samples=3, seed=1)
    spec = twin.scenario.systems["hospitals"].hospitals
    for h in spec:
        twin.update(h.name, h.ward_beds, h.icu_beds)       # every bed taken right now
    full = twin.forecast(samples=3, seed=1)
    worst = lambda rec: rec.table.set_index("strategy").loc["baseline", "mean"]  # noqa: E731
    assert worst(full) > worst(quiet)
    assert set(full.table["strategy"]) == set(twin.scenario.strategies)
    assert full.recommended == full.table.iloc[0]["strategy"]


def test_twin_command_publishes_a_recommendation(broker) -> None:
    host, port = broker
    for name, ward in [("Central", 400), ("Harbour", 270), ("Northside", 290), ("Eastgate", 140), ("Lakeside", 150)]:
        publish_json(host, port, f"twinworld/hospitals/census/{name}", {"ward_occupied": ward, "icu_occupied": 10},
                     retain=True)
    publish_json(host, port, "twinworld/hospitals/census/Central", b"garbage", retain=False)
    got: list[dict] = []
    ready = threading.Event()
    listener = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    listener.on_connect = lambda c, *_: c.subscribe("twinworld/hospitals/recommendation", qos=1)
    listener.on_subscribe = lambda *_: ready.set()
    listener.on_message = lambda _c, _u, m: got.append(json.loads(m.payload))
    listener.connect(host, port)
    listener.loop_start()
    try:
        assert ready.wait(10)
        result = run_cli("twin", str(SCENARIO), "--broker", f"{host}:{port}", "--rounds", "1",
                         "--samples", "2", "--wait", "10", timeout=300)
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        listener.loop_stop()
        listener.disconnect()
    assert result.returncode == 0, result.stderr
    assert "recommended:" in result.stdout
    assert got, "no recommendation was published"
    message = got[-1]
    assert message["recommended"] in {"baseline", "surge_beds", "cancel_electives", "transfer", "combined"}
    assert message["census"]["Central"] == [400, 10]
    assert message["primary"] == "patients_turned_away"
    assert len(message["strategies"]) == 5
