"""Statistics for comparing strategies on paired (common-random-number) results.

Every function is direction-aware: ``direction`` is ``"minimize"`` (smaller is better) or
``"maximize"``. A *wide* table has one row per block ``(scenario_index, replication)`` and one
column per strategy; rows pair up because every strategy saw the same scenario and random numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from twinworld.analysis.results import BLOCK, KPI_PREFIX

__all__ = ["MeanCI", "mean_ci", "worst_quantile", "cvar", "regret", "prob_best", "paired_wide",
           "paired_differences", "holm", "satisficing_rate", "pareto_front", "wilson_ci",
           "risk_score", "RISK_MEASURES"]

RISK_MEASURES = ("mean", "cvar", "max_regret", "mean_regret", "median", "p90")


def _sign(direction: str) -> float:
    """+1 where larger is worse (minimize), -1 where smaller is worse (maximize)."""
    if direction not in ("minimize", "maximize"):
        raise ValueError(f"direction must be 'minimize' or 'maximize', not {direction!r}")
    return 1.0 if direction == "minimize" else -1.0


@dataclass(frozen=True)
class MeanCI:
    """A sample mean with its two-sided t confidence interval."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


def mean_ci(values: Sequence[float] | np.ndarray, confidence: float = 0.95) -> MeanCI:
    """Mean with a Student-t confidence interval (NaN bounds for fewer than two values)."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return MeanCI(math.nan, math.nan, math.nan, 0)
    m = float(x.mean())
    if n < 2:
        return MeanCI(m, math.nan, math.nan, n)
    half = float(sps.t.ppf((1 + confidence) / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return MeanCI(m, m - half, m + half, n)


def worst_quantile(values: Sequence[float] | np.ndarray, level: float, direction: str) -> float:
    """The value that a share ``level`` of scenarios do at least as well as.

    For a KPI to minimize it is the ``level`` quantile; to maximize, the ``1 - level`` quantile.
    ``worst_quantile(x, 0.9, d)`` is the "p90" of the ranking tables.
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return math.nan
    q = level if _sign(direction) > 0 else 1 - level
    return float(np.quantile(x, q))


def cvar(values: Sequence[float] | np.ndarray, alpha: float, direction: str) -> float:
    """Conditional value at risk: the mean of the worst ``1 - alpha`` share of outcomes.

    Computed exactly on the empirical distribution (Rockafellar–Uryasev): the worst
    ``m = (1 - alpha) n`` outcomes count fully and the boundary outcome by its fractional part.
    With 10 values and ``alpha = 0.9`` it is the worst value; with ``alpha = 0.75`` it is
    ``(x(10) + x(9) + 0.5 x(8)) / 2.5`` for a KPI to minimize.

    Parameters
    ----------
    values
        One KPI value per scenario (NaNs ignored).
    alpha
        Level in (0, 1), e.g. 0.9 for the worst 10%.
    direction
        ``"minimize"`` (worst = largest) or ``"maximize"`` (worst = smallest).
    """
    if not 0 < alpha < 1:
        raise ValueError(f"cvar alpha must be in (0, 1), not {alpha}")
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return math.nan
    worst_first = np.sort(x)[::-1] if _sign(direction) > 0 else np.sort(x)
    mass = (1 - alpha) * len(x)
    weights = np.clip(mass - np.arange(len(x)), 0.0, 1.0)
    return float(weights @ worst_first / weights.sum())


def paired_wide(runs: pd.DataFrame, kpi: str, strategies: Sequence[str] | None = None) -> pd.DataFrame:
    """Blocks x strategies table of one KPI, keeping only blocks where every strategy has a value.

    Rows are ordered by ``(replication, scenario_index)`` so the first rows are the first
    replication of every scenario (the order in which a sequential procedure sees them).
    """
    column = kpi if kpi.startswith(KPI_PREFIX) else KPI_PREFIX + kpi
    keys = [*BLOCK, "strategy"]
    cells = runs[[*keys, column]].drop_duplicates(keys, keep="last")
    wide = cells.set_index(keys)[column].unstack("strategy")
    if strategies is not None:
        wide = wide.reindex(columns=list(strategies))
    wide = wide.dropna(how="any").astype(float)
    wide.columns.name = None
    return wide.sort_index(level=["replication", "scenario_index"])


def regret(wide: pd.DataFrame, direction: str) -> pd.DataFrame:
    """Per block, how much worse each strategy is than the best strategy on that block (>= 0)."""
    if _sign(direction) > 0:
        return wide.sub(wide.min(axis=1), axis=0)
    return (-wide).add(wide.max(axis=1), axis=0)


def prob_best(wide: pd.DataFrame, direction: str, *, rtol: float = 1e-9) -> pd.Series:
    """Share of blocks on which each strategy is best; a tie of ``t`` strategies gives each 1/t.

    Values within ``rtol`` (relative, plus the same absolute) of the best count as tied. The shares
    sum to one.
    """
    x = wide.to_numpy(dtype=float) * _sign(direction)
    best = x.min(axis=1, keepdims=True)
    winners = np.isclose(x, best, rtol=rtol, atol=rtol)
    share = winners / winners.sum(axis=1, keepdims=True)
    return pd.Series(share.mean(axis=0), index=wide.columns, name="p_best")


