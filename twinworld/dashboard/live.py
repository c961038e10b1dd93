"""The live twin as the dashboard sees it: the latest state per system from the twin's telemetry.

The dashboard reads the topics of ``twinworld twin`` (see :mod:`twinworld.twin.topics`)::

    <prefix>/<system>/state[/<element>]   observable state, checked against the scenario's contract
    <prefix>/<system>/event               events (line tripped, road closed, admissions ...)
    <prefix>/twin/recommendation          the twin's ranked strategies, posterior and ESS (retained)
    <prefix>/twin/status                  the twin's health and message counts (retained)

With a scenario, ``<prefix>`` defaults to the twin's own (``twinworld/<scenario slug>``) and every
message is checked by the twin's guard (:func:`twinworld.twin.guard.check_message`), so the page
quarantines exactly what the twin quarantines. Without one it watches ``twinworld/+`` (any
scenario) and checks only that a payload is a small JSON object. A ``+`` in the prefix matches one
topic level.

Hospital states (a census per hospital, or a region snapshot with ``hospitals``) feed the census
chart; every other state is kept as the latest JSON per topic.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from twinworld.twin.guard import Limits, Rejection, parse_json
from twinworld.twin.topics import RECOMMENDATION, STATUS, Topic, parse_topic

__all__ = ["LiveState", "LiveSnapshot", "start_live", "ANY_SCENARIO"]

ANY_SCENARIO = "twinworld/+"
_CENSUS = ("ward_occupied", "icu_occupied", "boarding_ward", "boarding_icu")


@dataclass
class LiveSnapshot:
    """A consistent copy of the live state for one page update."""

    version: int
    status: str
    connected: bool
    received: int
    quarantined: int
    census: dict[str, dict[str, dict[str, Any]]]
    recommendation: dict[str, Any] | None
    twin_status: dict[str, Any] | None
    topics: dict[str, dict[str, Any]]
    log: list[dict[str, Any]]
    quarantine: list[dict[str, Any]]

    @property
    def systems(self) -> set[str]:
        """Systems that have sent state or events."""
        return set(self.census) | {v["system"] for v in self.topics.values()}


@dataclass
class LiveState:
    """Folds MQTT deliveries into the current state (thread-safe).

    Parameters
    ----------
    prefix
        The twin's topic prefix; ``+`` matches any one level (``twinworld/+``: any scenario).
    telemetry
        The scenario's telemetry contract (:func:`twinworld.twin.channels.telemetry_for`), or None
        to accept any system and element.
    """

    prefix: str = ANY_SCENARIO
    telemetry: Any = None
    watcher: Any = None
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        self.prefix = self.prefix.rstrip("/")
        self._levels = self.prefix.split("/")
        self._lock = threading.Lock()
        self.version = 0
        self.received = 0
        self.quarantined = 0
        self.census: dict[str, dict[str, dict[str, Any]]] = {}
        self.recommendation: dict[str, Any] | None = None
        self.twin_status: dict[str, Any] | None = None
        self.topics: dict[str, dict[str, Any]] = {}
        self.log: deque[dict[str, Any]] = deque(maxlen=40)
        self.quarantine: deque[dict[str, Any]] = deque(maxlen=40)

    @property
    def subscription(self) -> str:
        return f"{self.prefix}/#"

    def accept(self, delivery: Any) -> None:
        """Fold one :class:`~twinworld.feeds.topic_watch.Delivery` into the state."""
        with self._lock:
            self.received += 1
            self.version += 1
            excerpt = delivery.payload[:160].decode("utf-8", "replace")
            entry = {"time_s": delivery.received_s, "topic": delivery.topic, "payload": excerpt}
            try:
                entry["status"] = self._route(delivery)
            except ValueError as err:
                self.quarantined += 1
                self.quarantine.append({**entry, "reason": str(err)})
                entry["status"] = "quarantined"
            self.log.append(entry)

    def _split(self, topic: str) -> tuple[str, str]:
        """``(the concrete prefix, the rest)`` of a topic, or ValueError when it is not under ours."""
        parts = topic.split("/")
        head = parts[:len(self._levels)]
        if len(parts) <= len(self._levels) or any(w not in ("+", p) for w, p in zip(self._levels, head)):
            raise ValueError(f"topic {topic[:80]!r} is not under {self.prefix!r}")
        return "/".join(head), "/".join(parts[len(self._levels):])

    def _route(self, delivery: Any) -> str:
        prefix, rest = self._split(delivery.topic)
        if rest in (RECOMMENDATION, STATUS):
            data = parse_json(delivery.payload, self.limits)
            if not isinstance(data, dict):
                raise ValueError(f"{rest} must be a JSON object")
            if rest == STATUS:
                self.twin_status = {**data, "time_s": delivery.received_s}
                return "twin status"
            if not isinstance(data.get("strategies"), list):
                raise ValueError("a recommendation must be a JSON object with a 'strategies' list")
            self.recommendation = {**data, "time_s": delivery.received_s}
            return "recommendation"
        system, channel, element, kind, body = self._check(delivery, prefix)
        if channel == "event":
            self.topics[f"{delivery.topic} ({kind})"] = {"system": system, "data": body,
                                                         "time_s": delivery.received_s}
            return f"event {kind}"
        self._fold_state(system, element, body, delivery)
        return "ok"

    def _check(self, delivery: Any, prefix: str) -> tuple[str, str, str, str, dict[str, Any]]:
        if self.telemetry is not None:
            from twinworld.twin.guard import check_message

            checked = check_message(delivery.topic, delivery.payload, self.telemetry, prefix=prefix,
                                    received_at=datetime.now(UTC), limits=self.limits)
            if isinstance(checked, Rejection):
                raise ValueError(f"{checked.reason}: {checked.detail}")
            return checked.system, checked.channel, checked.element, checked.kind, checked.body
        topic = parse_topic(delivery.topic, prefix)
        if not isinstance(topic, Topic):
            raise ValueError(topic)
        data = parse_json(delivery.payload, self.limits)
        if not isinstance(data, dict):
            raise ValueError(f"payload must be a JSON object, not {type(data).__name__}")
        body = {k: v for k, v in data.items() if k not in ("time", "id")}
        return topic.system, topic.channel, topic.element, str(body.get("kind", "state")), body

    def _fold_state(self, system: str, element: str, body: dict[str, Any], delivery: Any) -> None:
        hospitals = body.get("hospitals") if not element else None
        if isinstance(hospitals, dict):
            for name, part in hospitals.items():
                if isinstance(part, dict):
                    self._census(system, str(name), part, delivery.received_s)
            return
        if element and any(k in body for k in _CENSUS):
            self._census(system, element, body, delivery.received_s)
            return
        self.topics[delivery.topic] = {"system": system, "data": body, "time_s": delivery.received_s}

    def _census(self, system: str, hospital: str, part: dict[str, Any], time_s: float) -> None:
        known = self.census.setdefault(system, {}).setdefault(hospital, dict.fromkeys(_CENSUS, 0))
        known.update({k: part[k] for k in _CENSUS if k in part})
        known["time_s"] = time_s

    def snapshot(self) -> LiveSnapshot:
        with self._lock:
            watcher = self.watcher
            return LiveSnapshot(
                self.version, watcher.status if watcher else "no twin broker given (--twin HOST:PORT)",
                bool(watcher and watcher.connected), self.received, self.quarantined,
                {s: {h: dict(c) for h, c in hs.items()} for s, hs in self.census.items()},
                dict(self.recommendation) if self.recommendation else None,
                dict(self.twin_status) if self.twin_status else None,
                dict(self.topics), list(self.log), list(self.quarantine))


def live_prefix(scenario: Any, given: str | None) -> str:
    """The prefix to watch: the one given, else the twin's default for the scenario, else any."""
    if given:
        return given.rstrip("/")
    if scenario is not None:
        from twinworld.twin.topics import default_prefix

        return default_prefix(scenario.name)
    return ANY_SCENARIO


def start_live(host: str, port: int, *, prefix: str, telemetry: Any = None) -> LiveState:
    """Start watching ``<prefix>/#`` on the broker; never raises when the broker is down."""
    from twinworld.feeds.topic_watch import TopicWatcher

    state = LiveState(prefix=prefix, telemetry=telemetry)
    state.watcher = TopicWatcher(host, port, state.prefix, state.accept).start()
    return state
