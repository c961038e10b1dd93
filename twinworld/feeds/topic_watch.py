"""Watch every topic under a prefix on an MQTT broker (paho-mqtt 2), surviving a broker that is down.

Unlike :class:`twinworld.feeds.mqtt.CensusSubscriber`, which a twin needs to start, a watcher
never raises when the broker cannot be reached: it keeps retrying in the background and says what
is wrong in :attr:`TopicWatcher.status`, so a dashboard can show it and recover by itself when the
broker comes back.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt

__all__ = ["TopicWatcher", "Delivery"]


@dataclass(frozen=True)
class Delivery:
    """One message as received: topic, raw payload, wall-clock receive time, retained flag."""

    topic: str
    payload: bytes
    received_s: float
    retained: bool


class TopicWatcher:
    """Subscribe to ``<prefix>/#`` and hand every message to ``on_message``.

    Parameters
    ----------
    host, port
        The broker.
    prefix
        Topic prefix (``twinworld``).
    on_message
        Called from the network thread with each :class:`Delivery`.
    """

    def __init__(self, host: str, port: int, prefix: str, on_message: Callable[[Delivery], None]) -> None:
        self.host, self.port, self.prefix = host, port, prefix.rstrip("/")
        self.on_message = on_message
        self.status = f"connecting to {host}:{port}"
        self.connected = False
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"twinworld-dash-{id(self):x}")
        self.client.reconnect_delay_set(min_delay=1, max_delay=5)
        self.client.on_connect = self._connected
        self.client.on_connect_fail = self._failed
        self.client.on_disconnect = self._disconnected
        self.client.on_message = self._message

    def start(self) -> "TopicWatcher":
        """Connect in the background (returns at once, whether or not the broker is up)."""
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _set(self, connected: bool, status: str) -> None:
        with self._lock:
            self.connected, self.status = connected, status

    def _connected(self, client: mqtt.Client, _userdata: object, _flags: object, reason_code: object,
                   _properties: object) -> None:
        if getattr(reason_code, "is_failure", False):
            self._set(False, f"broker {self.host}:{self.port} refused the connection: {reason_code}")
            return
        client.subscribe(f"{self.prefix}/#", qos=1)
        self._set(True, f"connected to {self.host}:{self.port}, listening on {self.prefix}/#")

    def _failed(self, _client: mqtt.Client, _userdata: object) -> None:
        self._set(False, f"cannot reach MQTT broker {self.host}:{self.port} ({self._reason()}); "
                         "retrying every few seconds")

    def _disconnected(self, _client: mqtt.Client, _userdata: object, _flags: object, reason_code: object,
                      _properties: object) -> None:
        self._set(False, f"lost the MQTT broker {self.host}:{self.port} ({reason_code}); reconnecting")

    def _reason(self) -> str:
        """Why a TCP connection fails now (the callback itself is not told)."""
        try:
            with socket.create_connection((self.host, self.port), timeout=2.0):
                return "it accepted TCP but not MQTT"
        except OSError as err:
            return err.strerror or str(err)

    def _message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        self.on_message(Delivery(message.topic, bytes(message.payload), time.time(), bool(message.retain)))
