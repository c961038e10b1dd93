"""Ambulances that bypass hospitals on diversion, and vessel operators who give up waiting."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from twinworld import load_scenario
from twinworld.experiments.run import build_world, run
from twinworld.scenario.uncertain import resolve, sample_values


def region(ambulances: dict[str, Any] | None, *, far_min: float = 10.0, horizon: str = "10d") -> dict[str, Any]:
    """H1 gets far more patients than its beds; H2 and H3 have room (H2 nearer to H1 than H3)."""
    system: dict[str, Any] = {
        "kind": "hospital_region", "max_wait": "4h",
        "patient_classes": [{"name": "medical", "share": 1, "bed": "ward", "los": {"mean": "2d", "cv": 0.8}}],
        "hospitals": [{"name": "H1", "ward_beds": 20, "arrivals_per_day": 20},
                      {"name": "H2", "ward_beds": 40, "arrivals_per_day": 8},
                      {"name": "H3", "ward_beds": 40, "arrivals_per_day": 8}],
        "travel_time_min": {"H1": {"H2": far_min, "H3": far_min + 8}, "H2": {"H3": 15}}}
    if ambulances is not None:
        system["ambulances"] = ambulances
    return {"twinworld": 1, "name": "ambulances", "horizon": horizon, "seed": 4, "systems": {"hospitals": system},
            "strategies": {"baseline": {}, "protocol": {"hospitals": {"kind": "divert_ambulances",
                                                                      "max_travel_min": 30}}}}


def test_crowding_spreads_to_the_nearest_accepting_hospital() -> None:
    home_only = run(load_scenario(region(None)), "baseline", 4, tables=True)
    diverting = run(load_scenario(region({"max_travel_min": 30})), "baseline", 4, tables=True)
    counts = diverting.tables["hospitals.hospitals"].set_index("hospital")
    assert diverting.kpis["ambulance_diversions"] == counts["diverted_out"].sum() > 20
    assert counts.loc["H1", "diverted_out"] >= 0.9 * counts["diverted_out"].sum()  # mostly from the crowded one
    assert counts.loc["H2", "diverted_in"] > counts.loc["H3", "diverted_in"] >= 0  # nearest first
    trips = diverting.tables["hospitals.ambulance_diversions"]
    assert diverting.kpis["ambulance_extra_min"] == pytest.approx(trips["extra_min"].sum())
    assert set(trips["extra_min"]) <= {10.0, 15.0, 18.0}                 # H1-H2, H2-H3, H1-H3
    assert diverting.kpis["patients_turned_away"] < home_only.kpis["patients_turned_away"]
    before = home_only.tables["hospitals.hospitals"].set_index("hospital")
    assert counts.loc["H2", "peak_occupied"] >= before.loc["H2", "peak_occupied"]  # the neighbour fills up


def test_a_regional_protocol_lever_does_the_same_as_crews_that_divert() -> None:
    lever = run(load_scenario(region(None)), "protocol", 4).kpis
    crews = run(load_scenario(region({"max_travel_min": 30})), "baseline", 4).kpis
    assert lever == crews


def test_no_accepting_hospital_within_reach_means_home() -> None:
    result = run(load_scenario(region({"max_travel_min": 30}, far_min=45)), "baseline", 4)
    assert result.kpis["ambulance_diversions"] == 0


def test_crews_that_ignore_diversion_divert_less() -> None:
    everyone = run(load_scenario(region({"max_travel_min": 30})), "baseline", 4).kpis["ambulance_diversions"]
    half = run(load_scenario(region({"max_travel_min": 30, "respect_diversion": 0.5})), "baseline", 4)
    assert 0 < half.kpis["ambulance_diversions"] < everyone


def test_a_cut_road_sends_ambulances_to_the_next_hospital() -> None:
    """The travel times a road_travel coupling feeds are the ones crews choose by."""
    scenario = load_scenario(region({"max_travel_min": 30}))
    world = build_world(resolve(scenario, sample_values(scenario, 4)), "baseline", 4)
    hospitals = world.systems["hospitals"]
    world.env.run(until=5 * 24)
    hospitals.feed("road_travel", ("H1", "H2"), math.inf, element=None, cause=None)
    world.run()
    trips = hospitals.tables()["ambulance_diversions"]
    early, late = trips[trips["time_h"] < 120], trips[trips["time_h"] >= 120]
    assert (early["to"] == "H2").any() and len(late) > 0
    assert (late["to"] == "H3").all()


# --------------------------------------------------------------------------------- port --
def port(operators: dict[str, Any] | None, *, strategies: dict[str, Any] | None = None) -> dict[str, Any]:
    """Two berths, a 3-day strike from day 2: ships pile up at the anchorage."""
    system: dict[str, Any] = {"kind": "port", "berths": 2, "arrivals": {"kind": "poisson", "rate_per_day": 5},
                              "call_size": {"distribution": "lognormal", "mean_teu": 1500, "cv": 0.4}}
    if operators is not None:
        system["operators"] = operators
    return {"twinworld": 1, "name": "strike", "horizon": "8d", "seed": 6, "systems": {"port": system},
            "disruptions": [{"kind": "port_closure", "target": "port", "start": "2d", "duration": "3d"}],
            "strategies": {"baseline": {}, **(strategies or {})}}


def test_operators_divert_when_the_expected_wait_passes_their_patience() -> None:
    waiting = run(load_scenario(port(None)), "baseline", 6)
    operators = {"count": 4, "wait_threshold": "24h", "threshold_cv": 0.6, "review_every": "6h",
                 "extra_sailing": "30h"}
    result = run(load_scenario(port(operators)), "baseline", 6, tables=True)
    calls = result.tables["port.calls"]
    diverted = calls[calls["diverted_by"] == "operator"]
    assert waiting.kpis["vessels_diverted"] == 0 < len(diverted) == result.kpis["vessels_diverted"]
    assert result.kpis["mean_anchorage_wait_h"] < waiting.kpis["mean_anchorage_wait_h"]
    at_review = diverted[diverted["diverted_h"] > diverted["arrived_h"]]     # gave up at anchor
    assert len(at_review) > 0
    assert np.allclose(at_review["diverted_h"] % 6.0, 0.0, atol=1e-9)       # only at reviews
    scenario = load_scenario(port(operators))
    world = build_world(resolve(scenario, sample_values(scenario, 6)), "baseline", 6)
    world.run()
    fleet = world.agents.of_kind("vessel_operator")
    assert len(fleet) == 4 and len(set(fleet.get("threshold_h"))) == 4      # each its own patience
    assert fleet.agg("diverted", sum) == len(diverted)


def test_patient_operators_never_divert_and_the_divert_strategy_stays() -> None:
    patient = {"count": 3, "wait_threshold": "1000d", "threshold_cv": 0}
    data = port(patient, strategies={"divert": {"port": {"kind": "divert", "after": "24h"}}})
    baseline = run(load_scenario(data), "baseline", 6)
    lever = run(load_scenario(data), "divert", 6, tables=True)
    assert baseline.kpis["vessels_diverted"] == 0
    assert set(lever.tables["port.calls"]["diverted_by"].dropna()) == {"strategy"}
    assert lever.kpis["vessels_diverted"] > 0
