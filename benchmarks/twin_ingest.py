"""Live-twin ingest: messages per second, against a plain MQTT subscriber on the same broker.

A mosquitto broker on loopback (started here), a publisher sending N QoS 1 census messages (one in
ten bad: NaN, too deep, negative, not JSON) as fast as the broker takes them, and:

1. the twin: ``twinworld.feeds.mqtt.Subscriber`` (persistent session, manual acknowledgements
   after the commit) into a ``LiveTwin`` over a DuckDB file (every message checked, stored or
   quarantined, folded into the state);
2. the peer: a bare paho-mqtt QoS 1 subscriber that only counts messages (automatic acks, no checks,
   nothing kept);
3. the twin's ingest alone, without a broker: ``LiveTwin.ingest`` in batches of 500.

The clock of 1 and 2 runs from the first publish to the last message counted. Prints messages per
second and the ratio twin / peer, with the load average (the machine is shared).

Run: ``PYTHONPATH=. python benchmarks/twin_ingest.py [--messages 20000]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt  # noqa: E402

from tests.mosquitto import Mosquitto  # noqa: E402
from twinworld.feeds.mqtt import Broker, Subscriber, connect_publisher  # noqa: E402
from twinworld.scenario import load_scenario  # noqa: E402
from twinworld.twin import LiveTwin, TwinOptions, TwinStore  # noqa: E402
from twinworld.twin.live import Pending  # noqa: E402
from twinworld.twin.service import mqtt_pending  # noqa: E402
from twinworld.twin.store import Received  # noqa: E402
from twinworld.twin.topics import subscriptions  # noqa: E402

T0 = datetime(2026, 3, 2, tzinfo=UTC)
HOSPITALS = ["Central", "Harbour", "Northside", "Eastgate", "Lakeside"]


def messages(prefix: str, count: int) -> list[tuple[str, bytes]]:
    out = []
    for i in range(count):
        hospital = HOSPITALS[i % 5]
        if i % 10 == 9:
            payload = [b'{"ward_occupied": NaN, "n": %d}' % i, b"[" * 40 + b"%d" % i,
                       b'{"ward_occupied": -%d}' % (i + 1), b"not json %d" % i][(i // 10) % 4]
        else:
            payload = json.dumps({"ward_occupied": i % 400, "icu_occupied": i % 30, "id": f"m{i}",
                                  "time": (T0 + timedelta(seconds=i)).isoformat()}).encode()
        out.append((f"{prefix}/hospitals/state/{hospital}", payload))
    return out


def publish(server: Mosquitto, batch: list[tuple[str, bytes]]) -> None:
    """Publish everything with QoS 1 and stay connected until the broker has acknowledged it all."""
    client = connect_publisher(Broker.parse(server.address), inflight=1000)
    acked: set[int] = set()
    client.on_publish = lambda _c, _u, mid, _rc, _p: acked.add(mid)
    mids = {client.publish(topic, payload, qos=1).mid for topic, payload in batch}
    deadline = time.monotonic() + 300
    while not acked >= mids and time.monotonic() < deadline:
        time.sleep(0.05)
    client.disconnect()
    client.loop_stop()


def twin_over_mqtt(server: Mosquitto, batch: list, folder: Path) -> float:
    scenario = load_scenario(ROOT / "scenarios" / "hospital_surge.yaml")
    twin = LiveTwin(scenario, TwinStore(folder / "twin.duckdb"), TwinOptions(t0=T0))
    subscriber = Subscriber(Broker.parse(server.address), subscriptions(twin.prefix),
                            lambda items: twin.ingest(mqtt_pending(items)), client_id="bench-twin").start()
    subscriber.wait_subscribed(10)
    started = time.perf_counter()
    threading.Thread(target=publish, args=(server, batch), daemon=True).start()
    deadline = time.monotonic() + 600
    while subscriber.health()["handled"] < len(batch):   # handled = stored or quarantined, committed
        if time.monotonic() > deadline:
            raise SystemExit(f"the twin handled {subscriber.health()['handled']} of {len(batch)} messages")
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    subscriber.stop()
    counts = twin.store.counts()
    assert counts["stored"] + counts["quarantined"] == len(batch), counts
    return elapsed


def plain_subscriber(server: Mosquitto, batch: list, prefix: str) -> float:
    count = [0]
    ready = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-plain", protocol=mqtt.MQTTv5)
    client.on_connect = lambda c, *_: c.subscribe(f"{prefix}/#", qos=1)
    client.on_subscribe = lambda *_: ready.set()
    client.on_message = lambda *_: count.__setitem__(0, count[0] + 1)
    client.connect("127.0.0.1", server.port)
    client.loop_start()
    ready.wait(10)
    started = time.perf_counter()
    threading.Thread(target=publish, args=(server, batch), daemon=True).start()
    deadline = time.monotonic() + 300
    while count[0] < len(batch):
        if time.monotonic() > deadline:
            raise SystemExit(f"the plain subscriber got {count[0]} of {len(batch)} messages")
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return elapsed


def ingest_only(batch: list, folder: Path) -> float:
    scenario = load_scenario(ROOT / "scenarios" / "hospital_surge.yaml")
    twin = LiveTwin(scenario, TwinStore(folder / "direct.duckdb"), TwinOptions(t0=T0))
    received = [Pending(Received(t, p, T0 + timedelta(hours=12))) for t, p in batch]
    started = time.perf_counter()
    for k in range(0, len(received), 500):
        twin.ingest(received[k:k + 500])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    args = parser.parse_args()
    from twinworld.twin.topics import default_prefix

    prefix = default_prefix(load_scenario(ROOT / "scenarios" / "hospital_surge.yaml").name)
    batch = messages(prefix, args.messages)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        server = Mosquitto(folder / "broker").start()
        try:
            peer = plain_subscriber(server, batch, prefix)
            twin = twin_over_mqtt(server, batch, folder)
        finally:
            server.stop()
        direct = ingest_only(batch, folder)
    n = len(batch)
    print(f"load average {os.getloadavg()[0]:.2f} (1 min)")
    print(f"{n} messages (10% bad), QoS 1 over mosquitto on loopback")
    print(f"  plain paho subscriber (count only): {n / peer:,.0f} msg/s ({peer:.2f} s)")
    print(f"  twinworld twin (check, store, fold, ack after commit): {n / twin:,.0f} msg/s ({twin:.2f} s)")
    print(f"  ratio twin / plain: {peer / twin:.2f}")
    print(f"  twin ingest alone, no broker (batches of 500): {n / direct:,.0f} msg/s ({direct:.2f} s)")


if __name__ == "__main__":
    main()
