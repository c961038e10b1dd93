"""MQTT transport (paho-mqtt 2, MQTT v5): a subscriber that loses nothing and never dies silently.

:class:`Subscriber` keeps a persistent session (fixed client id, ``clean_start=False``, a session
expiry) and subscribes with QoS 1, so the broker keeps what arrives while the subscriber is away
and redelivers what it has not acknowledged. Messages are acknowledged by hand, only after the
consumer's ``handle`` returned for their batch (the twin commits them to its store first): a
process killed at any moment loses no message, and a message redelivered after a crash or a
reconnect is seen again and must be deduplicated by the consumer.

Two threads: paho's network thread (reconnects with exponential backoff by itself) and a worker
that hands the queue to ``handle`` in batches. The worker catches everything: a batch whose
``handle`` raised is kept and retried after a pause, with the error counted and kept in
:meth:`Subscriber.health`; :meth:`Subscriber.supervise` restarts a thread that has died (and says so).
Acknowledgements of messages received on an earlier connection are not sent (their packet ids
may belong to other messages now): the broker redelivers those.
"""

from __future__ import annotations

import functools
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from twinworld.errors import FeedError

__all__ = ["Broker", "Delivery", "Subscriber", "publish_json", "connect_publisher", "CensusReading",
           "parse_census"]

log = logging.getLogger(__name__)


def _not_the_last_turn(record: logging.LogRecord) -> bool:
    """paho logs an error for its network loop's last turn after a disconnect: not an error."""
    return not str(record.msg).startswith("Client is not connected")


# paho's messages go to a child of this module's logger, without that one false alarm
_paho_log = logging.getLogger(f"{__name__}.paho")
_paho_log.addFilter(_not_the_last_turn)


@dataclass(frozen=True)
class Broker:
    """An MQTT broker address."""

    host: str
    port: int

    @classmethod
    def parse(cls, address: str) -> "Broker":
        """``"HOST:PORT"`` -> Broker, or a FeedError naming what is valid."""
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise FeedError(f"broker {address!r} is not HOST:PORT (e.g. 127.0.0.1:1883)")
        return cls(host, int(port))

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Delivery:
    """One message as the subscriber hands it on; call ``ack`` once it is safely kept."""

    topic: str
    payload: bytes
    received_at: datetime
    ack: Callable[[], None]
    retained: bool = False
    redelivered: bool = False


@dataclass
class _Health:
    connected: bool = False
    connects: int = 0
    received: int = 0
    handled: int = 0
    acked: int = 0
    ack_skipped: int = 0
    errors: int = 0
    restarts: int = 0
    last_error: str = ""
    errors_log: list[str] = field(default_factory=list)


