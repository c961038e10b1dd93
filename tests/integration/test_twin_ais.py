"""Live AIS: the bundled NMEA sample served over TCP (as AIS feeds are), decoded with pyais into the
port's state. Oracle: the file reader (twinworld.feeds.ais.read_ais_nmea) and port_calls on the
same sample: the stream must find the same positions, the same bad lines and the same calls."""

from __future__ import annotations

import socketserver
import threading
import time
from datetime import UTC, datetime

import pytest
import yaml

from tests.helpers import ROOT
from twinworld.feeds.ais import port_calls, read_ais_nmea
from twinworld.feeds.ais_stream import AISStreamReader
from twinworld.scenario import load_scenario
from twinworld.twin import LiveTwin, TwinOptions, TwinStore
from twinworld.twin.service import ais_pending

SAMPLE = ROOT / "scenarios" / "data" / "ais" / "kestrel_bay.nmea"
AREA = yaml.safe_load((ROOT / "scenarios" / "data" / "ais" / "kestrel_bay_port.yaml").read_text())


class _Feed(socketserver.BaseRequestHandler):
    """Serves the sample in small chunks (lines split across packets, as a real feed does), then
    holds the connection open while ``server.hold`` is set, else closes it."""

    def handle(self) -> None:
        data = SAMPLE.read_bytes()
        for start in range(0, len(data), 977):
            self.request.sendall(data[start:start + 977])
        while self.server.hold.is_set():  # type: ignore[attr-defined]
            time.sleep(0.05)


def _server(hold: bool):
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Feed)
    server.hold = threading.Event()  # type: ignore[attr-defined]
    if hold:
        server.hold.set()  # type: ignore[attr-defined]
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture()
def feed():
    server = _server(hold=True)
    yield server.server_address
    server.hold.clear()
    server.shutdown()
    server.server_close()


@pytest.fixture()
def dropping_feed():
    server = _server(hold=False)
    yield server.server_address
    server.shutdown()
    server.server_close()


def test_ais_over_tcp_fills_the_port_state_like_the_file_reader(feed) -> None:
    scenario = load_scenario(ROOT / "scenarios" / "port_congestion.yaml")
    twin = LiveTwin(scenario, TwinStore(":memory:"), TwinOptions())
    host, port = feed
    reader = AISStreamReader(host, port, lambda items: twin.ingest(
        ais_pending(items, prefix=twin.prefix, system="port", source=f"{host}:{port}"))).start()
    oracle = read_ais_nmea(SAMPLE)
    try:
        deadline = time.monotonic() + 60
        expected = len(oracle.positions) + oracle.quarantined
        while twin.store.counts()["received"] < expected and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        reader.stop()
    counts = twin.store.counts()
    assert counts["stored"] == len(oracle.positions) == 1740
    assert counts["quarantined"] == oracle.quarantined == 6 and counts["duplicates"] == 0
    bad = twin.store.quarantine()
    assert sorted(d.split(":")[1].strip() for d in bad["detail"]) == sorted(oracle.reasons())
    assert set(bad["reason"]) == {"malformed"} and set(bad["system"]) == {"port"}
    stored = twin.store.history("port", kind="vessel_position")
    assert stored["observed_at"].min() == oracle.positions["time"].min()
    assert stored["observed_at"].max() == oracle.positions["time"].max()
    tracker = twin.state.trackers["port"]
    calls = port_calls(oracle.positions, AREA["port_polygon"], berth_polygon=AREA["berth_polygon"])
    assert sorted(tracker.calls) == sorted(t.to_pydatetime() for t in calls["arrival"])
    end = oracle.positions["time"].max().to_pydatetime()
    state = twin.state.observed(end)["port"]
    present = tracker.present(end)
    at_quay = [t for t in present if t.at_quay]
    assert len(state.anchorage) == len(present) - min(len(at_quay), 3)
    assert sum(b.vessel is not None for b in state.berths.values()) == min(len(at_quay), 3)
    assert reader.health()["connects"] == 1 and reader.health()["errors"] == 0, reader.health()


def test_the_ais_reader_reconnects_after_the_feed_drops(dropping_feed) -> None:
    host, port = dropping_feed
    got: list = []
    reader = AISStreamReader(host, port, got.extend, reconnect_s=(0.1, 0.2)).start()
    try:
        deadline = time.monotonic() + 30
        while reader.connects < 2 and time.monotonic() < deadline:   # the server closes after each pass
            time.sleep(0.05)
    finally:
        reader.stop()
    assert reader.connects >= 2
    reports = [i for i in got if i.report is not None]
    assert len(reports) >= 1740 and all(i.received_at <= datetime.now(UTC) for i in reports)
