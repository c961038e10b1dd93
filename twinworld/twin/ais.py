"""AIS positions -> vessels at a port's anchorage and berths, and the port calls they make.

The same rules as :func:`twinworld.feeds.ais.port_calls`: a vessel is *in port* when it reports a
speed under ``speed_below_kn`` inside the port polygon, *at the quay* when that report is also inside
the berth polygon, and its in-port reports form one call until two of them are more than
``new_call_gap_h`` apart. A port's polygons come from its scenario section (``arrivals: {kind:
ais, port_polygon, berth_polygon}``), read from the scenario file because loading turns that section
into a fitted arrival process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from twinworld.feeds.ais import points_in_polygon
from twinworld.systems.base import ObservedState

__all__ = ["PortArea", "Track", "VesselTracker", "port_areas"]

LatLon = tuple[float, float]


@dataclass(frozen=True)
class PortArea:
    """Where a port is: its limits (with the anchorage) and its quay, as ``(lat, lon)`` polygons."""

    port_polygon: tuple[LatLon, ...]
    berth_polygon: tuple[LatLon, ...] | None = None
    speed_below_kn: float = 5.0
    new_call_gap_h: float = 24.0
    berths: tuple[str, ...] = ()
    berth_teu_per_h: float = 0.0

    def where(self, lat: float, lon: float, sog_kn: float) -> tuple[bool, bool]:
        """``(in port, at the quay)`` for one report."""
        if sog_kn >= self.speed_below_kn or not points_in_polygon([lat], [lon], self.port_polygon)[0]:
            return False, False
        at_quay = self.berth_polygon is not None and bool(points_in_polygon([lat], [lon], self.berth_polygon)[0])
        return True, at_quay


@dataclass
class Track:
    """What the twin knows of one vessel: its last report and its current call."""

    mmsi: int
    name: str
    last_seen: datetime
    in_port: bool = False
    at_quay: bool = False
    last_in_port: datetime | None = None
    call_since: datetime | None = None
    quay_since: datetime | None = None

    @property
    def label(self) -> str:
        return self.name or f"MMSI {self.mmsi}"


@dataclass
class VesselTracker:
    """Vessels of one port from their AIS reports, in time order; and the calls they started."""

    area: PortArea
    vessels: dict[int, Track] = field(default_factory=dict)
    calls: list[datetime] = field(default_factory=list)

    def update(self, report: dict[str, Any], at: datetime) -> None:
        """Take one ``vessel_position`` body observed at ``at`` (older than the last one: ignored)."""
        mmsi = int(report["mmsi"])
        track = self.vessels.get(mmsi)
        if track is not None and at < track.last_seen:
            return
        if track is None:
            track = self.vessels[mmsi] = Track(mmsi, report.get("name") or "", at)
        track.name = report.get("name") or track.name
        track.last_seen = at
        in_port, at_quay = self.area.where(report["lat"], report["lon"], report["sog_kn"])
        track.in_port, track.at_quay = in_port, at_quay
        if not in_port:
            return
        gap = timedelta(hours=self.area.new_call_gap_h)
        if track.last_in_port is None or at - track.last_in_port > gap:
            track.call_since, track.quay_since = at, None
            self.calls.append(at)
        track.last_in_port = at
        if at_quay and track.quay_since is None:
            track.quay_since = at

    def calls_between(self, start: datetime | None, end: datetime) -> list[datetime]:
        """Call start times in ``(start, end]``."""
        return [t for t in self.calls if (start is None or t > start) and t <= end]

    def present(self, now: datetime) -> list[Track]:
        """Vessels whose newest report, within the call gap of ``now``, has them in port."""
        gap = timedelta(hours=self.area.new_call_gap_h)
        return [t for t in self.vessels.values() if t.in_port and now - t.last_seen <= gap]

    def apply(self, state: ObservedState, now: datetime, *, mean_teu: float) -> ObservedState:
        """The port's state with AIS vessels at the anchorage and at free berths (explicit berth
        reports keep their vessel)."""
        data = state.model_dump(mode="json")
        berths = data.setdefault("berths", {})
        free = [b for b in self.area.berths if not (berths.get(b) or {}).get("vessel")]
        named = {v["name"] for v in data.get("anchorage", [])}
        anchorage = list(data.get("anchorage", []))
        for track in sorted(self.present(now), key=lambda t: (t.quay_since or t.call_since or now, t.mmsi)):
            since = track.call_since or track.last_seen
            if track.at_quay and free:
                worked_h = (now - (track.quay_since or now)).total_seconds() / 3600.0
                berth = berths.setdefault(free.pop(0), {})
                berth.update(vessel=track.label, teu=mean_teu,
                             teu_left=max(0.0, mean_teu - self.area.berth_teu_per_h * worked_h))
            elif track.label not in named:
                anchorage.append({"name": track.label, "teu": mean_teu,
                                  "waiting_h": max(0.0, (now - since).total_seconds() / 3600.0)})
        data["anchorage"] = anchorage
        return type(state).model_validate(data)


def _polygon(value: Any) -> tuple[LatLon, ...] | None:
    if not isinstance(value, Sequence) or len(value) < 3:
        return None
    try:
        return tuple((float(p[0]), float(p[1])) for p in value)
    except (TypeError, ValueError, IndexError):
        return None


def _nominal(value: Any) -> float:
    from twinworld.params import Dist

    return value.ppf(0.5) if isinstance(value, Dist) else float(value)


def port_areas(scenario: Any) -> dict[str, PortArea]:
    """Port system name -> its area, for ports whose section has AIS polygons in the scenario file."""
    from twinworld.feeds.safe_files import read_text
    from twinworld.limits import MAX_SCENARIO_FILE_BYTES
    from twinworld.scenario.loader import read_yaml
    from twinworld.units import parse_duration

    ports = {n: c for n, c in scenario.systems.items() if c.kind == "port"}
    if not ports or scenario.source is None:
        return {}
    text = read_text(scenario.source, max_bytes=MAX_SCENARIO_FILE_BYTES, what="scenario file")
    data, _ = read_yaml(text, scenario.source)
    areas = {}
    for name, config in ports.items():
        arrivals = ((data.get("systems") or {}).get(name) or {}).get("arrivals") or {}
        polygon = _polygon(arrivals.get("port_polygon")) if isinstance(arrivals, dict) else None
        if polygon is None:
            continue
        rate = config.cranes_per_berth * _nominal(config.crane_moves_per_h) * config.teu_per_move
        areas[name] = PortArea(polygon, _polygon(arrivals.get("berth_polygon")),
                               float(arrivals.get("speed_below_kn", 5.0)),
                               parse_duration(arrivals.get("new_call_gap", "24h")),
                               tuple(config.berth_names()), rate)
    return areas
