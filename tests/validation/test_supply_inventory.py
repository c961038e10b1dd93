"""A single warehouse against inventory theory: (s, S) and base stock, Poisson demand, fixed lead time.

With unit Poisson demand of rate ``lam`` and a fixed lead time ``L``, continuous review (s, S) is an
(r, Q) policy with ``r = s`` and ``Q = S - s``; with backorders the inventory position is uniform on
``s+1 .. S`` and the fill rate (share of demand served from stock, by PASTA) is

    FR = (1 / Q) * sum_{y = s+1}^{S} P(D(L) <= y - 1),   D(L) ~ Poisson(lam * L)

(Hadley & Whitin; Zipkin, *Foundations of Inventory Management*, ch. 6). Base stock ``B`` is the
case ``s = B - 1``, ``S = B``: FR = P(D(L) <= B - 1).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from twinworld.experiments.run import run
from twinworld.scenario import load_scenario

REPLICATIONS = 50


def one_warehouse(policy: dict, *, rate_per_day: float, lead_time_d: float, horizon_d: int) -> dict:
    system = {
        "kind": "supply_network", "warmup": "30d",
        "suppliers": [{"name": "Factory"}],
        "warehouses": [{"name": "W", "sources": ["Factory"], "policy": policy}],
        "customers": [{"name": "C", "demand_per_day": rate_per_day}],
        "lanes": [{"origin": "Factory", "destination": "W", "lead_time": f"{lead_time_d}d"},
                  {"origin": "W", "destination": "C", "lead_time": 0}],
    }
    return {"twinworld": 1, "name": "one warehouse", "horizon": f"{horizon_d}d", "systems": {"supply": system}}


def replicated_fill_rate(data: dict) -> tuple[float, float]:
    scenario = load_scenario(data)
    rates = np.array([run(scenario, "baseline", seed=seed).kpis["fill_rate"] for seed in range(REPLICATIONS)])
    half_width = stats.t.ppf(0.975, REPLICATIONS - 1) * rates.std(ddof=1) / np.sqrt(REPLICATIONS)
    return float(rates.mean()), float(half_width)


def analytic_fill_rate(s: int, S: int, mean_lead_demand: float) -> float:
    return float(np.mean([stats.poisson.cdf(y - 1, mean_lead_demand) for y in range(s + 1, S + 1)]))


@pytest.mark.parametrize(("rate", "lead_d", "s", "S"), [(8.0, 5.0, 40, 70), (3.0, 4.0, 10, 16)])
def test_sS_fill_rate_matches_theory(rate: float, lead_d: float, s: int, S: int) -> None:
    data = one_warehouse({"kind": "s_S", "reorder_point_units": s, "order_up_to_units": S},
                         rate_per_day=rate, lead_time_d=lead_d, horizon_d=400)
    mean, half = replicated_fill_rate(data)
    expected = analytic_fill_rate(s, S, rate * lead_d)
    assert 0.5 < expected < 0.99  # a regime where the test can tell a wrong model apart
    assert abs(mean - expected) <= half, (mean, half, expected)


def test_base_stock_fill_rate_matches_theory() -> None:
    rate, lead_d, level = 6.0, 3.0, 20
    data = one_warehouse({"kind": "base_stock", "base_stock_units": level},
                         rate_per_day=rate, lead_time_d=lead_d, horizon_d=400)
    mean, half = replicated_fill_rate(data)
    expected = float(stats.poisson.cdf(level - 1, rate * lead_d))
    assert abs(mean - expected) <= half, (mean, half, expected)


def test_wrong_lead_time_would_be_detected() -> None:
    """The interval is tight enough to reject the fill rate of a lead time 20% longer."""
    rate, lead_d, s, S = 8.0, 5.0, 40, 70
    data = one_warehouse({"kind": "s_S", "reorder_point_units": s, "order_up_to_units": S},
                         rate_per_day=rate, lead_time_d=lead_d, horizon_d=400)
    mean, half = replicated_fill_rate(data)
    assert abs(mean - analytic_fill_rate(s, S, rate * lead_d * 1.2)) > half
