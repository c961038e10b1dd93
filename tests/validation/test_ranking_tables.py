"""``rank`` end to end on a table small enough to work out by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from scipy import stats as sps

from twinworld.analysis import RankOptions, rank

#            A   B   C      (cost, minimize; one row per scenario)
TABLE = [(10, 12, 11),
         (20, 18, 25),
         (15, 15, 14),
         (30, 26, 28)]


def _runs() -> pd.DataFrame:
    rows = [{"scenario_index": i, "replication": 0, "strategy": s, "status": "ok", "kpi.cost": float(v),
             "param.x": float(i)}
            for i, row in enumerate(TABLE) for s, v in zip("ABC", row)]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def ranking():
    return rank(_runs(), RankOptions(cvar_alpha=0.5, baseline="A", discover_failures=False), directions={"cost": "minimize"})


def test_summary_by_hand(ranking):
    s = ranking.summary.loc["cost"]
    assert s["mean"].to_dict() == pytest.approx({"A": 18.75, "B": 17.75, "C": 19.5})
    # Best per scenario: 10, 18, 14, 26.
    assert s["mean_regret"].to_dict() == pytest.approx({"A": 7 / 4, "B": 3 / 4, "C": 10 / 4})
    assert s["max_regret"].to_dict() == pytest.approx({"A": 4, "B": 2, "C": 7})
    # Winners: A, B, C, B.
    assert s["p_best"].to_dict() == pytest.approx({"A": 0.25, "B": 0.5, "C": 0.25})
    # CVaR50 = mean of the worst two of four.
    assert s["cvar"].to_dict() == pytest.approx({"A": 25.0, "B": 22.0, "C": 26.5})
    assert s["median"].to_dict() == pytest.approx({"A": 17.5, "B": 16.5, "C": 19.5})


def test_paired_tests_and_holm_by_hand(ranking):
    assert ranking.leader == "B" and list(ranking.table.index) == ["B", "A", "C"]
    lead = ranking.vs_leader
    # A - B = (-2, 2, 0, 4): mean 1, sd sqrt(20/3); C - B = (-1, 7, -1, 2): mean 1.75, sd sqrt(14.25).
    t_a = 1 / (math.sqrt(20 / 3) / 2)
    t_c = 1.75 / (math.sqrt(14.25) / 2)
    p_a, p_c = 2 * sps.t.sf(t_a, 3), 2 * sps.t.sf(t_c, 3)
    assert lead.loc["A", "p_value"] == pytest.approx(p_a)
    assert lead.loc["C", "p_value"] == pytest.approx(p_c)
    # Holm with two tests: the smaller p doubled, the larger kept, then the running maximum.
    small, large = sorted([p_a, p_c])
    holm = {p_a: None, p_c: None}
    holm[small] = min(1, 2 * small)
    holm[large] = max(holm[small], large)
    assert lead.loc["A", "p_holm"] == pytest.approx(holm[p_a])
    assert lead.loc["C", "p_holm"] == pytest.approx(holm[p_c])
    half = sps.t.ppf(0.975, 3) * math.sqrt(20 / 3) / 2
    assert (lead.loc["A", "ci_low"], lead.loc["A", "ci_high"]) == pytest.approx((1 - half, 1 + half))
    assert not ranking.separated  # four scenarios cannot separate B
    assert ranking.vs_baseline.loc["B", "diff"] == pytest.approx(-1.0)


def test_risk_measures_reorder_by_hand():
    worst = rank(_runs(), RankOptions(risk="max_regret", discover_failures=False), directions={"cost": "minimize"})
    assert worst.table["score"].to_dict() == pytest.approx({"B": 2, "A": 4, "C": 7})
    cvar75 = rank(_runs(), RankOptions(risk="cvar", cvar_alpha=0.75, discover_failures=False), directions={"cost": "minimize"})
    assert cvar75.table["score"].to_dict() == pytest.approx({"B": 26, "C": 28, "A": 30})
    assert list(cvar75.table.index) == ["B", "C", "A"]
    sat = rank(_runs(), RankOptions(constraints=[{"kpi": "cost", "max": 24,
                                                                       "share": 0.75}], discover_failures=False), directions={"cost": "minimize"})
    rates = sat.constraints.set_index("strategy")["rate"].to_dict()
    assert rates == pytest.approx({"A": 0.75, "B": 0.75, "C": 0.5})
    assert sat.leader == "B" and not sat.table.loc["C", "meets_constraints"]
