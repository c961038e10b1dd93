"""The bullwhip effect of forecasting warehouses against Chen, Drezner, Ryan & Simchi-Levi (2000).

Chen, F., Drezner, Z., Ryan, J. K. & Simchi-Levi, D. (2000), "Quantifying the bullwhip effect in a
simple supply chain: the impact of forecasting, lead times, and information", Management Science
46(3), 436-443: a retailer that reviews every period, forecasts with a moving average of the last
p demands and orders up to L x forecast (+ z x sd) sees its orders vary at least

    Var(q) / Var(D) >= 1 + 2L/p + 2L^2/p^2

times its demand (for independent demand; equal when z = 0, since then
q_t = (1 + L/p) D_{t-1} - (L/p) D_{t-1-p}). With exponential smoothing of constant alpha the same
argument gives 1 + 2 alpha L + 2 alpha^2 L^2 / (2 - alpha) (Chen, Ryan & Simchi-Levi 2000, Naval
Research Logistics 47; derived again here in docs/supply.md).

The retailer here is a warehouse with a ``forecast`` policy reviewing daily, serving a customer
whose orders are Poisson (40 orders a day of 3 units: demand per day has mean 120 and sd 19, low
enough that an order is never negative, which the formula allows and a warehouse cannot place).
3000 days are simulated, the first 50 dropped; the variance ratio then has a sampling error of a
few per cent, so it must lie within 6% of the formula, and above it with a safety stock term.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from twinworld import load_scenario
from twinworld.experiments.run import run

DAYS = 3000


def retailer(forecast: dict[str, Any], cover: float, *, safety: float = 0.0, seed: int = 1) -> dict[str, Any]:
    policy = {"kind": "forecast", "review_every": "1d", "forecast": forecast, "cover_periods": cover,
              "safety_factor": safety}
    return {"twinworld": 1, "name": "bullwhip", "horizon": f"{DAYS}d", "seed": seed,
            "systems": {"supply": {
                "kind": "supply_network", "suppliers": [{"name": "Factory"}],
                "warehouses": [{"name": "Retailer", "sources": ["Factory"], "policy": policy}],
                "customers": [{"name": "Town", "served_by": "Retailer", "demand_per_day": 40, "units_per_order": 3}],
                "lanes": [{"origin": "Factory", "destination": "Retailer", "lead_time": "2d"},
                          {"origin": "Retailer", "destination": "Town", "lead_time": "1h"}]}},
            "strategies": {"baseline": {}}}


def variance_ratio(data: dict[str, Any]) -> tuple[float, float]:
    result = run(load_scenario(data), "baseline", data["seed"], tables=True)
    reviews = result.tables["supply.replenishment"].iloc[51:]      # review 0 has no demand yet
    demand, orders = reviews["demand_units"].to_numpy(), reviews["ordered_units"].to_numpy()
    assert len(reviews) == DAYS - 51 and (orders > 0).all()        # no order was cut at zero
    return float(np.var(orders, ddof=1) / np.var(demand, ddof=1)), result.kpis["bullwhip_ratio"]


@pytest.mark.parametrize("lead, periods, expected", [(2, 5, 2.12), (1, 2, 2.5), (3, 6, 2.5)])
def test_moving_average_order_up_to_meets_the_chen_bound(lead: int, periods: int, expected: float) -> None:
    bound = 1 + 2 * lead / periods + 2 * lead**2 / periods**2
    assert bound == pytest.approx(expected)
    ratio, kpi = variance_ratio(retailer({"method": "moving_average", "periods": periods}, lead))
    assert ratio == pytest.approx(bound, rel=0.06)
    assert kpi == pytest.approx(ratio, rel=0.03)      # the KPI bins the same orders by day


def test_exponential_smoothing_order_up_to_matches_its_formula() -> None:
    alpha, lead = 0.3, 2
    expected = 1 + 2 * alpha * lead + 2 * alpha**2 * lead**2 / (2 - alpha)     # 2.624
    ratio, _ = variance_ratio(retailer({"method": "exponential_smoothing", "alpha": alpha}, lead))
    assert ratio == pytest.approx(expected, rel=0.06)


def test_a_safety_stock_on_the_forecast_sd_lies_above_the_bound() -> None:
    lead, periods = 2, 5
    bound = 1 + 2 * lead / periods + 2 * lead**2 / periods**2
    ratio, _ = variance_ratio(retailer({"method": "moving_average", "periods": periods}, lead, safety=1.5))
    assert ratio > 1.08 * bound
