"""Supply agents that decide: forecasting warehouses up a chain, and shoppers who panic-buy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from twinworld import load_scenario
from twinworld.errors import ScenarioError
from twinworld.experiments.run import build_world, run
from twinworld.scenario.uncertain import resolve, sample_values


def chain(*, retail_policy: dict[str, Any] | None = None, dc_policy: dict[str, Any] | None = None,
          panic: dict[str, Any] | None = None, days: int = 400, shop_lead: str = "1h",
          demand: float = 40, units: int = 3) -> dict[str, Any]:
    """Factory -> DC -> Retailer -> Town, reviewing daily with moving averages by default."""
    ma = {"kind": "forecast", "review_every": "1d", "forecast": {"method": "moving_average", "periods": 4}}
    town = {"name": "Town", "served_by": "Retailer", "demand_per_day": demand, "units_per_order": units}
    if panic is not None:
        town["panic"] = panic
    return {"twinworld": 1, "name": "chain", "horizon": f"{days}d", "seed": 2,
            "systems": {"supply": {
                "kind": "supply_network", "suppliers": [{"name": "Factory"}],
                "warehouses": [{"name": "DC", "sources": ["Factory"], "policy": dc_policy or ma},
                               {"name": "Retailer", "sources": ["DC"], "policy": retail_policy or ma}],
                "customers": [town],
                "lanes": [{"origin": "Factory", "destination": "DC", "lead_time": "3d"},
                          {"origin": "DC", "destination": "Retailer", "lead_time": "2d"},
                          {"origin": "Retailer", "destination": "Town", "lead_time": shop_lead}]}},
            "strategies": {"baseline": {}}}


def test_order_swings_grow_up_the_chain() -> None:
    result = run(load_scenario(chain()), "baseline", 2, tables=True)
    bullwhip = result.tables["supply.bullwhip"].set_index("warehouse")
    customer_var = bullwhip.loc["Retailer", "var_demand"]
    retail_orders = bullwhip.loc["Retailer", "var_orders"]
    dc_orders = bullwhip.loc["DC", "var_orders"]
    assert bullwhip.loc["DC", "var_demand"] == pytest.approx(retail_orders)   # the DC's demand is the retailer's orders
    assert customer_var < retail_orders < dc_orders
    assert result.kpis["bullwhip_ratio"] == pytest.approx(bullwhip["ratio"].max())
    reviews = result.tables["supply.replenishment"]
    assert sorted(reviews["warehouse"].unique()) == ["DC", "Retailer"]
    assert (reviews.groupby("warehouse").size() == 400).all()               # one review a day each


def test_default_cover_is_the_lead_time_plus_a_review_and_the_forecast_starts_at_mean_demand() -> None:
    scenario = load_scenario(chain())
    world = build_world(resolve(scenario, sample_values(scenario, 2)), "baseline", 2)
    agents = world.systems["supply"].supply_agents.replenishers
    assert agents["Retailer"].cover == pytest.approx(2 / 1 + 1)     # 2 d lead time, daily review
    assert agents["DC"].cover == pytest.approx(3 + 1)
    assert agents["Retailer"].forecast.value == pytest.approx(120.0)  # 40 orders x 3 units a day
    assert agents["DC"].forecast.value == pytest.approx(120.0)        # what its retailer expects
    assert world.systems["supply"].warehouses["Retailer"].on_hand == 360   # starts at its level
    assert len(world.agents.of_kind("replenisher")) == 2


def _panic(share: float, contacts: int) -> dict[str, Any]:
    return {"share": share, "multiplier": 3, "duration": "5d", "shoppers": 200, "contacts": contacts,
            "tell_delay": "6h"}


def _short_chain(panic: dict[str, Any] | None) -> dict[str, Any]:
    """A retailer with too little stock for its demand at first: stock-outs early on."""
    small = {"kind": "s_S", "reorder_point_units": 100, "order_up_to_units": 200}
    data = chain(retail_policy=small, panic=panic, days=60)
    data["systems"]["supply"]["warehouses"][1]["initial_units"] = 50
    return data


def test_shoppers_who_meet_empty_shelves_buy_more_and_tell_others() -> None:
    calm = run(load_scenario(_short_chain(None)), "baseline", 2)
    alone = run(load_scenario(_short_chain(_panic(0.5, 0))), "baseline", 2, tables=True)
    told = run(load_scenario(_short_chain(_panic(0.5, 6))), "baseline", 2, tables=True)
    assert calm.kpis["panic_extra_units"] == 0
    assert 0 < alone.kpis["panic_extra_units"] < told.kpis["panic_extra_units"]
    peak = {name: r.tables["supply.panic"]["shoppers_panicking"].max()
            for name, r in (("alone", alone), ("told", told))}
    assert 0 < peak["alone"] < peak["told"]
    assert told.kpis["fill_rate"] < calm.kpis["fill_rate"]              # panic makes the shortage worse
    scenario = load_scenario(_short_chain(_panic(0.5, 6)))
    world = build_world(resolve(scenario, sample_values(scenario, 2)), "baseline", 2)
    world.run()
    shoppers = world.agents.of_kind("shopper")
    prone = shoppers.select(lambda s: s.prone)
    assert len(shoppers) == 200 and peak["told"] <= len(prone)          # only the prone ever panic
    assert shoppers.select(lambda s: not s.prone).agg("panics", sum) == 0


def test_no_shopper_prone_to_panic_is_the_calm_network() -> None:
    calm = run(load_scenario(_short_chain(None)), "baseline", 2)
    none = run(load_scenario(_short_chain(_panic(0.0, 6))), "baseline", 2)
    assert none.kpis == calm.kpis


@pytest.mark.parametrize("edit, message", [
    (lambda s: s["warehouses"][0].update(policy={"kind": "forecast", "forecast": {"method": "moving_average",
                                                                                    "periods": 0}}), "periods"),
    (lambda s: s["warehouses"][0].update(policy={"kind": "forecast", "forecast": {"method": "guess"}}), "method"),
    (lambda s: s["customers"][0].update(panic={"multiplier": 0.5}), "multiplier"),
    (lambda s: s["customers"][0].update(panic={"share": float("nan")}), "share"),
])
def test_bad_supply_agents_are_clear_errors(edit: Any, message: str) -> None:
    data = chain()
    edit(data["systems"]["supply"])
    with pytest.raises(ScenarioError) as err:
        load_scenario(data)
    assert message in str(err.value) and "systems.supply" in str(err.value)


def test_review_order_among_simultaneous_reviewers_is_common_to_every_strategy() -> None:
    """The shuffle of reviews at one moment comes from the system's own stream (a seeded Random)."""
    a = run(load_scenario(chain(days=100)), "baseline", 7, tables=True).tables["supply.replenishment"]
    b = run(load_scenario(chain(days=100)), "baseline", 7, tables=True).tables["supply.replenishment"]
    assert a.equals(b)
    assert np.isfinite(a["forecast_units"]).all()
