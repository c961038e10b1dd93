"""The live twin as the dashboard sees it: the latest state per system from MQTT telemetry.

Topics are read as ``<prefix>/<system>/<what>[/<element>]``:

- ``<system>/census/<hospital>``: a bed census (validated as the twin validates it);
- ``<system>/recommendation``: the twin's ranked strategies (with intervals; a posterior and an
  effective sample size when the twin sends them);
- anything else: kept as the latest JSON per topic and shown per system, so the per-system state
  topics of a whole-region twin appear without changes here.

A message that does not decode or validate is quarantined with its reason and counted.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from twinworld.feeds.mqtt import parse_census

__all__ = ["LiveState", "LiveSnapshot", "start_live"]


@dataclass
class LiveSnapshot:
    """A consistent copy of the live state for one page update."""

    version: int
    status: str
    connected: bool
    received: int
    quarantined: int
    census: dict[str, dict[str, dict[str, Any]]]
    recommendations: dict[str, dict[str, Any]]
    topics: dict[str, dict[str, Any]]
    log: list[dict[str, Any]]
    quarantine: list[dict[str, Any]]


@dataclass
class LiveState:
    """Folds MQTT deliveries into the current state (thread-safe).

    Parameters
    ----------
    prefix
        Topic prefix (``twinworld``).
    hospitals
        Hospital-region system name -> its hospitals (from the scenario); census topics of other
        systems are accepted for any hospital name.
    """

    prefix: str = "twinworld"
    hospitals: dict[str, set[str]] = field(default_factory=dict)
    watcher: Any = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.version = 0
        self.received = 0
        self.census: dict[str, dict[str, dict[str, Any]]] = {}
        self.recommendations: dict[str, dict[str, Any]] = {}
        self.topics: dict[str, dict[str, Any]] = {}
        self.log: deque[dict[str, Any]] = deque(maxlen=40)
        self.quarantine: deque[dict[str, Any]] = deque(maxlen=40)
        self.quarantined = 0

    def accept(self, delivery: Any) -> None:
        """Fold one :class:`~twinworld.feeds.topic_watch.Delivery` into the state."""
        with self._lock:
            self.received += 1
            self.version += 1
            excerpt = delivery.payload[:160].decode("utf-8", "replace")
            entry = {"time_s": delivery.received_s, "topic": delivery.topic, "payload": excerpt}
            try:
                self._route(delivery)
                entry["status"] = "ok"
            except ValueError as err:
                self.quarantined += 1
                self.quarantine.append({**entry, "reason": str(err)})
                entry["status"] = "quarantined"
            self.log.append(entry)

    def _route(self, delivery: Any) -> None:
        parts = delivery.topic[len(self.prefix) + 1:].split("/") if delivery.topic.startswith(self.prefix + "/") \
            else delivery.topic.split("/")
        system = parts[0] if parts else ""
        what = parts[1] if len(parts) > 1 else ""
        if what == "census" and len(parts) == 3:
            known = self.hospitals.get(system) or {parts[2]}
            reading = parse_census(delivery.topic, delivery.payload, prefix=f"{self.prefix}/{system}",
                                   hospitals=known)
            self.census.setdefault(system, {})[reading.hospital] = {
                "ward_occupied": reading.ward_occupied, "icu_occupied": reading.icu_occupied,
                "time_s": delivery.received_s}
            return
        data = _json(delivery.payload)
        if what == "recommendation":
            if not isinstance(data, dict) or not isinstance(data.get("strategies"), list):
                raise ValueError("a recommendation must be a JSON object with a 'strategies' list")
            self.recommendations[system] = {**data, "time_s": delivery.received_s}
            return
        self.topics[delivery.topic] = {"system": system, "data": data, "time_s": delivery.received_s}

    def snapshot(self) -> LiveSnapshot:
        with self._lock:
            watcher = self.watcher
            return LiveSnapshot(
                self.version, watcher.status if watcher else "no twin broker given (--twin HOST:PORT)",
                bool(watcher and watcher.connected), self.received, self.quarantined,
                {s: dict(h) for s, h in self.census.items()}, dict(self.recommendations),
                dict(self.topics), list(self.log), list(self.quarantine))


def _json(payload: bytes) -> Any:
    try:
        return json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"not JSON: {err}") from err


def start_live(host: str, port: int, *, prefix: str, hospitals: dict[str, set[str]]) -> LiveState:
    """Start watching ``<prefix>/#`` on the broker; never raises when the broker is down."""
    from twinworld.feeds.topic_watch import TopicWatcher

    state = LiveState(prefix=prefix.rstrip("/"), hospitals=hospitals)
    state.watcher = TopicWatcher(host, port, state.prefix, state.accept).start()
    return state
