"""Running a live twin against the world: MQTT telemetry and AIS in, recommendations out.

:func:`serve` wires a :class:`~twinworld.twin.live.LiveTwin` to a
:class:`~twinworld.feeds.mqtt.Subscriber` (per-system topics) and optionally an
:class:`~twinworld.feeds.ais_stream.AISStreamReader`, runs a round every ``every_s`` seconds, and
publishes the recommendation and the twin's status (both retained). The loop supervises the feed
threads, survives a broker that goes away at any moment (messages wait in the broker's session,
recommendations in the client's queue), and never lets a failed round end the twin: the error is
counted and published in the status, and the next round tries again.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from twinworld.errors import TwinworldError
from twinworld.feeds.ais_stream import AISItem, AISStreamReader
from twinworld.feeds.mqtt import Broker, Delivery, Subscriber
from twinworld.twin.guard import Reason, Rejection
from twinworld.twin.live import LiveTwin, Pending
from twinworld.twin.store import Received
from twinworld.twin.topics import EVENT, RECOMMENDATION, STATUS, subscriptions

__all__ = ["ServiceOptions", "serve", "ais_pending", "mqtt_pending"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceOptions:
    """How the live twin runs.

    Parameters
    ----------
    broker
        The MQTT broker (telemetry in, recommendations out).
    client_id
        The MQTT session id (the same id resumes the same session after a restart).
    ais
        An AIS NMEA-over-TCP source ``(host, port)``, and ``ais_system`` the port it feeds.
    every_s
        Seconds between rounds (the first after ``every_s``).
    rounds
        Stop after this many rounds (0: run until stopped).
    idle_exit_s
        Stop after this many seconds without a new message (0: never).
    status_every_s
        Seconds between status messages.
    """

    broker: Broker
    client_id: str
    ais: tuple[str, int] | None = None
    ais_system: str | None = None
    every_s: float = 300.0
    rounds: int = 0
    idle_exit_s: float = 0.0
    status_every_s: float = 5.0


def mqtt_pending(deliveries: list[Delivery]) -> list[Pending]:
    return [Pending(Received(d.topic, d.payload, d.received_at, "mqtt"), ack=d.ack) for d in deliveries]


def ais_pending(items: list[AISItem], *, prefix: str, system: str, source: str) -> list[Pending]:
    """AIS reports as events of ``system``; bad lines quarantined with their reason."""
    out = []
    for item in items:
        if item.report is not None:
            received = Received(f"{prefix}/{system}/{EVENT}", json.dumps(item.report).encode(), item.received_at, "ais")
            out.append(Pending(received))
        elif item.reason:
            received = Received(f"ais://{source}", item.raw.encode("utf-8", "replace"), item.received_at, "ais")
            out.append(Pending(received, verdict=Rejection(Reason.MALFORMED, f"AIS: {item.reason}", system)))
    return out


class _Loop:
    def __init__(self, twin: LiveTwin, options: ServiceOptions) -> None:
        self.twin, self.options = twin, options
        self.subscriber = Subscriber(options.broker, subscriptions(twin.prefix),
                                     lambda batch: twin.ingest(mqtt_pending(batch)), client_id=options.client_id)
        self.reader: AISStreamReader | None = None
        if options.ais is not None:
            system = options.ais_system or _port_system(twin)
            source = f"{options.ais[0]}:{options.ais[1]}"
            self.reader = AISStreamReader(*options.ais, lambda items: twin.ingest(
                ais_pending(items, prefix=twin.prefix, system=system, source=source)))
        self.round_errors = 0
        self.last_error = ""

    def status(self) -> dict[str, Any]:
        status = {"time": datetime.now(UTC).isoformat(), "round": self.twin.rounds_done,
                  "messages": self.twin.store.counts(), "mqtt": self.subscriber.health(),
                  "round_errors": self.round_errors, "last_round_error": self.last_error}
        if self.reader is not None:
            status["ais"] = self.reader.health()
        return status

    def round(self, on_round: Callable[[dict[str, Any]], None] | None) -> int:
        """One round, published; 1 if it succeeded, 0 if it failed (counted, reported)."""
        try:
            payload = self.twin.round(datetime.now(UTC))
        except Exception as err:
            self.round_errors += 1
            self.last_error = f"{type(err).__name__}: {err}"
            log.warning("round failed: %s", self.last_error)
            return 0
        self.subscriber.publish(f"{self.twin.prefix}/{RECOMMENDATION}", payload, retain=True)
        if on_round is not None:
            on_round(payload)
        return 1


def _port_system(twin: LiveTwin) -> str:
    ports = [n for n, c in twin.scenario.systems.items() if c.kind == "port"]
    if len(ports) != 1:
        raise TwinworldError(f"--ais needs the port system it feeds: the scenario has {len(ports)} "
                             f"port systems ({', '.join(ports) or 'none'}); name one with --ais-system")
    return ports[0]


def serve(twin: LiveTwin, options: ServiceOptions, *, stop: threading.Event | None = None,
          on_round: Callable[[dict[str, Any]], None] | None = None,
          on_status: Callable[[dict[str, Any]], None] | None = None) -> None:
    """Run the twin until ``stop`` is set, ``rounds`` rounds are done, or it has been idle."""
    stop = stop or threading.Event()
    loop = _Loop(twin, options)
    loop.subscriber.start()
    if loop.reader is not None:
        loop.reader.start()
    next_round = time.monotonic() + options.every_s
    next_status = time.monotonic()
    last_count, last_change = -1, time.monotonic()
    done = 0
    try:
        while not stop.wait(0.2):
            now = time.monotonic()
            loop.subscriber.supervise()
            if loop.reader is not None:
                loop.reader.supervise()
            received = loop.subscriber.health_.received + (loop.reader.lines if loop.reader else 0)
            if received != last_count:
                last_count, last_change = received, now
            if now >= next_status:
                status = loop.status()
                loop.subscriber.publish(f"{twin.prefix}/{STATUS}", status, retain=True)
                if on_status is not None:
                    on_status(status)
                next_status = now + options.status_every_s
            if now >= next_round and twin.clock is not None:
                done += loop.round(on_round)
                next_round = time.monotonic() + options.every_s
                if options.rounds and done >= options.rounds:
                    break
            if (options.idle_exit_s and now - last_change >= options.idle_exit_s
                    and loop.subscriber.health()["queued"] == 0):
                break
    finally:
        if loop.reader is not None:
            loop.reader.stop()
        loop.subscriber.publish(f"{twin.prefix}/{STATUS}", loop.status(), retain=True)
        loop.subscriber.stop()
