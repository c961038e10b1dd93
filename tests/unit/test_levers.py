"""Levers: the search space's encoding, candidate strategies, starting points."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import twinworld
from twinworld.optimize.space import LeverSpace, candidate_key
from twinworld.scenario.levers import Lever, candidate_parts, lever_value_at, starting_points
from twinworld.systems.hospital.strategies import SurgeBeds, Transfer

LEVERS = {
    "threshold": Lever(field="hospitals.surge_beds.threshold", range=(0.80, 0.98), step=0.01),
    "crews": Lever(field="grid.crew_dispatch.crews", range=(2, 8), integer=True),
    "delay": Lever(field="roads.staged.stages.1.delay", range=("0h", "3h")),
    "rule": Lever(field="x.y.rule", choice=["nearest", "capacity_balanced"]),
}
SPACE = LeverSpace(LEVERS)


def test_levers_grid_and_bounds():
    assert LEVERS["threshold"].grid()[:3] == [0.8, 0.81, 0.82] and len(LEVERS["threshold"].grid()) == 19
    assert LEVERS["crews"].grid() == [2, 3, 4, 5, 6, 7, 8]
    assert LEVERS["delay"].range == (0.0, 3.0) and LEVERS["delay"].grid() is None
    low, high = SPACE.bounds()
    assert low.tolist() == [0.8, 2, 0, 0] and high.tolist() == [0.98, 8, 3, 1]
    assert SPACE.size() == float("inf")


def test_decode_snaps_to_what_the_levers_allow():
    values = SPACE.decode(np.array([0.8349, 3.6, 1.25, 0.7]))
    assert values == {"threshold": 0.83, "crews": 4, "delay": 1.25, "rule": "capacity_balanced"}
    assert SPACE.decode(SPACE.encode(values)) == values
    assert candidate_key(values) == candidate_key(dict(reversed(list(values.items()))))
    assert candidate_key(values) != candidate_key({**values, "crews": 5})


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-10, 10, allow_nan=False), min_size=4, max_size=4))
def test_snap_is_idempotent_inside_bounds_and_on_grid(row):
    snapped = SPACE.snap(np.array(row))
    assert np.array_equal(SPACE.snap(snapped), snapped)
    low, high = SPACE.bounds()
    assert (snapped >= low - 1e-12).all() and (snapped <= high + 1e-12).all()
    values = SPACE.decode(np.array(row))
    assert values["threshold"] in LEVERS["threshold"].grid() or any(
        abs(values["threshold"] - g) < 1e-9 for g in LEVERS["threshold"].grid())
    assert values["crews"] in LEVERS["crews"].grid() and values["rule"] in LEVERS["rule"].choice


def test_latin_hypercube_covers_each_choice_and_stratum():
    space = LeverSpace({"a": Lever(field="s.k.a", range=(0, 1)), "b": Lever(field="s.k.b", choice=[1, 2, 3])})
    x = space.latin_hypercube(30, np.random.default_rng(0))
    assert sorted(np.floor(x[:, 0] * 30).astype(int).tolist()) == list(range(30))
    assert np.bincount(x[:, 1].astype(int)).tolist() == [10, 10, 10]


def test_candidate_parts_and_starting_points():
    scenario = twinworld.load_scenario("scenarios/hospital_surge.yaml")
    settings_ = scenario.levers
    template = scenario.strategies["combined"]
    parts = candidate_parts(template, settings_.vary, {"surge_threshold": 0.85, "surge_extra_share": 0.2,
                                                       "max_travel_min": 60})
    surge, transfer = parts["hospitals"][0], parts["hospitals"][2]
    assert isinstance(surge, SurgeBeds) and surge.threshold == 0.85 and surge.extra_share == 0.2
    assert surge.delay == 8.0 and surge.release_below == 0.8  # the template's other settings stay
    assert isinstance(transfer, Transfer) and transfer.max_travel_min == 60
    assert parts["hospitals"][1] == template["hospitals"][1]
    assert lever_value_at(template, "hospitals.transfer.max_travel_min") == 40
    with pytest.raises(ValueError, match="less than or equal to 1|<= 1"):
        candidate_parts(template, settings_.vary, {"surge_threshold": 1.5, "surge_extra_share": 0.2,
                                                   "max_travel_min": 60})
    points = starting_points(scenario.strategies, settings_)
    # baseline and cancel_electives set none of the levers' fields; transfer sets one
    assert set(points) == {"surge_beds", "transfer", "combined"}
    assert points["transfer"] == {"surge_threshold": 0.92, "surge_extra_share": 0.12, "max_travel_min": 40}
    assert points["combined"] == points["surge_beds"] == points["transfer"]
