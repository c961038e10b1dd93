"""Forecasts start now: disruption windows shifted or truncated, what is observed broken not applied
twice, every strategy on the same draws, the partly observed state estimated per particle."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.helpers import ROOT
from twinworld.scenario import load_scenario
from twinworld.systems.hospital.state import HospitalRegionState, HospitalState
from twinworld.twin.calibrate import Calibrator, Census, FilterOptions
from twinworld.twin.forecast import Forecaster, ForecastOptions, forecast_scenario, shift_window
from twinworld.twin.likelihood import HospitalAdmissions, ParamView

H = 48.0


@pytest.mark.parametrize("start, duration, now, observed, expected", [
    (30.0, 10.0, 24.0, False, (6.0, 10.0)),          # starts later: shifted
    (20.0, 10.0, 24.0, False, (0.0, 6.0)),           # under way: its remaining part, from now
    (20.0, None, 24.0, False, (0.0, None)),          # under way to the end
    (10.0, 10.0, 24.0, False, (H + 1, 0.0)),         # over before now: past the horizon
    (20.0, 10.0, 24.0, True, (H + 1, 0.0)),          # under way and in the observed state: not twice
    (30.0, 10.0, 24.0, True, (6.0, 10.0)),           # in the future even if observable: applied
    (24.0, 5.0, 24.0, False, (0.0, 5.0)),            # starts exactly now
])
def test_shift_window(start, duration, now, observed, expected) -> None:
    assert shift_window(start, duration, now, H, observed=observed) == expected


def test_forecast_values_shift_every_disruption_to_now() -> None:
    scenario = load_scenario(ROOT / "scenarios" / "storm_cascade.yaml")
    forecaster = Forecaster(scenario, ForecastOptions(horizon_h=H, particles=2))
    draw = {"storm.start": 10.0, "substation.start": 20.0, "substation.duration": 10.0,
            "storm_injuries.start": 30.0, "storm_injuries.multiplier": 1.2, "storm.count": 4.0}
    values = forecaster.values(draw, 24.0, observed_systems={"grid"})
    assert values["storm.start"] == H + 1                       # the storm's trips are in the grid's state
    # a lost substation is not in the grid's observed state (no "bus lost" there): it goes on
    assert (values["substation.start"], values["substation.duration"]) == (0.0, 6.0)
    assert (values["storm_injuries.start"], values["storm_injuries.duration"]) == (6.0, 24.0)
    assert values["storm_injuries.multiplier"] == 1.2
    no_grid_telemetry = forecaster.values(draw, 24.0, observed_systems=set())
    assert no_grid_telemetry["storm.start"] == 0.0             # nothing observed: the storm is under way


def test_the_forecast_scenario_runs_over_the_window_only() -> None:
    scenario = load_scenario(ROOT / "scenarios" / "hospital_surge.yaml")
    base = forecast_scenario(scenario, 36.0)
    assert (base.horizon, base.warmup) == (36.0, 0.0)
    assert scenario.horizon == 21 * 24                               # the scenario is unchanged


def test_every_strategy_runs_on_each_draw_with_the_same_seed() -> None:
    scenario = load_scenario(ROOT / "scenarios" / "hospital_surge.yaml")
    calibrator = Calibrator(scenario, FilterOptions(particles=50, seed=3))
    draws, index = calibrator.draw(4, np.random.default_rng(0))
    state = HospitalRegionState(hospitals={"Central": HospitalState(ward_occupied=420, icu_occupied=36)})
    states = [{"hospitals": calibrator.hospital_state("hospitals", int(i), state)} for i in index]
    with Forecaster(scenario, ForecastOptions(horizon_h=24.0, particles=4)) as forecaster:
        runs = forecaster.run(draws, states, 30.0, 1, observed_systems={"hospitals"})
        table, primary, direction, failed = forecaster.rank(runs)
    assert len(runs) == 4 * len(scenario.strategies) and failed == 0
    assert runs.groupby("draw")["seed"].nunique().eq(1).all()            # common random numbers
    assert runs.groupby("strategy")["seed"].apply(tuple).nunique() == 1
    assert (primary, str(direction)) == ("patients_turned_away", "minimize")
    assert list(table["strategy"])[0] == table.sort_values("mean", kind="stable").iloc[0]["strategy"]
    assert table["share_best"].sum() == pytest.approx(1.0)


def test_beds_of_an_unreported_hospital_follow_admissions_and_discharges() -> None:
    scenario = load_scenario({
        "twinworld": 1, "name": "one", "horizon": "30d",
        "systems": {"h": {"kind": "hospital_region", "hospitals": [
            {"name": "H", "ward_beds": 1000, "arrivals_per_day": 48, "census": {"ward": 0}}],
            "patient_classes": [{"name": "all", "share": 1, "bed": "ward",
                                 "los": {"distribution": "exponential", "mean": "2d"}}]}}})
    model = HospitalAdmissions(scenario, "h")
    view = ParamView([], np.empty((3, 0)))
    states = model.initial_state(3)
    model.propagate(view, states, 0, 0.0, 48.0)
    # an M/M/inf queue from empty: E[n(t)] = lambda * L * (1 - exp(-t / L)) with lambda 2/h, L 48 h
    assert states["h:ward"][:, 0] == pytest.approx(2.0 * 48.0 * (1 - math.exp(-1.0)))
    model.propagate(view, states, 0, 48.0, 48.0 * 30)
    assert states["h:ward"][0, 0] == pytest.approx(96.0, rel=1e-6)      # Little's law at steady state


def test_a_census_resets_the_estimate_and_unreported_hospitals_keep_theirs() -> None:
    scenario = load_scenario(ROOT / "scenarios" / "hospital_surge.yaml")
    calibrator = Calibrator(scenario, FilterOptions(particles=20, seed=1))
    calibrator.assimilate({}, 12.0, census={"hospitals": {0: Census(10.0, 333, 30)}})
    central = calibrator.hospital_state("hospitals", 0, None).hospitals["Central"]
    harbour_before = scenario.systems["hospitals"].hospitals[1].census
    harbour = calibrator.hospital_state("hospitals", 0, None).hospitals["Harbour"]
    assert 300 < central.ward_occupied < 340                         # 333 at hour 10, two hours of flow
    assert harbour.ward_occupied != harbour_before.ward or harbour.icu_occupied != harbour_before.icu
