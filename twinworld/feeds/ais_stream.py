"""Live AIS: NMEA 0183 sentences over TCP, as AIS feeds serve them, decoded with pyais.

:class:`AISStreamReader` connects to a TCP server (an AIS receiver, a feed provider, or a test's
replay server), reads lines, reassembles multi-part messages and decodes them with pyais exactly
as :func:`twinworld.feeds.ais.read_ais_nmea` reads a file: position reports with a receiver
timestamp (``\\c:<unix seconds>`` tag block) become :class:`AISItem` reports; lines that are not
NMEA, fail their checksum or do not decode become quarantined items with the reason. A dropped
connection is retried with exponential backoff; nothing here raises out of the reader's thread.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from twinworld.feeds.ais import _LineGate, _take_message

__all__ = ["AISItem", "AISStreamReader"]

MAX_LINE_BYTES = 1024   # an NMEA sentence is at most 82 characters; tag blocks add a little
FRAGMENT_TIMEOUT_S = 5.0  # the parts of a multi-part message come together; later is never


@dataclass(frozen=True)
class AISItem:
    """One decoded position report (``report``), or a bad line (``reason``), as received."""

    raw: str
    received_at: datetime
    report: dict[str, Any] | None = None
    reason: str = ""


class AISStreamReader:
    """Reads AIS from ``host:port`` in a thread and hands items to ``on_items`` as they decode.

    Parameters
    ----------
    host, port
        The TCP server serving NMEA lines.
    on_items
        Called (from the reader's thread) with batches of items: at most ``batch`` of them, at most
        ``flush_s`` after the first was read.
    reconnect_s
        Smallest and largest pause between connection attempts.
    """

    def __init__(self, host: str, port: int, on_items: Callable[[list[AISItem]], object], *,
                 reconnect_s: tuple[float, float] = (0.2, 30.0), batch: int = 500, flush_s: float = 0.2) -> None:
        self.host, self.port, self.on_items, self.reconnect_s = host, port, on_items, reconnect_s
        self.batch, self.flush_s = batch, flush_s
        self._buffer: list[AISItem] = []
        self._first = 0.0
        self._gate: _LineGate | None = None
        self._fragment_seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._names: dict[int, str] = {}
        self.lines = self.reports = self.bad = self.connects = self.errors = 0
        self.connected = False
        self.last_error = ""

    def start(self) -> "AISStreamReader":
        self._thread = threading.Thread(target=self._run, name="twinworld-ais", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def supervise(self) -> None:
        """Restart the reader thread if it has died (it should not), recording that it did."""
        if not self._stop.is_set() and (self._thread is None or not self._thread.is_alive()):
            self._failed("the AIS reader thread had stopped; restarted")
            self.start()

    def health(self) -> dict[str, Any]:
        return {"source": f"{self.host}:{self.port}", "connected": self.connected, "connects": self.connects,
                "lines": self.lines, "reports": self.reports, "bad": self.bad, "errors": self.errors,
                "last_error": self.last_error}

    def _failed(self, text: str) -> None:
        self.errors += 1
        self.last_error = text

    # ------------------------------------------------------------------------- reading --
    def _run(self) -> None:
        pause = self.reconnect_s[0]
        while not self._stop.is_set():
            try:
                with socket.create_connection((self.host, self.port), timeout=5.0) as sock:
                    sock.settimeout(0.5)
                    self.connected, pause = True, self.reconnect_s[0]
                    self.connects += 1
                    self._read(sock)
            except OSError as err:
                self._failed(f"AIS feed {self.host}:{self.port}: {err}")
            except Exception as err:
                self._failed(f"AIS reader: {type(err).__name__}: {err}")
            self.connected = False
            try:
                self._flush()
            except Exception as err:
                self._failed(f"AIS reader: {type(err).__name__}: {err}")
            if self._stop.wait(pause):
                return
            pause = min(pause * 2, self.reconnect_s[1])

    def _lines(self, sock: socket.socket, gate: _LineGate, short: list[tuple[str, datetime]]) -> Iterator[bytes]:
        partial = b""
        while not self._stop.is_set():
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                self._flush()
                continue
            if not chunk:
                return
            lines = (partial + chunk).split(b"\n")
            partial = lines.pop()
            if len(partial) > MAX_LINE_BYTES:
                short.append((partial[:80].decode("ascii", "replace") + "...", datetime.now(UTC)))
                partial = b""
            for line in lines:
                self.lines += 1
                if len(line.strip()) <= 10:
                    if line.strip():
                        short.append((line.decode("ascii", "replace").strip(), datetime.now(UTC)))
                    continue
                processed = gate.process(line + b"\n")
                if gate.current in gate.fragments:
                    self._fragment_seen[gate.current] = time.monotonic()
                yield processed

    def _read(self, sock: socket.socket) -> None:
        from pyais.stream import IterMessages

        gate = self._gate = _LineGate(itertools.count(1))   # type: ignore[arg-type]
        self._fragment_seen.clear()
        short: list[tuple[str, datetime]] = []
        for message in IterMessages(self._lines(sock, gate, short)):
            now = datetime.now(UTC)
            items = self._bad_items(gate, short, now)
            if message.frag_cnt > 1:
                gate.used(message.frag_cnt, message.seq_id)
            items.append(self._decode(message, gate.current_raw, now))
            self._hand_on(items)
        self._hand_on(self._bad_items(gate, short, datetime.now(UTC)) + self._orphans(0.0))
        self._flush()

    def _orphans(self, older_than_s: float) -> list[AISItem]:
        """Fragments whose other parts have not come for ``older_than_s`` seconds: quarantined."""
        gate, now = self._gate, time.monotonic()
        if gate is None:
            return []
        stale = [n for n in gate.fragments if now - self._fragment_seen.get(n, now) >= older_than_s]
        stamp = datetime.now(UTC)
        items = [AISItem(gate.fragments.pop(n)[1], stamp, reason="incomplete multi-part message: the other "
                                                                  "fragment(s) never arrived") for n in stale]
        self._fragment_seen = {n: t for n, t in self._fragment_seen.items() if n in gate.fragments}
        self.bad += len(items)
        return items

    def _hand_on(self, items: list[AISItem]) -> None:
        if items and not self._buffer:
            self._first = time.monotonic()
        self._buffer += items
        if len(self._buffer) >= self.batch or (self._buffer and time.monotonic() - self._first >= self.flush_s):
            self._flush()

    def _flush(self) -> None:
        self._buffer += self._orphans(FRAGMENT_TIMEOUT_S)
        if self._buffer:
            items, self._buffer = self._buffer, []
            self.on_items(items)

    def _bad_items(self, gate: _LineGate, short: list[tuple[str, datetime]], now: datetime) -> list[AISItem]:
        items = [AISItem(raw, now, reason=reason) for _, reason, raw in gate.bad]
        items += [AISItem(raw, at, reason="too short to be an NMEA sentence") for raw, at in short]
        gate.bad.clear()
        short.clear()
        self.bad += len(items)
        return items

    def _decode(self, message: Any, raw: str, now: datetime) -> AISItem:
        try:
            decoded = message.decode().asdict()
        except Exception as err:
            self.bad += 1
            return AISItem(raw, now, reason=f"undecodable payload: {type(err).__name__}: {err}")
        if decoded.get("msg_type") in (5, 24) and decoded.get("shipname"):
            self._names[int(decoded["mmsi"])] = str(decoded["shipname"]).strip()
        positions: list[dict[str, Any]] = []
        reason = _take_message(decoded, message, positions, {}, 0)
        if reason:
            self.bad += 1
            return AISItem(raw, now, reason=reason)
        if not positions:
            return AISItem(raw, now)   # a static or other report: nothing to store as a position
        p = positions[0]
        self.reports += 1
        report = {"kind": "vessel_position", "mmsi": int(p["mmsi"]), "lat": p["lat"], "lon": p["lon"],
                  "sog_kn": p["sog_kn"], "time": p["time"].isoformat()}
        if p["mmsi"] in self._names:
            report["name"] = self._names[p["mmsi"]]
        return AISItem(raw, now, report)
