"""The region drawn from the scenario's own data: roads, grid, hospitals, port, supply sites.

Nothing here comes from a tile server: road links are the OSM links of the traffic system's
network, grid buses have the case's coordinates or (when the case has none) a seeded graph layout
anchored at the facilities they feed, and facilities sit at their ``location``. A system whose
sites lack coordinates is drawn as a schematic in a panel of its own. The result is plain tables
(facilities, line segments, areas) that :mod:`twinworld.dashboard.figures` turns into figures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["RegionMap", "MapPanel", "region_map", "FACILITY_LABELS"]

#: Facility kinds and how the page names them (plural), in display order.
FACILITY_LABELS = {
    "hospital": "hospitals", "shelter": "shelters", "exit": "exit roads", "place": "places",
    "port": "ports", "berth": "berths", "warehouse": "warehouses", "supplier": "suppliers",
    "supply_port": "supply ports", "customer": "customers", "bus": "grid buses",
    "critical_load": "critical loads",
}
_FACILITY_COLUMNS = ["panel", "system", "kind", "name", "element", "x", "y", "hover"]
_SEGMENT_COLUMNS = ["panel", "system", "kind", "element", "x0", "y0", "x1", "y1", "hover", "width"]
_AREA_COLUMNS = ["panel", "system", "kind", "name", "xs", "ys", "hover"]


@dataclass
class MapPanel:
    """One drawing: the geographic map, or a schematic of a system without coordinates."""

    key: str
    title: str
    geographic: bool
    note: str = ""


@dataclass
class RegionMap:
    """Everything drawn for a scenario, as tables (x = longitude, y = latitude on the map)."""

    scenario: str
    panels: list[MapPanel] = field(default_factory=list)
    facilities: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_FACILITY_COLUMNS))
    segments: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_SEGMENT_COLUMNS))
    areas: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_AREA_COLUMNS))
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Facilities per kind, in display order."""
        found = self.facilities["kind"].value_counts().to_dict()
        return {k: int(found[k]) for k in FACILITY_LABELS if k in found}

    def panel(self, key: str) -> MapPanel:
        return next(p for p in self.panels if p.key == key)


class _Builder:
    """Collects rows while each system adds its layer."""

    def __init__(self, scenario: Any) -> None:
        self.scenario = scenario
        self.facilities: list[dict[str, Any]] = []
        self.segments: list[dict[str, Any]] = []
        self.areas: list[dict[str, Any]] = []
        self.panels: dict[str, MapPanel] = {}
        self.notes: list[str] = []
        self.located: dict[str, tuple[float, float]] = {}  # "system.element" -> (lon, lat)

    def panel(self, key: str, title: str, *, geographic: bool, note: str = "") -> str:
        self.panels.setdefault(key, MapPanel(key, title, geographic, note))
        return key

    def facility(self, panel: str, system: str, kind: str, name: str, x: float, y: float,
                 hover: str, element: str | None = None) -> None:
        element = name if element is None else element
        self.facilities.append(dict(panel=panel, system=system, kind=kind, name=name, element=element,
                                    x=float(x), y=float(y), hover=hover))
        if self.panels[panel].geographic:
            self.located[f"{system}.{element}"] = (float(x), float(y))

    def segment(self, panel: str, system: str, kind: str, element: str, a: tuple[float, float],
                b: tuple[float, float], hover: str, width: float = 1.0) -> None:
        self.segments.append(dict(panel=panel, system=system, kind=kind, element=element, x0=a[0],
                                  y0=a[1], x1=b[0], y1=b[1], hover=hover, width=width))

    def area(self, panel: str, system: str, kind: str, name: str, polygon: list, hover: str) -> None:
        ys = [float(p[0]) for p in polygon] + [float(polygon[0][0])]
        xs = [float(p[1]) for p in polygon] + [float(polygon[0][1])]
        self.areas.append(dict(panel=panel, system=system, kind=kind, name=name, xs=xs, ys=ys, hover=hover))

    def result(self) -> RegionMap:
        order = {k: i for i, k in enumerate(["map"])}
        panels = sorted(self.panels.values(), key=lambda p: (order.get(p.key, 1), p.key))
        return RegionMap(self.scenario.name, panels,
                         pd.DataFrame(self.facilities, columns=_FACILITY_COLUMNS),
                         pd.DataFrame(self.segments, columns=_SEGMENT_COLUMNS),
                         pd.DataFrame(self.areas, columns=_AREA_COLUMNS), self.notes)


