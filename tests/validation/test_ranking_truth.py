"""Synthetic sweeps with known truth: does the ranking pick the truly best, and only when sure?

Each strategy's KPI is ``true mean + shared noise + own noise``; the shared part (sd 5) is common
to every strategy of a scenario, as common random numbers make it. The noise is normal, so the
paired t test's error rate is exact and KN's guarantee holds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from twinworld.analysis import RankOptions, kn_select, rank

DIRECTIONS = {"cost": "minimize"}


def _runs(means: dict[str, float], scenarios: int, seed: int, own_sd: float = 1.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    shared = rng.normal(0, 5.0, scenarios)
    frames = [pd.DataFrame({"scenario_index": np.arange(scenarios), "replication": 0, "strategy": name,
                            "status": "ok", "kpi.cost": mean + shared + rng.normal(0, own_sd, scenarios)})
              for name, mean in means.items()]
    return pd.concat(frames, ignore_index=True)


def _not_significantly_above(count: int, trials: int, rate: float) -> bool:
    """One-sided binomial test at 1%: is ``count / trials`` consistent with at most ``rate``?"""
    return sps.binomtest(count, trials, rate, alternative="greater").pvalue > 0.01


def test_rank_picks_the_true_best_and_is_right_when_it_says_so():
    means = {"baseline": 12.0, "best": 10.0, "close": 10.7, "far": 11.5}
    seeds = range(150)
    picked = declared = wrong_declared = 0
    for seed in seeds:
        r = rank(_runs(means, 100, seed), RankOptions(confidence=0.95, discover_failures=False), directions=DIRECTIONS)
        picked += r.leader == "best"
        declared += r.separated
        wrong_declared += r.separated and r.leader != "best"
    assert picked / len(seeds) >= 0.95
    assert declared / len(seeds) >= 0.90  # with 100 paired scenarios a 0.7 gap is found
    assert wrong_declared == 0


def test_rank_declares_no_winner_among_equals_more_often_than_its_error():
    means = {"baseline": 11.0, "twin_a": 10.0, "twin_b": 10.0}
    seeds = range(250)
    declared = sum(rank(_runs(means, 30, 1000 + s), RankOptions(confidence=0.95, discover_failures=False), directions=DIRECTIONS).separated for s in seeds)
    # The stated error is 5%: a winner between the twins may be declared in at most ~5% of seeds.
    assert _not_significantly_above(declared, len(seeds), 0.05), declared
    seeds_90 = range(150)
    declared_90 = sum(rank(_runs(means, 30, 5000 + s), RankOptions(confidence=0.90, discover_failures=False), directions=DIRECTIONS).separated for s in seeds_90)
    assert _not_significantly_above(declared_90, len(seeds_90), 0.10), declared_90


def test_kn_selects_the_true_best_with_the_stated_probability():
    # Best is exactly delta better than the next two: the hardest case KN's guarantee covers.
    means = np.array([10.0, 10.5, 10.5, 11.0])
    seeds = range(200)
    correct = stopped = 0
    for seed in seeds:
        rng = np.random.default_rng(seed)
        shared = rng.normal(0, 5.0, (3000, 1))
        x = means + shared + rng.normal(0, 2.0, (3000, 4))
        alive, at = kn_select(x, delta=0.5, confidence=0.95, n0=20, larger_is_better=False)
        stopped += at is not None
        correct += at is not None and alive.tolist() == [True, False, False, False]
    assert stopped == len(seeds)
    assert correct / len(seeds) >= 0.95


def test_cvar_ranking_declares_no_winner_among_equals_more_often_than_its_error():
    # Ranked by CVaR90 the comparison is a paired block bootstrap, not a t test; check its error too.
    means = {"baseline": 11.0, "twin_a": 10.0, "twin_b": 10.0}
    seeds = range(120)
    declared = sum(rank(_runs(means, 50, 20_000 + s), RankOptions(risk="cvar", bootstrap_resamples=500, discover_failures=False), directions=DIRECTIONS).separated for s in seeds)
    assert _not_significantly_above(declared, len(seeds), 0.05), declared
