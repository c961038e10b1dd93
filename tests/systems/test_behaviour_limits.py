"""Agents that decide reproduce today's rule-based models exactly in their limits.

``tests/data/limits/base_kpis.json`` holds the KPIs the rule-based models gave (recorded by
``capture_base.py`` on the code before agents that decide were added): every strategy of four
scenario files on two seeds, and every strategy of the road, supply, hospital and port examples.

- Behaviour left out, every KPI is the same number, bit for bit.
- Behaviour switched on at its limit is the same too: households all compliant, warned at once
  and preparing along the mobilisation curve (``households: {}``); warehouses whose forecast never
  moves (exponential smoothing with alpha 0: a fixed order-up-to level, which is R_S);
  ambulances whose crews never divert; vessel operators who never give up waiting.

If a later change to a model's physics is meant (the traffic engine, say), re-run
``capture_base.py`` on the new base and commit the new numbers with it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from twinworld import load_scenario
from twinworld.experiments.run import run

ROOT = Path(__file__).resolve().parents[2]
LIMITS = ROOT / "tests" / "data" / "limits"
BASE: dict[str, dict[str, float]] = json.loads((LIMITS / "base_kpis.json").read_text())
EXAMPLES: dict[str, dict[str, Any]] = json.loads((LIMITS / "base_examples.json").read_text())


def _scenario(case: str, edit: Any = None) -> tuple[Any, str, int]:
    """The scenario, strategy and seed of a recorded case (``edit`` changes its system section)."""
    parts = case.split(":")
    if parts[0] == "example":
        data = copy.deepcopy(EXAMPLES[parts[1]])
        if edit is not None:
            name = next(iter(data["systems"]))
            edit(data["systems"][name], data)
        return load_scenario(data), parts[2], int(parts[3])
    file, strategy, seed = parts
    if edit is None:
        return load_scenario(ROOT / "scenarios" / file), strategy, int(seed)
    import yaml

    data = yaml.safe_load((ROOT / "scenarios" / file).read_text())
    for system in data["systems"].values():
        edit(system, data)
    return load_scenario(data, base_dir=ROOT / "scenarios"), strategy, int(seed)


def _same(case: str, found: dict[str, float]) -> None:
    recorded = BASE[case]
    differ = {k: (found[k], v) for k, v in recorded.items() if found[k] != v}
    assert not differ, f"{case}: (now, recorded) {differ}"


@pytest.mark.parametrize("case", sorted(BASE))
def test_behaviour_left_out_changes_nothing(case: str) -> None:
    scenario, strategy, seed = _scenario(case)
    _same(case, run(scenario, strategy, seed).kpis)


def _households_at_the_limit(system: dict[str, Any], data: dict[str, Any]) -> None:
    if system["kind"] == "road_network":
        system["households"] = {}


ROAD_CASES = sorted(c for c in BASE if c.startswith(("helsinki_evacuation", "example:road_network")))


@pytest.mark.parametrize("case", ROAD_CASES)
def test_households_compliant_warned_at_once_and_ready_on_the_curve_are_the_rule_based_model(case: str) -> None:
    scenario, strategy, seed = _scenario(case, _households_at_the_limit)
    result = run(scenario, strategy, seed)
    _same(case, result.kpis)
    assert result.kpis["households_left_behind"] == 0.0


def _fixed_forecast_and_calm_shoppers(system: dict[str, Any], data: dict[str, Any]) -> None:
    """Periodic order-up-to as a forecasting agent whose forecast never moves (alpha 0, one period
    of cover at the old level); every customer's shoppers prone to panic with share 0."""
    if system["kind"] != "supply_network":
        return
    for warehouse in system["warehouses"]:
        policy = warehouse["policy"]
        if policy["kind"] == "R_S":
            warehouse["policy"] = {"kind": "forecast", "review_every": policy["review_every"],
                                   "forecast": {"method": "exponential_smoothing", "alpha": 0},
                                   "cover_periods": 1, "initial_forecast_units": policy["order_up_to_units"]}
    for customer in system["customers"]:
        customer["panic"] = {"share": 0, "multiplier": 3, "contacts": 4}


@pytest.mark.parametrize("case", sorted(c for c in BASE if c.startswith("port_strike")))
def test_warehouses_with_a_forecast_that_never_moves_and_calm_shoppers_are_todays_supply(case: str) -> None:
    scenario, strategy, seed = _scenario(case, _fixed_forecast_and_calm_shoppers)
    system = scenario.systems["supply"]
    assert [w.policy.kind for w in system.warehouses].count("forecast") == 1
    result = run(scenario, strategy, seed)
    _same(case, result.kpis)
    assert result.kpis["panic_extra_units"] == 0.0


def _crews_who_never_divert(system: dict[str, Any], data: dict[str, Any]) -> None:
    if system["kind"] == "hospital_region":
        system["ambulances"] = {"respect_diversion": 0, "max_travel_min": 60}


def _no_hospital_in_reach(system: dict[str, Any], data: dict[str, Any]) -> None:
    if system["kind"] == "hospital_region":
        system["ambulances"] = {"respect_diversion": 1, "max_travel_min": 0.001}


@pytest.mark.parametrize("edit", [_crews_who_never_divert, _no_hospital_in_reach])
@pytest.mark.parametrize("case", sorted(c for c in BASE if c.startswith(("hospital_surge", "example:hospital_region"))))
def test_ambulances_that_never_divert_are_todays_hospitals(case: str, edit: Any) -> None:
    scenario, strategy, seed = _scenario(case, edit)
    result = run(scenario, strategy, seed)
    _same(case, result.kpis)
    assert result.kpis["ambulance_diversions"] == 0.0


def _patient_operators(system: dict[str, Any], data: dict[str, Any]) -> None:
    if system["kind"] == "port":
        system["operators"] = {"count": 5, "wait_threshold": "100000h", "threshold_cv": 0.5}


@pytest.mark.parametrize("case", sorted(c for c in BASE if c.startswith(("port_congestion", "example:port"))))
def test_operators_who_never_give_up_are_todays_port(case: str) -> None:
    scenario, strategy, seed = _scenario(case, _patient_operators)
    _same(case, run(scenario, strategy, seed).kpis)
