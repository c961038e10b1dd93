"""Per-strategy summaries of one KPI and comparisons of risk measures by paired bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from twinworld.analysis.stats import cvar, holm, mean_ci, prob_best, regret, risk_score, worst_quantile

__all__ = ["summarize", "lower_is_better", "bootstrap_risk_differences", "SUMMARY_COLUMNS"]

SUMMARY_COLUMNS = ["n", "mean", "ci_low", "ci_high", "median", "p90", "cvar", "mean_regret",
                   "max_regret", "p_best"]


def lower_is_better(measure: str, direction: str) -> bool:
    """Whether a smaller value of ``measure`` is better (regrets always; others per direction)."""
    return measure in ("mean_regret", "max_regret") or direction == "minimize"


def summarize(wide: pd.DataFrame, direction: str, *, confidence: float = 0.95,
              alpha: float = 0.9) -> pd.DataFrame:
    """One row per strategy: mean with CI, median, p90, CVaR, mean and max regret, P(best).

    ``wide`` is a blocks x strategies table (see :func:`~twinworld.analysis.stats.paired_wide`).
    ``p90`` is direction-aware: 90% of scenarios are at least this good.
    """
    regrets = regret(wide, direction)
    best = prob_best(wide, direction)
    rows = []
    for name in wide.columns:
        x = wide[name].to_numpy(dtype=float)
        ci = mean_ci(x, confidence)
        rows.append({"strategy": name, "n": ci.n, "mean": ci.mean, "ci_low": ci.low,
                     "ci_high": ci.high, "median": float(np.median(x)) if len(x) else math.nan,
                     "p90": worst_quantile(x, 0.9, direction), "cvar": cvar(x, alpha, direction)
                     if len(x) else math.nan,
                     "mean_regret": float(regrets[name].mean()) if len(x) else math.nan,
                     "max_regret": float(regrets[name].max()) if len(x) else math.nan,
                     "p_best": float(best[name]) if len(x) else math.nan})
    return pd.DataFrame(rows, columns=["strategy", *SUMMARY_COLUMNS]).set_index("strategy")


def bootstrap_risk_differences(wide: pd.DataFrame, reference: str, measure: str, direction: str, *,
                               alpha: float = 0.9, confidence: float = 0.95, resamples: int = 1000,
                               seed: int = 0) -> pd.DataFrame:
    """Risk measure of each strategy minus the reference's, by a paired (block) bootstrap.

    Blocks ``(scenario_index, replication)`` are resampled with replacement, keeping every
    strategy's values of a block together (common random numbers). The interval is the percentile
    interval; the two-sided p-value is ``2 min(P*(d <= 0), P*(d >= 0))`` with the usual +1
    correction, then Holm-adjusted over the strategies compared. The resampling uses its own
    ``numpy`` Generator seeded with ``seed``, so the numbers are reproducible.

    Returns
    -------
    DataFrame
        Indexed by strategy: ``diff``, ``ci_low``, ``ci_high``, ``p_value``, ``p_holm``,
        ``better``, ``worse``, ``n``.
    """
    values = wide.to_numpy(dtype=float)
    regrets = regret(wide, direction).to_numpy(dtype=float)
    n, k = values.shape
    ref = list(wide.columns).index(reference)
    point = risk_score(values, regrets, measure, direction, alpha)
    rng = np.random.default_rng(seed)
    diffs = []
    chunk = max(1, min(resamples, 4_000_000 // max(1, n * k)))
    done = 0
    while done < resamples:
        size = min(chunk, resamples - done)
        idx = rng.integers(0, n, size=(size, n))
        scores = risk_score(values[idx], regrets[idx], measure, direction, alpha)
        diffs.append(scores - scores[:, [ref]])
        done += size
    d = np.concatenate(diffs) if diffs else np.empty((0, k))
    lo_q, hi_q = (1 - confidence) / 2, (1 + confidence) / 2
    rows = []
    for j, name in enumerate(wide.columns):
        if j == ref:
            continue
        dj = d[:, j]
        p = min(1.0, 2 * min((1 + np.sum(dj <= 0)) / (resamples + 1),
                             (1 + np.sum(dj >= 0)) / (resamples + 1)))
        if np.all(dj == 0):
            p = 1.0
        rows.append({"strategy": name, "diff": float(point[j] - point[ref]),
                     "ci_low": float(np.quantile(dj, lo_q)), "ci_high": float(np.quantile(dj, hi_q)),
                     "p_value": p, "n": n})
    table = pd.DataFrame(rows, columns=["strategy", "diff", "ci_low", "ci_high", "p_value", "n"])
    table = table.set_index("strategy")
    table["p_holm"] = holm(table["p_value"].to_numpy())
    significant = table["p_holm"] < 1 - confidence
    sign = 1.0 if lower_is_better(measure, direction) else -1.0
    table["better"] = significant & (table["diff"] * sign < 0)
    table["worse"] = significant & (table["diff"] * sign > 0)
    return table