class Subscriber:
    """A QoS 1 subscriber on a persistent MQTT v5 session, acknowledging after ``handle``.

    Parameters
    ----------
    broker
        Where to connect.
    topics
        Topic filters to subscribe to.
    handle
        Called from the worker thread with a batch of :class:`Delivery`; when it returns, the
        batch's messages are acknowledged (its ``ack`` callbacks are for the consumer to call).
    client_id
        The session's id: the same id resumes the same session (and its unacknowledged messages).
    session_expiry_s
        How long the broker keeps the session while the subscriber is away.
    batch, flush_s
        Largest batch, and the longest a message waits for its batch to fill.
    reconnect_s
        Smallest and largest pause between reconnection attempts (doubling in between).
    """

    def __init__(self, broker: Broker, topics: list[str], handle: Callable[[list[Delivery]], object], *,
                 client_id: str, session_expiry_s: int = 7 * 24 * 3600, batch: int = 500,
                 flush_s: float = 0.05, reconnect_s: tuple[float, float] = (0.5, 30.0),
                 keepalive_s: int = 30) -> None:
        self.broker, self.topics, self.handle = broker, list(topics), handle
        self.client_id, self.session_expiry_s = client_id, session_expiry_s
        self.batch, self.flush_s, self.keepalive_s = batch, flush_s, keepalive_s
        self.health_ = _Health()
        self._queue: queue.Queue[tuple[mqtt.MQTTMessage, int, datetime]] = queue.Queue()
        self._generation = 0
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self._worker: threading.Thread | None = None
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv5, manual_ack=True)
        self.client.suppress_exceptions = True   # a callback's error is logged and counted, never fatal
        self.client.enable_logger(_paho_log)
        self.client.reconnect_delay_set(max(1, int(reconnect_s[0])), int(reconnect_s[1]))
        self.client.max_queued_messages_set(0)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message

    # ----------------------------------------------------------------------- lifecycle --
    def start(self) -> "Subscriber":
        """Connect in the background (retrying until the broker answers) and start the threads."""
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self.session_expiry_s
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=self.keepalive_s,
                                  clean_start=False, properties=properties)
        self.client.loop_start()
        self._start_worker()
        return self

    def wait_subscribed(self, timeout_s: float) -> bool:
        """Wait until the first subscription is confirmed."""
        return self._subscribed.wait(timeout_s)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Hand on what is queued, then disconnect (the session stays for the next start)."""
        deadline = time.monotonic() + timeout_s
        while not self._queue.empty() and time.monotonic() < deadline and self._alive(self._worker):
            time.sleep(0.02)
        self._stop.set()
        if self._worker is not None:
            self._worker.join(max(0.1, deadline - time.monotonic()))
        self.client.disconnect()
        self.client.loop_stop()

    # ----------------------------------------------------------------------- callbacks --
    def _on_connect(self, client: mqtt.Client, _userdata: Any, flags: Any, reason_code: Any, _props: Any) -> None:
        if reason_code.is_failure:
            self._error(f"broker refused the connection: {reason_code}")
            return
        self._generation += 1
        self.health_.connected = True
        self.health_.connects += 1
        self._connected.set()
        options = SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB)
        client.subscribe([(topic, options) for topic in self.topics])

    def _on_disconnect(self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason_code: Any,
                       _props: Any) -> None:
        self.health_.connected = False
        self._connected.clear()
        if not self._stop.is_set():
            self._error(f"lost the broker {self.broker} ({reason_code}); reconnecting")

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            self.health_.received += 1
            self._queue.put((message, self._generation, datetime.now(UTC)))
        except Exception as err:
            self._error(f"could not queue a message: {err!r}")

    def _error(self, text: str) -> None:
        self.health_.errors += 1
        self.health_.last_error = text
        self.health_.errors_log = (self.health_.errors_log + [text])[-20:]
        log.warning(text)

    # -------------------------------------------------------------------------- worker --
    def _start_worker(self) -> None:
        self._worker = threading.Thread(target=self._work, name="twinworld-mqtt-worker", daemon=True)
        self._worker.start()

    def _take(self) -> list[tuple[mqtt.MQTTMessage, int, datetime]]:
        try:
            items = [self._queue.get(timeout=0.2)]
        except queue.Empty:
            return []
        deadline = time.monotonic() + self.flush_s
        while len(items) < self.batch:
            try:
                items.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                break
        return items

    def _ack(self, message: mqtt.MQTTMessage, generation: int) -> None:
        if generation != self._generation or not self.health_.connected:
            self.health_.ack_skipped += 1     # an old connection's packet id: the broker redelivers
            return
        self.client.ack(message.mid, message.qos)
        self.health_.acked += 1

    def _work(self) -> None:
        pause = 0.1
        items: list[tuple[mqtt.MQTTMessage, int, datetime]] = []
        while not (self._stop.is_set() and not items and self._queue.empty()):
            try:
                items = items or self._take()
                if not items:
                    continue
                deliveries = [Delivery(m.topic, bytes(m.payload), at, functools.partial(self._ack, m, g),
                                       bool(m.retain), bool(m.dup)) for m, g, at in items]
                self.handle(deliveries)
                self.health_.handled += len(items)
                items, pause = [], 0.1
            except Exception as err:
                self._error(f"handling a batch of {len(items)} failed: {type(err).__name__}: {err}")
                time.sleep(pause)
                pause = min(pause * 2, 5.0)

    # ---------------------------------------------------------------------- supervision --
    @staticmethod
    def _alive(thread: threading.Thread | None) -> bool:
        return thread is not None and thread.is_alive()

    def supervise(self) -> None:
        """Restart a thread that has died, and record that it did (call every few seconds)."""
        if self._stop.is_set():
            return
        if not self._alive(self._worker):
            self.health_.restarts += 1
            self._error("the MQTT worker thread had stopped; restarted")
            self._start_worker()
        # paho keeps its network thread in Client._thread (None once it has ended)
        if not self._alive(getattr(self.client, "_thread", None)):
            self.health_.restarts += 1
            self._error("the MQTT network thread had stopped; restarted")
            self.client.loop_start()

    def health(self) -> dict[str, Any]:
        """Connection, counts (received, handled, acknowledged), errors and thread restarts."""
        h = self.health_
        return {"broker": str(self.broker), "connected": h.connected, "connects": h.connects,
                "received": h.received, "handled": h.handled, "acked": h.acked, "ack_skipped": h.ack_skipped,
                "queued": self._queue.qsize(), "errors": h.errors, "restarts": h.restarts,
                "last_error": h.last_error, "worker_alive": self._alive(self._worker),
                "network_alive": self._alive(getattr(self.client, "_thread", None))}

    def publish(self, topic: str, payload: Any, *, retain: bool = False) -> mqtt.MQTTMessageInfo:
        """Publish JSON (QoS 1) on this session; while the broker is away it waits in the queue."""
        text = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
        return self.client.publish(topic, text, qos=1, retain=retain)


def connect_publisher(broker: Broker, *, client_id: str = "", timeout_s: float = 10.0,
                      inflight: int = 100) -> mqtt.Client:
    """A connected publishing client with its network thread running (tests, tools)."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(inflight)
    client.max_queued_messages_set(0)
    connected = threading.Event()
    client.on_connect = lambda *_: connected.set()
    try:
        client.connect(broker.host, broker.port, keepalive=30)
    except OSError as err:
        raise FeedError(f"cannot reach MQTT broker {broker}: {err}") from err
    client.loop_start()
    if not connected.wait(timeout_s):
        client.loop_stop()
        raise FeedError(f"MQTT broker {broker} did not accept the connection")
    return client