def holm(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (as ``statsmodels`` ``multipletests(method="holm")``).

    Sorted ascending, ``p_(i)`` becomes ``max_{j <= i} min(1, (m - j + 1) p_(j))``; NaNs stay NaN
    and do not count towards ``m``.
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    m = len(valid)
    if m == 0:
        return out
    order = valid[np.argsort(p[valid], kind="stable")]
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(scaled)
    return out


def _paired_t(d: np.ndarray, confidence: float) -> tuple[float, float, float, float]:
    """Mean, CI low, CI high, two-sided p of a paired difference."""
    n = len(d)
    mean = float(d.mean()) if n else math.nan
    if n < 2:
        return mean, math.nan, math.nan, math.nan
    sd = float(d.std(ddof=1))
    if sd == 0.0:
        return mean, mean, mean, (1.0 if mean == 0 else 0.0)
    se = sd / math.sqrt(n)
    half = float(sps.t.ppf((1 + confidence) / 2, n - 1)) * se
    p = float(2 * sps.t.sf(abs(mean / se), n - 1))
    return mean, mean - half, mean + half, p


def paired_differences(wide: pd.DataFrame, reference: str, direction: str, *,
                       confidence: float = 0.95) -> pd.DataFrame:
    """Each strategy minus ``reference``, paired by block, with t intervals and Holm p-values.

    Returns
    -------
    DataFrame
        Indexed by strategy (the reference left out): ``diff`` (mean of strategy - reference),
        ``ci_low``, ``ci_high``, ``p_value`` (paired t, two-sided), ``p_holm`` (Holm over the
        strategies compared), ``better`` (the strategy is significantly better than the reference
        at ``confidence`` after Holm), ``worse`` (significantly worse), ``n``.
    """
    if reference not in wide.columns:
        raise KeyError(f"reference strategy {reference!r} not among {list(wide.columns)}")
    rows = []
    for name in wide.columns:
        if name == reference:
            continue
        d = (wide[name] - wide[reference]).to_numpy(dtype=float)
        mean, lo, hi, p = _paired_t(d, confidence)
        rows.append({"strategy": name, "diff": mean, "ci_low": lo, "ci_high": hi, "p_value": p,
                     "n": len(d)})
    table = pd.DataFrame(rows, columns=["strategy", "diff", "ci_low", "ci_high", "p_value", "n"])
    table = table.set_index("strategy")
    table["p_holm"] = holm(table["p_value"].to_numpy())
    significant = table["p_holm"] < 1 - confidence
    sign = _sign(direction)
    table["better"] = significant & (table["diff"] * sign < 0)
    table["worse"] = significant & (table["diff"] * sign > 0)
    return table


def wilson_ci(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion."""
    if n == 0:
        return math.nan, math.nan
    z = float(sps.norm.ppf((1 + confidence) / 2))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def satisficing_rate(values: Sequence[float] | np.ndarray, *, max: float | None = None,
                     min: float | None = None) -> float:
    """Share of scenarios whose value is ``<= max`` and ``>= min`` (NaN counts as not meeting)."""
    x = np.asarray(values, dtype=float)
    if len(x) == 0:
        return math.nan
    ok = ~np.isnan(x)
    if max is not None:
        ok &= x <= max
    if min is not None:
        ok &= x >= min
    return float(ok.mean())


def pareto_front(scores: pd.DataFrame, directions: dict[str, str]) -> list[str]:
    """Strategies (rows) that no other strategy dominates over the KPI columns of ``scores``.

    ``a`` dominates ``b`` when ``a`` is at least as good on every KPI and strictly better on one.
    """
    signed = np.column_stack([scores[k].to_numpy(dtype=float) * _sign(directions[k])
                              for k in scores.columns])
    front = []
    for i, name in enumerate(scores.index):
        others = np.delete(signed, i, axis=0)
        dominated = np.any(np.all(others <= signed[i], axis=1) & np.any(others < signed[i], axis=1))
        if not dominated:
            front.append(name)
    return front


def risk_score(values: np.ndarray, regrets: np.ndarray, measure: str, direction: str,
               alpha: float = 0.9) -> np.ndarray:
    """The risk measure of each column of ``values`` (blocks x strategies), one number each.

    ``mean``, ``median``, ``p90`` and ``cvar`` use the KPI values; ``mean_regret`` and
    ``max_regret`` use ``regrets`` (same shape). Works on a stack of resamples as well:
    ``values`` of shape ``(B, n, k)`` gives ``(B, k)``.
    """
    axis = -2
    if measure == "mean":
        return values.mean(axis=axis)
    if measure == "median":
        return np.median(values, axis=axis)
    if measure == "p90":
        q = 0.9 if _sign(direction) > 0 else 0.1
        return np.quantile(values, q, axis=axis)
    if measure == "mean_regret":
        return regrets.mean(axis=axis)
    if measure == "max_regret":
        return regrets.max(axis=axis)
    if measure == "cvar":
        n = values.shape[axis]
        ordered = np.sort(values, axis=axis)
        if _sign(direction) > 0:
            ordered = np.flip(ordered, axis=axis)
        mass = (1 - alpha) * n
        weights = np.clip(mass - np.arange(n), 0.0, 1.0)
        return np.moveaxis(ordered, axis, -1) @ weights / weights.sum()
    raise ValueError(f"unknown risk measure {measure!r}; valid: {', '.join(RISK_MEASURES)}")
