"""Ranking statistics against hand-computed tables, scipy and statsmodels."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from twinworld.analysis.compare import bootstrap_risk_differences, summarize
from twinworld.analysis.stats import (
    cvar,
    holm,
    mean_ci,
    paired_differences,
    paired_wide,
    pareto_front,
    prob_best,
    regret,
    risk_score,
    satisficing_rate,
    wilson_ci,
    worst_quantile,
)

TEN = np.arange(1.0, 11.0)


def test_cvar_hand_table():
    assert cvar(TEN, 0.9, "minimize") == pytest.approx(10.0)
    assert cvar(TEN, 0.75, "minimize") == pytest.approx((10 + 9 + 0.5 * 8) / 2.5)
    assert cvar(TEN, 0.75, "maximize") == pytest.approx((1 + 2 + 0.5 * 3) / 2.5)
    assert cvar([4.0, 1.0, 3.0, 2.0], 0.5, "minimize") == pytest.approx(3.5)
    assert cvar([4.0, 1.0, 3.0, 2.0, math.nan], 0.5, "minimize") == pytest.approx(3.5)
    # The tail of everything but a sliver is (almost) the mean.
    assert cvar(TEN, 1e-9, "minimize") == pytest.approx(TEN.mean(), rel=1e-6)
    with pytest.raises(ValueError, match="alpha"):
        cvar(TEN, 1.0, "minimize")


def test_risk_score_matches_the_one_column_functions():
    rng = np.random.default_rng(3)
    values = rng.normal(10, 3, size=(37, 4))
    wide = pd.DataFrame(values, columns=list("abcd"))
    regrets = regret(wide, "minimize").to_numpy()
    for direction in ("minimize", "maximize"):
        got = risk_score(values, regret(wide, direction).to_numpy(), "cvar", direction, 0.8)
        want = [cvar(values[:, j], 0.8, direction) for j in range(4)]
        assert got == pytest.approx(want)
    assert risk_score(values, regrets, "max_regret", "minimize") == pytest.approx(regrets.max(axis=0))
    assert risk_score(values, regrets, "p90", "minimize") == pytest.approx(
        [worst_quantile(values[:, j], 0.9, "minimize") for j in range(4)])


def test_regret_and_p_best_hand_table():
    wide = pd.DataFrame({"A": [1.0, 5.0, 2.0, 4.0], "B": [1.0, 3.0, 6.0, 4.0],
                         "C": [2.0, 4.0, 2.0, 4.0]})
    r = regret(wide, "minimize")
    assert r.to_numpy().tolist() == [[0, 0, 1], [2, 0, 1], [0, 4, 0], [0, 0, 0]]
    # Block 1: A and B tie (1/2 each); block 2: B; block 3: A and C tie; block 4: three-way tie.
    p = prob_best(wide, "minimize")
    assert p["A"] == pytest.approx((0.5 + 0 + 0.5 + 1 / 3) / 4)
    assert p["B"] == pytest.approx((0.5 + 1 + 0 + 1 / 3) / 4)
    assert p["C"] == pytest.approx((0 + 0 + 0.5 + 1 / 3) / 4)
    assert p.sum() == pytest.approx(1.0)
    rmax = regret(wide, "maximize")
    assert rmax.to_numpy().tolist() == [[1, 1, 0], [0, 2, 1], [4, 0, 4], [0, 0, 0]]
    assert prob_best(wide, "maximize")["C"] == pytest.approx((1 + 0 + 0 + 1 / 3) / 4)


def test_holm_hand_table_and_nan():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> running max 0.06
    assert holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    out = holm([0.2, math.nan, 0.01])
    assert out[0] == pytest.approx(0.2) and math.isnan(out[1]) and out[2] == pytest.approx(0.02)
    assert holm([0.9, 0.8]).tolist() == [1.0, 1.0]  # 0.8 * 2 capped at 1, then the running max


@settings(max_examples=25, deadline=None)  # statsmodels runs gc.collect() per call
@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=12))
def test_holm_matches_statsmodels(pvalues):
    want = multipletests(pvalues, alpha=0.05, method="holm")[1]
    assert holm(pvalues) == pytest.approx(want, abs=1e-12)


def test_mean_ci_matches_scipy():
    x = np.array([3.1, 4.5, 2.2, 5.0, 4.1, 3.3])
    ci = mean_ci(x, 0.9)
    lo, hi = sps.t.interval(0.9, len(x) - 1, loc=x.mean(), scale=sps.sem(x))
    assert (ci.mean, ci.low, ci.high, ci.n) == pytest.approx((x.mean(), lo, hi, 6))
    assert math.isnan(mean_ci([2.0]).low)


def test_paired_differences_match_scipy_and_holm():
    rng = np.random.default_rng(1)
    shared = rng.normal(0, 10, 40)
    wide = pd.DataFrame({"base": 20 + shared + rng.normal(0, 1, 40),
                         "good": 18 + shared + rng.normal(0, 1, 40),
                         "same": 20 + shared + rng.normal(0, 1, 40)})
    table = paired_differences(wide, "base", "minimize", confidence=0.95)
    for name in ("good", "same"):
        d = wide[name] - wide["base"]
        test = sps.ttest_rel(wide[name], wide["base"])
        assert table.loc[name, "p_value"] == pytest.approx(test.pvalue)
        lo, hi = sps.t.interval(0.95, 39, loc=d.mean(), scale=sps.sem(d))
        assert (table.loc[name, "ci_low"], table.loc[name, "ci_high"]) == pytest.approx((lo, hi))
    assert table["p_holm"].tolist() == pytest.approx(
        multipletests(table["p_value"], method="holm")[1].tolist())
    assert bool(table.loc["good", "better"]) and not bool(table.loc["same", "better"])
    # Unpaired, the 10-unit shared noise would hide a 2-unit difference; paired, it does not.
    assert sps.ttest_ind(wide["good"], wide["base"]).pvalue > 0.05
    assert table.loc["good", "p_holm"] < 1e-6


def test_paired_wide_drops_incomplete_blocks_and_orders_by_replication():
    runs = pd.DataFrame({"scenario_index": [0, 0, 1, 1, 0, 0], "replication": [0, 0, 0, 0, 1, 1],
                         "strategy": ["a", "b", "a", "b", "a", "b"],
                         "kpi.x": [1.0, 2.0, 3.0, math.nan, 5.0, 6.0]})
    wide = paired_wide(runs, "x")
    assert wide.index.tolist() == [(0, 0), (0, 1)]
    assert wide["b"].tolist() == [2.0, 6.0]


def test_satisficing_wilson_and_quantile():
    x = [5.0, 25.0, 10.0, math.nan, 20.0]
    assert satisficing_rate(x, max=20) == pytest.approx(3 / 5)
    assert satisficing_rate(x, min=10, max=20) == pytest.approx(2 / 5)
    for k, n in ((0, 10), (7, 20), (20, 20)):
        assert wilson_ci(k, n, 0.95) == pytest.approx(proportion_confint(k, n, 0.05, method="wilson"))
    assert worst_quantile(TEN, 0.9, "minimize") == pytest.approx(np.quantile(TEN, 0.9))
    assert worst_quantile(TEN, 0.9, "maximize") == pytest.approx(np.quantile(TEN, 0.1))


def test_pareto_front_hand_table():
    scores = pd.DataFrame({"cost": [1.0, 2.0, 3.0, 2.0], "service": [0.5, 0.9, 0.8, 0.9]},
                          index=["cheap", "balanced", "dominated", "balanced_twin"])
    front = pareto_front(scores, {"cost": "minimize", "service": "maximize"})
    assert front == ["cheap", "balanced", "balanced_twin"]


def test_summary_row_matches_pieces():
    wide = pd.DataFrame({"A": TEN, "B": TEN[::-1] + 0.5})
    s = summarize(wide, "minimize", confidence=0.95, alpha=0.75)
    assert s.loc["A", "cvar"] == pytest.approx(9.2)
    assert s.loc["A", "p_best"] == pytest.approx(0.5)
    assert s.loc["B", "max_regret"] == pytest.approx(9.5)
    assert s.loc["A", "median"] == pytest.approx(5.5)


def test_bootstrap_is_reproducible_and_agrees_with_t_for_the_mean():
    rng = np.random.default_rng(5)
    shared = rng.normal(0, 5, 300)
    wide = pd.DataFrame({"lead": 10 + shared + rng.normal(0, 1, 300),
                         "other": 10.5 + shared + rng.normal(0, 1, 300)})
    a = bootstrap_risk_differences(wide, "lead", "mean", "minimize", resamples=2000, seed=2)
    b = bootstrap_risk_differences(wide, "lead", "mean", "minimize", resamples=2000, seed=2)
    pd.testing.assert_frame_equal(a, b)
    t = paired_differences(wide, "lead", "minimize")
    assert a.loc["other", "diff"] == pytest.approx(t.loc["other", "diff"])
    assert a.loc["other", "ci_low"] == pytest.approx(t.loc["other", "ci_low"], abs=0.03)
    assert a.loc["other", "ci_high"] == pytest.approx(t.loc["other", "ci_high"], abs=0.03)
    assert bool(a.loc["other", "worse"])
