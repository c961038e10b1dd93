"""Ranking at scale and its statistics against the peers (statsmodels, scipy) on the same work.

1. ``rank`` and the HTML report on a synthetic sweep (N scenarios x 5 strategies, 2 parameters).
2. Holm: ``twinworld.analysis.stats.holm`` vs ``statsmodels`` ``multipletests(method="holm")``:
   same adjusted p-values, time per call (statsmodels runs ``gc.collect()`` on every call, so its
   time grows with everything else the process holds).
3. Paired t: ``paired_differences`` vs ``scipy.stats.ttest_rel``: same p-values.
4. Operating characteristics on synthetic truth: how often ``rank`` picks the true best and declares
   a winner between equal strategies, and KN's probability of correct selection.

    python benchmarks/ranking_stats.py [--scenarios 1000] [--seeds 400]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.simplefilter("ignore", UserWarning)

from tests.ranking_synthetic import synthetic_runs  # noqa: E402
from tests.validation.test_ranking_truth import _runs  # noqa: E402
from twinworld.analysis import RankOptions, kn_select, rank  # noqa: E402
from twinworld.analysis.stats import holm, paired_differences, paired_wide  # noqa: E402
from twinworld.viz import write_report  # noqa: E402

MEANS = {"baseline": 12.0, "transfer": 10.0, "surge_beds": 10.5, "cancel": 11.0, "combined": 9.8}


def scale(scenarios: int) -> None:
    runs = synthetic_runs(MEANS, scenarios=scenarios, seed=1, fail_above={"combined": 1.6})
    for risk in ("mean", "cvar"):
        t = time.perf_counter()
        r = rank(runs, RankOptions(risk=risk), directions={"cost": "minimize"})
        print(f"rank risk={risk}: {len(runs)} runs in {time.perf_counter() - t:.2f} s "
              f"(leader {r.leader}, separated {r.separated})")
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        path = write_report(r, Path(tmp) / "report.html")
        print(f"report: {time.perf_counter() - t:.2f} s, {path.stat().st_size / 1024:.0f} KiB")


def holm_vs_statsmodels(calls: int = 50) -> None:
    rng = np.random.default_rng(0)
    pvals = [rng.uniform(0, 0.2, rng.integers(2, 20)) for _ in range(calls)]
    t = time.perf_counter()
    ours = [holm(p) for p in pvals]
    t_ours = time.perf_counter() - t
    t = time.perf_counter()
    theirs = [multipletests(p, method="holm")[1] for p in pvals]
    t_sm = time.perf_counter() - t
    worst = max(float(np.max(np.abs(a - b))) for a, b in zip(ours, theirs))
    print(f"Holm: twinworld {t_ours / calls * 1e6:.0f} us/call, statsmodels {t_sm / calls * 1e6:.0f} "
          f"us/call, ratio {t_sm / t_ours:.1f}x, max |difference| {worst:.1e}")


def paired_t_vs_scipy() -> None:
    runs = synthetic_runs(MEANS, scenarios=500, seed=3)
    wide = paired_wide(runs, "cost")
    ours = paired_differences(wide, "baseline", "minimize")
    worst = max(abs(ours.loc[s, "p_value"] - sps.ttest_rel(wide[s], wide["baseline"]).pvalue)
                for s in ours.index)
    print(f"paired t vs scipy.stats.ttest_rel: max |p difference| {worst:.1e}")


def truth(seeds: int) -> None:
    picked = declared = wrong = 0
    for s in range(seeds):
        r = rank(_runs({"baseline": 12.0, "best": 10.0, "close": 10.7, "far": 11.5}, 100, s),
                 RankOptions(discover_failures=False), directions={"cost": "minimize"})
        picked += r.leader == "best"
        declared += r.separated
        wrong += r.separated and r.leader != "best"
    print(f"true best picked {picked / seeds:.1%}, winner declared {declared / seeds:.1%}, "
          f"wrong winner declared {wrong / seeds:.1%} ({seeds} seeds, 100 scenarios, gap 0.7)")
    equal = sum(rank(_runs({"baseline": 11.0, "a": 10.0, "b": 10.0}, 30, 10_000 + s),
                     RankOptions(discover_failures=False), directions={"cost": "minimize"}).separated
                for s in range(seeds))
    print(f"equal means: winner declared in {equal / seeds:.1%} of {seeds} seeds (stated error 5%)")
    correct = 0
    for s in range(seeds):
        rng = np.random.default_rng(s)
        x = np.array([10.0, 10.5, 10.5, 11.0]) + rng.normal(0, 5, (3000, 1)) + rng.normal(0, 2, (3000, 4))
        alive, at = kn_select(x, delta=0.5, n0=20, larger_is_better=False)
        correct += at is not None and bool(alive[0]) and alive.sum() == 1
    print(f"KN (k=4, gap = delta = 0.5): correct selection {correct / seeds:.1%} of {seeds} seeds")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenarios", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=400)
    args = parser.parse_args()
    scale(args.scenarios)
    holm_vs_statsmodels()
    paired_t_vs_scipy()
    truth(args.seeds)


if __name__ == "__main__":
    main()