def publish_json(host: str, port: int, topic: str, payload: Any, *, retain: bool = False,
                 timeout_s: float = 10.0) -> None:
    """Publish one message (JSON, or bytes as they are) and wait until the broker has it (QoS 1)."""
    client = connect_publisher(Broker(host, port), timeout_s=timeout_s)
    try:
        data = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
        client.publish(topic, data, qos=1, retain=retain).wait_for_publish(timeout_s)
    finally:
        client.disconnect()
        client.loop_stop()


# -------------------------------------------------------------- the hospital census topic --
@dataclass(frozen=True)
class CensusReading:
    """One hospital's census from the hospital-only twin's topic ``<prefix>/census/<hospital>``."""

    hospital: str
    ward_occupied: int
    icu_occupied: int
    received_s: float


def parse_census(topic: str, payload: bytes, *, prefix: str, hospitals: set[str]) -> CensusReading:
    """Read one ``<prefix>/census/<hospital>`` message, or raise ValueError saying what is wrong.

    The live twin now takes a hospital's census on ``<prefix>/<system>/state/<hospital>`` (see
    docs/twin.md); this reader of the earlier topic stays for the dashboard's live view.
    """
    if not topic.startswith(f"{prefix}/census/"):
        raise ValueError(f"unexpected topic {topic!r}")
    hospital = topic.rsplit("/", 1)[-1]
    if hospital not in hospitals:
        raise ValueError(f"unknown hospital {hospital!r} (known: {', '.join(sorted(hospitals))})")
    if len(payload) > 64 * 1024:
        raise ValueError(f"payload of {len(payload):,} bytes; at most 65,536")
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise ValueError(f"not JSON: {str(err)[:120]}") from err
    if not isinstance(data, dict):
        raise ValueError("payload must be a JSON object")
    counts = {}
    for key in ("ward_occupied", "icu_occupied"):
        value = data.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{key} must be a whole number >= 0, got {value!r}")
        counts[key] = value
    return CensusReading(hospital, counts["ward_occupied"], counts["icu_occupied"], time.time())
