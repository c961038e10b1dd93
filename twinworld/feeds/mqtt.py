"""Live telemetry over MQTT (paho-mqtt 2): bed census messages in, recommendations out.

Topics under a prefix (default ``twinworld/<system>``):

- ``<prefix>/census/<hospital>`` — JSON ``{"ward_occupied": 312, "icu_occupied": 22}`` (optional
  ``"time"``); the latest message per hospital forms the twin's current state.
- ``<prefix>/recommendation`` — published by the twin (retained): the ranked strategies.

A message that does not parse or validate is quarantined (kept with its reason) and counted, never
fatal and never silently dropped.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import paho.mqtt.client as mqtt

from twinworld.errors import FeedError

__all__ = ["CensusReading", "Quarantined", "CensusSubscriber", "parse_census", "publish_json"]


@dataclass(frozen=True)
class CensusReading:
    hospital: str
    ward_occupied: int
    icu_occupied: int
    received_s: float


@dataclass(frozen=True)
class Quarantined:
    topic: str
    payload: str
    reason: str


def parse_census(topic: str, payload: bytes, *, prefix: str, hospitals: set[str]) -> CensusReading:
    """Turn one census message into a reading, or raise ValueError saying what is wrong."""
    if not topic.startswith(f"{prefix}/census/"):
        raise ValueError(f"unexpected topic {topic!r}")
    hospital = topic.rsplit("/", 1)[-1]
    if hospital not in hospitals:
        raise ValueError(f"unknown hospital {hospital!r} (known: {', '.join(sorted(hospitals))})")
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"not JSON: {err}") from err
    if not isinstance(data, dict):
        raise ValueError("payload must be a JSON object")
    counts = {}
    for key in ("ward_occupied", "icu_occupied"):
        value = data.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{key} must be a whole number >= 0, got {value!r}")
        counts[key] = value
    return CensusReading(hospital, counts["ward_occupied"], counts["icu_occupied"], time.time())


@dataclass
class CensusSubscriber:
    """Keeps the latest census per hospital from an MQTT broker, quarantining bad messages.

    Parameters
    ----------
    host, port
        The broker (tests use a mosquitto on 127.0.0.1).
    prefix
        Topic prefix; the subscriber listens to ``<prefix>/census/+``.
    hospitals
        Names the scenario knows.
    """

    host: str
    port: int
    prefix: str
    hospitals: set[str]
    latest: dict[str, CensusReading] = field(default_factory=dict)
    quarantine: list[Quarantined] = field(default_factory=list)
    received: int = 0
    on_reading: Callable[[CensusReading], None] | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"twinworld-{id(self):x}")
        self.client.on_connect = self._connected
        self.client.on_message = self._message
        self.client.on_subscribe = lambda *_args: self._ready.set()

    def start(self, timeout_s: float = 10.0) -> "CensusSubscriber":
        try:
            self.client.connect(self.host, self.port, keepalive=30)
        except OSError as err:
            raise FeedError(f"cannot reach MQTT broker {self.host}:{self.port}: {err}") from err
        self.client.loop_start()
        if not self._ready.wait(timeout_s):
            self.stop()
            raise FeedError(f"MQTT broker {self.host}:{self.port} did not confirm the subscription")
        return self

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()

    def _connected(self, client: mqtt.Client, _userdata: Any, _flags: Any, reason_code: Any,
                   _properties: Any) -> None:
        if not reason_code.is_failure:
            client.subscribe(f"{self.prefix}/census/+", qos=1)

    def _message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.received += 1
            try:
                reading = parse_census(message.topic, message.payload, prefix=self.prefix,
                                       hospitals=self.hospitals)
            except ValueError as err:
                excerpt = message.payload[:200].decode("utf-8", "replace")
                self.quarantine.append(Quarantined(message.topic, excerpt, str(err)))
                return
            self.latest[reading.hospital] = reading
        if self.on_reading is not None:
            self.on_reading(reading)

    def snapshot(self) -> dict[str, CensusReading]:
        with self._lock:
            return dict(self.latest)


def publish_json(host: str, port: int, topic: str, payload: Any, *, retain: bool = False,
                 timeout_s: float = 10.0) -> None:
    """Publish one JSON message and wait until the broker has it (QoS 1)."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    try:
        client.connect(host, port, keepalive=30)
    except OSError as err:
        raise FeedError(f"cannot reach MQTT broker {host}:{port}: {err}") from err
    client.loop_start()
    try:
        info = client.publish(topic, json.dumps(payload) if not isinstance(payload, (bytes, str)) else payload,
                              qos=1, retain=retain)
        info.wait_for_publish(timeout_s)
    finally:
        client.loop_stop()
        client.disconnect()