# ------------------------------------------------------------------------------ roads --
def _roads(b: _Builder, name: str, config: Any) -> None:
    from twinworld.systems.traffic import load_network
    from twinworld.systems.traffic.checks import destinations_of

    net = load_network(config.source)
    geographic = config.source.grid is None
    panel = b.panel("map", "Region", geographic=True) if geographic else \
        b.panel(name, f"{name}: road grid (schematic)", geographic=False)
    for k in range(net.n_links):
        u, v = int(net.u[k]), int(net.v[k])
        label = net.road_names[k] if net.road_names[k] not in ("", "nan", "None") else "(unnamed)"
        hover = (f"<b>{label}</b><br>{net.highway[k]}, {net.lanes[k]:g} lane(s), "
                 f"{net.length_km[k] * 1000:,.0f} m<br>{net.capacity_veh_h[k]:,.0f} veh/h, "
                 f"{net.speed_kmh[k]:.0f} km/h" + ("<br>bridge" if net.bridge[k] else ""))
        b.segment(panel, name, "road", str(k), (net.lon[u], net.lat[u]), (net.lon[v], net.lat[v]), hover,
                  width=min(4.0, 0.8 + 0.6 * float(net.lanes[k])))
    destinations, _ = destinations_of(net, config, f"systems.{name}")
    for d in destinations:
        kind = "exit" if not np.isfinite(d.capacity_veh) else "shelter"
        room = "no limit" if kind == "exit" else f"{d.capacity_veh:,.0f} vehicles"
        b.facility(panel, name, kind, d.name, net.lon[d.node], net.lat[d.node],
                   f"<b>{d.name}</b><br>{'exit road' if kind == 'exit' else 'reception area'}: {room}")
    for place, (lat, lon) in config.places.items():
        b.facility(panel, name, "place", place, lon, lat, f"<b>{place}</b><br>named place")
    for zone in config.zones:
        if zone.polygon is not None:
            b.area(panel, name, "zone", zone.name, zone.polygon, f"<b>{zone.name}</b><br>evacuation zone")
    for d in b.scenario.disruptions:
        polygon = getattr(d, "polygon", None)
        if d.target.split(".")[0] == name and polygon is not None and geographic:
            b.area(panel, name, "hazard", d.name or d.kind, polygon,
                   f"<b>{d.name or d.kind}</b><br>{d.kind} area")


# --------------------------------------------------------------------------- hospitals --
def _hospitals(b: _Builder, name: str, config: Any) -> None:
    missing = [h for h in config.hospitals if h.location is None]
    for i, h in enumerate(config.hospitals):
        hover = (f"<b>{h.name}</b><br>{h.ward_beds:,} ward + {h.icu_beds:,} ICU beds<br>"
                 f"{_num(h.arrivals_per_day)} emergency arrivals/day")
        if h.location is not None:
            b.facility(b.panel("map", "Region", geographic=True), name, "hospital", h.name,
                       h.location[1], h.location[0], hover)
        else:
            panel = b.panel(name, f"{name}: hospitals (no locations given)", geographic=False)
            b.facility(panel, name, "hospital", h.name, float(i), 0.0, hover)
    if missing:
        b.notes.append(f"{len(missing)} hospital(s) of {name} have no location; shown in a schematic.")


# ------------------------------------------------------------------------------- port --
def _port(b: _Builder, name: str, config: Any) -> None:
    # Loading fits the arrivals and keeps no polygons: read them from the planner's file.
    arrivals = _raw_section(b.scenario, name).get("arrivals") or {}
    polygon = _polygon(arrivals.get("port_polygon"))
    quay = _polygon(arrivals.get("berth_polygon")) or polygon
    berths = config.berth_names()
    hover = (f"<b>{name}</b><br>{len(berths)} berths x {config.cranes_per_berth} cranes<br>"
             f"yard {config.yard_capacity_teu:,} TEU")
    if config.location is not None:   # the terminal on the region's map (the AIS polygons may lie elsewhere)
        panel = b.panel("map", "Region", geographic=True)
        lat, lon = config.location
        b.facility(panel, name, "port", name, float(lon), float(lat), hover, element="port")
        for i, berth in enumerate(berths):
            b.facility(panel, name, "berth", berth, float(lon) + 0.0006 * (i + 1), float(lat) - 0.0003,
                       f"<b>{berth}</b><br>{config.cranes_per_berth} quay cranes (position schematic)",
                       element=berth)
        return
    if polygon is None:
        panel = b.panel(name, f"{name}: port (schematic: no port polygon)", geographic=False)
        b.facility(panel, name, "port", name, -1.0, 0.0, hover, element="port")
        for i, berth in enumerate(berths):
            b.facility(panel, name, "berth", berth, float(i), 0.0, f"<b>{berth}</b>", element=berth)
        return
    panel = b.panel("map", "Region", geographic=True)
    b.area(panel, name, "port_limits", name, polygon, f"<b>{name}</b><br>port limits and anchorage")
    if quay is not polygon:
        b.area(panel, name, "quay", f"{name} quay", quay, f"<b>{name}</b><br>quay")
    lat = np.array([p[0] for p in quay], float)
    lon = np.array([p[1] for p in quay], float)
    b.facility(panel, name, "port", name, float(lon.mean()), float(lat.mean()), hover, element="port")
    # Berths along the quay's longer side (their exact positions are not in the data).
    step = np.linspace(0.2, 0.8, len(berths)) if len(berths) > 1 else np.array([0.5])
    for berth, s in zip(berths, step):
        b.facility(panel, name, "berth", berth, lon.min() + s * np.ptp(lon), lat.min() + 0.15 * np.ptp(lat),
                   f"<b>{berth}</b><br>{config.cranes_per_berth} quay cranes (position schematic)")


