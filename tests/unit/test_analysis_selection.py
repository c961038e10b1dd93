"""The KN fully sequential procedure and adaptive replication through a callable."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.ranking_synthetic import synthetic_runs
from twinworld.analysis import kn_select, select_until_confident
from twinworld.analysis.selection import kn_h2


def test_kn_constant_by_hand():
    # k=2, n0=10, alpha=0.05: eta = ((0.1)^(-2/9) - 1) / 2, h^2 = 2 eta 9
    eta = (10 ** (2 / 9) - 1) / 2
    assert kn_h2(2, 10, 0.95) == pytest.approx(18 * eta)
    assert kn_h2(5, 20, 0.95) > kn_h2(2, 20, 0.95)  # more rivals, wider continuation region


def test_kn_stops_on_a_clear_winner_and_not_on_twins():
    rng = np.random.default_rng(0)
    shared = rng.normal(0, 5, (500, 1))
    clear = np.hstack([10 + shared + rng.normal(0, 1, (500, 1)), 13 + shared + rng.normal(0, 1, (500, 1))])
    alive, stopped = kn_select(clear, delta=0.5, n0=10, larger_is_better=False)
    assert alive.tolist() == [True, False] and stopped is not None and stopped < 100
    twins = np.hstack([10 + shared + rng.normal(0, 1, (500, 1)), 10 + shared + rng.normal(0, 1, (500, 1))])
    alive, stopped = kn_select(twins[:40], delta=0.1, n0=10)
    assert alive.all() and stopped is None


def _extender(means, scenarios, seed, calls):
    def extend(replications: int) -> pd.DataFrame:
        calls.append(replications)
        return synthetic_runs(means, scenarios=scenarios, replications=replications, seed=seed)
    return extend


def test_adaptive_replication_separates_then_stops():
    means = {"baseline": 10.6, "best": 10.0, "worse": 11.5}
    calls: list[int] = []
    first = synthetic_runs(means, scenarios=10, replications=1, seed=7)
    out = select_until_confident(first, _extender(means, 10, 7, calls), kpi="cost", delta=0.5,
                                 budget_runs=3000, directions={"cost": "minimize"}, n0=10)
    assert out.separated and out.reason == "separated" and out.selected == "best"
    assert calls == list(range(2, out.replications + 1)) and out.runs == 30 * out.replications
    assert "Separated: KN selected 'best'" in out.message
    assert out.history["runs"].is_monotonic_increasing


def test_adaptive_replication_reports_a_spent_budget():
    means = {"baseline": 10.0, "twin": 10.0}
    calls: list[int] = []
    first = synthetic_runs(means, scenarios=10, replications=1, seed=8)
    out = select_until_confident(first, _extender(means, 10, 8, calls), kpi="cost", delta=0.01,
                                 budget_runs=100, directions={"cost": "minimize"})
    assert not out.separated and out.reason == "budget"
    assert out.runs <= 100 and calls == [2, 3, 4, 5]
    assert "NOT separated: the run budget is spent" in out.message
    assert "'twin'" in out.message and "'baseline'" in out.message