# ----------------------------------------------------------------------------- supply --
def _supply(b: _Builder, name: str, config: Any) -> None:
    groups = [("supplier", config.suppliers), ("supply_port", config.ports),
              ("warehouse", config.warehouses), ("customer", config.customers)]
    everywhere = all(s.location is not None for _, sites in groups for s in sites)
    panel = b.panel("map", "Region", geographic=True) if everywhere else \
        b.panel(name, f"{name}: supply network (schematic: not every site has coordinates)", geographic=False)
    where: dict[str, tuple[float, float]] = {}
    for column, (kind, sites) in enumerate(groups):
        for row, site in enumerate(sites):
            if everywhere:
                x, y = float(site.location[1]), float(site.location[0])
            else:
                x, y = float(column), -float(row) * (4.0 / max(1, len(sites) - 1) if len(sites) > 1 else 0)
            where[site.name] = (x, y)
            b.facility(panel, name, kind, site.name, x, y, _supply_hover(kind, site))
    for lane in config.lanes:
        if lane.origin in where and lane.destination in where:
            b.segment(panel, name, "lane", lane.label, where[lane.origin], where[lane.destination],
                      f"<b>{lane.label}</b><br>{lane.mode}", width=1.2 if lane.mode == "sea" else 0.8)


def _supply_hover(kind: str, site: Any) -> str:
    text = f"<b>{site.name}</b><br>{FACILITY_LABELS[kind][:-1]}"
    if kind == "warehouse":
        text += f"<br>sources: {', '.join(site.sources)}"
    if kind == "customer":
        text += f"<br>{_num(site.demand_per_day)} orders/day" + (" (critical)" if site.critical else "")
    return text


# ------------------------------------------------------------------------------- grid --
def _grid(b: _Builder, name: str, config: Any) -> None:
    from twinworld.systems.grid.engine import cached_case
    from twinworld.systems.grid.model import case_source

    case = cached_case(case_source(config), config.source.digest)
    xy = np.asarray(case.bus_xy, float)
    has_xy = bool(np.isfinite(xy).all())
    anchors = _grid_anchors(b, name, case)
    if has_xy and _looks_geographic(xy, b.located):
        panel, note = b.panel("map", "Region", geographic=True), ""
    elif anchors:
        panel = b.panel("map", "Region", geographic=True)
        xy = _anchored_layout(case, anchors, b.located, xy if has_xy else None)
        note = (f"{name}: the case has no geographic coordinates; its buses are laid out around the "
                "facilities they feed (couplings), so positions are schematic.")
    else:
        what = "the case's one-line coordinates" if has_xy else "a seeded graph layout"
        panel = b.panel(name, f"{name}: {case.name} (schematic: {what})", geographic=False)
        xy = xy if has_xy else _layout(case, seed=0)
        note = ""
    if note:
        b.notes.append(note)
    critical = {str(c.bus): c for c in getattr(config, "critical_loads", [])}
    for row, bus in enumerate(case.bus_names):
        load = float(case.load_mw[row])
        hover = f"<b>bus {bus}</b><br>{case.bus_kv[row]:g} kV, load {load:,.1f} MW"
        if bus in critical:
            hover += f"<br>feeds {critical[bus].name or critical[bus].kind} (priority {critical[bus].priority})"
        b.facility(panel, name, "bus", f"bus {bus}", xy[row, 0], xy[row, 1], hover, element=bus)
    for k, branch in enumerate(case.branch_ids):
        f, t = int(case.from_bus[k]), int(case.to_bus[k])
        hover = f"<b>{branch}</b><br>bus {case.bus_names[f]} - bus {case.bus_names[t]}"
        b.segment(panel, name, "line", branch, (xy[f, 0], xy[f, 1]), (xy[t, 0], xy[t, 1]), hover)


def _looks_geographic(xy: np.ndarray, located: dict[str, tuple[float, float]]) -> bool:
    """Whether bus coordinates are longitude/latitude of this region.

    Cases store drawing coordinates too (case118's are a one-line diagram around 0): coordinates
    count as geographic when they overlap the other facilities' area, or, with nothing else on the
    map, when they are valid degrees spanning a region-sized area away from (0, 0).
    """
    if not ((np.abs(xy[:, 0]) <= 180).all() and (np.abs(xy[:, 1]) <= 90).all()):
        return False
    low, high = xy.min(axis=0), xy.max(axis=0)
    if located:
        points = np.array(list(located.values()), float)
        near_low, near_high = points.min(axis=0) - 1.0, points.max(axis=0) + 1.0
        return bool((low <= near_high).all() and (high >= near_low).all())
    return bool((high - low).max() < 5.0 and np.abs(xy).min(axis=0).max() > 1.0)


def _grid_anchors(b: _Builder, name: str, case: Any) -> dict[int, str]:
    """Bus rows pinned to a located consumer through a coupling (``grid.bus.11 -> hospitals.X``)."""
    anchors: dict[int, str] = {}
    for coupling in getattr(b.scenario, "couplings", []):
        parts = str(coupling.provider).split(".")
        if len(parts) == 3 and parts[0] == name and parts[1] == "bus" and parts[2] in case.bus_aliases:
            if coupling.consumer in b.located:
                anchors[case.bus_aliases[parts[2]]] = coupling.consumer
    return anchors


def _layout(case: Any, *, seed: int) -> np.ndarray:
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(range(case.n_bus))
    graph.add_edges_from(zip(case.from_bus.tolist(), case.to_bus.tolist()))
    pos = nx.spring_layout(graph, seed=seed, iterations=200)
    return np.array([pos[i] for i in range(case.n_bus)], float)


def _anchored_layout(case: Any, anchors: dict[int, str], located: dict[str, tuple[float, float]],
                     drawing: np.ndarray | None) -> np.ndarray:
    """A seeded spring layout with the anchored buses fixed at their facilities, in lon/lat.

    Coordinates are normalised to the bounding box of every located facility (plus a margin), so
    the grid spreads over the region it serves.
    """
    import networkx as nx

    points = np.array(list(located.values()), float)
    low, high = points.min(axis=0), points.max(axis=0)
    span = np.maximum(high - low, 1e-3)
    low, span = low - 0.15 * span, 1.3 * span
    graph = nx.Graph()
    graph.add_nodes_from(range(case.n_bus))
    graph.add_edges_from(zip(case.from_bus.tolist(), case.to_bus.tolist()))
    if drawing is not None:  # start from the case's own drawing, scaled into the region
        d_low, d_span = drawing.min(axis=0), np.maximum(np.ptp(drawing, axis=0), 1e-9)
        start = {i: (drawing[i] - d_low) / d_span for i in range(case.n_bus)}
    else:
        rng = np.random.default_rng(0)
        start = {i: rng.random(2) for i in range(case.n_bus)}
    for row, consumer in anchors.items():
        start[row] = (np.array(located[consumer]) - low) / span
    pos = nx.spring_layout(graph, pos=start, fixed=list(anchors), seed=0, iterations=200,
                           k=0.6 / np.sqrt(case.n_bus))
    unit = np.array([pos[i] for i in range(case.n_bus)], float)
    return low + unit * span


def _raw_section(scenario: Any, name: str) -> dict[str, Any]:
    """The system's section as written in the scenario file (``{}`` if unreadable)."""
    import yaml

    try:
        with open(scenario.source, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
        section = data["systems"][name]
    except (OSError, TypeError, KeyError, yaml.YAMLError):
        return {}
    return section if isinstance(section, dict) else {}


def _polygon(value: Any) -> list[list[float]] | None:
    """A list of at least three finite ``[lat, lon]`` pairs, else None."""
    try:
        points = [[float(a), float(b)] for a, b in value]
    except (TypeError, ValueError):
        return None
    return points if len(points) >= 3 and np.isfinite(points).all() else None


def _num(value: Any) -> str:
    try:
        return f"{float(value):,.3g}"
    except (TypeError, ValueError):
        return str(value)


_LAYERS: dict[str, Callable[[_Builder, str, Any], None]] = {
    "road_network": _roads, "hospital_region": _hospitals, "port": _port,
    "supply_network": _supply, "power_grid": _grid,
}
# Grids go last: an anchored layout needs the located facilities of the other systems.
_ORDER = {"road_network": 0, "hospital_region": 1, "port": 2, "supply_network": 3, "power_grid": 9}


def region_map(scenario: Any) -> RegionMap:
    """Tables of what to draw for ``scenario`` (a loaded :class:`~twinworld.scenario.Scenario`)."""
    builder = _Builder(scenario)
    systems = sorted(scenario.systems.items(), key=lambda item: _ORDER.get(item[1].kind, 5))
    for name, config in systems:
        layer = _LAYERS.get(config.kind)
        if layer is None:
            builder.notes.append(f"{name} ({config.kind}): no map layer for this kind of system.")
            continue
        layer(builder, name, config)
    return builder.result()
